//! The stores the venues and access control write, each on SQLite and PostgreSQL: the ledger,
//! orders and fills, market leases, refresh tokens and kill-switch proposals.

use kairos_domain::ledger::{Account, COLLATERAL, INSUFFICIENT_FUNDS, Posting, Transfer, available, reserved};
use kairos_domain::{
    Fill, Finality, Liquidity, Order, OrderStatus, OrderType, Role, Side, Stp, TimeInForce, Venue, new_id,
};
use kairos_platform::storage::{
    Db, Script, StorageError, kill_switch, ledger, market_leases, markets, orders, paper_log, refresh_tokens, scratch,
    users,
};

use crate::{fresh, market};

async fn user(db: &Db, name: &str) -> String {
    users::get_or_create_by_wallet(db, &format!("wallet-{name}-{}", new_id()), Role::User).await.expect("user").0.id
}

pub(crate) fn order(user_id: &str, market_id: &str, client: &str, status: OrderStatus, priority: i64) -> Order {
    Order {
        id: new_id(),
        user_id: user_id.into(),
        client_order_id: client.into(),
        request_hash: "h".into(),
        market_id: market_id.into(),
        outcome: 0,
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        stp: Stp::CancelNewest,
        price: kairos_domain::Price::from_micros(400_000),
        size: kairos_domain::Size::from_micros(5_000_000),
        filled: kairos_domain::Size::ZERO,
        reserved_micros: 2_000_000,
        fees: kairos_domain::Collateral::ZERO,
        status,
        reason: None,
        venue: Venue::Paper,
        venue_order_id: None,
        order_group_id: None,
        expires_at_us: None,
        priority,
        created_at_us: 1,
        updated_at_us: 1,
    }
}

#[tokio::test]
async fn the_ledger_balances_refuses_overdrafts_and_verifies() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let u = user(&db, "l").await;
        let mut conn = db.pool().acquire().await.expect("conn");
        let credit = Transfer::between(Account::Deposits, available(&u), 10_000_000, "credit", None);
        ledger::append_in(&mut conn, &credit).await.expect("credit");
        let hold = Transfer::between(available(&u), reserved(&u), 4_000_000, "reserve", Some("o1".into()));
        ledger::append_many_in(&mut conn, &[hold.clone(), hold]).await.expect("two holds in one unit");
        let overdraw = Transfer::between(available(&u), reserved(&u), 2_000_001, "reserve", None);
        let refused = ledger::append_in(&mut conn, &overdraw).await;
        assert!(
            matches!(&refused, Err(StorageError::Invalid(m)) if m.starts_with(INSUFFICIENT_FUNDS)),
            "{}: {refused:?}",
            s.label
        );
        let unbalanced = Transfer {
            asset: COLLATERAL.into(),
            kind: "x".into(),
            reference: None,
            postings: vec![
                Posting { account: Account::Fees, amount_micros: 5 },
                Posting { account: Account::Deposits, amount_micros: -4 },
            ],
        };
        assert!(matches!(ledger::append_in(&mut conn, &unbalanced).await, Err(StorageError::Invalid(_))));
        drop(conn);
        let balances = ledger::user_balances(&db, &u).await.expect("balances");
        assert_eq!(
            balances,
            vec![(available(&u), COLLATERAL.to_string(), 2_000_000), (reserved(&u), COLLATERAL.to_string(), 8_000_000)],
            "{}",
            s.label
        );
        let all = ledger::all_balances(&db).await.expect("all");
        assert_eq!(all.iter().map(|(_, _, b)| b).sum::<i64>(), 0, "{}: the ledger sums to zero", s.label);
        let head = ledger::verify(&db).await.expect("verify").expect("intact");
        assert_eq!(head.rows, 6, "{}", s.label);
        let entries = ledger::entries_for(&db, &u, 0, 2).await.expect("entries");
        assert_eq!(entries.len(), 2, "{}: the limit is applied", s.label);
        db.close().await;
    }
}

