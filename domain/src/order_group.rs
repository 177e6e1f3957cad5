//! Market-maker protection: an order group's limits and the rolling window of its fills. A group
//! trips when the fills of its orders within `interval_ms` go past a limit; the venue then
//! cancels the group's open orders in the same step and freezes it. The window is plain data so
//! the paper venue's engine, the Polymarket venue and the replay count fills the same way.

use std::collections::VecDeque;

use crate::money::{self, Collateral, Price, Size};
use crate::order::Side;
use crate::refusal::Refusal;

/// The bounds a group's settings must keep: past them a limit protects nothing.
pub const MAX_INTERVAL_MS: i64 = 3_600_000;
/// A freeze of 0 lasts until a manual reset; anything else at most a day.
pub const MAX_FREEZE_MS: i64 = 86_400_000;
/// One billion shares (or units of collateral): beyond any real quote.
pub const MAX_LIMIT_MICROS: i64 = 1_000_000_000 * money::MICROS_PER_UNIT;

/// What a group tolerates within one rolling interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupLimits {
    pub interval_ms: i64,
    /// Shares filled, both sides counted.
    pub max_filled_size: Size,
    /// Collateral traded (price × size), both sides counted.
    pub max_filled_notional: Collateral,
    /// Shares bought minus shares sold (each order in its own outcome), in absolute value.
    pub max_delta: Option<Size>,
}

/// Which setting is out of bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct InvalidGroupLimits {
    pub field: &'static str,
    pub why: &'static str,
}

impl GroupLimits {
    /// Every limit positive and bounded; the interval between 1 ms and an hour; the freeze
    /// between 0 (until reset) and a day.
    pub fn validate(&self, freeze_ms: i64) -> Result<(), InvalidGroupLimits> {
        let bad = |field, why| Err(InvalidGroupLimits { field, why });
        if !(1..=MAX_INTERVAL_MS).contains(&self.interval_ms) {
            return bad("limits.interval_ms", "must be between 1 and 3600000");
        }
        let amount = |v: i64| (1..=MAX_LIMIT_MICROS).contains(&v);
        if !amount(self.max_filled_size.micros()) {
            return bad("limits.max_filled_size", "must be above 0 and at most 1000000000");
        }
        if !amount(self.max_filled_notional.micros()) {
            return bad("limits.max_filled_notional", "must be above 0 and at most 1000000000");
        }
        if self.max_delta.is_some_and(|d| !amount(d.micros())) {
            return bad("limits.max_delta", "must be above 0 and at most 1000000000");
        }
        if !(0..=MAX_FREEZE_MS).contains(&freeze_ms) {
            return bad("freeze_ms", "must be between 0 (until reset) and 86400000");
        }
        Ok(())
    }
}

/// An order group as stored. Its limits never change; its state does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderGroup {
    pub id: String,
    pub user_id: String,
    /// The principal that created it (`user:<id>` or `api_key:<id>`).
    pub created_by: String,
    pub limits: GroupLimits,
    pub freeze_ms: i64,
    /// Frozen while this lies ahead (`i64::MAX`: until a reset).
    pub frozen_until_us: Option<i64>,
    /// Only fills after this time count: the group's creation, its last trip or reset. Strictly
    /// after: the fills of the batch that tripped it share its time and must not count again
    /// when the window is read back from the database.
    pub window_start_us: i64,
    /// How often it tripped.
    pub trips: i64,
    pub deleted_at_us: Option<i64>,
    pub created_at_us: i64,
    pub updated_at_us: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Active,
    Frozen,
}

impl GroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Active => "active",
            GroupState::Frozen => "frozen",
        }
    }
}

impl OrderGroup {
    /// A new, active group of `user_id`'s, created by `created_by` at `now_us`.
    pub fn new(
        id: &str,
        user_id: &str,
        created_by: &str,
        limits: GroupLimits,
        freeze_ms: i64,
        now_us: i64,
    ) -> OrderGroup {
        OrderGroup {
            id: id.to_string(),
            user_id: user_id.to_string(),
            created_by: created_by.to_string(),
            limits,
            freeze_ms,
            frozen_until_us: None,
            window_start_us: now_us,
            trips: 0,
            deleted_at_us: None,
            created_at_us: now_us,
            updated_at_us: now_us,
        }
    }

    pub fn state(&self, now_us: i64) -> GroupState {
        if self.frozen_until_us.is_some_and(|t| t > now_us) { GroupState::Frozen } else { GroupState::Active }
    }

    /// Whether its orders may not trade at `now_us`: it is frozen or deleted.
    pub fn barred(&self, now_us: i64) -> bool {
        self.deleted_at_us.is_some() || self.state(now_us) == GroupState::Frozen
    }

    /// Freezes it after a trip at `now_us`; its window starts again there.
    pub fn trip(&mut self, now_us: i64) {
        let until = if self.freeze_ms == 0 { i64::MAX } else { now_us.saturating_add(self.freeze_ms * 1000) };
        self.frozen_until_us = Some(until);
        self.window_start_us = now_us;
        self.trips += 1;
        self.updated_at_us = now_us;
    }

