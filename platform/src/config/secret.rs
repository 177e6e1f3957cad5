//! A string that never prints itself.

use std::fmt;

/// A secret value (a key, a password, a URL with credentials). `Debug` and `Display` print
/// `[redacted]`, so a secret cannot leak through a log line or `config check`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: call only where it is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `KAIROS_MASTER_KEY`'s 32 bytes, from base64 in either alphabet (standard or URL-safe), with or
/// without padding: operators paste keys from tools that use either. The error says what was
/// given (its length), never the value.
pub fn decode_master_key(text: &str) -> Result<[u8; 32], MasterKeyError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    let decoded = [STANDARD, URL_SAFE, STANDARD_NO_PAD, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(text).ok());
    let Some(bytes) = decoded else {
        return Err(MasterKeyError::NotBase64 { characters: text.chars().count() });
    };
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| MasterKeyError::WrongLength { bytes: bytes.len() })
}

/// Why a master key is refused: what was given (its size), never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error("is not base64 (standard or URL-safe alphabet, padding optional): {characters} characters given")]
    NotBase64 { characters: usize },
    #[error("decodes to {bytes} bytes; exactly 32 are required (e.g. `openssl rand -base64 32`)")]
    WrongLength { bytes: usize },
}

/// A URL with any password replaced, for logs: `postgres://kairos:[redacted]@db/kairos`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if userinfo.contains(':') {
                format!("{scheme}://{user}:[redacted]@{host}{tail}")
            } else {
                format!("{scheme}://{user}@{host}{tail}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_redacted_in_debug_and_display() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2-hunter2");
    }

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(redact_url("postgres://kairos:pw@db:5432/kairos"), "postgres://kairos:[redacted]@db:5432/kairos");
        assert_eq!(redact_url("redis://:pw@cache:6379"), "redis://:[redacted]@cache:6379");
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
        assert_eq!(redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    }
}

#[cfg(test)]
mod master_key_tests {
    use super::decode_master_key;

    #[test]
    fn either_alphabet_with_or_without_padding_and_only_32_bytes() {
        // Bytes 0xfb 0xff… give '+' and '/' in one alphabet, '-' and '_' in the other.
        let mut key = [0xfbu8; 32];
        key[31] = 0xff;
        for text in [
            "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/8=",
            "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_8=",
            "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/8",
            "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_8",
        ] {
            assert_eq!(decode_master_key(text), Ok(key), "{text}");
        }
        let short = decode_master_key("c2hvcnQ=").expect_err("5 bytes").to_string();
        assert!(short.contains("5 bytes") && !short.contains("c2hvcnQ"), "{short}");
        let junk = decode_master_key("not base64 at all!").expect_err("junk").to_string();
        assert!(junk.contains("18 characters") && !junk.contains("junk"), "{junk}");
    }
}