/// The sequencer's way of writing: the lock's count says whether anyone else wrote since its
/// last commit, and while nobody did, what it knows (the chain's tip, the balances) stands in
/// for reading them. The chain stays intact and every balance it computes is the database's.
#[tokio::test]
async fn a_single_writer_reuses_what_it_knows_only_while_nobody_else_writes() {
    use sqlx::Connection as _;
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (a, b) = (user(&db, "ka").await, user(&db, "kb").await);
        let mut conn = db.pool().acquire().await.expect("conn");
        ledger::append_in(&mut conn, &Transfer::between(Account::Deposits, available(&a), 9_000_000, "credit", None))
            .await
            .expect("credit");
        let mut known = ledger::Known::default();
        let mut last = None;
        for round in 0..3 {
            let mut tx = conn.begin().await.expect("begin");
            let writes = ledger::lock_counted_in(&mut tx).await.expect("lock");
            if last.is_some_and(|w: i64| w + 1 != writes) {
                known = ledger::Known::default();
            }
            let seen = ledger::available_balances_known_in(&mut tx, &[a.as_str()], &mut known).await.expect("read");
            assert_eq!(seen[&(a.clone(), COLLATERAL.to_string())], 9_000_000 - round * 1_000_000, "{}", s.label);
            let hold = Transfer::between(available(&a), reserved(&a), 1_000_000, "reserve", None);
            let pay = Transfer::between(reserved(&a), available(&b), 1_000_000, "trade", None);
            ledger::append_many_known_in(&mut tx, &[hold, pay], &mut known).await.expect("append");
            tx.commit().await.expect("commit");
            last = Some(writes);
            if round == 1 {
                // Another writer in between: the count moves by two, and the next round starts
                // from nothing instead of trusting a stale tip and stale balances.
                ledger::append_in(&mut conn, &Transfer::between(available(&b), Account::Fees, 500_000, "fee", None))
                    .await
                    .expect("other writer");
            }
        }
        // Within one count, a stale view is refused by the database rather than written: the
        // same tip twice would repeat a sequence number.
        let mut stale = known.clone();
        ledger::append_in(&mut conn, &Transfer::between(Account::Deposits, available(&a), 1, "credit", None))
            .await
            .expect("credit");
        let mut tx = conn.begin().await.expect("begin");
        ledger::lock_in(&mut tx).await.expect("lock");
        let again = Transfer::between(available(&a), reserved(&a), 1, "reserve", None);
        assert!(ledger::append_many_known_in(&mut tx, &[again], &mut stale).await.is_err(), "{}", s.label);
        drop(tx);
        drop(conn);
        let balances = ledger::user_balances(&db, &b).await.expect("balances");
        assert_eq!(balances, vec![(available(&b), COLLATERAL.to_string(), 2_500_000)], "{}", s.label);
        assert_eq!(
            ledger::user_balances(&db, &a).await.expect("balances"),
            vec![(available(&a), COLLATERAL.to_string(), 6_000_001), (reserved(&a), COLLATERAL.to_string(), 0)],
            "{}",
            s.label
        );
        let head = ledger::verify(&db).await.expect("verify").expect("intact");
        assert_eq!(head.rows, 2 + 3 * 4 + 2 + 2, "{}", s.label);
        db.close().await;
    }
}

