//! The order API end to end on both databases: placing, idempotency, matching with money that
//! balances, amend and cancel, the kill switch, resolution, the dead-man's switch, the legacy
//! aliases, and books rebuilt after a restart.

use kairos_domain::{MarketStatus, NewMarket, Outcome, Role, Venue};
use kairos_platform::storage::scratch::{self, ScratchDb};
use kairos_platform::storage::{ledger, markets};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, error_code, eventually, spawn};

pub(crate) async fn market(app: &TestApp, venue: Venue, slug: &str) -> String {
    market_with_tokens(app, venue, slug, [None, None]).await
}

/// A binary market whose outcomes carry these venue token ids.
pub(crate) async fn market_with_tokens(app: &TestApp, venue: Venue, slug: &str, tokens: [Option<&str>; 2]) -> String {
    market_with_protocol(app, venue, slug, tokens, None).await
}

/// [`market_with_tokens`] with the venue's settlement protocol.
pub(crate) async fn market_with_protocol(
    app: &TestApp,
    venue: Venue,
    slug: &str,
    tokens: [Option<&str>; 2],
    protocol: Option<kairos_domain::MarketProtocol>,
) -> String {
    let new = NewMarket {
        venue,
        external_id: Some(format!("test:{slug}")),
        slug: slug.to_string(),
        question: format!("{slug}?"),
        description: String::new(),
        status: MarketStatus::Open,
        tick_size: kairos_domain::Price::from_micros(10_000),
        min_size: kairos_domain::Size::from_micros(1_000_000),
        end_time_us: None,
        protocol,
        is_sample: false,
        outcomes: vec![
            Outcome { index: 0, label: "YES".into(), external_id: tokens[0].map(str::to_string) },
            Outcome { index: 1, label: "NO".into(), external_id: tokens[1].map(str::to_string) },
        ],
    };
    markets::upsert(app.state().db(), &new).await.expect("market").0.id
}

/// A user credited with `amount` collateral.
pub(crate) async fn funded(app: &TestApp, op: &str, amount: &str) -> (String, String) {
    let (id, token) = app.user(Role::User).await;
    let (status, body) =
        app.send(Method::POST, "/v1/admin/credit", Some(op), Some(json!({ "user_id": id, "amount": amount }))).await;
    assert_eq!(status, 200, "{body}");
    (id, token)
}

fn order(market: &str, outcome: u32, side: &str, price: &str, size: &str) -> Value {
    json!({ "market_id": market, "outcome": outcome, "side": side, "price": price, "size": size })
}

async fn balances(app: &TestApp, token: &str) -> (String, String) {
    let (_, b) = app.send(Method::GET, "/v1/balances", Some(token), None).await;
    (
        b["balances"][0]["available"].as_str().unwrap_or("").into(),
        b["balances"][0]["reserved"].as_str().unwrap_or("").into(),
    )
}

async fn ledger_balances(db: &ScratchDb, app: &TestApp) {
    let verified = ledger::verify(app.state().db()).await.expect("verify");
    assert!(verified.is_ok(), "{}: ledger breaks: {verified:?}", db.label);
}