    /// Active again with an empty window.
    pub fn reset(&mut self, now_us: i64) {
        self.frozen_until_us = None;
        self.window_start_us = now_us;
        self.updated_at_us = now_us;
    }

    /// Whether `user_id`'s new order may join it at `now_us`: the group is theirs, not deleted
    /// and not frozen. Every venue asks this one question.
    pub fn admit(group: Option<&OrderGroup>, user_id: &str, now_us: i64) -> Result<(), Refusal> {
        let group = group.filter(|g| g.user_id == user_id && g.deleted_at_us.is_none());
        let Some(group) = group else { return Err(Refusal::OrderGroupNotFound) };
        match (group.state(now_us), group.frozen_until_us) {
            (GroupState::Active, _) => Ok(()),
            (GroupState::Frozen, Some(t)) if t != i64::MAX => {
                Err(Refusal::OrderGroupFrozen { until: crate::time::format_rfc3339_us(t) })
            }
            (GroupState::Frozen, _) => Err(Refusal::OrderGroupFrozen { until: "a reset".to_string() }),
        }
    }

    /// The earliest time a fill may have and still count at `now_us` (see [`OrderGroup::counts`]).
    pub fn counts_from(&self, now_us: i64) -> i64 {
        self.window_start_us.saturating_add(1).max(now_us.saturating_sub(self.limits.interval_ms.saturating_mul(1000)))
    }

    /// Whether a fill at `at_us` counts at `now_us`: within the interval and after the window's
    /// start. Memory and the database apply this one rule, so a window read back equals the one
    /// kept (fills of a reset's own batch never count: they share its time).
    pub fn counts(&self, at_us: i64, now_us: i64) -> bool {
        at_us >= self.counts_from(now_us)
    }
}

/// One fill as a group counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupFill {
    pub at_us: i64,
    pub size: Size,
    pub notional: Collateral,
    /// + for a buy, − for a sell.
    pub delta: i64,
}

impl GroupFill {
    /// A fill of `size` at `price` (in the order's own outcome) on `side`. A notional past
    /// `i64` counts as the largest one: it trips any limit, which is the safe reading.
    pub fn new(at_us: i64, side: Side, price: Price, size: Size) -> GroupFill {
        let notional = money::notional(price, size).unwrap_or(Collateral::from_micros(i64::MAX));
        let delta = match side {
            Side::Buy => size.micros(),
            Side::Sell => -size.micros(),
        };
        GroupFill { at_us, size, notional, delta }
    }
}

/// Which limit a window went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    FilledSize,
    FilledNotional,
    Delta,
}

impl Breach {
    pub fn as_str(self) -> &'static str {
        match self {
            Breach::FilledSize => "max_filled_size",
            Breach::FilledNotional => "max_filled_notional",
            Breach::Delta => "max_delta",
        }
    }
}

/// The fills of one group that still count, with their sums (in `i128`, so no sum of `i64`
/// fills can overflow and removing a fill always undoes adding it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupWindow {
    fills: VecDeque<GroupFill>,
    size: i128,
    notional: i128,
    delta: i128,
}

/// An `i128` sum as an `i64` count, clamped.
fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

impl GroupWindow {
    /// Drops the fills that no longer count at `now_us`.
    pub fn prune(&mut self, group: &OrderGroup, now_us: i64) {
        while let Some(f) = self.fills.front().copied().filter(|f| !group.counts(f.at_us, now_us)) {
            self.fills.pop_front();
            self.size -= i128::from(f.size.micros());
            self.notional -= i128::from(f.notional.micros());
            self.delta -= i128::from(f.delta);
        }
    }

    /// Counts a fill (fills arrive in time order).
    pub fn add(&mut self, fill: GroupFill) {
        self.size += i128::from(fill.size.micros());
        self.notional += i128::from(fill.notional.micros());
        self.delta += i128::from(fill.delta);
        self.fills.push_back(fill);
    }

    /// Counts a fill if it counts for `group` at `now_us` ([`OrderGroup::counts`]).
    pub fn count(&mut self, group: &OrderGroup, fill: GroupFill, now_us: i64) {
        self.prune(group, now_us);
        if group.counts(fill.at_us, now_us) {
            self.add(fill);
        }
    }

    /// The first limit the window is past, if any: a group may end one fill beyond its limit,
    /// never more, because the fill that goes past it trips the group.
    pub fn breach(&self, limits: &GroupLimits) -> Option<Breach> {
        if self.size > i128::from(limits.max_filled_size.micros()) {
            return Some(Breach::FilledSize);
        }
        if self.notional > i128::from(limits.max_filled_notional.micros()) {
            return Some(Breach::FilledNotional);
        }
        if limits.max_delta.is_some_and(|d| self.delta.abs() > i128::from(d.micros())) {
            return Some(Breach::Delta);
        }
        None
    }

    pub fn clear(&mut self) {
        *self = GroupWindow::default();
    }

    pub fn filled_size(&self) -> Size {
        Size::from_micros(clamp(self.size))
    }

    pub fn filled_notional(&self) -> Collateral {
        Collateral::from_micros(clamp(self.notional))
    }

