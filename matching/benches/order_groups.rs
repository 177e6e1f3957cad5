//! The cost of market-maker protection per fill: a taker sweeps 200 resting asks of one maker,
//! once with the asks outside any group and once with all of them in one order group (limits
//! high enough that it never trips, so every fill is counted and checked). The difference per
//! fill is what a group check costs; the plain sweep in the same run is the reference.
//!
//! `cargo bench -p kairos-matching --bench order_groups`

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kairos_domain::order_group::{GroupLimits, GroupWindow, OrderGroup};
use kairos_domain::{Collateral, Order, OrderStatus, OrderType, Price, Side, Size, Stp, TimeInForce, Venue};
use kairos_matching::exchange::{Batch, Exchange, Limits, MarketRules};
use kairos_matching::settlement::Fees;

const MAKERS: usize = 200;

fn order(id: String, user: &str, side: Side, price: i64, size: i64, group: Option<&str>) -> Order {
    Order {
        id: id.clone(),
        user_id: user.into(),
        client_order_id: id,
        request_hash: String::new(),
        market_id: "m".into(),
        outcome: 0,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        stp: Stp::CancelNewest,
        price: Price::from_micros(price),
        size: Size::from_micros(size),
        filled: Size::ZERO,
        reserved_micros: 0,
        fees: Collateral::ZERO,
        status: OrderStatus::Pending,
        reason: None,
        venue: Venue::Paper,
        venue_order_id: None,
        order_group_id: group.map(str::to_string),
        expires_at_us: None,
        priority: 0,
        created_at_us: 0,
        updated_at_us: 0,
    }
}

/// An exchange with `MAKERS` one-share asks (in a group or not) and a batch funded for the sweep.
fn book(grouped: bool) -> (Exchange, Batch) {
    let mut ex = Exchange::new(Fees::default(), Limits::default(), 0);
    ex.add_market(MarketRules::new("m", Price::from_micros(1_000), 2).expect("rules"));
    let limits = GroupLimits {
        interval_ms: 1_000,
        max_filled_size: Size::from_micros(i64::MAX / 4),
        max_filled_notional: Collateral::from_micros(i64::MAX / 4),
        max_delta: Some(Size::from_micros(i64::MAX / 4)),
    };
    let group = OrderGroup::new("g", "mm", "user:mm", limits, 1_000, 0);
    ex.put_group(group, GroupWindow::default());
    let mut b = Batch::new(1);
    b.balances.insert(("mm".into(), "shares:m:0".into()), i64::MAX / 4);
    b.balances.insert(("t".into(), "USDC".into()), i64::MAX / 4);
    for i in 0..MAKERS {
        let price = 500_000 + (i as i64 % 50) * 1_000;
        let o = order(format!("a{i}"), "mm", Side::Sell, price, 1_000_000, grouped.then_some("g"));
        ex.place(o, &mut b).expect("ask");
    }
    let mut sweep = Batch::new(2);
    sweep.balances = b.balances;
    (ex, sweep)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweep_200_fills");
    g.throughput(Throughput::Elements(MAKERS as u64));
    for (name, grouped) in [("no_group", false), ("in_group", true)] {
        g.bench_function(name, |bench| {
            bench.iter_batched(
                || book(grouped),
                |(mut ex, mut b)| {
                    let taker = order("t".into(), "t", Side::Buy, 600_000, MAKERS as i64 * 1_000_000, None);
                    let placed = ex.place(taker, &mut b).expect("sweep");
                    assert_eq!(placed.filled.micros(), MAKERS as i64 * 1_000_000);
                    (ex, b)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
