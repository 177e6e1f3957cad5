//! What a batch writes, kept as rows until its transaction runs. Batches built ahead merge
//! theirs into their group's, so a group commits each table in one statement however many
//! batches it holds, as one batch of the same requests would (its rows are one parameter,
//! so the statement's text is the same for every group).

use std::collections::HashMap;

use kairos_domain::{Fill, Order, OrderGroup};
use kairos_platform::storage::{Script, ledger, order_groups, orders, paper_log};

#[derive(Debug, Default)]
pub(super) struct Writes {
    pub(super) ledger: ledger::Planned,
    /// Each order once, in its last state.
    orders: Vec<Order>,
    /// Where each order is in `orders`.
    order_at: HashMap<String, usize>,
    pub(super) fills: Vec<Fill>,
    /// Each order group once, in its last state.
    groups: Vec<OrderGroup>,
    pub(super) log: Vec<paper_log::Row>,
}

impl Writes {
    /// Saves the order (replacing an earlier state of it).
    pub(super) fn order(&mut self, order: Order) {
        match self.order_at.get(&order.id) {
            Some(&i) => self.orders[i] = order,
            None => {
                self.order_at.insert(order.id.clone(), self.orders.len());
                self.orders.push(order);
            }
        }
    }

    /// Saves the group's state (replacing an earlier one).
    pub(super) fn group(&mut self, group: OrderGroup) {
        match self.groups.iter_mut().find(|g| g.id == group.id) {
            Some(g) => *g = group,
            None => self.groups.push(group),
        }
    }

    /// Appends the writes of a batch built after these.
    pub(super) fn merge(&mut self, later: Writes) {
        self.ledger.merge(later.ledger);
        for order in later.orders {
            self.order(order);
        }
        self.fills.extend(later.fills);
        for group in later.groups {
            self.group(group);
        }
        self.log.extend(later.log);
    }

    /// Adds every write to `script`: orders before the fills that name them.
    pub(super) fn add_to(self, script: &mut Script<'_>) {
        self.ledger.add_to(script);
        orders::save_to(script, &self.orders.iter().collect::<Vec<_>>());
        orders::insert_fills_to(script, &self.fills);
        order_groups::save_state_to(script, &self.groups.iter().collect::<Vec<_>>());
        paper_log::append_to(script, &self.log);
    }
}
