//! `kairos-quoter run` against the CLOB (the `polymarket` target): the pipeline fed by the
//! market channel (or a recording), its requests sent on one pre-warmed keep-alive
//! connection, the heartbeat on the same connection, fills from the user channel, and a
//! cancel-all on the way out.
//!
//! - **Warm-up.** The connection is opened (TLS for `https://`) and warmed with `GET /time`,
//!   whose answer also sets the clock offset orders and headers are stamped with, before the
//!   first frame is read.
//! - **A lost connection** loses the answers of what was in flight, so what the CLOB holds is
//!   unknown: the quoter reconnects, sends `DELETE /cancel-all`, and quotes again from the next
//!   frame.
//! - **Books from REST.** Each book is fetched from `GET /book` first (the hash check needs
//!   fields only REST gives), and again whenever a pass leaves it stale (a hash mismatch, a
//!   level off the grid, a tick-size change, a gap), at most once a second.
//! - **Fills.** Once every quoted token's book has named its market, the user channel is
//!   subscribed for those markets; an order's `UPDATE` moves the inventory by what matched,
//!   and its `CANCELLATION` (the CLOB's or ours) stops it resting.
//! - **The kill switch** (the platform's, from its database): a state other than `enabled`
//!   puts the risk gate in it at once and sends the cancel-all.
//! - **Shutdown** (the `shutdown` future: SIGTERM or Ctrl-C in the binary) sends the cancel-all
//!   and returns.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_clob_client::eth::B256;
use kairos_clob_client::http::ClobClient;
use kairos_clob_client::http::types::ApiKeyCredentials;
use kairos_clob_client::ws::{self, RawFrame, Subscription, UserEvent, WsConfig, WsEvent};
use kairos_domain::TradingState;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::book::HashFields;
use crate::clock::ServerClock;
use crate::conn::{ConnError, Connection};
use crate::engine::Snapshot;
use crate::feed::{Feed, FeedStep};
use crate::fixed::{parse_price, parse_size};
use crate::frame::Level;
use crate::metrics;
use crate::pipeline::Pipeline;
use crate::sender::{SendError, send_pass};
use crate::strategy::Strategy;

