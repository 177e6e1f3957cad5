//! The `clob` CLI's live subcommands against a local mock CLOB: public reads, account reads
//! with L2 credentials, and the credentials check that explains a mismatched key.

use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get};
use serde_json::{Value, json};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn clob(subcommand: &str, input: &Value) -> (bool, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clob"))
        .arg(subcommand)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clob");
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write");
    let out = child.wait_with_output().expect("wait");
    let text = if out.status.success() { out.stdout } else { out.stderr };
    (out.status.success(), serde_json::from_slice(&text).expect("one JSON object"))
}

async fn mock() -> String {
    let app = Router::new()
        .route(
            "/book",
            get(|| async {
                json!({ "asset_id": "123", "market": "0xm", "bids": [{ "price": "0.4", "size": "5" }], "asks": [] })
                    .to_string()
            }),
        )
        .route(
            "/auth/derive-api-key",
            get(|headers: HeaderMap| async move {
                assert!(headers.contains_key("POLY_SIGNATURE"), "L1-signed");
                json!({ "apiKey": "derived-key", "secret": SECRET, "passphrase": "pp" }).to_string()
            }),
        )
        .route(
            "/data/orders",
            get(|headers: HeaderMap| async move {
                let signed = headers.get("POLY_API_KEY").and_then(|v| v.to_str().ok()) == Some("derived-key");
                let address = headers.get("POLY_ADDRESS").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                json!({ "data": [], "next_cursor": "LTE=", "signed": signed, "address": address }).to_string()
            }),
        )
        .route("/cancel-all", delete(|| async { json!({ "canceled": ["0xa"], "not_canceled": {} }).to_string() }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_subcommands_talk_to_the_clob() {
    let base = mock().await;
    let (ok, book) = clob("book", &json!({ "base_url": base, "token_id": "123" }));
    assert!(ok, "{book}");
    assert_eq!(book["bids"][0]["price"], "0.4");

    let (ok, creds) = clob("derive-api-key", &json!({ "base_url": base, "private_key": KEY, "chain_id": 137 }));
    assert!(ok, "{creds}");
    assert_eq!(creds["apiKey"], "derived-key");

    let account =
        json!({ "base_url": base, "api_key": "derived-key", "secret": SECRET, "passphrase": "pp", "private_key": KEY });
    let (ok, orders) = clob("orders", &account);
    assert!(ok, "{orders}");
    assert_eq!(orders["data"], json!([]));
    let (ok, cancelled) = clob("cancel-all", &account);
    assert!(ok, "{cancelled}");
    assert_eq!(cancelled["canceled"], json!(["0xa"]));

    let (ok, checked) = clob(
        "check-credentials",
        &json!({ "base_url": base, "private_key": KEY, "chain_id": 137, "api_key": "derived-key" }),
    );
    assert!(ok, "{checked}");
    assert_eq!(checked["address"], "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let (ok, err) = clob(
        "check-credentials",
        &json!({ "base_url": base, "private_key": KEY, "chain_id": 137, "api_key": "someone-elses" }),
    );
    assert!(!ok);
    let message = err["error"].as_str().expect("message");
    assert!(message.contains("does not belong to the signer 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), "{message}");

    let (ok, err) = clob("orders", &json!({ "base_url": base, "api_key": "k", "secret": SECRET, "passphrase": "pp" }));
    assert!(!ok);
    assert!(err["error"].as_str().is_some_and(|m| m.contains("address")), "{err}");
    let (ok, err) = clob("book", &json!({ "base_url": "http://127.0.0.1:9", "token_id": "1" }));
    assert!(!ok, "an unreachable CLOB is an error: {err}");
}
