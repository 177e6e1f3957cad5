//! The whole pass on the recorded frames: the requests a CLOB would receive are what
//! `clob-client`'s own builder, signer and L2 headers give for the same orders, cancels name
//! the orders placed before, a gap cancels everything, and an order that cannot be built is
//! neither sent nor believed resting.

use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::build::{self, OrderArgs, Rounding};
use kairos_clob_client::eth::U256;
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::orders::Version;
use kairos_clob_client::rounding::{AmountSide, OrderKind};
use kairos_domain::TradingState;
use kairos_domain::money::Collateral;
use kairos_quoter::clock::{Salts, ServerClock};
use kairos_quoter::diff::Action;
use kairos_quoter::engine::Engine;
use kairos_quoter::fixed::SIZE_UNITS;
use kairos_quoter::frame::Side;
use kairos_quoter::order::{OrderSigner, Token};
use kairos_quoter::outbox::{Outbox, RequestKind};
use kairos_quoter::pipeline::{Pipeline, PipelineError};
use kairos_quoter::risk::{RiskGate, RiskLimits};
use kairos_quoter::strategy::{Fair, SpreadQuoter, SpreadSettings};
use kairos_quoter::wire::{L2Auth, RequestWriter};

mod support;

use support::{API_KEY, ASSET, BOOK, KEY, PRICE_CHANGE, account, credentials};

fn pipeline(size: u64) -> Pipeline<SpreadQuoter> {
    support::pipeline_for("clob.polymarket.com", size, 42)
}

/// One HTTP request split into its line, headers and body.
struct Parsed {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Parsed {
    fn of(bytes: &[u8]) -> Parsed {
        let text = std::str::from_utf8(bytes).expect("ascii request");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let mut lines = head.split("\r\n");
        let line = lines.next().expect("request line").to_string();
        let headers =
            lines.map(|l| l.split_once(": ").map(|(n, v)| (n.to_string(), v.to_string())).expect("header")).collect();
        Parsed { line, headers, body: body.to_string() }
    }

    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}"))
    }

    /// The headers `clob-client` signs for this request's exact body.
    fn check_l2(&self) {
        let (method, path) = self.line.trim_end_matches(" HTTP/1.1").split_once(' ').expect("method and path");
        let ts: u64 = self.header("POLY_TIMESTAMP").parse().expect("timestamp");
        let address = Signer::from_hex(KEY).expect("key").address().to_checksum();
        let official = credentials().headers(&address, ts, method, path, Some(&self.body));
        for (name, value) in official.pairs() {
            assert_eq!(self.header(name), value, "{name} of {}", self.line);
        }
        assert_eq!(self.header("Content-Length"), self.body.len().to_string());
    }
}

/// `"key":value` or `"key":"value"` from one envelope.
fn number(envelope: &str, key: &str) -> u64 {
    let at = envelope.find(&format!("\"{key}\":")).expect(key) + key.len() + 3;
    envelope[at..]
        .trim_start_matches('"')
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect(key)
}

/// What `clob-client`'s builder sends for the order in `envelope` (same salt and timestamp).
fn official_envelope(envelope: &str, side: Side, price: &str, size: &str) -> (String, String) {
    let key = Signer::from_hex(KEY).expect("key");
    let official =
        build::Account { maker: key.address(), signer: key, signature_type: 0, chain_id: 137, api_key: API_KEY.into() };
    let args = OrderArgs {
        token_id: ASSET.parse().expect("token"),
        side: if side == Side::Buy { AmountSide::Buy } else { AmountSide::Sell },
        price: price.into(),
        size: size.into(),
        kind: OrderKind::Limit,
        tick: "0.01".into(),
        neg_risk: false,
        order_type: OrderType::Gtc,
        post_only: true,
        expiration_s: 0,
    };
    let built = build::build(
        &official,
        &args,
        Version::V2,
        Rounding::Exact,
        number(envelope, "salt"),
        number(envelope, "timestamp"),
    )
    .expect("built");
    (built.body, built.order_hash)
}

/// The envelopes of a `POST /orders` body, split at the top level.
fn envelopes(batch: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(batch).expect("json batch");
    let n = value.as_array().expect("array").len();
    // Re-split the original bytes (serde would reorder nothing, but the bytes are what count).
    let inner = &batch[1..batch.len() - 1];
    let parts: Vec<String> = inner
        .split(",{\"order\":")
        .enumerate()
        .map(|(i, p)| if i == 0 { p.to_string() } else { format!("{{\"order\":{p}") })
        .collect();
    assert_eq!(parts.len(), n);
    parts
}

