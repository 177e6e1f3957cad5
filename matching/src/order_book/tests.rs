use proptest::prelude::*;

use super::*;

const T: u32 = 100;

fn order(id: OrderId, owner: OwnerId, side: Side, price: u32, size: i64) -> NewOrder {
    NewOrder {
        id,
        owner,
        side,
        price_ticks: price,
        size,
        tif: TimeInForce::Gtc,
        post_only: false,
        stp: Stp::CancelNewest,
    }
}

fn submit(book: &mut OrderBook, o: NewOrder) -> Vec<Event> {
    let mut events = Vec::new();
    book.submit(o, 0, &mut events);
    events
}

fn fills(events: &[Event]) -> Vec<(OrderId, u32, i64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Fill { maker, price_ticks, size, .. } => Some((*maker, *price_ticks, *size)),
            _ => None,
        })
        .collect()
}

#[test]
fn crosses_at_the_makers_price_and_leaves_the_rest() {
    let mut b = OrderBook::new(T);
    assert_eq!(
        submit(&mut b, order(1, 1, Side::Sell, 50, 10)),
        vec![Event::Rested { id: 1, price_ticks: 50, remaining: 10 }]
    );
    let e = submit(&mut b, order(2, 2, Side::Buy, 55, 4));
    assert_eq!(fills(&e), vec![(1, 50, 4)]);
    assert_eq!(b.best_ask(), Some((50, 6)));
    assert_eq!(b.best_bid(), None);
}

#[test]
fn price_then_time_priority() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 1, Side::Sell, 51, 5));
    submit(&mut b, order(2, 2, Side::Sell, 50, 5));
    submit(&mut b, order(3, 3, Side::Sell, 50, 5));
    let e = submit(&mut b, order(4, 4, Side::Buy, 52, 12));
    assert_eq!(fills(&e), vec![(2, 50, 5), (3, 50, 5), (1, 51, 2)]);
    assert_eq!(b.best_ask(), Some((51, 3)));
}

#[test]
fn a_sweep_rests_its_rest_at_its_limit() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 1, Side::Buy, 40, 5));
    let e = submit(&mut b, order(2, 2, Side::Sell, 38, 8));
    assert_eq!(fills(&e), vec![(1, 40, 5)]);
    assert_eq!(e.last(), Some(&Event::Rested { id: 2, price_ticks: 38, remaining: 3 }));
    assert_eq!(b.best_ask(), Some((38, 3)));
    assert_eq!(b.best_bid(), None);
}

#[test]
fn ioc_cancels_the_unfilled_rest_and_fok_is_all_or_nothing() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 1, Side::Sell, 50, 5));
    let mut ioc = order(2, 2, Side::Buy, 60, 8);
    ioc.tif = TimeInForce::Ioc;
    let e = submit(&mut b, ioc);
    assert_eq!(fills(&e), vec![(1, 50, 5)]);
    assert_eq!(e.last(), Some(&Event::Cancelled { id: 2, remaining: 3, reason: CancelReason::Unfilled }));
    assert_eq!(b.open_orders(), 0);

    submit(&mut b, order(3, 1, Side::Sell, 50, 5));
    let mut fok = order(4, 2, Side::Buy, 60, 6);
    fok.tif = TimeInForce::Fok;
    assert_eq!(submit(&mut b, fok), vec![Event::Rejected { id: 4, reason: RejectReason::FokUnfillable }]);
    assert_eq!(b.best_ask(), Some((50, 5)), "a refused FOK leaves the book alone");
    fok.size = 5;
    assert_eq!(fills(&submit(&mut b, fok)), vec![(3, 50, 5)]);
}

#[test]
fn post_only_never_takes() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 1, Side::Sell, 50, 5));
    let mut po = order(2, 2, Side::Buy, 50, 5);
    po.post_only = true;
    assert_eq!(submit(&mut b, po), vec![Event::Rejected { id: 2, reason: RejectReason::PostOnlyWouldCross }]);
    po.price_ticks = 49;
    assert_eq!(submit(&mut b, po), vec![Event::Rested { id: 2, price_ticks: 49, remaining: 5 }]);
}

