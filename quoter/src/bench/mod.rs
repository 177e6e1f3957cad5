//! `kairos-quoter bench`: the recorded `book` and `price_change` frames replayed through the
//! whole pass (frame in, one signed order's `POST /order` request with its L2 headers out),
//! each pass timed on a pinned thread into an HDR histogram, beside the floor's pass
//! ([`floor`]) timed in the same loop, so busy machines slow both alike. Then a per-stage
//! breakdown from separately timed passes, allocations per pass from the counting allocator,
//! and whether AVX2 is compiled in and present. The last line printed is one JSON object.
//!
//! Each pass places one order: the quoter is held at its long inventory limit, so it quotes
//! only the ask, and the order placed by the previous pass is forgotten (outside the timed
//! span) so the frame leads to a place again.

mod floor;

use std::time::Instant;

use hdrhistogram::Histogram;
use kairos_clob_client::auth::l2::{Credentials, decode_secret};
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::contracts;
use kairos_clob_client::eth::U256;
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::orders::Version;
use kairos_domain::TradingState;
use kairos_domain::money::Collateral;
use kairos_quoter::clock::{Salts, ServerClock};
use kairos_quoter::cpu;
use kairos_quoter::engine::Engine;
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::order::{Account, OrderSigner, Token};
use kairos_quoter::outbox::Outbox;
use kairos_quoter::pipeline::Pipeline;
use kairos_quoter::risk::{RiskGate, RiskLimits};
use kairos_quoter::stages::{LapTimer, Stage};
use kairos_quoter::strategy::{Fair, SpreadQuoter, SpreadSettings};
use kairos_quoter::wire::{L2Auth, RequestWriter};

use floor::{Floor, FloorSetup};
use kairos_quoter::alloc_count::allocations;

/// The recorded frames (the market channel's format, one frame each).
const BOOK: &str = include_str!("../../frames/book.json");
const PRICE_CHANGE: &str = include_str!("../../frames/price_change.json");
/// The token the frames quote.
const ASSET: &str = "65818619657568813474341868652308942079804919287380422192892211131408793125422";
/// A well-known development key: the bench signs, it never sends.
const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SECRET: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=";
const API_KEY: &str = "00000000-0000-4000-8000-000000000000";
const PASSPHRASE: &str = "bench-passphrase";
const HOST: &str = "clob.polymarket.com";
const TICK: u32 = 100;
const HALF_SPREAD: u32 = 100;
const SIZE: u64 = 10 * SIZE_UNITS;
const MAX_INVENTORY: i64 = 1_000 * SIZE_UNITS as i64;
/// The budget a decision must fit in.
const BUDGET_US: f64 = 5_000.0;

pub(crate) struct Options {
    pub(crate) iterations: u64,
    pub(crate) pin: bool,
}

type QuoterPipeline = Pipeline<SpreadQuoter>;

fn pipeline() -> Result<QuoterPipeline, String> {
    let key = Signer::from_hex(KEY).map_err(|e| e.to_string())?;
    let account = Account {
        maker: key.address(),
        key,
        signature_type: 0,
        chain_id: 137,
        api_key: API_KEY.into(),
        order_type: OrderType::Gtc,
        post_only: true,
    };
    let mut signer = OrderSigner::new(&account).map_err(|e| e.to_string())?;
    let token = Token::new(ASSET.parse::<U256>().map_err(|e| e.to_string())?, false, Version::V2);
    signer.add_token(&token).map_err(|e| e.to_string())?;
    let credentials = Credentials::new(API_KEY, SECRET, PASSPHRASE).map_err(|e| e.to_string())?;
    let writer = RequestWriter::new(HOST, L2Auth::new(&credentials, account.key.address()));
    let outbox = Outbox::new(signer, writer, vec![token], ServerClock::default(), Salts::from_entropy());
    let strategy = SpreadQuoter::new(SpreadSettings {
        fair: Fair::Mid,
        half_spread: HALF_SPREAD,
        size: SIZE,
        skew_per_share_micros: 0,
        max_inventory: MAX_INVENTORY,
    });
    let limits = RiskLimits {
        max_position: 10 * MAX_INVENTORY,
        max_notional: Collateral::from_micros(1_000_000_000),
        price_band: 2_000,
        max_orders_per_s: u32::MAX / 2_000,
    };
    let engine = Engine::new(&[(ASSET, TICK)], strategy, RiskGate::new(limits, TradingState::Enabled));
    let mut pipeline = Pipeline::new(engine, outbox).map_err(|e| e.to_string())?;
    // At the long limit: only the ask is quoted, so each pass places one order.
    pipeline.engine_mut().markets_mut()[0].inventory = MAX_INVENTORY;
    Ok(pipeline)
}

