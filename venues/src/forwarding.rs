//! Requests between API instances. A paper market is matched by the instance holding its
//! lease; another instance that receives a request for it sends the request there
//! (`POST /internal/v1/paper` on the holder's internal listener, `KAIROS_INTERNAL_BIND`, never
//! the public one), signed with a key derived from the shared JWT secret so only instances of
//! the deployment can send it. Each signature is accepted once (replays are refused), and the
//! answer is signed too, bound to the request's signature, so a forged or replayed answer is
//! not believed. A forwarded request is never forwarded again.

use std::time::Duration;

use hmac::{Hmac, Mac as _};
use kairos_platform::storage::{Db, market_leases, orders};
use sha2::{Digest as _, Sha256};

use crate::common::VenueError;
use crate::paper::sequencer::{Reply, Request};

pub const TIMESTAMP_HEADER: &str = "kairos-instance-timestamp";
pub const SIGNATURE_HEADER: &str = "kairos-instance-signature";
/// On the answer: the holder's signature over the request's signature and the answer's body.
pub const REPLY_SIGNATURE_HEADER: &str = "kairos-instance-reply-signature";
pub const PATH: &str = "/internal/v1/paper";

#[derive(Clone)]
pub struct Forwarder {
    key: [u8; 32],
    /// Set once the instance is bound.
    own_address: std::sync::Arc<std::sync::OnceLock<String>>,
    client: reqwest::Client,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder").field("own_address", &self.own_address).finish_non_exhaustive()
    }
}

/// The signing key: derived, so the JWT secret itself never signs anything but tokens.
pub fn derive_key(jwt_secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kairos instance forwarding v1\0");
    h.update(jwt_secret);
    h.finalize().into()
}

pub fn sign(key: &[u8; 32], timestamp_ms: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp_ms.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a forwarded request's signature and freshness.
pub fn verify(key: &[u8; 32], timestamp_ms: &str, body: &[u8], signature: &str, now_ms: i64, window: Duration) -> bool {
    let Ok(ts) = timestamp_ms.parse::<i64>() else { return false };
    if !kairos_domain::time::within_window(ts, now_ms, window) {
        return false;
    }
    let Ok(given) = hex::decode(signature) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp_ms.as_bytes());
    mac.update(b"\n");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The holder's signature on its answer, bound to the request it answers.
pub fn sign_reply(key: &[u8; 32], request_signature: &str, body: &[u8]) -> String {
    sign(key, &format!("reply {request_signature}"), body)
}

fn verify_reply(key: &[u8; 32], request_signature: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("reply {request_signature}").as_bytes());
    mac.update(b"\n");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

impl Forwarder {
    pub fn new(jwt_secret: &[u8]) -> Forwarder {
        Forwarder {
            key: derive_key(jwt_secret),
            own_address: std::sync::Arc::default(),
            client: reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap_or_default(),
        }
    }

    /// Sets where this instance itself is reached (known once it is bound).
    pub fn set_own_address(&self, address: String) {
        let _ = self.own_address.set(address);
    }

    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    pub fn may_forward(&self, address: &str) -> bool {
        !address.is_empty() && self.own_address.get().is_none_or(|own| own != address)
    }

    /// Sends a request to the instance at `address`; its answer, or why it could not be had.
    pub async fn forward(&self, address: &str, request: &Request) -> Result<Result<Reply, VenueError>, VenueError> {
        let body = serde_json::to_vec(request).map_err(|e| VenueError::Unavailable(e.to_string()))?;
        let ts = (kairos_domain::now_us() / 1_000).to_string();
        let signature = sign(&self.key, &ts, &body);
        let res = self
            .client
            .post(format!("{}{PATH}", address.trim_end_matches('/')))
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, &ts)
            .header(SIGNATURE_HEADER, &signature)
            .body(body)
            .send()
            .await
            .map_err(|e| VenueError::Unavailable(format!("instance {address}: {e}")))?;
        if !res.status().is_success() {
            return Err(VenueError::Unavailable(format!("instance {address} answered {}", res.status())));
        }
        let reply_signature =
            res.headers().get(REPLY_SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let reply = res.bytes().await.map_err(|e| VenueError::Unavailable(format!("instance {address}: {e}")))?;
        if !verify_reply(&self.key, &signature, &reply, &reply_signature) {
            return Err(VenueError::Unavailable(format!(
                "instance {address}: the answer is not signed for this request"
            )));
        }
        serde_json::from_slice::<Result<Reply, VenueError>>(&reply)
            .map_err(|e| VenueError::Unavailable(format!("instance {address}: {e}")))
    }

    /// Addresses of the other instances holding markets where the user has live orders.
    pub async fn other_holders(&self, db: &Db, user_id: &str, market_id: Option<&str>) -> Vec<String> {
        let markets = match orders::markets_of_live_orders(db, user_id).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the user's markets for cancel-all");
                return Vec::new();
            }
        };
        let mut addresses = Vec::new();
        let now = kairos_domain::now_us();
        for m in markets.iter().filter(|m| market_id.is_none_or(|only| only == m.as_str())) {
            if let Ok(Some(lease)) = market_leases::get(db, m).await
                && lease.expires_at_us > now
                && self.may_forward(&lease.address)
            {
                addresses.push(lease.address);
            }
        }
        addresses.sort_unstable();
        addresses.dedup();
        addresses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_the_body_and_expire() {
        let key = derive_key(b"a-jwt-secret-of-enough-length-000000");
        let now = 1_700_000_000_000i64;
        let sig = sign(&key, &now.to_string(), b"{}");
        let window = Duration::from_secs(5);
        assert!(verify(&key, &now.to_string(), b"{}", &sig, now, window));
        assert!(!verify(&key, &now.to_string(), b"{ }", &sig, now, window), "another body");
        assert!(!verify(&key, &now.to_string(), b"{}", &sig, now + 10_000, window), "stale");
        assert!(!verify(&derive_key(b"other"), &now.to_string(), b"{}", &sig, now, window), "another deployment");
    }

    #[test]
    fn an_answer_is_believed_only_for_the_request_it_answers() {
        let key = derive_key(b"a-jwt-secret-of-enough-length-000000");
        let reply = sign_reply(&key, "request-1", b"{\"Ok\":1}");
        assert!(verify_reply(&key, "request-1", b"{\"Ok\":1}", &reply));
        assert!(!verify_reply(&key, "request-2", b"{\"Ok\":1}", &reply), "replayed for another request");
        assert!(!verify_reply(&key, "request-1", b"{\"Ok\":2}", &reply), "another answer");
        assert!(!verify_reply(&derive_key(b"other"), "request-1", b"{\"Ok\":1}", &reply), "another deployment");
        assert!(!verify_reply(&key, "request-1", b"{\"Ok\":1}", ""), "unsigned");
    }
}
