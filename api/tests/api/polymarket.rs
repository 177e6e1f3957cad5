//! The Polymarket venue against a local mock CLOB, on both databases: orders signed and sent
//! once whatever the CLOB does (lost answers, 5xx, 429 with Retry-After, slow
//! acknowledgements), fills that count only once confirmed, a match that later fails undone,
//! and the websocket and the poller each enough on their own.

use kairos_domain::{MarketProtocol, Role, Venue};
use kairos_platform::storage::scratch::{self, ScratchDb};
use kairos_platform::storage::{audit_log, dead_man, ledger};
use reqwest::Method;
use serde_json::{Value, json};

use crate::mock_clob::{self, Fault, Heartbeats, MockClob};
use crate::orders::{funded, market_with_protocol, market_with_tokens};
use crate::support::{TestApp, error_code, eventually, spawn};

/// Hardhat's first test key: a well-known throwaway, never funded anywhere that matters.
const TEST_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// The venue with a budget no test here reaches (the budget's own test sets its own).
const UNTHROTTLED: [(&str, &str); 2] =
    [("KAIROS_POLYMARKET__ORDERS_PER_SECOND", "1000"), ("KAIROS_POLYMARKET__USER_SHARE_PERCENT", "100")];

async fn app_on(db: &ScratchDb, clob: &MockClob, ws: &str, poll_ms: &str) -> TestApp {
    app_with(db, clob, ws, poll_ms, &UNTHROTTLED).await
}

async fn app_with(db: &ScratchDb, clob: &MockClob, ws: &str, poll_ms: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("KAIROS_POLYMARKET__API_KEY", "00000000-0000-0000-0000-000000000001"),
        ("KAIROS_POLYMARKET__API_SECRET", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="),
        ("KAIROS_POLYMARKET__API_PASSPHRASE", "passphrase"),
        ("KAIROS_POLYMARKET__PRIVATE_KEY", TEST_KEY),
        ("KAIROS_POLYMARKET__CLOB_BASE_URL", &clob.base),
        ("KAIROS_POLYMARKET__WS_URL", ws),
        ("KAIROS_POLYMARKET__POLL_MS", poll_ms),
        ("KAIROS_POLYMARKET__TIMEOUT_MS", "400"),
    ];
    vars.extend_from_slice(extra);
    let mut app = spawn(db, &vars).await;
    app.companions.push(Box::new(venue_keepers(&app, db, &vars).await));
    // New orders wait for the first accepted CLOB heartbeat.
    heartbeat_is(&app, "up").await;
    app
}

/// The keepers' venue jobs (`venue-heartbeat`, `venue-reconcile`) on the instance's database,
/// under the scheduler as `kairos-keepers` runs them; they stop when this is dropped.
struct VenueKeepers {
    stop: tokio::sync::watch::Sender<bool>,
    _data: tempfile::TempDir,
}

