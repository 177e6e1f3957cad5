//! The websocket client against a local websocket server: the market channel and its local
//! books (hash checks, REST resync), a dropped connection, a silent subscription, missing
//! pongs, a consumer that lags, and the user channel. No test touches the internet.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use kairos_clob_client::http::types::ApiKeyCredentials;
use kairos_clob_client::http::{ClientConfig, ClobClient};
use kairos_clob_client::ws::book::{BookMeta, summary_hash};
use kairos_clob_client::ws::books::{Books, Resync};
use kairos_clob_client::ws::messages::Level;
use kairos_clob_client::ws::{self, MarketEvent, UserEvent, WsConfig, WsEvent};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Snapshot, a good change, a bad change; pongs.
    Book,
    /// The first connection sends a snapshot and closes; later ones behave.
    DropFirst,
    /// Pongs, never data.
    Silent,
    /// Data every 50 ms, never a pong.
    NoPong,
    /// 100 trades at once.
    Burst,
    /// Two trade updates and an order event.
    User,
}

#[derive(Debug)]
struct Mock {
    mode: Mode,
    subscriptions: Vec<String>,
    rest_calls: u32,
}

type Shared = Arc<Mutex<Mock>>;

const ASSET: &str = "100";

fn meta() -> BookMeta {
    BookMeta { min_order_size: "5".into(), tick_size: "0.01".into(), neg_risk: false, last_trade_price: "0.5".into() }
}

fn level(p: &str, s: &str) -> Level {
    Level { price: p.into(), size: s.into() }
}

/// The REST book: bids and asks from the far side towards the touch.
fn rest_book() -> serde_json::Value {
    let bids = [level("0.3", "100"), level("0.4", "100")];
    let asks = [level("0.7", "100"), level("0.6", "100")];
    let hash = summary_hash("0xmarket", ASSET, "9", &bids, &asks, &meta());
    json!({ "market": "0xmarket", "asset_id": ASSET, "timestamp": "9", "hash": hash, "bids": bids, "asks": asks,
            "min_order_size": "5", "tick_size": "0.01", "neg_risk": false, "last_trade_price": "0.5" })
}

async fn book_route(
    State(mock): State<Shared>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    mock.lock().expect("lock").rest_calls += 1;
    assert_eq!(q.get("token_id").map(String::as_str), Some(ASSET));
    axum::Json(rest_book())
}

async fn ws_route(State(mock): State<Shared>, upgrade: WebSocketUpgrade) -> impl IntoResponse {
    upgrade.on_upgrade(move |socket| serve(mock, socket))
}

async fn send(socket: &mut WebSocket, v: serde_json::Value) -> bool {
    socket.send(Message::Text(v.to_string().into())).await.is_ok()
}