/// Rows travel to the database as one JSON parameter per statement: text must come back
/// byte for byte (quotes, backslashes, control characters, non-ASCII) and integers exactly
/// at the ends of i64, where a float would round.
#[tokio::test]
async fn order_and_fill_values_come_back_exactly() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (m, _) = markets::upsert(&db, &market(&format!("x-{}", new_id()))).await.expect("market");
        let u = user(&db, "x").await;
        let odd = "q\"uote\\ back\\\"slash\n\ttab \u{1} é ☃ 𝄞 [1,2] {\"a\":null}";
        let mut o = order(&u, &m.id, odd, OrderStatus::PartiallyFilled, i64::MIN + 1);
        o.reason = Some(odd.chars().rev().collect());
        o.venue_order_id = Some("null".into());
        o.expires_at_us = Some(i64::MAX);
        o.reserved_micros = i64::MAX - 1;
        o.created_at_us = 9_007_199_254_740_993; // 2^53 + 1: a double cannot hold it
        o.updated_at_us = -1;
        let fill = Fill {
            id: new_id(),
            trade_id: odd.into(),
            order_id: o.id.clone(),
            user_id: u.clone(),
            market_id: m.id.clone(),
            outcome: 1,
            side: Side::Sell,
            price: kairos_domain::Price::from_micros(999_999),
            size: kairos_domain::Size::from_micros(i64::MAX),
            fee: kairos_domain::Collateral::from_micros(i64::MIN + 1),
            liquidity: Liquidity::Maker,
            finality: Finality::Matched,
            created_at_us: 9_007_199_254_740_993,
        };
        let mut conn = db.pool().acquire().await.expect("conn");
        orders::save_in(&mut conn, &[&o]).await.expect("save");
        orders::insert_fills_in(&mut conn, std::slice::from_ref(&fill)).await.expect("fill");
        drop(conn);
        assert_eq!(orders::get(&db, &o.id).await.expect("get"), Some(o.clone()), "{}", s.label);
        assert_eq!(orders::fills(&db, &u, Some(&m.id), None, 10).await.expect("fills"), [fill], "{}", s.label);
        db.close().await;
    }
}

#[tokio::test]
async fn orders_and_fills_round_trip_and_only_live_orders_are_live() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (m, _) = markets::upsert(&db, &market(&format!("o-{}", new_id()))).await.expect("market");
        let u = user(&db, "o").await;
        let open = order(&u, &m.id, "c1", OrderStatus::Open, 2);
        let pending = order(&u, &m.id, "c2", OrderStatus::Pending, 1);
        let filled = order(&u, &m.id, "c3", OrderStatus::Filled, 3);
        let mut conn = db.pool().acquire().await.expect("conn");
        orders::save_in(&mut conn, &[&open, &pending, &filled]).await.expect("save");
        let fill = Fill {
            id: new_id(),
            trade_id: "t1".into(),
            order_id: filled.id.clone(),
            user_id: u.clone(),
            market_id: m.id.clone(),
            outcome: 0,
            side: Side::Buy,
            price: kairos_domain::Price::from_micros(400_000),
            size: kairos_domain::Size::from_micros(5_000_000),
            fee: kairos_domain::Collateral::ZERO,
            liquidity: Liquidity::Taker,
            finality: Finality::Confirmed,
            created_at_us: 2,
        };
        orders::insert_fills_in(&mut conn, std::slice::from_ref(&fill)).await.expect("fill");
        let live: Vec<String> =
            orders::live_in_market_in(&mut conn, &m.id).await.expect("live").into_iter().map(|o| o.id).collect();
        assert_eq!(live, [pending.id.clone(), open.id.clone()], "{}: live ones, in priority order", s.label);
        drop(conn);
        assert_eq!(orders::get(&db, &open.id).await.expect("get"), Some(open.clone()), "{}", s.label);
        assert_eq!(orders::by_client_id(&db, &u, "c3").await.expect("by client id").map(|o| o.id), Some(filled.id));
        assert_eq!(orders::markets_of_live_orders(&db, &u).await.expect("markets"), vec![m.id.clone()]);
        let page = orders::list(&db, &u, &orders::OrderFilter::default(), None, 2).await.expect("list");
        assert_eq!(page.len(), 2, "{}: LIMIT is bound", s.label);
        assert_eq!(orders::fills(&db, &u, Some(&m.id), None, 10).await.expect("fills"), [fill], "{}", s.label);
        // Saving again updates in place: an order is one row whatever its history.
        let mut done = open.clone();
        done.status = OrderStatus::Cancelled;
        let mut conn = db.pool().acquire().await.expect("conn");
        orders::save_in(&mut conn, &[&done]).await.expect("save again");
        drop(conn);
        assert_eq!(orders::get(&db, &open.id).await.expect("get").map(|o| o.status), Some(OrderStatus::Cancelled));
        db.close().await;
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(db.pool()).await.expect("count")
}

/// A fill of one unit of `o` by its own user.
fn fill_of(o: &Order) -> Fill {
    Fill {
        id: new_id(),
        trade_id: format!("t-{}", o.id),
        order_id: o.id.clone(),
        user_id: o.user_id.clone(),
        market_id: o.market_id.clone(),
        outcome: 0,
        side: Side::Buy,
        price: o.price,
        size: kairos_domain::Size::from_micros(1),
        fee: kairos_domain::Collateral::ZERO,
        liquidity: Liquidity::Maker,
        finality: Finality::Confirmed,
        created_at_us: 3,
    }
}

