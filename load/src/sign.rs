//! A client's side of signed requests, as the API documents them: url-safe base64 (padded) of
//! HMAC-SHA256, keyed with the decoded secret, over `timestamp "\n" METHOD "\n"
//! path-with-query "\n" body`. Written from the documentation, apart from the server's
//! verifier, so every load run and the crash test also check that the two agree.

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The `KAIROS-SIGNATURE` of a request.
pub fn sign(secret: &[u8], timestamp_ms: &str, method: &str, path_and_query: &str, body: &[u8]) -> String {
    let message = [timestamp_ms.as_bytes(), method.as_bytes(), path_and_query.as_bytes(), body].join(&b'\n');
    let tag = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(&message);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length: this arm is never taken.
        Err(_) => Vec::new(),
    };
    base64::engine::general_purpose::URL_SAFE.encode(tag)
}

/// One API key's signed headers. The server accepts a signature once, so two requests with
/// the same method, path and body (reads, websocket upgrades) need different timestamps: each
/// path's timestamp here is at least one millisecond after the last one given for it by this
/// signer or any of its clones (the clients that share a key share the record).
#[derive(Debug, Clone)]
pub struct Signer {
    key_id: String,
    secret: Vec<u8>,
    /// Server time minus local time, in milliseconds.
    skew_ms: i64,
    last_ms: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl Signer {
    pub fn new(key_id: &str, secret: Vec<u8>, skew_ms: i64) -> Signer {
        Signer { key_id: key_id.to_string(), secret, skew_ms, last_ms: Default::default() }
    }

    /// The signer of a `kairos-api dev-accounts` account (its secret is url-safe base64).
    pub fn for_account(account: &crate::Account, skew_ms: i64) -> Signer {
        let secret = base64::engine::general_purpose::URL_SAFE.decode(&account.secret).unwrap_or_default();
        Signer::new(&account.key_id, secret, skew_ms)
    }

    /// `KAIROS-KEY`, `KAIROS-TIMESTAMP` and `KAIROS-SIGNATURE` for this request.
    pub fn headers(&self, method: &str, path_and_query: &str, body: &[u8]) -> [(&'static str, String); 3] {
        let now = crate::now_ms() + self.skew_ms;
        let ts = {
            let mut last_ms = self.last_ms.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let last = last_ms.entry(path_and_query.to_string()).or_insert(i64::MIN);
            *last = now.max(last.saturating_add(1));
            *last
        };
        let ts = ts.to_string();
        let signature = sign(&self.secret, &ts, method, path_and_query, body);
        [("KAIROS-KEY", self.key_id.clone()), ("KAIROS-TIMESTAMP", ts), ("KAIROS-SIGNATURE", signature)]
    }
}

#[cfg(test)]
mod tests {
    /// Computed with Python's `hmac` module (a separate implementation):
    /// `urlsafe_b64encode(hmac.new(b"Jefe", b'1700000000000\nPOST\n/v1/orders?x=1\n{"a":1}', sha256).digest())`.
    #[test]
    fn matches_an_independent_hmac_of_the_documented_message() {
        let signature = super::sign(b"Jefe", "1700000000000", "POST", "/v1/orders?x=1", br#"{"a":1}"#);
        assert_eq!(signature, "tn0AF7T7yDmr53KwpUE1bSv6iARUj2C7KoGbQGdZzeg=");
    }

    #[test]
    fn repeated_requests_get_distinct_timestamps_per_path_across_clones() {
        let signer = super::Signer::new("k", b"Jefe".to_vec(), 0);
        let clone = signer.clone();
        let stamps: Vec<i64> = (0..50)
            .map(|n| if n % 2 == 0 { &signer } else { &clone })
            .map(|s| s.headers("GET", "/v1/balances", b"")[1].1.parse().expect("ms"))
            .collect();
        assert!(stamps.windows(2).all(|w| w[1] > w[0]), "{stamps:?}");
        let other: i64 = signer.headers("GET", "/v1/orders", b"")[1].1.parse().expect("ms");
        assert!(other <= stamps[49], "another path is not pushed forward by this one");
    }
}
