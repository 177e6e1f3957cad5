//! How the CLOB's reports change an order of ours, its fills and the money: pure functions
//! over the order as stored, its fills, and a report. The venue runs them inside one database
//! transaction and writes what they return; tests call them directly.
//!
//! The rules:
//! - a trade seen for the first time spends the order's reservation for that size and starts
//!   a fill at its finality; a fill moves only forward (matched → confirmed or failed), once;
//! - `filled` counts confirmed fills only, so an order is `filled` when the chain says so;
//! - an order that stopped on the CLOB (cancelled, or fully matched) releases what it still
//!   holds, but only once every trade the CLOB says it matched has been seen: until then the
//!   caller must fetch those trades first ([`StateStep::NeedsTrades`]).

use kairos_domain::{Collateral, Fill, Finality, Order, OrderStatus, Size, TimeInForce, new_id};
use kairos_platform::storage::ledger::Transfer;

use super::money;
use super::reports::{VenueFill, VenueOrder, VenueStatus};

/// What to write for one report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    pub new_fills: Vec<Fill>,
    /// (fill id, from, to).
    pub advanced: Vec<(String, Finality, Finality)>,
    pub transfers: Vec<Transfer>,
    /// Whether the order itself changed and must be saved.
    pub order_changed: bool,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.new_fills.is_empty() && self.advanced.is_empty() && self.transfers.is_empty() && !self.order_changed
    }
}

/// Releases all an order still holds.
pub fn release_rest(order: &mut Order, effects: &mut Effects) {
    let asset = money::held_asset(order);
    effects.transfers.extend(kairos_domain::ledger::reservation(
        &order.user_id,
        &asset,
        -order.reserved_micros,
        &order.id,
    ));
    order.reserved_micros = 0;
}

fn confirm(order: &mut Order, fill: &Fill, effects: &mut Effects) {
    effects.transfers.extend(money::confirmed(order, fill));
    order.filled += fill.size;
}

/// Applies one of the order's sides of a trade; `fills` are the order's fills so far (the new
/// one is added to it).
pub fn apply_fill(order: &mut Order, fills: &mut Vec<Fill>, report: &VenueFill, now_us: i64) -> Effects {
    let mut effects = Effects::default();
    match fills.iter_mut().find(|f| f.trade_id == report.trade_id) {
        None => {
            let mut fill = Fill {
                id: new_id(),
                trade_id: report.trade_id.clone(),
                order_id: order.id.clone(),
                user_id: order.user_id.clone(),
                market_id: order.market_id.clone(),
                outcome: order.outcome,
                side: order.side,
                price: report.price,
                size: report.size,
                fee: Collateral::ZERO,
                liquidity: report.liquidity,
                finality: report.finality,
                created_at_us: now_us,
            };
            let held = money::held_for(order, fill.size).min(order.reserved_micros).max(0);
            effects.transfers.extend(money::matched(order, &fill, held));
            order.reserved_micros -= held;
            match report.finality {
                Finality::Matched => {}
                Finality::Confirmed => confirm(order, &fill, &mut effects),
                Finality::Failed => effects.transfers.extend(money::failed(order, &fill)),
            }
            fill.finality = report.finality;
            fills.push(fill.clone());
            effects.new_fills.push(fill);
            effects.order_changed = true;
        }
        Some(fill) if fill.finality == Finality::Matched && report.finality != Finality::Matched => {
            match report.finality {
                Finality::Confirmed => confirm(order, fill, &mut effects),
                _ => effects.transfers.extend(money::failed(order, fill)),
            }
            effects.advanced.push((fill.id.clone(), Finality::Matched, report.finality));
            fill.finality = report.finality;
            effects.order_changed = true;
        }
        // Already known at this finality, or final: nothing moves twice.
        Some(_) => {}
    }
    if order.status == OrderStatus::Pending {
        order.status = OrderStatus::Open;
        effects.order_changed = true;
    }
    if order.status.is_live() && order.filled >= order.size {
        order.status = OrderStatus::Filled;
        release_rest(order, &mut effects);
    } else if order.status == OrderStatus::Open && order.filled.is_positive() {
        order.status = OrderStatus::PartiallyFilled;
    }
    if effects.order_changed {
        order.updated_at_us = now_us;
    }
    effects
}

/// What a state report came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateStep {
    Apply(Effects),
    /// The CLOB matched more of the order than the trades we have seen: fetch these (all of the
    /// order's trades when empty) and report the state again.
    NeedsTrades(Vec<String>),
}

/// How long a `pending` order may be unknown to the CLOB before it counts as never received.
pub const NEVER_RECEIVED_AFTER_US: i64 = 60_000_000;

