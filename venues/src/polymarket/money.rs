//! The money of the Polymarket venue, in integers. Kairos trades on the CLOB from one account
//! for all its users, so the venue is an omnibus account in the ledger (`venue:polymarket`):
//! what users pay for a trade goes to it, what they get from one comes from it.
//!
//! A trade the CLOB matched is not yet a trade: it settles on chain later, or fails. So a
//! match moves the user's side at once (the reservation is spent) but what the user receives
//! waits in their `pending` account; confirmation moves it to `available`, failure sends both
//! legs back. Pure functions: the venue calls them, tests call them directly. Every transfer
//! sums to zero per asset.
//!
//! The CLOB's own fees are charged to the omnibus account by Polymarket and are not passed on
//! to users here: fills carry a fee of zero.

use kairos_domain::ledger::{Account, COLLATERAL, Posting, Transfer, available, pending, reserved};
use kairos_domain::money::MICROS_PER_UNIT;
use kairos_domain::order::share_asset;
use kairos_domain::{Collateral, Fill, Order, Price, Side, Size};

/// The omnibus account: Kairos's position at Polymarket. Its collateral is what users paid in
/// for matched trades; its shares go negative by what users hold.
pub const VENUE_NAME: &str = "polymarket";

fn venue_account() -> Account {
    Account::Venue { name: VENUE_NAME.to_string() }
}

/// The collateral of `size` at `price`, in micro-units for the postings. Prices here are
/// between 0 and 1 (orders by the API's rules, trades by [`super::reports`], which refuses
/// others as unreadable), so the notional never exceeds the size and cannot overflow; the
/// clamp keeps that true of any input, so the fallback is unreachable.
fn notional(price: Price, size: Size) -> i64 {
    let price = Price::from_micros(price.micros().clamp(0, MICROS_PER_UNIT));
    kairos_domain::money::notional(price, size).map_or(size.micros(), Collateral::micros)
}

/// The asset an order holds back and the amount for its whole size: collateral at the limit
/// price for a buy, the shares for a sell.
pub fn reservation(order: &Order) -> (String, i64) {
    (held_asset(order), held_for(order, order.size))
}

pub fn held_asset(order: &Order) -> String {
    match order.side {
        Side::Buy => COLLATERAL.to_string(),
        Side::Sell => share_asset(&order.market_id, order.outcome),
    }
}

/// The part of an order's reservation that covers `size` of it, in the held asset's
/// micro-units (collateral for a buy, shares for a sell).
pub fn held_for(order: &Order, size: Size) -> i64 {
    match order.side {
        Side::Buy => notional(order.price, size),
        Side::Sell => size.micros(),
    }
}

fn posting(account: Account, amount_micros: i64) -> Option<Posting> {
    (amount_micros != 0).then_some(Posting { account, amount_micros })
}

fn transfer(asset: String, kind: &str, reference: &str, postings: Vec<Option<Posting>>) -> Option<Transfer> {
    let postings: Vec<Posting> = postings.into_iter().flatten().collect();
    (postings.len() >= 2).then(|| Transfer {
        asset,
        kind: kind.to_string(),
        reference: Some(reference.to_string()),
        postings,
    })
}

/// A match: `held` of the order's reservation is spent (a buy that matched below its limit gets
/// the difference back at once), and what the user receives goes to `pending`.
pub fn matched(order: &Order, fill: &Fill, held: i64) -> Vec<Transfer> {
    let user = &order.user_id;
    let shares = share_asset(&order.market_id, order.outcome);
    let cost = notional(fill.price, fill.size);
    let reference = &fill.trade_id;
    let out = match order.side {
        Side::Buy => [
            transfer(
                COLLATERAL.to_string(),
                "venue_match",
                reference,
                vec![
                    posting(reserved(user), -held),
                    posting(venue_account(), cost),
                    posting(available(user), held - cost),
                ],
            ),
            transfer(
                shares,
                "venue_match",
                reference,
                vec![posting(venue_account(), -fill.size.micros()), posting(pending(user), fill.size.micros())],
            ),
        ],
        Side::Sell => [
            transfer(
                shares,
                "venue_match",
                reference,
                vec![
                    posting(reserved(user), -held),
                    posting(venue_account(), fill.size.micros()),
                    posting(available(user), held - fill.size.micros()),
                ],
            ),
            transfer(
                COLLATERAL.to_string(),
                "venue_match",
                reference,
                vec![posting(venue_account(), -cost), posting(pending(user), cost)],
            ),
        ],
    };
    out.into_iter().flatten().collect()
}

/// What a match put in `pending`: (asset, amount).
fn pending_leg(order: &Order, fill: &Fill) -> (String, i64) {
    match order.side {
        Side::Buy => (share_asset(&order.market_id, order.outcome), fill.size.micros()),
        Side::Sell => (COLLATERAL.to_string(), notional(fill.price, fill.size)),
    }
}

/// What a match took from the user: (asset, amount).
fn paid_leg(order: &Order, fill: &Fill) -> (String, i64) {
    match order.side {
        Side::Buy => (COLLATERAL.to_string(), notional(fill.price, fill.size)),
        Side::Sell => (share_asset(&order.market_id, order.outcome), fill.size.micros()),
    }
}

