//! The paper venue builds a batch while the one before it commits, on both databases: every
//! request is answered once and right, a client order id sent twice is one order even when
//! its first batch is still committing, and a batch built ahead that meets another writer of
//! the ledger runs again.

use kairos_domain::ledger::{Account, Transfer};
use kairos_domain::{Role, Venue};
use kairos_platform::storage::{ledger, orders as stored_orders, scratch};
use kairos_venues::paper::replay::{self, Options};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::orders::{funded, market};
use crate::support::{eventually, spawn};

/// Sends an order; answers its status, its `idempotent-replayed` header and its body.
async fn place(client: &reqwest::Client, base: &str, token: &str, body: &Value) -> (u16, bool, Value) {
    let res = client.post(format!("{base}/v1/orders")).bearer_auth(token).json(body).send().await.expect("send");
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    (status, replayed, res.json().await.expect("json"))
}

/// Available and reserved collateral of a user, in micro-units, from the ledger.
async fn collateral(app: &crate::support::TestApp, token: &str) -> (i64, i64) {
    let (_, b) = app.send(Method::GET, "/v1/balances", Some(token), None).await;
    let micros = |field: &str| {
        let text = b["balances"][0][field].as_str().unwrap_or("0");
        kairos_domain::parse_micros(text).expect("amount")
    };
    (micros("available"), micros("reserved"))
}

#[tokio::test]
async fn concurrent_orders_sent_twice_are_each_one_order_and_the_log_replays() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "built-ahead-twice").await;
        let mut traders = Vec::new();
        for _ in 0..4 {
            traders.push(funded(&app, &op, "1000").await);
        }
        let before = app.state().venues().paper.batch_counts();
        // Four clients, each sending every order twice at once: the two copies meet in one
        // batch or in two, the first of which may still be committing.
        let mut tasks = Vec::new();
        for (t, (_, token)) in traders.iter().enumerate() {
            let (client, base, token, m) = (app.client.clone(), app.base.clone(), token.clone(), m.clone());
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for i in 0..25 {
                    // YES bids and NO bids at 0.50 cross one another: orders rest and fill.
                    let (outcome, price) = if (t + i) % 2 == 0 { (0, "0.50") } else { (1, "0.50") };
                    let body = json!({
                        "market_id": m, "outcome": outcome, "side": "buy", "price": price, "size": "2",
                        "client_order_id": format!("twice-{t}-{i}"),
                    });
                    let (a, b) =
                        tokio::join!(place(&client, &base, &token, &body), place(&client, &base, &token, &body));
                    answers.push((a, b));
                }
                answers
            }));
        }
        let mut ids = std::collections::HashSet::new();
        for task in tasks {
            for ((sa, ra, a), (sb, rb, b)) in task.await.expect("task") {
                let mut statuses = [(sa, ra), (sb, rb)];
                statuses.sort();
                assert_eq!(statuses, [(200, true), (201, false)], "{}: {a} / {b}", db.label);
                assert_eq!(a["id"], b["id"], "{}", db.label);
                ids.insert(a["id"].as_str().expect("id").to_string());
            }
        }
        assert_eq!(ids.len(), 100, "{}", db.label);
        for id in &ids {
            assert!(stored_orders::get(app.state().db(), id).await.expect("get").is_some(), "{}: {id}", db.label);
        }
        let counts = app.state().venues().paper.batch_counts();
        eprintln!("{}: batches {:?} (before the orders: {:?})", db.label, counts, before);
        assert!(counts.built_ahead > before.built_ahead, "{}: {counts:?}", db.label);
        assert_eq!(counts.failures, 0, "{}: no commit may fail: {counts:?}", db.label);

        let verified = ledger::verify(app.state().db()).await.expect("verify");
        assert!(verified.is_ok(), "{}: {verified:?}", db.label);
        let replayed = replay::run(app.state().db(), &Options::default()).await.expect("replay");
        assert!(replayed.mismatches.is_empty(), "{}: {:?}", db.label, replayed.mismatches);
        // Every placement the engine ran, the copies answered as replays included.
        assert_eq!(replayed.orders, 200, "{}: {replayed:?}", db.label);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_batch_built_ahead_that_meets_another_ledger_writer_runs_again() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let m = market(&app, Venue::Paper, "built-ahead-conflict").await;
        let (user, token) = funded(&app, &op, "100").await;
        let bid = |i: u32| {
            json!({ "market_id": m, "outcome": 0, "side": "buy", "price": "0.10", "size": "10",
                    "client_order_id": format!("bid-{i}") })
        };
        // The first order runs the serial way: the sequencer learns the ledger and takes the
        // market's lease.
        let (status, _, first) = place(&app.client, &app.base, &token, &bid(1)).await;
        assert_eq!(status, 201, "{first}");
        let paper = app.state().venues().paper.clone();
        let before = paper.batch_counts();

        // Another writer credits the user and holds the ledger lock.
        let mut conn = app.state().db().pool().acquire().await.expect("conn");
        let mut tx = conn.begin().await.expect("begin");
        let credit = Transfer::between(Account::Deposits, ledger::available(&user), 5_000_000, "deposit", None);
        ledger::append_in(&mut tx, &credit).await.expect("credit");

        // The next order is built ahead on what the sequencer knew; its commit waits for the
        // lock and must find the other writer's count there.
        let (client, base, token2, second) = (app.client.clone(), app.base.clone(), token.clone(), bid(2));
        let placing = tokio::spawn(async move { place(&client, &base, &token2, &second).await });
        eventually(10, "the second batch's commit starts", || {
            let paper = paper.clone();
            async move { paper.batch_counts().commits_started > before.commits_started }
        })
        .await;
        tx.commit().await.expect("commit the credit");
        drop(conn);
        let (status, _, second) = placing.await.expect("task");
        assert_eq!(status, 201, "{}: {second}", db.label);

        let after = paper.batch_counts();
        assert_eq!(after.conflicts - before.conflicts, 1, "{}: {after:?}", db.label);
        assert_eq!(after.failures, before.failures, "{}: {after:?}", db.label);
        // 100 credited, 5 more from the other writer, 1 held by each bid.
        assert_eq!(collateral(&app, &token).await, (103_000_000, 2_000_000), "{}", db.label);
        // The batches after it are built ahead again.
        let (status, _, third) = place(&app.client, &app.base, &token, &bid(3)).await;
        assert_eq!(status, 201, "{third}");
        assert!(paper.batch_counts().built_ahead > after.built_ahead, "{}", db.label);

        let verified = ledger::verify(app.state().db()).await.expect("verify");
        assert!(verified.is_ok(), "{}: {verified:?}", db.label);
        let replayed = replay::run(app.state().db(), &Options::default()).await.expect("replay");
        assert!(replayed.mismatches.is_empty(), "{}: {:?}", db.label, replayed.mismatches);
        app.stop().await;
    }
}
