//! `run` against a mock CLOB over plain HTTP, fed by the recorded frames: the connection is
//! warmed with `GET /time` before any order, the book is read from REST (its hash fields), the frames' decisions go out (places, then cancels
//! and places as the replayed bid moves), the heartbeat runs on the same connection carrying
//! the id the last beat returned, and stopping sends `DELETE /cancel-all` last. The platform's
//! kill switch pulls every quote at once and stops new ones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kairos_clob_client::http::{ClientConfig, ClobClient};
use kairos_domain::TradingState;
use kairos_quoter::feed::{BUILT_IN, Feed};
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::run::{Endpoint, Venue, run};
use tokio::io::AsyncWriteExt;

mod support;

/// The REST book of the recorded token: the hash's fields come from here.
const REST_BOOK: &str = r#"{"market":"0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af","asset_id":"65818619657568813474341868652308942079804919287380422192892211131408793125422","timestamp":"1757908892000","hash":"","bids":[{"price":"0.40","size":"100"}],"asks":[{"price":"0.55","size":"100"}],"tick_size":"0.01","min_order_size":"5","neg_risk":false,"last_trade_price":"0.5"}"#;

/// (request line, body) of every request, across connections.
type Log = Arc<Mutex<Vec<(String, String)>>>;

fn answer(line: &str, beats: usize) -> String {
    let path = line.split(' ').nth(1).unwrap_or("");
    match (line.split(' ').next().unwrap_or(""), path) {
        ("GET", "/time") => "1757908892".to_string(),
        ("GET", p) if p.starts_with("/book?token_id=") => REST_BOOK.to_string(),
        ("POST", "/order") => r#"{"success":true,"orderID":"0x01","status":"live"}"#.to_string(),
        ("POST", "/orders") => {
            r#"[{"success":true,"orderID":"0x01","status":"live"},{"success":true,"orderID":"0x02","status":"live"}]"#
                .to_string()
        }
        ("DELETE", "/orders" | "/cancel-all") => r#"{"canceled":[],"not_canceled":{}}"#.to_string(),
        ("POST", "/v1/heartbeats") => format!(r#"{{"heartbeat_id":"hb-{}"}}"#, beats + 1),
        _ => panic!("unexpected {line}"),
    }
}

async fn mock_clob() -> (String, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Log = Arc::default();
    let shared = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let log = shared.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(request) = support::read_request(&mut socket, &mut buf).await {
                    let reply = {
                        let mut log = log.lock().expect("log");
                        let beats = log.iter().filter(|(l, _)| l.starts_with("POST /v1/heartbeats")).count();
                        log.push((request.line.clone(), request.body));
                        answer(&request.line, beats)
                    };
                    let response = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}", reply.len());
                    if socket.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), log)
}

#[tokio::test]
async fn a_run_warms_quotes_beats_and_cancels_everything_when_stopped() {
    let (url, log) = mock_clob().await;
    let endpoint = Endpoint::parse(&url).expect("endpoint");
    let mut p = support::pipeline_for(&endpoint.host_header(), 10 * SIZE_UNITS, 5);
    let mut feed = Feed::recorded(BUILT_IN, Duration::from_millis(20)).expect("feed");
    let rest = ClobClient::new(ClientConfig { base_url: url.clone(), ..ClientConfig::default() }).expect("rest");
    let venue = Venue { rest: Some(rest), user_channel: None, trading: None };
    let summary = run(
        &mut p,
        &endpoint,
        &mut feed,
        venue,
        Duration::from_millis(100),
        tokio::time::sleep(Duration::from_millis(700)),
    )
    .await
    .expect("run");
    let log = log.lock().expect("log").clone();
    let lines: Vec<&str> = log.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(lines.first(), Some(&"GET /time HTTP/1.1"), "warmed before anything: {lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("GET /book?token_id={} ", support::ASSET))),
        "the REST book: {lines:?}"
    );
    assert_eq!(lines.last(), Some(&"DELETE /cancel-all HTTP/1.1"), "cancel-all last: {lines:?}");
    assert!(lines.contains(&"POST /orders HTTP/1.1"), "the snapshot's two quotes: {lines:?}");
    assert!(lines.contains(&"DELETE /orders HTTP/1.1"), "the moving bid's cancels: {lines:?}");
    let beats: Vec<&str> =
        log.iter().filter(|(l, _)| l.starts_with("POST /v1/heartbeats")).map(|(_, b)| b.as_str()).collect();
    assert!(beats.len() >= 3, "{beats:?}");
    assert_eq!(beats[0], r#"{"heartbeat_id":""}"#);
    assert_eq!(beats[1], r#"{"heartbeat_id":"hb-1"}"#, "each beat carries the id the last returned");
    assert!(summary.frames >= 20 && summary.heartbeats >= 3, "{summary:?}");
    assert_eq!(summary.reconnects, 0);
    assert!(p.engine().markets()[0].resting.is_empty());
}

#[tokio::test]
async fn the_kill_switch_cancels_everything_at_once_and_stops_new_orders() {
    let (url, log) = mock_clob().await;
    let endpoint = Endpoint::parse(&url).expect("endpoint");
    let mut p = support::pipeline_for(&endpoint.host_header(), 10 * SIZE_UNITS, 5);
    let mut feed = Feed::recorded(BUILT_IN, Duration::from_millis(20)).expect("feed");
    let rest = ClobClient::new(ClientConfig { base_url: url.clone(), ..ClientConfig::default() }).expect("rest");
    let (switch, trading) = tokio::sync::watch::channel(TradingState::Enabled);
    let venue = Venue { rest: Some(rest), user_channel: None, trading: Some(trading) };
    let flip = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let flipped_at = log.lock().expect("log").len();
        switch.send(TradingState::CancelOnly).expect("send");
        tokio::time::sleep(Duration::from_millis(400)).await;
        flipped_at
    };
    let quoting = run(&mut p, &endpoint, &mut feed, venue, Duration::from_millis(100), std::future::pending::<()>());
    let (flipped_at, summary) = tokio::select! {
        flipped_at = flip => (flipped_at, None),
        summary = quoting => (0, Some(summary)),
    };
    assert!(summary.is_none(), "the run ended early: {summary:?}");
    let log = log.lock().expect("log").clone();
    let lines: Vec<&str> = log.iter().map(|(l, _)| l.as_str()).collect();
    assert!(lines[..flipped_at].iter().any(|l| l.starts_with("POST /order")), "quoting before: {lines:?}");
    // The rest of a pass in flight when the switch flipped may land just after it; then the
    // cancel-all, and no order after it.
    let cancel_at = flipped_at
        + lines[flipped_at..].iter().position(|l| *l == "DELETE /cancel-all HTTP/1.1").expect("a cancel-all");
    let after = &lines[cancel_at..];
    assert!(!after.iter().any(|l| l.starts_with("POST /order")), "no new order after: {after:?}");
    assert!(after.iter().any(|l| l.starts_with("POST /v1/heartbeats")), "still beating: {after:?}");
    assert_eq!(p.engine().gate().trading, TradingState::CancelOnly);
    assert!(p.engine().markets()[0].resting.is_empty());
}