/// Multi-row writes are cut into statements of fixed row counts (256, 128, … 1): every row
/// lands exactly once at every size around those boundaries, and an upsert of more rows than
/// one statement takes updates them all in place.
#[tokio::test]
async fn multi_row_writes_land_every_row_once() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (m, _) = markets::upsert(&db, &market(&format!("p-{}", new_id()))).await.expect("market");
        let u = user(&db, "p").await;
        let mut conn = db.pool().acquire().await.expect("conn");
        let mut saved: Vec<Order> = Vec::new();
        for n in [1usize, 3, 4, 5, 255, 257, 300] {
            let batch: Vec<Order> = (0..n)
                .map(|i| {
                    let mut o = order(&u, &m.id, &format!("m{n}-{i}"), OrderStatus::Open, i as i64);
                    o.reason = (i % 2 == 0).then(|| format!("r{i}"));
                    o
                })
                .collect();
            orders::save_in(&mut conn, &batch.iter().collect::<Vec<_>>()).await.expect("save");
            let fills: Vec<Fill> = batch.iter().map(fill_of).collect();
            orders::insert_fills_in(&mut conn, &fills).await.expect("fills");
            saved.extend(batch);
        }
        assert_eq!(count(&db, "orders").await, saved.len() as i64, "{}", s.label);
        assert_eq!(count(&db, "fills").await, saved.len() as i64, "{}", s.label);
        // The idempotency lookup across lists (256 + 64 pairs) and users: another user's order
        // under the same client order id is found for that user only, a missing pair is absent.
        let v = user(&db, "p2").await;
        let theirs = order(&v, &m.id, "m300-0", OrderStatus::Open, 1);
        orders::save_in(&mut conn, &[&theirs]).await.expect("save theirs");
        let mut asked: Vec<(&str, &str)> =
            saved[saved.len() - 300..].iter().map(|o| (u.as_str(), o.client_order_id.as_str())).collect();
        asked.extend([(v.as_str(), "m300-0"), (v.as_str(), "m300-1"), (u.as_str(), "missing")]);
        let mut found: Vec<String> =
            orders::by_client_ids_in(&mut conn, &asked).await.expect("lookup").into_iter().map(|o| o.id).collect();
        let mut expected: Vec<String> = saved[saved.len() - 300..].iter().map(|o| o.id.clone()).collect();
        expected.push(theirs.id.clone());
        found.sort_unstable();
        expected.sort_unstable();
        assert_eq!(found, expected, "{}", s.label);
        sqlx::query("DELETE FROM orders WHERE id = $1").bind(&theirs.id).execute(&mut *conn).await.expect("remove");
        for o in [&saved[0], &saved[4], &saved[300], &saved[saved.len() - 1]] {
            assert_eq!(orders::get(&db, &o.id).await.expect("get").as_ref(), Some(o), "{}", s.label);
        }
        // An upsert of 257 rows (256 + 1) changes them in place.
        let cancelled: Vec<Order> = saved[..257]
            .iter()
            .map(|o| Order { status: OrderStatus::Cancelled, updated_at_us: 9, ..o.clone() })
            .collect();
        orders::save_in(&mut conn, &cancelled.iter().collect::<Vec<_>>()).await.expect("upsert");
        drop(conn);
        assert_eq!(count(&db, "orders").await, saved.len() as i64, "{}", s.label);
        assert_eq!(orders::get(&db, &saved[256].id).await.expect("get").as_ref(), Some(&cancelled[256]));
        assert_eq!(orders::get(&db, &saved[257].id).await.expect("get").as_ref(), Some(&saved[257]));
        // The ledger: 150 transfers (300 entries: 256 + 32 + 8 + 4) and the balance they move.
        let credit = Transfer::between(Account::Deposits, available(&u), 1_000, "credit", None);
        let mut conn = db.pool().acquire().await.expect("conn");
        ledger::append_many_in(&mut conn, &vec![credit; 150]).await.expect("append");
        drop(conn);
        assert_eq!(count(&db, "ledger_entries").await, 300, "{}", s.label);
        let head = ledger::verify(&db).await.expect("verify").expect("an unbroken chain");
        assert_eq!(head.rows, 300, "{}", s.label);
        assert_eq!(
            ledger::user_balances(&db, &u).await.expect("balances"),
            vec![(available(&u), COLLATERAL.to_string(), 150_000)],
            "{}",
            s.label
        );
        db.close().await;
    }
}