#[test]
fn self_trade_prevention_modes() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 7, Side::Sell, 50, 5));
    submit(&mut b, order(2, 8, Side::Sell, 51, 5));
    let newest = order(3, 7, Side::Buy, 55, 5);
    assert_eq!(submit(&mut b, newest), vec![Event::Cancelled { id: 3, remaining: 5, reason: CancelReason::SelfTrade }]);
    assert_eq!(b.best_ask(), Some((50, 5)), "cancel_newest keeps the resting order");

    let mut oldest = order(4, 7, Side::Buy, 55, 5);
    oldest.stp = Stp::CancelOldest;
    let e = submit(&mut b, oldest);
    assert_eq!(e[0], Event::Cancelled { id: 1, remaining: 5, reason: CancelReason::SelfTrade });
    assert_eq!(fills(&e), vec![(2, 51, 5)], "then it trades with others");

    submit(&mut b, order(5, 7, Side::Sell, 60, 5));
    let mut both = order(6, 7, Side::Buy, 60, 5);
    both.stp = Stp::CancelBoth;
    let e = submit(&mut b, both);
    assert_eq!(
        e,
        vec![
            Event::Cancelled { id: 5, remaining: 5, reason: CancelReason::SelfTrade },
            Event::Cancelled { id: 6, remaining: 5, reason: CancelReason::SelfTrade },
        ]
    );
    assert_eq!(b.open_orders(), 0);
}

#[test]
fn cancel_and_reduce() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 1, Side::Buy, 40, 5));
    submit(&mut b, order(2, 2, Side::Buy, 40, 5));
    submit(&mut b, order(3, 3, Side::Buy, 39, 5));
    assert!(b.reduce(1, 2), "a size decrease keeps priority");
    assert!(!b.reduce(1, 3), "an increase is a new order");
    let e = submit(&mut b, order(4, 4, Side::Sell, 40, 3));
    assert_eq!(fills(&e), vec![(1, 40, 2), (2, 40, 1)]);
    let mut events = Vec::new();
    assert!(b.cancel(2, &mut events));
    assert!(!b.cancel(2, &mut events));
    assert_eq!(events, vec![Event::Cancelled { id: 2, remaining: 4, reason: CancelReason::Requested }]);
    assert_eq!(b.best_bid(), Some((39, 5)), "the best bid moves down when its level empties");
}

#[test]
fn gtd_orders_expire() {
    let mut b = OrderBook::new(T);
    let mut gtd = order(1, 1, Side::Buy, 40, 5);
    gtd.tif = TimeInForce::Gtd { expires_at_us: 100 };
    let mut events = Vec::new();
    b.submit(gtd, 200, &mut events);
    assert_eq!(events, vec![Event::Rejected { id: 1, reason: RejectReason::Expired }]);
    events.clear();
    b.submit(gtd, 50, &mut events);
    events.clear();
    b.expire(99, &mut events);
    assert!(events.is_empty());
    b.expire(100, &mut events);
    assert_eq!(events, vec![Event::Cancelled { id: 1, remaining: 5, reason: CancelReason::Expired }]);
    assert_eq!(b.best_bid(), None);
}

#[test]
fn an_expired_gtd_maker_never_trades() {
    let mut b = OrderBook::new(T);
    let mut gtd = order(1, 1, Side::Sell, 50, 5);
    gtd.tif = TimeInForce::Gtd { expires_at_us: 100 };
    let mut events = Vec::new();
    b.submit(gtd, 0, &mut events);
    submit(&mut b, order(3, 3, Side::Sell, 51, 5));
    events.clear();
    b.submit(order(2, 2, Side::Buy, 55, 5), 150, &mut events);
    assert_eq!(events[0], Event::Cancelled { id: 1, remaining: 5, reason: CancelReason::Expired });
    assert_eq!(fills(&events), vec![(3, 51, 5)]);
}

#[test]
fn cancels_at_the_front_free_their_slots() {
    let mut b = OrderBook::new(T);
    submit(&mut b, order(1, 1, Side::Buy, 40, 5));
    for id in 2..1_000 {
        submit(&mut b, order(id, 2, Side::Buy, 40, 5));
        let mut events = Vec::new();
        b.cancel(id, &mut events);
    }
    assert!(
        b.bids[40].queue.len() <= 1 + COMPACT_AFTER,
        "place-and-cancel behind a resting order leaves bounded garbage"
    );
    assert!(b.slots.len() <= 2 + COMPACT_AFTER, "slots are reused");
}

#[test]
fn complementary_orders_meet_in_one_book() {
    let mut b = OrderBook::new(T);
    // Buy YES at 0.60 rests; buy NO at 0.40 is a sell of YES at 0.60 and matches it.
    submit(&mut b, order(1, 1, Side::Buy, 60, 10));
    let (side, price) = to_book_terms(1, Side::Buy, 40, T);
    assert_eq!((side, price), (Side::Sell, 60));
    let e = submit(&mut b, order(2, 2, side, price, 10));
    assert_eq!(fills(&e), vec![(1, 60, 10)]);
    assert_eq!(to_book_terms(0, Side::Sell, 30, T), (Side::Sell, 30));
    assert_eq!(to_book_terms(1, Side::Sell, 30, T), (Side::Buy, 70));
}