#[test]
fn a_book_places_both_sides_as_the_official_client_would_sign_them() {
    let mut p = pipeline(10 * SIZE_UNITS);
    let out = p.on_frame(BOOK.trim_end(), 1).expect("book");
    assert_eq!(out.requests().len(), 1);
    let request = &out.requests()[0];
    assert_eq!(request.kind, RequestKind::Place);
    let parsed = Parsed::of(&out.bytes()[request.bytes.clone()]);
    assert_eq!(parsed.line, "POST /orders HTTP/1.1");
    parsed.check_l2();
    // Bids 0.01-0.40, asks 0.55-0.94: mid 0.475, so 0.46 and 0.49 (half-spread 0.01, on the grid).
    let legs = envelopes(&parsed.body);
    let expected = [(Side::Buy, "0.46"), (Side::Sell, "0.49")];
    for ((leg, (side, price)), placed) in legs.iter().zip(expected).zip(out.placed()) {
        let (body, hash) = official_envelope(leg, side, price, "10");
        assert_eq!(*leg, body, "{side:?} {price}");
        assert_eq!(format!("{}", placed.hash), hash);
        assert_eq!(out.hash_of(0, placed.id), Some(placed.hash));
    }
}

#[test]
fn a_change_cancels_by_hash_and_replaces_and_a_gap_cancels_everything() {
    let mut p = pipeline(10 * SIZE_UNITS);
    let first: Vec<_> = p.on_frame(BOOK.trim_end(), 1).expect("book").placed().to_vec();
    // The bid moves up to 0.41: the mid moves to 0.48, so the bid moves to 0.47 and the ask
    // stays at 0.49 (its ceiling on the grid): one cancel, one place.
    let out = p.on_frame(PRICE_CHANGE.trim_end(), 2).expect("change");
    let kinds: Vec<RequestKind> = out.requests().iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [RequestKind::Cancel, RequestKind::Place], "cancels go first");
    let cancel = Parsed::of(&out.bytes()[out.requests()[0].bytes.clone()]);
    assert_eq!(cancel.line, "DELETE /orders HTTP/1.1");
    cancel.check_l2();
    // The body `clob-client`'s cancel_orders sends for the old bid's id.
    assert_eq!(cancel.body, serde_json::to_string(&[format!("{}", first[0].hash)]).expect("json"));
    let place = Parsed::of(&out.bytes()[out.requests()[1].bytes.clone()]);
    assert_eq!(place.line, "POST /order HTTP/1.1");
    place.check_l2();
    assert_eq!(official_envelope(&place.body, Side::Buy, "0.47", "10").0, place.body);
    assert_eq!(out.hash_of(0, first[0].id), None, "a cancelled order is no longer tracked");
    assert_eq!(out.hash_of(0, first[1].id), Some(first[1].hash), "the ask rests on");
    let new_bid = out.placed()[0];

    let out = p.on_gap(3);
    assert_eq!(out.requests().len(), 1);
    let cancel = Parsed::of(out.bytes());
    cancel.check_l2();
    let both = [format!("{}", first[1].hash), format!("{}", new_bid.hash)];
    assert_eq!(cancel.body, serde_json::to_string(&both).expect("json"));
    assert!(p.engine().markets()[0].resting.is_empty());
    // Stale: the same change decides nothing until a snapshot.
    assert!(p.on_frame(PRICE_CHANGE.trim_end(), 4).expect("change").requests().is_empty());
}

#[test]
fn cancel_all_is_one_signed_request_and_leaves_nothing_resting() {
    let mut p = pipeline(10 * SIZE_UNITS);
    assert_eq!(p.on_frame(BOOK.trim_end(), 1).expect("book").placed().len(), 2);
    let out = p.cancel_all();
    assert_eq!(out.requests().len(), 1);
    assert_eq!(out.cancelled().len(), 2);
    let parsed = Parsed::of(out.bytes());
    assert_eq!(parsed.line, "DELETE /cancel-all HTTP/1.1");
    assert!(parsed.body.is_empty());
    assert_eq!(parsed.header("Content-Length"), "0");
    // The official headers of a body-less request.
    let ts: u64 = parsed.header("POLY_TIMESTAMP").parse().expect("timestamp");
    let address = Signer::from_hex(KEY).expect("key").address().to_checksum();
    let official = credentials().headers(&address, ts, "DELETE", "/cancel-all", None);
    assert_eq!(parsed.header("POLY_SIGNATURE"), official.pairs()[1].1);
    assert!(out.cancelled().iter().all(|o| out.hash_of(0, o.id).is_none()));
    assert!(p.engine().markets()[0].resting.is_empty());
    // The next snapshot quotes afresh.
    assert_eq!(p.on_frame(BOOK.trim_end(), 2).expect("book").placed().len(), 2);
}

