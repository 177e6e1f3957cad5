//! Signing a request to the Kairos API with an API key, in Rust.
//!
//! ```sh
//! cargo run -p kairos-api --example sign_request -- http://127.0.0.1:8080 KEY_ID SECRET [PATH]
//! ```
//!
//! The signature is url-safe base64 (with padding) of HMAC-SHA256, keyed with the decoded
//! secret, over `timestamp "\n" METHOD "\n" path-with-query "\n" body`, where the timestamp
//! is Unix milliseconds sent as `KAIROS-TIMESTAMP`. The example corrects for clock skew with
//! `GET /v1/time` first, as a client should.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

fn sign(
    secret_b64: &str,
    timestamp_ms: i64,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> Result<String, String> {
    let secret = base64::engine::general_purpose::URL_SAFE.decode(secret_b64).map_err(|e| format!("secret: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).map_err(|e| e.to_string())?;
    mac.update(format!("{timestamp_ms}\n{method}\n{path_and_query}\n").as_bytes());
    mac.update(body);
    Ok(base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes()))
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, key_id, secret, rest @ ..] = args.as_slice() else {
        return Err("usage: sign_request BASE_URL KEY_ID SECRET [PATH]".to_string());
    };
    let path = rest.first().map_or("/v1/account/limits", String::as_str);
    let client = reqwest::Client::new();

    let server: serde_json::Value = client
        .get(format!("{base}/v1/time"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let skew = server["epoch_ms"].as_i64().ok_or("no epoch_ms")? - now_ms();

    let timestamp = now_ms() + skew;
    let signature = sign(secret, timestamp, "GET", path, b"")?;
    let res = client
        .get(format!("{base}{path}"))
        .header("KAIROS-KEY", key_id)
        .header("KAIROS-TIMESTAMP", timestamp.to_string())
        .header("KAIROS-SIGNATURE", signature)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    println!("{}", res.text().await.map_err(|e| e.to_string())?);
    if status.is_success() { Ok(()) } else { Err(format!("HTTP {status}")) }
}