#[tokio::test]
async fn orders_rest_match_and_move_money_that_balances() {
    for db in scratch::all().await {
        let app = spawn(&db, &[("KAIROS_PAPER__TAKER_FEE_BPS", "100")]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "rest-and-match").await;
        let (_, yes) = funded(&app, &op, "100").await;
        let (_, no) = funded(&app, &op, "100").await;

        let mut bid = order(&m, 0, "buy", "0.40", "10");
        bid["client_order_id"] = json!("bid-1");
        let res =
            app.client.post(format!("{}/v1/orders", app.base)).bearer_auth(&yes).json(&bid).send().await.expect("send");
        assert_eq!(res.status(), 201, "{}", db.label);
        let placed: Value = res.json().await.expect("json");
        assert_eq!((placed["status"].as_str(), placed["reserved"].as_str()), (Some("open"), Some("4.04")));
        assert_eq!(balances(&app, &yes).await, ("95.96".into(), "4.04".into()));

        // The same request again is a replay; the same id with other parameters a conflict.
        let res =
            app.client.post(format!("{}/v1/orders", app.base)).bearer_auth(&yes).json(&bid).send().await.expect("send");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["idempotent-replayed"], "true");
        assert_eq!(res.json::<Value>().await.expect("json")["id"], placed["id"]);
        let mut changed = bid.clone();
        changed["price"] = json!("0.41");
        let (status, body) = app.send(Method::POST, "/v1/orders", Some(&yes), Some(changed)).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "client_order_id_reused"));

        // A NO buyer at 0.60 meets the YES bid: a pair is minted.
        let (status, taker) =
            app.send(Method::POST, "/v1/orders", Some(&no), Some(order(&m, 1, "buy", "0.60", "4"))).await;
        assert_eq!(status, 201, "{taker}");
        assert_eq!(
            (taker["status"].as_str(), taker["filled_size"].as_str(), taker["fees"].as_str()),
            (Some("filled"), Some("4"), Some("0.024"))
        );
        let (_, maker) = app
            .send(Method::GET, &format!("/v1/orders/{}", placed["id"].as_str().expect("id")), Some(&yes), None)
            .await;
        assert_eq!((maker["status"].as_str(), maker["filled_size"].as_str()), (Some("partially_filled"), Some("4")));
        let (_, fills) = app.send(Method::GET, "/v1/fills", Some(&no), None).await;
        assert_eq!(fills["data"][0]["price"], "0.6");
        assert_eq!(
            (fills["data"][0]["liquidity"].as_str(), fills["data"][0]["finality"].as_str()),
            (Some("taker"), Some("confirmed"))
        );
        let (_, positions) = app.send(Method::GET, "/v1/positions", Some(&yes), None).await;
        assert_eq!(
            positions["positions"],
            json!([{ "market_id": m, "outcome": 0, "size": "4", "settled_size": "4", "pending_size": "0", "reserved": "0" }])
        );
        assert_eq!(balances(&app, &no).await, ("97.576".into(), "0".into()));

        // The YES holder sells 1 share; a NO holder... the book shows both sides.
        let (status, ask) =
            app.send(Method::POST, "/v1/orders", Some(&yes), Some(order(&m, 0, "sell", "0.55", "1"))).await;
        assert_eq!((status, ask["status"].as_str()), (201, Some("open")), "{ask}");
        let (_, book) = app.send(Method::GET, &format!("/v1/markets/{m}/book"), None, None).await;
        assert_eq!(book["bids"], json!([{ "price": "0.4", "size": "6" }]));
        assert_eq!(book["asks"], json!([{ "price": "0.55", "size": "1" }]));
        let (status, body) =
            app.send(Method::POST, "/v1/orders", Some(&yes), Some(order(&m, 0, "sell", "0.55", "50"))).await;
        assert_eq!((status, error_code(&body).as_str()), (422, "insufficient_balance"), "only 3 shares are free");

        // Amend down keeps the order; cancel releases what it held.
        let bid_path = format!("/v1/orders/{}", placed["id"].as_str().expect("id"));
        let (status, amended) = app.send(Method::PATCH, &bid_path, Some(&yes), Some(json!({ "size": "8" }))).await;
        assert_eq!(
            (status, amended["remaining"].as_str(), amended["reserved"].as_str()),
            (200, Some("4"), Some("1.616"))
        );
        let (status, cancelled) = app.send(Method::DELETE, &bid_path, Some(&yes), None).await;
        assert_eq!(
            (status, cancelled["status"].as_str(), cancelled["reserved"].as_str()),
            (200, Some("cancelled"), Some("0"))
        );
        let (status, body) = app.send(Method::DELETE, &bid_path, Some(&yes), None).await;
        assert_eq!((status, error_code(&body).as_str()), (409, "order_not_live"));
        let (_, by_client) = app.send(Method::GET, "/v1/orders/by-client-id/bid-1", Some(&yes), None).await;
        assert_eq!(by_client["status"], "cancelled");
        let (_, others) = app.send(Method::GET, &bid_path, Some(&no), None).await;
        assert_eq!(error_code(&others), "not_found", "another user's order is not found");

        let (_, page) = app.send(Method::GET, "/v1/orders?limit=1", Some(&yes), None).await;
        let cursor = page["next_cursor"].as_str().expect("two orders");
        let (_, rest) = app.send(Method::GET, &format!("/v1/orders?limit=1&cursor={cursor}"), Some(&yes), None).await;
        assert_eq!(rest["data"][0]["id"], placed["id"]);
        let (_, open) = app.send(Method::GET, "/v1/orders?open=true", Some(&yes), None).await;
        assert_eq!(open["data"].as_array().map(Vec::len), Some(1));
        let (status, all) = app.send(Method::DELETE, &format!("/v1/orders?market_id={m}"), Some(&yes), None).await;
        assert_eq!((status, all["cancelled"].as_array().map(Vec::len)), (200, Some(1)));
        assert_eq!(balances(&app, &yes).await, ("98.4".into(), "0".into()), "makers pay no fee here");
        ledger_balances(&db, &app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn batches_book_rejections_and_refusals_answer_each_leg() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "batches").await;
        let pm = market(&app, Venue::Polymarket, "pm-batches").await;
        let (_, a) = funded(&app, &op, "10").await;
        let mut post_only = order(&m, 1, "buy", "0.60", "1");
        post_only["post_only"] = json!(true);
        let (status, body) = app
            .send(
                Method::POST,
                "/v1/orders/batch",
                Some(&a),
                Some(json!({ "orders": [
                    order(&m, 0, "buy", "0.40", "1"),
                    order(&m, 0, "buy", "0.405", "1"),
                    order(&pm, 0, "buy", "0.40", "1"),
                    order(&m, 0, "buy", "0.90", "100"),
                ]})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let legs: Vec<(u64, String)> = body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|l| (l["status"].as_u64().unwrap_or(0), l["error"]["code"].as_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(
            legs,
            vec![
                (201, String::new()),
                (422, "price_off_tick".into()),
                (409, "venue_disabled".into()),
                (422, "insufficient_balance".into()),
            ]
        );
        let (_, b) = funded(&app, &op, "10").await;
        let (status, rejected) = app.send(Method::POST, "/v1/orders", Some(&b), Some(post_only)).await;
        assert_eq!(
            (status, rejected["status"].as_str(), rejected["reason"].as_str()),
            (201, Some("rejected"), Some("post_only_would_cross"))
        );
        let mut fok = order(&m, 1, "buy", "0.60", "5");
        fok["time_in_force"] = json!("fok");
        let (_, killed) = app.send(Method::POST, "/v1/orders", Some(&b), Some(fok)).await;
        assert_eq!((killed["status"].as_str(), killed["reason"].as_str()), (Some("rejected"), Some("fok_unfillable")));
        assert_eq!(balances(&app, &b).await, ("10".into(), "0".into()), "rejections hold nothing");
        let (status, body) = app.send(Method::POST, "/v1/orders", Some(&b), Some(json!({ "market_id": m }))).await;
        assert_eq!((status, error_code(&body).as_str()), (400, "invalid_json"));
        ledger_balances(&db, &app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_kill_switch_stops_orders_but_never_cancels() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let (_, op) = app.user(Role::Operator).await;
    let m = market(&app, Venue::Paper, "kill-switch").await;
    let (_, a) = funded(&app, &op, "10").await;
    let (_, resting) = app.send(Method::POST, "/v1/orders", Some(&a), Some(order(&m, 0, "buy", "0.40", "1"))).await;
    for (state, code) in [("cancel_only", "cancel_only"), ("disabled", "trading_disabled")] {
        kairos_platform::storage::settings::put(app.state().db(), "trade_enabled", state).await.expect("set");
        app.state().runtime().reload(app.state().db()).await.expect("reload");
        let (status, body) =
            app.send(Method::POST, "/v1/orders", Some(&a), Some(order(&m, 0, "buy", "0.40", "1"))).await;
        assert_eq!((status, error_code(&body).as_str()), (503, code));
        let path = format!("/v1/orders/{}", resting["id"].as_str().expect("id"));
        let (status, body) = app.send(Method::PATCH, &path, Some(&a), Some(json!({ "price": "0.41" }))).await;
        assert_eq!((status, error_code(&body).as_str()), (503, code), "an amend that adds risk is refused");
    }
    let path = format!("/v1/orders/{}", resting["id"].as_str().expect("id"));
    let (status, cancelled) = app.send(Method::DELETE, &path, Some(&a), None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
    app.stop().await;
}

#[tokio::test]
async fn resolution_pays_one_per_winning_share_and_empties_escrow() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "resolution").await;
        let (_, yes) = funded(&app, &op, "10").await;
        let (_, no) = funded(&app, &op, "10").await;
        app.send(Method::POST, "/v1/orders", Some(&yes), Some(order(&m, 0, "buy", "0.30", "5"))).await;
        app.send(Method::POST, "/v1/orders", Some(&no), Some(order(&m, 1, "buy", "0.70", "3"))).await;
        let (status, body) = app
            .send(
                Method::POST,
                &format!("/v1/admin/markets/{m}/resolve"),
                Some(&op),
                Some(json!({ "winning_outcome": 0 })),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["cancelled_orders"].as_u64(), body["market"]["status"].as_str()), (Some(1), Some("resolved")));
        // YES paid 0.9 for 3 shares and gets 3; NO paid 2.1 and gets nothing.
        assert_eq!(balances(&app, &yes).await, ("12.1".into(), "0".into()));
        assert_eq!(balances(&app, &no).await, ("7.9".into(), "0".into()));
        let (_, positions) = app.send(Method::GET, "/v1/positions", Some(&yes), None).await;
        assert_eq!(positions["positions"], json!([]));
        let escrow = ledger::balances(app.state().db(), &[ledger::Account::Escrow { market_id: m.clone() }])
            .await
            .expect("escrow");
        assert!(escrow.iter().all(|(_, _, b)| *b == 0), "{escrow:?}");
        let (status, body) = app
            .send(
                Method::POST,
                &format!("/v1/admin/markets/{m}/resolve"),
                Some(&op),
                Some(json!({ "winning_outcome": 1 })),
            )
            .await;
        assert_eq!((status, error_code(&body).as_str()), (409, "market_resolved"));
        let (status, body) =
            app.send(Method::POST, "/v1/orders", Some(&yes), Some(order(&m, 0, "buy", "0.30", "1"))).await;
        assert_eq!((status, error_code(&body).as_str()), (422, "market_not_open"));
        ledger_balances(&db, &app).await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_late_heartbeat_cancels_every_open_order() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "dead-man").await;
        let (_, mm) = funded(&app, &op, "10").await;
        let (_, other) = funded(&app, &op, "10").await;
        for price in ["0.30", "0.31"] {
            app.send(Method::POST, "/v1/orders", Some(&mm), Some(order(&m, 0, "buy", price, "1"))).await;
        }
        app.send(Method::POST, "/v1/orders", Some(&other), Some(order(&m, 0, "buy", "0.20", "1"))).await;
        let (status, armed) =
            app.send(Method::POST, "/v1/heartbeat", Some(&mm), Some(json!({ "timeout_ms": 1000 }))).await;
        assert_eq!((status, armed["armed"].as_bool()), (200, Some(true)), "{armed}");
        let (status, body) =
            app.send(Method::POST, "/v1/heartbeat", Some(&mm), Some(json!({ "timeout_ms": 10 }))).await;
        assert_eq!((status, error_code(&body).as_str()), (422, "invalid_timeout"));
        eventually(5, "the switch fires", || async {
            let (_, open) = app.send(Method::GET, "/v1/orders?open=true", Some(&mm), None).await;
            open["data"].as_array().is_some_and(Vec::is_empty)
        })
        .await;
        let (_, all) = app.send(Method::GET, "/v1/orders", Some(&mm), None).await;
        assert!(all["data"].as_array().expect("orders").iter().all(|o| o["reason"] == "dead_man_switch"), "{all}");
        let (_, theirs) = app.send(Method::GET, "/v1/orders?open=true", Some(&other), None).await;
        assert_eq!(theirs["data"].as_array().map(Vec::len), Some(1), "only the late user's orders go");
        let (_, audit) = app.send(Method::GET, "/v1/admin/audit?action=dead_man_switch.fired", Some(&op), None).await;
        assert_eq!(audit["data"].as_array().map(Vec::len), Some(1), "{audit}");
        app.stop().await;
    }
}

