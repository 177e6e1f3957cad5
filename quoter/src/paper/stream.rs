//! The API's websocket as the quoter uses it: the `orders` channel (every change of its own
//! orders, with the cumulative `filled_size`) and cancel-on-disconnect, so a lost connection
//! never leaves quotes the quoter cannot follow: when the stream drops, the API cancels them,
//! and the quoter starts again from nothing resting.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::paper::api::{OrderState, PaperApi};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Subscribed, with cancel-on-disconnect on.
    Ready,
    Order(OrderState),
    /// The connection ended: the API cancelled every order of the account it carried.
    Lost(String),
}

/// The longest silence (pings included) before the connection is taken for dead.
const SILENT_FOR: Duration = Duration::from_secs(45);

/// How long to wait before connecting again.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Follows the orders of `api`'s key until the receiver is dropped, reconnecting as needed.
pub fn follow(api: PaperApi) -> mpsc::Receiver<StreamEvent> {
    let (tx, rx) = mpsc::channel(1_024);
    tokio::spawn(async move {
        loop {
            let reason = match session(&api, &tx).await {
                Ok(()) => "closed".to_string(),
                Err(e) => e,
            };
            if tx.send(StreamEvent::Lost(reason)).await.is_err() {
                return;
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    });
    rx
}

/// One connection: signed upgrade, subscriptions, then every order event until it ends.
async fn session(api: &PaperApi, tx: &mpsc::Sender<StreamEvent>) -> Result<(), String> {
    let url = ws_url(api.base_url())?;
    let mut request = url.into_client_request().map_err(|e| e.to_string())?;
    for (name, value) in api.signer().headers("GET", "/v1/ws", b"") {
        let value = HeaderValue::from_str(&value).map_err(|e| e.to_string())?;
        request.headers_mut().insert(name, value);
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| format!("connect: {e}"))?;
    for op in [r#"{"op":"cancel_on_disconnect","enabled":true}"#, r#"{"op":"subscribe","channel":"orders"}"#] {
        ws.send(Message::Text(op.into())).await.map_err(|e| e.to_string())?;
    }
    let mut subscribed = false;
    loop {
        // The API pings every 20 s: a longer silence is a connection that died quietly.
        let Ok(message) = tokio::time::timeout(SILENT_FOR, ws.next()).await else {
            return Err(format!("nothing from the API for {SILENT_FOR:?}"));
        };
        let Some(message) = message else { return Ok(()) };
        let text = match message.map_err(|e| e.to_string())? {
            Message::Text(t) => t,
            Message::Close(frame) => return Err(format!("closed by the API: {frame:?}")),
            _ => continue,
        };
        match parse(text.as_str()) {
            Parsed::Subscribed if !subscribed => {
                subscribed = true;
                if tx.send(StreamEvent::Ready).await.is_err() {
                    return Ok(());
                }
            }
            Parsed::Order(order) => {
                if tx.send(StreamEvent::Order(order)).await.is_err() {
                    return Ok(());
                }
            }
            Parsed::Error(e) => return Err(format!("the API refused the stream: {e}")),
            Parsed::Subscribed | Parsed::Other => {}
        }
    }
}

/// `http://host:port` → `ws://host:port/v1/ws`.
pub fn ws_url(base_url: &str) -> Result<String, String> {
    let base = base_url.trim_end_matches('/');
    if let Some(rest) = base.strip_prefix("https://") {
        Ok(format!("wss://{rest}/v1/ws"))
    } else if let Some(rest) = base.strip_prefix("http://") {
        Ok(format!("ws://{rest}/v1/ws"))
    } else {
        Err(format!("{base_url:?} is not an http:// or https:// URL"))
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Subscribed,
    Order(OrderState),
    Error(String),
    Other,
}

fn parse(text: &str) -> Parsed {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        order: Option<OrderState>,
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else { return Parsed::Other };
    match (envelope.kind.as_str(), envelope.order) {
        ("order", Some(order)) => Parsed::Order(order),
        ("subscribed", _) => Parsed::Subscribed,
        ("error", _) => {
            Parsed::Error(format!("{}: {}", envelope.code.unwrap_or_default(), envelope.message.unwrap_or_default()))
        }
        _ => Parsed::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_messages() {
        assert_eq!(ws_url("http://127.0.0.1:8080/").as_deref(), Ok("ws://127.0.0.1:8080/v1/ws"));
        assert_eq!(ws_url("https://api.example").as_deref(), Ok("wss://api.example/v1/ws"));
        assert!(ws_url("api.example").is_err());
        let order = r#"{"type":"order","order":{"id":"o","client_order_id":"kq-r-1","status":"open","filled_size":"0","market_id":"m"}}"#;
        assert!(matches!(parse(order), Parsed::Order(o) if o.id == "o" && o.filled_size == "0"));
        assert_eq!(parse(r#"{"type":"subscribed","channel":"orders"}"#), Parsed::Subscribed);
        assert_eq!(
            parse(r#"{"type":"error","code":"insufficient_scope","message":"no"}"#),
            Parsed::Error("insufficient_scope: no".into())
        );
        assert_eq!(parse(r#"{"type":"heartbeat"}"#), Parsed::Other);
        assert_eq!(parse("not json"), Parsed::Other);
    }
}
