//! Starting a real server for a test.

use kairos_api::server::{self, Running, StartError};
use kairos_platform::config::{RawSources, Settings, load_from};
use kairos_platform::storage::scratch::ScratchDb;

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) metrics: String,
    pub(crate) client: reqwest::Client,
    pub(crate) running: Option<Running>,
    _data: tempfile::TempDir,
}

/// Test-profile settings on `db`, listeners on port 0, plus `extra` variables.
pub(crate) fn settings(db: &ScratchDb, data: &std::path::Path, extra: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = vec![
        ("KAIROS_PROFILE".into(), "test".into()),
        ("KAIROS_BIND".into(), "127.0.0.1:0".into()),
        ("KAIROS_METRICS_BIND".into(), "127.0.0.1:0".into()),
        ("KAIROS_DATA_DIR".into(), data.display().to_string()),
        ("KAIROS_DATABASE_URL".into(), db.url.clone()),
        ("KAIROS_DATABASE_MAX_CONNECTIONS".into(), "4".into()),
    ];
    // Tests share 127.0.0.1: raise every budget; the rate-limit tests set their own.
    for class in ["READ", "TRADE", "CANCEL", "AUTH"] {
        for kind in ["ANONYMOUS", "USER", "KEY"] {
            vars.push((format!("KAIROS_RATE_LIMITS__{class}__{kind}"), "100000".into()));
        }
    }
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push(((*k).to_string(), (*v).to_string()));
    }
    let (settings, problems) = load_from(&RawSources::from_vars(vars).expect("sources"));
    assert!(problems.is_empty(), "test settings have problems: {problems:?}");
    settings
}

pub(crate) async fn try_spawn(db: &ScratchDb, extra: &[(&str, &str)]) -> Result<TestApp, StartError> {
    let data = tempfile::tempdir().expect("data dir");
    let running = server::start(settings(db, data.path(), extra)).await?;
    Ok(TestApp {
        base: format!("http://{}", running.addr),
        metrics: format!("http://{}", running.metrics_addr),
        client: reqwest::Client::new(),
        running: Some(running),
        _data: data,
    })
}

pub(crate) async fn spawn(db: &ScratchDb, extra: &[(&str, &str)]) -> TestApp {
    try_spawn(db, extra).await.unwrap_or_else(|e| panic!("server did not start on {}: {e}", db.label))
}

impl TestApp {
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.expect("request")
    }

    pub(crate) async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        let body = res.json().await.expect("JSON body");
        (status, body)
    }

    pub(crate) async fn metrics_text(&self) -> String {
        self.client.get(format!("{}/metrics", self.metrics)).send().await.expect("metrics").text().await.expect("text")
    }

    pub(crate) async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown();
            running.wait().await.expect("clean shutdown");
        }
    }
}

/// Asserts the error envelope and returns its code.
pub(crate) fn error_code(body: &serde_json::Value) -> String {
    let error = body.get("error").unwrap_or_else(|| panic!("no error object in {body}"));
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "message in {body}");
    assert!(error["request_id"].as_str().is_some_and(|m| !m.is_empty()), "request_id in {body}");
    error["code"].as_str().expect("code").to_string()
}

/// Polls `check` every 100 ms for up to `seconds`; panics with `what` when it never holds.
pub(crate) async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out after {seconds}s waiting for: {what}");
}