    pub fn delta(&self) -> i64 {
        clamp(self.delta)
    }

    pub fn fills(&self) -> usize {
        self.fills.len()
    }

    /// The fills that count, oldest first (what the paper log records of a loaded group).
    pub fn counted(&self) -> impl Iterator<Item = &GroupFill> {
        self.fills.iter()
    }

    /// A window of these fills (in time order).
    pub fn of(fills: impl IntoIterator<Item = GroupFill>) -> GroupWindow {
        let mut w = GroupWindow::default();
        for f in fills {
            w.add(f);
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(interval_ms: i64, max_size: i64) -> OrderGroup {
        let limits = GroupLimits {
            interval_ms,
            max_filled_size: Size::from_micros(max_size),
            max_filled_notional: Collateral::from_micros(MAX_LIMIT_MICROS),
            max_delta: None,
        };
        OrderGroup::new("g", "u", "user:u", limits, 1_000, 0)
    }

    /// A fill of `shares` whole shares at 0.5.
    fn fill(at_us: i64, side: Side, shares: i64) -> GroupFill {
        GroupFill::new(at_us, side, Price::from_micros(500_000), Size::from_micros(shares * 1_000_000))
    }

    #[test]
    fn a_window_trips_only_past_its_limit_and_forgets_old_fills() {
        let g = group(1_000, 10_000_000);
        let mut w = GroupWindow::default();
        w.add(fill(0, Side::Buy, 6));
        w.add(fill(10, Side::Sell, 4));
        assert_eq!(w.breach(&g.limits), None, "exactly at the limit is not past it");
        w.add(fill(20, Side::Buy, 1));
        assert_eq!(w.breach(&g.limits), Some(Breach::FilledSize));
        // A second after the second fill only the last one still counts.
        w.prune(&g, 1_000_015);
        assert_eq!((w.fills(), w.filled_size().micros(), w.delta()), (1, 1_000_000, 1_000_000));
        assert_eq!(w.breach(&g.limits), None);
    }

    #[test]
    fn a_window_read_back_after_a_trip_leaves_out_the_tripping_batch() {
        let mut g = group(1_000, 10_000_000);
        let mut w = GroupWindow::default();
        w.count(&g, fill(7, Side::Buy, 11), 7);
        assert!(w.breach(&g.limits).is_some());
        g.trip(7);
        w.clear();
        // What the database gives back for the same fills at the trip's time: nothing.
        let mut again = GroupWindow::default();
        again.count(&g, fill(7, Side::Buy, 11), 7);
        assert_eq!(again, w);
        again.count(&g, fill(8, Side::Sell, 1), 8);
        assert_eq!((again.fills(), again.delta()), (1, -1_000_000));
    }

    #[test]
    fn delta_and_notional_limits_trip_on_their_own() {
        let mut g = group(1_000, 1_000_000_000);
        g.limits.max_delta = Some(Size::from_micros(5_000_000));
        let mut w = GroupWindow::default();
        w.add(fill(0, Side::Buy, 5));
        w.add(fill(0, Side::Sell, 5));
        w.add(fill(0, Side::Sell, 5));
        assert_eq!(w.breach(&g.limits), None, "|delta| = 5");
        w.add(fill(0, Side::Sell, 1));
        assert_eq!(w.breach(&g.limits), Some(Breach::Delta));
        g.limits.max_delta = None;
        g.limits.max_filled_notional = Collateral::from_micros(7_999_999);
        assert_eq!(w.breach(&g.limits), Some(Breach::FilledNotional), "16 shares at 0.5 = 8");
    }

    #[test]
    fn a_trip_freezes_for_its_time_or_until_reset_and_restarts_the_window() {
        let mut g = group(1_000, 10);
        g.trip(5_000);
        assert_eq!(g.state(5_000 + 999_999), GroupState::Frozen);
        assert_eq!(g.state(5_000 + 1_000_000), GroupState::Active);
        assert_eq!(g.counts_from(5_100), 5_001, "fills of the trip's own time or before no longer count");
        g.freeze_ms = 0;
        g.trip(10_000);
        assert_eq!(g.state(i64::MAX - 1), GroupState::Frozen, "0 freezes until a reset");
        g.reset(20_000);
        assert_eq!((g.state(20_000), g.trips), (GroupState::Active, 2));
    }

    #[test]
    fn limits_are_validated() {
        let g = group(1_000, 10);
        assert!(g.limits.validate(0).is_ok());
        assert_eq!(g.limits.validate(-1).expect_err("out of bounds").field, "freeze_ms");
        let mut l = g.limits;
        l.interval_ms = 0;
        assert_eq!(l.validate(0).expect_err("out of bounds").field, "limits.interval_ms");
        let mut l = g.limits;
        l.max_filled_size = Size::ZERO;
        assert_eq!(l.validate(0).expect_err("out of bounds").field, "limits.max_filled_size");
        let mut l = g.limits;
        l.max_delta = Some(Size::from_micros(MAX_LIMIT_MICROS + 1));
        assert_eq!(l.validate(0).expect_err("out of bounds").field, "limits.max_delta");
    }
}