impl Drop for VenueKeepers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn venue_keepers(app: &TestApp, db: &ScratchDb, vars: &[(&str, &str)]) -> VenueKeepers {
    use kairos_keepers::scheduler::{Worker, run_job};
    let data = tempfile::tempdir().expect("data");
    let mut all = vec![
        ("KAIROS_PROFILE".to_string(), "test".to_string()),
        ("KAIROS_DATABASE_URL".to_string(), db.url.clone()),
        ("KAIROS_DATA_DIR".to_string(), data.path().display().to_string()),
        ("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED".to_string(), "false".to_string()),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let raw = kairos_platform::config::RawSources::from_vars(all).expect("sources");
    let (settings, problems) = kairos_platform::config::load_keepers_from(&raw);
    assert!(problems.is_empty(), "{problems:?}");
    let store = app.state().db().clone();
    let jobs = kairos_keepers::jobs::venue(&settings, &store).expect("the venue jobs");
    assert_eq!(jobs.len(), 2, "the heartbeat and the poll");
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = Worker {
        db: store,
        holder: format!("test/{}", db.label),
        lease: std::time::Duration::from_secs(15),
        grace: std::time::Duration::from_secs(1),
    };
    for (job, enabled) in jobs {
        tokio::spawn(run_job(worker.clone(), job, enabled, stopped.clone()));
    }
    VenueKeepers { stop, _data: data }
}

/// Waits until `/ready` reports the CLOB heartbeat `up` or `down`.
async fn heartbeat_is(app: &TestApp, status: &str) {
    eventually(15, &format!("the CLOB heartbeat is {status} in /ready"), || async {
        let (_, ready) = app.get_json("/ready").await;
        ready["checks"]["polymarket_heartbeat"]["status"] == status
    })
    .await;
}

/// CTF token ids as the CLOB has them (keccak hashes, so not V2 position ids).
const CTF_YES: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const CTF_NO: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";

async fn pm_market(app: &TestApp, slug: &str) -> String {
    market_with_tokens(app, Venue::Polymarket, slug, [Some(CTF_YES), Some(CTF_NO)]).await
}

fn buy(market: &str, price: &str, size: &str, client_order_id: &str) -> Value {
    json!({ "market_id": market, "outcome": 0, "side": "buy", "price": price, "size": size,
            "client_order_id": client_order_id })
}

async fn place(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.send(Method::POST, "/v1/orders", Some(token), Some(body)).await
}

async fn order_of(app: &TestApp, token: &str, id: &str) -> Value {
    app.send(Method::GET, &format!("/v1/orders/{id}"), Some(token), None).await.1
}

async fn collateral(app: &TestApp, token: &str) -> (String, String, String) {
    let (_, b) = app.send(Method::GET, "/v1/balances", Some(token), None).await;
    let s = |k: &str| b["balances"][0][k].as_str().unwrap_or("").to_string();
    (s("available"), s("reserved"), s("pending"))
}

async fn position(app: &TestApp, token: &str) -> (String, String) {
    let (_, p) = app.send(Method::GET, "/v1/positions", Some(token), None).await;
    let first = &p["positions"][0];
    (
        first["settled_size"].as_str().unwrap_or("0").to_string(),
        first["pending_size"].as_str().unwrap_or("0").to_string(),
    )
}

async fn ledger_ok(app: &TestApp, label: &str) {
    let verified = ledger::verify(app.state().db()).await.expect("verify");
    assert!(verified.is_ok(), "{label}: {verified:?}");
}

#[tokio::test]
async fn fills_count_only_once_confirmed_and_a_failed_match_is_undone() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        // The poller runs once at start and then not for a minute: only the websocket delivers.
        let app = app_on(&db, &clob, &clob.ws, "60000").await;
        let (_, op) = app.user(Role::Operator).await;
        let m = pm_market(&app, "pm-finality").await;
        let (_, user) = funded(&app, &op, "100").await;

        let (status, placed) = place(&app, &user, buy(&m, "0.40", "10", "pm-1")).await;
        assert_eq!((status, placed["status"].as_str()), (201, Some("open")), "{}: {placed}", db.label);
        let id = placed["id"].as_str().expect("id").to_string();
        let hash = placed["venue_order_id"].as_str().expect("venue order id").to_string();
        assert_eq!((clob.order_count(), clob.order(&hash).map(|o| o.original_size)), (1, Some("10".to_string())));
        assert_eq!(collateral(&app, &user).await, ("96".into(), "4".into(), "0".into()));

        // Matched on the CLOB: a fill, but not filled, and the shares pending.
        clob.fill(&hash, "trade-1", "10", "0.40", true);
        eventually(10, "the matched fill arrives over the websocket", || async {
            let (_, f) = app.send(Method::GET, "/v1/fills", Some(&user), None).await;
            f["data"][0]["finality"] == "matched"
        })
        .await;
        let o = order_of(&app, &user, &id).await;
        assert_eq!((o["status"].as_str(), o["filled_size"].as_str()), (Some("open"), Some("0")), "{o}");
        assert_eq!(position(&app, &user).await, ("0".into(), "10".into()));
        assert_eq!(collateral(&app, &user).await, ("96".into(), "0".into(), "0".into()));

        clob.settle("trade-1", "CONFIRMED", true);
        eventually(10, "the confirmation fills the order", || async {
            order_of(&app, &user, &id).await["status"] == "filled"
        })
        .await;
        assert_eq!(position(&app, &user).await, ("10".into(), "0".into()));

