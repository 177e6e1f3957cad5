//! The websocket authenticates: 4401 without credentials and when the token expires.

use futures_util::{SinkExt as _, StreamExt as _};
use kairos_platform::domain::Role;
use kairos_platform::storage::scratch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::support::spawn;

async fn close_code(url: &str) -> (u16, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.expect("a message in time") {
            Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_websocket_refuses_without_credentials_and_drops_expired_tokens() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let base = app.base.replace("http://", "ws://");
    assert_eq!(close_code(&format!("{base}/v1/ws")).await, (4401, "missing_credentials".to_string()));
    assert_eq!(close_code(&format!("{base}/v1/ws?token=garbage")).await, (4401, "invalid_token".to_string()));

    // A valid token: the connection stays and answers.
    let (_, token) = app.user(Role::User).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}/v1/ws?token={token}")).await.expect("connect");
    ws.send(Message::Text("{\"op\":\"subscribe\"}".into())).await.expect("send");
    let reply = loop {
        match ws.next().await.expect("message").expect("ok") {
            Message::Text(t) => break t.to_string(),
            _ => continue,
        }
    };
    assert!(reply.contains("no_channels"), "{reply}");
    ws.close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame { code: CloseCode::Normal, reason: "".into() }))
        .await
        .expect("close");

    // A token that expires in a second is dropped when it does.
    let state = app.state();
    let (user_id, _) = app.user(Role::User).await;
    let now = kairos_platform::domain::now_us() / 1_000_000;
    let (short, _) = state
        .jwt()
        .issue(&user_id, Role::User, now - kairos_api::access::jwt::ACCESS_TOKEN_TTL_SECS + 1)
        .expect("issue");
    assert_eq!(close_code(&format!("{base}/v1/ws?token={short}")).await, (4401, "token_expired".to_string()));
    app.stop().await;
}
