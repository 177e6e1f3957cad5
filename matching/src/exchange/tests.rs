use std::collections::HashMap;

use kairos_domain::ledger::{COLLATERAL, Transfer};
use kairos_domain::{Order, OrderStatus, OrderType, Side, Stp, TimeInForce, Venue};

use super::*;

const P: fn(i64) -> Price = Price::from_micros;
const S: fn(i64) -> Size = Size::from_micros;
const C: fn(i64) -> Collateral = Collateral::from_micros;

const M: &str = "m1";

fn exchange(fees: Fees, limits: Limits) -> Exchange {
    let mut ex = Exchange::new(fees, limits, 0);
    ex.add_market(MarketRules::new(M, P(10_000), 2).expect("rules"));
    ex
}

fn order(id: &str, user: &str, outcome: u32, side: Side, price: i64, size: i64) -> Order {
    Order {
        id: id.into(),
        user_id: user.into(),
        client_order_id: id.into(),
        request_hash: format!("h-{id}"),
        market_id: M.into(),
        outcome,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        stp: Stp::CancelNewest,
        price: P(price),
        size: S(size),
        filled: S(0),
        reserved_micros: 0,
        fees: C(0),
        status: OrderStatus::Pending,
        reason: None,
        venue: Venue::Paper,
        venue_order_id: None,
        order_group_id: None,
        expires_at_us: None,
        priority: 0,
        created_at_us: 0,
        updated_at_us: 0,
    }
}

fn funded(users: &[(&str, i64)]) -> Batch {
    let mut b = Batch::new(1);
    for (u, amount) in users {
        b.balances.insert((u.to_string(), COLLATERAL.into()), *amount);
    }
    b
}

/// Sums every transfer per (account, asset): what the batch does to balances.
fn net(transfers: &[Transfer]) -> HashMap<(String, String), i64> {
    let mut out = HashMap::new();
    for t in transfers {
        assert_eq!(t.postings.iter().map(|p| p.amount_micros).sum::<i64>(), 0, "{t:?}");
        for p in &t.postings {
            *out.entry((p.account.to_string(), t.asset.clone())).or_insert(0) += p.amount_micros;
        }
    }
    out.retain(|_, v| *v != 0);
    out
}

#[test]
fn complementary_buys_mint_and_each_pays_its_own_price() {
    let mut ex = exchange(Fees { maker_bps: 0, taker_bps: 100 }, Limits::default());
    let mut b = funded(&[("a", 10_000_000), ("b", 10_000_000)]);
    let yes = ex.place(order("o1", "a", 0, Side::Buy, 400_000, 5_000_000), &mut b).expect("yes");
    assert_eq!((yes.status, yes.reserved_micros), (OrderStatus::Open, 2_000_000 + 20_000));
    let no = ex.place(order("o2", "b", 1, Side::Buy, 600_000, 5_000_000), &mut b).expect("no");
    assert_eq!(no.status, OrderStatus::Filled);
    assert_eq!((no.filled, no.fees, no.reserved_micros), (S(5_000_000), C(30_000), 0));
    let n = net(&b.transfers);
    assert_eq!(n[&("user:a:available".into(), "shares:m1:0".into())], 5_000_000);
    assert_eq!(n[&("user:b:available".into(), "shares:m1:1".into())], 5_000_000);
    assert_eq!(n[&("market:m1:escrow".into(), COLLATERAL.into())], 5_000_000);
    assert_eq!(n[&("user:b:available".into(), COLLATERAL.into())], -3_030_000);
    assert_eq!(n[&("system:fees".into(), COLLATERAL.into())], 30_000);
    // The maker's order is filled too; nothing is left reserved anywhere.
    assert!(n.keys().all(|(a, _)| !a.ends_with(":reserved")), "{n:?}");
    assert_eq!(b.fills.len(), 2);
    assert_eq!(b.trades[0].price, P(400_000), "trades print in outcome 0's terms");
    assert_eq!(ex.live_orders().count(), 0);
}

