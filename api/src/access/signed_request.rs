//! Signed requests of market makers: `KAIROS-KEY`, `KAIROS-TIMESTAMP` (Unix ms) and
//! `KAIROS-SIGNATURE` = url-safe base64 (padded) of HMAC-SHA256, keyed with the decoded secret,
//! over `timestamp "\n" METHOD "\n" path-with-query "\n" body` (the exact bytes sent).
//!
//! The separators make the message unambiguous: none of the first three fields can hold a
//! newline, and the body is the rest. The old form without them (`timestamp + METHOD +
//! path-with-query + body`) let a signature for `DELETE /v1/orders?market_id=M` also fit
//! `DELETE /v1/orders` with the body `?market_id=M` (a cancel-all); it is accepted only with
//! `KAIROS_SIGNATURE_LEGACY_FORM=true`, for one release.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use kairos_platform::locks;
use sha2::Sha256;

pub const KEY_HEADER: &str = "kairos-key";
pub const TIMESTAMP_HEADER: &str = "kairos-timestamp";
pub const SIGNATURE_HEADER: &str = "kairos-signature";

type HmacSha256 = Hmac<Sha256>;

/// Which message a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `timestamp \n METHOD \n path-with-query \n body`: what clients sign.
    Separated,
    /// `timestamp METHOD path-with-query body`, unseparated: only behind the legacy setting.
    Legacy,
}

fn mac(secret: &[u8], form: Form, timestamp_ms: &str, method: &str, path_and_query: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
    let separator: &[u8] = match form {
        Form::Separated => b"\n",
        Form::Legacy => b"",
    };
    mac.update(timestamp_ms.as_bytes());
    mac.update(separator);
    mac.update(method.as_bytes());
    mac.update(separator);
    mac.update(path_and_query.as_bytes());
    mac.update(separator);
    mac.update(body);
    mac
}

/// The signature a client computes (the separated form); also what the examples do.
pub fn sign(secret: &[u8], timestamp_ms: &str, method: &str, path_and_query: &str, body: &[u8]) -> String {
    sign_form(secret, Form::Separated, timestamp_ms, method, path_and_query, body)
}

/// A signature over `form` (the legacy one for clients not yet moved, and tests).
pub fn sign_form(
    secret: &[u8],
    form: Form,
    timestamp_ms: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
) -> String {
    let tag = mac(secret, form, timestamp_ms, method, path_and_query, body).finalize().into_bytes();
    base64::engine::general_purpose::URL_SAFE.encode(tag)
}

/// HMAC accepts keys of any length; this cannot happen.
fn unreachable_hmac() -> HmacSha256 {
    unreachable!("HMAC-SHA256 takes keys of any length")
}

/// Checks a signature in constant time against each form in `forms`.
pub fn verify(
    secret: &[u8],
    forms: &[Form],
    timestamp_ms: &str,
    method: &str,
    path_and_query: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::URL_SAFE.decode(signature) else { return false };
    forms.iter().any(|form| mac(secret, *form, timestamp_ms, method, path_and_query, body).verify_slice(&given).is_ok())
}

/// The forms a server accepts: the separated one, and the legacy one when it is switched on.
pub fn accepted_forms(legacy: bool) -> &'static [Form] {
    if legacy { &[Form::Separated, Form::Legacy] } else { &[Form::Separated] }
}

pub use kairos_domain::time::within_window as fresh;

/// Records a request signature; false when it was seen within `ttl`. Shared through Redis
/// when it answers (a replay to another instance is caught too), and always in this instance's
/// memory (so a Redis that lost the key cannot admit a replay here).
pub async fn first_use(
    local: &LocalReplayGuard,
    redis: Option<&kairos_platform::cache::Redis>,
    signature: &str,
    ttl: Duration,
) -> bool {
    if let Some(redis) = redis
        && let Ok(mut conn) = redis.connection().await
    {
        let key = format!("kairos:sig:{signature}");
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let set: Result<Option<String>, _> =
            redis::cmd("SET").arg(&key).arg(1).arg("NX").arg("PX").arg(ttl_ms).query_async(&mut conn).await;
        if let Ok(reply) = set {
            return reply.is_some() && local.first_use(signature, ttl);
        }
    }
    local.first_use(signature, ttl)
}

