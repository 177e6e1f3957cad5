//! Market-maker protection end to end on both databases: a burst of crossing orders trips a
//! group exactly one fill past its limit, its other quotes are cancelled before any further
//! match, new orders in it are refused until a reset, other principals' groups are untouched,
//! and the window and the freeze carry over an instance takeover.

use kairos_domain::{Role, Venue};
use kairos_platform::storage::scratch;
use kairos_venues::paper::replay;
use reqwest::Method;
use serde_json::{Value, json};

use crate::orders::{funded, market};
use crate::support::{TestApp, error_code, spawn};

fn group_body(max_size: &str) -> Value {
    json!({ "limits": { "interval_ms": 60_000, "max_filled_size": max_size, "max_filled_notional": "1000" },
            "freeze_ms": 60_000 })
}

async fn bid(app: &TestApp, token: &str, m: &str, price: &str, group: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "market_id": m, "outcome": 0, "side": "buy", "price": price, "size": "2" });
    if let Some(g) = group {
        body["order_group_id"] = json!(g);
    }
    app.send(Method::POST, "/v1/orders", Some(token), Some(body)).await
}

async fn order_state(app: &TestApp, token: &str, order: &Value) -> (String, String, Option<String>) {
    let path = format!("/v1/orders/{}", order["id"].as_str().expect("id"));
    let (_, o) = app.send(Method::GET, &path, Some(token), None).await;
    (
        o["status"].as_str().unwrap_or_default().to_string(),
        o["filled_size"].as_str().unwrap_or_default().to_string(),
        o["reason"].as_str().map(str::to_string),
    )
}

