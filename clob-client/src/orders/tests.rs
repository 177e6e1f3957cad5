use std::str::FromStr as _;

use crate::eth::{Address, B256, U256};

use super::*;
use crate::auth::signer::{Signer, hex0x};

const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const VECTORS: &str = include_str!("../../test_data/official_order_vectors.json");

fn u(v: &serde_json::Value) -> U256 {
    U256::from_str_radix(v.as_str().expect("decimal string"), 10).expect("u256")
}

fn a(v: &serde_json::Value) -> Address {
    Address::from_str(v.as_str().expect("address")).expect("address")
}

fn b(v: &serde_json::Value) -> B256 {
    B256::from_str(v.as_str().expect("bytes32")).expect("bytes32")
}

fn small(v: &serde_json::Value) -> u8 {
    u8::try_from(v.as_u64().expect("number")).expect("u8")
}

#[test]
fn every_official_vector_hashes_and_signs_identically() {
    let signer = Signer::from_hex(KEY).expect("key");
    let file: serde_json::Value = serde_json::from_str(VECTORS).expect("json");
    let rows = file["orders"].as_array().expect("orders");
    assert_eq!(rows.len(), 60);
    for row in rows {
        let chain = row["chain"].as_u64().expect("chain");
        let exchange = a(&row["exchange"]);
        let signed = match row["version"].as_u64() {
            Some(1) => {
                let order = v1::Order {
                    salt: u(&row["salt"]),
                    maker: a(&row["maker"]),
                    signer: a(&row["signer"]),
                    taker: a(&row["taker"]),
                    tokenId: u(&row["tokenId"]),
                    makerAmount: u(&row["makerAmount"]),
                    takerAmount: u(&row["takerAmount"]),
                    expiration: u(&row["expiration"]),
                    nonce: u(&row["nonce"]),
                    feeRateBps: u(&row["feeRateBps"]),
                    side: small(&row["side"]),
                    signatureType: small(&row["sigType"]),
                };
                sign_v1(&signer, &order, &domain(Version::V1, chain, exchange)).expect("sign v1")
            }
            Some(v) => {
                let version = if v == 2 { Version::V2 } else { Version::V3 };
                let order = v2::Order {
                    salt: u(&row["salt"]),
                    maker: a(&row["maker"]),
                    signer: a(&row["signer"]),
                    tokenId: u(&row["tokenId"]),
                    makerAmount: u(&row["makerAmount"]),
                    takerAmount: u(&row["takerAmount"]),
                    side: small(&row["side"]),
                    signatureType: small(&row["sigType"]),
                    timestamp: u(&row["timestamp"]),
                    metadata: b(&row["metadata"]),
                    builder: b(&row["builder"]),
                };
                sign_v2(&signer, &order, &domain(version, chain, exchange)).expect("sign v2")
            }
            None => panic!("no version in {row}"),
        };
        let what =
            format!("v{} chain {} sigType {} neg_risk {}", row["version"], chain, row["sigType"], row["neg_risk"]);
        assert_eq!(hex0x(signed.order_hash.as_slice()), row["orderHash"].as_str().expect("hash"), "hash {what}");
        assert_eq!(hex0x(&signed.signature), row["signature"].as_str().expect("sig"), "signature {what}");
    }
}

#[test]
fn refuses_what_the_exchanges_refuse() {
    let signer = Signer::from_hex(KEY).expect("key");
    let other = Address::repeat_byte(0x11);
    let order = v2::Order {
        salt: U256::from(1),
        maker: other,
        signer: other,
        tokenId: U256::from(1),
        makerAmount: U256::from(1),
        takerAmount: U256::from(1),
        side: 0,
        signatureType: 0,
        timestamp: U256::from(1),
        metadata: B256::ZERO,
        builder: B256::ZERO,
    };
    let d = domain(Version::V2, 137, Address::ZERO);
    assert!(matches!(sign_v2(&signer, &order, &d), Err(OrderError::SignerMismatch { .. })));
    assert_eq!(ORDER_TYPE_STRING.len(), 186);
}

/// alloy's EIP-712 structs, an implementation that shares no code with ours: the oracle for
/// the hand-written struct hashes and domain separators.
mod alloy_v1 {
    alloy_sol_types::sol! {
        struct Order {
            uint256 salt;
            address maker;
            address signer;
            address taker;
            uint256 tokenId;
            uint256 makerAmount;
            uint256 takerAmount;
            uint256 expiration;
            uint256 nonce;
            uint256 feeRateBps;
            uint8 side;
            uint8 signatureType;
        }
    }
}

