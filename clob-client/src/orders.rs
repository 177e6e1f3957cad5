//! Signed orders for the three exchange versions: the EIP-712 structs, their domains, the order
//! hash (the CLOB's order id) and the signatures the official clients produce, byte for byte.
//!
//! - Version 1 (legacy; domain version "1"): salt, maker, signer, taker, tokenId, makerAmount,
//!   takerAmount, expiration, nonce, feeRateBps, side, signatureType.
//! - Versions 2 and 3 (domain versions "2" and "3", one struct): salt, maker, signer, tokenId,
//!   makerAmount, takerAmount, side, signatureType, timestamp (ms), metadata, builder.
//!   `expiration` travels on the wire but is not signed.
//! - Signature types: EOA 0, POLY_PROXY 1, POLY_GNOSIS_SAFE 2 sign the order's EIP-712 hash;
//!   POLY_1271 3 (V2/V3 only) wraps an ERC-7739 `TypedDataSign` signature for a deposit wallet.

use crate::auth::signer::Signer;
use crate::eip712::{self, Domain, Words};
use crate::eth::{Address, B256, U256, keccak256};

/// The legacy struct (domain version "1").
pub mod v1 {
    use crate::eth::{Address, U256};

    /// Field names are the EIP-712 struct's.
    #[allow(non_snake_case)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Order {
        pub salt: U256,
        pub maker: Address,
        pub signer: Address,
        pub taker: Address,
        pub tokenId: U256,
        pub makerAmount: U256,
        pub takerAmount: U256,
        pub expiration: U256,
        pub nonce: U256,
        pub feeRateBps: U256,
        pub side: u8,
        pub signatureType: u8,
    }
}

/// The V2 struct, also signed by version 3 under domain version "3".
pub mod v2 {
    use crate::eth::{Address, B256, U256};

    /// Field names are the EIP-712 struct's.
    #[allow(non_snake_case)]
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Order {
        pub salt: U256,
        pub maker: Address,
        pub signer: Address,
        pub tokenId: U256,
        pub makerAmount: U256,
        pub takerAmount: U256,
        pub side: u8,
        pub signatureType: u8,
        pub timestamp: U256,
        pub metadata: B256,
        pub builder: B256,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    fn domain_version(self) -> &'static str {
        match self {
            Version::V1 => "1",
            Version::V2 => "2",
            Version::V3 => "3",
        }
    }
}

pub const SIGNATURE_TYPE_POLY_1271: u8 = 3;

/// The exchange's EIP-712 domain.
pub fn domain(version: Version, chain_id: u64, exchange: Address) -> Domain {
    Domain {
        name: "Polymarket CTF Exchange",
        version: version.domain_version(),
        chain_id,
        verifying_contract: Some(exchange),
    }
}

/// An order hash (the CLOB's order id) and the wire signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub order_hash: B256,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("signature type POLY_1271 is not supported for version 1 orders")]
    Poly1271OnV1,
    #[error(
        "the order's signer {order} is not the key's address {key}; only POLY_1271 orders are signed for another address"
    )]
    SignerMismatch { order: Address, key: Address },
}

/// Signs a version-1 order.
pub fn sign_v1(signer: &Signer, order: &v1::Order, domain: &Domain) -> Result<Signed, OrderError> {
    if order.signatureType == SIGNATURE_TYPE_POLY_1271 {
        return Err(OrderError::Poly1271OnV1);
    }
    check_signer(signer, order.signer)?;
    let order_hash = domain.signing_hash(struct_hash_v1(order));
    Ok(Signed { order_hash, signature: signer.sign_hash(order_hash).to_vec() })
}

/// An exchange domain with its separator computed once: signing many orders reuses it.
#[derive(Debug, Clone)]
pub struct SigningDomain {
    domain: Domain,
    separator: B256,
}

impl SigningDomain {
    pub fn new(domain: Domain) -> SigningDomain {
        let separator = domain.separator();
        SigningDomain { domain, separator }
    }

    /// `keccak256(0x1901 ‖ separator ‖ hashStruct(order))`: the order hash.
    pub fn order_hash(&self, struct_hash: B256) -> B256 {
        eip712::signing_hash(&self.separator, &struct_hash)
    }
}

/// Signs a version-2 or version-3 order (the domain says which), wrapping POLY_1271.
pub fn sign_v2(signer: &Signer, order: &v2::Order, domain: &Domain) -> Result<Signed, OrderError> {
    sign_v2_with(signer, order, &SigningDomain::new(domain.clone()))
}

/// `keccak256(ORDER_TYPE_STRING)`, computed once.
static V2_TYPE_HASH: std::sync::LazyLock<B256> = std::sync::LazyLock::new(|| keccak256(ORDER_TYPE_STRING));

