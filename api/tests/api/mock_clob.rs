//! A local stand-in for the Polymarket CLOB: the endpoints the venue calls, an order id that
//! is the order's EIP-712 hash (computed from the posted body, as the CLOB does, under the
//! domain the token calls for: ExchangeV3 for a Protocol V2 position id), a signature that
//! must recover to the order's signer under that domain (else 400, as the CLOB refuses it),
//! trades the test reports (pushed on the user channel or left for the poller), faults
//! scripted per `POST /order`, and a heartbeat that can be made to stop answering or to
//! reject its id.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use kairos_domain::{format_micros, parse_micros};
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
    /// Matches the whole order at once as taker against someone else's order in trade
    /// `trade_id`, and answers `matched` in the CLOB's asynchronous-execution shape
    /// (`tradeIDs`; the order's record does not list the trade yet) or in the shape from
    /// before (`transactionsHashes` only; the record lists it).
    MatchOnPost { trade_id: &'static str, price: &'static str, async_shape: bool },
}

/// How `POST /v1/heartbeats` behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Heartbeats {
    #[default]
    Answer,
    /// Never answers (the client's timeout ends each beat).
    Silent,
    /// 400 "Invalid Heartbeat ID" naming another id, every time.
    Reject,
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
    heartbeat_mode: Mutex<Heartbeats>,
    /// What `GET /midpoint` answers (404 while unset).
    pub(crate) mid: Mutex<Option<String>>,
    /// Cancels are refused (400) while set.
    pub(crate) refuse_cancels: std::sync::atomic::AtomicBool,
    faults: Mutex<VecDeque<Fault>>,
    /// The EIP-712 domain version of each order taken, by hash.
    pub(crate) domains: Mutex<BTreeMap<String, &'static str>>,
    user: Mutex<Option<broadcast::Sender<String>>>,
}

pub(crate) struct MockClob {
    pub(crate) base: String,
    pub(crate) ws: String,
    pub(crate) clob: Arc<Clob>,
}

/// The order id the CLOB gives a posted body, the EIP-712 hash of the order on Polygon under
/// the domain its token calls for, and that domain's version; `Err` names what the CLOB
/// would refuse (an unreadable order, or a signature that is not the signer's). The hashing is
/// [`crate::eip712`]'s, written apart from the client's.
fn order_hash(body: &Value) -> Result<(String, &'static str), &'static str> {
    use crate::eip712;
    let o = &body["order"];
    let order = eip712::read_order(o).ok_or("bad order")?;
    // ExchangeV3 (Polygon) for a V2 position; the CTF exchange for anything else.
    let (version, exchange) = if eip712::is_position(&order.token_id) {
        ("3", "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa")
    } else {
        ("2", "0xE111180000d2663C0091e4f400237545B87B996B")
    };
    let digest = eip712::digest(&order, version, 137, eip712::address(exchange).ok_or("address")?);
    let signature = o["signature"].as_str().and_then(|s| hex::decode(s.trim_start_matches("0x")).ok());
    if signature.and_then(|s| eip712::recover(digest, &s)) != Some(order.signer) {
        return Err("invalid signature");
    }
    Ok((format!("0x{}", hex::encode(digest)), version))
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

async fn post_order(State(clob): State<Arc<Clob>>, body: String) -> Response {
    clob.posts.fetch_add(1, Ordering::SeqCst);
    let Ok(value) = serde_json::from_str::<Value>(&body) else { return error(StatusCode::BAD_REQUEST, "bad json") };
    let (hash, domain_version) = match order_hash(&value) {
        Ok(found) => found,
        Err(why) => return error(StatusCode::BAD_REQUEST, why),
    };
    clob.domains.lock().expect("domains").insert(hash.clone(), domain_version);
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
        Some(Fault::MatchOnPost { trade_id, price, async_shape }) => {
            keep(&clob);
            let size =
                clob.orders.lock().expect("orders").get(&hash).map(|o| o.original_size.clone()).unwrap_or_default();
            let trade = json!({
                "id": trade_id, "taker_order_id": hash, "market": "0xcondition", "asset_id": "1111", "side": "BUY",
                "size": size, "price": price, "status": "MATCHED", "trader_side": "TAKER",
                "maker_orders": [{ "order_id": "0xsomeone-else", "matched_amount": size, "price": price, "asset_id": "1111" }],
            });
            clob.trades.lock().expect("trades").insert(trade_id.to_string(), trade);
            {
                let mut orders = clob.orders.lock().expect("orders");
                let o = orders.get_mut(&hash).expect("kept");
                o.size_matched = size.clone();
                o.status = "ORDER_STATUS_MATCHED".into();
                if !async_shape {
                    o.trades.push(trade_id.to_string());
                }
            }
            let answer = if async_shape {
                json!({ "success": true, "orderID": hash, "status": "matched", "makingAmount": "", "takingAmount": "",
                        "tradeIDs": [trade_id], "errorMsg": "" })
            } else {
                json!({ "success": true, "orderID": hash, "status": "matched", "makingAmount": "1", "takingAmount": "1",
                        "transactionsHashes": ["0x5ee"], "errorMsg": "" })
            };
            return axum::Json(answer).into_response();
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
    if clob.refuse_cancels.load(Ordering::SeqCst) {
        return error(StatusCode::BAD_REQUEST, "cancel refused");
    }
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let id = v["orderID"].as_str().unwrap_or_default().to_string();
    axum::Json(cancel_ids(&clob, &[id])).into_response()
}

async fn cancel_many(State(clob): State<Arc<Clob>>, body: String) -> Response {
    if clob.refuse_cancels.load(Ordering::SeqCst) {
        return error(StatusCode::BAD_REQUEST, "cancel refused");
    }
    let ids: Vec<String> = serde_json::from_str(&body).unwrap_or_default();
    axum::Json(cancel_ids(&clob, &ids)).into_response()
}

async fn heartbeat(State(clob): State<Arc<Clob>>) -> Response {
    let n = clob.heartbeats.fetch_add(1, Ordering::SeqCst);
    let mode = *clob.heartbeat_mode.lock().expect("mode");
    match mode {
        Heartbeats::Answer => axum::Json(json!({ "heartbeat_id": format!("hb-{n}") })).into_response(),
        Heartbeats::Silent => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Heartbeats::Reject => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error_msg": "Invalid Heartbeat ID", "heartbeat_id": format!("other-{n}") })),
        )
            .into_response(),
    }
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
        .route(
            "/midpoint",
            get(|State(clob): State<Arc<Clob>>| async move {
                match clob.mid.lock().expect("mid").clone() {
                    Some(mid) => axum::Json(json!({ "mid": mid })).into_response(),
                    None => error(StatusCode::NOT_FOUND, "No orderbook exists for the requested token id"),
                }
            }),
        )
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

    pub(crate) fn heartbeats(&self, mode: Heartbeats) {
        *self.clob.heartbeat_mode.lock().expect("mode") = mode;
    }

    /// The EIP-712 domain version the CLOB saw the order signed under ("2" or "3").
    pub(crate) fn domain_of(&self, hash: &str) -> Option<&'static str> {
        self.clob.domains.lock().expect("domains").get(hash).copied()
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