/// A script's statements run in order with their own values (on SQLite they travel as one
/// text whose anonymous parameters are bound across statements), and a statement that fails
/// fails the script and leaves the caller's transaction to roll back all of it.
#[tokio::test]
async fn a_script_binds_each_statement_its_own_values() {
    use sqlx::Connection as _;
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (m, _) = markets::upsert(&db, &market(&format!("s-{}", new_id()))).await.expect("market");
        let u = user(&db, "s").await;
        let batch: Vec<Order> = (0..5)
            .map(|i| {
                let mut o = order(&u, &m.id, &format!("s{i}"), OrderStatus::Open, i);
                o.reason = (i % 2 == 1).then(|| format!("r{i}"));
                o
            })
            .collect();
        let fills: Vec<Fill> = batch
            .iter()
            .map(|o| Fill { outcome: 1, side: Side::Sell, liquidity: Liquidity::Taker, ..fill_of(o) })
            .collect();
        let row = paper_log::Row { batch: 41, at_us: 12, instance: "i".into(), record: "{}".into() };
        let mut conn = db.pool().acquire().await.expect("conn");
        let mut script = Script::new(&conn);
        // 5 orders are two statements (4 + 1): four statements with 25, 25, 65 and 4 values.
        orders::save_to(&mut script, &batch.iter().collect::<Vec<_>>());
        orders::insert_fills_to(&mut script, &fills);
        paper_log::append_to(&mut script, std::slice::from_ref(&row));
        script.run(&mut conn).await.expect("run");
        for o in &batch {
            assert_eq!(orders::get(&db, &o.id).await.expect("get").as_ref(), Some(o), "{}", s.label);
        }
        let mut stored = orders::fills(&db, &u, None, None, 100).await.expect("fills");
        stored.sort_by(|a, b| a.id.cmp(&b.id));
        let mut expected = fills.clone();
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(stored, expected, "{}", s.label);
        assert_eq!(paper_log::page(&db, 0, 10).await.expect("log"), vec![row.clone()], "{}", s.label);

        // A failing statement (the same batch number again) after a good one: the script
        // fails, and rolling back the transaction takes the good one with it.
        let late = order(&u, &m.id, "late", OrderStatus::Open, 9);
        let mut tx = conn.begin().await.expect("begin");
        let mut script = Script::new(&tx);
        orders::save_to(&mut script, &[&late]);
        paper_log::append_to(&mut script, std::slice::from_ref(&row));
        assert!(script.run(&mut tx).await.is_err(), "{}", s.label);
        tx.rollback().await.expect("rollback");
        drop(conn);
        assert_eq!(orders::get(&db, &late.id).await.expect("get"), None, "{}", s.label);
        assert_eq!(count(&db, "orders").await, 5, "{}", s.label);
        db.close().await;
    }
}

