//! The `kairos-api` binary itself: fail-closed start-up, `config check`, `migrate`,
//! `markets import`, `openapi --check`, a zero-setup dev start from any directory, SIGHUP
//! reload and graceful SIGTERM, each told to a service manager (systemd's notify protocol).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use kairos_platform::storage::scratch;

const BIN: &str = env!("CARGO_BIN_EXE_kairos-api");

/// The binary with a clean environment: only what the test passes.
fn kairos(args: &[&str], vars: &[(&str, &str)], cwd: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear().current_dir(cwd);
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

#[test]
fn prod_start_up_refuses_naming_every_problem() {
    let dir = tempfile::tempdir().expect("dir");
    let out = kairos(
        &["serve"],
        &[("KAIROS_PROFILE", "prod"), ("KAIROS_JWT_SECRET", "change-me"), ("KAIROS_SKIP_AUTH", "true")],
        dir.path(),
    )
    .output()
    .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for variable in [
        "KAIROS_BIND:",
        "KAIROS_DATABASE_URL:",
        "KAIROS_REDIS_URL:",
        "KAIROS_JWT_SECRET:",
        "KAIROS_MASTER_KEY:",
        "KAIROS_SKIP_AUTH:",
    ] {
        assert!(stderr.contains(variable), "{variable} not named in:\n{stderr}");
    }
    assert!(!stderr.contains("change-me"), "a secret leaked into the message");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0, "prod generated files");
}

#[test]
fn prod_start_up_refuses_an_unreachable_database() {
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let db_url = format!("postgres://kairos:pw@127.0.0.1:{port}/kairos");
    let out = kairos(
        &["serve"],
        &[
            ("KAIROS_PROFILE", "prod"),
            ("KAIROS_BIND", "127.0.0.1:0"),
            ("KAIROS_METRICS_BIND", "127.0.0.1:0"),
            ("KAIROS_DATABASE_URL", &db_url),
            ("KAIROS_REDIS_URL", "redis://127.0.0.1:6379"),
            ("KAIROS_JWT_SECRET", "q8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0aE8uTiOoPzQ"),
            ("KAIROS_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
        ],
        dir.path(),
    )
    .output()
    .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unreachable"), "{stderr}");
    assert!(!stderr.contains(":pw@"), "password leaked: {stderr}");
}

#[test]
fn config_check_prints_redacted_config_and_lists_problems() {
    let dir = tempfile::tempdir().expect("dir");
    let out = kairos(
        &["config", "check"],
        &[("KAIROS_PROFILE", "dev"), ("KAIROS_JWT_SECRET", "dev-only-secret")],
        dir.path(),
    )
    .output()
    .expect("run");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("KAIROS_JWT_SECRET = [redacted] (env)"), "{stdout}");
    assert!(stdout.contains("KAIROS_MASTER_KEY = [redacted] (generated)"), "{stdout}");
    assert!(!stdout.contains("dev-only-secret"));

    let out = kairos(&["config", "check"], &[("KAIROS_PROFILE", "staging")], dir.path()).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KAIROS_JWT_SECRET") && stderr.contains("KAIROS_BIND"), "{stderr}");
}

#[test]
fn openapi_check_catches_drift() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("v1.json");
    assert!(
        kairos(&["openapi", "--output", file.to_str().expect("utf8")], &[], dir.path())
            .status()
            .expect("run")
            .success()
    );
    assert!(
        kairos(&["openapi", "--check", file.to_str().expect("utf8")], &[], dir.path()).status().expect("run").success()
    );
    let text = std::fs::read_to_string(&file).expect("read").replace("Kairos API", "Kairos APX");
    std::fs::write(&file, text).expect("write");
    let status = kairos(&["openapi", "--check", file.to_str().expect("utf8")], &[], dir.path()).status().expect("run");
    assert!(!status.success());
}

const GAMMA: &str = r#"[
  {"id": "501", "question": "Will the Lisbon tram run on 1 Jan?", "conditionId": "0xfeed", "slug": "lisbon-tram",
   "outcomes": "[\"Yes\", \"No\"]", "clobTokenIds": "[\"71\", \"72\"]", "active": true, "closed": false,
   "orderPriceMinTickSize": 0.001, "orderMinSize": 5, "endDate": "2027-01-01T00:00:00Z"},
  {"id": "502", "question": "Old question?", "conditionId": "0xdead", "slug": "old",
   "outcomes": ["Yes", "No"], "active": true, "closed": true}
]"#;

