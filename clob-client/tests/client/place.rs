//! Placing orders against a local mock CLOB: the server's version read once and again after
//! a mismatch, the tick size cached, the clock offset measured once, and market prices from
//! the live book.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::build::{Account, OrderArgs, Rounding};
use kairos_clob_client::eth::U256;
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::http::place::PlaceError;
use kairos_clob_client::http::{ClientConfig, ClobClient, Submitted};
use kairos_clob_client::orders::Version;
use kairos_clob_client::rounding::{AmountSide, OrderKind};
use serde_json::json;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Debug, Default)]
struct Mock {
    version: u64,
    version_reads: u32,
    tick_reads: u32,
    time_reads: u32,
    posts: Vec<serde_json::Value>,
    /// The server moves to this version and refuses the next post as a mismatch.
    upgrade_to: Option<u64>,
    /// Posts refused as a mismatch without any version change.
    stubborn: u32,
}

type Shared = Arc<Mutex<Mock>>;

async fn serve(mock: Shared) -> ClobClient {
    let (m1, m2, m3, m4) = (mock.clone(), mock.clone(), mock.clone(), mock.clone());
    let app = Router::new()
        .route(
            "/version",
            get(move || {
                let m = m1.clone();
                async move {
                    let mut m = m.lock().expect("lock");
                    m.version_reads += 1;
                    json!({ "version": m.version }).to_string()
                }
            }),
        )
        .route(
            "/tick-size",
            get(move || {
                let m = m2.clone();
                async move {
                    m.lock().expect("lock").tick_reads += 1;
                    json!({ "minimum_tick_size": 0.01 }).to_string()
                }
            }),
        )
        .route(
            "/time",
            get(move || {
                let m = m3.clone();
                async move {
                    m.lock().expect("lock").time_reads += 1;
                    // The server's clock runs 100 s ahead of ours.
                    let now =
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
                    (now + 100).to_string()
                }
            }),
        )
        .route(
            "/order",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let m = m4.clone();
                async move {
                    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
                    let ts: u64 = headers
                        .get("POLY_TIMESTAMP")
                        .and_then(|t| t.to_str().ok())
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                    let now =
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs();
                    assert!(ts >= now + 95, "signed with the server's clock: {ts} vs local {now}");
                    let mut m = m.lock().expect("lock");
                    m.posts.push(v);
                    if m.stubborn > 0 {
                        m.stubborn -= 1;
                        return (StatusCode::BAD_REQUEST, r#"{"error":"order_version_mismatch"}"#).into_response();
                    }
                    if let Some(next) = m.upgrade_to.take() {
                        m.version = next;
                        return (StatusCode::BAD_REQUEST, r#"{"error":"order_version_mismatch"}"#).into_response();
                    }
                    json!({ "success": true, "orderID": "0xabc", "status": "live" }).to_string().into_response()
                }
            }),
        )
        .route(
            "/book",
            get(|| async {
                json!({ "asset_id": "1234", "market": "0xm",
                    "bids": [{ "price": "0.40", "size": "10" }, { "price": "0.45", "size": "20" }],
                    "asks": [{ "price": "0.60", "size": "10" }, { "price": "0.55", "size": "20" }] })
                .to_string()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config =
        ClientConfig { base_url: format!("http://{addr}"), timeout: Duration::from_secs(2), ..ClientConfig::default() };
    let creds =
        Credentials::new("00000000-0000-0000-0000-000000000000", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "p")
            .expect("creds");
    ClobClient::new(config).expect("client").with_l2(creds, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
}

fn account() -> Account {
    let signer = Signer::from_hex(KEY).expect("key");
    let maker = signer.address();
    Account { signer, maker, signature_type: 0, chain_id: 137, api_key: "00000000-0000-0000-0000-000000000000".into() }
}

fn args() -> OrderArgs {
    OrderArgs {
        token_id: U256::from(1234u64),
        side: AmountSide::Buy,
        price: "0.50".into(),
        size: "10".into(),
        kind: OrderKind::Limit,
        tick: String::new(),
        neg_risk: false,
        order_type: OrderType::Gtc,
        post_only: false,
        expiration_s: 0,
    }
}

#[tokio::test]
async fn a_version_mismatch_is_read_again_and_the_order_rebuilt_once() {
    let mock: Shared = Arc::new(Mutex::new(Mock { version: 2, ..Mock::default() }));
    let client = serve(mock.clone()).await;
    let (built, submitted) = client.place(&account(), &args()).await.expect("placed");
    assert!(matches!(submitted, Submitted::Posted(ref p) if p.status == "live"));
    assert_eq!(built.order.makerAmount, U256::from(5_000_000u64));
    // The rounding mode is the client's: the Python client signs 2603.69 for 2603.7.
    let odd = OrderArgs { size: "2603.7".into(), ..args() };
    let (exact, _) = client.place(&account(), &odd).await.expect("exact");
    let (python, _) = client.clone().with_rounding(Rounding::Python).place(&account(), &odd).await.expect("python");
    assert_eq!(
        (exact.order.takerAmount, python.order.takerAmount),
        (U256::from(2_603_700_000u64), U256::from(2_603_690_000u64))
    );
    assert_eq!(client.order_version().await.expect("version"), Version::V2);
    client.place(&account(), &args()).await.expect("again");
    {
        let m = mock.lock().expect("lock");
        assert_eq!((m.version_reads, m.tick_reads, m.time_reads), (1, 1, 1), "each read once");
    }

    mock.lock().expect("lock").upgrade_to = Some(3);
    let (built, _) = client.place(&account(), &args()).await.expect("rebuilt for version 3");
    assert_eq!(client.order_version().await.expect("version"), Version::V3);
    let m = mock.lock().expect("lock");
    assert_eq!(m.version_reads, 2, "read again after the mismatch");
    assert_eq!(m.posts.len(), 6);
    assert_ne!(m.posts[4]["order"]["signature"], m.posts[5]["order"]["signature"], "rebuilt and signed again");
    assert_eq!(m.posts[5]["order"]["signature"], json!(kairos_clob_client::eth::hex0x(&built.signed.signature)));
}

#[tokio::test]
async fn a_second_mismatch_is_returned_not_retried() {
    let mock: Shared = Arc::new(Mutex::new(Mock { version: 2, stubborn: 5, ..Mock::default() }));
    let client = serve(mock.clone()).await;
    let err = client.place(&account(), &args()).await.expect_err("refused twice");
    assert!(matches!(&err, PlaceError::Clob(e) if e.is_version_mismatch()), "{err}");
    assert_eq!(mock.lock().expect("lock").posts.len(), 2, "one rebuild per order, no loop");
}

#[tokio::test]
async fn market_prices_come_from_the_live_book() {
    let client = serve(Arc::new(Mutex::new(Mock { version: 2, ..Mock::default() }))).await;
    let price = |side, amount: &'static str, t| {
        let client = client.clone();
        async move { client.market_price("1234", side, amount, t).await }
    };
    // Asks best first: 20 at 0.55 (11.00 of collateral), then 10 at 0.60 (6.00).
    assert_eq!(price(AmountSide::Buy, "5", OrderType::Fok).await.expect("buy"), "0.55");
    assert_eq!(price(AmountSide::Buy, "11", OrderType::Fok).await.expect("buy"), "0.55");
    assert_eq!(price(AmountSide::Buy, "11.01", OrderType::Fok).await.expect("buy"), "0.60");
    assert!(matches!(price(AmountSide::Buy, "17.01", OrderType::Fok).await, Err(PlaceError::NoMarketPrice { .. })));
    assert_eq!(price(AmountSide::Buy, "17.01", OrderType::Fak).await.expect("fak"), "0.60");
    // Bids best first: 20 shares at 0.45, then 10 at 0.40.
    assert_eq!(price(AmountSide::Sell, "20", OrderType::Fok).await.expect("sell"), "0.45");
    assert_eq!(price(AmountSide::Sell, "25", OrderType::Fok).await.expect("sell"), "0.40");
    assert!(price(AmountSide::Sell, "0", OrderType::Fok).await.is_err());
}