#[tokio::test]
async fn a_burst_trips_the_group_at_its_limit_and_it_stays_frozen_until_reset() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "mmp").await;
        let (_, maker) = funded(&app, &op, "100").await;
        let (_, taker) = funded(&app, &op, "100").await;
        let (_, other) = funded(&app, &op, "100").await;

        // Bad limits are the usual 4xx envelope.
        for (body, status) in [
            (
                json!({ "limits": { "interval_ms": 0, "max_filled_size": "5", "max_filled_notional": "9" }, "freeze_ms": 0 }),
                422,
            ),
            (
                json!({ "limits": { "interval_ms": 10, "max_filled_size": "-5", "max_filled_notional": "9" }, "freeze_ms": 0 }),
                422,
            ),
            (
                json!({ "limits": { "interval_ms": 10, "max_filled_size": "x", "max_filled_notional": "9" }, "freeze_ms": 0 }),
                400,
            ),
            (
                json!({ "limits": { "interval_ms": 10, "max_filled_size": "5", "max_filled_notional": "9" }, "freeze_ms": -1 }),
                422,
            ),
            (json!({ "limits": { "interval_ms": 10, "max_filled_size": "5" }, "freeze_ms": 0 }), 422),
        ] {
            let (got, e) = app.send(Method::POST, "/v1/order-groups", Some(&maker), Some(body.clone())).await;
            assert!(got == status || (status == 422 && got == 400), "{}: {body} → {got} {e}", db.label);
            error_code(&e);
        }

        let (status, g) = app.send(Method::POST, "/v1/order-groups", Some(&maker), Some(group_body("5"))).await;
        assert_eq!((status, g["state"].as_str()), (201, Some("active")), "{}: {g}", db.label);
        let g = g["id"].as_str().expect("id").to_string();
        let (_, g2) = app.send(Method::POST, "/v1/order-groups", Some(&other), Some(group_body("100"))).await;
        let g2 = g2["id"].as_str().expect("id").to_string();

        let mut quotes = Vec::new();
        for price in ["0.40", "0.39", "0.38", "0.37", "0.36"] {
            let (status, q) = bid(&app, &maker, &m, price, Some(&g)).await;
            assert_eq!(status, 201, "{}: {q}", db.label);
            quotes.push(q);
        }
        let (_, plain) = bid(&app, &maker, &m, "0.35", None).await;
        let (_, others) = bid(&app, &other, &m, "0.30", Some(&g2)).await;
        // Someone else's group is not found for the maker.
        let (status, e) = bid(&app, &maker, &m, "0.20", Some(&g2)).await;
        assert_eq!((status, error_code(&e).as_str()), (404, "not_found"), "{}", db.label);

        // One taker that could take every bid: NO at 0.72 crosses YES bids down to 0.28.
        let sweep = json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.72", "size": "12" });
        let (status, t) = app.send(Method::POST, "/v1/orders", Some(&taker), Some(sweep)).await;
        assert_eq!(status, 201, "{}: {t}", db.label);
        // 2 + 2 is within 5; the third fill (6) is the one past the limit and trips the group;
        // the two quotes left were pulled before the taker went on to the plain bid and the
        // other principal's.
        assert_eq!(t["filled_size"], "10", "{}: {t}", db.label);
        for q in &quotes[..3] {
            assert_eq!(order_state(&app, &maker, q).await.0, "filled", "{}", db.label);
        }
        for q in &quotes[3..] {
            let (status, filled, reason) = order_state(&app, &maker, q).await;
            assert_eq!(
                (status.as_str(), filled.as_str(), reason.as_deref()),
                ("cancelled", "0", Some("mmp_triggered"))
            );
        }
        assert_eq!(order_state(&app, &maker, &plain).await.0, "filled");
        assert_eq!(order_state(&app, &other, &others).await.0, "filled");

        let (_, state) = app.send(Method::GET, &format!("/v1/order-groups/{g}"), Some(&maker), None).await;
        assert_eq!((state["state"].as_str(), state["trips"].as_i64()), (Some("frozen"), Some(1)), "{state}");
        assert!(state["frozen_until"].as_str().is_some(), "{state}");
        let (_, state2) = app.send(Method::GET, &format!("/v1/order-groups/{g2}"), Some(&other), None).await;
        assert_eq!((state2["state"].as_str(), state2["window"]["filled_size"].as_str()), (Some("active"), Some("2")));
        let (status, _) = app.send(Method::GET, &format!("/v1/order-groups/{g2}"), Some(&maker), None).await;
        assert_eq!(status, 404, "another principal's group is not found");

        let (status, e) = bid(&app, &maker, &m, "0.40", Some(&g)).await;
        assert_eq!((status, error_code(&e).as_str()), (409, "order_group_frozen"), "{}: {e}", db.label);
        let (status, _) = bid(&app, &maker, &m, "0.40", None).await;
        assert_eq!(status, 201, "orders outside the group still go");

        let (status, reset) = app.send(Method::POST, &format!("/v1/order-groups/{g}/reset"), Some(&maker), None).await;
        assert_eq!((status, reset["state"].as_str()), (200, Some("active")), "{reset}");
        let (status, q) = bid(&app, &maker, &m, "0.41", Some(&g)).await;
        assert_eq!(status, 201, "{q}");

        let (_, list) = app.send(Method::GET, "/v1/order-groups", Some(&maker), None).await;
        assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
        let (status, deleted) = app.send(Method::DELETE, &format!("/v1/order-groups/{g}"), Some(&maker), None).await;
        assert_eq!(status, 200, "{deleted}");
        assert_eq!(deleted["cancelled"][0]["reason"], "order_group_deleted", "{deleted}");
        let (status, again) = app.send(Method::DELETE, &format!("/v1/order-groups/{g}"), Some(&maker), None).await;
        assert_eq!((status, again["cancelled"].as_array().map(Vec::len)), (200, Some(0)), "idempotent: {again}");
        let (status, _) = app.send(Method::GET, &format!("/v1/order-groups/{g}"), Some(&maker), None).await;
        assert_eq!(status, 404);
        let (status, e) = bid(&app, &maker, &m, "0.40", Some(&g)).await;
        assert_eq!((status, error_code(&e).as_str()), (404, "not_found"));
        // The trip, the reset and the deletion replay from the durable log as they happened.
        let replayed = replay::run(app.state().db(), &Default::default()).await.expect("replay");
        assert!(replayed.mismatches.is_empty(), "{}: {:?}", db.label, replayed.mismatches);
        assert!(replayed.ledger_compared && replayed.orders >= 12 && replayed.fills >= 10, "{replayed:?}");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_groups_window_and_freeze_carry_over_an_instance_takeover() {
    for db in scratch::all().await {
        let lease = [("KAIROS_MARKET_LEASE_MS", "1000")];
        let a = spawn(&db, &lease).await;
        let (_, op) = a.user(Role::Operator).await;
        let m = market(&a, Venue::Paper, "mmp-takeover").await;
        let (_, maker) = funded(&a, &op, "100").await;
        let (_, taker) = funded(&a, &op, "100").await;
        let (_, g) = a.send(Method::POST, "/v1/order-groups", Some(&maker), Some(group_body("5"))).await;
        let g = g["id"].as_str().expect("id").to_string();
        let mut quotes = Vec::new();
        for price in ["0.45", "0.44", "0.43", "0.42"] {
            quotes.push(bid(&a, &maker, &m, price, Some(&g)).await.1);
        }
        // On a: one fill of 2 shares (within the limit).
        let one = json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.55", "size": "2" });
        let (status, t) = a.send(Method::POST, "/v1/orders", Some(&taker), Some(one)).await;
        assert_eq!((status, t["filled_size"].as_str()), (201, Some("2")), "{t}");
        a.stop().await;

        // b takes the market over and must count a's fill: 2 + 2 + 2 goes past 5 at the 0.43
        // quote, so the 0.42 one is pulled (without a's fill it would have filled).
        let b = spawn(&db, &lease).await;
        let sweep = json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "6", "time_in_force": "ioc" });
        let mut taken = Value::Null;
        for _ in 0..50 {
            let (status, t) = b.send(Method::POST, "/v1/orders", Some(&taker), Some(sweep.clone())).await;
            if status == 201 {
                taken = t;
                break;
            }
            assert_eq!(status, 409, "{}: {t}", db.label);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(taken["filled_size"], "4", "{}: {taken}", db.label);
        let (status, _, reason) = order_state(&b, &maker, &quotes[3]).await;
        assert_eq!((status.as_str(), reason.as_deref()), ("cancelled", Some("mmp_triggered")), "{}", db.label);
        let (status, e) = bid(&b, &maker, &m, "0.40", Some(&g)).await;
        assert_eq!((status, error_code(&e).as_str()), (409, "order_group_frozen"), "{}", db.label);

        // And the freeze survives a restart of the holder.
        let b = b.restart(&db, &lease).await;
        let (status, e) = bid(&b, &maker, &m, "0.40", Some(&g)).await;
        assert_eq!((status, error_code(&e).as_str()), (409, "order_group_frozen"), "{}", db.label);
        let replayed = replay::run(b.state().db(), &Default::default()).await.expect("replay");
        assert!(replayed.mismatches.is_empty(), "{}: {:?}", db.label, replayed.mismatches);
        assert_eq!(replayed.markets, 1, "{replayed:?}");
        b.stop().await;
    }
}