        // A second order matches, then the chain refuses the trade: everything goes back.
        let (_, second) = place(&app, &user, buy(&m, "0.50", "4", "pm-2")).await;
        let (id2, hash2) = (
            second["id"].as_str().expect("id").to_string(),
            second["venue_order_id"].as_str().expect("hash").to_string(),
        );
        clob.fill(&hash2, "trade-2", "4", "0.50", true);
        eventually(10, "the second match", || async {
            let (_, f) = app.send(Method::GET, "/v1/fills", Some(&user), None).await;
            f["data"].as_array().is_some_and(|d| d.len() == 2)
        })
        .await;
        assert_eq!(position(&app, &user).await, ("10".into(), "4".into()));
        clob.settle("trade-2", "FAILED", true);
        eventually(10, "the failed trade is undone", || async {
            collateral(&app, &user).await == ("96".into(), "0".into(), "0".into())
        })
        .await;
        assert_eq!(position(&app, &user).await, ("10".into(), "0".into()), "no share from a failed trade");
        let (_, fills) = app.send(Method::GET, "/v1/fills", Some(&user), None).await;
        assert_eq!(fills["data"][0]["finality"], "failed", "{fills}");
        // The CLOB is done with the order (fully matched), and its only trade failed.
        eventually(10, "the order ends", || async {
            let o = order_of(&app, &user, &id2).await;
            o["status"] == "cancelled" && o["reason"] == "venue_trade_failed"
        })
        .await;
        assert_eq!(clob.order_count(), 2, "{}: one CLOB order per order", db.label);
        ledger_ok(&app, db.label).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn lost_answers_errors_and_rate_limits_never_double_or_lose_an_order() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        // No websocket here: the poller alone follows the orders.
        let app = app_on(&db, &clob, "ws://127.0.0.1:9/ws/user", "200").await;
        let (_, op) = app.user(Role::Operator).await;
        let m = pm_market(&app, "pm-faults").await;
        let (_, user) = funded(&app, &op, "100").await;
        let mut expected_orders = 0;
        let next = |fault: Fault| clob.fault(fault);

        // The CLOB keeps the order but the answer is a 500: found by its hash, not sent again.
        next(Fault::AcceptThen500);
        let (status, o) = place(&app, &user, buy(&m, "0.10", "1", "lost-answer")).await;
        expected_orders += 1;
        assert_eq!((status, o["status"].as_str()), (201, Some("open")), "{}: {o}", db.label);
        assert_eq!(
            (clob.order_count(), clob.clob.posts.load(std::sync::atomic::Ordering::SeqCst)),
            (expected_orders, 1)
        );

        // A 503 before the CLOB kept anything: looked up, absent, the same body sent once more.
        next(Fault::Status(503, "busy"));
        let (status, o) = place(&app, &user, buy(&m, "0.11", "1", "retried")).await;
        expected_orders += 1;
        assert_eq!((status, o["status"].as_str()), (201, Some("open")), "{o}");
        assert_eq!(clob.order_count(), expected_orders);

        // Slower than the client's timeout: the lookup by hash finds it.
        next(Fault::SlowAccept(std::time::Duration::from_millis(900)));
        let (status, o) = place(&app, &user, buy(&m, "0.12", "1", "slow")).await;
        expected_orders += 1;
        assert_eq!((status, o["status"].as_str()), (201, Some("open")), "{o}");
        assert_eq!(clob.order_count(), expected_orders);

        // 429 with Retry-After: waited out once, then accepted.
        next(Fault::RateLimited(1));
        let (status, o) = place(&app, &user, buy(&m, "0.13", "1", "throttled")).await;
        expected_orders += 1;
        assert_eq!((status, o["status"].as_str()), (201, Some("open")), "{o}");
        assert_eq!(clob.order_count(), expected_orders);

        // Throttled twice: rejected, reservation released, nothing on the CLOB.
        next(Fault::RateLimited(1));
        next(Fault::RateLimited(1));
        let (status, o) = place(&app, &user, buy(&m, "0.14", "1", "throttled-twice")).await;
        assert_eq!((status, o["status"].as_str()), (201, Some("rejected")), "{o}");
        assert!(o["reason"].as_str().is_some_and(|r| r.starts_with("venue_rate_limited")), "{o}");
        assert_eq!(clob.order_count(), expected_orders);

        // A refusal by the CLOB is a rejected order.
        next(Fault::Status(400, "INVALID_ORDER_NOT_ENOUGH_BALANCE: not enough balance / allowance"));
        let (_, o) = place(&app, &user, buy(&m, "0.15", "1", "refused")).await;
        assert_eq!(o["status"], "rejected", "{o}");

