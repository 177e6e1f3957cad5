//! One keep-alive HTTP/1.1 connection for the sender: the pass's request bytes are written as
//! they are (no client library re-serialises them), then the answers are read in order. The
//! connection is opened and warmed before the first frame, so no order waits for a handshake.
//!
//! Answers are read with either framing a server uses for a body (`Content-Length` or
//! `Transfer-Encoding: chunked`); anything else is an error and the connection is dropped.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A head larger than this is not an answer to us.
const MAX_HEAD: usize = 64 * 1024;
/// Nor is a body larger than this.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("the connection failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("the answer is not HTTP/1.1 this client reads: {0}")]
    Malformed(&'static str),
}

/// An answer: its status and body (borrowed from the connection until the next read).
#[derive(Debug, PartialEq, Eq)]
pub struct Response<'c> {
    pub status: u16,
    pub body: &'c [u8],
    /// The server will close the connection after this answer.
    pub close: bool,
}

#[derive(Debug)]
pub struct Connection<S> {
    stream: S,
    /// Bytes read and not yet consumed (the start of the next answer, when there is one).
    buf: Vec<u8>,
    body: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    pub fn new(stream: S) -> Self {
        Self { stream, buf: Vec::with_capacity(16 * 1024), body: Vec::with_capacity(16 * 1024) }
    }

    /// Writes `bytes` (one or more whole requests) and flushes them to the socket.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await?;
        Ok(())
    }

    /// Reads the next answer.
    pub async fn read_response(&mut self) -> Result<Response<'_>, ConnError> {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ConnError::Malformed("the head is too long"));
            }
            self.fill().await?;
        };
        let head =
            std::str::from_utf8(&self.buf[..head_end]).map_err(|_| ConnError::Malformed("the head is not text"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().ok_or(ConnError::Malformed("no status line"))?;
        let mut parts = status_line.splitn(3, ' ');
        let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
            return Err(ConnError::Malformed("no status"));
        };
        if !version.starts_with("HTTP/1.") {
            return Err(ConnError::Malformed("not HTTP/1.x"));
        }
        let status: u16 = code.parse().map_err(|_| ConnError::Malformed("the status is not a number"))?;
        let (mut length, mut chunked, mut close) = (None, false, version == "HTTP/1.0");
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ConnError::Malformed("a header without a colon"));
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| ConnError::Malformed("a bad Content-Length"))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
                if !chunked {
                    return Err(ConnError::Malformed("a transfer encoding other than chunked"));
                }
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        self.buf.drain(..head_end + 4);
        self.body.clear();
        let no_body = status == 204 || status == 304 || (100..200).contains(&status);
        if chunked {
            self.read_chunked().await?;
        } else if let Some(n) = length {
            if n > MAX_BODY {
                return Err(ConnError::Malformed("the body is too long"));
            }
            self.take(n).await?;
        } else if !no_body {
            return Err(ConnError::Malformed("a body without Content-Length or chunked framing"));
        }
        Ok(Response { status, body: &self.body, close })
    }

    /// Moves the next `n` bytes into the body.
    async fn take(&mut self, n: usize) -> Result<(), ConnError> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        self.body.extend_from_slice(&self.buf[..n]);
        self.buf.drain(..n);
        Ok(())
    }

    async fn read_chunked(&mut self) -> Result<(), ConnError> {
        loop {
            let line_end = loop {
                if let Some(at) = find(&self.buf, b"\r\n") {
                    break at;
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(ConnError::Malformed("a chunk size line is too long"));
                }
                self.fill().await?;
            };
            let line =
                std::str::from_utf8(&self.buf[..line_end]).map_err(|_| ConnError::Malformed("a bad chunk size"))?;
            let hex = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(hex, 16).map_err(|_| ConnError::Malformed("a bad chunk size"))?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers, if any, end at an empty line.
                loop {
                    let end = loop {
                        if let Some(at) = find(&self.buf, b"\r\n") {
                            break at;
                        }
                        self.fill().await?;
                    };
                    self.buf.drain(..end + 2);
                    if end == 0 {
                        return Ok(());
                    }
                }
            }
            if self.body.len() + size > MAX_BODY {
                return Err(ConnError::Malformed("the body is too long"));
            }
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            if &self.buf[size..size + 2] != b"\r\n" {
                return Err(ConnError::Malformed("a chunk not followed by CRLF"));
            }
            self.body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
        }
    }

    async fn fill(&mut self) -> Result<(), ConnError> {
        let mut chunk = [0u8; 8 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ConnError::Closed);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answers(raw: &'static [u8]) -> Vec<(u16, String, bool)> {
        let (client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            // In small pieces, so every read path meets a split.
            for piece in raw.chunks(7) {
                server.write_all(piece).await.expect("write");
            }
        });
        let mut conn = Connection::new(client);
        let mut out = Vec::new();
        loop {
            match conn.read_response().await {
                Ok(r) => out.push((r.status, String::from_utf8_lossy(r.body).into_owned(), r.close)),
                Err(ConnError::Closed) => break,
                Err(e) => panic!("{e}"),
            }
        }
        writer.await.expect("writer");
        out
    }

    #[tokio::test]
    async fn reads_length_and_chunked_answers_back_to_back() {
        let raw = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}\
HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;ext=1\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n\
HTTP/1.1 204 No Content\r\n\r\n\
HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno";
        assert_eq!(
            answers(raw).await,
            [
                (200, "{\"ok\":true}".to_string(), false),
                (201, "{\"a\":1}".to_string(), false),
                (204, String::new(), false),
                (400, "no".to_string(), true),
            ]
        );
    }

    #[tokio::test]
    async fn refuses_what_it_cannot_frame() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\n\r\nbody until close"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let (client, mut server) = tokio::io::duplex(1024);
            server.write_all(raw).await.expect("write");
            drop(server);
            let mut conn = Connection::new(client);
            assert!(
                matches!(conn.read_response().await, Err(ConnError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        // A request is written as given.
        let (client, mut server) = tokio::io::duplex(1024);
        let mut conn = Connection::new(client);
        conn.write(b"GET / HTTP/1.1\r\n\r\n").await.expect("write");
        let mut got = [0u8; 18];
        server.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"GET / HTTP/1.1\r\n\r\n");
    }
}