/// A byte stream the connection runs on: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0:?} is not an http:// or https:// base URL with a host")]
    Endpoint(String),
    #[error("cannot reach the venue: {0}")]
    Connect(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the venue's connection failed: {0}")]
    Connection(#[from] ConnError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("GET /time answered {0}: not a clock")]
    Clock(String),
}

/// Where the orders go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Endpoint {
    /// `https://clob.polymarket.com` or `http://127.0.0.1:8080`; a path is refused (the
    /// CLOB's paths are absolute).
    pub fn parse(base_url: &str) -> Result<Endpoint, RunError> {
        let bad = || RunError::Endpoint(base_url.to_string());
        let (tls, rest) = if let Some(rest) = base_url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = base_url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad());
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.is_empty() {
            return Err(bad());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
            None => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Endpoint { host: host.to_string(), port, tls })
    }

    /// The `Host` header's value: the port only when it is not the scheme's.
    pub fn host_header(&self) -> String {
        match (self.tls, self.port) {
            (true, 443) | (false, 80) => self.host.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}

/// Opens the connection (TLS with the web's root certificates for `https`).
pub async fn connect(endpoint: &Endpoint) -> Result<Connection<Box<dyn Io>>, RunError> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
    // A request is written in one go and waits for nothing: no Nagle delay.
    tcp.set_nodelay(true)?;
    if !endpoint.tls {
        return Ok(Connection::new(Box::new(tcp) as Box<dyn Io>));
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| RunError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name =
        rustls::pki_types::ServerName::try_from(endpoint.host.clone()).map_err(|e| RunError::Tls(e.to_string()))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await?;
    Ok(Connection::new(Box::new(stream) as Box<dyn Io>))
}

/// Opens and warms a connection with `GET /time` (public, no auth), and returns the clock
/// offset that answer gives (the CLOB's seconds minus ours, in milliseconds).
pub async fn warm(endpoint: &Endpoint) -> Result<(Connection<Box<dyn Io>>, ServerClock), RunError> {
    let mut conn = connect(endpoint).await?;
    let request = format!(
        "GET /time HTTP/1.1\r\nHost: {}\r\nUser-Agent: kairos-quoter/{}\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
        endpoint.host_header(),
        env!("CARGO_PKG_VERSION")
    );
    let asked_at = ServerClock::default().now_ms();
    conn.write(request.as_bytes()).await?;
    let answer = conn.read_response().await?;
    let text = String::from_utf8_lossy(answer.body).trim().to_string();
    // A bare integer of seconds; older servers wrap it as {"time": …}.
    let seconds = text
        .parse::<i64>()
        .ok()
        .or_else(|| serde_json::from_str::<serde_json::Value>(&text).ok()?.get("time")?.as_i64());
    let (true, Some(seconds)) = ((200..300).contains(&answer.status), seconds) else {
        return Err(RunError::Clock(format!("{} {text}", answer.status)));
    };
    let ours = i64::try_from(asked_at).unwrap_or(i64::MAX);
    // Seconds: the offset is only worth keeping when it is more than the rounding.
    let offset = seconds.saturating_mul(1_000).saturating_sub(ours);
    let offset = if offset.abs() < 1_000 { 0 } else { offset };
    Ok((conn, ServerClock::with_offset_ms(offset)))
}

/// The user channel to follow fills on, once the markets are known.
#[derive(Debug, Clone)]
pub struct UserChannel {
    pub config: WsConfig,
    pub credentials: ApiKeyCredentials,
}

/// What the venue offers beside the order connection: REST books (for the hash check's
/// fields and resyncs) and the user channel (fills); and the platform's kill switch
/// ([`crate::kill_switch`]). Any may be absent in tests.
#[derive(Debug, Default)]
pub struct Venue {
    pub rest: Option<ClobClient>,
    pub user_channel: Option<UserChannel>,
    pub trading: Option<watch::Receiver<TradingState>>,
}

/// A stale book is fetched from REST at most this often.
const RESYNC_EVERY: Duration = Duration::from_secs(1);

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub frames: u64,
    pub passes: u64,
    pub heartbeats: u64,
    pub reconnects: u64,
    pub fills: u64,
    /// Books fetched again from REST after going stale.
    pub resyncs: u64,
}

enum Step {
    Stop,
    Nothing,
    Heartbeat,
    Gap,
    Frame(RawFrame),
    User(Box<UserEvent>),
    Trading(TradingState),
}