/// The paper venue commits batches it built before taking the ledger lock as one script:
/// `begin_expecting_to` opens the transaction and takes the lock only at the count the
/// batches were built for, `run_and_commit` ends it. At another count the script fails and,
/// rolled back, leaves nothing, the lock's count included.
#[tokio::test]
async fn a_script_commits_only_at_the_ledger_lock_count_it_expects() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (m, _) = markets::upsert(&db, &market(&format!("c-{}", new_id()))).await.expect("market");
        let u = user(&db, "c").await;
        let mut conn = db.pool().acquire().await.expect("conn");
        let start = ledger::lock_count(&mut conn).await.expect("count");
        let first = order(&u, &m.id, "c1", OrderStatus::Open, 1);
        let mut script = Script::single(&conn);
        ledger::begin_expecting_to(&mut script, start + 1, 1);
        orders::save_to(&mut script, &[&first]);
        script.run_and_commit(&mut conn).await.expect("commit");
        assert_eq!(ledger::lock_count(&mut conn).await.expect("count"), start + 1, "{}", s.label);
        assert_eq!(orders::get(&db, &first.id).await.expect("get").as_ref(), Some(&first), "{}", s.label);

        // Built for the same count again: another writer (the script above) came in between.
        let second = order(&u, &m.id, "c2", OrderStatus::Open, 2);
        let mut script = Script::single(&conn);
        ledger::begin_expecting_to(&mut script, start + 1, 1);
        orders::save_to(&mut script, &[&second]);
        assert!(script.run_and_commit(&mut conn).await.is_err(), "{}", s.label);
        sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.expect("rollback");
        assert_eq!(ledger::lock_count(&mut conn).await.expect("count"), start + 1, "{}", s.label);
        assert_eq!(orders::get(&db, &second.id).await.expect("get"), None, "{}", s.label);

        // At the right count but with a failing statement: nothing commits either, and the
        // connection serves again after the rollback.
        let row = paper_log::Row { batch: 7, at_us: 1, instance: "i".into(), record: "{}".into() };
        paper_log::append_in(&mut conn, &row).await.expect("log");
        let mut script = Script::single(&conn);
        ledger::begin_expecting_to(&mut script, start + 2, 1);
        orders::save_to(&mut script, &[&second]);
        paper_log::append_to(&mut script, std::slice::from_ref(&row));
        assert!(script.run_and_commit(&mut conn).await.is_err(), "{}", s.label);
        sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.expect("rollback");
        assert_eq!(orders::get(&db, &second.id).await.expect("get"), None, "{}", s.label);
        assert_eq!(ledger::lock_count(&mut conn).await.expect("count"), start + 1, "{}", s.label);

        // Several batches in one transaction, one count each, with an order and its fill
        // (which names it) among the writes.
        let mut script = Script::single(&conn);
        ledger::begin_expecting_to(&mut script, start + 2, 3);
        orders::save_to(&mut script, &[&second]);
        let fill = Fill { outcome: 1, side: Side::Sell, liquidity: Liquidity::Taker, ..fill_of(&second) };
        orders::insert_fills_to(&mut script, std::slice::from_ref(&fill));
        script.run_and_commit(&mut conn).await.expect("commit");
        assert_eq!(ledger::lock_count(&mut conn).await.expect("count"), start + 4, "{}", s.label);
        assert_eq!(orders::get(&db, &second.id).await.expect("get").as_ref(), Some(&second), "{}", s.label);
        assert_eq!(orders::fills(&db, &u, None, None, 10).await.expect("fills"), vec![fill], "{}", s.label);
        drop(conn);
        db.close().await;
    }
}

