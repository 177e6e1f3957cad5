//! Preflight's checks against real local servers: a fake SNTP server with a skewed clock,
//! HTTP, JSON-RPC and websocket endpoints that answer, are slow, flaky or down, and scratch
//! databases and the test Redis.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use futures_util::{SinkExt as _, StreamExt as _};
use kairos_ops::clock::{drift_check, measure};
use kairos_ops::probes::{Dependency, RetryPolicy, Target, as_check, probe, probe_checks};
use kairos_ops::store_checks::{database_checks, redis_check};
use kairos_ops::testing::FakeSntp;
use kairos_ops::{Check, Status};
use kairos_platform::config::{CoreSettings, RawSources, TimeSettings, load_keepers_from};
use kairos_platform::storage::{Db, scratch};
use tokio_tungstenite::tungstenite::Message;

const QUICK: RetryPolicy =
    RetryPolicy { attempts: 3, timeout: Duration::from_millis(300), backoff: Duration::from_millis(20) };

fn time(servers: Vec<String>) -> TimeSettings {
    TimeSettings { ntp_servers: servers, max_drift: Duration::from_millis(1_000) }
}

#[tokio::test]
async fn a_two_second_drift_fails_and_a_small_one_passes() {
    let fast = FakeSntp::start(2_000).await;
    let near = FakeSntp::start(30).await;
    let samples = measure(&[fast.server()], Duration::from_secs(2)).await;
    let offset = samples[0].result.clone().expect("the fake server answers").offset_ms;
    assert!((1_900..=2_100).contains(&offset), "measured {offset} ms against a server 2000 ms ahead");
    let check = drift_check(&time(vec![fast.server()]), true, &samples);
    assert_eq!(check.status, Status::Fail, "{check:?}");
    assert!(check.detail.contains("behind NTP"), "{check:?}");

    let behind = FakeSntp::start(-2_000).await;
    let samples = measure(&[behind.server()], Duration::from_secs(2)).await;
    let check = drift_check(&time(vec![behind.server()]), true, &samples);
    assert_eq!(check.status, Status::Fail, "{check:?}");
    assert!(check.detail.contains("ahead of NTP"), "{check:?}");

    let samples = measure(&[near.server()], Duration::from_secs(2)).await;
    let check = drift_check(&time(vec![near.server()]), true, &samples);
    assert_eq!(check.status, Status::Pass, "{check:?}");
}

#[tokio::test]
async fn a_silent_ntp_server_cannot_vouch_for_the_clock() {
    let silent = FakeSntp::silent().await;
    let samples = measure(&[silent.server()], Duration::from_millis(300)).await;
    assert!(samples[0].result.is_err(), "{samples:?}");
    assert_eq!(drift_check(&time(vec![silent.server()]), true, &samples).status, Status::Fail);
    assert_eq!(drift_check(&time(vec![silent.server()]), false, &samples).status, Status::Warn);
}

/// Serves `app` on a free loopback port; returns its base URL.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}")
}

/// A URL nothing listens on.
async fn closed_url(scheme: &str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("{scheme}://{addr}")
}

fn http(url: String) -> Dependency {
    Dependency { name: "test_http", target: Target::Http { url, header: None } }
}

#[tokio::test]
async fn probes_tell_up_slow_flaky_and_down_apart() {
    let calls = Arc::new(AtomicU32::new(0));
    let flaky_calls = calls.clone();
    let base = serve(
        Router::new()
            .route("/time", get(|| async { "1764900000" }))
            .route("/slow", get(|| async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                "late"
            }))
            .route(
                "/flaky",
                get(move || {
                    let calls = flaky_calls.clone();
                    async move {
                        if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                        } else {
                            (axum::http::StatusCode::OK, "ok")
                        }
                    }
                }),
            )
            .route(
                "/rpc",
                post(|body: String| async move {
                    let request: serde_json::Value = serde_json::from_str(&body).expect("JSON-RPC request");
                    match request["method"].as_str() {
                        Some("getSlot") => axum::Json(serde_json::json!({"jsonrpc":"2.0","id":1,"result":123})),
                        _ => axum::Json(
                            serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}),
                        ),
                    }
                }),
            ),
    )
    .await;
    let http_client = reqwest::Client::new();

    let up = probe(&http(format!("{base}/time")), QUICK, &http_client).await;
    assert!(up.up && up.attempts == 1, "{up:?}");
    assert_eq!(as_check(&http(String::new()), &up).status, Status::Pass);

    let slow = probe(&http(format!("{base}/slow")), QUICK, &http_client).await;
    assert!(!slow.up && slow.attempts == 3, "{slow:?}");
    assert!(slow.error.as_deref().is_some_and(|e| e.contains("no answer within 300 ms")), "{slow:?}");

    let flaky = probe(&http(format!("{base}/flaky")), QUICK, &http_client).await;
    assert!(flaky.up && flaky.attempts == 3, "{flaky:?}");
    let check = as_check(&http(format!("{base}/flaky")), &flaky);
    assert_eq!(check.status, Status::Warn, "an endpoint that needed retries is reported: {check:?}");
    assert!(check.detail.contains("503"), "{check:?}");

    let down = probe(&http(closed_url("http").await), QUICK, &http_client).await;
    assert!(!down.up && down.attempts == 3, "{down:?}");
    assert_eq!(as_check(&http(String::new()), &down).status, Status::Fail);

    let rpc = |method| Dependency { name: "test_rpc", target: Target::JsonRpc { url: format!("{base}/rpc"), method } };
    assert!(probe(&rpc("getSlot"), QUICK, &http_client).await.up);
    let refused = probe(&rpc("getLatestBlockhash"), QUICK, &http_client).await;
    assert!(!refused.up, "a JSON-RPC error is not a result: {refused:?}");
    assert!(refused.error.as_deref().is_some_and(|e| e.contains("-32601")), "{refused:?}");
}