#[test]
fn a_buy_needs_its_collateral_and_a_sell_its_shares() {
    let mut ex = exchange(Fees::default(), Limits::default());
    let mut b = funded(&[("a", 1_000_000)]);
    let refused = ex.place(order("o1", "a", 0, Side::Buy, 500_000, 3_000_000), &mut b).expect_err("too big");
    assert_eq!(refused.code().as_str(), "insufficient_balance");
    let refused = ex.place(order("o2", "a", 0, Side::Sell, 500_000, 1_000_000), &mut b).expect_err("no shares");
    assert_eq!(refused.code().as_str(), "insufficient_balance");
    assert!(b.transfers.is_empty() && b.changed.is_empty(), "a refusal writes nothing");
}

#[test]
fn a_client_order_id_replays_or_conflicts() {
    let mut ex = exchange(Fees::default(), Limits::default());
    let mut b = funded(&[("a", 10_000_000)]);
    let first = ex.place(order("o1", "a", 0, Side::Buy, 500_000, 1_000_000), &mut b).expect("placed");
    let mut again = order("o9", "a", 0, Side::Buy, 500_000, 1_000_000);
    again.client_order_id = "o1".into();
    again.request_hash = first.request_hash.clone();
    assert_eq!(ex.place(again.clone(), &mut b).expect("replay").id, "o1");
    again.request_hash = "other".into();
    assert_eq!(ex.place(again, &mut b).expect_err("reuse").code(), "client_order_id_reused");
    assert_eq!(ex.live_orders().count(), 1);
}

#[test]
fn cancelling_releases_what_the_order_held() {
    let mut ex = exchange(Fees { maker_bps: 10, taker_bps: 20 }, Limits::default());
    let mut b = funded(&[("a", 10_000_000)]);
    ex.place(order("o1", "a", 0, Side::Buy, 500_000, 2_000_000), &mut b).expect("placed");
    let cancelled = ex.cancel("a", "o1", &mut b).expect("cancelled");
    assert_eq!((cancelled.status, cancelled.reserved_micros), (OrderStatus::Cancelled, 0));
    assert!(net(&b.transfers).is_empty(), "reserve and release cancel out");
    assert_eq!(ex.cancel("a", "o1", &mut b).expect_err("gone").code(), "order_not_found");
    assert_eq!(ex.cancel("someone-else", "o1", &mut b).expect_err("not theirs").code(), "order_not_found");
}

#[test]
fn post_only_crossing_is_recorded_as_rejected_without_moving_money() {
    let mut ex = exchange(Fees::default(), Limits::default());
    let mut b = funded(&[("a", 10_000_000), ("b", 10_000_000)]);
    ex.place(order("o1", "a", 0, Side::Buy, 500_000, 1_000_000), &mut b).expect("bid");
    let before = b.transfers.len();
    let mut crossing = order("o2", "b", 1, Side::Buy, 500_000, 1_000_000);
    crossing.post_only = true;
    let rejected = ex.place(crossing, &mut b).expect("recorded");
    assert_eq!((rejected.status, rejected.reason.as_deref()), (OrderStatus::Rejected, Some("post_only_would_cross")));
    assert_eq!(b.transfers.len(), before);
    assert_eq!(b.balance("b", COLLATERAL), 10_000_000);
}

#[test]
fn amending_down_keeps_priority_and_anything_else_loses_it() {
    let mut ex = exchange(Fees::default(), Limits::default());
    let mut b = funded(&[("a", 10_000_000), ("b", 10_000_000), ("c", 10_000_000)]);
    ex.place(order("o1", "a", 0, Side::Buy, 500_000, 2_000_000), &mut b).expect("first");
    ex.place(order("o2", "b", 0, Side::Buy, 500_000, 2_000_000), &mut b).expect("second");
    let reduced = ex.amend("a", "o1", None, Some(S(1_000_000)), &mut b).expect("reduce");
    assert_eq!(reduced.reserved_micros, 500_000);
    // A seller takes 1 share: it meets o1 first, which kept its place.
    ex.place(order("o3", "c", 1, Side::Buy, 500_000, 1_000_000), &mut b).expect("taker");
    assert_eq!(ex.current("o1", &b).map(|o| o.status), Some(OrderStatus::Filled));
    // o2 re-prices and so goes behind nobody but gets a new priority.
    let before = ex.live_order("o2").map(|o| o.priority);
    let moved = ex.amend("b", "o2", Some(P(510_000)), None, &mut b).expect("reprice");
    assert!(Some(moved.priority) > before);
    assert_eq!(moved.reserved_micros, 1_020_000);
    assert_eq!(ex.amend("b", "o2", None, Some(S(0)), &mut b).expect_err("too small").code(), "size_below_filled");
}

