//! The Ethereum values an order carries: 20-byte addresses and their EIP-55 form, 32-byte
//! words, 256-bit integers and Keccak-256.
//!
//! Written here rather than taken from a general Ethereum toolkit: the client needs these few
//! types, and every crate that links it (the API server among them) would otherwise build the
//! toolkit's macros and its dependencies. The integers are `ruint`'s, the hash is `sha3`'s;
//! the encodings are checked against the official clients' vectors and, in the tests, against
//! alloy (a dev-dependency only).

use std::fmt;
use std::str::FromStr;

use sha3::{Digest as _, Keccak256};

pub use ruint::aliases::U256;

/// Keccak-256 (the pre-standard padding Ethereum uses, not SHA3-256).
pub fn keccak256(data: impl AsRef<[u8]>) -> B256 {
    B256(Keccak256::digest(data.as_ref()).into())
}

/// Text that is not the hex of the expected number of bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} bytes of hex (0x optional), got {got:?}")]
pub struct HexError {
    pub expected: usize,
    pub got: String,
}

const fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `N` bytes from hex with an optional `0x`; `None` unless it is exactly that.
const fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let bytes = text.as_bytes();
    let start = if bytes.len() >= 2 && bytes[0] == b'0' && (bytes[1] == b'x' || bytes[1] == b'X') { 2 } else { 0 };
    if bytes.len() - start != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        match (nibble(bytes[start + 2 * i]), nibble(bytes[start + 2 * i + 1])) {
            (Some(hi), Some(lo)) => out[i] = (hi << 4) | lo,
            _ => return None,
        }
        i += 1;
    }
    Some(out)
}

fn parse<const N: usize>(text: &str) -> Result<[u8; N], HexError> {
    decode(text.trim()).ok_or_else(|| HexError { expected: N, got: text.chars().take(80).collect() })
}

/// Constant bytes from hex, checked when the constant is evaluated (at compile time).
pub const fn hex_const<const N: usize>(text: &str) -> [u8; N] {
    match decode(text) {
        Some(b) => b,
        None => panic!("not the hex of the declared length"),
    }
}

/// `0x` and lowercase hex.
pub fn hex0x(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    push_hex(&mut s, bytes);
    s
}

/// Appends `0x` and lowercase hex to `out`, without an intermediate string.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push_str("0x");
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// A 20-byte account or contract address. `Display` is the EIP-55 checksummed form; parsing
/// accepts any case (as the official clients do) and does not check a checksum.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; 20]);

/// A constant [`Address`] from its hex, checked at compile time.
#[macro_export]
macro_rules! address {
    ($hex:literal) => {
        const { $crate::eth::Address($crate::eth::hex_const::<20>($hex)) }
    };
}

impl Address {
    pub const ZERO: Address = Address([0; 20]);

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn repeat_byte(byte: u8) -> Address {
        Address([byte; 20])
    }

    /// The address of a public key: the last 20 bytes of its Keccak-256 hash.
    pub fn from_key_hash(hash: &B256) -> Address {
        let mut a = [0u8; 20];
        a.copy_from_slice(&hash.0[12..]);
        Address(a)
    }

    /// The address as a 32-byte ABI word (left-padded with zeros).
    pub fn to_word(&self) -> B256 {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&self.0);
        B256(w)
    }

    /// EIP-55: a hex letter is upper case where the same nibble of the Keccak-256 hash of the
    /// lowercase hex is 8 or more.
    pub fn to_checksum(&self) -> String {
        let lower = hex0x(&self.0);
        let hash = keccak256(&lower.as_bytes()[2..]);
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower[2..].chars().enumerate() {
            let nibble = if i % 2 == 0 { hash.0[i / 2] >> 4 } else { hash.0[i / 2] & 0x0f };
            out.push(if nibble >= 8 { c.to_ascii_uppercase() } else { c });
        }
        out
    }

    /// The CREATE2 address: `keccak256(0xff ‖ self ‖ salt ‖ init_code_hash)[12..]`.
    pub fn create2(&self, salt: B256, init_code_hash: B256) -> Address {
        let mut buf = [0u8; 85];
        buf[0] = 0xff;
        buf[1..21].copy_from_slice(&self.0);
        buf[21..53].copy_from_slice(&salt.0);
        buf[53..].copy_from_slice(&init_code_hash.0);
        Address::from_key_hash(&keccak256(buf))
    }
}

impl From<[u8; 20]> for Address {
    fn from(bytes: [u8; 20]) -> Address {
        Address(bytes)
    }
}

impl FromStr for Address {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Address, HexError> {
        parse(s).map(Address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A 32-byte word: a hash, a `bytes32` field. `Display` is `0x` and lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct B256(pub [u8; 32]);

impl B256 {
    pub const ZERO: B256 = B256([0; 32]);

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<[u8; 32]> for B256 {
    fn from(bytes: [u8; 32]) -> B256 {
        B256(bytes)
    }
}

impl FromStr for B256 {
    type Err = HexError;
    fn from_str(s: &str) -> Result<B256, HexError> {
        parse(s).map(B256)
    }
}

impl fmt::Display for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex0x(&self.0))
    }
}

impl fmt::Debug for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keccak_and_checksums_match_the_published_examples() {
        assert_eq!(keccak256(b"").to_string(), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
        // EIP-55's own examples.
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let a: Address = s.to_lowercase().parse().expect("address");
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn hex_is_strict_about_length_and_digits() {
        assert!("0x12".parse::<Address>().is_err());
        assert!("zz".repeat(20).parse::<Address>().is_err());
        assert_eq!("11".repeat(20).parse::<Address>(), Ok(Address::repeat_byte(0x11)));
        let e = "0x1".parse::<B256>().expect_err("short");
        assert_eq!(e.expected, 32);
        assert_eq!(crate::address!("0x0000000000000000000000000000000000000000"), Address::ZERO);
    }

    proptest::proptest! {
        /// The same encodings as alloy, an implementation that shares no code with this one.
        #[test]
        fn agrees_with_alloy(bytes in proptest::prelude::any::<[u8; 20]>(), salt in proptest::prelude::any::<[u8; 32]>(), code in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let ours = Address(bytes);
            let theirs = alloy_primitives::Address::from(bytes);
            proptest::prop_assert_eq!(ours.to_checksum(), theirs.to_checksum(None));
            proptest::prop_assert_eq!(keccak256(&code).0, alloy_primitives::keccak256(&code).0);
            let code_hash = keccak256(&code);
            proptest::prop_assert_eq!(
                ours.create2(B256(salt), code_hash).0,
                theirs.create2(alloy_primitives::B256::from(salt), alloy_primitives::B256::from(code_hash.0)).0 .0
            );
        }
    }
}
