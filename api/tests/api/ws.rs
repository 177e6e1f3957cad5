//! The websocket: 4401 without credentials and when the token expires; books with snapshots
//! and sequenced deltas, trades, private orders and fills, cancel-on-disconnect.

use futures_util::{SinkExt as _, StreamExt as _};
use kairos_platform::domain::Role;
use kairos_platform::storage::scratch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use reqwest::Method;
use serde_json::{Value, json};

use crate::orders::{funded, market};
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
    assert!(reply.contains("invalid_message"), "{reply}");
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

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message of one of these types (others, such as heartbeats, are skipped).
async fn next_of(ws: &mut Ws, types: &[&str]) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.unwrap_or_else(|_| panic!("no {types:?} in time"));
        if let Some(Ok(Message::Text(t))) = msg {
            let v: Value = serde_json::from_str(&t).expect("json");
            if types.contains(&v["type"].as_str().unwrap_or("")) {
                return v;
            }
        }
    }
}

async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.expect("send");
}

#[tokio::test]
async fn books_trades_orders_and_fills_stream_in_sequence() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let base = app.base.replace("http://", "ws://");
    let (_, op) = app.user(Role::Operator).await;
    let m = market(&app, kairos_platform::domain::Venue::Paper, "streams").await;
    let (_, maker) = funded(&app, &op, "100").await;
    let (_, taker) = funded(&app, &op, "100").await;
    app.send(
        Method::POST,
        "/v1/orders",
        Some(&maker),
        Some(json!({ "market_id": m, "outcome": 0, "side": "buy", "price": "0.40", "size": "5" })),
    )
    .await;

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}/v1/ws?token={maker}")).await.expect("connect");
    for channel in [
        json!({ "channel": "book", "market_id": m }),
        json!({ "channel": "trades", "market_id": m }),
        json!({ "channel": "orders" }),
        json!({ "channel": "fills" }),
    ] {
        let mut sub = channel.clone();
        sub["op"] = json!("subscribe");
        send_json(&mut ws, sub).await;
    }
    let snapshot = next_of(&mut ws, &["book_snapshot"]).await;
    assert_eq!(snapshot["bids"], json!([["0.4", "5"]]));
    let seq = snapshot["seq"].as_u64().expect("seq");
    send_json(
        &mut ws,
        json!({ "op": "subscribe", "channel": "book", "market_id": "00000000-0000-7000-8000-000000000000" }),
    )
    .await;
    assert_eq!(next_of(&mut ws, &["error"]).await["code"], "unknown_market");

    // Someone else takes 2: a delta with the next seq, a trade, and the maker's order and fill.
    app.send(
        Method::POST,
        "/v1/orders",
        Some(&taker),
        Some(json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "2" })),
    )
    .await;
    let mut got = std::collections::HashMap::new();
    while got.len() < 4 {
        let m = next_of(&mut ws, &["book_delta", "trade", "order", "fill"]).await;
        got.insert(m["type"].as_str().unwrap_or("").to_string(), m);
    }
    let delta = &got["book_delta"];
    assert_eq!((delta["seq"].as_u64(), &delta["bids"]), (Some(seq + 1), &json!([["0.4", "3"]])));
    let trade = &got["trade"];
    assert_eq!(
        (trade["price"].as_str(), trade["size"].as_str(), trade["taker_side"].as_str()),
        (Some("0.4"), Some("2"), Some("sell"))
    );
    assert_eq!(got["order"]["order"]["status"], "partially_filled");
    let fill = &got["fill"];
    assert_eq!(
        (fill["fill"]["liquidity"].as_str(), fill["fill"]["finality"].as_str()),
        (Some("maker"), Some("confirmed"))
    );

    // Cancel-on-disconnect: the maker's rest goes when the connection does.
    send_json(&mut ws, json!({ "op": "cancel_on_disconnect", "enabled": true })).await;
    assert_eq!(next_of(&mut ws, &["cancel_on_disconnect"]).await["enabled"], true);
    ws.close(None).await.expect("close");
    crate::support::eventually(5, "orders cancelled on disconnect", || async {
        let (_, open) = app.send(Method::GET, "/v1/orders?open=true", Some(&maker), None).await;
        open["data"].as_array().is_some_and(Vec::is_empty)
    })
    .await;
    let (_, all) = app.send(Method::GET, "/v1/orders", Some(&maker), None).await;
    assert_eq!(all["data"][0]["reason"], "cancel_on_disconnect");
    app.stop().await;
}