#[test]
fn limits_refuse_with_their_own_codes() {
    let limits = Limits { max_open_orders: 1, price_band: P(100_000), max_market_exposure: C(600_000) };
    let mut ex = exchange(Fees::default(), limits);
    let mut b = funded(&[("a", 10_000_000), ("b", 10_000_000), ("c", 10_000_000)]);
    assert_eq!(
        ex.place(order("o0", "a", 0, Side::Buy, 500_000, 2_000_000), &mut b).expect_err("exposure").code(),
        "exposure_limit"
    );
    ex.place(order("o1", "a", 0, Side::Buy, 500_000, 1_000_000), &mut b).expect("within limits");
    assert_eq!(
        ex.place(order("o2", "a", 0, Side::Buy, 400_000, 1_000_000), &mut b).expect_err("open orders").code(),
        "too_many_open_orders"
    );
    ex.place(order("o3", "b", 1, Side::Buy, 400_000, 1_000_000), &mut b).expect("ask at 0.6 (mid 0.55)");
    assert_eq!(
        ex.place(order("o4", "c", 0, Side::Sell, 900_000, 1_000_000), &mut b).expect_err("band").code(),
        "price_outside_band"
    );
}

#[test]
fn an_amend_passes_the_limits_a_new_order_would() {
    // The review's case: 20 units of exposure; 10 @ 0.50 fits, amending it to 1000 must not.
    let limits = Limits { max_open_orders: 2, price_band: P(100_000), max_market_exposure: C(20_000_000) };
    let mut ex = exchange(Fees::default(), limits);
    let mut b = funded(&[("a", 1_000_000_000), ("b", 1_000_000_000)]);
    ex.place(order("o1", "a", 0, Side::Buy, 500_000, 10_000_000), &mut b).expect("within limits");
    let bigger = ex.amend("a", "o1", None, Some(S(1_000_000_000)), &mut b).expect_err("exposure");
    assert_eq!(bigger.code().as_str(), "exposure_limit");
    let o1 = ex.live_order("o1").expect("still live").clone();
    assert_eq!((o1.size, o1.reserved_micros), (S(10_000_000), 5_000_000), "a refused amend changes nothing");
    // Up to the limit is fine: its own reservation is replaced, not counted twice.
    ex.amend("a", "o1", None, Some(S(40_000_000)), &mut b).expect("exactly the limit");
    ex.amend("a", "o1", None, Some(S(10_000_000)), &mut b).expect("a size decrease");
    // The band: a reference from b's ask at 0.55 (mid 0.525); o1 may not move to 0.30.
    ex.place(order("o2", "b", 1, Side::Buy, 450_000, 1_000_000), &mut b).expect("ask 0.55");
    let far = ex.amend("a", "o1", Some(P(300_000)), None, &mut b).expect_err("band");
    assert_eq!(far.code().as_str(), "price_outside_band");
    ex.amend("a", "o1", Some(P(480_000)), None, &mut b).expect("inside the band");
    // Open orders: an amend is not a new order.
    ex.place(order("o3", "a", 0, Side::Buy, 470_000, 1_000_000), &mut b).expect("second open order");
    ex.amend("a", "o3", Some(P(460_000)), None, &mut b).expect("the count does not grow on amend");
    assert_eq!(
        ex.place(order("o4", "a", 0, Side::Buy, 460_000, 1_000_000), &mut b).expect_err("open orders").code(),
        "too_many_open_orders"
    );
}