mod alloy_v2 {
    alloy_sol_types::sol! {
        struct Order {
            uint256 salt;
            address maker;
            address signer;
            uint256 tokenId;
            uint256 makerAmount;
            uint256 takerAmount;
            uint8 side;
            uint8 signatureType;
            uint256 timestamp;
            bytes32 metadata;
            bytes32 builder;
        }
    }
}

fn alloy_u(v: U256) -> alloy_primitives::U256 {
    alloy_primitives::U256::from_be_bytes(v.to_be_bytes::<32>())
}

fn alloy_a(a: Address) -> alloy_primitives::Address {
    alloy_primitives::Address::from(a.0)
}

proptest::proptest! {
    /// Our struct hashes and signing digests are alloy's, for any field values.
    #[test]
    fn struct_hashes_and_digests_are_the_eip712_ones(
        salt in proptest::prelude::any::<u64>(),
        token in proptest::prelude::any::<[u8; 32]>(),
        maker in proptest::prelude::any::<[u8; 20]>(),
        taker in proptest::prelude::any::<[u8; 20]>(),
        amounts in proptest::prelude::any::<(u64, u64)>(),
        side in 0u8..2,
        signature_type in 0u8..4,
        meta in proptest::prelude::any::<[u8; 32]>(),
        chain in proptest::prelude::any::<u64>(),
    ) {
        use alloy_sol_types::SolStruct as _;
        let v2 = v2::Order {
            salt: U256::from(salt),
            maker: Address::from(maker),
            signer: Address::from(maker),
            tokenId: U256::from_be_bytes(token),
            makerAmount: U256::from(amounts.0),
            takerAmount: U256::from(amounts.1),
            side,
            signatureType: signature_type,
            timestamp: U256::from(salt / 3),
            metadata: B256::from(meta),
            builder: B256::from(token),
        };
        let theirs_v2 = alloy_v2::Order {
            salt: alloy_u(v2.salt),
            maker: alloy_a(v2.maker),
            signer: alloy_a(v2.signer),
            tokenId: alloy_u(v2.tokenId),
            makerAmount: alloy_u(v2.makerAmount),
            takerAmount: alloy_u(v2.takerAmount),
            side,
            signatureType: signature_type,
            timestamp: alloy_u(v2.timestamp),
            metadata: meta.into(),
            builder: token.into(),
        };
        proptest::prop_assert_eq!(struct_hash_v2(&v2).0, theirs_v2.eip712_hash_struct().0);

        let v1 = v1::Order {
            salt: U256::from(salt),
            maker: Address::from(maker),
            signer: Address::from(maker),
            taker: Address::from(taker),
            tokenId: U256::from_be_bytes(token),
            makerAmount: U256::from(amounts.0),
            takerAmount: U256::from(amounts.1),
            expiration: U256::from(salt / 7),
            nonce: U256::from(amounts.0 ^ amounts.1),
            feeRateBps: U256::from(salt % 1000),
            side,
            signatureType: signature_type,
        };
        let theirs_v1 = alloy_v1::Order {
            salt: alloy_u(v1.salt),
            maker: alloy_a(v1.maker),
            signer: alloy_a(v1.signer),
            taker: alloy_a(v1.taker),
            tokenId: alloy_u(v1.tokenId),
            makerAmount: alloy_u(v1.makerAmount),
            takerAmount: alloy_u(v1.takerAmount),
            expiration: alloy_u(v1.expiration),
            nonce: alloy_u(v1.nonce),
            feeRateBps: alloy_u(v1.feeRateBps),
            side,
            signatureType: signature_type,
        };
        proptest::prop_assert_eq!(struct_hash_v1(&v1).0, theirs_v1.eip712_hash_struct().0);

        let exchange = Address::from(taker);
        for version in [Version::V1, Version::V2, Version::V3] {
            let ours = domain(version, chain, exchange);
            let theirs = alloy_sol_types::Eip712Domain::new(
                Some(ours.name.into()),
                Some(ours.version.into()),
                Some(alloy_primitives::U256::from(chain)),
                Some(alloy_a(exchange)),
                None,
            );
            proptest::prop_assert_eq!(ours.separator().0, theirs.separator().0);
            proptest::prop_assert_eq!(ours.signing_hash(struct_hash_v2(&v2)).0, theirs_v2.eip712_signing_hash(&theirs).0);
        }
    }
}