/// Signatures seen inside the freshness window, per instance (Redis covers several instances).
/// Expired ones are dropped once per window, so the memory held follows the request rate over
/// one window instead of growing to the cap (the soak showed the difference).
#[derive(Debug, Default)]
pub struct LocalReplayGuard {
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    at: HashMap<String, Instant>,
    pruned: Option<Instant>,
}

impl LocalReplayGuard {
    /// Past this many, expired signatures are dropped at once whatever the time.
    const CAP: usize = 100_000;

    /// Records the signature; false when it was seen within `ttl`.
    pub fn first_use(&self, signature: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        let mut seen = locks::lock(&self.seen);
        let window_over = seen.pruned.is_none_or(|at| now.duration_since(at) >= ttl);
        if window_over || seen.at.len() > Self::CAP {
            seen.at.retain(|_, at| now.duration_since(*at) < ttl);
            seen.pruned = Some(now);
        }
        match seen.at.get(signature) {
            Some(at) if now.duration_since(*at) < ttl => false,
            _ => {
                seen.at.insert(signature.to_string(), now);
                true
            }
        }
    }

    /// Signatures held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        locks::lock(&self.seen).at.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_guard_refuses_a_repeat_and_forgets_expired_signatures_each_window() {
        let guard = LocalReplayGuard::default();
        let ttl = Duration::from_millis(300);
        assert!(guard.first_use("a", ttl));
        assert!(!guard.first_use("a", ttl), "a replay inside the window");
        for n in 0..100 {
            assert!(guard.first_use(&format!("s{n}"), ttl));
        }
        assert_eq!(guard.len(), 101);
        std::thread::sleep(ttl + Duration::from_millis(20));
        assert!(guard.first_use("b", ttl), "a new signature after the window");
        assert_eq!(guard.len(), 1, "the expired ones went with the window, long before the cap");
        assert!(guard.first_use("a", ttl), "an expired signature is new again (its timestamp is refused elsewhere)");
    }

    #[test]
    fn signs_and_verifies_the_exact_bytes() {
        let secret = [9u8; 32];
        let new = [Form::Separated];
        let sig = sign(&secret, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}");
        assert_eq!(sig.len(), 44);
        assert!(verify(&secret, &new, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}", &sig));
        assert!(!verify(&secret, &new, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":2}", &sig));
        assert!(!verify(&secret, &new, "1700000000001", "POST", "/v1/orders?x=1", b"{\"a\":1}", &sig));
        assert!(!verify(&[8u8; 32], &new, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}", &sig));
        assert!(!verify(&secret, &new, "1700000000000", "POST", "/v1/orders?x=1", b"{\"a\":1}", "%%%"));
    }

    #[test]
    fn a_query_cannot_move_into_the_body() {
        let secret = [9u8; 32];
        let ts = "1700000000000";
        // The review's case: a cancel in one market, replayed as a cancel-all.
        let scoped = sign(&secret, ts, "DELETE", "/v1/orders?market_id=M", b"");
        assert!(!verify(&secret, &[Form::Separated], ts, "DELETE", "/v1/orders", b"?market_id=M", &scoped));
        // The old form could not tell them apart, which is why it is off by default.
        let old = sign_form(&secret, Form::Legacy, ts, "DELETE", "/v1/orders?market_id=M", b"");
        assert!(verify(&secret, &[Form::Legacy], ts, "DELETE", "/v1/orders", b"?market_id=M", &old));
        assert!(!verify(&secret, accepted_forms(false), ts, "DELETE", "/v1/orders?market_id=M", b"", &old));
        assert!(verify(&secret, accepted_forms(true), ts, "DELETE", "/v1/orders?market_id=M", b"", &old));
        // The separated form, written out: what the examples compute.
        let by_hand = {
            let mut mac = HmacSha256::new_from_slice(&secret).expect("key");
            mac.update(b"1700000000000\nDELETE\n/v1/orders?market_id=M\n");
            base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes())
        };
        assert_eq!(scoped, by_hand);
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