#[tokio::test]
async fn migrate_and_markets_import_work_on_both_databases() {
    for db in scratch::all().await {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("gamma.json");
        std::fs::write(&file, GAMMA).expect("write");
        let vars = [("KAIROS_PROFILE", "test"), ("KAIROS_DATABASE_URL", db.url.as_str())];
        let out = kairos(&["migrate"], &vars, dir.path()).output().expect("run");
        assert!(out.status.success(), "{}: {}", db.label, String::from_utf8_lossy(&out.stderr));
        let out =
            kairos(&["markets", "import", file.to_str().expect("utf8")], &vars, dir.path()).output().expect("run");
        assert!(out.status.success(), "{}: {}", db.label, String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
        assert_eq!(summary, serde_json::json!({"created": 2, "updated": 0}));
        let out =
            kairos(&["markets", "import", file.to_str().expect("utf8")], &vars, dir.path()).output().expect("run");
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
        assert_eq!(summary, serde_json::json!({"created": 0, "updated": 2}), "re-import must not duplicate");

        let store = kairos_platform::storage::Db::connect(&db.url, 1).await.expect("connect");
        let all = kairos_platform::storage::markets::all(&store).await.expect("all");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].tick_size, kairos_domain::Price::from_micros(1_000));
        assert_eq!(all[0].outcomes[0].external_id.as_deref(), Some("71"));
        assert_eq!(all[1].status, kairos_domain::MarketStatus::Closed);
        store.close().await;

        std::fs::write(&file, "[{\"question\": \"no outcomes\"}]").expect("write");
        let out =
            kairos(&["markets", "import", file.to_str().expect("utf8")], &vars, dir.path()).output().expect("run");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("market #0"));
    }
}

/// Reads JSON log lines until one satisfies `pick`.
fn wait_for_log(
    lines: &mut impl Iterator<Item = String>,
    pick: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for line in lines.by_ref() {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && pick(&v)
        {
            return v;
        }
    }
    panic!("the server exited before logging what the test waited for");
}

/// The next message the server sent its service manager (systemd's notify socket).
fn next_notification(manager: &std::os::unix::net::UnixDatagram) -> String {
    let mut buf = [0u8; 256];
    let n = manager.recv(&mut buf).expect("a notification within 30 s");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn dev_starts_from_any_directory_reloads_on_sighup_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("kairos.toml");
    std::fs::write(&config, "log = \"info\"\n").expect("write");
    // Standing in for systemd (`Type=notify` in deploy/systemd/kairos-api.service).
    let socket = dir.path().join("notify");
    let manager = std::os::unix::net::UnixDatagram::bind(&socket).expect("bind");
    manager.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut child = kairos(
        &[],
        &[
            ("KAIROS_BIND", "127.0.0.1:0"),
            ("KAIROS_METRICS_BIND", "127.0.0.1:0"),
            ("KAIROS_LOG_FORMAT", "json"),
            ("KAIROS_CONFIG", config.to_str().expect("utf8")),
            ("NOTIFY_SOCKET", socket.to_str().expect("utf8")),
        ],
        dir.path(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn");
    let logs = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(logs).lines().map_while(Result::ok);
    let listening = wait_for_log(&mut lines, |v| v["message"] == "kairos-api listening");
    let addr = listening["addr"].as_str().expect("addr").to_string();
    assert_eq!(next_notification(&manager), "READY=1", "ready once it listens");

    let get = |path: &str| -> (u16, String) {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let status = text[9..12].parse().expect("status");
        (status, text)
    };
    // Zero setup: dev seeded tradable sample markets into data/ under the working directory.
    let (status, body) = get("/v1/markets?venue=paper&status=open");
    assert_eq!(status, 200);
    assert!(body.contains("\"label\":\"YES\"") && body.contains("\"tick_size\":\"0.01\""), "{body}");
    assert!(dir.path().join("data/kairos-dev.db").exists());
    assert!(dir.path().join("data/secrets.dev.toml").exists());
    assert!(dir.path().join("data/dev-quoter.json").exists(), "the key kairos-quoter trades with in dev");
    let (_, mirror) = get("/v1/markets?q=mirror");
    assert!(mirror.contains(kairos_platform::config::RECORDED_TOKEN), "the mirror the quoter quotes: {mirror}");

    // Before SIGHUP no debug lines and the default budget; after the file raises the filter and
    // cuts the anonymous read budget to 1/s, both take effect without a restart.
    assert_eq!(get("/v1/time").0, 200);
    assert_eq!(get("/v1/time").0, 200);
    std::fs::write(&config, "log = \"debug\"\n[rate_limits.read]\nanonymous = 1\n").expect("write");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    wait_for_log(&mut lines, |v| v["message"] == "reloaded log filter");
    assert_eq!(next_notification(&manager), "RELOADING=1");
    assert_eq!(next_notification(&manager), "READY=1", "ready again after the reload");
    get("/health");
    wait_for_log(&mut lines, |v| v["level"] == "DEBUG" && v["message"] == "response");
    // Ten requests: within the old budget (20/s), beyond the new one even across a second.
    let statuses: Vec<u16> = (0..10).map(|_| get("/v1/time").0).collect();
    assert!(statuses.contains(&429), "the reloaded budget applies: {statuses:?}");

    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    wait_for_log(&mut lines, |v| v["message"] == "kairos-api stopped");
    assert_eq!(next_notification(&manager), "STOPPING=1");
    let status = child.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}
