//! Strict and degraded storage modes against a Redis that is down, and `/ready` flipping when a
//! real Redis (a `redis-server` child on a free port) stops and comes back.

use std::process::{Child, Command, Stdio};

use kairos_api::http::server::StartError;
use kairos_platform::storage::scratch;

use crate::support::{eventually, spawn, try_spawn};

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

struct RedisChild {
    child: Child,
    port: u16,
}

/// Whether `redis-server` can be run (the flip test starts and stops its own); without it the
/// test fails unless the developer opted out of services.
fn redis_server_available() -> bool {
    let found = Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok();
    if !found {
        scratch::skip_or_fail("the redis-server binary");
    }
    found
}

impl RedisChild {
    fn start(port: u16) -> RedisChild {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for this test (.ci/run installs it)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "redis-server did not start on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        RedisChild { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn strict_mode_refuses_to_start_without_redis() {
    let db = scratch::sqlite();
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let result = try_spawn(&db, &[("KAIROS_STORAGE_MODE", "strict"), ("KAIROS_REDIS_URL", &url)]).await;
    match result {
        Err(StartError::Redis { .. }) => {}
        Err(other) => panic!("expected a Redis start error, got {other}"),
        Ok(_) => panic!("strict mode started without Redis"),
    }
}

#[tokio::test]
async fn degraded_mode_serves_without_redis_and_says_so() {
    let db = scratch::sqlite();
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let app = spawn(&db, &[("KAIROS_STORAGE_MODE", "degraded"), ("KAIROS_REDIS_URL", &url)]).await;
    let (status, body) = app.get_json("/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["redis"]["status"], "down");
    assert_eq!(app.get_json("/v1/markets").await.0, 200);
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("kairos_dependency_up{dependency=\"redis\"} 0"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn ready_flips_when_redis_stops_and_comes_back() {
    if !redis_server_available() {
        return;
    }
    let db = scratch::sqlite();
    let port = closed_port();
    let redis = RedisChild::start(port);
    let strict = spawn(&db, &[("KAIROS_STORAGE_MODE", "strict"), ("KAIROS_REDIS_URL", &redis.url())]).await;
    let degraded = spawn(&db, &[("KAIROS_STORAGE_MODE", "degraded"), ("KAIROS_REDIS_URL", &redis.url())]).await;
    for app in [&strict, &degraded] {
        let (status, body) = app.get_json("/ready").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "{body}");
    }

    redis.kill();
    eventually(10, "strict instance not ready", || async {
        let (status, body) = strict.get_json("/ready").await;
        status == 503 && body["status"] == "unavailable" && body["checks"]["redis"]["status"] == "down"
    })
    .await;
    eventually(10, "degraded instance degraded", || async {
        let (status, body) = degraded.get_json("/ready").await;
        status == 200 && body["status"] == "degraded"
    })
    .await;
    // Serving continues on the degraded instance.
    assert_eq!(degraded.get_json("/v1/markets").await.0, 200);

    let _redis = RedisChild::start(port);
    for app in [&strict, &degraded] {
        eventually(15, "ready again after Redis returned", || async {
            let (status, body) = app.get_json("/ready").await;
            status == 200 && body["status"] == "ready"
        })
        .await;
    }
    strict.stop().await;
    degraded.stop().await;
}

#[tokio::test]
async fn ready_fails_when_the_database_goes_away() {
    let Some(db) = scratch::postgres().await else { return };
    let app = spawn(&db, &[]).await;
    assert_eq!(app.get_json("/ready").await.0, 200);
    // Terminate this database's connections and forbid new ones: the database is gone.
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("set when postgres() returned a database");
    let admin = kairos_platform::storage::Db::connect(&admin_url, 1).await.expect("admin");
    let name = db.url.rsplit('/').next().expect("name").split('?').next().expect("name").to_string();
    sqlx_exec(&admin, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    sqlx_exec(&admin, &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        .await;
    eventually(15, "not ready without the database", || async {
        let (status, body) = app.get_json("/ready").await;
        status == 503 && body["checks"]["database"]["status"] == "down"
    })
    .await;
    sqlx_exec(&admin, &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    eventually(15, "ready again with the database back", || async { app.get_json("/ready").await.0 == 200 }).await;
    app.stop().await;
}

async fn sqlx_exec(db: &kairos_platform::storage::Db, sql: &str) {
    sqlx::query(sql).execute(db.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}
