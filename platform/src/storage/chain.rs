//! The hash chain shared by the append-only tables (audit log, ledger): each row's hash covers
//! its fields and the previous row's hash, so changing or removing a row breaks the chain there.

use sha2::{Digest as _, Sha256};

/// The `prev_hash` of a chain's first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 (hex) over the fields, each length-prefixed so no two different rows hash the same
/// text; `None` is distinct from every string.
pub fn hash_fields(fields: &[Option<&str>]) -> String {
    let mut h = Sha256::new();
    for field in fields {
        match field {
            Some(s) => {
                h.update(s.len().to_string().as_bytes());
                h.update(b":");
                h.update(s.as_bytes());
            }
            None => h.update(b"-"),
        }
        h.update(b"|");
    }
    hex::encode(h.finalize())
}

/// The result of walking an intact chain: how many rows and the head hash (record it
/// somewhere else to detect removal of the newest rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub rows: i64,
    pub head_hash: String,
}

/// Where a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The first bad row (or the missing sequence number); 0 when no single row is to blame.
    pub seq: i64,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_cannot_run_into_each_other() {
        assert_ne!(hash_fields(&[Some("ab"), Some("c")]), hash_fields(&[Some("a"), Some("bc")]));
        assert_ne!(hash_fields(&[None]), hash_fields(&[Some("")]));
        assert_eq!(hash_fields(&[Some("x")]), hash_fields(&[Some("x")]));
    }
}