        // A replay sends nothing.
        let posts = clob.clob.posts.load(std::sync::atomic::Ordering::SeqCst);
        let (status, replay) = place(&app, &user, buy(&m, "0.10", "1", "lost-answer")).await;
        assert_eq!((status, clob.clob.posts.load(std::sync::atomic::Ordering::SeqCst)), (200, posts), "{replay}");
        // Money: four open buys hold 0.10 + 0.11 + 0.12 + 0.13.
        assert_eq!(collateral(&app, &user).await, ("99.54".into(), "0.46".into(), "0".into()));

        // The CLOB has no amend; cancel works and releases.
        let id = replay["id"].as_str().expect("id");
        let (status, body) =
            app.send(Method::PATCH, &format!("/v1/orders/{id}"), Some(&user), Some(json!({ "size": "2" }))).await;
        assert_eq!((status, error_code(&body)), (422, "amend_not_supported".to_string()));
        let (status, cancelled) = app.send(Method::DELETE, &format!("/v1/orders/{id}"), Some(&user), None).await;
        assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
        let hash = cancelled["venue_order_id"].as_str().expect("hash");
        assert_eq!(clob.order(hash).map(|o| o.status), Some("ORDER_STATUS_CANCELED".to_string()));

        // A fill only REST knows of: the poller finds it and its confirmation.
        let (_, open) = app.send(Method::GET, "/v1/orders?status=open", Some(&user), None).await;
        let target = open["data"][0].clone();
        let target_hash = target["venue_order_id"].as_str().expect("hash").to_string();
        clob.fill(&target_hash, "quiet-trade", "1", target["price"].as_str().expect("price"), false);
        clob.settle("quiet-trade", "CONFIRMED", false);
        let target_id = target["id"].as_str().expect("id").to_string();
        eventually(10, "the poller fills the order", || async {
            order_of(&app, &user, &target_id).await["status"] == "filled"
        })
        .await;

        // Cancel-all cancels the rest on the CLOB.
        let (status, all) = app.send(Method::DELETE, "/v1/orders", Some(&user), None).await;
        assert_eq!((status, all["cancelled"].as_array().map(Vec::len)), (200, Some(2)), "{all}");
        assert_eq!(collateral(&app, &user).await.1, "0");
        assert_eq!(clob.order_count(), expected_orders, "{}: never a second CLOB order", db.label);
        assert!(clob.clob.heartbeats.load(std::sync::atomic::Ordering::SeqCst) > 0, "the CLOB heartbeat runs");
        ledger_ok(&app, db.label).await;
        app.stop().await;
    }
}

/// Protocol V2 position ids (module 1, outcomes 0 and 1): bits 40 to 103 zero.
const POSITION_YES: &str = "452312848583266388373324160190187140051835979012206471537483307267167092736";
const POSITION_NO: &str = "452312848583266388373324160190187140051835979012206471537483307267167092737";

async fn market_on(app: &TestApp, slug: &str, protocol: Option<MarketProtocol>, tokens: [&str; 2]) -> String {
    market_with_protocol(app, Venue::Polymarket, slug, [Some(tokens[0]), Some(tokens[1])], protocol).await
}

