//! A local stand-in for the Polymarket CLOB: the endpoints the venue calls, an order id that
//! is the order's EIP-712 hash (computed from the posted body, as the CLOB does), trades the
//! test reports (pushed on the user channel or left for the poller), and faults scripted per
//! `POST /order`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolStruct as _;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use kairos_clob_client::contracts;
use kairos_clob_client::orders::{Version, domain, v2};
use kairos_platform::domain::{format_micros, parse_micros};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// What the next `POST /order` does instead of answering at once.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answers this status without keeping the order.
    Status(u16, &'static str),
    /// 429 with `Retry-After` seconds, order not kept.
    RateLimited(u64),
    /// Keeps the order, answers after this long (past the client's timeout).
    SlowAccept(Duration),
    /// Keeps the order, then answers 500: the answer is lost, the order is not.
    AcceptThen500,
}

#[derive(Debug, Clone)]
pub(crate) struct MockOrder {
    pub(crate) status: String,
    pub(crate) original_size: String,
    pub(crate) size_matched: String,
    pub(crate) trades: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Clob {
    pub(crate) orders: Mutex<BTreeMap<String, MockOrder>>,
    trades: Mutex<BTreeMap<String, Value>>,
    pub(crate) posts: AtomicUsize,
    pub(crate) heartbeats: AtomicUsize,
    faults: Mutex<VecDeque<Fault>>,
    user: Mutex<Option<broadcast::Sender<String>>>,
}

pub(crate) struct MockClob {
    pub(crate) base: String,
    pub(crate) ws: String,
    pub(crate) clob: Arc<Clob>,
}

/// The order id the CLOB gives a posted body: the V2 order's EIP-712 hash on Polygon.
fn order_hash(body: &Value) -> Option<String> {
    let o = &body["order"];
    let u = |k: &str| -> Option<U256> {
        match &o[k] {
            Value::Number(n) => U256::from_str_radix(&n.to_string(), 10).ok(),
            Value::String(s) => U256::from_str_radix(s, 10).ok(),
            _ => None,
        }
    };
    let a = |k: &str| -> Option<Address> { o[k].as_str()?.parse().ok() };
    let b = |k: &str| -> Option<B256> { o[k].as_str()?.parse().ok() };
    let order = v2::Order {
        salt: u("salt")?,
        maker: a("maker")?,
        signer: a("signer")?,
        tokenId: u("tokenId")?,
        makerAmount: u("makerAmount")?,
        takerAmount: u("takerAmount")?,
        side: if o["side"] == "BUY" { 0 } else { 1 },
        signatureType: u8::try_from(o["signatureType"].as_u64()?).ok()?,
        timestamp: u("timestamp")?,
        metadata: b("metadata")?,
        builder: b("builder")?,
    };
    let exchange = contracts::exchange(137, Version::V2, false)?;
    Some(format!("{:#x}", order.eip712_signing_hash(&domain(Version::V2, 137, exchange))))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn post_order(State(clob): State<Arc<Clob>>, body: String) -> Response {
    clob.posts.fetch_add(1, Ordering::SeqCst);
    let Ok(value) = serde_json::from_str::<Value>(&body) else { return error(StatusCode::BAD_REQUEST, "bad json") };
    let Some(hash) = order_hash(&value) else { return error(StatusCode::BAD_REQUEST, "bad order") };
    let fault = clob.faults.lock().expect("faults").pop_front();
    let keep = |clob: &Clob| {
        let mut orders = clob.orders.lock().expect("orders");
        if orders.contains_key(&hash) {
            return false;
        }
        let taker: u128 = value["order"]["takerAmount"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        let maker: u128 = value["order"]["makerAmount"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
        let shares = if value["order"]["side"] == "BUY" { taker } else { maker };
        orders.insert(
            hash.clone(),
            MockOrder {
                status: "ORDER_STATUS_LIVE".into(),
                original_size: format_micros(i64::try_from(shares).unwrap_or(i64::MAX)),
                size_matched: "0".into(),
                trades: Vec::new(),
            },
        );
        true
    };
    match fault {
        Some(Fault::Status(status, message)) => {
            return error(StatusCode::from_u16(status).expect("status"), message);
        }
        Some(Fault::RateLimited(seconds)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", seconds.to_string())],
                "{\"error\":\"Too Many Requests\"}",
            )
                .into_response();
        }
        Some(Fault::SlowAccept(wait)) => {
            keep(&clob);
            tokio::time::sleep(wait).await;
        }
        Some(Fault::AcceptThen500) => {
            keep(&clob);
            return error(StatusCode::INTERNAL_SERVER_ERROR, "upstream timeout");
        }
        None => {
            if !keep(&clob) {
                return error(StatusCode::BAD_REQUEST, "INVALID_ORDER_DUPLICATED: order already exists");
            }
        }
    }
    axum::Json(json!({ "success": true, "orderID": hash, "status": "live", "errorMsg": "" })).into_response()
}

async fn get_order(State(clob): State<Arc<Clob>>, Path(id): Path<String>) -> Response {
    match clob.orders.lock().expect("orders").get(&id) {
        Some(o) => axum::Json(json!({
            "id": id, "status": o.status, "original_size": o.original_size, "size_matched": o.size_matched,
            "associate_trades": o.trades,
        }))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "order not found"),
    }
}

async fn get_trades(State(clob): State<Arc<Clob>>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let trades = clob.trades.lock().expect("trades");
    let data: Vec<Value> = match q.get("id") {
        Some(id) => trades.get(id).cloned().into_iter().collect(),
        None => trades.values().cloned().collect(),
    };
    axum::Json(json!({ "data": data, "next_cursor": "LTE=" })).into_response()
}

fn cancel_ids(clob: &Clob, ids: &[String]) -> Value {
    let mut orders = clob.orders.lock().expect("orders");
    let (mut canceled, mut not_canceled) = (Vec::new(), serde_json::Map::new());
    for id in ids {
        match orders.get_mut(id) {
            Some(o) if o.status == "ORDER_STATUS_LIVE" => {
                o.status = "ORDER_STATUS_CANCELED".into();
                canceled.push(id.clone());
            }
            Some(_) => {
                not_canceled.insert(id.clone(), json!("order is not live"));
            }
            None => {
                not_canceled.insert(id.clone(), json!("order not found"));
            }
        }
    }
    json!({ "canceled": canceled, "not_canceled": not_canceled })
}

async fn cancel_one(State(clob): State<Arc<Clob>>, body: String) -> Response {
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = v["orderID"].as_str().unwrap_or_default().to_string();
    axum::Json(cancel_ids(&clob, &[id])).into_response()
}

async fn cancel_many(State(clob): State<Arc<Clob>>, body: String) -> Response {
    let ids: Vec<String> = serde_json::from_str(&body).unwrap_or_default();
    axum::Json(cancel_ids(&clob, &ids)).into_response()
}

async fn heartbeat(State(clob): State<Arc<Clob>>) -> Response {
    let n = clob.heartbeats.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({ "heartbeat_id": format!("hb-{n}") })).into_response()
}

async fn user_channel(State(clob): State<Arc<Clob>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| serve_user(clob, socket))
}