/// Applies the CLOB's view of an order (`None`: the CLOB does not have it). `reason` is why
/// a cancellation happened when we asked for it.
pub fn apply_state(
    order: &mut Order,
    fills: &[Fill],
    venue: Option<&VenueOrder>,
    reason: Option<&str>,
    now_us: i64,
) -> StateStep {
    let mut effects = Effects::default();
    let seen: Size = fills.iter().map(|f| f.size).sum();
    let all_final = fills.iter().all(|f| f.finality != Finality::Matched);
    match venue {
        None => {
            if order.status == OrderStatus::Pending && now_us - order.created_at_us >= NEVER_RECEIVED_AFTER_US {
                order.status = OrderStatus::Rejected;
                order.reason = Some("venue_never_received".to_string());
                release_rest(order, &mut effects);
                effects.order_changed = true;
            }
        }
        Some(v) if v.size_matched > seen => return StateStep::NeedsTrades(v.trade_ids.clone()),
        Some(v) => match v.status {
            VenueStatus::Live if order.status == OrderStatus::Pending => {
                order.status = OrderStatus::Open;
                effects.order_changed = true;
            }
            VenueStatus::Cancelled if order.status.is_live() => {
                let expired =
                    order.time_in_force == TimeInForce::Gtd && order.expires_at_us.is_some_and(|t| t <= now_us);
                order.status = if expired { OrderStatus::Expired } else { OrderStatus::Cancelled };
                order.reason =
                    Some(if expired { "expired" } else { reason.unwrap_or("cancelled_by_venue") }.to_string());
                release_rest(order, &mut effects);
                effects.order_changed = true;
            }
            VenueStatus::Matched if order.status.is_live() && all_final && order.filled < order.size => {
                // Everything matched, some of it failed on chain: nothing of it will trade again.
                order.status = OrderStatus::Cancelled;
                order.reason = Some("venue_trade_failed".to_string());
                release_rest(order, &mut effects);
                effects.order_changed = true;
            }
            _ => {}
        },
    }
    if effects.order_changed {
        order.updated_at_us = now_us;
    }
    StateStep::Apply(effects)
}

#[cfg(test)]
mod tests {
    use kairos_domain::{Liquidity, Side};

    use super::*;

    fn order() -> Order {
        Order { reserved_micros: 5_000_000, ..money::test_order(Side::Buy) }
    }

    fn report(trade: &str, size: i64, finality: Finality) -> VenueFill {
        VenueFill {
            venue_order_id: "0xabc".into(),
            trade_id: trade.into(),
            price: kairos_domain::Price::from_micros(500_000),
            size: Size::from_micros(size),
            liquidity: Liquidity::Maker,
            finality,
        }
    }

    #[test]
    fn nothing_is_filled_before_it_is_confirmed_and_nothing_moves_twice() {
        let (mut o, mut fills) = (order(), Vec::new());
        let e = apply_fill(&mut o, &mut fills, &report("t1", 10_000_000, Finality::Matched), 1);
        assert_eq!((e.new_fills.len(), o.filled, o.status, o.reserved_micros), (1, Size::ZERO, OrderStatus::Open, 0));
        assert!(apply_fill(&mut o, &mut fills, &report("t1", 10_000_000, Finality::Matched), 2).is_empty());
        let e = apply_fill(&mut o, &mut fills, &report("t1", 10_000_000, Finality::Confirmed), 3);
        assert_eq!(e.advanced, vec![(fills[0].id.clone(), Finality::Matched, Finality::Confirmed)]);
        assert_eq!((o.filled, o.status), (Size::from_micros(10_000_000), OrderStatus::Filled));
        assert!(apply_fill(&mut o, &mut fills, &report("t1", 10_000_000, Finality::Failed), 4).is_empty(), "final");
    }

    #[test]
    fn a_failed_match_is_undone_and_the_order_ends_when_the_clob_is_done_with_it() {
        let (mut o, mut fills) = (order(), Vec::new());
        apply_fill(&mut o, &mut fills, &report("t1", 4_000_000, Finality::Matched), 1);
        apply_fill(&mut o, &mut fills, &report("t2", 6_000_000, Finality::Matched), 1);
        let e = apply_fill(&mut o, &mut fills, &report("t2", 6_000_000, Finality::Failed), 2);
        assert_eq!(e.transfers.len(), 2, "both legs of t2 go back");
        apply_fill(&mut o, &mut fills, &report("t1", 4_000_000, Finality::Confirmed), 3);
        assert_eq!((o.filled, o.status), (Size::from_micros(4_000_000), OrderStatus::PartiallyFilled));
        let matched =
            VenueOrder { status: VenueStatus::Matched, size_matched: Size::from_micros(10_000_000), trade_ids: vec![] };
        let StateStep::Apply(e) = apply_state(&mut o, &fills, Some(&matched), None, 4) else { panic!("apply") };
        assert!(e.order_changed);
        assert_eq!((o.status, o.reason.as_deref()), (OrderStatus::Cancelled, Some("venue_trade_failed")));
    }

    #[test]
    fn a_cancel_waits_for_the_trades_the_clob_matched() {
        let (mut o, fills) = (order(), Vec::new());
        let cancelled = VenueOrder {
            status: VenueStatus::Cancelled,
            size_matched: Size::from_micros(2_000_000),
            trade_ids: vec!["t9".into()],
        };
        assert_eq!(apply_state(&mut o, &fills, Some(&cancelled), None, 1), StateStep::NeedsTrades(vec!["t9".into()]));
        let mut fills = fills;
        apply_fill(&mut o, &mut fills, &report("t9", 2_000_000, Finality::Matched), 2);
        let StateStep::Apply(e) = apply_state(&mut o, &fills, Some(&cancelled), Some("cancelled"), 3) else {
            panic!("apply")
        };
        assert_eq!((o.status, o.reserved_micros, o.reason.as_deref()), (OrderStatus::Cancelled, 0, Some("cancelled")));
        assert_eq!(e.transfers[0].postings[0].amount_micros, -4_000_000, "the unmatched 8 shares' collateral");
    }

    #[test]
    fn a_pending_order_the_clob_never_got_is_rejected_only_after_a_grace_period() {
        let mut o = order();
        o.status = OrderStatus::Pending;
        let StateStep::Apply(e) = apply_state(&mut o, &[], None, None, NEVER_RECEIVED_AFTER_US - 1) else { panic!() };
        assert!(e.is_empty());
        let StateStep::Apply(e) = apply_state(&mut o, &[], None, None, NEVER_RECEIVED_AFTER_US) else { panic!() };
        assert_eq!((o.status, e.transfers.len()), (OrderStatus::Rejected, 1));
    }
}
