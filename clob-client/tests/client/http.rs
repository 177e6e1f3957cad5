//! The HTTP client against a local mock CLOB: the exact `POST /order` bytes and L2 signature
//! of the public end-to-end vector, the reconcile-before-resubmit path (a lost answer never
//! makes a second order), retries with `Retry-After`, error bodies and the heartbeat. No test
//! touches the internet.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kairos_clob_client::auth::l2::{Credentials, signature};
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::eth::{Address, B256, U256};
use kairos_clob_client::http::envelope::{OrderType, v2_body};
use kairos_clob_client::http::{
    ClientConfig, ClobClient, ClobError, HeartbeatReply, MAX_CANCEL_BATCH, MAX_POST_BATCH, Submitted,
};
use kairos_clob_client::orders::{Version, domain, sign_v2, v2};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const OWNER: &str = "000000000-0000-0000-0000-000000000000";

fn vector_order(signer: &Signer) -> v2::Order {
    v2::Order {
        salt: U256::from(479_249_096_354u64),
        maker: signer.address(),
        signer: signer.address(),
        tokenId: U256::from(1234u64),
        makerAmount: U256::from(100_000_000u64),
        takerAmount: U256::from(50_000_000u64),
        side: 0,
        signatureType: 0,
        timestamp: U256::from(1_710_000_000_000u64),
        metadata: B256::ZERO,
        builder: B256::ZERO,
    }
}

fn vector_body() -> (String, String) {
    let signer = Signer::from_hex(KEY).expect("key");
    let exchange: Address = "0xE111180000d2663C0091e4f400237545B87B996B".parse().expect("address");
    let order = vector_order(&signer);
    let signed = sign_v2(&signer, &order, &domain(Version::V2, 137, exchange)).expect("sign");
    let body = v2_body(&order, &signed, 0, OWNER, OrderType::Gtc, false).expect("body");
    (body, format!("{}", signed.order_hash))
}

#[test]
fn the_post_order_body_and_its_l2_signature_match_the_public_vector() {
    let (body, _) = vector_body();
    let expected = r#"{"order":{"salt":479249096354,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","signer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","tokenId":"1234","makerAmount":"100000000","takerAmount":"50000000","side":"BUY","expiration":"0","signatureType":0,"timestamp":"1710000000000","metadata":"0x0000000000000000000000000000000000000000000000000000000000000000","builder":"0x0000000000000000000000000000000000000000000000000000000000000000","signature":"0x42c7b4857d51e344045fcfde17b37cf1290d784471ffe618c22aa56ea5ddcf0009015b87ffb299813f5597e86d4ad56f40d634558d915edb719e6fc71dbc0d891c"},"owner":"000000000-0000-0000-0000-000000000000","orderType":"GTC","deferExec":false,"postOnly":false}"#;
    assert_eq!(body, expected);
    let secret = kairos_clob_client::auth::l2::decode_secret(SECRET).expect("secret");
    assert_eq!(
        signature(&secret, "1710000000", "POST", "/order", Some(&body)),
        "zTmLZwNXmhXvuWf6peP9-jC2x6yTqY5qQfaBZSCagfw="
    );
    let signer = Signer::from_hex(KEY).expect("key");
    let order = vector_order(&signer);
    let exchange: Address = "0xE111180000d2663C0091e4f400237545B87B996B".parse().expect("address");
    let signed = sign_v2(&signer, &order, &domain(Version::V2, 137, exchange)).expect("sign");
    assert!(v2_body(&order, &signed, 0, OWNER, OrderType::Fok, true).is_err(), "post-only FOK is refused");
}

/// What the mock CLOB was asked and how it should misbehave.
#[derive(Default)]
struct Mock {
    posts: usize,
    /// Bodies of orders the mock holds, by hash.
    orders: Vec<String>,
    /// The next POST /order is applied but answered only after this long.
    slow_post: Option<Duration>,
    /// The next POST /order fails with 502 without being applied.
    fail_next_post: bool,
    /// Statuses GET /book answers before succeeding.
    book_failures: Vec<StatusCode>,
    bad_signatures: usize,
    /// Legs of each `POST /orders` and ids of each `DELETE /orders`, in arrival order.
    batch_sizes: Vec<usize>,
    cancel_sizes: Vec<usize>,
}