/// Runs until `shutdown` completes or the feed ends, then cancels everything.
pub async fn run<S: Strategy>(
    pipeline: &mut Pipeline<S>,
    endpoint: &Endpoint,
    feed: &mut Feed,
    venue: Venue,
    heartbeat_every: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, RunError> {
    let Venue { rest, user_channel, mut trading } = venue;
    if let Some(state) = trading.as_mut().map(|rx| *rx.borrow_and_update()) {
        pipeline.engine_mut().gate_mut().trading = state;
    }
    let (mut conn, clock) = warm(endpoint).await?;
    pipeline.outbox_mut().set_clock(clock);
    tracing::info!(host = %endpoint.host, offset_ms = clock.offset_ms(), "order connection warm");
    let started = Instant::now();
    let since_start =
        |at: Instant| u64::try_from(at.saturating_duration_since(started).as_micros()).unwrap_or(u64::MAX);
    // Every book from REST first: the hash check needs fields only REST gives.
    let mut resynced: Vec<Option<Instant>> = vec![None; pipeline.engine().markets().len()];
    if let Some(client) = &rest {
        for (i, at) in resynced.iter_mut().enumerate() {
            resync(client, pipeline, i, since_start(Instant::now())).await;
            *at = Some(Instant::now());
            if !pipeline.outbox().requests().is_empty() {
                send_pass(&mut conn, pipeline, None).await?;
            }
        }
    }
    let mut heartbeat = tokio::time::interval(heartbeat_every);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heartbeat_id = String::new();
    let mut user: Option<Subscription<UserEvent>> = None;
    let mut summary = RunSummary::default();
    tokio::pin!(shutdown);
    loop {
        let step = tokio::select! {
            biased;
            () = &mut shutdown => Step::Stop,
            state = next_trading(&mut trading) => Step::Trading(state),
            _ = heartbeat.tick() => Step::Heartbeat,
            event = next_user(&mut user) => match event {
                Some(WsEvent::Message(e)) => Step::User(Box::new(e)),
                Some(WsEvent::Gap | WsEvent::Lagged { .. }) => {
                    // Fills may be missing: flat is no longer known. Pull the quotes.
                    tracing::warn!("the user channel lost events; cancelling everything");
                    Step::Gap
                }
                _ => Step::Nothing,
            },
            next = feed.next_step() => match next {
                FeedStep::End => Step::Stop,
                FeedStep::Frame(frame) => Step::Frame(frame),
                FeedStep::Gap => Step::Gap,
                FeedStep::Nothing => Step::Nothing,
            },
        };
        let read_at = match step {
            Step::Stop => break,
            Step::Nothing => continue,
            Step::User(event) => {
                summary.fills += apply_user_event(pipeline, &event);
                continue;
            }
            Step::Heartbeat => {
                pipeline.outbox_mut().write_heartbeat(&heartbeat_id);
                summary.heartbeats += 1;
                None
            }
            Step::Gap => {
                pipeline.on_gap(since_start(Instant::now()));
                None
            }
            Step::Trading(state) => {
                // The kill switch stops new orders at once and pulls the quotes resting.
                pipeline.engine_mut().gate_mut().trading = state;
                if state != TradingState::Enabled {
                    tracing::warn!(trading = state.as_str(), "the kill switch is on: cancelling everything");
                    pipeline.cancel_all();
                }
                None
            }
            Step::Frame(frame) => {
                summary.frames += 1;
                if let Err(e) = pipeline.on_frame(&frame.text, since_start(frame.read_at)) {
                    tracing::warn!(error = %e, "unreadable frame; skipped");
                    continue;
                }
                if user.is_none()
                    && let Some(channel) = &user_channel
                    && let Some(markets) = markets_known(pipeline)
                {
                    tracing::info!(?markets, "following fills on the user channel");
                    user = Some(ws::user(channel.config.clone(), &channel.credentials, &markets));
                }
                Some(frame.read_at)
            }
        };
        if pipeline.outbox().requests().is_empty() {
            continue;
        }
        match send_pass(&mut conn, pipeline, read_at).await {
            Ok(sent) => {
                summary.passes += 1;
                metrics::record_pass(&sent);
                metrics::record_refusals(pipeline.engine().gate());
                if let Some(id) = sent.heartbeat_id {
                    heartbeat_id = id;
                }
                if sent.close {
                    conn = warm(endpoint).await?.0;
                    summary.reconnects += 1;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the order connection failed mid-pass; reconnecting and cancelling everything");
                conn = warm(endpoint).await?.0;
                summary.reconnects += 1;
                pipeline.cancel_all();
                send_pass(&mut conn, pipeline, None).await?;
            }
        }
        // A book the pass left stale (a hash mismatch, a level off the grid, a tick-size
        // change, a gap) is fetched again from REST, at most once a second each.
        if let Some(client) = &rest {
            for (i, at) in resynced.iter_mut().enumerate() {
                let stale = pipeline.engine().markets()[i].book.stale();
                let due = at.is_none_or(|t| t.elapsed() >= RESYNC_EVERY);
                if stale.is_none() || !due {
                    continue;
                }
                *at = Some(Instant::now());
                summary.resyncs += 1;
                resync(client, pipeline, i, since_start(Instant::now())).await;
                if !pipeline.outbox().requests().is_empty() {
                    send_pass(&mut conn, pipeline, None).await?;
                }
            }
        }
    }
    tracing::info!("stopping: cancelling every order");
    pipeline.cancel_all();
    if let Err(e) = send_pass(&mut conn, pipeline, None).await {
        tracing::warn!(error = %e, "cancel-all failed; retrying on a new connection");
        let (mut fresh, _) = warm(endpoint).await?;
        pipeline.cancel_all();
        send_pass(&mut fresh, pipeline, None).await?;
    }
    Ok(summary)
}

/// Replaces market `i`'s book with the REST one and writes what quoting it again decides; a
/// book REST cannot give stays stale (and quotes nothing) until the next try.
async fn resync<S: Strategy>(client: &ClobClient, pipeline: &mut Pipeline<S>, i: usize, now_us: u64) {
    let Some(token) = pipeline.engine().markets().get(i).map(|m| m.book.asset_id().to_string()) else { return };
    let rest = match client.book(&token).await {
        Ok(rest) => rest,
        Err(e) => {
            tracing::warn!(%token, error = %e, "REST book unavailable; the book stays stale");
            return;
        }
    };
    let levels = |levels: &[kairos_clob_client::http::types::Level]| -> Option<Vec<Level>> {
        levels
            .iter()
            .map(|l| Some(Level { price: parse_price(l.price.as_bytes())?, size: parse_size(l.size.as_bytes())? }))
            .collect()
    };
    let (Some(bids), Some(asks), Some(tick)) =
        (levels(&rest.bids), levels(&rest.asks), parse_price(rest.tick_size.as_bytes()).filter(|t| *t > 0))
    else {
        tracing::warn!(%token, "unreadable REST book; the book stays stale");
        return;
    };
    let snapshot = Snapshot {
        market: &rest.market,
        timestamp_ms: rest.timestamp.parse().unwrap_or(0),
        tick,
        bids: &bids,
        asks: &asks,
        hash_fields: HashFields {
            min_order_size: rest.min_order_size.clone(),
            tick_size: rest.tick_size.clone(),
            neg_risk: rest.neg_risk,
            last_trade_price: rest.last_trade_price.clone(),
        },
    };
    pipeline.on_resync(i, &snapshot, now_us);
}

/// The kill switch's next state; never, without one.
async fn next_trading(trading: &mut Option<watch::Receiver<TradingState>>) -> TradingState {
    let Some(rx) = trading.as_mut() else { return std::future::pending().await };
    if rx.changed().await.is_err() {
        // The follower stopped, so the switch can no longer be seen: fail closed.
        tracing::error!("the kill switch is no longer followed: placing nothing");
        *trading = None;
        return TradingState::CancelOnly;
    }
    *rx.borrow_and_update()
}

async fn next_user(user: &mut Option<Subscription<UserEvent>>) -> Option<WsEvent<UserEvent>> {
    match user {
        Some(subscription) => subscription.next().await,
        None => std::future::pending().await,
    }
}

/// The condition ids of every quoted book, once each has named its market.
fn markets_known<S: Strategy>(pipeline: &Pipeline<S>) -> Option<Vec<String>> {
    let mut markets: Vec<String> = Vec::new();
    for m in pipeline.engine().markets() {
        let market = m.book.market();
        if market.is_empty() {
            return None;
        }
        if !markets.iter().any(|known| known == market) {
            markets.push(market.to_string());
        }
    }
    Some(markets)
}

/// An order event of ours: an update moves the inventory by what matched, a cancellation
/// stops it resting. Returns the fills applied (0 or 1).
fn apply_user_event<S: Strategy>(pipeline: &mut Pipeline<S>, event: &UserEvent) -> u64 {
    let UserEvent::Order(order) = event else { return 0 };
    let Ok(hash) = order.id.parse::<B256>() else { return 0 };
    match order.kind.as_str() {
        "UPDATE" => {
            let Some(matched) = parse_size(order.size_matched.as_bytes()) else {
                tracing::warn!(order = %order.id, size_matched = %order.size_matched, "unreadable fill");
                return 0;
            };
            u64::from(pipeline.on_order_matched(&hash, matched) > 0)
        }
        "CANCELLATION" => {
            if let Some((market, id)) = pipeline.outbox().order_of(&hash) {
                pipeline.forget(market, id);
            }
            0
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_their_scheme_s_port_and_refuse_paths() {
        let clob = Endpoint::parse("https://clob.polymarket.com").expect("clob");
        assert_eq!(clob, Endpoint { host: "clob.polymarket.com".into(), port: 443, tls: true });
        assert_eq!(clob.host_header(), "clob.polymarket.com");
        let local = Endpoint::parse("http://127.0.0.1:8080/").expect("local");
        assert_eq!((local.port, local.tls, local.host_header().as_str()), (8080, false, "127.0.0.1:8080"));
        for bad in ["clob.polymarket.com", "https://", "http://h:x", "https://h/api", "ftp://h"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