async fn serve(mock: Shared, mut socket: WebSocket) {
    let Some(Ok(Message::Text(subscription))) = socket.recv().await else { return };
    let (mode, connection) = {
        let mut m = mock.lock().expect("lock");
        m.subscriptions.push(subscription.to_string());
        (m.mode, m.subscriptions.len())
    };
    let snapshot = json!({ "event_type": "book", "asset_id": ASSET, "market": "0xmarket", "timestamp": "10",
        "bids": [level("0.4", "100"), level("0.3", "100")], "asks": [level("0.6", "100"), level("0.7", "100")] });
    match mode {
        Mode::Book => {
            send(&mut socket, snapshot).await;
            // The book after the bid at 0.4 grows to 150, hashed as the server would.
            let bids = [level("0.3", "100"), level("0.4", "150")];
            let asks = [level("0.7", "100"), level("0.6", "100")];
            let good = summary_hash("0xmarket", ASSET, "11", &bids, &asks, &meta());
            send(
                &mut socket,
                json!({ "event_type": "price_change", "market": "0xmarket", "timestamp": "11",
                "price_changes": [{ "asset_id": ASSET, "price": "0.4", "size": "150", "side": "BUY", "hash": good }] }),
            )
            .await;
            // An array frame: a trade, then a change whose hash is wrong.
            send(&mut socket, json!([
                { "event_type": "last_trade_price", "asset_id": ASSET, "price": "0.6", "side": "BUY", "size": "1" },
                { "event_type": "price_change", "market": "0xmarket", "timestamp": "12",
                  "price_changes": [{ "asset_id": ASSET, "price": "0.35", "size": "1", "side": "BUY", "hash": "bad" }] }
            ])).await;
        }
        Mode::DropFirst => {
            send(&mut socket, snapshot).await;
            if connection == 1 {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
        Mode::Burst => {
            for i in 0..100 {
                send(&mut socket, json!({ "event_type": "last_trade_price", "asset_id": ASSET, "price": "0.5", "size": i.to_string() })).await;
            }
        }
        Mode::User => {
            for status in ["MATCHED", "FAILED"] {
                send(&mut socket, json!({ "event_type": "trade", "id": "t-1", "status": status, "side": "BUY", "size": "10",
                    "price": "0.4", "taker_order_id": "0xtaker", "maker_orders": [{ "order_id": "0xmaker", "matched_amount": "10" }] })).await;
            }
            send(&mut socket, json!({ "event_type": "order", "id": "0xtaker", "type": "CANCELLATION", "original_size": "10", "size_matched": "0" })).await;
        }
        Mode::Silent | Mode::NoPong => {}
    }
    let mut data = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(t))) if t.as_str() == "PING" => {
                    if mode != Mode::NoPong && socket.send(Message::Text("PONG".into())).await.is_err() {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = data.tick(), if mode == Mode::NoPong => {
                if !send(&mut socket, json!({ "event_type": "last_trade_price", "asset_id": ASSET, "price": "0.5" })).await {
                    return;
                }
            }
        }
    }
}

async fn server(mode: Mode) -> (String, Shared) {
    let mock: Shared = Arc::new(Mutex::new(Mock { mode, subscriptions: Vec::new(), rest_calls: 0 }));
    let app = Router::new()
        .route("/ws/market", get(ws_route))
        .route("/ws/user", get(ws_route))
        .route("/book", get(book_route))
        .with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("127.0.0.1:{}", addr.port()), mock)
}

fn config(url: String) -> WsConfig {
    WsConfig {
        ping_every: Duration::from_millis(50),
        pong_timeout: Duration::from_secs(5),
        silence_timeout: Duration::from_secs(5),
        backoff_min: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        ..WsConfig::new(url)
    }
}

async fn next<T: std::fmt::Debug>(sub: &mut ws::Subscription<T>) -> WsEvent<T> {
    tokio::time::timeout(Duration::from_secs(10), sub.next()).await.expect("an event in time").expect("open")
}

/// The market channel for [`ASSET`] and its books, resynced from the mock's REST `/book`.
fn market_feed(addr: &str) -> (ws::Subscription<MarketEvent>, Books) {
    let client = ClobClient::new(ClientConfig { base_url: format!("http://{addr}"), ..ClientConfig::default() })
        .expect("client");
    let assets = vec![ASSET.to_string()];
    (ws::market(config(format!("ws://{addr}/ws/market")), &assets), Books::new(client, &assets))
}