async fn serve_user(clob: Arc<Clob>, mut socket: WebSocket) {
    let Some(mut events) = clob.user.lock().expect("user").as_ref().map(broadcast::Sender::subscribe) else { return };
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) if t.as_str() == "PING" => {
                    if socket.send(Message::Text("PONG".into())).await.is_err() { return; }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            Ok(event) = events.recv() => {
                if socket.send(Message::Text(event.into())).await.is_err() { return; }
            }
        }
    }
}

pub(crate) async fn start() -> MockClob {
    let clob = Arc::new(Clob { user: Mutex::new(Some(broadcast::channel(256).0)), ..Clob::default() });
    let app = axum::Router::new()
        .route(
            "/time",
            get(|| async {
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs().to_string()
            }),
        )
        .route("/version", get(|| async { axum::Json(json!({ "version": 2 })) }))
        .route("/neg-risk", get(|| async { axum::Json(json!({ "neg_risk": false })) }))
        .route("/order", post(post_order).delete(cancel_one))
        .route("/orders", delete(cancel_many))
        .route("/data/order/{id}", get(get_order))
        .route("/data/trades", get(get_trades))
        .route("/v1/heartbeats", post(heartbeat))
        .route("/ws/user", get(user_channel))
        .with_state(clob.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    MockClob { base: format!("http://{addr}"), ws: format!("ws://{addr}/ws/user"), clob }
}

impl MockClob {
    pub(crate) fn fault(&self, fault: Fault) {
        self.clob.faults.lock().expect("faults").push_back(fault);
    }

    pub(crate) fn order_count(&self) -> usize {
        self.clob.orders.lock().expect("orders").len()
    }

    pub(crate) fn order(&self, hash: &str) -> Option<MockOrder> {
        self.clob.orders.lock().expect("orders").get(hash).cloned()
    }

    fn push(&self, event: Value) {
        if let Some(tx) = self.clob.user.lock().expect("user").as_ref() {
            let _ = tx.send(event.to_string());
        }
    }

    /// Another account's order takes `size` of ours (a maker) at `price`; `announce` pushes
    /// the trade on the user channel, otherwise only REST knows it.
    pub(crate) fn fill(&self, hash: &str, trade_id: &str, size: &str, price: &str, announce: bool) {
        let trade = json!({
            "event_type": "trade", "id": trade_id, "taker_order_id": "0xsomeone-else", "market": "0xcondition",
            "asset_id": "1111", "side": "SELL", "size": size, "price": price, "status": "MATCHED",
            "trader_side": "MAKER",
            "maker_orders": [{ "order_id": hash, "matched_amount": size, "price": price, "asset_id": "1111" }],
        });
        {
            let mut orders = self.clob.orders.lock().expect("orders");
            let o = orders.get_mut(hash).expect("order on the mock");
            let matched = parse_micros(&o.size_matched).expect("matched") + parse_micros(size).expect("size");
            o.size_matched = format_micros(matched);
            if matched == parse_micros(&o.original_size).expect("original size") {
                o.status = "ORDER_STATUS_MATCHED".into();
            }
            o.trades.push(trade_id.to_string());
        }
        self.clob.trades.lock().expect("trades").insert(trade_id.to_string(), trade.clone());
        if announce {
            self.push(trade);
        }
    }

    /// The trade moves on (`CONFIRMED`, `FAILED`, …); announced on the user channel.
    pub(crate) fn settle(&self, trade_id: &str, status: &str, announce: bool) {
        let trade = {
            let mut trades = self.clob.trades.lock().expect("trades");
            let t = trades.get_mut(trade_id).expect("trade");
            t["status"] = json!(status);
            t.clone()
        };
        if announce {
            self.push(trade);
        }
    }
}
