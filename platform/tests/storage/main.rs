//! The storage layer on every backend: SQLite and PostgreSQL (see `scratch`).

mod keeper_leases;
mod records;
mod upgrade;

use kairos_domain::{MarketProtocol, MarketStatus, NewMarket, Outcome, Venue};
use kairos_platform::storage::markets::{self, Upserted};
use kairos_platform::storage::{Db, MIGRATOR, StorageError, scratch, settings};
use sqlx::Row as _;

fn market(ext: &str) -> NewMarket {
    NewMarket {
        venue: Venue::Polymarket,
        external_id: Some(ext.to_string()),
        slug: format!("slug-{ext}"),
        question: "Will it?".to_string(),
        description: "d".to_string(),
        status: MarketStatus::Open,
        tick_size: kairos_domain::Price::from_micros(10_000),
        min_size: kairos_domain::Size::from_micros(5_000_000),
        end_time_us: None,
        protocol: None,
        is_sample: true,
        outcomes: vec![
            Outcome { index: 0, label: "Yes".into(), external_id: Some("11".into()) },
            Outcome { index: 1, label: "No".into(), external_id: Some("22".into()) },
        ],
    }
}

async fn fresh(url: &str) -> Db {
    let db = Db::connect(url, 2).await.expect("connect");
    db.migrate().await.expect("migrate");
    db
}

/// Processes starting together on a fresh database (two keepers, an API and a keeper) all
/// migrate it: none may fail on a migration another is applying.
#[tokio::test]
async fn concurrent_first_migrations_all_succeed() {
    for scratch in scratch::all().await {
        for round in 0..3 {
            let fresh_url = if scratch.label == "sqlite" {
                let dir = tempfile::tempdir().expect("dir");
                let url = format!("sqlite:{}", dir.path().join("k.db").display());
                (url, Some(dir))
            } else if round == 0 {
                (scratch.url.clone(), None)
            } else {
                break;
            };
            let handles: Vec<Db> = futures_util::future::try_join_all((0..4).map(|_| Db::connect(&fresh_url.0, 2)))
                .await
                .expect("connect");
            let results = futures_util::future::join_all(handles.iter().map(Db::migrate)).await;
            for r in results {
                r.unwrap_or_else(|e| panic!("{}: round {round}: {e}", scratch.label));
            }
        }
    }
}

#[tokio::test]
async fn migrations_apply_from_empty_and_are_idempotent() {
    for scratch in scratch::all().await {
        let db = fresh(&scratch.url).await;
        db.migrate().await.expect("second run is a no-op");
        let applied: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(db.pool())
            .await
            .expect("count")
            .get(0);
        assert_eq!(usize::try_from(applied).expect("count"), MIGRATOR.iter().count(), "{}", scratch.label);
        for table in [
            "markets",
            "outcomes",
            "users",
            "api_keys",
            "orders",
            "fills",
            "dead_man_switches",
            "market_leases",
            "ledger_entries",
            "audit_log",
            "settings",
        ] {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(db.pool())
                .await
                .unwrap_or_else(|e| panic!("{}: table {table}: {e}", scratch.label))
                .get(0);
            assert_eq!(n, 0);
        }
        // An API key's secret is kept encrypted only: no hash of it (never read) remains.
        let hash = sqlx::query("SELECT secret_hash FROM api_keys").fetch_all(db.pool()).await;
        assert!(hash.is_err(), "{}: api_keys.secret_hash is gone", scratch.label);
        db.close().await;
    }
}

#[tokio::test]
async fn markets_round_trip_and_upsert_by_external_id() {
    for scratch in scratch::all().await {
        let db = fresh(&scratch.url).await;
        let (created, how) = markets::upsert(&db, &market("0xa")).await.expect("insert");
        assert_eq!(how, Upserted::Created);
        assert_eq!(created.outcomes.len(), 2);
        assert!(created.is_sample);
        assert_eq!(markets::get(&db, &created.id).await.expect("get"), Some(created.clone()));

        let mut changed = market("0xa");
        changed.question = "Will it, really?".into();
        changed.status = MarketStatus::Closed;
        let (updated, how) = markets::upsert(&db, &changed).await.expect("update");
        assert_eq!((how, updated.id.as_str()), (Upserted::Updated, created.id.as_str()));
        assert_eq!(updated.question, "Will it, really?");
        assert_eq!(updated.status, MarketStatus::Closed);
        assert!(updated.updated_at_us >= created.updated_at_us);
        assert_eq!(updated.protocol, None);
        // A re-import that learns the market's protocol keeps it.
        changed.protocol = Some(MarketProtocol::PositionsV2);
        let (v2, _) = markets::upsert(&db, &changed).await.expect("protocol");
        assert_eq!(v2.protocol, Some(MarketProtocol::PositionsV2), "{}", scratch.label);
        assert_eq!(markets::get(&db, &v2.id).await.expect("get").map(|m| m.protocol), Some(v2.protocol));

        let mut three = market("0xa");
        three.outcomes.push(Outcome { index: 2, label: "Maybe".into(), external_id: None });
        assert!(matches!(markets::upsert(&db, &three).await, Err(StorageError::Conflict(_))), "{}", scratch.label);

        markets::upsert(&db, &market("0xb")).await.expect("second");
        let all = markets::all(&db).await.expect("all");
        assert_eq!(all.len(), 2);
        assert!(all[0].id < all[1].id, "ids sort by creation");
        assert_eq!(markets::fingerprint(&db).await.expect("fp").0, 2);
        assert_eq!(markets::get(&db, "00000000-0000-7000-8000-000000000000").await.expect("get"), None);

        let mut bad = market("0xc");
        bad.tick_size = kairos_domain::Price::ZERO;
        assert!(matches!(markets::upsert(&db, &bad).await, Err(StorageError::Invalid(_))));
        db.close().await;
    }
}

