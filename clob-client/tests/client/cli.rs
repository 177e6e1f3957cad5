//! The `clob` operator CLI: one JSON object in, one out. The offline subcommands against the
//! official vectors; the live ones against a local mock CLOB (public reads, account reads
//! with L2 credentials, and the credentials check that explains a mismatched key).

use std::io::Write as _;
use std::process::{Command, Stdio};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{delete, get};
use serde_json::{Value, json};

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

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn l2_and_l1_signatures_match_the_official_clients() {
    let (ok, out) = clob(
        "l2-sign",
        &json!({ "secret": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "timestamp": 1700000000, "method": "DELETE", "path": "/order", "body": "{\"orderID\":\"0xabc\"}" }),
    );
    assert!(ok);
    assert_eq!(out["signature"], "ebd_Mp184tE7Z6KPR1h4np8gSxcgEPZ7MeKtDjVwf2g=");
    let (ok, out) =
        clob("l1-sign", &json!({ "private_key": KEY, "chain_id": 137, "timestamp": "1700000000", "nonce": 1012 }));
    assert!(ok);
    assert_eq!(out["address"], "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert_eq!(
        out["signature"],
        "0x00bcaf5a9082f2f8c26c377f426e067b381d6bf8d4c333560160fd44241ae2c43e2da5f94617e8eea391c6e7a1e41eb48a29866b41e28831c553948cc6bc0d241c"
    );
}

#[test]
fn order_amounts_in_both_modes() {
    let input = |rounding: &str| json!({ "side": "SELL", "price": "0.5", "size": "2603.7", "tick_size": "0.01", "kind": "limit", "rounding": rounding });
    let (_, exact) = clob("order-amounts", &input("exact"));
    assert_eq!(exact, json!({ "makerAmount": "2603700000", "takerAmount": "1301850000" }));
    let (_, python) = clob("order-amounts", &input("python"));
    assert_eq!(python, json!({ "makerAmount": "2603690000", "takerAmount": "1301845000" }));
    let (ok, err) = clob(
        "order-amounts",
        &json!({ "side": "BUY", "price": "0.557", "size": "1", "tick_size": "0.005", "kind": "limit" }),
    );
    assert!(!ok);
    assert!(err["error"].as_str().expect("message").contains("nearest valid: 0.555 or 0.56"));
}

#[test]
fn sign_order_reproduces_official_vectors_and_names_a_wrong_signer() {
    let file: Value = serde_json::from_str(include_str!("../../test_data/official_order_vectors.json")).expect("json");
    for row in file["orders"].as_array().expect("orders") {
        let mut order = row.clone();
        order["side"] = json!(if row["side"] == 0 { "BUY" } else { "SELL" });
        order["signatureType"] = row["sigType"].clone();
        order["expiration"] = json!("0");
        let input = json!({ "private_key": KEY, "chain_id": row["chain"], "version": row["version"], "neg_risk": row["neg_risk"], "order": order });
        let (ok, out) = clob("sign-order", &input);
        assert!(ok, "{out}");
        assert_eq!(out["orderHash"], row["orderHash"], "{row}");
        assert_eq!(out["signature"], row["signature"], "{row}");
    }
    let wrong = json!({ "private_key": KEY, "chain_id": 137, "version": 2, "neg_risk": false, "order": {
        "salt": "1", "maker": "0x1111111111111111111111111111111111111111", "signer": "0x1111111111111111111111111111111111111111",
        "tokenId": "1", "makerAmount": "1", "takerAmount": "1", "side": "BUY", "signatureType": 0, "timestamp": "1" } });
    let (ok, err) = clob("sign-order", &wrong);
    assert!(!ok);
    assert!(err["error"].as_str().expect("message").contains("is not the key's address"), "{err}");
    let (ok, _) = clob("nonsense", &json!({}));
    assert!(!ok);
}

const LIVE_SECRET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

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
                json!({ "apiKey": "derived-key", "secret": LIVE_SECRET, "passphrase": "pp" }).to_string()
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

    let account = json!({ "base_url": base, "api_key": "derived-key", "secret": LIVE_SECRET, "passphrase": "pp", "private_key": KEY });
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
    assert_eq!(checked["deposit_wallet"]["current"], "0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50");
    // A deposit-wallet account set up without its wallet cannot trade: named, with the fix.
    let (ok, err) = clob(
        "check-credentials",
        &json!({ "base_url": base, "private_key": KEY, "chain_id": 137, "api_key": "derived-key",
                 "signature_type": 3 }),
    );
    assert!(!ok);
    let message = err["error"].as_str().expect("message");
    assert!(
        message.contains("set funder") && message.contains("0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50"),
        "{message}"
    );
    let (ok, checked) = clob(
        "check-credentials",
        &json!({ "base_url": base, "private_key": KEY, "chain_id": 137, "api_key": "derived-key",
                 "signature_type": 3, "funder": "0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50" }),
    );
    assert!(ok, "{checked}");
    assert_eq!(checked["maker"], "0xBc0fF067b7740Eff76C1ca93c875Ba6B890d6B50");
    assert_eq!(checked["warnings"], json!([]));
    let (ok, err) = clob(
        "check-credentials",
        &json!({ "base_url": base, "private_key": KEY, "chain_id": 137, "api_key": "someone-elses" }),
    );
    assert!(!ok);
    let message = err["error"].as_str().expect("message");
    assert!(message.contains("does not belong to the signer 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), "{message}");

    let (ok, err) =
        clob("orders", &json!({ "base_url": base, "api_key": "k", "secret": LIVE_SECRET, "passphrase": "pp" }));
    assert!(!ok);
    assert!(err["error"].as_str().is_some_and(|m| m.contains("address")), "{err}");
    let (ok, err) = clob("book", &json!({ "base_url": "http://127.0.0.1:9", "token_id": "1" }));
    assert!(!ok, "an unreachable CLOB is an error: {err}");
}