#[tokio::test]
async fn the_market_feed_keeps_a_book_and_resyncs_when_the_hash_disagrees() {
    let (addr, mock) = server(Mode::Book).await;
    let (mut sub, mut books) = market_feed(&addr);
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let event = next(&mut sub).await;
        books.handle(&event).await.expect("handle");
        seen.push(event);
    }
    assert_eq!(seen[0], WsEvent::Connected);
    assert!(matches!(&seen[1], WsEvent::Message(MarketEvent::Book(_))));
    assert!(matches!(&seen[3], WsEvent::Message(MarketEvent::LastTradePrice(t)) if t.price == "0.6"));
    let subscription: serde_json::Value =
        serde_json::from_str(&mock.lock().expect("lock").subscriptions[0]).expect("json");
    assert_eq!(subscription, json!({ "assets_ids": [ASSET], "type": "market", "initial_dump": true, "level": 2 }));
    // REST once at the start (for the hash's fields), once for the bad hash; the good change
    // matched without one.
    assert_eq!(books.resyncs, vec![(ASSET.to_string(), Resync::Start), (ASSET.to_string(), Resync::HashMismatch)]);
    assert_eq!(mock.lock().expect("lock").rest_calls, 2);
    let book = books.get(ASSET).expect("ready");
    assert_eq!(book.bids(), vec![level("0.4", "100"), level("0.3", "100")], "the REST book replaced ours");
    assert_eq!(book.hash(), rest_book()["hash"].as_str().expect("hash"));
}

#[tokio::test]
async fn the_raw_market_feed_delivers_each_frame_whole_with_its_read_time() {
    let (addr, mock) = server(Mode::Book).await;
    let before = std::time::Instant::now();
    let mut sub = ws::market_raw(config(format!("ws://{addr}/ws/market")), &[ASSET.to_string()]);
    assert_eq!(next(&mut sub).await, WsEvent::Connected);
    let mut frames = Vec::new();
    while frames.len() < 3 {
        match next(&mut sub).await {
            WsEvent::Message(frame) => frames.push(frame),
            other => panic!("{other:?}"),
        }
    }
    let kinds: Vec<serde_json::Value> =
        frames.iter().map(|f| serde_json::from_str(&f.text).expect("the server's JSON, untouched")).collect();
    assert_eq!(kinds[0]["event_type"], "book");
    assert_eq!(kinds[1]["event_type"], "price_change");
    assert!(kinds[2].is_array(), "an array frame stays one frame: {}", frames[2].text);
    assert!(frames.windows(2).all(|w| before <= w[0].read_at && w[0].read_at <= w[1].read_at));
    assert!(mock.lock().expect("lock").subscriptions[0].contains(ASSET));
}

