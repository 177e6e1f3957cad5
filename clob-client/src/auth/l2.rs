//! L2 authentication: every API-key request carries an HMAC-SHA256 of
//! `timestamp + method + path + body`, keyed with the API secret.
//!
//! Facts the official clients agree on (and this module reproduces byte for byte):
//! - the timestamp is Unix **seconds**; the path is the path only, never the query string;
//! - an empty or absent body adds nothing; every `'` in the body becomes `"` (a quirk the
//!   Python and Rust clients keep "to generate the same hmac message as go and typescript");
//! - the secret is base64, either alphabet, padding optional; the signature is url-safe base64
//!   **with** padding (44 characters).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// L2 credentials from `POST /auth/api-key` / `GET /auth/derive-api-key`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: String,
    secret: Vec<u8>,
    passphrase: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key)
            .field("secret", &"[redacted]")
            .field("passphrase", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the API secret is not base64 (either alphabet, padding optional)")]
    BadSecret,
}

const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes a secret in either base64 alphabet, with or without padding.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, AuthError> {
    let standard: String = secret
        .trim()
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    LENIENT_STANDARD.decode(standard).map_err(|_| AuthError::BadSecret)
}

impl Credentials {
    pub fn new(api_key: impl Into<String>, secret: &str, passphrase: impl Into<String>) -> Result<Self, AuthError> {
        Ok(Credentials { api_key: api_key.into(), secret: decode_secret(secret)?, passphrase: passphrase.into() })
    }

    /// The keyed HMAC for signing many requests ([`L2Mac::sign_into`]).
    pub fn mac(&self) -> L2Mac {
        L2Mac::new(&self.secret)
    }

    /// The passphrase the `POLY_PASSPHRASE` header carries.
    pub fn passphrase(&self) -> &str {
        &self.passphrase
    }

    /// The headers of one request. `address` is the signer's (EOA) checksummed address.
    pub fn headers(&self, address: &str, timestamp_s: u64, method: &str, path: &str, body: Option<&str>) -> L2Headers {
        let timestamp = timestamp_s.to_string();
        L2Headers {
            address: address.to_string(),
            signature: signature(&self.secret, &timestamp, method, path, body),
            timestamp,
            api_key: self.api_key.clone(),
            passphrase: self.passphrase.clone(),
        }
    }
}

/// The L2 signature over exactly what is sent.
pub fn signature(secret: &[u8], timestamp: &str, method: &str, path: &str, body: Option<&str>) -> String {
    let mut out = [0u8; SIGNATURE_LEN];
    L2Mac::new(secret).sign_into(timestamp, method, path, body.unwrap_or("").as_bytes(), &mut out);
    // Base64 is ASCII.
    String::from_utf8_lossy(&out).into_owned()
}

/// The length of an L2 signature: 32 bytes in padded base64.
pub const SIGNATURE_LEN: usize = 44;

/// The HMAC keyed with an API secret once: signing a request then starts from a copy of the
/// keyed state and writes into a caller's buffer, so the quoter's hot path never allocates.
#[derive(Clone)]
pub struct L2Mac {
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for L2Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("L2Mac([redacted])")
    }
}

impl L2Mac {
    pub fn new(secret: &[u8]) -> L2Mac {
        // HMAC-SHA256 takes keys of any length, so this cannot fail.
        let Ok(keyed) = Hmac::<Sha256>::new_from_slice(secret) else { unreachable!("HMAC takes any key length") };
        L2Mac { keyed }
    }

    /// Writes the signature of `timestamp + method + path + body` into `out`. Every `'` of the
    /// body is signed as `"` (the official clients' quirk), without copying the body.
    pub fn sign_into(&self, timestamp: &str, method: &str, path: &str, body: &[u8], out: &mut [u8; SIGNATURE_LEN]) {
        let mut mac = self.keyed.clone();
        mac.update(timestamp.as_bytes());
        mac.update(method.as_bytes());
        mac.update(path.as_bytes());
        for (i, part) in body.split(|b| *b == b'\'').enumerate() {
            if i > 0 {
                mac.update(b"\"");
            }
            mac.update(part);
        }
        let digest = mac.finalize().into_bytes();
        // 32 bytes are 44 characters of padded base64: the buffer always fits.
        let written = base64::engine::general_purpose::URL_SAFE.encode_slice(digest, out);
        debug_assert!(matches!(written, Ok(SIGNATURE_LEN)));
    }
}

/// The five `POLY_*` headers of an L2 request.
#[derive(Clone, PartialEq, Eq)]
pub struct L2Headers {
    pub address: String,
    pub signature: String,
    pub timestamp: String,
    pub api_key: String,
    passphrase: String,
}

impl std::fmt::Debug for L2Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Headers")
            .field("address", &self.address)
            .field("timestamp", &self.timestamp)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

