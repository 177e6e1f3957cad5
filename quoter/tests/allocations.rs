//! The hot path allocates nothing in steady state: after a warm-up, a ~3 KB `book` snapshot of
//! 40 levels a side and a two-change `price_change`, replayed through the engine (parse, book,
//! hash-free changes, strategy, diff, risk gate), are counted by a global allocator that counts.

// A global allocator can only be written as an `unsafe impl`; this one forwards to the
// system allocator and counts, in this test binary only.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use kairos_domain::TradingState;
use kairos_domain::money::Collateral;
use kairos_quoter::engine::Engine;
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::risk::{RiskGate, RiskLimits};
use kairos_quoter::strategy::{Fair, SpreadQuoter, SpreadSettings};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed through.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

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
    let mut engine = Engine::new(&[(ASSET, 100)], strategy, RiskGate::new(limits, TradingState::Enabled));
    let mut now_us = 0;
    let mut decided = 0usize;
    for _ in 0..10 {
        now_us += 1_000;
        decided += engine.on_frame(&book, now_us).expect("book").len();
        for c in &changes {
            now_us += 1_000;
            decided += engine.on_frame(c, now_us).expect("change").len();
        }
    }
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..1_000 {
        now_us += 1_000;
        decided += engine.on_frame(&book, now_us).expect("book").len();
        for c in &changes {
            now_us += 1_000;
            decided += engine.on_frame(c, now_us).expect("change").len();
        }
    }
    let during = ALLOCATIONS.load(Ordering::SeqCst) - before;
    assert!(decided > 0, "the passes decided orders");
    assert_eq!(during, 0, "allocations in 7,000 warm frames");
}
