//! Signed requests of market makers: `KAIROS-KEY`, `KAIROS-TIMESTAMP` (Unix ms) and
//! `KAIROS-SIGNATURE` = url-safe base64 (padded) of HMAC-SHA256, keyed with the decoded secret,
//! over `timestamp + METHOD + path-with-query + body` (the exact bytes sent).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

pub const KEY_HEADER: &str = "kairos-key";
pub const TIMESTAMP_HEADER: &str = "kairos-timestamp";
pub const SIGNATURE_HEADER: &str = "kairos-signature";

type HmacSha256 = Hmac<Sha256>;

/// The signature a client computes; also what the examples do.
pub fn sign(secret: &[u8], timestamp_ms: &str, method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
    mac.update(timestamp_ms.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path_and_query.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes())
}

/// HMAC accepts keys of any length; this cannot happen.
fn unreachable_hmac() -> HmacSha256 {
    unreachable!("HMAC-SHA256 takes keys of any length")
}

/// Checks a signature in constant time.
pub fn verify(
    secret: &[u8],
    timestamp_ms: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::URL_SAFE.decode(signature) else { return false };
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
    mac.update(timestamp_ms.as_bytes());
    mac.update(method.as_bytes());
    mac.update(path_and_query.as_bytes());
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Whether `timestamp_ms` is within `window` of `now_ms`.
pub fn fresh(timestamp_ms: i64, now_ms: i64, window: Duration) -> bool {
    let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    now_ms.abs_diff(timestamp_ms) <= window
}

/// Signatures seen inside the freshness window, per instance (Redis covers several instances).
#[derive(Debug, Default)]
pub struct LocalReplayGuard {
    seen: Mutex<HashMap<String, Instant>>,
}

impl LocalReplayGuard {
    /// Records the signature; false when it was seen within `ttl`.
    pub fn first_use(&self, signature: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else { return false };
        if seen.len() > 100_000 {
            seen.retain(|_, at| now.duration_since(*at) < ttl);
        }
        match seen.get(signature) {
            Some(at) if now.duration_since(*at) < ttl => false,
            _ => {
                seen.insert(signature.to_string(), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_the_exact_bytes() {
        let secret = [9u8; 32];
        let sig = sign(&secret, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}");
        assert_eq!(sig.len(), 44);
        assert!(verify(&secret, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}", &sig));
        assert!(!verify(&secret, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":2}", &sig));
        assert!(!verify(&secret, "1700000000001", "POST", "/v1/orders?x=1", b"{\"a\":1}", &sig));
        assert!(!verify(&[8u8; 32], "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}", &sig));
        assert!(!verify(&secret, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}", "%%%"));
    }

    #[test]
    fn freshness_and_replays() {
        assert!(fresh(1_000, 5_000, Duration::from_secs(5)));
        assert!(!fresh(1_000, 7_000, Duration::from_secs(5)));
        assert!(!fresh(9_000, 2_000, Duration::from_secs(5)));
        assert!(!fresh(i64::MIN, 2_000, Duration::from_secs(5)), "no overflow on hostile timestamps");
        assert!(!fresh(i64::MAX, -2_000, Duration::from_secs(5)));
        let guard = LocalReplayGuard::default();
        assert!(guard.first_use("s", Duration::from_secs(10)));
        assert!(!guard.first_use("s", Duration::from_secs(10)));
    }
}
