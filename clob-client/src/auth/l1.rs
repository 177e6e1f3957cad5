//! L1 authentication: an EIP-712 `ClobAuth` signature by the wallet, used to create or derive
//! API credentials (`POST /auth/api-key`, `GET /auth/derive-api-key`).
//!
//! Domain `{name: "ClobAuthDomain", version: "1", chainId}` with no verifying contract; type
//! `ClobAuth(address address,string timestamp,uint256 nonce,string message)`; the timestamp is
//! Unix seconds as a string; the message is fixed.

use super::signer::{Signer, hex0x};
use crate::eip712::{Domain, Words};
use crate::eth::{B256, U256, keccak256};

/// The type of the struct the wallet signs.
pub const CLOB_AUTH_TYPE_STRING: &str = "ClobAuth(address address,string timestamp,uint256 nonce,string message)";

/// The fixed attestation every `ClobAuth` carries.
pub const ATTESTATION: &str = "This message attests that I control the given wallet";

fn domain(chain_id: u64) -> Domain {
    Domain { name: "ClobAuthDomain", version: "1", chain_id, verifying_contract: None }
}

/// `hashStruct(ClobAuth)`: the strings enter as their hashes.
fn struct_hash(signer: &Signer, timestamp_s: u64, nonce: u64) -> B256 {
    let mut w = Words::new(keccak256(CLOB_AUTH_TYPE_STRING));
    w.push_address(&signer.address());
    w.push(keccak256(timestamp_s.to_string()));
    w.push_uint(&U256::from(nonce));
    w.push(keccak256(ATTESTATION));
    w.hash()
}

/// The EIP-712 digest the wallet signs.
pub fn digest(signer: &Signer, chain_id: u64, timestamp_s: u64, nonce: u64) -> B256 {
    domain(chain_id).signing_hash(struct_hash(signer, timestamp_s, nonce))
}

/// The four `POLY_*` headers of an L1 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Headers {
    /// Checksummed signer address.
    pub address: String,
    /// `0x` + 130 hex characters.
    pub signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl L1Headers {
    pub fn new(signer: &Signer, chain_id: u64, timestamp_s: u64, nonce: u64) -> L1Headers {
        let signature = signer.sign_hash(digest(signer, chain_id, timestamp_s, nonce));
        L1Headers {
            address: signer.address().to_checksum(),
            signature: hex0x(&signature),
            timestamp: timestamp_s.to_string(),
            nonce: nonce.to_string(),
        }
    }

    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_NONCE", &self.nonce),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    /// Public vectors generated with py-clob-client-v2 1.2.1 (see the team's CLOB notes):
    /// (chain, timestamp, nonce, digest, signature).
    const VECTORS: &[(u64, u64, u64, &str, &str)] = &[
        (
            80002,
            10000000,
            23,
            "0x8f442df8073c9cf2e36d7b20ca9d64d1a9352e982cc82a293b7de2df57920610",
            "0xf62319a987514da40e57e2f4d7529f7bac38f0355bd88bb5adbb3768d80de6c1682518e0af677d5260366425f4361e7b70c25ae232aff0ab2331e2b164a1aedc1b",
        ),
        (
            137,
            10000000,
            23,
            "0x577908bf2b712def8592d5078487f59ab9aa28b656e6fda011c8ac4333792037",
            "0x1a7118db6100dfd8efd102be36f472b59475dcac56eb4c9a2a94748d3655ba7c3c89deb8c19ee79eceb0a531122fbfbe88ed118034f9d8212e2b725e7b296b9d1c",
        ),
        (
            137,
            1700000000,
            0,
            "0xc85352894b3c41f3ea6152479d64b9233fbaf2de87eabc7e4bba3a161fd28493",
            "0x659ed4b28ae28e0f038fdf0023c00863c9559caacb9ebc83f44eea87059a099a36f1e1dee110e7faa1c4f65d17489b2da1333ebef78bbe2116d81207b975052d1c",
        ),
        (
            80002,
            1700000000,
            0,
            "0x3cf40a91a1351b316b50c843804e3994e78a9f5dbfda51a5ce242a15ace4e063",
            "0xd5b20a55fe51f11c940c58e655bab4f75f22d5e182b8cc8d61f428940c72f6f02025751a47308c46c07fbf48ad31a3e79a06c9d339c7de674368a7253c6c50631b",
        ),
        (
            137,
            1700000000,
            1012,
            "0x23844a3521519b6dc33401a5812558f2bab9faf55d28b1d6935741b9a28c63eb",
            "0x00bcaf5a9082f2f8c26c377f426e067b381d6bf8d4c333560160fd44241ae2c43e2da5f94617e8eea391c6e7a1e41eb48a29866b41e28831c553948cc6bc0d241c",
        ),
    ];

    #[test]
    fn matches_the_official_clients_byte_for_byte() {
        let signer = Signer::from_hex(KEY).expect("key");
        for (chain, ts, nonce, expected_digest, expected_signature) in VECTORS {
            assert_eq!(
                hex0x(digest(&signer, *chain, *ts, *nonce).as_slice()),
                *expected_digest,
                "digest {chain} {ts} {nonce}"
            );
            let headers = L1Headers::new(&signer, *chain, *ts, *nonce);
            assert_eq!(headers.signature, *expected_signature, "signature {chain} {ts} {nonce}");
            assert_eq!(headers.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        }
    }

    #[test]
    fn domain_separators_match_the_published_constants() {
        assert_eq!(
            hex0x(domain(137).separator().as_slice()),
            "0xcfc66be2a3b30464cb3b588324101f660c9a205fa76e8e5f83ee16a528e1c4cb"
        );
        assert_eq!(
            hex0x(domain(80002).separator().as_slice()),
            "0xa1df8f4e3112eaee2448fbec9ab79f68278407e49d9cf52e3dd3d9692fcac9b6"
        );
        assert_eq!(
            hex0x(keccak256(CLOB_AUTH_TYPE_STRING).as_slice()),
            "0x52578c5c725a28a84fedc8c22aa47947822942f35b4dc350db028e45320e035c"
        );
    }
}
