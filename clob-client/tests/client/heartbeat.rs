//! The heartbeat task against a local mock: it sends back the id it was given, reports a `400`
//! that names another id as a rejection (not a beat) and sends that id at once, retries
//! failures quickly, and warns before the deadline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::http::heartbeat::{self, HeartbeatConfig, HeartbeatEvent};
use kairos_clob_client::http::{ClientConfig, ClobClient};

#[derive(Debug, Default)]
struct Mock {
    received: Vec<String>,
    /// The next beats fail with 503.
    fail: u32,
    beats: u32,
}

type Shared = Arc<Mutex<Mock>>;

async fn serve(mock: Shared) -> ClobClient {
    let app = Router::new().route(
        "/v1/heartbeats",
        post(move |body: String| {
            let mock = mock.clone();
            async move {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                let id = v["heartbeat_id"].as_str().unwrap_or("?").to_string();
                let mut m = mock.lock().expect("lock");
                m.received.push(id.clone());
                if m.fail > 0 {
                    m.fail -= 1;
                    return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
                }
                if id == "hb-2" {
                    // The server lost that id: it names the right one.
                    return (StatusCode::BAD_REQUEST, r#"{"heartbeat_id":"hb-adopted","error_msg":"invalid"}"#)
                        .into_response();
                }
                m.beats += 1;
                format!(r#"{{"heartbeat_id":"hb-{}"}}"#, m.beats).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = ClientConfig {
        base_url: format!("http://{addr}"),
        timeout: Duration::from_secs(2),
        attempts: 1,
        max_backoff: Duration::ZERO,
    };
    let creds =
        Credentials::new("00000000-0000-0000-0000-000000000000", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "p")
            .expect("creds");
    ClobClient::new(config).expect("client").with_l2(creds, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
}

fn config() -> HeartbeatConfig {
    HeartbeatConfig {
        every: Duration::from_millis(100),
        deadline: Duration::from_millis(1_000),
        at_risk_after: Duration::from_millis(300),
        retry_min: Duration::from_millis(40),
        retry_max: Duration::from_millis(80),
    }
}

async fn next(hb: &mut heartbeat::Heartbeat) -> HeartbeatEvent {
    tokio::time::timeout(Duration::from_secs(5), hb.events.recv()).await.expect("in time").expect("open")
}

#[tokio::test]
async fn beats_carry_the_last_id_and_a_rejected_id_is_replaced_at_once() {
    let mock: Shared = Arc::default();
    // Beats a second apart: the adopted id must go out long before the next regular beat.
    let slow = HeartbeatConfig {
        every: Duration::from_secs(1),
        at_risk_after: Duration::from_millis(1_500),
        deadline: Duration::from_secs(3),
        ..config()
    };
    let mut hb = heartbeat::spawn(serve(mock.clone()).await, slow);
    let mut events = Vec::new();
    let mut rejected_at = None;
    let mut adopted_after = None;
    while events.len() < 4 {
        let event = next(&mut hb).await;
        match &event {
            HeartbeatEvent::Rejected { .. } => rejected_at = Some(std::time::Instant::now()),
            HeartbeatEvent::Beat { .. } if rejected_at.is_some() && adopted_after.is_none() => {
                adopted_after = rejected_at.map(|t| t.elapsed());
            }
            _ => {}
        }
        events.push(event);
    }
    assert_eq!(
        events,
        [
            HeartbeatEvent::Beat { id: "hb-1".into() },
            HeartbeatEvent::Beat { id: "hb-2".into() },
            HeartbeatEvent::Rejected { expected: "hb-adopted".into() },
            HeartbeatEvent::Beat { id: "hb-3".into() },
        ],
        "a rejection is not a beat"
    );
    let after = adopted_after.expect("a beat followed the rejection");
    assert!(after < Duration::from_millis(500), "the expected id went out at once, not a beat later: {after:?}");
    let received = mock.lock().expect("lock").received.clone();
    assert_eq!(&received[..4], ["", "hb-1", "hb-2", "hb-adopted"]);
}

#[tokio::test]
async fn failed_beats_are_retried_quickly_and_the_risk_is_reported() {
    let mock: Shared = Arc::default();
    let client = serve(mock.clone()).await;
    let mut hb = heartbeat::spawn(client, config());
    assert!(matches!(next(&mut hb).await, HeartbeatEvent::Beat { .. }));
    mock.lock().expect("lock").fail = 8;
    let mut failures = 0;
    let mut warned = None;
    loop {
        match next(&mut hb).await {
            HeartbeatEvent::Failed { retry_in, .. } => {
                assert!(retry_in <= Duration::from_millis(80), "retried well inside the deadline: {retry_in:?}");
                failures += 1;
            }
            HeartbeatEvent::AtRisk { since, deadline } => {
                assert!(since >= Duration::from_millis(300) && deadline == Duration::from_millis(1_000));
                warned = Some(failures);
            }
            HeartbeatEvent::Beat { .. } => break,
            HeartbeatEvent::Rejected { expected } => panic!("nothing was rejected here: {expected}"),
        }
    }
    assert_eq!(failures, 8);
    assert!(warned.is_some(), "the risk was reported before the beats recovered");
    // The failed beats kept the last good id.
    let received = mock.lock().expect("lock").received.clone();
    assert!(received[1..9].iter().all(|id| id == "hb-1"), "{received:?}");
}
