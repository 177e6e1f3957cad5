//! Requests as the bytes written to the socket: an HTTP/1.1 request line, the headers the CLOB
//! wants (the five `POLY_*` L2 headers among them, their HMAC over exactly the body sent) and
//! the body, appended to a reused buffer. Nothing here allocates once the buffer has grown.

use kairos_clob_client::auth::l2::{Credentials, L2Mac, SIGNATURE_LEN};
use kairos_clob_client::eth::Address;

use crate::fixed;

/// What signs and names every request of one API key.
#[derive(Debug, Clone)]
pub struct L2Auth {
    mac: L2Mac,
    address: String,
    api_key: String,
    passphrase: String,
}

impl L2Auth {
    /// `address` is the key's own (EOA) address, which the `POLY_ADDRESS` header carries
    /// whatever the order's funder.
    pub fn new(credentials: &Credentials, address: Address) -> Self {
        Self {
            mac: credentials.mac(),
            address: address.to_checksum(),
            api_key: credentials.api_key.clone(),
            passphrase: credentials.passphrase().to_string(),
        }
    }
}

/// Writes whole requests for one host.
#[derive(Debug, Clone)]
pub struct RequestWriter {
    /// `Host: …\r\nUser-Agent: …\r\n…Content-Type` lines, fixed per connection.
    fixed_headers: String,
    auth: L2Auth,
}

impl RequestWriter {
    pub fn new(host: &str, auth: L2Auth) -> Self {
        let fixed_headers = format!(
            "Host: {host}\r\nUser-Agent: kairos-quoter/{}\r\nAccept: */*\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n",
            env!("CARGO_PKG_VERSION")
        );
        Self { fixed_headers, auth }
    }

    /// Appends `method path` with `body`, signed at `timestamp_s` (the venue's clock, in
    /// seconds), to `out`.
    pub fn write(&self, out: &mut Vec<u8>, method: &str, path: &str, body: &[u8], timestamp_s: u64) {
        let mut digits = [0u8; 20];
        let timestamp = fixed::digits(timestamp_s, &mut digits);
        let mut signature = [0u8; SIGNATURE_LEN];
        self.auth.mac.sign_into(timestamp, method, path, body, &mut signature);
        let mut length = [0u8; 20];
        let length = fixed::digits(body.len() as u64, &mut length);
        let parts: [&[u8]; 19] = [
            method.as_bytes(),
            b" ",
            path.as_bytes(),
            b" HTTP/1.1\r\n",
            self.fixed_headers.as_bytes(),
            b"Content-Length: ",
            length.as_bytes(),
            b"\r\nPOLY_ADDRESS: ",
            self.auth.address.as_bytes(),
            b"\r\nPOLY_SIGNATURE: ",
            &signature,
            b"\r\nPOLY_TIMESTAMP: ",
            timestamp.as_bytes(),
            b"\r\nPOLY_API_KEY: ",
            self.auth.api_key.as_bytes(),
            b"\r\nPOLY_PASSPHRASE: ",
            self.auth.passphrase.as_bytes(),
            b"\r\n\r\n",
            body,
        ];
        for part in parts {
            out.extend_from_slice(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_carries_clob_client_s_headers_for_the_exact_body() {
        let credentials =
            Credentials::new("key-1", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "pass-phrase").expect("creds");
        let address: Address = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266".parse().expect("address");
        let writer = RequestWriter::new("clob.polymarket.com", L2Auth::new(&credentials, address));
        let body = br#"{"orderID":"0xabc"}"#;
        let mut out = b"left alone".to_vec();
        writer.write(&mut out, "DELETE", "/order", body, 1_700_000_000);
        let text = std::str::from_utf8(&out[10..]).expect("ascii");
        let (head, sent) = text.split_once("\r\n\r\n").expect("head and body");
        assert_eq!(sent.as_bytes(), body);
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("DELETE /order HTTP/1.1"));
        let headers: Vec<(&str, &str)> = lines.map(|l| l.split_once(": ").expect("header")).collect();
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let official = credentials.headers(
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
            1_700_000_000,
            "DELETE",
            "/order",
            Some(r#"{"orderID":"0xabc"}"#),
        );
        for (name, value) in official.pairs() {
            assert_eq!(get(name), Some(value), "{name}");
        }
        // The public vector for this request.
        assert_eq!(get("POLY_SIGNATURE"), Some("ebd_Mp184tE7Z6KPR1h4np8gSxcgEPZ7MeKtDjVwf2g="));
        assert_eq!(get("Content-Length"), Some("19"));
        assert_eq!(get("Host"), Some("clob.polymarket.com"));
    }
}