type Shared = Arc<Mutex<Mock>>;

fn check_l2(headers: &HeaderMap, method: &str, path: &str, body: Option<&str>, mock: &Shared) -> bool {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let secret = kairos_clob_client::auth::l2::decode_secret(SECRET).expect("secret");
    let ok = h("POLY_API_KEY") == OWNER
        && h("POLY_ADDRESS") == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        && signature(&secret, &h("POLY_TIMESTAMP"), method, path, body) == h("POLY_SIGNATURE");
    if !ok {
        mock.lock().expect("lock").bad_signatures += 1;
    }
    ok
}

async fn post_order(State(mock): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !check_l2(&headers, "POST", "/order", Some(&body), &mock) {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"Unauthorized/Invalid api key"}"#).into_response();
    }
    let (slow, fail) = {
        let mut m = mock.lock().expect("lock");
        m.posts += 1;
        (m.slow_post.take(), std::mem::take(&mut m.fail_next_post))
    };
    if fail {
        return (StatusCode::BAD_GATEWAY, "upstream").into_response();
    }
    let hash = vector_body().1;
    {
        let mut m = mock.lock().expect("lock");
        if m.orders.contains(&hash) {
            return (StatusCode::BAD_REQUEST, r#"{"error":"order is invalid: INVALID_ORDER_DUPLICATED"}"#)
                .into_response();
        }
        m.orders.push(hash.clone());
    }
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    let answer = serde_json::json!({ "success": true, "orderID": hash, "status": "live", "makingAmount": "", "takingAmount": "", "errorMsg": "" });
    (StatusCode::OK, answer.to_string()).into_response()
}

async fn get_order(State(mock): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !check_l2(&headers, "GET", &format!("/data/order/{id}"), None, &mock) {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"Unauthorized/Invalid api key"}"#).into_response();
    }
    if mock.lock().expect("lock").orders.contains(&id) {
        let o = serde_json::json!({ "id": id, "status": "LIVE", "asset_id": "1234", "side": "BUY", "original_size": "100", "size_matched": "0", "price": "0.5" });
        (StatusCode::OK, o.to_string()).into_response()
    } else {
        (StatusCode::NOT_FOUND, r#"{"error":"order not found"}"#).into_response()
    }
}

async fn book(State(mock): State<Shared>) -> Response {
    let failure = {
        let mut m = mock.lock().expect("lock");
        if m.book_failures.is_empty() { None } else { Some(m.book_failures.remove(0)) }
    };
    match failure {
        Some(StatusCode::TOO_MANY_REQUESTS) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], r#"{"error":"Too Many Requests"}"#).into_response()
        }
        Some(status) => (status, r#"{"error":"could not read the book"}"#).into_response(),
        None => (StatusCode::OK, r#"{"market":"0xc","asset_id":"1234","timestamp":"1","hash":"h","bids":[{"price":"0.4","size":"10"}],"asks":[],"tick_size":"0.01"}"#).into_response(),
    }
}

