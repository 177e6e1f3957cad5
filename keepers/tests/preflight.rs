//! `kairos-keepers preflight`: one JSON report; an unmigrated database fails it, a migrated one
//! with a good clock passes it, a drifting clock fails it again.

use std::process::Command;

use kairos_ops::testing::FakeSntp;

fn preflight(database_url: &str, data: &std::path::Path, ntp: &str) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-keepers"))
        .arg("preflight")
        .env_clear()
        .env("KAIROS_PROFILE", "test")
        .env("KAIROS_DATA_DIR", data)
        .env("KAIROS_DATABASE_URL", database_url)
        .env("KAIROS_TIME__NTP_SERVERS", ntp)
        .output()
        .expect("run kairos-keepers preflight");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not one JSON report ({e}): {stdout}"));
    (out.status.code().unwrap_or(-1), report)
}

fn status<'a>(report: &'a serde_json::Value, name: &str) -> &'a str {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test]
async fn preflight_follows_the_database_and_the_clock() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("k.db").display());
    let good = FakeSntp::start(10).await;
    let fast = FakeSntp::start(2_000).await;
    let path = dir.path().to_path_buf();

    let (u, p, s) = (url.clone(), path.clone(), good.server());
    let (code, report) = tokio::task::spawn_blocking(move || preflight(&u, &p, &s)).await.expect("join");
    assert_eq!(code, 1, "{report}");
    assert_eq!(status(&report, "stores.migrations"), "fail");

    let db = kairos_platform::storage::Db::connect(&url, 1).await.expect("db");
    db.migrate().await.expect("migrate");
    db.close().await;
    let (u, p, s) = (url.clone(), path.clone(), good.server());
    let (code, report) = tokio::task::spawn_blocking(move || preflight(&u, &p, &s)).await.expect("join");
    assert_eq!(code, 0, "{report}");
    for name in ["stores.database", "stores.migrations", "time.drift", "probes"] {
        assert_eq!(status(&report, name), "pass", "{name}: {report}");
    }

    let (u, p, s) = (url, path, fast.server());
    let (code, report) = tokio::task::spawn_blocking(move || preflight(&u, &p, &s)).await.expect("join");
    assert_eq!((code, status(&report, "time.drift")), (1, "fail"), "{report}");
}