#[tokio::test]
async fn v2_markets_sign_for_exchange_v3_and_placement_trades_are_followed_from_either_answer() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        // Neither the poller (a minute away) nor the websocket (unreachable) helps here: what
        // the order's own answer says is all there is.
        let app = app_on(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000").await;
        let (_, op) = app.user(Role::Operator).await;
        let (_, user) = funded(&app, &op, "100").await;
        let v2 = market_on(&app, "pm-v2", Some(MarketProtocol::PositionsV2), [POSITION_YES, POSITION_NO]).await;
        let v1 = market_on(&app, "pm-v1", Some(MarketProtocol::CtfV1), [CTF_YES, CTF_NO]).await;
        // Imported before the protocol was recorded: the id's shape decides.
        let unknown = market_on(&app, "pm-unknown", None, [POSITION_YES, POSITION_NO]).await;

        let cases = [
            (&v2, "v2-async", "t-async", true, "3"),
            (&v1, "v1-hashes", "t-hashes", false, "2"),
            (&unknown, "v2-by-shape", "t-shape", true, "3"),
        ];
        for (i, (market, client_id, trade_id, async_shape, domain)) in cases.into_iter().enumerate() {
            clob.fault(Fault::MatchOnPost { trade_id, price: "0.40", async_shape });
            let (status, placed) = place(&app, &user, buy(market, "0.40", "5", client_id)).await;
            assert_eq!(status, 201, "{}: {client_id}: {placed}", db.label);
            let hash = placed["venue_order_id"].as_str().expect("hash");
            assert_eq!(clob.domain_of(hash), Some(domain), "{client_id}: signed for the right exchange");
            // The trade was picked up from the placement's answer, before this call returned.
            let (_, fills) = app.send(Method::GET, "/v1/fills", Some(&user), None).await;
            let fills = fills["data"].as_array().expect("fills").clone();
            assert_eq!(fills.len(), i + 1, "{}: {client_id}: {fills:?}", db.label);
            assert!(
                fills.iter().any(|f| f["trade_id"] == trade_id && f["finality"] == "matched" && f["size"] == "5"),
                "{client_id}: {fills:?}"
            );
        }
        assert_eq!(clob.order_count(), 3);
        ledger_ok(&app, db.label).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_lost_heartbeat_refuses_new_orders_until_a_beat_is_accepted_and_cancels_still_pass() {
    // The gate is in memory: one database is enough.
    let db = scratch::sqlite();
    let clob = mock_clob::start().await;
    let app = app_on(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000").await;
    let (_, op) = app.user(Role::Operator).await;
    let m = pm_market(&app, "pm-heartbeat").await;
    let (_, user) = funded(&app, &op, "100").await;
    let (status, first) = place(&app, &user, buy(&m, "0.10", "1", "hb-before")).await;
    assert_eq!(status, 201, "{first}");
    let (_, ready) = app.get_json("/ready").await;
    let serving = ready["status"].clone();

    // The CLOB rejects the heartbeat id: at once, no new orders; a cancel still goes through.
    clob.heartbeats(Heartbeats::Reject);
    heartbeat_is(&app, "down").await;
    let (_, ready) = app.get_json("/ready").await;
    assert_eq!(ready["status"], serving, "paper trading and cancels go on: the instance stays as ready as it was");
    let (status, refused) = place(&app, &user, buy(&m, "0.11", "1", "hb-rejected")).await;
    assert_eq!((status, error_code(&refused)), (503, "venue_heartbeat_lost".to_string()), "{refused}");
    let id = first["id"].as_str().expect("id");
    let (status, cancelled) = app.send(Method::DELETE, &format!("/v1/orders/{id}"), Some(&user), None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");

    // A beat accepted again: orders go again.
    clob.heartbeats(Heartbeats::Answer);
    heartbeat_is(&app, "up").await;
    let (status, placed) = place(&app, &user, buy(&m, "0.11", "1", "hb-back")).await;
    assert_eq!((status, placed["status"].as_str()), (201, Some("open")), "{placed}");

    // The CLOB stops answering: once the deadline is at risk, no new orders.
    clob.heartbeats(Heartbeats::Silent);
    heartbeat_is(&app, "down").await;
    let (status, refused) = place(&app, &user, buy(&m, "0.12", "1", "hb-silent")).await;
    assert_eq!((status, error_code(&refused)), (503, "venue_heartbeat_lost".to_string()), "{refused}");
    let (status, all) = app.send(Method::DELETE, "/v1/orders", Some(&user), None).await;
    assert_eq!((status, all["cancelled"].as_array().map(Vec::len)), (200, Some(1)), "{all}");
    clob.heartbeats(Heartbeats::Answer);
    heartbeat_is(&app, "up").await;
    let (status, _) = place(&app, &user, buy(&m, "0.12", "1", "hb-recovered")).await;
    assert_eq!(status, 201);
    let metrics = app.metrics_text().await;
    // The recorder is shared by every test in this binary: the metric is there, its value is theirs too.
    assert!(metrics.contains("kairos_polymarket_heartbeat_lost_total"), "losses are counted");
    assert!(metrics.contains("kairos_dependency_up{dependency=\"polymarket_heartbeat\"}"), "and gauged");
    ledger_ok(&app, db.label).await;
    app.stop().await;
}

#[tokio::test]
async fn a_deposit_wallet_account_set_up_without_its_wallet_does_not_start() {
    let db = scratch::sqlite();
    let clob = mock_clob::start().await;
    let error = crate::support::try_spawn(
        &db,
        &[
            ("KAIROS_POLYMARKET__API_KEY", "00000000-0000-0000-0000-000000000001"),
            ("KAIROS_POLYMARKET__API_SECRET", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="),
            ("KAIROS_POLYMARKET__API_PASSPHRASE", "passphrase"),
            ("KAIROS_POLYMARKET__PRIVATE_KEY", TEST_KEY),
            ("KAIROS_POLYMARKET__SIGNATURE_TYPE", "3"),
            ("KAIROS_POLYMARKET__CLOB_BASE_URL", &clob.base),
        ],
    )
    .await
    .err()
    .expect("refused at start-up")
    .to_string();
    assert!(
        error.contains("KAIROS_POLYMARKET__FUNDER") && error.contains("0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50"),
        "names the setting and the wallet: {error}"
    );
}

#[tokio::test]
async fn the_clobs_deposit_wallet_refusal_is_recorded_with_its_fix() {
    let db = scratch::sqlite();
    let clob = mock_clob::start().await;
    let app = app_on(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000").await;
    let (_, op) = app.user(Role::Operator).await;
    let m = pm_market(&app, "pm-deposit-wallet").await;
    let (_, user) = funded(&app, &op, "100").await;
    clob.fault(Fault::Status(400, "maker address not allowed, please use the deposit wallet flow"));
    let (status, o) = place(&app, &user, buy(&m, "0.10", "1", "eoa-maker")).await;
    assert_eq!((status, o["status"].as_str()), (201, Some("rejected")), "{o}");
    let reason = o["reason"].as_str().expect("reason");
    assert!(
        reason.contains("KAIROS_POLYMARKET__SIGNATURE_TYPE")
            && reason.contains("0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50"),
        "{reason}"
    );
    assert_eq!(collateral(&app, &user).await, ("100".into(), "0".into(), "0".into()), "nothing held");
    app.stop().await;
}

/// The dead-man's switch's audited actions, oldest first.
async fn dead_man_actions(app: &TestApp) -> Vec<String> {
    let entries = audit_log::list(app.state().db(), Some("system:dead_man_switch"), None, 0, 100).await.expect("audit");
    entries.into_iter().map(|r| r.entry.action).collect()
}

#[tokio::test]
async fn a_dead_man_switch_stays_armed_and_retries_until_its_cancels_succeed() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        let app = app_on(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000").await;
        let (_, op) = app.user(Role::Operator).await;
        let m = pm_market(&app, "pm-dead-man").await;
        let (user_id, user) = funded(&app, &op, "100").await;
        let (_, placed) = place(&app, &user, buy(&m, "0.10", "1", "dms-1")).await;
        let id = placed["id"].as_str().expect("id").to_string();

        // The CLOB refuses cancels when the heartbeat lapses: the switch fires and stays.
        clob.clob.refuse_cancels.store(true, std::sync::atomic::Ordering::SeqCst);
        let (status, _) =
            app.send(Method::POST, "/v1/heartbeat", Some(&user), Some(json!({ "timeout_ms": 1000 }))).await;
        assert_eq!(status, 200);
        // `attempts` grows when a try is claimed, before its cancels go out: wait for the
        // first try's audited outcome, or the CLOB might take its cancels after all.
        eventually(10, "the switch fired and failed", || async {
            dead_man_actions(&app).await.contains(&"dead_man_switch.fired".to_string())
        })
        .await;
        let switch = dead_man::get(app.state().db(), &user_id).await.expect("get").expect("still armed");
        assert!(switch.fired_at_us.is_some(), "{}: {switch:?}", db.label);
        assert_eq!(order_of(&app, &user, &id).await["status"], "open", "the order is still live");

        // The CLOB takes cancels again: the next retry cancels, and only then the switch goes.
        clob.clob.refuse_cancels.store(false, std::sync::atomic::Ordering::SeqCst);
        eventually(15, "a retry cancels the order", || async {
            let o = order_of(&app, &user, &id).await;
            o["status"] == "cancelled" && o["reason"] == "dead_man_switch"
        })
        .await;
        eventually(5, "the switch is off once its cancels succeeded", || async {
            dead_man::get(app.state().db(), &user_id).await.expect("get").is_none()
        })
        .await;
        assert_eq!(
            dead_man_actions(&app).await,
            ["dead_man_switch.fired", "dead_man_switch.completed"],
            "{}",
            db.label
        );
        ledger_ok(&app, db.label).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn polymarket_orders_pass_the_same_account_limits_as_paper_orders() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        *clob.clob.mid.lock().expect("mid") = Some("0.50".into());
        let limits = [
            ("KAIROS_RISK__MAX_OPEN_ORDERS", "2"),
            ("KAIROS_RISK__MAX_MARKET_EXPOSURE", "3"),
            ("KAIROS_RISK__PRICE_BAND", "0.1"),
            UNTHROTTLED[0],
            UNTHROTTLED[1],
        ];
        let app = app_with(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000", &limits).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = pm_market(&app, "pm-limits").await;
        let (_, user) = funded(&app, &op, "100").await;
        let refused = |body: Value| error_code(&body);
        let (status, _) = place(&app, &user, buy(&m, "0.45", "4", "l-1")).await;
        assert_eq!(status, 201, "{}", db.label);
        let (status, body) = place(&app, &user, buy(&m, "0.45", "4", "l-2")).await;
        assert_eq!((status, refused(body)), (422, "exposure_limit".to_string()), "1.8 + 1.8 > 3");
        let (status, body) = place(&app, &user, buy(&m, "0.30", "1", "l-3")).await;
        assert_eq!((status, refused(body)), (422, "price_outside_band".to_string()), "0.30 is 0.20 from the mid 0.50");
        let (status, _) = place(&app, &user, buy(&m, "0.45", "2", "l-4")).await;
        assert_eq!(status, 201);
        let (status, body) = place(&app, &user, buy(&m, "0.45", "1", "l-5")).await;
        assert_eq!((status, refused(body)), (422, "too_many_open_orders".to_string()));
        assert_eq!(clob.order_count(), 2, "nothing refused reached the CLOB");
        ledger_ok(&app, db.label).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn one_user_cannot_spend_the_omnibus_accounts_order_budget_and_cancels_always_pass() {
    let db = scratch::sqlite();
    let clob = mock_clob::start().await;
    let share = [("KAIROS_POLYMARKET__ORDERS_PER_SECOND", "10"), ("KAIROS_POLYMARKET__USER_SHARE_PERCENT", "10")];
    let app = app_with(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000", &share).await;
    let (_, op) = app.user(Role::Operator).await;
    let m = pm_market(&app, "pm-budget").await;
    let (_, greedy) = funded(&app, &op, "100").await;
    let (_, other) = funded(&app, &op, "100").await;
    let (status, first) = place(&app, &greedy, buy(&m, "0.10", "1", "g-1")).await;
    assert_eq!(status, 201, "{first}");
    // One order a second is this user's share (10% of 10): the next is refused, unsent.
    let (status, _) = place(&app, &greedy, buy(&m, "0.10", "1", "g-2")).await;
    assert_eq!(status, 429);
    assert_eq!(clob.order_count(), 1);
    let (status, _) = place(&app, &other, buy(&m, "0.10", "1", "o-1")).await;
    assert_eq!(status, 201, "another user's share is untouched");
    let id = first["id"].as_str().expect("id");
    let (status, cancelled) = app.send(Method::DELETE, &format!("/v1/orders/{id}"), Some(&greedy), None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "cancels are never counted");
    app.stop().await;
}

#[tokio::test]
async fn play_money_never_funds_real_orders() {
    let db = scratch::sqlite();
    let clob = mock_clob::start().await;
    let mut vars = UNTHROTTLED.to_vec();
    vars.push(("KAIROS_PROFILE", "dev"));
    let app = app_with(&db, &clob, "ws://127.0.0.1:9/ws/user", "60000", &vars).await;
    let (_, user) = app.user(Role::User).await;
    let (status, body) = app.send(Method::POST, "/v1/faucet", Some(&user), Some(json!({ "amount": "100" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (403, "faucet_disabled"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn an_order_group_trips_on_clob_fills_and_cancels_its_clob_orders() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        let app = app_on(&db, &clob, &clob.ws, "60000").await;
        let (_, op) = app.user(Role::Operator).await;
        let m = pm_market(&app, "pm-mmp").await;
        let (_, user) = funded(&app, &op, "100").await;
        let limits = json!({ "limits": { "interval_ms": 60_000, "max_filled_size": "5", "max_filled_notional": "1000" },
                             "freeze_ms": 0 });
        let (status, g) = app.send(Method::POST, "/v1/order-groups", Some(&user), Some(limits)).await;
        assert_eq!(status, 201, "{g}");
        let g = g["id"].as_str().expect("id").to_string();
        let mut placed = Vec::new();
        for (i, price) in ["0.40", "0.39", "0.38"].into_iter().enumerate() {
            let mut body = buy(&m, price, "4", &format!("mmp-{i}"));
            body["order_group_id"] = json!(g);
            let (status, o) = place(&app, &user, body).await;
            assert_eq!(status, 201, "{}: {o}", db.label);
            placed.push(o);
        }
        let hash = |o: &Value| o["venue_order_id"].as_str().expect("hash").to_string();
        // 4 shares is within the limit; 4 more (8) goes past it.
        clob.fill(&hash(&placed[0]), "mmp-t1", "4", "0.40", true);
        eventually(10, "the first fill", || async {
            let (_, f) = app.send(Method::GET, "/v1/fills", Some(&user), None).await;
            f["data"].as_array().is_some_and(|d| d.len() == 1)
        })
        .await;
        let (_, state) = app.send(Method::GET, &format!("/v1/order-groups/{g}"), Some(&user), None).await;
        assert_eq!((state["state"].as_str(), state["window"]["filled_size"].as_str()), (Some("active"), Some("4")));
        clob.fill(&hash(&placed[1]), "mmp-t2", "4", "0.39", true);
        eventually(10, "the group trips and its last order is cancelled on the CLOB", || async {
            let o = order_of(&app, &user, placed[2]["id"].as_str().expect("id")).await;
            o["status"] == "cancelled" && o["reason"] == "mmp_triggered"
        })
        .await;
        assert_eq!(clob.order(&hash(&placed[2])).map(|o| o.status), Some("ORDER_STATUS_CANCELED".to_string()));
        let (_, state) = app.send(Method::GET, &format!("/v1/order-groups/{g}"), Some(&user), None).await;
        assert_eq!((state["state"].as_str(), state["trips"].as_i64()), (Some("frozen"), Some(1)), "{state}");
        assert!(state["frozen_until"].is_null(), "frozen until a reset: {state}");
        let mut again = buy(&m, "0.30", "1", "mmp-9");
        again["order_group_id"] = json!(g);
        let (status, e) = place(&app, &user, again.clone()).await;
        assert_eq!((status, error_code(&e).as_str()), (409, "order_group_frozen"), "{}: {e}", db.label);
        let (status, _) = app.send(Method::POST, &format!("/v1/order-groups/{g}/reset"), Some(&user), None).await;
        assert_eq!(status, 200);
        let (status, o) = place(&app, &user, again).await;
        assert_eq!(status, 201, "{}: {o}", db.label);
        ledger_ok(&app, db.label).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_trip_on_the_paper_venue_cancels_the_groups_clob_orders_at_the_next_poll() {
    for db in scratch::all().await {
        let clob = mock_clob::start().await;
        let app = app_on(&db, &clob, &clob.ws, "200").await;
        let (_, op) = app.user(Role::Operator).await;
        let pm = pm_market(&app, "pm-mmp-cross").await;
        let paper = crate::orders::market(&app, Venue::Paper, "paper-mmp-cross").await;
        let (_, user) = funded(&app, &op, "100").await;
        let (_, taker) = funded(&app, &op, "100").await;
        let limits = json!({ "limits": { "interval_ms": 60_000, "max_filled_size": "1", "max_filled_notional": "1000" },
                             "freeze_ms": 60_000 });
        let (_, g) = app.send(Method::POST, "/v1/order-groups", Some(&user), Some(limits)).await;
        let g = g["id"].as_str().expect("id").to_string();
        let mut on_clob = buy(&pm, "0.30", "2", "cross-1");
        on_clob["order_group_id"] = json!(g);
        let (status, clob_order) = place(&app, &user, on_clob).await;
        assert_eq!(status, 201, "{clob_order}");
        let quote = json!({ "market_id": paper, "outcome": 0, "side": "buy", "price": "0.40", "size": "2", "order_group_id": g });
        assert_eq!(place(&app, &user, quote).await.0, 201);
        let take = json!({ "market_id": paper, "outcome": 1, "side": "buy", "price": "0.60", "size": "2" });
        assert_eq!(place(&app, &taker, take).await.0, 201);
        let id = clob_order["id"].as_str().expect("id").to_string();
        eventually(10, "the group's CLOB order is cancelled after the paper trip", || async {
            let o = order_of(&app, &user, &id).await;
            o["status"] == "cancelled" && o["reason"] == "mmp_triggered"
        })
        .await;
        let hash = clob_order["venue_order_id"].as_str().expect("hash");
        assert_eq!(clob.order(hash).map(|o| o.status), Some("ORDER_STATUS_CANCELED".to_string()), "{}", db.label);
        app.stop().await;
    }
}
