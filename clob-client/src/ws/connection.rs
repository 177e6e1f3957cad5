//! One websocket subscription kept alive: connect, subscribe, `PING` every few seconds, and
//! reconnect with jittered exponential backoff when the connection drops, when `PONG`s stop,
//! or when the subscription goes silent while pings are still answered (the failure users of
//! the official clients report). Events reach the consumer through a bounded channel; a
//! consumer that falls behind gets a `Lagged` event with the number of events it missed,
//! never a silent skip. After a reconnect a `Gap` event says that events may be missing.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::ws::messages::parse_frame;

#[derive(Debug, Clone)]
pub struct WsConfig {
    /// `wss://ws-subscriptions-clob.polymarket.com/ws/market` or `…/ws/user`.
    pub url: String,
    pub ping_every: Duration,
    /// No `PONG` for this long: the connection is dead.
    pub pong_timeout: Duration,
    /// No event for this long, even with pongs: the subscription is dead.
    pub silence_timeout: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Events buffered for the consumer before it is told it lags.
    pub capacity: usize,
}

impl WsConfig {
    /// The official clients' keepalive (PING every 10 s, 30 s PONG timeout, backoff 1 s to
    /// 60 s) and a 60 s silence watchdog.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ping_every: Duration::from_secs(10),
            pong_timeout: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(60),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            capacity: 1024,
        }
    }
}

/// What a subscription delivers.
#[derive(Debug, Clone, PartialEq)]
pub enum WsEvent<T> {
    /// Connected and subscribed (again, after a reconnect).
    Connected,
    Message(T),
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    /// Subscribed again after a loss: events between the two connections are missing
    /// (the server replays nothing), so books must be resynced.
    Gap,
    /// The consumer did not keep up: this many events were dropped before this one.
    Lagged {
        missed: u64,
    },
    /// A frame that did not parse, kept for the log.
    Unreadable(String),
}

/// A running subscription; dropping it stops the connection task.
#[derive(Debug)]
pub struct Subscription<T> {
    events: mpsc::Receiver<WsEvent<T>>,
    stop: watch::Sender<bool>,
}

impl<T> Subscription<T> {
    pub async fn next(&mut self) -> Option<WsEvent<T>> {
        self.events.recv().await
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Opens a subscription that sends `subscribe` after every (re)connect.
pub fn subscribe<T: DeserializeOwned + Send + 'static>(config: WsConfig, subscribe: String) -> Subscription<T> {
    spawn(config, subscribe, |text: &str| parse_frame::<T>(text).ok())
}

/// A frame as the server sent it, with the moment it was read off the socket: for a consumer
/// that parses frames itself (the quoter) and measures its latency from the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub text: String,
    pub read_at: std::time::Instant,
}

/// [`subscribe`] delivering each text frame whole (an array frame stays one frame), unparsed.
pub fn subscribe_raw(config: WsConfig, subscribe: String) -> Subscription<RawFrame> {
    spawn(config, subscribe, |text: &str| {
        Some(vec![RawFrame { text: text.to_string(), read_at: std::time::Instant::now() }])
    })
}

/// What a frame's text becomes for the consumer; `None` for a frame that does not parse.
type Decode<T> = fn(&str) -> Option<Vec<T>>;

fn spawn<T: Send + 'static>(config: WsConfig, subscribe: String, decode: Decode<T>) -> Subscription<T> {
    let (tx, events) = mpsc::channel(config.capacity.max(1));
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(run(config, subscribe, decode, Sender { tx, missed: 0 }, stopped));
    Subscription { events, stop }
}

/// The consumer's end, counting what a full channel made us drop.
struct Sender<T> {
    tx: mpsc::Sender<WsEvent<T>>,
    missed: u64,
}

impl<T> Sender<T> {
    /// `false` once the consumer is gone.
    fn deliver(&mut self, event: WsEvent<T>) -> bool {
        if self.missed > 0 {
            match self.tx.try_send(WsEvent::Lagged { missed: self.missed }) {
                Ok(()) => self.missed = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.missed += 1;
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match self.tx.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.missed += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

async fn run<T>(
    config: WsConfig,
    subscribe: String,
    decode: Decode<T>,
    mut out: Sender<T>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut attempt: u32 = 0;
    let mut connected_before = false;
    loop {
        let reason = match tokio_tungstenite::connect_async(config.url.as_str()).await {
            Ok((mut ws, _)) => match ws.send(Message::text(subscribe.clone())).await {
                Ok(()) => {
                    if !out.deliver(WsEvent::Connected) {
                        return;
                    }
                    if connected_before && !out.deliver(WsEvent::Gap) {
                        return;
                    }
                    connected_before = true;
                    attempt = 0;
                    match session(&config, &mut ws, decode, &mut out, &mut stopped).await {
                        Ended::Stopped => return,
                        Ended::Lost(reason) => reason,
                    }
                }
                Err(e) => format!("subscribe failed: {e}"),
            },
            Err(e) => format!("connect failed: {e}"),
        };
        let delay = crate::backoff::jittered(attempt, config.backoff_min, config.backoff_max);
        attempt = attempt.saturating_add(1);
        if !out.deliver(WsEvent::Reconnecting { attempt, delay, reason }) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopped.changed() => return,
        }
    }
}

enum Ended {
    Stopped,
    Lost(String),
}

async fn session<T, S>(
    config: &WsConfig,
    ws: &mut S,
    decode: Decode<T>,
    out: &mut Sender<T>,
    stopped: &mut watch::Receiver<bool>,
) -> Ended
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error>
        + Unpin,
{
    let mut ping = tokio::time::interval(config.ping_every);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watchdog_every = config.silence_timeout.min(config.pong_timeout) / 4;
    let mut watchdog = tokio::time::interval(watchdog_every.max(Duration::from_millis(10)));
    let (mut last_pong, mut last_data) = (Instant::now(), Instant::now());
    loop {
        tokio::select! {
            _ = stopped.changed() => {
                let _ = ws.close().await;
                return Ended::Stopped;
            }
            _ = ping.tick() => {
                if let Err(e) = ws.send(Message::text("PING")).await {
                    return Ended::Lost(format!("ping failed: {e}"));
                }
            }
            _ = watchdog.tick() => {
                if last_pong.elapsed() > config.pong_timeout {
                    return Ended::Lost(format!("no PONG for {:?}", config.pong_timeout));
                }
                if last_data.elapsed() > config.silence_timeout {
                    return Ended::Lost(format!("silent subscription: no event for {:?}", config.silence_timeout));
                }
            }
            frame = ws.next() => match frame {
                None => return Ended::Lost("the server closed the connection".to_string()),
                Some(Err(e)) => return Ended::Lost(format!("read failed: {e}")),
                Some(Ok(Message::Text(text))) => {
                    let text = text.as_str();
                    if text == "PONG" {
                        last_pong = Instant::now();
                        continue;
                    }
                    last_data = Instant::now();
                    match decode(text) {
                        Some(events) => {
                            for e in events {
                                if !out.deliver(WsEvent::Message(e)) {
                                    return Ended::Stopped;
                                }
                            }
                        }
                        None => {
                            if !out.deliver(WsEvent::Unreadable(text.chars().take(500).collect())) {
                                return Ended::Stopped;
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(_))) => return Ended::Lost("the server closed the connection".to_string()),
                Some(Ok(_)) => {}
            }
        }
    }
}
