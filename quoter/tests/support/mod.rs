//! What the quoter's integration tests share: the account and pipeline they quote with, the
//! recorded frames, and a mock CLOB's request reader.

#![allow(dead_code, reason = "each test binary uses its own part of the support")]

use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::eth::U256;
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::orders::Version;
use kairos_domain::TradingState;
use kairos_domain::money::Collateral;
use kairos_quoter::clock::{Salts, ServerClock};
use kairos_quoter::engine::Engine;
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::order::{Account, OrderSigner, Token};
use kairos_quoter::outbox::Outbox;
use kairos_quoter::pipeline::Pipeline;
use kairos_quoter::risk::{RiskGate, RiskLimits};
use kairos_quoter::strategy::{Fair, SpreadQuoter, SpreadSettings};
use kairos_quoter::wire::{L2Auth, RequestWriter};
use tokio::io::AsyncReadExt;

pub(crate) const BOOK: &str = include_str!("../../frames/book.json");
pub(crate) const PRICE_CHANGE: &str = include_str!("../../frames/price_change.json");
/// The recorded frames' token.
pub(crate) const ASSET: &str = "65818619657568813474341868652308942079804919287380422192892211131408793125422";
/// A well-known development key.
pub(crate) const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub(crate) const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
pub(crate) const API_KEY: &str = "00000000-0000-4000-8000-000000000000";

pub(crate) fn account() -> Account {
    let key = Signer::from_hex(KEY).expect("key");
    Account {
        maker: key.address(),
        key,
        signature_type: 0,
        chain_id: 137,
        api_key: API_KEY.into(),
        order_type: OrderType::Gtc,
        post_only: true,
    }
}

pub(crate) fn credentials() -> Credentials {
    Credentials::new(API_KEY, SECRET, "pass").expect("credentials")
}

/// The default strategy (mid, 0.01 half-spread, `size` per quote, no skew, a 1,000-share
/// inventory limit) on the recorded token, with loose risk limits, sending to `host`.
pub(crate) fn pipeline_for(host: &str, size: u64, seed: u64) -> Pipeline<SpreadQuoter> {
    let account = account();
    let mut signer = OrderSigner::new(&account).expect("signer");
    let token = Token::new(ASSET.parse::<U256>().expect("token"), false, Version::V2);
    signer.add_token(&token).expect("domain");
    let writer = RequestWriter::new(host, L2Auth::new(&credentials(), account.key.address()));
    let outbox = Outbox::new(signer, writer, vec![token], ServerClock::default(), Salts::from_seed(seed));
    let strategy = SpreadQuoter::new(SpreadSettings {
        fair: Fair::Mid,
        half_spread: 100,
        size,
        skew_per_share_micros: 0,
        max_inventory: 1_000 * SIZE_UNITS as i64,
    });
    let limits = RiskLimits {
        max_position: 10_000 * SIZE_UNITS as i64,
        max_notional: Collateral::from_micros(1_000_000_000),
        price_band: 2_000,
        max_orders_per_s: 1_000,
    };
    let engine = Engine::new(&[(ASSET, 100)], strategy, RiskGate::new(limits, TradingState::Enabled));
    Pipeline::new(engine, outbox).expect("pipeline")
}

/// One request a mock CLOB read: its line and body, and its bytes as received.
pub(crate) struct Received {
    pub line: String,
    pub body: String,
    pub bytes: Vec<u8>,
}

/// Reads the next whole request (`Content-Length` framing) from `socket`, keeping what
/// follows it in `buf`; `None` when the client closed the connection.
pub(crate) async fn read_request(socket: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<Received> {
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        fill(socket, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize =
        head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).map_or(0, |v| v.trim().parse().expect("length"));
    while buf.len() < head_end + length {
        fill(socket, buf).await?;
    }
    let bytes: Vec<u8> = buf.drain(..head_end + length).collect();
    let line = head.lines().next().unwrap_or("").to_string();
    let body = String::from_utf8_lossy(&bytes[head_end..]).into_owned();
    Some(Received { line, body, bytes })
}

async fn fill(socket: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0u8; 4096];
    match socket.read(&mut chunk).await {
        Ok(0) | Err(_) => None,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Some(())
        }
    }
}
