//! Access tokens: HS256 JWTs signed with `KAIROS_JWT_SECRET`, 15 minutes, claims `sub`, `role`,
//! `exp`, `iat`, `jti`, and a `kid` naming the secret so a rotation can accept the previous
//! one (`KAIROS_JWT_SECRET_PREVIOUS`) and nothing else.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kairos_domain::ErrorCode;
use kairos_domain::Role;
use kairos_platform::config::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Access-token lifetime.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
}

/// Why a token was refused; each maps to its own 401 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnsupportedAlgorithm,
    UnknownKid,
    BadSignature,
    Expired,
    UnknownRole,
}

impl TokenError {
    pub fn code(self) -> ErrorCode {
        match self {
            TokenError::Malformed => ErrorCode::InvalidToken,
            TokenError::UnsupportedAlgorithm => ErrorCode::UnsupportedAlgorithm,
            TokenError::UnknownKid => ErrorCode::UnknownKid,
            TokenError::BadSignature => ErrorCode::InvalidTokenSignature,
            TokenError::Expired => ErrorCode::TokenExpired,
            TokenError::UnknownRole => ErrorCode::InvalidToken,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            TokenError::Malformed => "the bearer token is not a well-formed JWT",
            TokenError::UnsupportedAlgorithm => "only HS256 tokens issued by this server are accepted",
            TokenError::UnknownKid => "the token was signed with a key this server does not know",
            TokenError::BadSignature => "the token's signature does not verify",
            TokenError::Expired => "the token has expired; refresh it",
            TokenError::UnknownRole => "the token names an unknown role",
        }
    }
}

/// The current secret and, during a rotation, the previous one.
#[derive(Clone)]
pub struct Keys {
    current: (String, EncodingKey, DecodingKey),
    previous: Option<(String, DecodingKey)>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kid", &self.current.0).finish_non_exhaustive()
    }
}

/// A key id that names a secret without revealing it.
pub fn kid(secret: &str) -> String {
    hex::encode(&Sha256::digest(secret.as_bytes())[..8])
}

impl Keys {
    pub fn new(current: &Secret, previous: Option<&Secret>) -> Keys {
        let c = current.expose().as_bytes();
        Keys {
            current: (kid(current.expose()), EncodingKey::from_secret(c), DecodingKey::from_secret(c)),
            previous: previous.map(|p| (kid(p.expose()), DecodingKey::from_secret(p.expose().as_bytes()))),
        }
    }

    /// Issues a token for `user_id` with `role`, valid from `now_s` (Unix seconds).
    pub fn issue(
        &self,
        user_id: &str,
        role: Role,
        now_s: i64,
    ) -> Result<(String, Claims), jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: user_id.to_string(),
            role: role.as_str().to_string(),
            iat: now_s,
            exp: now_s + ACCESS_TOKEN_TTL_SECS,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.0.clone());
        Ok((jsonwebtoken::encode(&header, &claims, &self.current.1)?, claims))
    }

    /// Verifies a token: algorithm, key id, signature, expiry (no leeway), role.
    pub fn verify(&self, token: &str) -> Result<(Claims, Role), TokenError> {
        let header = raw_header(token)?;
        match header.get("alg").and_then(|a| a.as_str()) {
            Some("HS256") => {}
            Some(_) => return Err(TokenError::UnsupportedAlgorithm),
            None => return Err(TokenError::Malformed),
        }
        let kid = header.get("kid").and_then(|k| k.as_str()).ok_or(TokenError::UnknownKid)?;
        let key = if kid == self.current.0 {
            &self.current.2
        } else {
            match &self.previous {
                Some((prev_kid, key)) if kid == prev_kid => key,
                _ => return Err(TokenError::UnknownKid),
            }
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => TokenError::Expired,
                K::InvalidSignature => TokenError::BadSignature,
                K::InvalidAlgorithm | K::InvalidAlgorithmName => TokenError::UnsupportedAlgorithm,
                _ => TokenError::Malformed,
            }
        })?;
        let role = data.claims.role.parse::<Role>().map_err(|_| TokenError::UnknownRole)?;
        Ok((data.claims, role))
    }
}

/// The header, read before any verification so `alg: none` and unknown key ids get their own
/// answers instead of a generic parse error.
fn raw_header(token: &str) -> Result<serde_json::Map<String, serde_json::Value>, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(&Secret::new("a".repeat(40)), None)
    }

    fn now() -> i64 {
        kairos_domain::now_us() / 1_000_000
    }

    #[test]
    fn issues_and_verifies() {
        let (token, claims) = keys().issue("u1", Role::Operator, now()).expect("issue");
        let (verified, role) = keys().verify(&token).expect("verify");
        assert_eq!((verified, role), (claims, Role::Operator));
    }

    #[test]
    fn refuses_expired_wrong_key_unknown_kid_and_alg_none() {
        let k = keys();
        let (old, _) = k.issue("u1", Role::User, now() - 2 * ACCESS_TOKEN_TTL_SECS).expect("issue");
        assert_eq!(k.verify(&old), Err(TokenError::Expired));

        let other = Keys::new(&Secret::new("b".repeat(40)), None);
        let (foreign, _) = other.issue("u1", Role::User, now()).expect("issue");
        assert_eq!(k.verify(&foreign), Err(TokenError::UnknownKid));

        // Same kid, different secret: a forged signature.
        let (good, _) = k.issue("u1", Role::User, now()).expect("issue");
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged_sig = "AAAA".repeat(10);
        parts[2] = &forged_sig;
        assert_eq!(k.verify(&parts.join(".")), Err(TokenError::BadSignature));

        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = good.split('.').nth(1).expect("payload");
        assert_eq!(k.verify(&format!("{none_header}.{payload}.")), Err(TokenError::UnsupportedAlgorithm));
        assert_eq!(k.verify("not-a-jwt"), Err(TokenError::Malformed));
    }

    #[test]
    fn the_previous_secret_verifies_during_a_rotation_only_when_configured() {
        let old = Keys::new(&Secret::new("o".repeat(40)), None);
        let (token, _) = old.issue("u1", Role::User, now()).expect("issue");
        let rotated = Keys::new(&Secret::new("n".repeat(40)), Some(&Secret::new("o".repeat(40))));
        assert!(rotated.verify(&token).is_ok());
        let done = Keys::new(&Secret::new("n".repeat(40)), None);
        assert_eq!(done.verify(&token), Err(TokenError::UnknownKid));
    }
}