fn floor() -> Result<Floor, String> {
    let key = Signer::from_hex(KEY).map_err(|e| e.to_string())?;
    let mut private_key = [0u8; 32];
    let hex = KEY.trim_start_matches("0x");
    for (i, b) in private_key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    let secret = decode_secret(SECRET).map_err(|e| e.to_string())?;
    Floor::new(&FloorSetup {
        private_key,
        maker: key.address(),
        exchange: contracts::exchange(137, Version::V2, false).ok_or("no exchange")?,
        chain_id: 137,
        token: ASSET.parse::<U256>().map_err(|e| e.to_string())?,
        api_key: API_KEY,
        secret: &secret,
        passphrase: PASSPHRASE,
        host: HOST,
        tick: TICK,
        half_spread: HALF_SPREAD,
        size: SIZE,
    })
}

/// Forgets what the last pass placed, so the next frame places again.
fn reset(p: &mut QuoterPipeline) {
    while let Some(id) = p.engine().markets()[0].resting.first().map(|r| r.id) {
        p.forget(0, id);
    }
}

/// One pass of ours: the frame to the request bytes. Returns the bytes written.
fn our_pass(p: &mut QuoterPipeline, frame: &str, now_us: u64) -> Result<usize, String> {
    let out = p.on_frame(frame, now_us).map_err(|e| e.to_string())?;
    if out.placed().len() != 1 || out.requests().len() != 1 {
        return Err(format!(
            "a pass placed {} orders in {} requests, not one",
            out.placed().len(),
            out.requests().len()
        ));
    }
    Ok(out.bytes().len())
}

/// A number after `"key":` (quoted or not) in a JSON body.
fn field(body: &str, key: &str) -> Option<u64> {
    let at = body.find(&format!("\"{key}\":"))? + key.len() + 3;
    let digits: String = body[at..].chars().skip_while(|c| *c == '"').take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The floor must sign and write the very request ours does, or it measures something else.
fn check_same_request(p: &mut QuoterPipeline, f: &mut Floor, frame: &str) -> Result<(), String> {
    reset(p);
    our_pass(p, frame, 1)?;
    let ours = p.outbox().bytes().to_vec();
    let text = String::from_utf8(ours.clone()).map_err(|e| e.to_string())?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).ok_or("no body")?;
    let (salt, timestamp) = (field(body, "salt").ok_or("no salt")?, field(body, "timestamp").ok_or("no timestamp")?);
    f.pass(frame, salt, timestamp)?;
    if f.out != ours {
        return Err(format!(
            "the floor's request differs from the quoter's:\n{}\n---\n{text}",
            String::from_utf8_lossy(&f.out)
        ));
    }
    Ok(())
}

#[derive(Debug)]
struct Figures {
    ours: Histogram<u64>,
    floor: Histogram<u64>,
    allocations: u64,
    passes: u64,
    bytes: usize,
    stages_ns: [u64; Stage::ALL.len()],
    staged_passes: u64,
}

fn histogram() -> Result<Histogram<u64>, String> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())
}

fn measure(p: &mut QuoterPipeline, f: &mut Floor, frame: &str, iterations: u64) -> Result<Figures, String> {
    check_same_request(p, f, frame)?;
    let mut salts = Salts::from_entropy();
    let clock = ServerClock::default();
    let mut now_us = 1_000;
    // Warm both: caches, branch predictors, buffers at their steady size.
    for _ in 0..2_000 {
        now_us += 1_000;
        reset(p);
        our_pass(p, frame, now_us)?;
        f.pass(frame, salts.next_salt(), clock.now_ms())?;
    }
    let (mut ours, mut floor) = (histogram()?, histogram()?);
    let mut allocated = 0;
    let mut bytes = 0;
    for _ in 0..iterations {
        now_us += 1_000;
        reset(p);
        let before = allocations();
        let start = Instant::now();
        bytes = our_pass(p, frame, now_us)?;
        let ns = start.elapsed().as_nanos();
        allocated += allocations() - before;
        ours.record(u64::try_from(ns).unwrap_or(u64::MAX).max(1)).map_err(|e| e.to_string())?;
        let (salt, ms) = (salts.next_salt(), clock.now_ms());
        let start = Instant::now();
        std::hint::black_box(f.pass(frame, salt, ms)?);
        let ns = start.elapsed().as_nanos();
        floor.record(u64::try_from(ns).unwrap_or(u64::MAX).max(1)).map_err(|e| e.to_string())?;
    }
    // The breakdown, from passes timed stage by stage (the laps cost a little; the totals
    // above are from untimed passes).
    let staged = (iterations / 5).clamp(1_000, 20_000);
    let mut laps = LapTimer::default();
    for _ in 0..staged {
        now_us += 1_000;
        reset(p);
        laps.start();
        p.on_frame_timed(frame, now_us, &mut laps).map_err(|e| e.to_string())?;
    }
    Ok(Figures {
        ours,
        floor,
        allocations: allocated,
        passes: iterations,
        bytes,
        stages_ns: laps.take(),
        staged_passes: staged,
    })
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1_000.0
}

