//! The Rust and Python signing examples work against a running server, and the bootstrap CLI
//! makes users and keys that work.

use std::process::Command;

use kairos_platform::storage::scratch;
use reqwest::Method;

use crate::support::{new_wallet, spawn};

// Multi-threaded: the examples run as blocking child processes that call this test's server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_examples_and_bootstrap_cli_work_against_a_running_server() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let bin = env!("CARGO_BIN_EXE_kairos-api");
    let data = tempfile::tempdir().expect("dir");
    let cli = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .env_clear()
            .env("KAIROS_PROFILE", "test")
            .env("KAIROS_DATA_DIR", data.path())
            .env("KAIROS_DATABASE_URL", &db.url)
            .env("KAIROS_JWT_SECRET", "test-jwt-secret-Zq8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0")
            .env("KAIROS_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .output()
            .expect("run");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON on stdout")
    };
    let user = cli(&["users", "create", "--wallet", &new_wallet().1, "--role", "market_maker"]);
    let user_id = user["user_id"].as_str().expect("user_id");
    let (status, _) = app.send(Method::GET, "/v1/api-keys", user["token"].as_str(), None).await;
    assert_eq!(status, 200, "the bootstrap token works");
    let key = cli(&["api-keys", "create", "--user", user_id, "--scopes", "read,trade"]);
    let (key_id, secret) = (key["key_id"].as_str().expect("key_id"), key["secret"].as_str().expect("secret"));

    let python = Command::new("python3")
        .args([concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/python/sign_request.py"), &app.base, key_id, secret])
        .output()
        .expect("python3 must be installed");
    assert!(python.status.success(), "python example: {}", String::from_utf8_lossy(&python.stderr));
    assert!(String::from_utf8_lossy(&python.stdout).contains("\"principal_kind\":\"key\""));

    let example = std::path::Path::new(bin).parent().expect("dir").join("examples/sign_request");
    // `cargo test` builds the package's examples before its tests.
    assert!(example.exists(), "the Rust example {} was not built", example.display());
    let rust = Command::new(&example).args([&app.base, key_id, secret]).output().expect("run example");
    assert!(rust.status.success(), "rust example: {}", String::from_utf8_lossy(&rust.stderr));
    assert!(String::from_utf8_lossy(&rust.stdout).contains("\"principal_kind\":\"key\""));
    app.stop().await;
}
