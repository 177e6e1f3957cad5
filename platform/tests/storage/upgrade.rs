//! Upgrades of a database that holds data: for every earlier point of the migration set, a
//! database migrated only that far is given data, then migrated to the end; the data must
//! still be there and read back through today's storage code. Early migrations rebuilt the
//! order and ledger tables before any release; their data is seeded from the point where
//! today's shape of those tables exists.

use std::borrow::Cow;

use kairos_domain::ledger::{Account, Transfer, available};
use kairos_domain::{OrderStatus, Role};
use kairos_platform::storage::{Db, MIGRATOR, ledger, markets, orders, scratch, users};
use sqlx::migrate::Migrator;

use crate::records::order;

/// The migrations from which orders and the ledger have the shape today's code writes.
const STABLE_ORDERS_AND_LEDGER: &str = "20261129000004";

/// The first `n` migrations of the set.
fn first(n: usize) -> Migrator {
    Migrator {
        migrations: Cow::Owned(MIGRATOR.migrations[..n].to_vec()),
        ignore_missing: MIGRATOR.ignore_missing,
        locking: MIGRATOR.locking,
        no_tx: MIGRATOR.no_tx,
    }
}

/// Rows in the columns every version of `users`, `markets` and `outcomes` has had.
async fn seed_catalog(db: &Db) {
    for sql in [
        "INSERT INTO users (id, wallet, role, status, created_at_us, updated_at_us) \
         VALUES ('0192f0e4-0000-7000-8000-00000000000a', 'old-wallet', 'market_maker', 'active', 1, 1)",
        "INSERT INTO markets (id, venue, external_id, slug, question, description, status, tick_size_micros, \
         min_size_micros, end_time_us, resolved_outcome, is_sample, created_at_us, updated_at_us) \
         VALUES ('0192f0e4-0000-7000-8000-00000000000b', 'paper', NULL, 'old-market', 'Old?', '', 'open', 10000, \
         1000000, NULL, NULL, 0, 1, 1)",
        "INSERT INTO outcomes (market_id, idx, label, external_id) VALUES ('0192f0e4-0000-7000-8000-00000000000b', 0, 'Yes', NULL)",
        "INSERT INTO outcomes (market_id, idx, label, external_id) VALUES ('0192f0e4-0000-7000-8000-00000000000b', 1, 'No', NULL)",
    ] {
        sqlx::query(sql).execute(db.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Writes an order in the columns `orders` has had since [`STABLE_ORDERS_AND_LEDGER`] (later
/// migrations add columns that today's `orders::save_in` writes).
async fn insert_order_as_of_stable(conn: &mut sqlx::AnyConnection, o: &kairos_domain::Order) {
    sqlx::query(
        "INSERT INTO orders (id, user_id, client_order_id, request_hash, market_id, outcome, side, order_type, \
         time_in_force, post_only, stp, price_micros, size_micros, filled_micros, reserved_micros, fees_micros, status, \
         reason, venue, venue_order_id, expires_at_us, priority, created_at_us, updated_at_us) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(&o.id)
    .bind(&o.user_id)
    .bind(&o.client_order_id)
    .bind(&o.request_hash)
    .bind(&o.market_id)
    .bind(i64::from(o.outcome))
    .bind(o.side.as_str())
    .bind(o.order_type.as_str())
    .bind(o.time_in_force.as_str())
    .bind(i64::from(o.post_only))
    .bind(o.stp.as_str())
    .bind(o.price.micros())
    .bind(o.size.micros())
    .bind(o.filled.micros())
    .bind(o.reserved_micros)
    .bind(o.fees.micros())
    .bind(o.status.as_str())
    .bind(o.reason.as_deref())
    .bind(o.venue.as_str())
    .bind(o.venue_order_id.as_deref())
    .bind(o.expires_at_us)
    .bind(o.priority)
    .bind(o.created_at_us)
    .bind(o.updated_at_us)
    .execute(conn)
    .await
    .expect("an order");
}

#[tokio::test]
async fn a_database_with_data_upgrades_from_every_earlier_migration() {
    let total = MIGRATOR.migrations.len();
    let stable = MIGRATOR
        .migrations
        .iter()
        .position(|m| m.version.to_string() == STABLE_ORDERS_AND_LEDGER)
        .expect("the orders migration")
        + 1;
    for s in scratch::all().await {
        for applied in 1..total {
            let scratch_db =
                if s.label == "sqlite" { scratch::sqlite() } else { scratch::postgres().await.expect("pg") };
            let db = Db::connect(&scratch_db.url, 2).await.expect("connect");
            first(applied).run(db.pool()).await.unwrap_or_else(|e| panic!("{}: first {applied}: {e}", s.label));
            seed_catalog(&db).await;
            let (user_id, market_id) = ("0192f0e4-0000-7000-8000-00000000000a", "0192f0e4-0000-7000-8000-00000000000b");
            let kept_order = if applied >= stable {
                let mut conn = db.pool().acquire().await.expect("conn");
                let credit = Transfer::between(Account::Deposits, available(user_id), 7_000_000, "credit", None);
                ledger::append_in(&mut conn, &credit).await.expect("a ledger entry");
                let o = order(user_id, market_id, "old", OrderStatus::Open, 1);
                insert_order_as_of_stable(&mut conn, &o).await;
                Some(o)
            } else {
                None
            };
            db.migrate().await.unwrap_or_else(|e| panic!("{}: upgrading from {applied}: {e}", s.label));
            let at = format!("{} from migration {applied}", s.label);
            let user = users::get(&db, user_id).await.expect("read user").unwrap_or_else(|| panic!("{at}: user"));
            assert_eq!((user.wallet.as_str(), user.role), ("old-wallet", Role::MarketMaker), "{at}");
            let market = markets::get(&db, market_id).await.expect("read market").unwrap_or_else(|| panic!("{at}"));
            assert_eq!((market.slug.as_str(), market.outcomes.len()), ("old-market", 2), "{at}");
            if let Some(o) = kept_order {
                assert_eq!(orders::get(&db, &o.id).await.expect("read order"), Some(o), "{at}");
                let balances = ledger::user_balances(&db, user_id).await.expect("balances");
                assert_eq!(balances.iter().map(|(_, _, b)| b).sum::<i64>(), 7_000_000, "{at}");
                assert!(ledger::verify(&db).await.expect("verify").is_ok(), "{at}: the chain is intact");
            }
            db.close().await;
        }
    }
}