#[test]
fn refuses_bad_orders() {
    let mut b = OrderBook::new(T);
    assert_eq!(
        submit(&mut b, order(1, 1, Side::Buy, 0, 5)),
        vec![Event::Rejected { id: 1, reason: RejectReason::InvalidPrice }]
    );
    assert_eq!(
        submit(&mut b, order(1, 1, Side::Buy, 100, 5)),
        vec![Event::Rejected { id: 1, reason: RejectReason::InvalidPrice }]
    );
    assert_eq!(
        submit(&mut b, order(1, 1, Side::Buy, 50, 0)),
        vec![Event::Rejected { id: 1, reason: RejectReason::InvalidSize }]
    );
    submit(&mut b, order(1, 1, Side::Buy, 50, 5));
    assert_eq!(
        submit(&mut b, order(1, 1, Side::Buy, 50, 5)),
        vec![Event::Rejected { id: 1, reason: RejectReason::DuplicateId }]
    );
}

#[derive(Debug, Clone)]
enum Op {
    Submit { owner: u64, buy: bool, price: u32, size: i64, tif: u8, post_only: bool, stp: u8 },
    Cancel(u64),
    Reduce(u64, i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u64..4, any::<bool>(), 1u32..20, 1i64..50, 0u8..3, any::<bool>(), 0u8..3).prop_map(
            |(owner, buy, price, size, tif, post_only, stp)| Op::Submit { owner, buy, price, size, tif, post_only, stp }
        ),
        2 => (1u64..60).prop_map(Op::Cancel),
        1 => (1u64..60, 1i64..50).prop_map(|(id, n)| Op::Reduce(id, n)),
    ]
}

proptest! {
    /// After any sequence: the book never stays crossed, level volumes equal their live
    /// orders, and every submitted share is accounted for (filled, resting, cancelled or
    /// rejected), so matching neither loses nor invents size.
    #[test]
    fn the_book_keeps_its_invariants(ops in proptest::collection::vec(op(), 1..200)) {
        let mut b = OrderBook::new(20);
        let mut submitted: HashMap<OrderId, i64> = HashMap::new();
        let mut accounted: HashMap<OrderId, i64> = HashMap::new();
        let mut reduced: HashMap<OrderId, i64> = HashMap::new();
        let mut next_id = 1;
        for op in ops {
            let mut events = Vec::new();
            match op {
                Op::Submit { owner, buy, price, size, tif, post_only, stp } => {
                    let id = next_id;
                    next_id += 1;
                    let tif = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok][tif as usize];
                    let stp = [Stp::CancelNewest, Stp::CancelOldest, Stp::CancelBoth][stp as usize];
                    let side = if buy { Side::Buy } else { Side::Sell };
                    submitted.insert(id, size);
                    b.submit(NewOrder { id, owner, side, price_ticks: price, size, tif, post_only, stp }, 0, &mut events);
                    if let Some(Event::Rejected { id, .. }) = events.first() {
                        *accounted.entry(*id).or_default() += size;
                    }
                }
                Op::Cancel(id) => { b.cancel(id, &mut events); }
                Op::Reduce(id, n) => {
                    if let Some(&(_, slot)) = b.index.get(&id) {
                        let before = b.slots[slot as usize].remaining;
                        if b.reduce(id, n) {
                            *reduced.entry(id).or_default() += before - n;
                        }
                    }
                }
            }
            for e in &events {
                match e {
                    Event::Fill { taker, maker, size, .. } => {
                        *accounted.entry(*taker).or_default() += size;
                        *accounted.entry(*maker).or_default() += size;
                    }
                    Event::Cancelled { id, remaining, .. } => *accounted.entry(*id).or_default() += remaining,
                    _ => {}
                }
            }
            if let (Some((bid, _)), Some((ask, _))) = (b.best_bid(), b.best_ask()) {
                prop_assert!(bid < ask, "crossed book: bid {} ask {}", bid, ask);
            }
            for (levels, side) in [(&b.bids, Side::Buy), (&b.asks, Side::Sell)] {
                for (p, level) in levels.iter().enumerate() {
                    let live: i64 = b.index.values().filter(|(s, i)| *s == side && b.slots[*i as usize].price as usize == p)
                        .map(|(_, i)| b.slots[*i as usize].remaining).sum();
                    prop_assert_eq!(level.volume, live);
                }
            }
        }
        for (id, size) in submitted {
            let resting = b.index.get(&id).map_or(0, |&(_, i)| b.slots[i as usize].remaining);
            let done = accounted.get(&id).copied().unwrap_or(0) + resting + reduced.get(&id).copied().unwrap_or(0);
            prop_assert_eq!(done, size, "order {} is not accounted for", id);
        }
    }
}
