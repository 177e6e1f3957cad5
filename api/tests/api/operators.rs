//! Operator routes, the M-of-N kill switch, rate limits and the audit chain.

use kairos_domain::{MarketStatus, NewMarket, Outcome, Role, TradingState, Venue};
use kairos_platform::storage::{audit_log, markets, scratch};
use reqwest::Method;
use serde_json::json;

use crate::support::{error_code, eventually, spawn};

#[tokio::test]
async fn a_stop_racing_the_last_approval_of_a_restart_always_wins() {
    for db in scratch::all().await {
        let a = spawn(&db, &[("KAIROS_KILL_SWITCH__APPROVALS", "2")]).await;
        let (_, op1) = a.user(Role::Operator).await;
        let (_, op2) = a.user(Role::Operator).await;
        let (_, op3) = a.user(Role::Operator).await;
        let propose = |token: String, state: &'static str| {
            let a = &a;
            async move {
                a.send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&token), Some(json!({ "state": state })))
                    .await
            }
        };
        for round in 0..8 {
            let (status, _) = propose(op1.clone(), "disabled").await;
            assert_eq!(status, 201);
            let (_, restart) = propose(op1.clone(), "enabled").await;
            let approve = format!("/v1/admin/kill-switch/proposals/{}/approve", restart["id"].as_str().expect("id"));
            // The restart's last approval and an emergency stop, interleaved.
            let ((approved, _), (stopped, _)) =
                tokio::join!(a.send(Method::POST, &approve, Some(&op2), None), propose(op3.clone(), "disabled"));
            assert!(approved == 200 || approved == 409, "{approved}");
            assert_eq!(stopped, 201);
            // Whichever landed first, the stop is the last word.
            let (_, state) = a.send(Method::GET, "/v1/admin/kill-switch", Some(&op1), None).await;
            assert_eq!(state["state"], "disabled", "{}: round {round}: {state}", db.label);
            assert_eq!(state["proposals"], json!([]), "nothing left open to restart trading: {state}");
        }
        a.stop().await;
    }
}

#[tokio::test]
async fn the_kill_switch_needs_m_operators_to_restart_and_one_to_stop() {
    for db in scratch::all().await {
        let a = spawn(&db, &[("KAIROS_KILL_SWITCH__APPROVALS", "2")]).await;
        let b = spawn(&db, &[("KAIROS_KILL_SWITCH__APPROVALS", "2")]).await;
        let (op1_id, op1) = a.user(Role::Operator).await;
        let (_, op2) = a.user(Role::Operator).await;
        let (_, admin) = a.user(Role::Admin).await;

        // One operator stops trading at once; every instance sees it within a second.
        let (status, p) = a
            .send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&op1), Some(json!({ "state": "disabled" })))
            .await;
        assert_eq!((status, p["status"].as_str()), (201, Some("applied")), "{}: {p}", db.label);
        eventually(3, "instance b sees trading disabled", || async {
            b.state().runtime().latest().trading == TradingState::Disabled
        })
        .await;

        // Restarting needs a second, different operator.
        let (status, p) = a
            .send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&op1), Some(json!({ "state": "enabled" })))
            .await;
        assert_eq!((status, p["status"].as_str()), (201, Some("open")));
        assert_eq!(p["approvals"], json!([op1_id]));
        let id = p["id"].as_str().expect("id").to_string();
        let approve = format!("/v1/admin/kill-switch/proposals/{id}/approve");
        let (status, body) = a.send(Method::POST, &approve, Some(&op1), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "already_approved"));
        let (_, state) = a.send(Method::GET, "/v1/admin/kill-switch", Some(&op2), None).await;
        assert_eq!(state["state"], "disabled");
        assert_eq!(state["proposals"].as_array().expect("open").len(), 1);
        let (status, p) = b.send(Method::POST, &approve, Some(&op2), None).await;
        assert_eq!((status, p["status"].as_str()), (200, Some("applied")), "{p}");
        eventually(3, "instance a sees trading enabled", || async {
            a.state().runtime().latest().trading == TradingState::Enabled
        })
        .await;
        let (status, body) = a.send(Method::POST, &approve, Some(&admin), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "proposal_closed"));

        // A stop expires open proposals, so an old "enable" cannot restart trading later.
        let (_, stale) = a
            .send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&op1), Some(json!({ "state": "enabled" })))
            .await;
        a.send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&op2), Some(json!({ "state": "disabled" }))).await;
        let stale_approve = format!("/v1/admin/kill-switch/proposals/{}/approve", stale["id"].as_str().expect("id"));
        let (status, body) = a.send(Method::POST, &stale_approve, Some(&admin), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "proposal_closed"));
        assert_eq!(a.state().runtime().latest().trading, TradingState::Disabled);

        let (_, user) = a.user(Role::User).await;
        let (status, _) = a
            .send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&user), Some(json!({ "state": "disabled" })))
            .await;
        assert_eq!(status, 403, "users cannot touch the kill switch");
        for action in ["kill_switch.propose", "kill_switch.approve", "kill_switch.apply"] {
            let rows = audit_log::list(a.state().db(), None, Some(action), 0, 50).await.expect("audit");
            assert!(!rows.is_empty(), "{action} audited");
        }
        a.stop().await;
        b.stop().await;
    }
}