async fn heartbeat(State(mock): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !check_l2(&headers, "POST", "/v1/heartbeats", Some(&body), &mock) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    if v["heartbeat_id"] == "stale" {
        return (StatusCode::BAD_REQUEST, r#"{"heartbeat_id":"fresh-1","error_msg":"Invalid Heartbeat ID"}"#)
            .into_response();
    }
    if v["heartbeat_id"] == "after-legacy" {
        // The shape polymarket-client 0.14.0 documents after a legacy heartbeat: an empty id.
        return (StatusCode::BAD_REQUEST, r#"{"error_msg":"Invalid Heartbeat ID","heartbeat_id":""}"#).into_response();
    }
    (StatusCode::OK, r#"{"heartbeat_id":"next-1"}"#).into_response()
}

/// `POST /orders`: refuses more than 15 legs as the CLOB does; the legs of the third batch
/// answer in the asynchronous-execution shape (`tradeIDs`, no hashes).
async fn post_orders(State(mock): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !check_l2(&headers, "POST", "/orders", Some(&body), &mock) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let legs: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap_or_default();
    if legs.len() > 15 {
        return (StatusCode::BAD_REQUEST, r#"{"error":"too many orders"}"#).into_response();
    }
    let batch = {
        let mut m = mock.lock().expect("lock");
        m.batch_sizes.push(legs.len());
        m.batch_sizes.len()
    };
    let answers: Vec<serde_json::Value> = legs
        .iter()
        .map(|l| {
            let salt = l["order"]["salt"].to_string();
            if batch == 3 {
                serde_json::json!({ "success": true, "orderID": salt, "status": "matched", "makingAmount": "",
                    "takingAmount": "", "tradeIDs": [format!("t-{salt}")], "errorMsg": "" })
            } else {
                serde_json::json!({ "success": true, "orderID": salt, "status": "matched", "makingAmount": "1",
                    "takingAmount": "2", "transactionsHashes": ["0xabc"], "tradeIDs": null, "errorMsg": "" })
            }
        })
        .collect();
    (StatusCode::OK, serde_json::Value::Array(answers).to_string()).into_response()
}

async fn cancel_orders(State(mock): State<Shared>, headers: HeaderMap, body: String) -> Response {
    if !check_l2(&headers, "DELETE", "/orders", Some(&body), &mock) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let ids: Vec<String> = serde_json::from_str(&body).unwrap_or_default();
    if ids.len() > 3000 {
        return (StatusCode::BAD_REQUEST, r#"{"error":"too many ids"}"#).into_response();
    }
    mock.lock().expect("lock").cancel_sizes.push(ids.len());
    (StatusCode::OK, serde_json::json!({ "canceled": ids, "not_canceled": {} }).to_string()).into_response()
}

async fn books(body: String) -> Response {
    let asked: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap_or_default();
    let books: Vec<serde_json::Value> = asked
        .iter()
        .map(
            |t| serde_json::json!({ "asset_id": t["token_id"], "bids": [], "asks": [{ "price": "0.6", "size": "5" }] }),
        )
        .collect();
    (StatusCode::OK, serde_json::Value::Array(books).to_string()).into_response()
}

async fn markets(axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>) -> Response {
    let page = match q.get("next_cursor").map(String::as_str) {
        Some("MA==") => {
            serde_json::json!({ "limit": 1, "count": 1, "next_cursor": "MQ==", "data": [{ "condition_id": "0x1" }] })
        }
        _ => serde_json::json!({ "limit": 1, "count": 1, "next_cursor": "LTE=", "data": [{ "condition_id": "0x2" }] }),
    };
    (StatusCode::OK, page.to_string()).into_response()
}

async fn derive_api_key(headers: HeaderMap) -> Response {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let signer = Signer::from_hex(KEY).expect("key");
    let ts: u64 = h("POLY_TIMESTAMP").parse().unwrap_or(0);
    let nonce: u64 = h("POLY_NONCE").parse().unwrap_or(u64::MAX);
    let expected = kairos_clob_client::auth::l1::L1Headers::new(&signer, 137, ts, nonce);
    let expected_signature = expected.pairs().iter().find(|(n, _)| *n == "POLY_SIGNATURE").map(|(_, v)| v.to_string());
    if Some(h("POLY_SIGNATURE")) != expected_signature
        || h("POLY_ADDRESS") != "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    {
        return (StatusCode::UNAUTHORIZED, r#"{"error":"Invalid L1 Request headers"}"#).into_response();
    }
    (StatusCode::OK, format!(r#"{{"apiKey":"{OWNER}","secret":"{SECRET}","passphrase":"p"}}"#)).into_response()
}

async fn balance_allowance(
    State(mock): State<Shared>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    if !check_l2(&headers, "GET", "/balance-allowance", None, &mock) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    (StatusCode::OK, serde_json::json!({ "balance": "1000000", "asset_type": q.get("asset_type") }).to_string())
        .into_response()
}

async fn mock_clob(mock: Shared) -> String {
    let app = Router::new()
        .route("/order", post(post_order))
        .route("/orders", post(post_orders).delete(cancel_orders))
        .route("/data/order/{id}", get(get_order))
        .route("/book", get(book))
        .route("/v1/heartbeats", post(heartbeat))
        .route("/time", get(|| async { "1710000000" }))
        .route("/books", post(books))
        .route(
            "/midpoints",
            post(|body: String| async move {
                let asked: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let token = asked[0]["token_id"].as_str().unwrap_or("").to_string();
                serde_json::json!({ token: "0.45" }).to_string()
            }),
        )
        .route("/markets", get(markets))
        .route("/fee-rate", get(|| async { r#"{"base_fee":0}"# }))
        .route("/auth/derive-api-key", get(derive_api_key))
        .route("/balance-allowance", get(balance_allowance))
        .with_state(mock);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn client(base: &str, timeout: Duration) -> ClobClient {
    let config = ClientConfig { base_url: base.to_string(), timeout, attempts: 4, max_backoff: Duration::from_secs(2) };
    let creds = Credentials::new(OWNER, SECRET, "passphrase").expect("creds");
    ClobClient::new(config).expect("client").with_l2(creds, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
}

#[tokio::test]
async fn a_submit_whose_answer_is_lost_is_found_by_its_hash_and_never_sent_twice() {
    let mock: Shared = Arc::default();
    let base = mock_clob(mock.clone()).await;
    let c = client(&base, Duration::from_millis(300));
    let (body, hash) = vector_body();
    mock.lock().expect("lock").slow_post = Some(Duration::from_secs(1));
    let submitted = c.post_order_reconciled(&body, &hash).await.expect("reconciled");
    assert!(matches!(&submitted, Submitted::Reconciled(o) if o.id == hash), "{submitted:?}");
    let m = mock.lock().expect("lock");
    assert_eq!((m.posts, m.orders.len(), m.bad_signatures), (1, 1, 0), "one order, sent once");
}

#[tokio::test]
async fn a_submit_that_did_not_land_is_sent_again_once() {
    let mock: Shared = Arc::default();
    let base = mock_clob(mock.clone()).await;
    let c = client(&base, Duration::from_secs(2));
    let (body, hash) = vector_body();
    mock.lock().expect("lock").fail_next_post = true;
    let submitted = c.post_order_reconciled(&body, &hash).await.expect("posted");
    assert!(matches!(&submitted, Submitted::Posted(r) if r.success && r.order_id == hash), "{submitted:?}");
    assert_eq!(mock.lock().expect("lock").posts, 2);
    // The same signed order again is the same order: the CLOB refuses it and it is found.
    let again = c.post_order_reconciled(&body, &hash).await.expect("found");
    assert!(matches!(&again, Submitted::Reconciled(o) if o.id == hash), "{again:?}");
    assert_eq!(mock.lock().expect("lock").orders.len(), 1);
}

#[tokio::test]
async fn reads_retry_honouring_retry_after_and_errors_keep_the_clob_message() {
    let mock: Shared = Arc::default();
    let base = mock_clob(mock.clone()).await;
    let c = client(&base, Duration::from_secs(2));
    mock.lock().expect("lock").book_failures = vec![StatusCode::TOO_MANY_REQUESTS, StatusCode::INTERNAL_SERVER_ERROR];
    let started = Instant::now();
    let book = c.book("1234").await.expect("book after retries");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After was honoured");
    assert_eq!((book.bids[0].price.as_str(), book.tick_size.as_str()), ("0.4", "0.01"));
    mock.lock().expect("lock").book_failures = vec![StatusCode::BAD_REQUEST];
    let refused = c.book("1234").await.expect_err("400 is not retried");
    assert_eq!(
        refused,
        ClobError::Status { status: 400, message: "could not read the book".into(), code: None, retry_after: None }
    );
    assert_eq!(c.server_time().await.expect("time"), 1_710_000_000);
    let nothing = c.get_order("0xunknown").await.expect("lookup");
    assert_eq!(nothing, None);
}

#[tokio::test]
async fn the_heartbeat_adopts_the_id_the_clob_returns() {
    let mock: Shared = Arc::default();
    let base = mock_clob(mock.clone()).await;
    let c = client(&base, Duration::from_secs(2));
    assert_eq!(c.heartbeat("").await.expect("first"), HeartbeatReply::Accepted { next: "next-1".into() });
    // A rejection names the id to send at once; it is not a beat (the deadline did not move).
    assert_eq!(c.heartbeat("stale").await.expect("rejected"), HeartbeatReply::Rejected { expected: "fresh-1".into() });
    assert_eq!(
        c.heartbeat("after-legacy").await.expect("rejected"),
        HeartbeatReply::Rejected { expected: String::new() }
    );
    let dead = ClobClient::new(ClientConfig {
        base_url: "http://127.0.0.1:9".into(),
        timeout: Duration::from_millis(300),
        attempts: 1,
        max_backoff: Duration::ZERO,
    })
    .expect("client");
    assert!(matches!(dead.server_time().await, Err(ClobError::Transport(_) | ClobError::Timeout(_))));
    assert_eq!(mock.lock().expect("lock").bad_signatures, 0);
}

#[tokio::test]
async fn batch_reads_pages_keys_and_balances() {
    let mock: Shared = Arc::default();
    let base = mock_clob(mock.clone()).await;
    let c = client(&base, Duration::from_secs(2));
    let books = c.books(&["1", "2"]).await.expect("books");
    assert_eq!(books.iter().map(|b| b.asset_id.as_str()).collect::<Vec<_>>(), vec!["1", "2"]);
    assert_eq!(c.midpoints(&["7"]).await.expect("mids")["7"], "0.45");
    let first = c.markets(kairos_clob_client::http::types::Page::<serde_json::Value>::FIRST).await.expect("page");
    assert!(!first.is_last());
    let last = c.markets(&first.next_cursor).await.expect("page");
    assert!(last.is_last() && last.data[0]["condition_id"] == "0x2");
    assert_eq!(c.fee_rate_bps("1").await.expect("fee"), 0);
    let signer = Signer::from_hex(KEY).expect("key");
    let creds = c.api_key(&signer, 137, 0, false).await.expect("derived");
    assert_eq!(creds.api_key, OWNER);
    assert!(!format!("{creds:?}").contains(SECRET), "Debug hides the secret");
    let wrong_chain = c.api_key(&signer, 80002, 0, false).await;
    assert!(matches!(wrong_chain, Err(ClobError::Status { status: 401, .. })), "{wrong_chain:?}");
    let balance = c.balance_allowance("COLLATERAL", None, 0).await.expect("balance");
    assert_eq!(balance["balance"], "1000000");
    assert_eq!(mock.lock().expect("lock").bad_signatures, 0, "L2 signs the path without its query");
}

#[tokio::test]
async fn batches_are_split_at_the_clobs_limits_and_each_leg_answers() {
    let mock: Shared = Arc::default();
    let base = mock_clob(mock.clone()).await;
    let c = client(&base, Duration::from_secs(2));
    let bodies: Vec<String> = (0..40).map(|i| format!(r#"{{"order":{{"salt":{i}}}}}"#)).collect();
    let results = c.post_orders(&bodies).await;
    assert_eq!(results.len(), 40);
    assert_eq!(mock.lock().expect("lock").batch_sizes, [MAX_POST_BATCH, MAX_POST_BATCH, 10]);
    for (i, r) in results.iter().enumerate() {
        let r = r.as_ref().expect("leg accepted");
        assert_eq!(r.order_id, i.to_string(), "legs answer in the order given");
        if i < 30 {
            // The earlier shape: hashes at once, tradeIDs null.
            assert_eq!((r.transactions_hashes.len(), r.trade_ids.len()), (1, 0));
        } else {
            // Asynchronous execution: trade ids, no hashes.
            assert_eq!((r.transactions_hashes.len(), r.trade_ids.clone()), (0, vec![format!("t-{i}")]));
        }
    }
    let ids: Vec<String> = (0..7000).map(|i| format!("0x{i:x}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let cancelled = c.cancel_orders(&refs).await.expect("cancel");
    assert_eq!(cancelled.canceled.len(), 7000);
    assert_eq!(mock.lock().expect("lock").cancel_sizes, [MAX_CANCEL_BATCH, MAX_CANCEL_BATCH, 1000]);
    assert_eq!(mock.lock().expect("lock").bad_signatures, 0);
}