#[test]
fn the_heartbeat_carries_the_last_id_signed_as_the_official_client_signs_it() {
    let mut p = pipeline(10 * SIZE_UNITS);
    for id in ["", "0b5ae8b6-7d8c-4c39-a3e6-1f3e2f3a9c11"] {
        p.outbox_mut().write_heartbeat(id);
        let parsed = Parsed::of(p.outbox().bytes());
        assert_eq!(parsed.line, "POST /v1/heartbeats HTTP/1.1");
        assert_eq!(parsed.body, format!("{{\"heartbeat_id\":\"{id}\"}}"));
        parsed.check_l2();
        assert!(p.outbox().placed().is_empty() && p.outbox().cancelled().is_empty());
    }
}

#[test]
fn fills_move_the_inventory_once_and_a_filled_order_no_longer_rests() {
    let mut p = pipeline(10 * SIZE_UNITS);
    let placed = p.on_frame(BOOK.trim_end(), 1).expect("book").placed().to_vec();
    let (bid, ask) = (placed[0], placed[1]);
    assert_eq!(p.on_order_matched(&bid.hash, 4 * SIZE_UNITS), 4 * SIZE_UNITS);
    assert_eq!(p.on_order_matched(&bid.hash, 4 * SIZE_UNITS), 0, "the same cumulative figure again moves nothing");
    assert_eq!(p.engine().markets()[0].inventory, 4 * SIZE_UNITS as i64);
    assert_eq!(p.engine().markets()[0].resting.len(), 2, "partly filled, still resting");
    assert_eq!(p.on_order_matched(&bid.hash, 10 * SIZE_UNITS), 6 * SIZE_UNITS);
    assert_eq!(p.engine().markets()[0].inventory, 10 * SIZE_UNITS as i64);
    assert!(p.engine().markets()[0].resting.iter().all(|r| r.id != bid.id), "filled: gone");
    assert_eq!(p.outbox().hash_of(0, bid.id), None);
    assert_eq!(p.on_order_matched(&bid.hash, 10 * SIZE_UNITS), 0, "no longer tracked");
    // A sell reduces it; more than the order's size counts as its size.
    assert_eq!(p.on_order_matched(&ask.hash, u64::MAX), 10 * SIZE_UNITS);
    assert_eq!(p.engine().markets()[0].inventory, 0);
}

#[test]
fn a_single_place_goes_alone_and_an_unbuildable_one_is_forgotten() {
    let mut p = pipeline(10 * SIZE_UNITS);
    // At the long limit only the ask is quoted: one order, `POST /order` with a bare envelope.
    p.engine_mut().markets_mut()[0].inventory = 1_000 * SIZE_UNITS as i64;
    let out = p.on_frame(BOOK.trim_end(), 1).expect("book");
    let parsed = Parsed::of(out.bytes());
    assert_eq!(parsed.line, "POST /order HTTP/1.1");
    parsed.check_l2();
    assert_eq!(official_envelope(&parsed.body, Side::Sell, "0.49", "10").0, parsed.body);

    // Half a lot: the engine decides places, the outbox cannot build them, nothing is sent
    // and nothing is believed resting.
    let mut p = pipeline(10 * SIZE_UNITS + 5_000);
    let out = p.on_frame(BOOK.trim_end(), 1).expect("book");
    assert!(out.requests().is_empty());
    assert_eq!(out.refused().len(), 2);
    assert!(p.engine().markets()[0].resting.is_empty());
    assert!(p.engine().actions().iter().all(|a| matches!(a.action, Action::Place(_))));
}

#[test]
fn the_outbox_must_quote_the_engine_s_assets() {
    let account = account();
    let signer = OrderSigner::new(&account).expect("signer");
    let writer = RequestWriter::new("h", L2Auth::new(&credentials(), account.key.address()));
    let other = Token::new(U256::from(7u64), false, Version::V2);
    let outbox = Outbox::new(signer, writer, vec![other], ServerClock::default(), Salts::from_seed(1));
    let strategy = SpreadQuoter::new(SpreadSettings {
        fair: Fair::Mid,
        half_spread: 100,
        size: SIZE_UNITS,
        skew_per_share_micros: 0,
        max_inventory: 1,
    });
    let limits =
        RiskLimits { max_position: 1, max_notional: Collateral::from_micros(0), price_band: 1, max_orders_per_s: 1 };
    let engine = Engine::new(&[(ASSET, 100)], strategy, RiskGate::new(limits, TradingState::Enabled));
    assert!(matches!(Pipeline::new(engine, outbox), Err(PipelineError::TokenMismatch { index: 0, .. })));
}
