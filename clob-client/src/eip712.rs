//! EIP-712 typed-data hashing for the few structs the CLOB signs: the domain separator and the
//! encoding of static fields, one 32-byte word each (strings are hashed to one).
//!
//! The structs themselves (`ClobAuth`, the orders) encode their fields in `auth::l1` and
//! `orders`; every one of their fields is a single word, so no general ABI encoder is needed.

use crate::eth::{Address, B256, U256, keccak256};

/// An EIP-712 domain with the fields the CLOB's domains use: a name, a version, a chain id
/// and, for the exchanges, a verifying contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: &'static str,
    pub version: &'static str,
    pub chain_id: u64,
    pub verifying_contract: Option<Address>,
}

impl Domain {
    /// `hashStruct(EIP712Domain)`: its type lists only the fields present.
    pub fn separator(&self) -> B256 {
        let type_string: &[u8] = match self.verifying_contract {
            Some(_) => b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
            None => b"EIP712Domain(string name,string version,uint256 chainId)",
        };
        let mut words = Words::new(keccak256(type_string));
        words.push(keccak256(self.name));
        words.push(keccak256(self.version));
        words.push_uint(&U256::from(self.chain_id));
        if let Some(contract) = self.verifying_contract {
            words.push(contract.to_word());
        }
        words.hash()
    }

    /// `keccak256(0x1901 ‖ separator ‖ struct_hash)`: the digest a wallet signs.
    pub fn signing_hash(&self, struct_hash: B256) -> B256 {
        signing_hash(&self.separator(), &struct_hash)
    }
}

/// `keccak256(0x1901 ‖ separator ‖ struct_hash)` with a separator computed beforehand.
pub fn signing_hash(separator: &B256, struct_hash: &B256) -> B256 {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(&separator.0);
    buf[34..].copy_from_slice(&struct_hash.0);
    keccak256(buf)
}

/// A struct's encoding: its type hash, then one word per field; kept on the stack.
#[derive(Debug)]
pub struct Words {
    buf: [u8; 32 * 16],
    len: usize,
}

impl Words {
    pub fn new(type_hash: B256) -> Words {
        let mut w = Words { buf: [0u8; 32 * 16], len: 0 };
        w.push(type_hash);
        w
    }

    pub fn push(&mut self, word: B256) {
        self.buf[self.len..self.len + 32].copy_from_slice(&word.0);
        self.len += 32;
    }

    pub fn push_uint(&mut self, v: &U256) {
        self.push(B256(v.to_be_bytes::<32>()));
    }

    pub fn push_address(&mut self, a: &Address) {
        self.push(a.to_word());
    }

    pub fn push_u8(&mut self, v: u8) {
        let mut w = [0u8; 32];
        w[31] = v;
        self.push(B256(w));
    }

    /// `keccak256` of everything pushed: the struct hash.
    pub fn hash(&self) -> B256 {
        keccak256(&self.buf[..self.len])
    }
}
