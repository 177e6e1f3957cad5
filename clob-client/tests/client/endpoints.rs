//! The account and market-data endpoints against a local mock that records each request:
//! method, path and query, whether it was L2-signed, and the body; and answers with the
//! server's shapes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::http::market_data::{HistoryWindow, Listing};
use kairos_clob_client::http::{ClientConfig, ClobClient};
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
struct Seen {
    method: String,
    uri: String,
    signed: bool,
    body: String,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn answer(path: &str) -> String {
    match path {
        "/auth/api-keys" => json!({ "apiKeys": ["k1", "k2"] }),
        "/auth/ban-status/closed-only" => json!({ "closed_only": false }),
        "/auth/readonly-api-key" => json!({ "apiKey": "ro-1" }),
        "/auth/readonly-api-keys" => json!(["ro-1"]),
        "/order-scoring" => json!({ "scoring": true }),
        "/orders-scoring" => json!({ "0xa": true, "0xb": false }),
        "/notifications" => json!([{ "id": 1, "type": 2 }]),
        "/prices-history" => json!({ "history": [{ "t": 1_700_000_000, "p": 0.4512 }] }),
        p if p.starts_with("/rewards/markets") || p.ends_with("markets") => {
            json!({ "data": [{ "condition_id": "0xc" }], "next_cursor": "LTE=" })
        }
        _ => json!({ "ok": true }),
    }
    .to_string()
}

async fn serve(log: Log) -> ClobClient {
    let app = Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: String| {
        let log = log.clone();
        async move {
            let signed = headers.contains_key("POLY_SIGNATURE") && headers.contains_key("POLY_API_KEY");
            log.lock().expect("lock").push(Seen { method: method.to_string(), uri: uri.to_string(), signed, body });
            answer(uri.path())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config =
        ClientConfig { base_url: format!("http://{addr}"), timeout: Duration::from_secs(5), ..ClientConfig::default() };
    let creds =
        Credentials::new("00000000-0000-0000-0000-000000000000", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "p")
            .expect("creds");
    ClobClient::new(config).expect("client").with_l2(creds, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
}

fn last(log: &Log) -> Seen {
    log.lock().expect("lock").last().cloned().expect("a request")
}

fn seen(method: &str, uri: &str, signed: bool, body: &str) -> Seen {
    Seen { method: method.into(), uri: uri.into(), signed, body: body.into() }
}

#[tokio::test]
async fn account_endpoints_send_what_the_server_expects() {
    let log: Log = Arc::default();
    let c = serve(log.clone()).await;
    assert_eq!(c.api_keys().await.expect("keys").api_keys, ["k1", "k2"]);
    assert_eq!(last(&log), seen("GET", "/auth/api-keys", true, ""));
    assert!(!c.closed_only().await.expect("ban"));
    assert_eq!(c.create_readonly_api_key().await.expect("ro"), "ro-1");
    assert_eq!(last(&log), seen("POST", "/auth/readonly-api-key", true, ""));
    assert_eq!(c.readonly_api_keys().await.expect("list"), ["ro-1"]);
    c.delete_readonly_api_key("ro-1").await.expect_err("the mock answers an object, not a bool");
    assert_eq!(last(&log), seen("DELETE", "/auth/readonly-api-key", true, r#"{"key":"ro-1"}"#));
    c.create_builder_api_key().await.expect("builder");
    assert_eq!(last(&log), seen("POST", "/auth/builder-api-key", true, ""));
    c.builder_api_keys().await.expect("builders");
    c.revoke_builder_api_key().await.expect("revoke");
    assert_eq!(last(&log), seen("DELETE", "/auth/builder-api-key", true, ""));
    c.delete_api_key().await.expect("delete");
    assert_eq!(last(&log), seen("DELETE", "/auth/api-key", true, ""));

    assert_eq!(c.notifications(1).await.expect("notes").len(), 1);
    assert_eq!(last(&log), seen("GET", "/notifications?signature_type=1", true, ""));
    c.drop_notifications(&["1", "2"]).await.expect("drop");
    assert_eq!(last(&log), seen("DELETE", "/notifications?ids=1,2", true, ""));
    assert!(c.order_scoring("0xa").await.expect("scoring"));
    assert_eq!(last(&log), seen("GET", "/order-scoring?order_id=0xa", true, ""));
    let scoring = c.orders_scoring(&["0xa", "0xb"]).await.expect("scoring");
    assert_eq!(scoring.get("0xb"), Some(&false));
    assert_eq!(last(&log), seen("POST", "/orders-scoring", true, r#"["0xa","0xb"]"#));
    c.update_balance_allowance("CONDITIONAL", Some("123"), 2).await.expect("update");
    assert_eq!(
        last(&log),
        seen("GET", "/balance-allowance/update?asset_type=CONDITIONAL&token_id=123&signature_type=2", true, "")
    );

    c.user_rewards("/total", Some("2026-11-28"), 0).await.expect("rewards");
    assert_eq!(last(&log), seen("GET", "/rewards/user/total?date=2026-11-28&signature_type=0", true, ""));
    assert!(c.user_rewards("/other", None, 0).await.is_err(), "only the known listings");
    let page = c.current_rewards("").await.expect("current");
    assert!(page.data.len() == 1 && page.next_cursor == "LTE=");
    assert_eq!(last(&log), seen("GET", "/rewards/markets/current", false, ""));
    c.market_rewards("0xc", "MA==").await.expect("market rewards");
    assert_eq!(last(&log), seen("GET", "/rewards/markets/0xc?next_cursor=MA==", false, ""));
}

#[tokio::test]
async fn market_data_endpoints_are_public_and_keep_prices_exact() {
    let log: Log = Arc::default();
    let c = serve(log.clone()).await;
    let history = c.prices_history("123", &HistoryWindow::Interval("1d".into()), Some(60)).await.expect("history");
    assert_eq!(history.history[0].p.to_string(), "0.4512");
    assert_eq!(last(&log), seen("GET", "/prices-history?market=123&interval=1d&fidelity=60", false, ""));
    c.prices_history("123", &HistoryWindow::Range { start_ts: 1, end_ts: 2 }, None).await.expect("range");
    assert_eq!(last(&log), seen("GET", "/prices-history?market=123&startTs=1&endTs=2", false, ""));
    assert!(c.prices_history("123", &HistoryWindow::Interval("2d".into()), None).await.is_err());
    c.market_by_token("123").await.expect("by token");
    assert_eq!(last(&log), seen("GET", "/markets-by-token/123", false, ""));
    c.clob_market("0xc").await.expect("clob market");
    assert_eq!(last(&log), seen("GET", "/clob-markets/0xc", false, ""));
    for (listing, path) in [
        (Listing::Sampling, "/sampling-markets"),
        (Listing::Simplified, "/simplified-markets"),
        (Listing::SamplingSimplified, "/sampling-simplified-markets"),
    ] {
        let page = c.market_listing(listing, "").await.expect("listing");
        assert!(page.is_last());
        assert_eq!(last(&log), seen("GET", path, false, ""));
    }
}