fn round3(v: f64) -> f64 {
    (v * 1_000.0).round() / 1_000.0
}

impl Figures {
    fn json(&self) -> serde_json::Value {
        let q = |h: &Histogram<u64>, p: f64| round3(us(h.value_at_quantile(p)));
        let p999 = q(&self.ours, 0.999);
        let stages: serde_json::Map<String, serde_json::Value> = Stage::ALL
            .iter()
            .map(|s| {
                let mean = self.stages_ns[*s as usize] as f64 / self.staged_passes as f64 / 1_000.0;
                (s.as_str().to_string(), serde_json::json!(round3(mean)))
            })
            .collect();
        serde_json::json!({
            "p50_us": q(&self.ours, 0.5),
            "p90_us": q(&self.ours, 0.9),
            "p99_us": q(&self.ours, 0.99),
            "p999_us": p999,
            "max_us": round3(us(self.ours.max())),
            "floor_p50_us": q(&self.floor, 0.5),
            "floor_p999_us": q(&self.floor, 0.999),
            "ratio_p50": round3(q(&self.ours, 0.5) / q(&self.floor, 0.5)),
            "allocations_per_pass": self.allocations as f64 / self.passes as f64,
            "budget_fraction_p999": (p999 / BUDGET_US * 1e6).round() / 1e6,
            "passes": self.passes,
            "orders_per_pass": 1,
            "request_bytes": self.bytes,
            "stages_mean_us": stages,
        })
    }

    fn print(&self, name: &str) {
        let q = |h: &Histogram<u64>, p: f64| us(h.value_at_quantile(p));
        println!(
            "{name:>12}: p50 {:>7.2} µs  p90 {:>7.2}  p99 {:>7.2}  p99.9 {:>7.2}  max {:>8.2}  | floor p50 {:>7.2}  p99.9 {:>7.2}  | ratio p50 {:.3}  | {:.3} allocations/pass",
            q(&self.ours, 0.5),
            q(&self.ours, 0.9),
            q(&self.ours, 0.99),
            q(&self.ours, 0.999),
            us(self.ours.max()),
            q(&self.floor, 0.5),
            q(&self.floor, 0.999),
            q(&self.ours, 0.5) / q(&self.floor, 0.5),
            self.allocations as f64 / self.passes as f64,
        );
        let parts: Vec<String> = Stage::ALL
            .iter()
            .map(|s| {
                let mean = self.stages_ns[*s as usize] as f64 / self.staged_passes as f64 / 1_000.0;
                format!("{} {mean:.2}", s.as_str())
            })
            .collect();
        println!("{:>12}  stages (mean µs): {}", "", parts.join(", "));
    }
}

pub(crate) fn run(options: &Options) -> Result<(), String> {
    let pinned = if options.pin { pin() } else { None };
    let mut p = pipeline()?;
    let mut f = floor()?;
    println!(
        "kairos-quoter bench: {} passes per frame ({} B book, {} B price_change), thread pinned to {}",
        options.iterations,
        BOOK.trim_end().len(),
        PRICE_CHANGE.trim_end().len(),
        pinned.map_or("no core".to_string(), |c| format!("core {c}")),
    );
    let book = measure(&mut p, &mut f, BOOK.trim_end(), options.iterations)?;
    book.print("book");
    // A price change applies to the book the snapshot left.
    let change = measure(&mut p, &mut f, PRICE_CHANGE.trim_end(), options.iterations)?;
    change.print("price_change");
    let (compiled, present) = (cpu::avx2_compiled(), cpu::avx2_cpu());
    println!("avx2 compiled in: {compiled}; avx2 on this cpu: {present}; budget {BUDGET_US} µs per decision");
    let line = serde_json::json!({
        "book": book.json(),
        "price_change": change.json(),
        "avx2_compiled": compiled,
        "avx2_cpu": present,
    });
    println!("{line}");
    Ok(())
}

/// Pins this thread to the last core (the first tends to take interrupts).
fn pin() -> Option<usize> {
    let core = core_affinity::get_core_ids()?.pop()?;
    core_affinity::set_for_current(core).then_some(core.id)
}
