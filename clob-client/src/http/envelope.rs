//! The `POST /order` body: the signed order's wire JSON in the key order the official clients
//! send (the HMAC covers the exact bytes, so the bytes are built here, not by a serializer).

use crate::eth::{hex0x, push_hex};
use crate::orders::{Signed, v1, v2};

/// Order types the CLOB accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    Gtc,
    Gtd,
    Fok,
    Fak,
}

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Gtd => "GTD",
            OrderType::Fok => "FOK",
            OrderType::Fak => "FAK",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("post_only is not supported for FOK/FAK orders")]
    PostOnlyNeedsRestingType,
    #[error("the salt {0} does not fit the wire's integer")]
    SaltTooLarge(String),
}

fn check_post_only(order_type: OrderType, post_only: bool) -> Result<(), EnvelopeError> {
    if post_only && matches!(order_type, OrderType::Fok | OrderType::Fak) {
        return Err(EnvelopeError::PostOnlyNeedsRestingType);
    }
    Ok(())
}

/// The official clients send the salt as a JSON integer.
fn wire_salt(salt: crate::eth::U256) -> Result<u64, EnvelopeError> {
    salt.try_into().map_err(|_| EnvelopeError::SaltTooLarge(salt.to_string()))
}

/// Closes the envelope after the order's JSON:
/// `,"owner","orderType","deferExec":false,"postOnly"}`.
fn push_envelope_tail(b: &mut String, owner: &str, order_type: OrderType, post_only: bool) {
    use std::fmt::Write as _;
    b.push_str(",\"owner\":");
    b.push_str(&serde_json::to_string(owner).unwrap_or_else(|_| "\"\"".to_string()));
    let _ = write!(b, ",\"orderType\":\"{}\",\"deferExec\":false,\"postOnly\":{post_only}}}", order_type.as_str());
}

/// An address in its EIP-55 form, remembered: checksumming hashes the address, and an
/// account signs with the same one or two addresses all day.
fn checksummed(address: &crate::eth::Address) -> String {
    static SEEN: std::sync::Mutex<Vec<(crate::eth::Address, String)>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut seen) = SEEN.lock() else { return address.to_checksum() };
    if let Some((_, s)) = seen.iter().find(|(a, _)| a == address) {
        return s.clone();
    }
    let s = address.to_checksum();
    if seen.len() < 64 {
        seen.push((*address, s.clone()));
    }
    s
}

/// `{"order":{…},"owner","orderType","deferExec":false,"postOnly"}` for a version 2 or 3 order.
/// `expiration` (seconds; 0 for none) travels on the wire but is not part of the signed struct.
pub fn v2_body(
    order: &v2::Order,
    signed: &Signed,
    expiration_s: u64,
    owner: &str,
    order_type: OrderType,
    post_only: bool,
) -> Result<String, EnvelopeError> {
    use std::fmt::Write as _;
    check_post_only(order_type, post_only)?;
    let salt = wire_salt(order.salt)?;
    let side = if order.side == 0 { "BUY" } else { "SELL" };
    let maker = checksummed(&order.maker);
    // One buffer written in place: this body is on the order path, and `format!` with a dozen
    // arguments, each formatted into its own string first, cost more than the hash.
    let mut b = String::with_capacity(900);
    let _ = write!(b, "{{\"order\":{{\"salt\":{salt},\"maker\":\"{maker}\",\"signer\":\"");
    if order.signer == order.maker {
        b.push_str(&maker);
    } else {
        b.push_str(&checksummed(&order.signer));
    }
    let _ = write!(b, "\",\"tokenId\":\"{}\",\"makerAmount\":\"", order.tokenId);
    push_decimal(&mut b, &order.makerAmount);
    b.push_str("\",\"takerAmount\":\"");
    push_decimal(&mut b, &order.takerAmount);
    let _ = write!(
        b,
        "\",\"side\":\"{side}\",\"expiration\":\"{expiration_s}\",\"signatureType\":{},\"timestamp\":\"",
        order.signatureType
    );
    push_decimal(&mut b, &order.timestamp);
    b.push_str("\",\"metadata\":\"");
    push_hex(&mut b, order.metadata.as_slice());
    b.push_str("\",\"builder\":\"");
    push_hex(&mut b, order.builder.as_slice());
    b.push_str("\",\"signature\":\"");
    push_hex(&mut b, &signed.signature);
    b.push_str("\"}");
    push_envelope_tail(&mut b, owner, order_type, post_only);
    Ok(b)
}

fn push_decimal(b: &mut String, v: &crate::eth::U256) {
    use std::fmt::Write as _;
    let _ = match u128::try_from(*v) {
        Ok(n) => write!(b, "{n}"),
        Err(_) => write!(b, "{v}"),
    };
}

/// The same envelope for a legacy version 1 order: `{salt, maker, signer, taker, tokenId,
/// makerAmount, takerAmount, side, expiration, nonce, feeRateBps, signatureType, signature}`.
pub fn v1_body(
    order: &v1::Order,
    signed: &Signed,
    owner: &str,
    order_type: OrderType,
    post_only: bool,
) -> Result<String, EnvelopeError> {
    check_post_only(order_type, post_only)?;
    let salt = wire_salt(order.salt)?;
    let side = if order.side == 0 { "BUY" } else { "SELL" };
    let order_json = format!(
        "{{\"salt\":{salt},\"maker\":\"{}\",\"signer\":\"{}\",\"taker\":\"{}\",\"tokenId\":\"{}\",\"makerAmount\":\"{}\",\
         \"takerAmount\":\"{}\",\"side\":\"{side}\",\"expiration\":\"{}\",\"nonce\":\"{}\",\"feeRateBps\":\"{}\",\
         \"signatureType\":{},\"signature\":\"{}\"}}",
        order.maker.to_checksum(),
        order.signer.to_checksum(),
        order.taker.to_checksum(),
        order.tokenId,
        order.makerAmount,
        order.takerAmount,
        order.expiration,
        order.nonce,
        order.feeRateBps,
        order.signatureType,
        hex0x(&signed.signature),
    );
    let mut b = format!("{{\"order\":{order_json}");
    push_envelope_tail(&mut b, owner, order_type, post_only);
    Ok(b)
}
