//! EIP-712 hashing of Polymarket orders for the mock CLOB, written by hand from the standard
//! and Polymarket's documented order type (`../shared/notes/polymarket-clob.md`), with no code
//! shared with `kairos_clob_client` (nor the `alloy` crates it uses): only Keccak-256 (`sha3`)
//! and the arithmetic below. The test at the end checks it against the official clients'
//! vectors, so the mock is an independent oracle for the venue's signing.

use sha3::{Digest as _, Keccak256};

/// The order type of exchange versions 2 and 3, as documented.
pub(crate) const ORDER_TYPE: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,\
uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,\
bytes32 builder)";

const DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

pub(crate) fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A decimal number below 2^256 as a 32-byte big-endian word.
pub(crate) fn uint256(decimal: &str) -> Option<[u8; 32]> {
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut word = [0u8; 32];
    for digit in decimal.bytes().map(|b| u32::from(b - b'0')) {
        let mut carry = digit;
        for byte in word.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        if carry != 0 {
            return None;
        }
    }
    Some(word)
}

fn hex_bytes<const N: usize>(text: &str) -> Option<[u8; N]> {
    let raw = hex::decode(text.strip_prefix("0x").unwrap_or(text)).ok()?;
    raw.try_into().ok()
}

pub(crate) fn address(text: &str) -> Option<[u8; 20]> {
    hex_bytes::<20>(text)
}

fn word_of_address(a: [u8; 20]) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[12..].copy_from_slice(&a);
    word
}

fn word_of_small(v: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&v.to_be_bytes());
    word
}

/// A Protocol V2 position id: bits 40 to 103 zero (Polymarket's rule), i.e. bytes 19 to 26 of
/// the big-endian word.
pub(crate) fn is_position(token: &[u8; 32]) -> bool {
    token[19..=26].iter().all(|b| *b == 0)
}

/// The fields of a posted order, in the type's order; `None` when one is unreadable.
pub(crate) struct Order {
    pub(crate) words: Vec<[u8; 32]>,
    pub(crate) token_id: [u8; 32],
    pub(crate) signer: [u8; 20],
}

/// Reads an order as the CLOB's body holds it (numbers as decimal strings or JSON numbers,
/// side as `BUY`/`SELL` or 0/1).
pub(crate) fn read_order(o: &serde_json::Value) -> Option<Order> {
    let text = |k: &str| -> Option<String> {
        match &o[k] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let u = |k: &str| uint256(&text(k)?);
    let side = match &o["side"] {
        serde_json::Value::String(s) if s == "BUY" => 0,
        serde_json::Value::String(s) if s == "SELL" => 1,
        serde_json::Value::Number(n) => n.as_u64().filter(|v| *v <= 1)?,
        _ => return None,
    };
    let signature_type = o["signatureType"].as_u64().or_else(|| o["sigType"].as_u64()).filter(|v| *v <= 255)?;
    let maker = address(o["maker"].as_str()?)?;
    let signer = address(o["signer"].as_str()?)?;
    let token_id = u("tokenId")?;
    let words = vec![
        u("salt")?,
        word_of_address(maker),
        word_of_address(signer),
        token_id,
        u("makerAmount")?,
        u("takerAmount")?,
        word_of_small(side),
        word_of_small(signature_type),
        u("timestamp")?,
        hex_bytes::<32>(o["metadata"].as_str()?)?,
        hex_bytes::<32>(o["builder"].as_str()?)?,
    ];
    Some(Order { words, token_id, signer })
}

/// The digest a signer signs: `keccak(0x1901 ‖ domainSeparator ‖ hashStruct(order))`.
pub(crate) fn digest(order: &Order, version: &str, chain_id: u64, exchange: [u8; 20]) -> [u8; 32] {
    let domain = keccak(&[
        &keccak(&[DOMAIN_TYPE.as_bytes()]),
        &keccak(&[b"Polymarket CTF Exchange"]),
        &keccak(&[version.as_bytes()]),
        &word_of_small(chain_id),
        &word_of_address(exchange),
    ]);
    let type_hash = keccak(&[ORDER_TYPE.as_bytes()]);
    let mut encoded: Vec<&[u8]> = vec![&type_hash];
    encoded.extend(order.words.iter().map(|w| w.as_slice()));
    let struct_hash = keccak(&encoded);
    keccak(&[b"\x19\x01", &domain, &struct_hash])
}

/// The address that signed `digest` (`r ‖ s ‖ v`, v = 27 or 28), with secp256k1 directly.
pub(crate) fn recover(digest: [u8; 32], signature: &[u8]) -> Option<[u8; 20]> {
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
    if signature.len() != 65 {
        return None;
    }
    let id = RecoveryId::try_from(i32::from(signature[64]) - 27).ok()?;
    let recoverable = RecoverableSignature::from_compact(&signature[..64], id).ok()?;
    let key = secp256k1::SECP256K1.recover_ecdsa(secp256k1::Message::from_digest(digest), &recoverable).ok()?;
    let public = key.serialize_uncompressed();
    let hash = keccak(&[&public[1..]]);
    hash[12..].try_into().ok()
}

#[test]
fn digests_and_signers_match_the_official_clients_vectors() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("../../../clob-client/test_data/official_order_vectors.json")).expect("json");
    let mut checked = 0;
    for v in file["orders"].as_array().expect("orders").iter().filter(|v| v["version"] != 1) {
        let order = read_order(v).unwrap_or_else(|| panic!("readable: {v}"));
        let version = v["version"].as_u64().expect("version").to_string();
        let chain = v["chain"].as_u64().expect("chain");
        let exchange = address(v["exchange"].as_str().expect("exchange")).expect("address");
        let d = digest(&order, &version, chain, exchange);
        assert_eq!(format!("0x{}", hex::encode(d)), v["orderHash"].as_str().expect("hash"), "{v}");
        // Type 3 (POLY_1271) wraps the signature for the wallet contract: not recoverable here.
        if v["sigType"] != 3 {
            let signature = hex::decode(v["signature"].as_str().expect("sig").trim_start_matches("0x")).expect("hex");
            assert_eq!(recover(d, &signature), Some(order.signer), "{v}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} vectors");
    assert_eq!(uint256("256").map(|w| (w[30], w[31])), Some((1, 0)));
    assert_eq!(uint256(&"9".repeat(78)), None, "above 2^256");
}
