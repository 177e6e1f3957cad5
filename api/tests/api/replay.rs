//! `replay` on both databases: the whole log, one market, or up to a time, each compared with
//! the database; a changed order is named, and only where the comparison looks.

use kairos_domain::{Role, Venue, now_us};
use kairos_platform::storage::scratch;
use kairos_venues::paper::replay::{self, Options};
use reqwest::Method;
use serde_json::json;

use crate::orders::{funded, market};
use crate::support::spawn;

#[tokio::test]
async fn replay_compares_the_log_one_market_or_up_to_a_time_and_names_a_changed_order() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let (m1, m2) = (market(&app, Venue::Paper, "replay-1").await, market(&app, Venue::Paper, "replay-2").await);
        let (_, maker) = funded(&app, &op, "100").await;
        let (_, taker) = funded(&app, &op, "100").await;
        let trade = |m: &str| {
            let bid = json!({ "market_id": m, "outcome": 0, "side": "buy", "price": "0.40", "size": "3" });
            let take = json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "2" });
            (bid, take)
        };
        let (bid, take) = trade(&m1);
        app.send(Method::POST, "/v1/orders", Some(&maker), Some(bid)).await;
        app.send(Method::POST, "/v1/orders", Some(&taker), Some(take)).await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let between = now_us();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (bid, take) = trade(&m2);
        let (_, later) = app.send(Method::POST, "/v1/orders", Some(&maker), Some(bid)).await;
        app.send(Method::POST, "/v1/orders", Some(&taker), Some(take)).await;
        let store = app.state().db().clone();

        let all = replay::run(&store, &Options::default()).await.expect("replay");
        assert!(all.mismatches.is_empty(), "{}: {:?}", db.label, all.mismatches);
        assert_eq!((all.markets, all.orders, all.fills, all.ledger_compared), (2, 4, 4, true), "{all:?}");
        let until = replay::run(&store, &Options { market: None, until_us: Some(between) }).await.expect("until");
        assert!(until.mismatches.is_empty(), "{}: {:?}", db.label, until.mismatches);
        assert_eq!((until.orders, until.fills, until.ledger_compared), (2, 2, false), "{until:?}");

        // An order of the second market changed behind the log's back.
        let id = later["id"].as_str().expect("id").to_string();
        sqlx::query("UPDATE orders SET filled_micros = filled_micros + 1 WHERE id = $1")
            .bind(&id)
            .execute(store.pool())
            .await
            .expect("change");
        let all = replay::run(&store, &Options::default()).await.expect("replay");
        assert_eq!(all.mismatch_count, 1, "{}: {:?}", db.label, all.mismatches);
        assert!(all.mismatches[0].contains(&id) && all.mismatches[0].contains("filled"), "{:?}", all.mismatches);
        let one = replay::run(&store, &Options { market: Some(m1.clone()), until_us: None }).await.expect("m1");
        assert!(one.mismatches.is_empty(), "{}: only the first market is compared: {:?}", db.label, one.mismatches);
        let other = replay::run(&store, &Options { market: Some(m2.clone()), until_us: None }).await.expect("m2");
        assert_eq!(other.mismatch_count, 1, "{}: {:?}", db.label, other.mismatches);
        let until = replay::run(&store, &Options { market: None, until_us: Some(between) }).await.expect("until");
        assert!(until.mismatches.is_empty(), "{}: the change is after the time: {:?}", db.label, until.mismatches);
        app.stop().await;
    }
}