#[tokio::test]
async fn proposals_expire() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[("KAIROS_KILL_SWITCH__WINDOW_SECS", "1")]).await;
    let (_, op1) = app.user(Role::Operator).await;
    let (_, op2) = app.user(Role::Operator).await;
    let (_, p) = app
        .send(Method::POST, "/v1/admin/kill-switch/proposals", Some(&op1), Some(json!({ "state": "cancel_only" })))
        .await;
    // Its window passes: the stored deadline is moved into the past rather than waited for.
    let id = p["id"].as_str().expect("id");
    sqlx::query("UPDATE kill_switch_proposals SET expires_at_us = $1 WHERE id = $2")
        .bind(kairos_domain::now_us() - 1)
        .bind(id)
        .execute(app.state().db().pool())
        .await
        .expect("move the deadline");
    let approve = format!("/v1/admin/kill-switch/proposals/{id}/approve");
    let (status, body) = app.send(Method::POST, &approve, Some(&op2), None).await;
    assert!(status == 409 && ["proposal_expired", "proposal_closed"].contains(&error_code(&body).as_str()), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn operators_manage_users_keys_markets_and_flags_and_admins_set_roles() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (op_id, op) = app.user(Role::Operator).await;
        let (_, admin) = app.user(Role::Admin).await;
        let (user_id, _) = app.user(Role::User).await;

        let (status, page) = app.send(Method::GET, "/v1/admin/users?limit=2", Some(&op), None).await;
        assert_eq!(status, 200);
        assert_eq!(page["data"].as_array().expect("data").len(), 2);
        let cursor = page["next_cursor"].as_str().expect("more");
        let (_, rest) =
            app.send(Method::GET, &format!("/v1/admin/users?limit=2&cursor={cursor}"), Some(&op), None).await;
        assert_eq!(rest["data"].as_array().expect("data").len(), 1);
        let (_, ops) = app.send(Method::GET, "/v1/admin/users?role=operator", Some(&op), None).await;
        assert_eq!(ops["data"][0]["id"], op_id);

        let role_path = format!("/v1/admin/users/{user_id}/role");
        let (status, _) = app.send(Method::PUT, &role_path, Some(&op), Some(json!({ "role": "market_maker" }))).await;
        assert_eq!(status, 403, "setting roles is for admins");
        let (status, u) =
            app.send(Method::PUT, &role_path, Some(&admin), Some(json!({ "role": "market_maker" }))).await;
        assert_eq!((status, u["role"].as_str()), (200, Some("market_maker")), "{}: {u}", db.label);
        let rows = audit_log::list(app.state().db(), None, Some("user.set_role"), 0, 10).await.expect("audit");
        assert_eq!(rows[0].entry.before.as_deref(), Some(r#"{"role":"user"}"#));
        assert_eq!(rows[0].entry.after.as_deref(), Some(r#"{"revoked_api_keys":[],"role":"market_maker"}"#));

        let (m, _) = markets::upsert(
            app.state().db(),
            &NewMarket {
                venue: Venue::Paper,
                external_id: Some("ops-1".into()),
                slug: "ops".into(),
                question: "Ops?".into(),
                description: String::new(),
                status: MarketStatus::Open,
                tick_size: kairos_domain::Price::from_micros(10_000),
                min_size: kairos_domain::Size::from_micros(1_000_000),
                end_time_us: None,
                protocol: None,
                is_sample: false,
                outcomes: vec![
                    Outcome { index: 0, label: "YES".into(), external_id: None },
                    Outcome { index: 1, label: "NO".into(), external_id: None },
                ],
            },
        )
        .await
        .expect("market");
        let (status, body) =
            app.send(Method::POST, &format!("/v1/admin/markets/{}/suspend", m.id), Some(&op), None).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("suspended")));
        let (status, body) =
            app.send(Method::POST, &format!("/v1/admin/markets/{}/suspend", m.id), Some(&op), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "invalid_market_status"));
        let (status, body) =
            app.send(Method::POST, &format!("/v1/admin/markets/{}/resume", m.id), Some(&op), None).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("open")));

        let (status, flag) =
            app.send(Method::PUT, "/v1/admin/flags/polymarket", Some(&op), Some(json!({ "enabled": true }))).await;
        assert_eq!((status, flag["enabled"].as_bool()), (200, Some(true)));
        assert_eq!(app.state().runtime().latest().flags.get("polymarket"), Some(&true));
        let (status, _) =
            app.send(Method::PUT, "/v1/admin/flags/Bad%20Name", Some(&op), Some(json!({ "enabled": true }))).await;
        assert_eq!(status, 400);

        let (status, audit) = app.send(Method::GET, "/v1/admin/audit?action=market.suspend", Some(&op), None).await;
        assert_eq!(status, 200);
        assert_eq!(audit["data"].as_array().expect("data").len(), 1);
        assert_eq!(audit["data"][0]["actor"], format!("user:{op_id}"));
        assert!(audit["data"][0]["request_id"].is_string());
        let export = app
            .client
            .get(format!("{}/v1/admin/audit/export", app.base))
            .bearer_auth(&op)
            .send()
            .await
            .expect("export");
        assert_eq!(export.headers()["content-type"], "application/x-ndjson");
        let text = export.text().await.expect("text");
        let total = audit_log::count(app.state().db()).await.expect("count");
        assert_eq!(text.lines().count(), usize::try_from(total).expect("count"));
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("each line is JSON");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn rate_limits_answer_429_with_headers_and_are_shared_through_redis() {
    let db = scratch::sqlite();
    let limit = [("KAIROS_RATE_LIMITS__READ__ANONYMOUS", "3")];
    let app = spawn(&db, &limit).await;
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        let res = app.get("/v1/markets").await;
        statuses.push(res.status().as_u16());
        last = Some(res);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    let res = last.expect("a response");
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(res.headers()["ratelimit-limit"], "3");
    assert_eq!(res.headers()["ratelimit-remaining"], "0");
    assert_eq!(error_code(&res.json().await.expect("json")), "rate_limited");
    // Probes are never limited.
    assert_eq!(app.get("/health").await.status().as_u16(), 200);
    assert_eq!(app.get("/ready").await.status().as_u16(), 200);
    app.stop().await;

    let Some(redis) = scratch::redis_url() else { return };
    let shared = [("KAIROS_RATE_LIMITS__READ__ANONYMOUS", "4"), ("KAIROS_REDIS_URL", redis.as_str())];
    let a = spawn(&db, &shared).await;
    let b = spawn(&db, &shared).await;
    // The shared budget is per wall-clock second: a burst that straddles two seconds proves
    // nothing, so it is tried again (a slow machine only makes it take longer, never pass
    // wrongly). The next burst starts in a fresh second, after the budget just spent.
    let mut codes = Vec::new();
    for attempt in 0.. {
        assert!(attempt < 20, "no burst of six requests fitted in one second");
        let second = kairos_domain::now_us() / 1_000_000;
        codes.clear();
        for app in [&a, &b, &a, &b, &a, &b] {
            codes.push(app.get("/v1/time").await.status().as_u16());
        }
        if kairos_domain::now_us() / 1_000_000 == second {
            break;
        }
        let ms = kairos_domain::now_us() / 1_000 % 1_000;
        tokio::time::sleep(std::time::Duration::from_millis(u64::try_from(1_000 - ms).unwrap_or(0) + 10)).await;
    }
    assert_eq!(codes.iter().filter(|s| **s == 429).count(), 2, "one budget for both instances: {codes:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_audit_chain_catches_a_changed_or_removed_row() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        for name in ["a", "b", "c", "d"] {
            app.send(Method::PUT, &format!("/v1/admin/flags/{name}"), Some(&op), Some(json!({ "enabled": true })))
                .await;
        }
        let store = app.state().db().clone();
        let head = audit_log::verify(&store).await.expect("verify").expect("intact");
        assert_eq!(head.rows, 4, "{}", db.label);

        let bin = env!("CARGO_BIN_EXE_kairos-api");
        let data = tempfile::tempdir().expect("dir");
        let run = || {
            std::process::Command::new(bin)
                .args(["audit", "verify"])
                .env_clear()
                .env("KAIROS_PROFILE", "test")
                .env("KAIROS_DATA_DIR", data.path())
                .env("KAIROS_DATABASE_URL", &db.url)
                .output()
                .expect("run")
        };
        assert!(run().status.success());

        sqlx::query("UPDATE audit_log SET action = 'flag.unset' WHERE seq = 2")
            .execute(store.pool())
            .await
            .expect("tamper");
        let broken = audit_log::verify(&store).await.expect("verify").expect_err("changed row");
        assert_eq!(broken.seq, 2);
        let out = run();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\"first_bad_seq\":2"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );

        sqlx::query("UPDATE audit_log SET action = 'flag.set' WHERE seq = 2")
            .execute(store.pool())
            .await
            .expect("restore");
        assert!(audit_log::verify(&store).await.expect("verify").is_ok());
        sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(store.pool()).await.expect("remove");
        let broken = audit_log::verify(&store).await.expect("verify").expect_err("removed row");
        assert_eq!(broken.seq, 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_audit_appends_keep_one_chain() {
    for db in scratch::all().await {
        let store = kairos_platform::storage::Db::connect(&db.url, 8).await.expect("connect");
        store.migrate().await.expect("migrate");
        let mut tasks = Vec::new();
        for i in 0..20 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let entry =
                    audit_log::AuditEntry { actor: "system".into(), action: format!("test.{i}"), ..Default::default() };
                audit_log::append(&store, &entry).await.expect("append");
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        let head = audit_log::verify(&store).await.expect("verify").expect("intact");
        assert_eq!(head.rows, 20, "{}", db.label);
        store.close().await;
    }
}

#[tokio::test]
async fn a_change_is_announced_to_other_instances_through_redis() {
    let Some(redis) = scratch::redis_url() else { return };
    let db = scratch::sqlite();
    let a = spawn(&db, &[("KAIROS_REDIS_URL", &redis)]).await;
    let b = spawn(&db, &[("KAIROS_REDIS_URL", &redis)]).await;
    let (_, op) = a.user(Role::Operator).await;
    let announcements = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("kairos_runtime_settings_announcements_total"))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let before = announcements(&b.metrics_text().await);
    // b's subscription may not be in place yet when a first announces: a announces again (a
    // new flag each time) until b hears one, instead of guessing how long subscribing takes.
    let mut round = 0;
    eventually(10, "instance b heard an announcement", || {
        round += 1;
        let flag = format!("pubsub{round}");
        let (a, b, op) = (&a, &b, &op);
        async move {
            let (status, _) = a
                .send(Method::PUT, &format!("/v1/admin/flags/{flag}"), Some(op), Some(json!({ "enabled": true })))
                .await;
            assert_eq!(status, 200);
            // b applies what it hears through the database read the announcement triggers.
            for _ in 0..10 {
                if announcements(&b.metrics_text().await) > before
                    && b.state().runtime().latest().flags.get(&flag) == Some(&true)
                {
                    return true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            false
        }
    })
    .await;
    a.stop().await;
    b.stop().await;
}

/// One operator cannot mint collateral alone, nor one admin make a second operator or admin:
/// large credits, credits to oneself and promotions wait for another approver, who may not be
/// the beneficiary.
#[tokio::test]
async fn large_and_self_credits_and_promotions_need_a_second_approver() {
    for db in scratch::all().await {
        let app =
            spawn(&db, &[("KAIROS_KILL_SWITCH__APPROVALS", "2"), ("KAIROS_CREDIT__APPROVAL_ABOVE", "1000")]).await;
        let (op1_id, op1) = app.user(Role::Operator).await;
        let (op2_id, op2) = app.user(Role::Operator).await;
        let (_, admin1) = app.user(Role::Admin).await;
        let (_, admin2) = app.user(Role::Admin).await;
        let (user_id, user) = app.user(Role::User).await;
        let credit = |token: String, to: String, amount: &'static str| {
            let app = &app;
            async move {
                app.send(
                    Method::POST,
                    "/v1/admin/credit",
                    Some(&token),
                    Some(json!({ "user_id": to, "amount": amount })),
                )
                .await
            }
        };
        let available = |token: String| {
            let app = &app;
            async move {
                let (_, b) = app.send(Method::GET, "/v1/balances", Some(&token), None).await;
                b["balances"][0]["available"].as_str().unwrap_or("0").to_string()
            }
        };
        let approve = |token: String, id: String| {
            let app = &app;
            async move { app.send(Method::POST, &format!("/v1/admin/approvals/{id}/approve"), Some(&token), None).await }
        };

        // Small, to someone else: at once.
        assert_eq!(credit(op1.clone(), user_id.clone(), "10").await.0, 200);
        // Large: waits; nothing is credited until a second operator approves.
        let (status, pending) = credit(op1.clone(), user_id.clone(), "5000").await;
        assert_eq!(
            (status, pending["status"].as_str(), pending["required"].as_u64()),
            (202, Some("open"), Some(2)),
            "{}: {pending}",
            db.label
        );
        let id = pending["id"].as_str().expect("id").to_string();
        assert_eq!(available(user.clone()).await, "10");
        let (status, body) = approve(op1.clone(), id.clone()).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "already_approved"));
        let (status, body) = approve(user.clone(), id.clone()).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "insufficient_role"));
        let (status, applied) = approve(op2.clone(), id.clone()).await;
        assert_eq!((status, applied["status"].as_str()), (200, Some("applied")), "{applied}");
        assert_eq!(available(user.clone()).await, "5010");
        let (status, _) = approve(op2.clone(), id).await;
        assert_eq!(status, 409, "applied once");

        // To oneself, however small: waits, and the beneficiary may not approve it.
        let (status, own) = credit(op1.clone(), op1_id.clone(), "1").await;
        assert_eq!(status, 202, "{own}");
        let (status, for_op2) = credit(op1.clone(), op2_id.clone(), "2000").await;
        assert_eq!(status, 202);
        let (status, body) = approve(op2.clone(), for_op2["id"].as_str().expect("id").to_string()).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "own_request"));
        let (_, open) = app.send(Method::GET, "/v1/admin/approvals", Some(&op2), None).await;
        assert_eq!(open["data"].as_array().map(Vec::len), Some(2), "{open}");

        // A promotion to operator waits for a second admin; an operator cannot approve it.
        let role_path = format!("/v1/admin/users/{user_id}/role");
        let (status, promotion) =
            app.send(Method::PUT, &role_path, Some(&admin1), Some(json!({ "role": "operator" }))).await;
        assert_eq!(status, 202, "{promotion}");
        let promotion = promotion["id"].as_str().expect("id").to_string();
        let (_, u) = app.send(Method::GET, &format!("/v1/admin/users/{user_id}"), Some(&admin1), None).await;
        assert_eq!(u["role"], "user", "not yet");
        let (status, body) = approve(op2.clone(), promotion.clone()).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "insufficient_role"));
        let (status, applied) = approve(admin2.clone(), promotion).await;
        assert_eq!((status, applied["status"].as_str()), (200, Some("applied")), "{applied}");
        let (_, u) = app.send(Method::GET, &format!("/v1/admin/users/{user_id}"), Some(&admin1), None).await;
        assert_eq!(u["role"], "operator");
        // A demotion needs nobody else.
        let (status, u) = app.send(Method::PUT, &role_path, Some(&admin1), Some(json!({ "role": "user" }))).await;
        assert_eq!((status, u["role"].as_str()), (200, Some("user")));
        let verified = kairos_platform::storage::ledger::verify(app.state().db()).await.expect("verify");
        assert!(verified.is_ok(), "{verified:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn operators_see_the_keepers_jobs_and_users_do_not() {
    use kairos_platform::storage::keeper_jobs::{self, Finished};
    for db in scratch::all().await {
        let a = spawn(&db, &[]).await;
        let (_, op) = a.user(Role::Operator).await;
        let (_, user) = a.user(Role::User).await;
        let (status, body) = a.send(Method::GET, "/v1/admin/keepers", Some(&op), None).await;
        assert_eq!((status, &body), (200, &json!({ "jobs": [] })), "{}", db.label);

        // What a keeper process writes, through the same statements it uses.
        let state = a.state();
        let store = state.db();
        let t0 = 1_800_000_000_000_000;
        keeper_jobs::register(store, "dependency-probes", true, 60_000, t0).await.expect("register");
        keeper_jobs::register(store, "venue-reconcile", false, 30_000, t0).await.expect("register");
        let claim = keeper_jobs::claim(store, "dependency-probes", "keepers-1/42", t0, t0 + 15_000_000)
            .await
            .expect("claim")
            .expect("free");
        let run = Finished { ran_at_us: t0, next_run_at_us: t0 + 2_000_000, attempts: 1, error: Some("solana: down") };
        assert!(
            keeper_jobs::finish(store, "dependency-probes", "keepers-1/42", claim.fence, &run).await.expect("finish")
        );

        let (status, body) = a.send(Method::GET, "/v1/admin/keepers", Some(&op), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({ "jobs": [
                { "name": "dependency-probes", "enabled": true, "holder": "keepers-1/42",
                  "lease_until": "2027-01-15T08:00:15Z", "next_run_at": "2027-01-15T08:00:02Z",
                  "last_run_at": "2027-01-15T08:00:00Z", "last_success_at": null, "last_error": "solana: down",
                  "failures_in_a_row": 1, "period_s": 60, "fence": 1 },
                { "name": "venue-reconcile", "enabled": false, "holder": null, "lease_until": null,
                  "next_run_at": "2027-01-15T08:00:00Z", "last_run_at": null, "last_success_at": null,
                  "last_error": null, "failures_in_a_row": 0, "period_s": 30, "fence": 0 },
            ]}),
            "{}",
            db.label
        );
        let (status, body) = a.send(Method::GET, "/v1/admin/keepers", Some(&user), None).await;
        assert_eq!((status, error_code(&body).as_str()), (403, "insufficient_role"), "{body}");
        let (status, _) = a.send(Method::GET, "/v1/admin/keepers", None, None).await;
        assert_eq!(status, 401);
        a.stop().await;
    }
}
