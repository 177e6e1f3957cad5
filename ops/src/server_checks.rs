//! Checks against a running API instance (`preflight --url`): its readiness, and that its
//! websocket refuses an upgrade without credentials and accepts one with a valid token.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::report::Check;

/// How long the server may take to answer each step.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// The close code the API uses for a connection without valid credentials.
const CLOSE_UNAUTHORIZED: u16 = 4401;

/// `server.ready`: `GET {base}/ready`.
pub async fn ready_check(base: &str) -> Check {
    const NAME: &str = "server.ready";
    let url = format!("{}/ready", base.trim_end_matches('/'));
    let client = match reqwest::Client::builder().timeout(STEP_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => return Check::fail(NAME, format!("cannot build an HTTP client: {e}")),
    };
    let response = match client.get(&url).send().await {
        Ok(r) => r,
        Err(e) => return Check::fail(NAME, format!("{url}: {}: is the instance running?", e.without_url())),
    };
    let code = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let status = body["status"].as_str().unwrap_or("?").to_string();
    match (code.as_u16(), status.as_str()) {
        (200, "ready") => Check::pass(NAME, format!("{url}: ready")),
        (200, "degraded") => Check::warn(NAME, format!("{url}: degraded (serving on fallbacks): {body}")),
        _ => Check::fail(NAME, format!("{url}: HTTP {code}, status {status}: {body}")),
    }
}

/// `ws://…/v1/ws` from the instance's base URL.
fn websocket_url(base: &str) -> Result<String, String> {
    let base = base.trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(format!("--url {base:?} is not http:// or https://"));
    };
    Ok(format!("{rest}/v1/ws"))
}

/// `auth.websocket`: an upgrade without a token must be refused (HTTP 401 or close code 4401),
/// one with `token` must be served (a `ping` answered with `pong`).
pub async fn websocket_auth_check(base: &str, token: &str) -> Check {
    const NAME: &str = "auth.websocket";
    let url = match websocket_url(base) {
        Ok(u) => u,
        Err(e) => return Check::fail(NAME, e),
    };
    let anonymous = match tokio::time::timeout(STEP_TIMEOUT, refused_without_token(&url)).await {
        Ok(r) => r,
        Err(_) => Err(format!("{url}: an upgrade without a token was neither served nor closed within 5 s")),
    };
    if let Err(e) = anonymous {
        return Check::fail(NAME, e);
    }
    match tokio::time::timeout(STEP_TIMEOUT, served_with_token(&url, token)).await {
        Ok(Ok(())) => Check::pass(NAME, format!("{url}: refused without a token (4401), served with one")),
        Ok(Err(e)) => Check::fail(NAME, e),
        Err(_) => Check::fail(NAME, format!("{url}: with a valid token, no pong within 5 s")),
    }
}

async fn refused_without_token(url: &str) -> Result<(), String> {
    let (mut socket, _) = match tokio_tungstenite::connect_async(url).await {
        Ok(s) => s,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) if response.status().as_u16() == 401 => {
            return Ok(());
        }
        Err(e) => return Err(format!("{url}: cannot connect: {e}")),
    };
    // Served before authentication is judged: the server must close at once with 4401, and
    // must not answer a ping.
    let _ = socket.send(Message::text(r#"{"op":"ping"}"#)).await;
    loop {
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::from(CLOSE_UNAUTHORIZED) => return Ok(()),
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("{url}: closed without a token, but with {frame:?} instead of 4401"));
            }
            Some(Ok(Message::Text(text))) => {
                return Err(format!(
                    "{url}: SERVED A WEBSOCKET WITHOUT CREDENTIALS (answered {text}): auth is failing open; do not deploy"
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("{url}: {e}")),
            None => return Err(format!("{url}: dropped without a close frame")),
        }
    }
}

async fn served_with_token(url: &str, token: &str) -> Result<(), String> {
    let mut request = url.into_client_request().map_err(|e| format!("{url}: {e}"))?;
    let bearer = format!("Bearer {token}").parse().map_err(|_| "the token is not a valid header value".to_string())?;
    request.headers_mut().insert("authorization", bearer);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(request).await.map_err(|e| format!("{url}: with a token: {e}"))?;
    socket.send(Message::text(r#"{"op":"ping"}"#)).await.map_err(|e| format!("{url}: {e}"))?;
    let result = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let reply: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                if reply["type"] == "pong" {
                    break Ok(());
                }
            }
            Some(Ok(Message::Close(frame))) => {
                break Err(format!(
                    "{url}: a valid token was refused: {frame:?} (is it for this deployment's JWT secret?)"
                ));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => break Err(format!("{url}: {e}")),
            None => break Err(format!("{url}: dropped before answering")),
        }
    };
    let _ = socket.close(None).await;
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn websocket_urls_follow_the_scheme() {
        assert_eq!(super::websocket_url("http://127.0.0.1:8080/").as_deref(), Ok("ws://127.0.0.1:8080/v1/ws"));
        assert_eq!(super::websocket_url("https://api.example.com").as_deref(), Ok("wss://api.example.com/v1/ws"));
        assert!(super::websocket_url("ftp://x").is_err());
    }
}
