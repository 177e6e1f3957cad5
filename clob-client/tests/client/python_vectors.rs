//! ClobAuth (L1) and HMAC (L2) signatures against `test_data/python_auth_vectors.json`, which
//! `fixtures/gen_python_vectors.py` makes with py-clob-client-v2 1.2.1's own signing code
//! (the same script re-signs every order vector in `official_order_vectors.json`).

use kairos_clob_client::auth::l1::L1Headers;
use kairos_clob_client::auth::l2::{decode_secret, signature};
use kairos_clob_client::auth::signer::Signer;

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("../../test_data/python_auth_vectors.json")).expect("json")
}

#[test]
fn clob_auth_signatures_match_the_python_client() {
    let signer = Signer::from_hex(KEY).expect("key");
    let rows = vectors()["clob_auth"].as_array().expect("rows").clone();
    assert!(rows.len() >= 12);
    for row in rows {
        let (chain, ts, nonce) = (row["chain_id"].as_u64(), row["timestamp"].as_u64(), row["nonce"].as_u64());
        let (Some(chain), Some(ts), Some(nonce)) = (chain, ts, nonce) else { panic!("bad row {row}") };
        let headers = L1Headers::new(&signer, chain, ts, nonce);
        assert_eq!(headers.signature, row["signature"].as_str().expect("signature"), "{row}");
        assert_eq!(headers.address, row["address"].as_str().expect("address"), "{row}");
    }
}

#[test]
fn hmac_signatures_match_the_python_client() {
    let rows = vectors()["hmac"].as_array().expect("rows").clone();
    assert!(rows.len() >= 20);
    for row in rows {
        let s = |k: &str| row[k].as_str().expect("string").to_string();
        let secret = decode_secret(&s("secret")).expect("secret");
        let body = row["body"].as_str();
        assert_eq!(signature(&secret, &s("timestamp"), &s("method"), &s("path"), body), s("signature"), "{row}");
    }
}
