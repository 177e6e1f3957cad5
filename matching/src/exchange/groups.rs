//! Market-maker protection inside the engine: the order groups the exchange knows, which live
//! orders belong to each, and the [`FillGuard`] that counts every fill of a group's order as the
//! book makes it. When a fill takes a group past a limit, the guard names the group's resting
//! orders and the book pulls those of its own before the taker meets another order; the
//! exchange then cancels the group's orders in other books and freezes it, all in the same
//! request's step, so no later fill reaches them.

use std::collections::{HashMap, HashSet};

use kairos_domain::order_group::{Breach, GroupFill, GroupWindow, OrderGroup};
use kairos_domain::{Order, Refusal, Size};

use super::MarketRules;
use crate::order_book::{FillGuard, OrderId};

#[derive(Debug)]
struct Known {
    group: OrderGroup,
    window: GroupWindow,
}

/// The groups the sequencer loaded, and the book ids of each group's live orders (kept even for
/// a group not loaded yet, so loading it later finds its members).
#[derive(Debug, Default)]
pub(super) struct Groups {
    known: HashMap<String, Known>,
    members: HashMap<String, HashSet<OrderId>>,
}

impl Groups {
    /// Puts a group as the database holds it (new, or fresher than what is here).
    pub(super) fn put(&mut self, group: OrderGroup, window: GroupWindow) {
        self.known.insert(group.id.clone(), Known { group, window });
    }

    pub(super) fn get(&self, id: &str) -> Option<(&OrderGroup, &GroupWindow)> {
        self.known.get(id).map(|k| (&k.group, &k.window))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    pub(super) fn ids(&self) -> Vec<String> {
        self.known.keys().cloned().collect()
    }

    pub(super) fn join(&mut self, group: &str, book_id: OrderId) {
        self.members.entry(group.to_string()).or_default().insert(book_id);
    }

    pub(super) fn leave(&mut self, group: &str, book_id: OrderId) {
        if let Some(m) = self.members.get_mut(group) {
            m.remove(&book_id);
            if m.is_empty() {
                self.members.remove(group);
            }
        }
    }

    /// The book ids of the group's live orders, oldest book id first (a stable order of cancels).
    pub(super) fn members(&self, group: &str) -> Vec<OrderId> {
        let mut ids: Vec<OrderId> = self.members.get(group).map(|m| m.iter().copied().collect()).unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// The user's group, live (not deleted): what an order or a request may name.
    pub(super) fn own_mut(&mut self, user_id: &str, id: &str) -> Result<(&mut OrderGroup, &mut GroupWindow), Refusal> {
        match self.known.get_mut(id) {
            Some(k) if k.group.user_id == user_id && k.group.deleted_at_us.is_none() => {
                Ok((&mut k.group, &mut k.window))
            }
            _ => Err(Refusal::OrderGroupNotFound),
        }
    }

    /// The user's group, deleted or not: deleting is idempotent, so each instance holding
    /// some of its orders can run it.
    pub(super) fn owned_mut(&mut self, user_id: &str, id: &str) -> Result<&mut OrderGroup, Refusal> {
        match self.known.get_mut(id) {
            Some(k) if k.group.user_id == user_id => Ok(&mut k.group),
            _ => Err(Refusal::OrderGroupNotFound),
        }
    }

    /// Groups with live orders here that may not trade: frozen (tripped, here or by another
    /// instance or venue) or deleted, with whether it is deleted. Their orders predate the trip
    /// or deletion (no order joins such a group) and must be pulled.
    pub(super) fn barred(&self, now_us: i64) -> Vec<(String, bool)> {
        let mut out: Vec<(String, bool)> = self
            .members
            .keys()
            .filter_map(|id| self.known.get(id))
            .filter(|k| k.group.barred(now_us))
            .map(|k| (k.group.id.clone(), k.group.deleted_at_us.is_some()))
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether an order may join its group now ([`OrderGroup::admit`]).
    pub(super) fn admit(&self, order: &Order, now_us: i64) -> Result<(), Refusal> {
        let Some(id) = &order.order_group_id else { return Ok(()) };
        OrderGroup::admit(self.known.get(id).map(|k| &k.group), &order.user_id, now_us)
    }
}

/// The guard of one submit: counts each fill against the groups of its two orders.
pub(super) struct Guard<'a> {
    pub live: &'a HashMap<OrderId, Order>,
    pub groups: &'a mut Groups,
    pub rules: &'a MarketRules,
    pub now_us: i64,
    /// Groups this submit tripped, with the limit each went past.
    pub tripped: &'a mut Vec<(String, Breach)>,
}

impl Guard<'_> {
    /// Counts a fill of `book_id`'s order; true when its group trips now (or already has, in
    /// this step: its orders must not trade again).
    fn count(&mut self, book_id: OrderId, price_ticks: u32, size: i64, cancel: &mut Vec<OrderId>) -> bool {
        let Some(order) = self.live.get(&book_id) else { return false };
        let Some(id) = &order.order_group_id else { return false };
        let Some(known) = self.groups.known.get_mut(id) else { return false };
        if self.tripped.iter().any(|(t, _)| t == id) {
            return true;
        }
        if known.group.barred(self.now_us) {
            // Pulled before any request runs ([`super::Exchange::pull_barred`]); should one
            // still trade, it trades no more.
            if let Some(members) = self.groups.members.get(id) {
                cancel.extend(members.iter().copied());
            }
            return true;
        }
        let price = self.rules.own_price(order.outcome, price_ticks);
        let fill = GroupFill::new(self.now_us, order.side, price, Size::from_micros(size));
        known.window.count(&known.group, fill, self.now_us);
        let Some(breach) = known.window.breach(&known.group.limits) else { return false };
        known.group.trip(self.now_us);
        known.window.clear();
        self.tripped.push((id.clone(), breach));
        if let Some(members) = self.groups.members.get(id) {
            cancel.extend(members.iter().copied());
        }
        true
    }
}

impl FillGuard for Guard<'_> {
    fn after_fill(
        &mut self,
        taker: OrderId,
        maker: OrderId,
        price_ticks: u32,
        size: i64,
        cancel: &mut Vec<OrderId>,
    ) -> bool {
        if self.groups.known.is_empty() {
            return false;
        }
        self.count(maker, price_ticks, size, cancel);
        self.count(taker, price_ticks, size, cancel)
    }
}
