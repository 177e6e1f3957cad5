//! `kairos-api preflight` as an operator runs it: a prod config against a running instance on
//! PostgreSQL and Redis, with a fresh backup, passes every check; a weak secret, a pending migration, a 2 s clock
//! drift and an unreachable Redis each fail their check, named, and the command exits 1.

use std::process::Command;

use kairos_ops::testing::FakeSntp;
use kairos_platform::storage::scratch;

use crate::support;

const JWT_SECRET: &str = "pf-Zq8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0aQ3uE8oT";
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn preflight(vars: &[(&str, String)], args: &[&str]) -> (i32, serde_json::Value) {
    let data = tempfile::tempdir().expect("data dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kairos-api"));
    cmd.arg("preflight").args(args).env_clear().current_dir(data.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run kairos-api preflight");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("preflight did not print one JSON report ({e}):\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), report)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

fn prod_vars(database_url: &str, redis_url: &str, ntp: &FakeSntp) -> Vec<(&'static str, String)> {
    vec![
        ("KAIROS_PROFILE", "prod".to_string()),
        ("KAIROS_BIND", "127.0.0.1:8080".to_string()),
        ("KAIROS_DATABASE_URL", database_url.to_string()),
        ("KAIROS_REDIS_URL", redis_url.to_string()),
        ("KAIROS_JWT_SECRET", JWT_SECRET.to_string()),
        ("KAIROS_MASTER_KEY", MASTER_KEY.to_string()),
        ("KAIROS_TIME__NTP_SERVERS", ntp.server()),
    ]
}

#[tokio::test]
async fn a_prod_deployment_on_postgres_and_redis_passes_every_check() {
    let Some(db) = scratch::postgres().await else { return };
    let Some(redis) = scratch::redis_url() else { return };
    let ntp = FakeSntp::start(15).await;
    let app = support::spawn(
        &db,
        &[("KAIROS_REDIS_URL", &redis), ("KAIROS_STORAGE_MODE", "strict"), ("KAIROS_JWT_SECRET", JWT_SECRET)],
    )
    .await;
    let backups = tempfile::tempdir().expect("backups");
    let mut vars = prod_vars(&db.url, &redis, &ntp);
    vars.push(("KAIROS_BACKUP__URL", format!("file://{}", backups.path().display())));
    vars.push(("KAIROS_BACKUP__AGE_RECIPIENT", age::x25519::Identity::generate().to_public().to_string()));
    // A backup within the RPO, as the keepers' hourly job leaves one.
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-api"))
        .arg("backup")
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("kairos-api backup");
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
    let base = app.base.clone();
    let (code, report) = {
        let vars = vars.clone();
        tokio::task::spawn_blocking(move || preflight(&vars, &["--url", &base])).await.expect("join")
    };
    let not_passed: Vec<&serde_json::Value> =
        report["checks"].as_array().expect("checks").iter().filter(|c| c["status"] != "pass").collect();
    assert!(not_passed.is_empty(), "checks that did not pass: {not_passed:#?}");
    assert_eq!((code, &report["ok"]), (0, &serde_json::json!(true)), "{report:#}");
    for name in [
        "stores.database",
        "stores.migrations",
        "stores.redis",
        "time.drift",
        "auth.websocket",
        "server.ready",
        "backup.recency",
    ] {
        check(&report, name);
    }
    assert!(check(&report, "auth.websocket")["detail"].as_str().is_some_and(|d| d.contains("refused without a token")));

    // The reserved user the check signed a token for exists once, whatever the runs.
    let base = app.base.clone();
    let (code, _) = tokio::task::spawn_blocking(move || preflight(&vars, &["--url", &base])).await.expect("join");
    assert_eq!(code, 0);
    let wallet = kairos_api::tools::preflight::preflight_wallet();
    let dbh = kairos_platform::storage::Db::connect(&db.url, 1).await.expect("db");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE wallet = $1")
        .bind(&wallet)
        .fetch_one(dbh.pool())
        .await
        .expect("count");
    assert_eq!(count, 1);
    dbh.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_weak_secret_a_pending_migration_a_drifting_clock_and_a_dead_redis_each_fail() {
    let Some(db) = scratch::postgres().await else { return };
    let ntp = FakeSntp::start(2_000).await;
    let dead_redis = {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        format!("redis://127.0.0.1:{port}")
    };
    let mut vars = prod_vars(&db.url, &dead_redis, &ntp);
    vars.retain(|(k, _)| *k != "KAIROS_JWT_SECRET");
    vars.push(("KAIROS_JWT_SECRET", "change-me-change-me-change-me-change-me".to_string()));
    let (code, report) = tokio::task::spawn_blocking(move || preflight(&vars, &[])).await.expect("join");
    assert_eq!((code, &report["ok"]), (1, &serde_json::json!(false)), "{report:#}");
    for (name, says) in [
        ("config.secrets", "KAIROS_JWT_SECRET"),
        ("stores.migrations", "pending"),
        ("time.drift", "behind NTP"),
        ("stores.redis", "strict mode will not start without it"),
    ] {
        let c = check(&report, name);
        assert_eq!(c["status"], "fail", "{c:#}");
        assert!(c["detail"].as_str().is_some_and(|d| d.contains(says)), "{name} does not say {says:?}: {c:#}");
    }
    let text = report.to_string();
    assert!(!text.contains("change-me-change-me"), "a secret leaked into the report");
}
