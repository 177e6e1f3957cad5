//! The `POST /order` body: the signed order's wire JSON in the key order the official clients
//! send (the HMAC covers the exact bytes, so the bytes are built here, not by a serializer).

use crate::auth::signer::hex0x;
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
fn wire_salt(salt: alloy_primitives::U256) -> Result<u64, EnvelopeError> {
    salt.try_into().map_err(|_| EnvelopeError::SaltTooLarge(salt.to_string()))
}

/// `{"order":…,"owner","orderType","deferExec":false,"postOnly"}` around an order's JSON.
fn envelope(order_json: &str, owner: &str, order_type: OrderType, post_only: bool) -> String {
    let owner = serde_json::to_string(owner).unwrap_or_else(|_| "\"\"".to_string());
    format!(
        "{{\"order\":{order_json},\"owner\":{owner},\"orderType\":\"{}\",\"deferExec\":false,\"postOnly\":{post_only}}}",
        order_type.as_str()
    )
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
    check_post_only(order_type, post_only)?;
    let salt = wire_salt(order.salt)?;
    let side = if order.side == 0 { "BUY" } else { "SELL" };
    // Checksumming hashes the address: do it once when maker and signer are the same.
    let maker = order.maker.to_checksum(None);
    let signer = if order.signer == order.maker { maker.clone() } else { order.signer.to_checksum(None) };
    let order_json = format!(
        "{{\"salt\":{salt},\"maker\":\"{}\",\"signer\":\"{}\",\"tokenId\":\"{}\",\"makerAmount\":\"{}\",\"takerAmount\":\"{}\",\
         \"side\":\"{side}\",\"expiration\":\"{expiration_s}\",\"signatureType\":{},\"timestamp\":\"{}\",\"metadata\":\"{}\",\
         \"builder\":\"{}\",\"signature\":\"{}\"}}",
        maker,
        signer,
        order.tokenId,
        order.makerAmount,
        order.takerAmount,
        order.signatureType,
        order.timestamp,
        order.metadata,
        order.builder,
        hex0x(&signed.signature),
    );
    Ok(envelope(&order_json, owner, order_type, post_only))
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
        order.maker.to_checksum(None),
        order.signer.to_checksum(None),
        order.taker.to_checksum(None),
        order.tokenId,
        order.makerAmount,
        order.takerAmount,
        order.expiration,
        order.nonce,
        order.feeRateBps,
        order.signatureType,
        hex0x(&signed.signature),
    );
    Ok(envelope(&order_json, owner, order_type, post_only))
}