/// `hashStruct(order)` for the V2 struct without allocating: every field is one 32-byte word.
pub fn struct_hash_v2(order: &v2::Order) -> B256 {
    let mut w = Words::new(*V2_TYPE_HASH);
    w.push_uint(&order.salt);
    w.push_address(&order.maker);
    w.push_address(&order.signer);
    w.push_uint(&order.tokenId);
    w.push_uint(&order.makerAmount);
    w.push_uint(&order.takerAmount);
    w.push_u8(order.side);
    w.push_u8(order.signatureType);
    w.push_uint(&order.timestamp);
    w.push(order.metadata);
    w.push(order.builder);
    w.hash()
}

/// The legacy struct's type string.
pub const ORDER_V1_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,address taker,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint256 expiration,uint256 nonce,uint256 feeRateBps,uint8 side,uint8 signatureType)";

static V1_TYPE_HASH: std::sync::LazyLock<B256> = std::sync::LazyLock::new(|| keccak256(ORDER_V1_TYPE_STRING));

/// `hashStruct(order)` for the legacy struct.
pub fn struct_hash_v1(order: &v1::Order) -> B256 {
    let mut w = Words::new(*V1_TYPE_HASH);
    w.push_uint(&order.salt);
    w.push_address(&order.maker);
    w.push_address(&order.signer);
    w.push_address(&order.taker);
    w.push_uint(&order.tokenId);
    w.push_uint(&order.makerAmount);
    w.push_uint(&order.takerAmount);
    w.push_uint(&order.expiration);
    w.push_uint(&order.nonce);
    w.push_uint(&order.feeRateBps);
    w.push_u8(order.side);
    w.push_u8(order.signatureType);
    w.hash()
}

/// [`sign_v2`] with a precomputed domain separator.
pub fn sign_v2_with(signer: &Signer, order: &v2::Order, domain: &SigningDomain) -> Result<Signed, OrderError> {
    let mut signature = Vec::with_capacity(POLY_1271_SIGNATURE_LEN);
    let order_hash = sign_v2_into(signer, order, domain, &mut signature)?;
    Ok(Signed { order_hash, signature })
}

/// The length of a POLY_1271 wire signature, the longest a V2 order carries.
pub const POLY_1271_SIGNATURE_LEN: usize = 65 + 64 + ORDER_TYPE_STRING.len() + 2;

/// [`sign_v2_with`] for the hot path: the wire signature is written into `signature`
/// (cleared first), so a buffer of [`POLY_1271_SIGNATURE_LEN`] bytes reused from order to
/// order never allocates. Returns the order hash.
pub fn sign_v2_into(
    signer: &Signer,
    order: &v2::Order,
    domain: &SigningDomain,
    signature: &mut Vec<u8>,
) -> Result<B256, OrderError> {
    signature.clear();
    let contents_hash = struct_hash_v2(order);
    let order_hash = domain.order_hash(contents_hash);
    if order.signatureType != SIGNATURE_TYPE_POLY_1271 {
        check_signer(signer, order.signer)?;
        signature.extend_from_slice(&signer.sign_hash(order_hash));
    } else {
        poly_1271_signature(signer, order.signer, contents_hash, domain, signature);
    }
    Ok(order_hash)
}

fn check_signer(signer: &Signer, order_signer: Address) -> Result<(), OrderError> {
    if order_signer == signer.address() {
        Ok(())
    } else {
        Err(OrderError::SignerMismatch { order: order_signer, key: signer.address() })
    }
}

/// The V2 struct's type string, which the POLY_1271 wrapper carries.
pub const ORDER_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";

/// ERC-7739 `TypedDataSign` wrapping for deposit wallets: the EOA signs a digest binding the
/// order (its struct hash) to the wallet (the order's signer) and the exchange domain; the wire
/// signature carries what the wallet contract needs to check it.
fn poly_1271_signature(
    signer: &Signer,
    wallet: Address,
    contents_hash: B256,
    domain: &SigningDomain,
    wire: &mut Vec<u8>,
) {
    let mut w = Words::new(*TYPED_DATA_SIGN_TYPE_HASH);
    w.push(contents_hash);
    w.push(keccak256(b"DepositWallet"));
    w.push(keccak256(b"1"));
    w.push_uint(&U256::from(domain.domain.chain_id));
    w.push_address(&wallet);
    w.push(B256::ZERO);
    let app_domain = domain.separator;
    let inner = signer.sign_hash(eip712::signing_hash(&app_domain, &w.hash()));

    let type_len = u16::try_from(ORDER_TYPE_STRING.len()).unwrap_or(u16::MAX);
    wire.extend_from_slice(&inner);
    wire.extend_from_slice(app_domain.as_slice());
    wire.extend_from_slice(contents_hash.as_slice());
    wire.extend_from_slice(ORDER_TYPE_STRING.as_bytes());
    wire.extend_from_slice(&type_len.to_be_bytes());
}

/// `keccak256("TypedDataSign(Order contents,…)" ‖ ORDER_TYPE_STRING)`, computed once.
static TYPED_DATA_SIGN_TYPE_HASH: std::sync::LazyLock<B256> = std::sync::LazyLock::new(|| {
    let mut tds_type = b"TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)".to_vec();
    tds_type.extend_from_slice(ORDER_TYPE_STRING.as_bytes());
    keccak256(&tds_type)
});

#[cfg(test)]
mod tests;