/// A websocket endpoint that sends `replies(text)` for each text message it receives.
async fn websocket_server(replies: fn(&str) -> Vec<&'static str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(message)) = ws.next().await {
                    if let Message::Text(text) = message {
                        for reply in replies(&text) {
                            let _ = ws.send(Message::text(reply)).await;
                        }
                    }
                }
            });
        }
    });
    format!("ws://{addr}")
}

/// Answers `slotSubscribe` after a message that is not the answer.
fn slot_subscription(text: &str) -> Vec<&'static str> {
    let request: serde_json::Value = serde_json::from_str(text).expect("request");
    assert_eq!(request["method"], "slotSubscribe");
    vec![r#"{"jsonrpc":"2.0","method":"other","params":{}}"#, r#"{"jsonrpc":"2.0","id":1,"result":7}"#]
}

#[tokio::test]
async fn websocket_probes_wait_for_the_subscription() {
    let ws = |url: String| Dependency {
        name: "test_ws",
        target: Target::WebSocket { url, subscribe: Some("slotSubscribe") },
    };
    let answering = websocket_server(slot_subscription).await;
    let mute = websocket_server(|_| Vec::new()).await;
    let checks = probe_checks(&[ws(answering), ws(mute), ws(closed_url("ws").await)], QUICK).await;
    let statuses: Vec<Status> = checks.iter().map(|c| c.status).collect();
    assert_eq!(statuses, vec![Status::Pass, Status::Fail, Status::Fail], "{checks:?}");
    assert!(checks[1].detail.contains("no answer within"), "{checks:?}");
}

fn core(vars: &[(&str, String)]) -> CoreSettings {
    let raw = RawSources::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.clone()))).expect("sources");
    load_keepers_from(&raw).0.core
}

fn status(checks: &[Check], name: &str) -> Status {
    checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name}: {checks:?}")).status
}

#[tokio::test]
async fn a_pending_migration_fails_and_a_migrated_database_passes() {
    for scratch in scratch::all().await {
        let core = core(&[("KAIROS_DATABASE_URL", scratch.url.clone())]);
        let checks = database_checks(&core, "test/1").await;
        assert_eq!(status(&checks, "stores.migrations"), Status::Fail, "{}: {checks:?}", scratch.label);
        assert!(checks.iter().any(|c| c.detail.contains("kairos-api migrate")), "{checks:?}");

        let db = Db::connect(&scratch.url, 1).await.expect("connect");
        db.migrate().await.expect("migrate");
        let checks = database_checks(&core, "test/1").await;
        assert_eq!(status(&checks, "stores.migrations"), Status::Pass, "{}: {checks:?}", scratch.label);
        assert_eq!(status(&checks, "stores.database"), Status::Pass, "{}: {checks:?}", scratch.label);

        // A migration this binary does not know: the database was migrated by a newer release.
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101000000, 'from the future', TRUE, $1, 0)",
        )
        .bind(vec![0u8; 48])
        .execute(db.pool())
        .await
        .expect("insert a future migration");
        db.close().await;
        let checks = database_checks(&core, "test/1").await;
        let migrations = checks.iter().find(|c| c.name == "stores.migrations").expect("migrations check");
        assert_eq!(migrations.status, Status::Fail);
        assert!(migrations.detail.contains("newer release"), "{migrations:?}");
    }
}