/// The trade settled: what waited in `pending` becomes spendable.
pub fn confirmed(order: &Order, fill: &Fill) -> Vec<Transfer> {
    let (asset, amount) = pending_leg(order, fill);
    let user = &order.user_id;
    transfer(
        asset,
        "venue_confirm",
        &fill.trade_id,
        vec![posting(pending(user), -amount), posting(available(user), amount)],
    )
    .into_iter()
    .collect()
}

/// The trade failed after matching: what waited in `pending` goes back to the venue and what
/// the user paid comes back to `available` (not to the order: the CLOB does not reopen it).
pub fn failed(order: &Order, fill: &Fill) -> Vec<Transfer> {
    let user = &order.user_id;
    let (got, got_amount) = pending_leg(order, fill);
    let (paid, paid_amount) = paid_leg(order, fill);
    [
        transfer(
            got,
            "venue_fail",
            &fill.trade_id,
            vec![posting(pending(user), -got_amount), posting(venue_account(), got_amount)],
        ),
        transfer(
            paid,
            "venue_fail",
            &fill.trade_id,
            vec![posting(venue_account(), -paid_amount), posting(available(user), paid_amount)],
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A Polymarket limit order of 10 shares at 0.50 with nothing reserved: the tests' start.
#[cfg(test)]
pub(super) fn test_order(side: Side) -> Order {
    use kairos_domain::{OrderStatus, OrderType, Stp, TimeInForce, Venue};
    Order {
        id: "o".into(),
        user_id: "u".into(),
        client_order_id: "c".into(),
        request_hash: String::new(),
        market_id: "m".into(),
        outcome: 0,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        post_only: false,
        stp: Stp::CancelNewest,
        price: Price::from_micros(500_000),
        size: Size::from_micros(10_000_000),
        filled: Size::ZERO,
        reserved_micros: 0,
        fees: Collateral::ZERO,
        status: OrderStatus::Open,
        reason: None,
        venue: Venue::Polymarket,
        venue_order_id: Some("0xabc".into()),
        order_group_id: None,
        expires_at_us: None,
        priority: 0,
        created_at_us: 0,
        updated_at_us: 0,
    }
}

#[cfg(test)]
mod tests {
    use kairos_domain::{Finality, Liquidity};

    use super::*;

    fn order(side: Side) -> Order {
        test_order(side)
    }

    fn fill(price: i64, size: i64) -> Fill {
        Fill {
            id: "f".into(),
            trade_id: "t".into(),
            order_id: "o".into(),
            user_id: "u".into(),
            market_id: "m".into(),
            outcome: 0,
            side: Side::Buy,
            price: Price::from_micros(price),
            size: Size::from_micros(size),
            fee: Collateral::ZERO,
            liquidity: Liquidity::Taker,
            finality: Finality::Matched,
            created_at_us: 0,
        }
    }

    /// Sums per (account, asset) over transfers.
    fn net(transfers: &[Transfer]) -> std::collections::BTreeMap<(String, String), i64> {
        let mut out = std::collections::BTreeMap::new();
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
    fn a_buy_matched_below_its_limit_pays_the_match_price_and_waits_for_its_shares() {
        let o = order(Side::Buy);
        assert_eq!(reservation(&o), (COLLATERAL.to_string(), 5_000_000));
        let f = fill(400_000, 4_000_000);
        let m = matched(&o, &f, held_for(&o, f.size));
        let n = net(&m);
        assert_eq!(n[&("user:u:reserved".into(), COLLATERAL.into())], -2_000_000);
        assert_eq!(n[&("user:u:available".into(), COLLATERAL.into())], 400_000, "the price improvement");
        assert_eq!(n[&(venue_account().to_string(), COLLATERAL.into())], 1_600_000);
        assert_eq!(n[&("user:u:pending".into(), "shares:m:0".into())], 4_000_000);
        let settled = net(&[m.clone(), confirmed(&o, &f)].concat());
        assert_eq!(settled.get(&("user:u:pending".into(), "shares:m:0".into())), None);
        assert_eq!(settled[&("user:u:available".into(), "shares:m:0".into())], 4_000_000);
        // A failure puts everything back but the reservation, which returns to available.
        let undone = net(&[m, failed(&o, &f)].concat());
        assert_eq!(
            undone.into_iter().collect::<Vec<_>>(),
            vec![
                (("user:u:available".into(), COLLATERAL.into()), 2_000_000),
                (("user:u:reserved".into(), COLLATERAL.into()), -2_000_000),
            ]
        );
    }

    #[test]
    fn a_sell_gives_its_shares_and_waits_for_its_collateral() {
        let o = order(Side::Sell);
        assert_eq!(reservation(&o), ("shares:m:0".to_string(), 10_000_000));
        let f = fill(600_000, 10_000_000);
        let m = matched(&o, &f, held_for(&o, f.size));
        let n = net(&m);
        assert_eq!(n[&("user:u:reserved".into(), "shares:m:0".into())], -10_000_000);
        assert_eq!(n[&("user:u:pending".into(), COLLATERAL.into())], 6_000_000);
        let settled = net(&[m, confirmed(&o, &f)].concat());
        assert_eq!(settled[&("user:u:available".into(), COLLATERAL.into())], 6_000_000);
        assert_eq!(settled[&(venue_account().to_string(), COLLATERAL.into())], -6_000_000);
    }
}
