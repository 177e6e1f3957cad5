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
    #[error("the order's maker, signer or token is not the envelope's")]
    NotThisEnvelope,
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
fn checksummed(address: &crate::eth::Address) -> (crate::eth::Address, String) {
    static SEEN: std::sync::Mutex<Vec<(crate::eth::Address, String)>> = std::sync::Mutex::new(Vec::new());
    let Ok(mut seen) = SEEN.lock() else { return (*address, address.to_checksum()) };
    if let Some((_, s)) = seen.iter().find(|(a, _)| a == address) {
        return (*address, s.clone());
    }
    let s = address.to_checksum();
    if seen.len() < 64 {
        seen.push((*address, s.clone()));
    }
    (*address, s)
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
    let signer = (order.signer != order.maker).then_some(&order.signer);
    let envelope =
        V2Envelope::with_checksums(checksummed(&order.maker), signer.map(checksummed), owner, order_type, post_only)?;
    let mut b = String::with_capacity(900);
    envelope.write(&mut b, &TokenId::new(order.tokenId), order, &signed.signature, expiration_s)?;
    Ok(b)
}

/// A token id with its decimal form, written once: the wire carries the decimal, and writing
/// a 77-digit `U256` costs more than the rest of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenId {
    value: crate::eth::U256,
    decimal: String,
}

impl TokenId {
    pub fn new(value: crate::eth::U256) -> TokenId {
        TokenId { value, decimal: value.to_string() }
    }

    pub fn value(&self) -> crate::eth::U256 {
        self.value
    }

    pub fn decimal(&self) -> &str {
        &self.decimal
    }
}

/// What every V2 body of one account and order type shares, prepared once (the checksummed
/// addresses and the JSON of the owner), so writing a body into a reused buffer never
/// allocates: the quoter's hot path writes with this, [`v2_body`] too, so the two cannot drift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Envelope {
    maker: crate::eth::Address,
    maker_checksum: String,
    /// Set when the signer is not the maker (a proxy, safe or deposit wallet funds the order).
    signer: Option<(crate::eth::Address, String)>,
    owner_json: String,
    order_type: OrderType,
    post_only: bool,
}

impl V2Envelope {
    pub fn new(
        maker: crate::eth::Address,
        signer: crate::eth::Address,
        owner: &str,
        order_type: OrderType,
        post_only: bool,
    ) -> Result<V2Envelope, EnvelopeError> {
        let signer = (signer != maker).then(|| (signer, signer.to_checksum()));
        V2Envelope::with_checksums((maker, maker.to_checksum()), signer, owner, order_type, post_only)
    }

    fn with_checksums(
        maker: (crate::eth::Address, String),
        signer: Option<(crate::eth::Address, String)>,
        owner: &str,
        order_type: OrderType,
        post_only: bool,
    ) -> Result<V2Envelope, EnvelopeError> {
        check_post_only(order_type, post_only)?;
        let owner_json = serde_json::to_string(owner).unwrap_or_else(|_| "\"\"".to_string());
        Ok(V2Envelope { maker: maker.0, maker_checksum: maker.1, signer, owner_json, order_type, post_only })
    }

    /// Appends the body of `order` (signed with `signature`) to `b`. The order must be this
    /// envelope's maker's and signer's, for `token`: anything else is refused, not written.
    pub fn write(
        &self,
        b: &mut String,
        token: &TokenId,
        order: &v2::Order,
        signature: &[u8],
        expiration_s: u64,
    ) -> Result<(), EnvelopeError> {
        let signer = self.signer.as_ref().map_or(self.maker, |(a, _)| *a);
        if order.maker != self.maker || order.signer != signer || order.tokenId != token.value {
            return Err(EnvelopeError::NotThisEnvelope);
        }
        let salt = wire_salt(order.salt)?;
        b.push_str("{\"order\":{\"salt\":");
        push_u128(b, u128::from(salt));
        b.push_str(",\"maker\":\"");
        b.push_str(&self.maker_checksum);
        b.push_str("\",\"signer\":\"");
        b.push_str(self.signer.as_ref().map_or(&self.maker_checksum, |(_, s)| s));
        b.push_str("\",\"tokenId\":\"");
        b.push_str(&token.decimal);
        b.push_str("\",\"makerAmount\":\"");
        push_decimal(b, &order.makerAmount);
        b.push_str("\",\"takerAmount\":\"");
        push_decimal(b, &order.takerAmount);
        b.push_str(if order.side == 0 { "\",\"side\":\"BUY" } else { "\",\"side\":\"SELL" });
        b.push_str("\",\"expiration\":\"");
        push_u128(b, u128::from(expiration_s));
        b.push_str("\",\"signatureType\":");
        push_u128(b, u128::from(order.signatureType));
        b.push_str(",\"timestamp\":\"");
        push_decimal(b, &order.timestamp);
        b.push_str("\",\"metadata\":\"");
        push_hex(b, order.metadata.as_slice());
        b.push_str("\",\"builder\":\"");
        push_hex(b, order.builder.as_slice());
        b.push_str("\",\"signature\":\"");
        push_hex(b, signature);
        b.push_str("\"},\"owner\":");
        b.push_str(&self.owner_json);
        b.push_str(",\"orderType\":\"");
        b.push_str(self.order_type.as_str());
        b.push_str(if self.post_only {
            "\",\"deferExec\":false,\"postOnly\":true}"
        } else {
            "\",\"deferExec\":false,\"postOnly\":false}"
        });
        Ok(())
    }
}

/// Digits without `fmt`'s machinery: this runs a dozen times per body.
fn push_u128(b: &mut String, mut n: u128) {
    let mut digits = [0u8; 39];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        b.push(char::from(d));
    }
}

fn push_decimal(b: &mut String, v: &crate::eth::U256) {
    use std::fmt::Write as _;
    match u128::try_from(*v) {
        Ok(n) => push_u128(b, n),
        Err(_) => {
            let _ = write!(b, "{v}");
        }
    }
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