#[tokio::test]
async fn the_legacy_routes_are_deprecated_aliases() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let (_, op) = app.user(Role::Operator).await;
    let m = market(&app, Venue::Paper, "legacy").await;
    let (_, a) = funded(&app, &op, "10").await;
    let res = app
        .client
        .post(format!("{}/api/orders/submit", app.base))
        .bearer_auth(&a)
        .json(&order(&m, 0, "buy", "0.40", "1"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["deprecation"], "true");
    assert!(res.headers()["link"].to_str().expect("link").contains("/v1/orders"));
    let id = res.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_string();
    let res =
        app.client.get(format!("{}/api/orders/{id}/status", app.base)).bearer_auth(&a).send().await.expect("send");
    assert_eq!((res.status().as_u16(), res.headers()["deprecation"].to_str().ok()), (200, Some("true")));
    let (status, list) = app.send(Method::GET, "/api/orders", Some(&a), None).await;
    assert_eq!((status, list["data"][0]["id"].as_str()), (200, Some(id.as_str())));
    let (status, cancelled) = app.send(Method::POST, &format!("/api/orders/{id}/cancel"), Some(&a), None).await;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
    let (status, body) = app.send(Method::POST, &format!("/api/orders/{id}/cancel"), None, None).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "missing_credentials"));
    app.stop().await;
}