#[tokio::test]
async fn an_unreachable_database_fails_both_database_checks() {
    let core = core(&[("KAIROS_DATABASE_URL", format!("{}/kairos", closed_url("postgres").await))]);
    let checks = database_checks(&core, "test/1").await;
    assert_eq!(status(&checks, "stores.database"), Status::Fail, "{checks:?}");
    assert_eq!(status(&checks, "stores.migrations"), Status::Fail, "{checks:?}");
}

#[tokio::test]
async fn redis_down_fails_in_strict_mode_and_warns_in_degraded() {
    let dead = closed_url("redis").await;
    let strict = core(&[("KAIROS_REDIS_URL", dead.clone()), ("KAIROS_STORAGE_MODE", "strict".to_string())]);
    let check = redis_check(&strict).await;
    assert_eq!(check.status, Status::Fail, "{check:?}");
    let degraded = core(&[("KAIROS_REDIS_URL", dead), ("KAIROS_STORAGE_MODE", "degraded".to_string())]);
    assert_eq!(redis_check(&degraded).await.status, Status::Warn);
    let Some(url) = scratch::redis_url() else { return };
    let up = core(&[("KAIROS_REDIS_URL", url), ("KAIROS_STORAGE_MODE", "strict".to_string())]);
    let check = redis_check(&up).await;
    assert_eq!(check.status, Status::Pass, "{check:?}");
}

/// An API stand-in whose websocket serves anyone: the auth check must fail loudly.
#[tokio::test]
async fn a_websocket_that_serves_without_credentials_fails_the_auth_check() {
    let open = websocket_server(|_| vec![r#"{"type":"pong"}"#]).await;
    let base = open.replacen("ws://", "http://", 1);
    let check = kairos_ops::server_checks::websocket_auth_check(&base, "any").await;
    assert_eq!(check.status, Status::Fail, "{check:?}");
    assert!(check.detail.contains("WITHOUT CREDENTIALS"), "{check:?}");
}

#[tokio::test]
async fn the_price_feed_is_probed_with_its_key_and_the_simulated_one_is_not() {
    let base = serve(Router::new().route(
        "/api/v3/simple/price",
        get(|headers: axum::http::HeaderMap, query: axum::extract::RawQuery| async move {
            let keyed = headers.get("x-cg-demo-api-key").is_some_and(|k| k == "feed-key-1");
            let asked = query.0.is_some_and(|q| q.contains("ids=bitcoin") && q.contains("vs_currencies=usd"));
            if keyed && asked {
                (axum::http::StatusCode::OK, r#"{"bitcoin":{"usd":67187.33}}"#)
            } else {
                (axum::http::StatusCode::UNAUTHORIZED, r#"{"error":"bad key"}"#)
            }
        }),
    ))
    .await;
    let feed = format!("{base}/api/v3/simple/price");
    let keyed =
        core(&[("KAIROS_FLASH__PRICE_FEED", feed.clone()), ("KAIROS_FLASH__PRICE_FEED_API_KEY", "feed-key-1".into())]);
    let deps = kairos_ops::probes::configured(&keyed, None);
    assert_eq!(deps.iter().map(|d| d.name).collect::<Vec<_>>(), ["price_feed"]);
    assert_eq!(status(&probe_checks(&deps, QUICK).await, "probe.price_feed"), Status::Pass);
    let wrong = core(&[("KAIROS_FLASH__PRICE_FEED", feed), ("KAIROS_FLASH__PRICE_FEED_API_KEY", "wrong-key-7".into())]);
    let checks = probe_checks(&kairos_ops::probes::configured(&wrong, None), QUICK).await;
    assert_eq!(status(&checks, "probe.price_feed"), Status::Fail, "{checks:?}");
    assert!(!format!("{checks:?}").contains("wrong-key-7"), "the key is never shown: {checks:?}");
    let simulated = core(&[]);
    assert!(kairos_ops::probes::configured(&simulated, None).is_empty(), "nothing to probe in dev's simulated feed");

    // 200 with a maintenance page, or with a price in another currency, is not a working feed.
    for (path, body) in
        [("/html/simple/price", "<html>maintenance</html>"), ("/eur/simple/price", r#"{"bitcoin":{"eur":1}}"#)]
    {
        let base =
            serve(Router::new().route(path, get(move || async move { (axum::http::StatusCode::OK, body) }))).await;
        let down = core(&[("KAIROS_FLASH__PRICE_FEED", format!("{base}{path}"))]);
        let checks = probe_checks(&kairos_ops::probes::configured(&down, None), QUICK).await;
        assert_eq!(status(&checks, "probe.price_feed"), Status::Fail, "{path}: {checks:?}");
    }
}
