//! Credits, balances, the faucet, and `kairos-api ledger verify` on both databases.

use kairos_domain::Role;
use kairos_platform::storage::ledger::{self, Transfer};
use kairos_platform::storage::{StorageError, scratch};
use reqwest::Method;
use serde_json::json;

use crate::support::{error_code, spawn};

fn verify_cli(db_url: &str, data: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kairos-api"))
        .args(["ledger", "verify"])
        .env_clear()
        .env("KAIROS_PROFILE", "test")
        .env("KAIROS_DATA_DIR", data)
        .env("KAIROS_DATABASE_URL", db_url)
        .output()
        .expect("run")
}

#[tokio::test]
async fn credits_move_money_in_balanced_transfers_that_verify() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (_, op) = app.user(Role::Operator).await;
        let (user_id, user) = app.user(Role::User).await;
        let (status, body) = app
            .send(Method::POST, "/v1/admin/credit", Some(&op), Some(json!({ "user_id": user_id, "amount": "250.5" })))
            .await;
        assert_eq!(status, 200, "{}: {body}", db.label);
        app.send(
            Method::POST,
            "/v1/admin/credit",
            Some(&op),
            Some(json!({ "user_id": user_id, "amount": "0.000001" })),
        )
        .await;
        let (_, balances) = app.send(Method::GET, "/v1/balances", Some(&user), None).await;
        assert_eq!(
            balances,
            json!({ "balances": [{ "asset": "USDC", "available": "250.500001", "reserved": "0", "pending": "0", "total": "250.500001" }] })
        );
        let (_, page) = app.send(Method::GET, "/v1/ledger?limit=1", Some(&user), None).await;
        assert_eq!(page["data"][0]["amount"], "250.5");
        assert_eq!(page["data"][0]["account"], "available");
        let (_, rest) = app
            .send(
                Method::GET,
                &format!("/v1/ledger?cursor={}", page["next_cursor"].as_str().expect("more")),
                Some(&user),
                None,
            )
            .await;
        assert_eq!(rest["data"][0]["amount"], "0.000001");
        assert!(rest["next_cursor"].is_null());

        for (amount, status, code) in [
            ("-5", 422, "amount_out_of_range"),
            ("0", 422, "amount_out_of_range"),
            ("1.0000001", 400, "invalid_amount"),
            ("abc", 400, "invalid_amount"),
        ] {
            let (s, b) = app
                .send(
                    Method::POST,
                    "/v1/admin/credit",
                    Some(&op),
                    Some(json!({ "user_id": user_id, "amount": amount })),
                )
                .await;
            assert_eq!((s, error_code(&b).as_str()), (status, code), "{amount}");
        }
        let (s, _) = app
            .send(Method::POST, "/v1/admin/credit", Some(&user), Some(json!({ "user_id": user_id, "amount": "1" })))
            .await;
        assert_eq!(s, 403, "users cannot credit themselves");
        let (s, b) = app.send(Method::POST, "/v1/faucet", Some(&user), Some(json!({ "amount": "10" }))).await;
        assert_eq!((s, error_code(&b).as_str()), (403, "faucet_disabled"), "the faucet is dev-only");

        // An overdraft writes nothing.
        let store = app.state().db().clone();
        let mut conn = store.pool().acquire().await.expect("conn");
        let overdraw =
            Transfer::between(ledger::available(&user_id), ledger::Account::Fees, 1_000_000_000, "test", None);
        assert!(
            matches!(ledger::append_in(&mut conn, &overdraw).await, Err(StorageError::Invalid(m)) if m.starts_with(ledger::INSUFFICIENT_FUNDS))
        );
        drop(conn);

        let data = tempfile::tempdir().expect("dir");
        let head = ledger::verify(&store).await.expect("verify").expect("intact");
        assert_eq!(head.rows, 4, "{}", db.label);
        assert!(verify_cli(&db.url, data.path()).status.success());

        sqlx::query("UPDATE ledger_entries SET amount_micros = amount_micros + 1 WHERE seq = 2")
            .execute(store.pool())
            .await
            .expect("tamper");
        let broken = ledger::verify(&store).await.expect("verify").expect_err("changed");
        assert_eq!(broken.seq, 2);
        let out = verify_cli(&db.url, data.path());
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("\"first_bad_seq\":2"));
        sqlx::query("UPDATE ledger_entries SET amount_micros = amount_micros - 1 WHERE seq = 2")
            .execute(store.pool())
            .await
            .expect("restore");
        assert!(ledger::verify(&store).await.expect("verify").is_ok());

        sqlx::query("UPDATE account_balances SET balance_micros = balance_micros + 7")
            .execute(store.pool())
            .await
            .expect("skew");
        let broken = ledger::verify(&store).await.expect("verify").expect_err("balance");
        assert!(broken.reason.contains("entries sum to"), "{}", broken.reason);
        sqlx::query("UPDATE account_balances SET balance_micros = balance_micros - 7")
            .execute(store.pool())
            .await
            .expect("restore");

        sqlx::query("DELETE FROM ledger_entries WHERE seq = 3").execute(store.pool()).await.expect("remove");
        let broken = ledger::verify(&store).await.expect("verify").expect_err("removed");
        assert_eq!(broken.seq, 3);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_dev_faucet_credits_the_caller() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[("KAIROS_PROFILE", "dev")]).await;
    let (_, user) = app.user(Role::User).await;
    let (status, body) = app.send(Method::POST, "/v1/faucet", Some(&user), Some(json!({ "amount": "100" }))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balances"][0]["available"], "100");
    let (status, body) = app.send(Method::POST, "/v1/faucet", Some(&user), Some(json!({ "amount": "10001" }))).await;
    assert_eq!((status, error_code(&body).as_str()), (422, "amount_out_of_range"));
    app.stop().await;
}

#[test]
fn unbalanced_transfers_are_refused_before_writing() {
    let bad = Transfer {
        asset: "USDC".into(),
        kind: "test".into(),
        reference: None,
        postings: vec![
            ledger::Posting { account: ledger::Account::Fees, amount_micros: 5 },
            ledger::Posting { account: ledger::Account::Deposits, amount_micros: -4 },
        ],
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    rt.block_on(async {
        let db = scratch::sqlite();
        let store = kairos_platform::storage::Db::connect(&db.url, 1).await.expect("connect");
        store.migrate().await.expect("migrate");
        let mut conn = store.pool().acquire().await.expect("conn");
        assert!(matches!(ledger::append_in(&mut conn, &bad).await, Err(StorageError::Invalid(_))));
    });
}
