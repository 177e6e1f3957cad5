//! The health check the container runs: healthy with a reachable database, not without one;
//! and what the keepers tell systemd.

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
    let run = |database_url: Option<&str>, extra: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kairos-keepers"));
        cmd.args(["config", "check"])
            .env_clear()
            .env("KAIROS_PROFILE", "prod")
            .env("KAIROS_REDIS_URL", "redis://cache:6379")
            .envs(extra.iter().copied());
        if let Some(url) = database_url {
            cmd.env("KAIROS_DATABASE_URL", url);
        }
        cmd.output().expect("run kairos-keepers")
    };
    let backup = [
        ("KAIROS_BACKUP__URL", "s3://kairos-backups/prod"),
        ("KAIROS_BACKUP__AGE_RECIPIENT", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"),
        ("KAIROS_KEEPERS__FLASH_CREATE__ENABLED", "false"),
        ("KAIROS_KEEPERS__FLASH_VOID__ENABLED", "false"),
        ("KAIROS_KEEPERS__CHAIN_SYNC__ENABLED", "false"),
        ("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", "false"),
    ];
    let out = run(Some("postgres://kairos:pw@db:5432/kairos"), &backup);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("config ok for profile prod"), "{stdout}");
    assert!(!stdout.contains(":pw@") && !stdout.contains("KAIROS_JWT_SECRET"), "{stdout}");
    let out = run(None, &backup);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KAIROS_DATABASE_URL"));

    // The backup job is on by default: prod refuses to start without what it needs, naming it.
    let out = run(Some("postgres://kairos:pw@db:5432/kairos"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for name in ["KAIROS_BACKUP__URL", "KAIROS_BACKUP__AGE_RECIPIENT"] {
        assert!(stderr.contains(&format!("{name}: the keepers' backup job needs it")), "{name}: {stderr}");
    }
    let out = run(Some("postgres://kairos:pw@db:5432/kairos"), &[("KAIROS_KEEPERS__BACKUP__ENABLED", "false")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "the chain jobs are on by default: {stderr}");
    assert!(stderr.contains("KAIROS_SOLANA__RPC_URL: the keepers' chain jobs need it"), "{stderr}");
    assert!(
        stderr.contains("KAIROS_FLASH__ORACLE_KEYPAIR_FILE: flash-create, flash-oracle and flash-void sign"),
        "{stderr}"
    );
    for name in ["KAIROS_FLASH__PROVING_KEY_DIR", "KAIROS_FLASH__PRICE_FEED", "KAIROS_MASTER_KEY"] {
        assert!(stderr.contains(&format!("{name}:")), "flash-oracle needs {name}: {stderr}");
    }
    let mut off = backup[2..].to_vec();
    off.push(("KAIROS_KEEPERS__BACKUP__ENABLED", "false"));
    let out = run(Some("postgres://kairos:pw@db:5432/kairos"), &off);
    assert!(out.status.success(), "switched off, nothing is missing: {}", String::from_utf8_lossy(&out.stderr));
    let mut chain = off[..2].to_vec();
    chain.push(("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", "false"));
    chain.push(("KAIROS_KEEPERS__BACKUP__ENABLED", "false"));
    chain.push(("KAIROS_SOLANA__RPC_URL", "https://rpc.example.com"));
    let out = run(Some("postgres://kairos:pw@db:5432/kairos"), &chain);
    assert!(out.status.success(), "chain-sync needs only the RPC URL: {}", String::from_utf8_lossy(&out.stderr));
}

/// The unit's `Type=notify` (deploy/systemd/kairos-keepers.service): READY=1 once the database
/// answers, STOPPING=1 on SIGTERM, then a clean exit.
#[test]
fn the_service_manager_is_told_ready_and_stopping() {
    let dir = tempfile::tempdir().expect("dir");
    let socket = dir.path().join("notify");
    let manager = std::os::unix::net::UnixDatagram::bind(&socket).expect("bind");
    manager.set_read_timeout(Some(std::time::Duration::from_secs(30))).expect("timeout");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kairos-keepers"))
        .env_clear()
        .env("KAIROS_PROFILE", "test")
        .env("KAIROS_DATA_DIR", dir.path())
        .env("KAIROS_DATABASE_URL", format!("sqlite:{}", dir.path().join("k.db").display()))
        .env("KAIROS_KEEPERS__METRICS_BIND", "127.0.0.1:0")
        .env("NOTIFY_SOCKET", &socket)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let next = || {
        let mut buf = [0u8; 64];
        let n = manager.recv(&mut buf).expect("a notification within 30 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    assert_eq!(next(), "READY=1");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill").success());
    assert_eq!(next(), "STOPPING=1");
    assert!(child.wait().expect("wait").success());
}
