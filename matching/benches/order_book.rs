//! Matching-engine throughput: a stream of limit, IOC and cancel messages around the mid on
//! one book, as the paper venue would feed it. Target: at least 1,000,000 orders per second.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kairos_matching::order_book::{NewOrder, OrderBook, Side, Stp, TimeInForce};

enum Msg {
    Order(NewOrder),
    Cancel(u64),
}

/// A deterministic mix: 75% resting limits, 20% IOC takers, 5% cancels of recent orders.
fn stream(n: usize) -> Vec<Msg> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let r = next();
            let id = i as u64 + 1;
            if r % 100 < 5 && id > 10 {
                return Msg::Cancel(id - 1 - (next() % 10));
            }
            let buy = r & 1 == 0;
            let offset = (next() % 10) as u32;
            let ioc = r % 100 >= 80;
            let price = match (buy, ioc) {
                (true, false) => 49 - offset.min(40),
                (false, false) => 51 + offset.min(40),
                (true, true) => 55,
                (false, true) => 45,
            };
            Msg::Order(NewOrder {
                id,
                owner: next() % 50,
                side: if buy { Side::Buy } else { Side::Sell },
                price_ticks: price,
                size: 1_000_000 * (1 + (next() % 100) as i64),
                tif: if ioc { TimeInForce::Ioc } else { TimeInForce::Gtc },
                post_only: false,
                stp: Stp::CancelOldest,
            })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    const N: usize = 100_000;
    let msgs = stream(N);
    let mut group = c.benchmark_group("order_book");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("submit_and_cancel_100k", |b| {
        b.iter_batched(
            || (OrderBook::new(100), Vec::with_capacity(64)),
            |(mut book, mut events)| {
                for m in &msgs {
                    events.clear();
                    match m {
                        Msg::Order(o) => book.submit(*o, 0, &mut events),
                        Msg::Cancel(id) => {
                            book.cancel(*id, &mut events);
                        }
                    }
                }
                book
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
