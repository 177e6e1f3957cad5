//! The websocket: 4401 without credentials and when the token expires; books with snapshots
//! and sequenced deltas, trades, private orders and fills, cancel-on-disconnect.

use futures_util::{SinkExt as _, StreamExt as _};
use kairos_domain::Role;
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
    let now = kairos_domain::now_us() / 1_000_000;
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
    let m = market(&app, kairos_domain::Venue::Paper, "streams").await;
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

/// A stream opened with a signed request (`GET /v1/ws`, empty body).
/// `skew_ms` makes each connection's timestamp, and so its signature, its own: a signature is
/// accepted once.
async fn connect_key(app: &crate::support::TestApp, key_id: &str, secret: &str, skew_ms: i64) -> Result<Ws, u16> {
    use base64::Engine as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let raw = base64::engine::general_purpose::URL_SAFE.decode(secret).expect("secret");
    let ts = (kairos_domain::now_us() / 1_000 + skew_ms).to_string();
    let sig = kairos_api::access::signed_request::sign(&raw, &ts, "GET", "/v1/ws", b"");
    let mut request = format!("{}/v1/ws", app.base.replace("http://", "ws://")).into_client_request().expect("request");
    let headers = request.headers_mut();
    headers.insert("KAIROS-KEY", key_id.parse().expect("header"));
    headers.insert("KAIROS-TIMESTAMP", ts.parse().expect("header"));
    headers.insert("KAIROS-SIGNATURE", sig.parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

async fn say(ws: &mut Ws, message: Value) -> Value {
    ws.send(Message::Text(message.to_string().into())).await.expect("send");
    next_of(ws, &["subscribed", "error", "book_snapshot"]).await
}

#[tokio::test]
async fn streams_check_scopes_budgets_sizes_connections_and_revocations() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[("KAIROS_RATE_LIMITS__READ__KEY", "10")]).await;
    let (_, mm) = app.user(Role::MarketMaker).await;
    let key = |scopes: Value| {
        let (app, mm) = (&app, &mm);
        async move {
            let (_, k) =
                app.send(Method::POST, "/v1/api-keys", Some(mm), Some(json!({ "label": "s", "scopes": scopes }))).await;
            (k["key_id"].as_str().expect("id").to_string(), k["secret"].as_str().expect("secret").to_string())
        }
    };
    let (trade_id, trade_secret) = key(json!(["trade"])).await;
    let (read_id, read_secret) = key(json!(["read"])).await;

    // (c) A trade-only key may not read orders or fills.
    let mut trade_only = connect_key(&app, &trade_id, &trade_secret, 0).await.expect("connect");
    for channel in ["orders", "fills"] {
        let reply = say(&mut trade_only, json!({ "op": "subscribe", "channel": channel })).await;
        assert_eq!(reply["code"], "insufficient_scope", "{channel}: {reply}");
    }

    // (a) A made-up market is refused; messages spend the read budget.
    let mut reader = connect_key(&app, &read_id, &read_secret, 0).await.expect("connect");
    let reply = say(
        &mut reader,
        json!({ "op": "subscribe", "channel": "book", "market_id": "0192f0e4-0000-7000-8000-000000000000" }),
    )
    .await;
    assert_eq!(reply["code"], "unknown_market", "{reply}");
    let mut limited = 0;
    for _ in 0..40 {
        if say(&mut reader, json!({ "op": "subscribe", "channel": "orders" })).await["code"] == "rate_limited" {
            limited += 1;
        }
    }
    assert!(limited >= 20, "a burst of 40 messages against a budget of 10/s: {limited} refused");
    // The stream and REST share the key's read budget, which the burst spent: the next part
    // uses a key of its own rather than waiting for a refill.
    let (big_id, big_secret) = key(json!(["read"])).await;

    // A message over 64 KiB ends the connection.
    let mut big = connect_key(&app, &big_id, &big_secret, 1).await.expect("connect");
    let _ = big.send(Message::Text("x".repeat(100 * 1024).into())).await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match big.next().await {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => break None,
            }
        }
    })
    .await
    .expect("closed in time");
    assert!(ended.is_none_or(|code| code == 1009), "{ended:?}");

    // At most 8 connections per key.
    let mut open = Vec::new();
    let status = loop {
        let skew = i64::try_from(open.len()).expect("small") + 1;
        match connect_key(&app, &trade_id, &trade_secret, skew).await {
            Ok(ws) => open.push(ws),
            Err(status) => break status,
        }
        assert!(open.len() <= 8, "more than 8 connections for one key");
    };
    assert_eq!((status, open.len()), (429, 7), "the trade-only key already had one open");

    // (b) Revoking the key closes its open stream with 4401.
    let (status, _) = app.send(Method::DELETE, &format!("/v1/api-keys/{read_id}"), Some(&mm), None).await;
    assert_eq!(status, 204);
    let code = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match reader.next().await {
                Some(Ok(Message::Close(Some(frame)))) => break (u16::from(frame.code), frame.reason.to_string()),
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time");
    assert_eq!(code, (4401, "revoked_key".to_string()));
    app.stop().await;
}

#[tokio::test]
async fn the_cancels_of_a_tripped_order_group_stream_on_the_orders_channel() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let base = app.base.replace("http://", "ws://");
    let (_, op) = app.user(Role::Operator).await;
    let m = market(&app, kairos_domain::Venue::Paper, "mmp-stream").await;
    let (_, maker) = funded(&app, &op, "100").await;
    let (_, taker) = funded(&app, &op, "100").await;
    let limits = json!({ "limits": { "interval_ms": 1000, "max_filled_size": "1", "max_filled_notional": "100" },
                         "freeze_ms": 1000 });
    let (_, g) = app.send(Method::POST, "/v1/order-groups", Some(&maker), Some(limits)).await;
    let mut quotes = Vec::new();
    for price in ["0.40", "0.39"] {
        let body = json!({ "market_id": m, "outcome": 0, "side": "buy", "price": price, "size": "2", "order_group_id": g["id"] });
        let (status, q) = app.send(Method::POST, "/v1/orders", Some(&maker), Some(body)).await;
        assert_eq!(status, 201, "{q}");
        quotes.push(q["id"].as_str().expect("id").to_string());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{base}/v1/ws?token={maker}")).await.expect("connect");
    send_json(&mut ws, json!({ "op": "subscribe", "channel": "orders" })).await;
    // Messages are handled in order: the pong means the subscription is in place.
    send_json(&mut ws, json!({ "op": "ping" })).await;
    next_of(&mut ws, &["pong"]).await;
    let take =
        json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "2", "time_in_force": "ioc" });
    let (status, _) = app.send(Method::POST, "/v1/orders", Some(&taker), Some(take)).await;
    assert_eq!(status, 201);
    loop {
        let o = next_of(&mut ws, &["order"]).await;
        if o["order"]["id"] == quotes[1].as_str() {
            let order = &o["order"];
            assert_eq!(
                (order["status"].as_str(), order["reason"].as_str()),
                (Some("cancelled"), Some("mmp_triggered")),
                "{o}"
            );
            break;
        }
    }
    app.stop().await;
}