#[tokio::test]
async fn settings_put_if_absent_never_overwrites() {
    for scratch in scratch::all().await {
        let db = fresh(&scratch.url).await;
        assert_eq!(settings::get(&db, "trade_enabled").await.expect("get"), None);
        assert!(settings::put_if_absent(&db, "trade_enabled", "disabled").await.expect("seed"));
        assert!(!settings::put_if_absent(&db, "trade_enabled", "enabled").await.expect("seed again"));
        assert_eq!(settings::get(&db, "trade_enabled").await.expect("get").as_deref(), Some("disabled"));
        settings::put(&db, "trade_enabled", "enabled").await.expect("put");
        settings::put(&db, "flag.x", "true").await.expect("put");
        assert_eq!(
            settings::all(&db).await.expect("all"),
            vec![("flag.x".to_string(), "true".to_string()), ("trade_enabled".to_string(), "enabled".to_string())],
            "{}",
            scratch.label
        );
        db.close().await;
    }
}

#[tokio::test]
async fn unrecognised_database_urls_are_refused() {
    assert!(matches!(Db::connect("mysql://localhost/x", 1).await, Err(StorageError::BadUrl(_))));
    assert!(matches!(Db::connect("sqlite::memory:", 1).await, Err(StorageError::BadUrl(_))));
}

#[tokio::test]
async fn an_audited_change_and_its_entry_commit_together_or_not_at_all() {
    use kairos_platform::storage::audit_log::{self, AuditEntry};
    for scratch in scratch::all().await {
        let db = fresh(&scratch.url).await;
        let entry = AuditEntry { actor: "user:x".into(), action: "flag.set".into(), ..Default::default() };
        let failed: Result<((), _), StorageError> = audit_log::with_audit(&db, |conn| {
            Box::pin(async move {
                settings::put_in(conn, "flag.x", "true").await?;
                Err(StorageError::Invalid("the change failed after writing".into()))
            })
        })
        .await;
        assert!(failed.is_err());
        assert_eq!(settings::get(&db, "flag.x").await.expect("get"), None, "{}: rolled back", scratch.label);
        assert_eq!(audit_log::count(&db).await.expect("count"), 0);

        audit_log::with_audit(&db, |conn| {
            let entry = entry.clone();
            Box::pin(async move {
                settings::put_in(conn, "flag.x", "true").await?;
                Ok(((), entry))
            })
        })
        .await
        .expect("commit");
        assert_eq!(settings::get(&db, "flag.x").await.expect("get").as_deref(), Some("true"));
        assert_eq!(audit_log::count(&db).await.expect("count"), 1);
        db.close().await;
    }
}

/// The kill-switch race, at the level where it is decided: a stop (expire every open proposal)
/// and the application of a restart (close that proposal as applied) are each one conditional
/// update in their own transaction, so whichever commits first wins and the other sees it.
#[tokio::test]
async fn a_stop_and_a_restart_interleaved_never_both_win() {
    use kairos_domain::{Role, new_id};
    use kairos_platform::storage::kill_switch::{self, Proposal};
    use kairos_platform::storage::users;

    for scratch in scratch::all().await {
        let db = fresh(&scratch.url).await;
        let (operator, _) = users::get_or_create_by_wallet(&db, "race-operator", Role::Operator).await.expect("user");
        for stop_first in [true, false] {
            let p = Proposal {
                id: new_id(),
                state: "enabled".into(),
                proposed_by: operator.id.clone(),
                status: "open".into(),
                created_at_us: 1,
                expires_at_us: i64::MAX,
                applied_at_us: None,
                approvals: Vec::new(),
            };
            kill_switch::insert(&db, &p).await.expect("proposal");
            let mut first = db.pool().begin().await.expect("first");
            let first_won = if stop_first {
                kill_switch::expire_all_open_in(&mut first).await.expect("stop") == 1
            } else {
                kill_switch::close_in(&mut first, &p.id, "applied", Some(2)).await.expect("restart")
            };
            assert!(first_won, "{}", scratch.label);
            // The second task starts while the first is uncommitted, and waits for it.
            let second = {
                let (db, id) = (db.clone(), p.id.clone());
                tokio::spawn(async move {
                    let mut conn = db.pool().acquire().await.expect("conn");
                    if stop_first {
                        kill_switch::close_in(&mut conn, &id, "applied", Some(3)).await.expect("restart")
                    } else {
                        kill_switch::expire_all_open_in(&mut conn).await.expect("stop") == 1
                    }
                })
            };
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            first.commit().await.expect("commit");
            assert!(!second.await.expect("task"), "{}: stop_first={stop_first}: both won", scratch.label);
            let stored = kill_switch::get(&db, &p.id).await.expect("get").expect("stored");
            assert_eq!(stored.status, if stop_first { "expired" } else { "applied" }, "{}", scratch.label);
        }
        db.close().await;
    }
}
