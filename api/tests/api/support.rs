//! Starting a real server for a test.

use kairos_api::http::server::{self, Running, StartError};
use kairos_platform::config::{ApiSettings, RawSources, load_api_from};
use kairos_platform::storage::scratch::ScratchDb;

pub(crate) struct TestApp {
    pub(crate) base: String,
    pub(crate) metrics: String,
    pub(crate) client: reqwest::Client,
    pub(crate) running: Option<Running>,
    _data: tempfile::TempDir,
    /// What runs beside the instance for as long as it lives (the keepers' venue jobs).
    pub(crate) companions: Vec<Box<dyn std::any::Any + Send>>,
}

/// Test-profile settings on `db`, listeners on port 0, plus `extra` variables.
pub(crate) fn settings(db: &ScratchDb, data: &std::path::Path, extra: &[(&str, &str)]) -> ApiSettings {
    let mut vars: Vec<(String, String)> = vec![
        ("KAIROS_PROFILE".into(), "test".into()),
        ("KAIROS_BIND".into(), "127.0.0.1:0".into()),
        ("KAIROS_METRICS_BIND".into(), "127.0.0.1:0".into()),
        ("KAIROS_DATA_DIR".into(), data.display().to_string()),
        ("KAIROS_DATABASE_URL".into(), db.url.clone()),
        ("KAIROS_DATABASE_MAX_CONNECTIONS".into(), "4".into()),
        // Explicit, so several instances in one test share them as a deployment would.
        ("KAIROS_JWT_SECRET".into(), "test-jwt-secret-Zq8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0".into()),
        ("KAIROS_MASTER_KEY".into(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
    ];
    // Tests share 127.0.0.1: raise every budget; the rate-limit tests set their own.
    for class in ["READ", "TRADE", "CANCEL", "AUTH"] {
        for kind in ["ANONYMOUS", "USER", "KEY", "ACCOUNT"] {
            vars.push((format!("KAIROS_RATE_LIMITS__{class}__{kind}"), "100000".into()));
        }
    }
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push(((*k).to_string(), (*v).to_string()));
    }
    let (settings, problems) = load_api_from(&RawSources::from_vars(vars).expect("sources"));
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
        companions: Vec::new(),
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

    pub(crate) fn state(&self) -> kairos_api::state::AppState {
        self.running.as_ref().expect("running").state.clone()
    }

    /// A fresh access token for an existing user, as if they signed in again.
    pub(crate) fn token_for(&self, user_id: &str, role: kairos_domain::Role) -> String {
        let now = kairos_domain::now_us() / 1_000_000;
        self.state().jwt().issue(user_id, role, now).expect("token").0
    }

    /// A user with `role` (created directly in storage) and an access token for it.
    pub(crate) async fn user(&self, role: kairos_domain::Role) -> (String, String) {
        let wallet = new_wallet();
        let state = self.state();
        let (user, _) =
            kairos_platform::storage::users::get_or_create_by_wallet(state.db(), &wallet.1, role).await.expect("user");
        let now = kairos_domain::now_us() / 1_000_000;
        let (token, _) = state.jwt().issue(&user.id, role, now).expect("token");
        (user.id, token)
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("send");
        let status = res.status().as_u16();
        let text = res.text().await.expect("text");
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        (status, body)
    }

    pub(crate) async fn metrics_text(&self) -> String {
        self.client.get(format!("{}/metrics", self.metrics)).send().await.expect("metrics").text().await.expect("text")
    }

    /// Stops this instance and starts a new one on the same database and data directory.
    pub(crate) async fn restart(mut self, db: &ScratchDb, extra: &[(&str, &str)]) -> TestApp {
        if let Some(running) = self.running.take() {
            running.shutdown();
            running.wait().await.expect("clean shutdown");
        }
        let running = server::start(settings(db, self._data.path(), extra)).await.expect("restart");
        TestApp {
            base: format!("http://{}", running.addr),
            metrics: format!("http://{}", running.metrics_addr),
            client: self.client.clone(),
            running: Some(running),
            _data: self._data,
            companions: self.companions,
        }
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
    let code = error["code"].as_str().expect("code");
    assert!(
        kairos_domain::ErrorCode::ALL.iter().any(|c| c.as_str() == code),
        "{code} is not one of the documented error codes"
    );
    code.to_string()
}

/// Polls `check` every 100 ms for up to `seconds`; panics with `what` when it never holds.
pub(crate) async fn eventually<F, Fut>(seconds: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_some(seconds, what, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await
}

/// [`eventually`] for a check that yields a value once it holds; returns that value.
pub(crate) async fn eventually_some<T, F, Fut>(seconds: u64, what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if let Some(value) = attempt().await {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out after {seconds}s waiting for: {what}");
}

/// A fresh ed25519 wallet: the signing key and its base58 address.
pub(crate) fn new_wallet() -> (ed25519_dalek::SigningKey, String) {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let address = bs58::encode(key.verifying_key().to_bytes()).into_string();
    (key, address)
}

/// Signs in with a wallet through the API; returns the token body.
pub(crate) async fn login(app: &TestApp, wallet: &(ed25519_dalek::SigningKey, String)) -> serde_json::Value {
    use ed25519_dalek::Signer as _;
    let (status, challenge) = app
        .send(reqwest::Method::POST, "/v1/auth/challenge", None, Some(serde_json::json!({ "wallet": wallet.1 })))
        .await;
    assert_eq!(status, 200, "{challenge}");
    let message = challenge["message"].as_str().expect("message").to_string();
    let signature = bs58::encode(wallet.0.sign(message.as_bytes()).to_bytes()).into_string();
    let (status, tokens) = app
        .send(
            reqwest::Method::POST,
            "/v1/auth/login",
            None,
            Some(serde_json::json!({ "wallet": wallet.1, "message": message, "signature": signature })),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

/// Sends a signed request with an API key.
pub(crate) async fn signed(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    key_id: &str,
    secret: &str,
    body: &str,
    timestamp_ms: Option<i64>,
) -> (u16, serde_json::Value, reqwest::header::HeaderMap) {
    use base64::Engine as _;
    let ts = timestamp_ms.unwrap_or_else(|| kairos_domain::now_us() / 1_000).to_string();
    let raw = base64::engine::general_purpose::URL_SAFE.decode(secret).expect("secret");
    let sig = kairos_api::access::signed_request::sign(&raw, &ts, method.as_str(), path, body.as_bytes());
    let res = app
        .client
        .request(method, format!("{}{path}", app.base))
        .header("KAIROS-KEY", key_id)
        .header("KAIROS-TIMESTAMP", &ts)
        .header("KAIROS-SIGNATURE", &sig)
        .body(body.to_string())
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("text");
    (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null), headers)
}
