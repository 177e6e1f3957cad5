//! Where frames come from: the CLOB's market channel (each frame whole, with the moment it was
//! read), or a recording replayed when the channel cannot be reached (the zero-setup mode
//! and the tests). A recording is a file of market-channel frames, one per line.

use std::time::{Duration, Instant};

use kairos_clob_client::ws::{self, RawFrame, Subscription, WsConfig, WsEvent};
use tokio::sync::mpsc;

/// The frames built into the binary: a `book` snapshot and a `price_change` of the recorded
/// token, which a replay alternates with the snapshot's bid moved back.
pub const BUILT_IN: &str = concat!(
    include_str!("../frames/book.json"),
    include_str!("../frames/price_change.json"),
    include_str!("../frames/price_change_back.json"),
);

#[derive(Debug)]
pub enum Feed {
    Live(Subscription<RawFrame>),
    Recorded(mpsc::Receiver<WsEvent<RawFrame>>),
}

impl Feed {
    /// The market channel for `tokens`.
    pub fn live(url: &str, tokens: &[String]) -> Feed {
        Feed::Live(ws::market_raw(WsConfig::new(url), tokens))
    }

    /// `recording`'s frames (one per line, blank lines skipped) replayed one every `every`,
    /// over and over, each read the moment it is handed over.
    pub fn recorded(recording: &str, every: Duration) -> Result<Feed, FeedError> {
        let frames: Vec<String> =
            recording.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
        if frames.is_empty() {
            return Err(FeedError::EmptyRecording);
        }
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(async move {
            if tx.send(WsEvent::Connected).await.is_err() {
                return;
            }
            let mut tick = tokio::time::interval(every);
            loop {
                for text in &frames {
                    tick.tick().await;
                    let frame = RawFrame { text: text.clone(), read_at: Instant::now() };
                    if tx.send(WsEvent::Message(frame)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Feed::Recorded(rx))
    }

    pub async fn next(&mut self) -> Option<WsEvent<RawFrame>> {
        match self {
            Feed::Live(subscription) => subscription.next().await,
            Feed::Recorded(rx) => rx.recv().await,
        }
    }
}

/// What the next feed event asks of a quoting loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedStep {
    /// The feed ended.
    End,
    Frame(RawFrame),
    /// Frames may be missing (a gap, a lag, a reconnect): every book is stale.
    Gap,
    Nothing,
}

impl Feed {
    /// The next event as a step of a quoting loop.
    pub async fn next_step(&mut self) -> FeedStep {
        match self.next().await {
            None => FeedStep::End,
            Some(WsEvent::Message(frame)) => FeedStep::Frame(frame),
            Some(WsEvent::Gap | WsEvent::Lagged { .. } | WsEvent::Reconnecting { .. }) => FeedStep::Gap,
            Some(WsEvent::Connected | WsEvent::Unreadable(_)) => FeedStep::Nothing,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("the recording holds no frame")]
    EmptyRecording,
}

/// The live channel if it connects within `wait`, else the recording: the frames it already
/// delivered are not lost, the recording starts where the channel could not.
pub async fn live_or_recorded(
    url: &str,
    tokens: &[String],
    wait: Duration,
    recording: &str,
) -> Result<Feed, FeedError> {
    let mut live = Feed::live(url, tokens);
    let connected = tokio::time::timeout(wait, async {
        loop {
            match live.next().await {
                Some(WsEvent::Connected) => return true,
                Some(WsEvent::Reconnecting { reason, .. }) => {
                    tracing::warn!(%reason, "market channel unreachable so far")
                }
                Some(_) => {}
                None => return false,
            }
        }
    })
    .await;
    if connected == Ok(true) {
        tracing::info!(url, "quoting off the live market channel");
        return Ok(live);
    }
    tracing::warn!(url, "the market channel did not connect; replaying the recorded frames");
    Feed::recorded(recording, Duration::from_millis(250))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_recording_replays_its_frames_in_a_loop_after_connecting() {
        let mut feed = Feed::recorded("a\n\nb\n", Duration::from_millis(1)).expect("feed");
        assert_eq!(feed.next().await, Some(WsEvent::Connected));
        let mut texts = Vec::new();
        for _ in 0..5 {
            match feed.next().await {
                Some(WsEvent::Message(f)) => texts.push(f.text),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(texts, ["a", "b", "a", "b", "a"]);
        assert_eq!(Feed::recorded("\n \n", Duration::from_millis(1)).err(), Some(FeedError::EmptyRecording));
        assert_eq!(BUILT_IN.lines().count(), 3);
    }

    #[tokio::test]
    async fn an_unreachable_channel_falls_back_to_the_recording() {
        // Nothing listens on port 9 of localhost.
        let feed = live_or_recorded("ws://127.0.0.1:9/ws/market", &["1".into()], Duration::from_millis(300), BUILT_IN)
            .await
            .expect("feed");
        assert!(matches!(feed, Feed::Recorded(_)));
    }
}