#[tokio::test]
async fn a_trip_on_one_instance_pulls_the_groups_quotes_on_another_before_they_match() {
    for db in scratch::all().await {
        let lease = [("KAIROS_MARKET_LEASE_MS", "5000")];
        let a = spawn(&db, &lease).await;
        let b = spawn(&db, &lease).await;
        let (_, op) = a.user(Role::Operator).await;
        let m1 = market(&a, Venue::Paper, "mmp-a").await;
        let m2 = market(&a, Venue::Paper, "mmp-b").await;
        let (_, maker) = funded(&a, &op, "100").await;
        let (_, taker) = funded(&a, &op, "100").await;
        let (_, g) = a.send(Method::POST, "/v1/order-groups", Some(&maker), Some(group_body("3"))).await;
        let g = g["id"].as_str().expect("id").to_string();
        // a matches m1, b matches m2 (each takes the lease of the market it is asked for first).
        let (status, _) = bid(&a, &maker, &m1, "0.40", Some(&g)).await;
        assert_eq!(status, 201);
        let (status, _) = bid(&a, &maker, &m1, "0.39", Some(&g)).await;
        assert_eq!(status, 201);
        let (status, far) = bid(&b, &maker, &m2, "0.40", Some(&g)).await;
        assert_eq!(status, 201, "{far}");
        // On a: 2 + 2 goes past 3 and trips the group.
        let sweep = json!({ "market_id": m1, "outcome": 1, "side": "buy", "price": "0.70", "size": "4", "time_in_force": "ioc" });
        let (_, t) = a.send(Method::POST, "/v1/orders", Some(&taker), Some(sweep)).await;
        assert_eq!(t["filled_size"], "4", "{}: {t}", db.label);
        // b's next batch learns of the trip before it matches: its quote is pulled, not taken.
        let take = json!({ "market_id": m2, "outcome": 1, "side": "buy", "price": "0.70", "size": "2", "time_in_force": "ioc" });
        let (status, t) = b.send(Method::POST, "/v1/orders", Some(&taker), Some(take)).await;
        assert_eq!((status, t["filled_size"].as_str()), (201, Some("0")), "{}: {t}", db.label);
        let (status, _, reason) = order_state(&b, &maker, &far).await;
        assert_eq!((status.as_str(), reason.as_deref()), ("cancelled", Some("mmp_triggered")), "{}", db.label);
        let replayed = replay::run(b.state().db(), &Default::default()).await.expect("replay");
        assert!(replayed.mismatches.is_empty(), "{}: {:?}", db.label, replayed.mismatches);
        assert_eq!(replayed.markets, 2, "{replayed:?}");
        a.stop().await;
        b.stop().await;
    }
}
