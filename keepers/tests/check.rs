//! The health check the container runs: healthy with a reachable database, not without one.

use std::process::Command;

fn check(database_url: &str, data: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kairos-keepers"))
        .arg("check")
        .env_clear()
        .env("KAIROS_PROFILE", "test")
        .env("KAIROS_DATA_DIR", data)
        .env("KAIROS_DATABASE_URL", database_url)
        .output()
        .expect("run kairos-keepers")
}

#[test]
fn check_reports_the_database() {
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = format!("sqlite:{}", dir.path().join("k.db").display());
    let out = check(&sqlite, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"{"healthy":true}"#);

    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = check(&format!("postgres://k:pw@127.0.0.1:{port}/k"), dir.path());
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains(":pw@"), "no password in the message");
}

#[test]
fn config_check_passes_a_prod_config_without_the_apis_secrets() {
    let run = |database_url: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kairos-keepers"));
        cmd.args(["config", "check"])
            .env_clear()
            .env("KAIROS_PROFILE", "prod")
            .env("KAIROS_REDIS_URL", "redis://cache:6379");
        if let Some(url) = database_url {
            cmd.env("KAIROS_DATABASE_URL", url);
        }
        cmd.output().expect("run kairos-keepers")
    };
    let out = run(Some("postgres://kairos:pw@db:5432/kairos"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("config ok for profile prod"), "{stdout}");
    assert!(!stdout.contains(":pw@") && !stdout.contains("KAIROS_JWT_SECRET"), "{stdout}");
    let out = run(None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KAIROS_DATABASE_URL"));
}