impl L2Headers {
    /// (name, value) pairs, as the CLOB expects them.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("POLY_ADDRESS", &self.address),
            ("POLY_SIGNATURE", &self.signature),
            ("POLY_TIMESTAMP", &self.timestamp),
            ("POLY_API_KEY", &self.api_key),
            ("POLY_PASSPHRASE", &self.passphrase),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (secret, timestamp, method, path, body, signature).
    type Vector = (&'static str, &'static str, &'static str, &'static str, Option<&'static str>, &'static str);

    /// Public vectors generated with py-clob-client-v2 1.2.1 (see the team's CLOB notes).
    const VECTORS: &[Vector] = &[
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1000000",
            "test-sign",
            "/orders",
            Some("{\"hash\": \"0x123\"}"),
            "ZwAdJKvoYRlEKDkNMwd5BuwNNtg93kNaR_oU2HrfVvc=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1000000",
            "test-sign",
            "/orders",
            Some("{\"hash\":\"0x123\"}"),
            "4gJVbox-R6XlDK4nlaicig0_ANVL1qdcahiL8CXfXLM=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1",
            "GET",
            "/",
            None,
            "eHaylCwqRSOa2LFD77Nt_SaTpbsxzN8eTEI3LryhEj4=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1000000",
            "GET",
            "/data/orders",
            None,
            "9-I3DmVY9ObJ6EVf_KvrHpUWMOQJXiAjR5z7fO8qnPw=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1700000000",
            "DELETE",
            "/cancel-all",
            None,
            "8VUKI2AEYjmyVeNfWGlCKhni-bOTLBi8KuegA7RDrxU=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1700000000",
            "DELETE",
            "/order",
            Some("{\"orderID\":\"0xabc\"}"),
            "ebd_Mp184tE7Z6KPR1h4np8gSxcgEPZ7MeKtDjVwf2g=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1700000000",
            "POST",
            "/v1/heartbeats",
            Some("{\"heartbeat_id\":\"\"}"),
            "-PUdMuGD63fwGrjfWWDTMme64hsoU-TNjWB7GroYNmo=",
        ),
        (
            "--_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1000000",
            "test-sign",
            "/orders",
            Some("{\"hash\": \"0x123\"}"),
            "HNo0ctLa8EfeOxYf0wiNci4JqCwLiVWsubxySKwD1cs=",
        ),
        (
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "1700000000",
            "POST",
            "/order",
            Some("{'a': 'b'}"),
            "DKia6ZnCUXBS1C9SVAOjCgo5fUFyr3M-Rf2cJaVC8NY=",
        ),
    ];

    #[test]
    fn matches_the_official_clients_byte_for_byte() {
        for (secret, ts, method, path, body, expected) in VECTORS {
            let key = decode_secret(secret).expect("secret");
            assert_eq!(signature(&key, ts, method, path, *body), *expected, "{method} {path} {body:?}");
        }
    }

    #[test]
    fn the_reused_mac_signs_as_the_one_shot_function_and_handles_every_quote() {
        use base64::Engine as _;
        use hmac::Mac as _;
        let key = decode_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").expect("secret");
        let mac = L2Mac::new(&key);
        let mut out = [0u8; SIGNATURE_LEN];
        for body in ["", "'", "''", "{'a': 'b'}", "'x'y'", "plain", "{\"k\":\"v\"}"] {
            mac.sign_into("1700000000", "POST", "/order", body.as_bytes(), &mut out);
            // The vector's recipe by hand: replace, then sign.
            let mut expected = Hmac::<Sha256>::new_from_slice(&key).expect("key");
            expected.update(format!("1700000000POST/order{}", body.replace('\'', "\"")).as_bytes());
            let expected = base64::engine::general_purpose::URL_SAFE.encode(expected.finalize().into_bytes());
            assert_eq!(std::str::from_utf8(&out), Ok(expected.as_str()), "{body:?}");
        }
        assert!(!format!("{mac:?}").contains("AAAA"));
    }

    #[test]
    fn empty_and_absent_bodies_sign_alike_and_secrets_decode_leniently() {
        let key = decode_secret("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").expect("unpadded");
        assert_eq!(signature(&key, "1", "GET", "/", Some("")), signature(&key, "1", "GET", "/", None));
        assert_eq!(decode_secret("+/8="), decode_secret("-_8"));
        assert_eq!(decode_secret("not base64!"), Err(AuthError::BadSecret));
    }

    #[test]
    fn headers_carry_the_signature_and_hide_the_passphrase() {
        let creds =
            Credentials::new("key-1", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "pass-phrase").expect("creds");
        let h =
            creds.headers("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 1_700_000_000, "DELETE", "/cancel-all", None);
        assert_eq!(h.pairs()[1], ("POLY_SIGNATURE", "8VUKI2AEYjmyVeNfWGlCKhni-bOTLBi8KuegA7RDrxU="));
        assert_eq!(h.pairs()[2], ("POLY_TIMESTAMP", "1700000000"));
        assert!(!format!("{h:?} {creds:?}").contains("pass-phrase"));
    }
}