#[test]
fn restored_books_equal_the_books_they_were_built_from() {
    let mut ex = exchange(Fees::default(), Limits::default());
    let mut b = funded(&[("a", 100_000_000), ("b", 100_000_000)]);
    for (i, p) in [400_000i64, 410_000, 400_000, 390_000].iter().enumerate() {
        ex.place(order(&format!("a{i}"), "a", 0, Side::Buy, *p, 1_000_000), &mut b).expect("bid");
        ex.place(order(&format!("b{i}"), "b", 1, Side::Buy, 1_000_000 - p - 100_000, 2_000_000), &mut b).expect("ask");
    }
    ex.place(order("t", "b", 1, Side::Buy, 600_000, 1_500_000), &mut b).expect("taker");
    let mut live: Vec<Order> = ex.live_orders().cloned().collect();
    live.sort_by_key(|o| o.priority);
    let mut rebuilt = exchange(Fees::default(), Limits::default());
    for o in live {
        rebuilt.restore(o).expect("a stored order enters its book");
    }
    assert_eq!(rebuilt.depth(M, 0, 100), ex.depth(M, 0, 100));
    // Time priority survived: the next seller at 0.40 meets the older of the two 0.40 bids.
    let mut b2 = funded(&[("c", 10_000_000)]);
    rebuilt.place(order("c1", "c", 1, Side::Buy, 600_000, 1_000_000), &mut b2).expect("taker");
    let mut b3 = funded(&[("c", 10_000_000)]);
    ex.place(order("c1", "c", 1, Side::Buy, 600_000, 1_000_000), &mut b3).expect("taker");
    let makers = |b: &Batch| {
        b.fills
            .iter()
            .filter(|f| f.liquidity == kairos_domain::Liquidity::Maker)
            .map(|f| f.order_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(makers(&b2), makers(&b3));
}

#[test]
fn gtd_orders_expire_and_give_their_reservation_back() {
    let mut ex = exchange(Fees::default(), Limits::default());
    let mut b = funded(&[("a", 10_000_000)]);
    let mut gtd = order("g1", "a", 0, Side::Buy, 500_000, 2_000_000);
    gtd.time_in_force = TimeInForce::Gtd;
    gtd.expires_at_us = Some(1_000);
    ex.place(gtd, &mut b).expect("rests");
    ex.place(order("o2", "a", 0, Side::Buy, 400_000, 1_000_000), &mut b).expect("gtc");
    assert!(ex.has_expiring());
    let mut later = Batch::new(1_000);
    ex.expire(&mut later);
    let expired = later.finished.get("g1").expect("expired");
    assert_eq!((expired.status, expired.reserved_micros), (OrderStatus::Expired, 0));
    assert_eq!(net(&later.transfers).get(&("user:a:available".to_string(), COLLATERAL.to_string())), Some(&1_000_000));
    assert!(!ex.has_expiring(), "only the GTC order is left");
    assert_eq!(ex.live_orders().count(), 1);
}

#[test]
fn rules_refuse_ticks_the_books_cannot_index() {
    assert!(MarketRules::new(M, P(10_000), 2).is_ok());
    assert!(MarketRules::new(M, P(0), 2).is_err(), "no tick");
    assert!(MarketRules::new(M, P(300_000), 2).is_err(), "does not divide one unit");
    assert!(MarketRules::new(M, P(10_000), 1).is_err(), "one outcome");
}

#[test]
fn prices_off_the_grid_are_refused_before_anything_moves() {
    let mut ex = exchange(Fees::default(), Limits::default());
    for price in [455_000, 0, 1_000_000, 1_010_000, -10_000] {
        let mut b = funded(&[("a", 100_000_000)]);
        let placed = ex.place(order(&format!("o{price}"), "a", 0, Side::Buy, price, 1_000_000), &mut b);
        assert_eq!(placed, Err(Refusal::PriceOffGrid), "{price}");
        assert!(b.transfers.is_empty() && b.changed.is_empty(), "{price}: nothing reserved or recorded");
    }
}

mod order_groups {
    use kairos_domain::order_group::{GroupLimits, GroupWindow, OrderGroup};

    use super::*;

    const GROUP: &str = "g1";

    fn group(user: &str, id: &str, max_size: i64) -> OrderGroup {
        let limits = GroupLimits {
            interval_ms: 1_000,
            max_filled_size: S(max_size),
            max_filled_notional: C(1_000_000_000_000),
            max_delta: None,
        };
        OrderGroup::new(id, user, &format!("user:{user}"), limits, 5_000, 0)
    }

    fn in_group(mut o: Order, group: &str) -> Order {
        o.order_group_id = Some(group.into());
        o
    }

    /// A maker with five 2-share asks in its group (limit 5 shares) at 0.50..0.54, plus one
    /// ask outside the group at 0.55, and a second market with a group quote.
    fn quoted() -> (Exchange, Batch) {
        let mut ex = exchange(Fees::default(), Limits::default());
        ex.add_market(MarketRules::new("m2", P(10_000), 2).expect("rules"));
        ex.put_group(group("mm", GROUP, 5_000_000), GroupWindow::default());
        let mut b = funded(&[("mm", 100_000_000), ("taker", 100_000_000), ("other", 100_000_000)]);
        b.balances.insert(("mm".into(), "shares:m1:0".into()), 20_000_000);
        for (i, price) in [500_000, 510_000, 520_000, 530_000, 540_000].into_iter().enumerate() {
            let o = in_group(order(&format!("q{i}"), "mm", 0, Side::Sell, price, 2_000_000), GROUP);
            assert_eq!(ex.place(o, &mut b).expect("quote").status, OrderStatus::Open);
        }
        ex.place(order("plain", "mm", 0, Side::Sell, 550_000, 2_000_000), &mut b).expect("plain");
        let mut m2 = in_group(order("q-m2", "mm", 0, Side::Buy, 300_000, 2_000_000), GROUP);
        m2.market_id = "m2".into();
        ex.place(m2, &mut b).expect("m2 quote");
        (ex, b)
    }

    #[test]
    fn a_sweep_trips_the_group_at_the_fill_past_its_limit_and_pulls_every_quote_at_once() {
        let (mut ex, mut b) = quoted();
        let fills_before = b.fills.len();
        // One taker order that could take all six asks.
        let taker = ex.place(order("t1", "taker", 0, Side::Buy, 600_000, 12_000_000), &mut b).expect("taker");
        let group_fills: Vec<&Fill> =
            b.fills[fills_before..].iter().filter(|f| f.user_id == "mm" && f.order_id.starts_with('q')).collect();
        // 2 + 2 = 4 shares is within 5; the third fill (6 shares) goes past it and trips.
        assert_eq!(group_fills.len(), 3, "{group_fills:?}");
        assert_eq!(group_fills.iter().map(|f| f.size.micros()).sum::<i64>(), 6_000_000, "one fill past the limit");
        // The two quotes left in this book and the one in m2 were cancelled, the taker went on
        // to the ask outside the group.
        for id in ["q3", "q4", "q-m2"] {
            let o = ex.current(id, &b).expect("known");
            assert_eq!((o.status, o.reason.as_deref()), (OrderStatus::Cancelled, Some(MMP_TRIGGERED)), "{id}");
        }
        assert_eq!(ex.current("plain", &b).expect("plain").status, OrderStatus::Filled);
        assert_eq!(taker.filled, S(8_000_000));
        assert_eq!(b.trips.len(), 1);
        assert_eq!(b.groups, vec![GROUP.to_string()]);
        let (g, _) = ex.group(GROUP).expect("group");
        assert_eq!((g.trips, g.frozen_until_us), (1, Some(1 + 5_000_000)));
        // Frozen: a new order in it is refused; the maker's other orders still go.
        let refused = ex.place(in_group(order("q9", "mm", 0, Side::Sell, 700_000, 1_000_000), GROUP), &mut b);
        assert_eq!(refused.expect_err("frozen").code().as_str(), "order_group_frozen");
        ex.place(order("free", "mm", 0, Side::Sell, 700_000, 1_000_000), &mut b).expect("outside the group");
    }

    #[test]
    fn a_taker_in_a_group_stops_at_its_trip() {
        let mut ex = exchange(Fees::default(), Limits::default());
        ex.put_group(group("t", GROUP, 3_000_000), GroupWindow::default());
        let mut b = funded(&[("mm", 100_000_000), ("t", 100_000_000)]);
        b.balances.insert(("mm".into(), "shares:m1:0".into()), 20_000_000);
        for i in 0..4 {
            ex.place(order(&format!("a{i}"), "mm", 0, Side::Sell, 500_000, 2_000_000), &mut b).expect("ask");
        }
        let taker = ex.place(in_group(order("t1", "t", 0, Side::Buy, 500_000, 8_000_000), GROUP), &mut b);
        let taker = taker.expect("taker");
        assert_eq!(taker.filled, S(4_000_000), "the second fill tripped the group");
        assert_eq!((taker.status, taker.reason.as_deref()), (OrderStatus::Cancelled, Some(MMP_TRIGGERED)));
        assert_eq!(ex.current("a2", &b).expect("a2").status, OrderStatus::Open, "the maker is untouched");
    }

    #[test]
    fn other_principals_groups_are_untouched_and_not_joinable() {
        let (mut ex, mut b) = quoted();
        ex.put_group(group("other", "g2", 1_000_000), GroupWindow::default());
        let mut o = in_group(order("x", "other", 1, Side::Sell, 500_000, 1_000_000), GROUP);
        o.market_id = M.into();
        assert_eq!(ex.place(o, &mut b).expect_err("not theirs").code().as_str(), "not_found");
        ex.place(order("t1", "taker", 0, Side::Buy, 600_000, 12_000_000), &mut b).expect("taker");
        assert_eq!(ex.group("g2").expect("g2").0.trips, 0);
        assert_eq!(b.trips.iter().map(|(g, _)| g.as_str()).collect::<Vec<_>>(), vec![GROUP]);
    }

    #[test]
    fn a_reset_or_the_freeze_running_out_lets_orders_in_again() {
        let (mut ex, mut b) = quoted();
        ex.place(order("t1", "taker", 0, Side::Buy, 600_000, 12_000_000), &mut b).expect("taker");
        let q = || in_group(order("again", "mm", 0, Side::Sell, 700_000, 1_000_000), GROUP);
        // After the freeze (5 s after the trip at t = 1 µs).
        let mut later = Batch { now_us: 1 + 5_000_000, ..funded(&[("mm", 100_000_000)]) };
        later.balances.insert(("mm".into(), "shares:m1:0".into()), 10_000_000);
        assert_eq!(ex.place(q(), &mut later).expect("thawed").status, OrderStatus::Open);
        // A reset by its owner clears the window; by anyone else it is not found.
        let mut b2 = funded(&[]);
        assert_eq!(ex.reset_group("x", GROUP, &mut b2).expect_err("not theirs").code().as_str(), "not_found");
        let g = ex.reset_group("mm", GROUP, &mut b2).expect("reset");
        assert_eq!((g.frozen_until_us, g.window_start_us), (None, 1));
        assert_eq!(ex.group(GROUP).expect("g").1.fills(), 0);
    }

    #[test]
    fn deleting_a_group_cancels_its_orders_and_refuses_it() {
        let (mut ex, mut b) = quoted();
        let cancelled = ex.delete_group("mm", GROUP, &mut b).expect("deleted");
        assert_eq!(cancelled.len(), 6, "five quotes in m1 and one in m2");
        assert!(cancelled.iter().all(|o| o.reason.as_deref() == Some("order_group_deleted")));
        assert_eq!(ex.current("plain", &b).expect("plain").status, OrderStatus::Open);
        let again = ex.place(in_group(order("z", "mm", 0, Side::Sell, 700_000, 1_000_000), GROUP), &mut b);
        assert_eq!(again.expect_err("deleted").code().as_str(), "not_found");
        assert!(ex.delete_group("mm", GROUP, &mut b).expect("idempotent").is_empty());
    }
}
