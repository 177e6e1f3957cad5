//! The hot path allocates nothing in steady state: after a warm-up, a ~3 KB `book` snapshot of
//! 40 levels a side and two-change `price_change`s, replayed through the whole pipeline (parse,
//! book, hash-free changes, strategy, diff, risk gate, amounts, signing, the envelopes, the L2
//! headers and the request bytes), are counted by a global allocator that counts.

use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::eth::U256;
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::orders::Version;
use kairos_domain::TradingState;
use kairos_domain::money::Collateral;
use kairos_quoter::alloc_count::{Counting, allocations};
use kairos_quoter::clock::{Salts, ServerClock};
use kairos_quoter::engine::Engine;
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::order::{Account, OrderSigner, Token};
use kairos_quoter::outbox::Outbox;
use kairos_quoter::pipeline::Pipeline;
use kairos_quoter::risk::{RiskGate, RiskLimits};
use kairos_quoter::strategy::{Fair, SpreadQuoter, SpreadSettings};
use kairos_quoter::wire::{L2Auth, RequestWriter};

#[global_allocator]
static GLOBAL: Counting = Counting;

const ASSET: &str = "65818619657568813474341868652308942079804919287380422192892211131408793125422";

fn book_frame() -> String {
    let level = |p: u32, s: u32| format!(r#"{{"price":"0.{p:02}","size":"{s}.25"}}"#);
    let bids: Vec<String> = (1..=40).map(|i| level(i, 100 + i)).collect();
    let asks: Vec<String> = (55..=94).map(|i| level(i, 200 + i)).collect();
    format!(
        r#"{{"event_type":"book","asset_id":"{ASSET}","market":"0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af","bids":[{}],"asks":[{}],"timestamp":"1757908892351","hash":"0x5ec1b5a2b5c0b1e2d2b7b2c4b0e0f5d4c3b2a190"}}"#,
        bids.join(","),
        asks.join(",")
    )
}

fn change_frame(i: u32) -> String {
    format!(
        r#"{{"market":"0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af","price_changes":[{{"asset_id":"{ASSET}","price":"0.{}","size":"{}","side":"BUY","hash":"","best_bid":"0.40","best_ask":"0.55"}},{{"asset_id":"{ASSET}","price":"0.56","size":"{}","side":"SELL","hash":"","best_bid":"0.40","best_ask":"0.55"}}],"timestamp":"1757908892352","event_type":"price_change"}}"#,
        41 + i % 3,
        10 + i % 7,
        300 + i % 5
    )
}

#[test]
fn a_book_and_a_price_change_allocate_nothing_once_warm() {
    let book = book_frame();
    assert!((2_500..4_000).contains(&book.len()), "about 3 KB: {}", book.len());
    let changes: Vec<String> = (0..6).map(change_frame).collect();
    let strategy = SpreadQuoter::new(SpreadSettings {
        fair: Fair::Microprice,
        half_spread: 100,
        size: 10 * SIZE_UNITS,
        skew_per_share_micros: 10_000,
        max_inventory: 1_000 * SIZE_UNITS as i64,
    });
    let limits = RiskLimits {
        max_position: 10_000 * SIZE_UNITS as i64,
        max_notional: Collateral::from_micros(1_000_000_000),
        price_band: 2_000,
        max_orders_per_s: u32::MAX / 2_000,
    };
    let engine = Engine::new(&[(ASSET, 100)], strategy, RiskGate::new(limits, TradingState::Enabled));
    let key = Signer::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").expect("key");
    let account = Account {
        maker: key.address(),
        key,
        signature_type: 0,
        chain_id: 137,
        api_key: "00000000-0000-4000-8000-000000000000".into(),
        order_type: OrderType::Gtc,
        post_only: true,
    };
    let mut signer = OrderSigner::new(&account).expect("signer");
    let token = Token::new(ASSET.parse::<U256>().expect("token"), false, Version::V2);
    signer.add_token(&token).expect("domain");
    let credentials = Credentials::new(&account.api_key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "pass")
        .expect("credentials");
    let writer = RequestWriter::new("clob.polymarket.com", L2Auth::new(&credentials, account.key.address()));
    let outbox = Outbox::new(signer, writer, vec![token], ServerClock::default(), Salts::from_seed(3));
    let mut pipeline = Pipeline::new(engine, outbox).expect("pipeline");
    let mut now_us = 0;
    let mut decided = 0usize;
    let mut pass = |frame: &str, now_us: u64| {
        let out = pipeline.on_frame(frame, now_us).expect("frame");
        assert!(out.refused().is_empty());
        out.placed().len() + out.cancelled().len()
    };
    for _ in 0..10 {
        now_us += 1_000;
        decided += pass(&book, now_us);
        for c in &changes {
            now_us += 1_000;
            decided += pass(c, now_us);
        }
    }
    let before = allocations();
    for _ in 0..1_000 {
        now_us += 1_000;
        decided += pass(&book, now_us);
        for c in &changes {
            now_us += 1_000;
            decided += pass(c, now_us);
        }
    }
    let during = allocations() - before;
    assert!(decided > 7_000, "the passes signed and cancelled orders: {decided}");
    assert_eq!(during, 0, "allocations in 7,000 warm frames");
}