#[tokio::test]
async fn a_market_lease_is_held_by_one_owner_until_it_lapses() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (m, _) = markets::upsert(&db, &market(&format!("l-{}", new_id()))).await.expect("market");
        let mut conn = db.pool().acquire().await.expect("conn");
        assert!(market_leases::acquire_in(&mut conn, &m.id, "a", "http://a", 100, 200).await.expect("a takes it"));
        assert!(!market_leases::acquire_in(&mut conn, &m.id, "b", "http://b", 150, 250).await.expect("b waits"));
        assert!(market_leases::acquire_in(&mut conn, &m.id, "a", "http://a", 150, 300).await.expect("a renews"));
        assert!(market_leases::acquire_in(&mut conn, &m.id, "b", "http://b", 301, 400).await.expect("lapsed: b"));
        let held = market_leases::of_markets_in(&mut conn, &[m.id.as_str()]).await.expect("leases");
        assert_eq!(held.iter().map(|l| l.owner.as_str()).collect::<Vec<_>>(), ["b"], "{}", s.label);
        drop(conn);
        assert_eq!(market_leases::renew_all(&db, "a", 310, 500).await.expect("renew"), 0, "a holds nothing");
        assert_eq!(market_leases::renew_all(&db, "b", 310, 500).await.expect("renew"), 1);
        market_leases::release_all(&db, "b").await.expect("release");
        let mut conn = db.pool().acquire().await.expect("conn");
        assert!(market_leases::acquire_in(&mut conn, &m.id, "a", "http://a", 311, 600).await.expect("released"));
        drop(conn);
        db.close().await;
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_once_and_revoke_by_family_and_user() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let u = user(&db, "r").await;
        refresh_tokens::insert(&db, "t1", "f1", &u, "hash1", 10, 1_000).await.expect("insert");
        refresh_tokens::insert(&db, "t2", "f2", &u, "hash2", 10, 1_000).await.expect("insert");
        let t1 = refresh_tokens::by_hash(&db, "hash1").await.expect("read").expect("found");
        assert_eq!((t1.family_id.as_str(), t1.rotated_at_us), ("f1", None), "{}", s.label);
        assert!(refresh_tokens::mark_rotated(&db, "t1", 20).await.expect("rotate"));
        assert!(!refresh_tokens::mark_rotated(&db, "t1", 21).await.expect("rotate"), "{}: once only", s.label);
        let mut conn = db.pool().acquire().await.expect("conn");
        assert_eq!(refresh_tokens::revoke_family_in(&mut conn, "f1", 30).await.expect("family"), 1);
        assert_eq!(refresh_tokens::revoke_all_for_user_in(&mut conn, &u, 40).await.expect("user"), 1, "f1 already");
        drop(conn);
        assert!(!refresh_tokens::mark_rotated(&db, "t2", 50).await.expect("revoked"), "{}", s.label);
        let t2 = refresh_tokens::by_hash(&db, "hash2").await.expect("read").expect("found");
        assert_eq!(t2.revoked_at_us, Some(40), "{}", s.label);
        assert_eq!(refresh_tokens::by_hash(&db, "nope").await.expect("read"), None);
        db.close().await;
    }
}

#[tokio::test]
async fn kill_switch_proposals_collect_approvals_and_close_once() {
    for s in scratch::all().await {
        let db = fresh(&s.url).await;
        let (op1, op2) = (user(&db, "k1").await, user(&db, "k2").await);
        let proposal = |id: &str, expires_at_us| kill_switch::Proposal {
            id: id.into(),
            state: "enabled".into(),
            proposed_by: op1.clone(),
            status: "open".into(),
            created_at_us: 10,
            expires_at_us,
            applied_at_us: None,
            approvals: Vec::new(),
        };
        kill_switch::insert(&db, &proposal("p1", 1_000)).await.expect("p1");
        kill_switch::insert(&db, &proposal("p2", 100)).await.expect("p2");
        assert!(kill_switch::approve(&db, "p1", &op2, 20).await.expect("approve"));
        assert!(!kill_switch::approve(&db, "p1", &op2, 21).await.expect("again"), "{}: one approval each", s.label);
        let p1 = kill_switch::get(&db, "p1").await.expect("get").expect("found");
        assert_eq!(p1.approvals, [op1.clone(), op2.clone()], "{}: the proposer first", s.label);
        assert_eq!(kill_switch::expire_due(&db, 500).await.expect("expire"), 1, "{}: p2 only", s.label);
        assert!(kill_switch::close(&db, "p1", "applied", Some(600)).await.expect("apply"));
        assert!(!kill_switch::close(&db, "p1", "applied", Some(601)).await.expect("again"), "{}: closes once", s.label);
        assert!(kill_switch::open(&db).await.expect("open").is_empty(), "{}", s.label);
        kill_switch::insert(&db, &proposal("p3", 2_000)).await.expect("p3");
        let mut conn = db.pool().acquire().await.expect("conn");
        assert_eq!(kill_switch::expire_all_open_in(&mut conn).await.expect("stop"), 1, "{}", s.label);
        drop(conn);
        let statuses: Vec<String> =
            futures_util::future::join_all(["p1", "p2", "p3"].map(|id| kill_switch::get(&db, id)))
                .await
                .into_iter()
                .map(|p| p.expect("get").expect("found").status)
                .collect();
        assert_eq!(statuses, ["applied", "expired", "expired"], "{}", s.label);
        db.close().await;
    }
}
