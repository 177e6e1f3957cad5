//! The soak's websocket clients: subscribers that stay connected for the whole soak and check
//! that every `book_delta` follows the last (`seq` + 1), and a client that connects, takes a
//! snapshot and leaves, again and again, as browsers on flaky networks do.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::traffic::Ctx;
use super::window::StreamEvent;
use crate::Signer;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The fields of a server message the soak looks at.
#[derive(Debug, Deserialize)]
struct Header {
    #[serde(rename = "type")]
    kind: String,
    seq: Option<u64>,
}

/// Follows one book's `seq`: a snapshot sets it, each delta must be the next.
#[derive(Debug, Default)]
struct BookSeq {
    last: Option<u64>,
}

impl BookSeq {
    /// `false` when the message shows that a delta was missed.
    fn follow(&mut self, kind: &str, seq: Option<u64>) -> bool {
        match (kind, seq) {
            ("book_snapshot", Some(seq)) => {
                self.last = Some(seq);
                true
            }
            ("book_delta", Some(seq)) => {
                let in_order = self.last.is_none_or(|last| seq == last + 1);
                self.last = Some(seq);
                in_order
            }
            _ => true,
        }
    }
}

async fn connect(ctx: &Ctx, signer: &Signer) -> Option<Ws> {
    let url = format!("{}/v1/ws", ctx.base_url.replacen("http", "ws", 1));
    let mut request = url.into_client_request().ok()?;
    for (name, value) in signer.headers("GET", "/v1/ws", b"") {
        request.headers_mut().insert(name, value.parse().ok()?);
    }
    let (ws, _) =
        tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::connect_async(request)).await.ok()?.ok()?;
    Some(ws)
}

async fn subscribe(ws: &mut Ws, channels: &[serde_json::Value]) -> bool {
    for channel in channels {
        let mut message = channel.clone();
        message["op"] = json!("subscribe");
        if ws.send(Message::Text(message.to_string().into())).await.is_err() {
            return false;
        }
    }
    true
}

/// Stays subscribed to the market's book and trades and to its own orders and fills until the
/// soak ends; a connection the server closes or breaks is counted and opened again.
pub(crate) async fn subscriber(ctx: Ctx, signer: Signer) {
    let channels = [
        json!({ "channel": "book", "market_id": ctx.market_id }),
        json!({ "channel": "trades", "market_id": ctx.market_id }),
        json!({ "channel": "orders" }),
        json!({ "channel": "fills" }),
    ];
    while tokio::time::Instant::now() < ctx.deadline {
        let Some(mut ws) = connect(&ctx, &signer).await else {
            ctx.window.stream(StreamEvent::Dropped);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if !subscribe(&mut ws, &channels).await {
            ctx.window.stream(StreamEvent::Dropped);
            continue;
        }
        let mut book = BookSeq::default();
        loop {
            match tokio::time::timeout_at(ctx.deadline, ws.next()).await {
                Err(_) => {
                    let _ = ws.close(None).await;
                    return;
                }
                Ok(Some(Ok(Message::Text(text)))) => {
                    ctx.window.stream(StreamEvent::Message);
                    if let Ok(header) = serde_json::from_str::<Header>(&text)
                        && !book.follow(&header.kind, header.seq)
                    {
                        ctx.window.stream(StreamEvent::Gap);
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    ctx.window.stream(StreamEvent::Dropped);
                    break;
                }
            }
        }
    }
}

/// Connects, subscribes to the book, waits for its snapshot, holds the connection for `hold`,
/// closes, and starts again, until the soak ends.
pub(crate) async fn reconnecting(ctx: Ctx, signer: Signer, hold: Duration) {
    let channel = [json!({ "channel": "book", "market_id": ctx.market_id })];
    while tokio::time::Instant::now() + hold < ctx.deadline {
        let Some(mut ws) = connect(&ctx, &signer).await else {
            ctx.window.stream(StreamEvent::ReconnectFailed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let snapshot = async {
            if !subscribe(&mut ws, &channel).await {
                return false;
            }
            while let Some(Ok(message)) = ws.next().await {
                if let Message::Text(text) = message
                    && serde_json::from_str::<Header>(&text).is_ok_and(|h| h.kind == "book_snapshot")
                {
                    return true;
                }
            }
            false
        };
        let got = tokio::time::timeout(Duration::from_secs(5), snapshot).await.unwrap_or(false);
        if !got {
            ctx.window.stream(StreamEvent::ReconnectFailed);
            continue;
        }
        let until = tokio::time::Instant::now() + hold;
        while let Ok(Some(Ok(_))) = tokio::time::timeout_at(until, ws.next()).await {}
        let _ = ws.close(None).await;
        ctx.window.stream(StreamEvent::Reconnected);
    }
}

#[cfg(test)]
mod tests {
    use super::BookSeq;

    #[test]
    fn a_delta_that_skips_a_seq_is_a_gap_and_a_snapshot_starts_over() {
        let mut book = BookSeq::default();
        assert!(book.follow("book_snapshot", Some(10)));
        assert!(book.follow("book_delta", Some(11)));
        assert!(book.follow("book_heartbeat", Some(12)), "a heartbeat may run ahead of its delta");
        assert!(book.follow("trade", None));
        assert!(!book.follow("book_delta", Some(13)), "12 was missed");
        assert!(book.follow("book_delta", Some(14)));
        assert!(book.follow("book_snapshot", Some(40)));
        assert!(!book.follow("book_delta", Some(40)), "a delta already in the snapshot");
    }
}