#[tokio::test]
async fn books_are_rebuilt_from_the_database_after_a_restart() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "rebuild").await;
        let (_, a) = funded(&app, &op, "100").await;
        let (_, b) = funded(&app, &op, "100").await;
        for (token, outcome, price, size) in [
            (&a, 0, "0.40", "2"),
            (&b, 0, "0.40", "3"),
            (&a, 0, "0.41", "1"),
            (&b, 1, "0.50", "2"),
            (&a, 1, "0.58", "1"),
        ] {
            let (status, body) =
                app.send(Method::POST, "/v1/orders", Some(token), Some(order(&m, outcome, "buy", price, size))).await;
            assert_eq!(status, 201, "{body}");
        }
        let (_, before) = app.send(Method::GET, &format!("/v1/markets/{m}/book"), None, None).await;
        assert_eq!(before["bids"], json!([{ "price": "0.41", "size": "1" }, { "price": "0.4", "size": "5" }]));
        let app = app.restart(&db, &[]).await;
        let (_, after) = app.send(Method::GET, &format!("/v1/markets/{m}/book"), None, None).await;
        assert_eq!((&after["bids"], &after["asks"]), (&before["bids"], &before["asks"]), "{}", db.label);
        // Time priority survived: a NO buyer at 0.60 takes the 0.41 bid, then a's older 0.40 bid.
        let (_, c) = funded(&app, &op, "10").await;
        let (_, taker) = app.send(Method::POST, "/v1/orders", Some(&c), Some(order(&m, 1, "buy", "0.60", "3"))).await;
        assert_eq!(taker["status"], "filled", "{taker}");
        let (_, a_orders) = app.send(Method::GET, &format!("/v1/orders?market_id={m}"), Some(&a), None).await;
        let at_40: Vec<&str> = a_orders["data"]
            .as_array()
            .expect("orders")
            .iter()
            .filter(|o| o["price"] == "0.4")
            .filter_map(|o| o["status"].as_str())
            .collect();
        assert_eq!(at_40, vec!["filled"], "a's 0.40 bid was first in its queue");
        let (_, b_orders) =
            app.send(Method::GET, &format!("/v1/orders?market_id={m}&status=open"), Some(&b), None).await;
        assert_eq!(b_orders["data"].as_array().map(Vec::len), Some(2), "b's orders are untouched");
        ledger_balances(&db, &app).await;
        app.stop().await;
    }
}

/// A request that names a market that does not exist gets 404, like any unknown resource; 422
/// stays for rules.
#[tokio::test]
async fn an_unknown_market_is_not_found() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let (_, op) = app.user(Role::Operator).await;
    let (_, user) = funded(&app, &op, "10").await;
    let nowhere = "0192f0e4-0000-7000-8000-000000000000";
    let order = json!({ "market_id": nowhere, "outcome": 0, "side": "buy", "price": "0.5", "size": "1" });
    let (status, body) = app.send(Method::POST, "/v1/orders", Some(&user), Some(order.clone())).await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"), "{body}");
    let (_, batch) = app.send(Method::POST, "/v1/orders/batch", Some(&user), Some(json!({ "orders": [order] }))).await;
    assert_eq!(batch["results"][0]["status"], 404, "{batch}");
    let (status, _) = app.send(Method::DELETE, &format!("/v1/orders?market_id={nowhere}"), Some(&user), None).await;
    assert_eq!(status, 404);
    app.stop().await;
}