#[tokio::test]
async fn a_dropped_connection_reconnects_resubscribes_and_reports_a_gap() {
    let (addr, mock) = server(Mode::DropFirst).await;
    let (mut sub, mut books) = market_feed(&addr);
    let mut seen = Vec::new();
    while !seen.contains(&WsEvent::Gap) {
        let event = next(&mut sub).await;
        books.handle(&event).await.expect("handle");
        seen.push(event);
    }
    assert!(
        seen.iter().any(|e| matches!(e, WsEvent::Reconnecting { reason, .. } if reason.contains("closed"))),
        "{seen:?}"
    );
    for _ in 0..100 {
        if mock.lock().expect("lock").subscriptions.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let m = mock.lock().expect("lock");
    assert_eq!(m.subscriptions.len(), 2, "subscribed again");
    assert_eq!(m.subscriptions[0], m.subscriptions[1]);
    assert!(books.resyncs.contains(&(ASSET.to_string(), Resync::Gap)));
}

#[tokio::test]
async fn a_subscription_that_goes_silent_is_treated_as_dead_even_with_pongs() {
    let (addr, mock) = server(Mode::Silent).await;
    let cfg = WsConfig { silence_timeout: Duration::from_millis(300), ..config(format!("ws://{addr}/ws/market")) };
    let mut sub = ws::market(cfg, &[ASSET.to_string()]);
    assert_eq!(next(&mut sub).await, WsEvent::Connected);
    match next(&mut sub).await {
        WsEvent::Reconnecting { reason, .. } => assert!(reason.contains("silent"), "{reason}"),
        other => panic!("expected a reconnect, got {other:?}"),
    }
    assert_eq!(next(&mut sub).await, WsEvent::Connected);
    assert_eq!(next(&mut sub).await, WsEvent::Gap);
    // The server records the subscription once it has read it.
    for _ in 0..100 {
        if mock.lock().expect("lock").subscriptions.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.lock().expect("lock").subscriptions.len(), 2);
}

#[tokio::test]
async fn a_connection_without_pongs_is_dead() {
    let (addr, _mock) = server(Mode::NoPong).await;
    let cfg = WsConfig { pong_timeout: Duration::from_millis(300), ..config(format!("ws://{addr}/ws/market")) };
    let mut sub = ws::market(cfg, &[ASSET.to_string()]);
    loop {
        match next(&mut sub).await {
            WsEvent::Reconnecting { reason, .. } => {
                assert!(reason.contains("PONG"), "{reason}");
                break;
            }
            WsEvent::Connected | WsEvent::Message(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_consumer_that_lags_is_told_how_much_it_missed() {
    let (addr, _mock) = server(Mode::Burst).await;
    let cfg = WsConfig { capacity: 8, ..config(format!("ws://{addr}/ws/market")) };
    let mut sub = ws::market(cfg, &[ASSET.to_string()]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (mut delivered, mut missed) = (0u64, 0u64);
    while delivered + missed < 100 {
        match next(&mut sub).await {
            WsEvent::Message(MarketEvent::LastTradePrice(_)) => delivered += 1,
            WsEvent::Lagged { missed: m } => missed += m,
            WsEvent::Connected => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(missed > 0, "the burst overflowed the buffer");
    assert_eq!(delivered + missed, 100, "every event is delivered or counted");
}

#[tokio::test]
async fn the_user_channel_authenticates_and_follows_trades_and_orders() {
    let (addr, mock) = server(Mode::User).await;
    let credentials: ApiKeyCredentials =
        serde_json::from_value(json!({ "apiKey": "key-1", "secret": "c2VjcmV0", "passphrase": "pass" }))
            .expect("creds");
    let mut sub = ws::user(config(format!("ws://{addr}/ws/user")), &credentials, &["0xcondition".to_string()]);
    assert_eq!(next(&mut sub).await, WsEvent::Connected);
    let mut statuses = Vec::new();
    loop {
        match next(&mut sub).await {
            WsEvent::Message(UserEvent::Trade(t)) => {
                assert_eq!((t.id.as_str(), t.maker_orders[0].order_id.as_str()), ("t-1", "0xmaker"));
                statuses.push(t.status);
            }
            WsEvent::Message(UserEvent::Order(o)) => {
                assert_eq!((o.id.as_str(), o.kind.as_str()), ("0xtaker", "CANCELLATION"));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(statuses, ["MATCHED", "FAILED"]);
    let subscription: serde_json::Value =
        serde_json::from_str(&mock.lock().expect("lock").subscriptions[0]).expect("json");
    assert_eq!(
        subscription,
        json!({ "auth": { "apiKey": "key-1", "secret": "c2VjcmV0", "passphrase": "pass" }, "markets": ["0xcondition"], "type": "user" })
    );
    assert!(!format!("{credentials:?}").contains("c2VjcmV0"), "Debug hides the secret");
}

#[tokio::test]
async fn a_tick_size_change_updates_the_clients_cache_and_resyncs_the_book() {
    let (addr, mock) = server(Mode::Silent).await;
    let client = ClobClient::new(ClientConfig { base_url: format!("http://{addr}"), ..ClientConfig::default() })
        .expect("client");
    let mut books = Books::new(client.clone(), &[ASSET.to_string()]);
    let change: MarketEvent = serde_json::from_value(json!({ "event_type": "tick_size_change", "asset_id": ASSET,
        "old_tick_size": "0.01", "new_tick_size": "0.001" }))
    .expect("event");
    books.handle(&WsEvent::Message(change)).await.expect("handle");
    // The mock has no /tick-size route: the answer comes from the cache the event filled.
    assert_eq!(client.tick_size(ASSET).await.expect("cached"), "0.001");
    assert_eq!(books.resyncs, vec![(ASSET.to_string(), Resync::TickSizeChange)]);
    assert_eq!(mock.lock().expect("lock").rest_calls, 1);
}
