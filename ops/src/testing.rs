//! Test doubles for what preflight talks to: an SNTP server whose clock is off by a chosen
//! amount (or that never answers). The wire format is written here from RFC 4330 and read by
//! rsntp in the code under test, so the two share nothing but the standard.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;

/// Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01.
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// A running fake SNTP server; stops when dropped.
#[derive(Debug)]
pub struct FakeSntp {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSntp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSntp {
    /// A server whose clock is `skew_ms` ahead of this host's (negative: behind).
    pub async fn start(skew_ms: i64) -> FakeSntp {
        FakeSntp::spawn(Some(skew_ms)).await
    }

    /// A server that reads requests and never answers.
    pub async fn silent() -> FakeSntp {
        FakeSntp::spawn(None).await
    }

    /// `host:port` as `KAIROS_TIME__NTP_SERVERS` takes it.
    pub fn server(&self) -> String {
        self.addr.to_string()
    }

    async fn spawn(skew_ms: Option<i64>) -> FakeSntp {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind a UDP port for the fake SNTP server");
        let addr = socket.local_addr().expect("fake SNTP address");
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = socket.recv_from(&mut buf).await {
                let Some(skew_ms) = skew_ms else { continue };
                if n < 48 {
                    continue;
                }
                let reply = reply(&buf[..48], skew_ms);
                let _ = socket.send_to(&reply, from).await;
            }
        });
        FakeSntp { addr, task }
    }
}

/// A server reply (RFC 4330 §5): no leap warning, version 4, mode 4 (server), stratum 1,
/// reference "LOCL"; the originate timestamp is the request's transmit timestamp; receive and
/// transmit are now plus the skew.
fn reply(request: &[u8], skew_ms: i64) -> [u8; 48] {
    let mut out = [0u8; 48];
    out[0] = (4 << 3) | 4;
    out[1] = 1;
    out[2] = 6; // poll interval, log2 seconds
    out[3] = 0xEC; // precision, log2 seconds (about 1 µs)
    out[12..16].copy_from_slice(b"LOCL");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let skewed = if skew_ms >= 0 {
        now + Duration::from_millis(skew_ms.unsigned_abs())
    } else {
        now.saturating_sub(Duration::from_millis(skew_ms.unsigned_abs()))
    };
    let stamp = ntp_timestamp(skewed);
    out[16..24].copy_from_slice(&ntp_timestamp(skewed.saturating_sub(Duration::from_secs(60))));
    out[24..32].copy_from_slice(&request[40..48]);
    out[32..40].copy_from_slice(&stamp);
    out[40..48].copy_from_slice(&stamp);
    out
}

/// 32-bit seconds since 1900 and a 32-bit binary fraction, big-endian.
fn ntp_timestamp(since_unix_epoch: Duration) -> [u8; 8] {
    let secs = (since_unix_epoch.as_secs() + NTP_UNIX_OFFSET_SECS) as u32;
    let fraction = ((u64::from(since_unix_epoch.subsec_nanos()) << 32) / 1_000_000_000) as u32;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&secs.to_be_bytes());
    out[4..].copy_from_slice(&fraction.to_be_bytes());
    out
}
