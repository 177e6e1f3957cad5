//! A central limit order book for one outcome, in integer ticks and micro-shares: price-time
//! priority, partial fills, limit and market orders, GTC/GTD/IOC/FOK, post-only, self-trade
//! prevention. Pure and synchronous: the paper venue feeds it orders one at a time (one
//! matcher per market) and persists the events it returns before publishing them.
//!
//! Binary markets match complementary orders the way Polymarket's CLOB does: the book is kept
//! in terms of outcome 0, and an order on outcome 1 enters as its mirror ([`to_book_terms`]):
//! buying NO at `q` is selling YES at `1 − q`, so a YES buyer at `p` and a NO buyer at `1 − p`
//! meet (the venue mints the pair when both sides are buys).
//!
//! Layout, for speed: one level per tick in a flat array (a market has at most 10 000 ticks),
//! each level a FIFO of slots in a slab; a cancel marks its slot dead and leaves it in the FIFO,
//! and matching frees dead slots as it meets them, so neither cancel nor match searches a queue.

use std::collections::{HashMap, VecDeque};

/// An order id, unique within the book (the venue maps its own ids to these).
pub type OrderId = u64;
/// Who owns an order, for self-trade prevention.
pub type OwnerId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    /// Rests until cancelled.
    Gtc,
    /// Rests until cancelled or `expires_at_us` (see [`OrderBook::expire`]).
    Gtd { expires_at_us: i64 },
    /// Fills what it can at once; the rest is cancelled.
    Ioc,
    /// Fills entirely at once or not at all.
    Fok,
}

/// Self-trade prevention: what happens when an order would match one of its owner's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stp {
    CancelNewest,
    CancelOldest,
    CancelBoth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    pub id: OrderId,
    pub owner: OwnerId,
    pub side: Side,
    /// Limit price in ticks (1 ..= ticks-1). A market order gives its worst acceptable price.
    pub price_ticks: u32,
    /// Micro-shares.
    pub size: i64,
    pub tif: TimeInForce,
    pub post_only: bool,
    pub stp: Stp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    Requested,
    /// The unfilled rest of an IOC or market order.
    Unfilled,
    SelfTrade,
    Expired,
    /// Market-maker protection: the order's group went past a limit ([`FillGuard`]).
    Protection,
}

/// Looks at each fill as it happens, inside the match: what it names is cancelled before the
/// taker meets the next resting order, so nothing of a tripped group trades after the trip.
pub trait FillGuard {
    /// Called after each fill. Pushes onto `cancel` the resting orders to pull now (ids this
    /// book does not hold are ignored); returns whether the taker must stop, its rest cancelled.
    fn after_fill(
        &mut self,
        taker: OrderId,
        maker: OrderId,
        price_ticks: u32,
        size: i64,
        cancel: &mut Vec<OrderId>,
    ) -> bool;
}

/// The guard of a book without protection: it never acts.
#[derive(Debug, Clone, Copy)]
pub struct NoGuard;

impl FillGuard for NoGuard {
    #[inline]
    fn after_fill(&mut self, _: OrderId, _: OrderId, _: u32, _: i64, _: &mut Vec<OrderId>) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    InvalidPrice,
    InvalidSize,
    DuplicateId,
    /// A post-only order that would have taken liquidity.
    PostOnlyWouldCross,
    /// A fill-or-kill order that could not fill entirely.
    FokUnfillable,
    /// GTD already expired on arrival.
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `size` traded at the maker's price.
    Fill {
        taker: OrderId,
        maker: OrderId,
        maker_owner: OwnerId,
        price_ticks: u32,
        size: i64,
        maker_remaining: i64,
    },
    /// The order (or its rest) is on the book.
    Rested {
        id: OrderId,
        price_ticks: u32,
        remaining: i64,
    },
    Cancelled {
        id: OrderId,
        remaining: i64,
        reason: CancelReason,
    },
    Rejected {
        id: OrderId,
        reason: RejectReason,
    },
}

/// One price level as published: (price in ticks, volume in micro-shares).
pub type Level2 = (u32, i64);

#[derive(Debug, Clone, Copy)]
struct Slot {
    id: OrderId,
    owner: OwnerId,
    price: u32,
    remaining: i64,
    expires_at_us: Option<i64>,
    alive: bool,
}

#[derive(Debug, Default, Clone)]
struct Level {
    queue: VecDeque<u32>,
    /// Sum of the live orders' remaining size.
    volume: i64,
    /// Cancelled slots still in `queue`; compacted away when they outnumber the live ones.
    dead: usize,
}

/// Compaction starts once a level holds this many dead slots and they are the majority.
const COMPACT_AFTER: usize = 16;

#[derive(Debug, Clone)]
pub struct OrderBook {
    /// Prices are 1 ..= ticks-1 (1 tick = the market's tick size; `ticks` ticks = 1).
    ticks: u32,
    bids: Vec<Level>,
    asks: Vec<Level>,
    /// Highest bid with volume, 0 when none.
    best_bid: u32,
    /// Lowest ask with volume, `ticks` when none.
    best_ask: u32,
    slots: Vec<Slot>,
    free: Vec<u32>,
    index: HashMap<OrderId, (Side, u32)>,
    /// What a guard asked to cancel, reused so a fill allocates nothing.
    pulled: Vec<OrderId>,
}

/// The side and price at which an order on `outcome` enters the book of a binary market
/// (outcome 1 mirrors into outcome 0's terms).
pub fn to_book_terms(outcome: u32, side: Side, price_ticks: u32, ticks: u32) -> (Side, u32) {
    if outcome == 0 {
        return (side, price_ticks);
    }
    let mirrored = ticks.saturating_sub(price_ticks);
    match side {
        Side::Buy => (Side::Sell, mirrored),
        Side::Sell => (Side::Buy, mirrored),
    }
}

impl OrderBook {
    /// A book whose prices are 1 ..= `ticks`-1 (100 for tick 0.01). `ticks` must be 2 ..= 100 000.
    pub fn new(ticks: u32) -> OrderBook {
        let ticks = ticks.clamp(2, 100_000);
        let levels = usize::try_from(ticks).unwrap_or(usize::MAX);
        OrderBook {
            ticks,
            bids: vec![Level::default(); levels],
            asks: vec![Level::default(); levels],
            best_bid: 0,
            best_ask: ticks,
            slots: Vec::new(),
            free: Vec::new(),
            index: HashMap::new(),
            pulled: Vec::new(),
        }
    }

    pub fn ticks(&self) -> u32 {
        self.ticks
    }

    /// (price, volume) of the best bid.
    pub fn best_bid(&self) -> Option<(u32, i64)> {
        (self.best_bid > 0).then(|| (self.best_bid, self.bids[self.best_bid as usize].volume))
    }

    /// (price, volume) of the best ask.
    pub fn best_ask(&self) -> Option<(u32, i64)> {
        (self.best_ask < self.ticks).then(|| (self.best_ask, self.asks[self.best_ask as usize].volume))
    }

    pub fn open_orders(&self) -> usize {
        self.index.len()
    }

    /// Levels with volume, best first: (bids, asks), at most `depth` a side.
    pub fn depth(&self, depth: usize) -> (Vec<Level2>, Vec<Level2>) {
        let bids = (1..self.ticks)
            .rev()
            .filter_map(|p| {
                let v = self.bids[p as usize].volume;
                (v > 0).then_some((p, v))
            })
            .take(depth)
            .collect();
        let asks = (1..self.ticks)
            .filter_map(|p| {
                let v = self.asks[p as usize].volume;
                (v > 0).then_some((p, v))
            })
            .take(depth)
            .collect();
        (bids, asks)
    }

    /// Submits an order; appends what happened to `events`.
    pub fn submit(&mut self, order: NewOrder, now_us: i64, events: &mut Vec<Event>) {
        self.submit_guarded(order, now_us, events, &mut NoGuard)
    }

    /// [`OrderBook::submit`] with a guard that sees each fill as it happens.
    pub fn submit_guarded(
        &mut self,
        order: NewOrder,
        now_us: i64,
        events: &mut Vec<Event>,
        guard: &mut impl FillGuard,
    ) {
        if order.price_ticks == 0 || order.price_ticks >= self.ticks {
            return events.push(Event::Rejected { id: order.id, reason: RejectReason::InvalidPrice });
        }
        if order.size <= 0 {
            return events.push(Event::Rejected { id: order.id, reason: RejectReason::InvalidSize });
        }
        if self.index.contains_key(&order.id) {
            return events.push(Event::Rejected { id: order.id, reason: RejectReason::DuplicateId });
        }
        if let TimeInForce::Gtd { expires_at_us } = order.tif
            && expires_at_us <= now_us
        {
            return events.push(Event::Rejected { id: order.id, reason: RejectReason::Expired });
        }
        let crosses = match order.side {
            Side::Buy => self.best_ask <= order.price_ticks,
            Side::Sell => self.best_bid >= order.price_ticks && self.best_bid > 0,
        };
        if order.post_only && crosses {
            return events.push(Event::Rejected { id: order.id, reason: RejectReason::PostOnlyWouldCross });
        }
        if order.tif == TimeInForce::Fok && self.fillable(&order, now_us) < order.size {
            return events.push(Event::Rejected { id: order.id, reason: RejectReason::FokUnfillable });
        }
        let mut remaining = order.size;
        let mut taker_cancelled = None;
        if crosses {
            (remaining, taker_cancelled) = self.take(&order, remaining, now_us, events, guard);
        }
        if let Some(reason) = taker_cancelled {
            return events.push(Event::Cancelled { id: order.id, remaining, reason });
        }
        if remaining == 0 {
            return;
        }
        match order.tif {
            TimeInForce::Ioc | TimeInForce::Fok => {
                events.push(Event::Cancelled { id: order.id, remaining, reason: CancelReason::Unfilled })
            }
            TimeInForce::Gtc | TimeInForce::Gtd { .. } => {
                let expires_at_us = match order.tif {
                    TimeInForce::Gtd { expires_at_us } => Some(expires_at_us),
                    _ => None,
                };
                self.rest(order, remaining, expires_at_us);
                events.push(Event::Rested { id: order.id, price_ticks: order.price_ticks, remaining });
            }
        }
    }

    /// Volume the order could take now, leaving out its owner's own orders.
    fn fillable(&self, order: &NewOrder, now_us: i64) -> i64 {
        let mut total = 0;
        let prices: Box<dyn Iterator<Item = u32>> = match order.side {
            Side::Buy => Box::new(self.best_ask..=order.price_ticks.min(self.ticks - 1)),
            Side::Sell => Box::new((order.price_ticks.max(1)..=self.best_bid).rev()),
        };
        let book = match order.side {
            Side::Buy => &self.asks,
            Side::Sell => &self.bids,
        };
        for p in prices {
            for &i in &book[p as usize].queue {
                let s = &self.slots[i as usize];
                if s.expires_at_us.is_some_and(|t| t <= now_us) {
                    continue;
                }
                if s.alive && s.owner == order.owner && order.stp != Stp::CancelOldest {
                    // Matching would stop at this order: no complete fill is possible.
                    return total;
                }
                if s.alive && s.owner != order.owner {
                    total += s.remaining;
                    if total >= order.size {
                        return total;
                    }
                }
            }
        }
        total
    }

    /// Matches against the other side; returns (remaining, why the taker's rest is cancelled
    /// when self-trade prevention or the guard stopped it).
    fn take(
        &mut self,
        order: &NewOrder,
        mut remaining: i64,
        now_us: i64,
        events: &mut Vec<Event>,
        guard: &mut impl FillGuard,
    ) -> (i64, Option<CancelReason>) {
        loop {
            let price = match order.side {
                Side::Buy if self.best_ask <= order.price_ticks => self.best_ask,
                Side::Sell if self.best_bid > 0 && self.best_bid >= order.price_ticks => self.best_bid,
                _ => return (remaining, None),
            };
            let maker_side = match order.side {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            };
            while remaining > 0 {
                let level = match maker_side {
                    Side::Sell => &mut self.asks[price as usize],
                    Side::Buy => &mut self.bids[price as usize],
                };
                let Some(&slot_index) = level.queue.front() else { break };
                let slot = self.slots[slot_index as usize];
                if !slot.alive {
                    level.queue.pop_front();
                    level.dead = level.dead.saturating_sub(1);
                    self.free.push(slot_index);
                    continue;
                }
                // A GTD order past its time never trades, even before `expire` runs.
                if slot.expires_at_us.is_some_and(|t| t <= now_us) {
                    self.cancel_slot(slot_index, CancelReason::Expired, events);
                    continue;
                }
                if slot.owner == order.owner {
                    match order.stp {
                        Stp::CancelNewest => return (remaining, Some(CancelReason::SelfTrade)),
                        Stp::CancelOldest => {
                            self.cancel_slot(slot_index, CancelReason::SelfTrade, events);
                            continue;
                        }
                        Stp::CancelBoth => {
                            self.cancel_slot(slot_index, CancelReason::SelfTrade, events);
                            return (remaining, Some(CancelReason::SelfTrade));
                        }
                    }
                }
                let qty = remaining.min(slot.remaining);
                remaining -= qty;
                let maker_remaining = slot.remaining - qty;
                let level = match maker_side {
                    Side::Sell => &mut self.asks[price as usize],
                    Side::Buy => &mut self.bids[price as usize],
                };
                level.volume -= qty;
                if maker_remaining == 0 {
                    level.queue.pop_front();
                    self.free.push(slot_index);
                    self.slots[slot_index as usize].alive = false;
                    self.index.remove(&slot.id);
                } else {
                    self.slots[slot_index as usize].remaining = maker_remaining;
                }
                events.push(Event::Fill {
                    taker: order.id,
                    maker: slot.id,
                    maker_owner: slot.owner,
                    price_ticks: price,
                    size: qty,
                    maker_remaining,
                });
                let mut pulled = std::mem::take(&mut self.pulled);
                pulled.clear();
                let stop = guard.after_fill(order.id, slot.id, price, qty, &mut pulled);
                for id in &pulled {
                    self.cancel_with(*id, CancelReason::Protection, events);
                }
                self.pulled = pulled;
                if stop {
                    self.settle_level(maker_side, price);
                    return (remaining, (remaining > 0).then_some(CancelReason::Protection));
                }
            }
            self.settle_level(maker_side, price);
            if remaining == 0 {
                return (0, None);
            }
        }
    }

    /// After a level may have emptied: drop its dead slots and move the best price on.
    fn settle_level(&mut self, side: Side, price: u32) {
        let level = match side {
            Side::Sell => &mut self.asks[price as usize],
            Side::Buy => &mut self.bids[price as usize],
        };
        if level.volume != 0 {
            return;
        }
        level.dead = 0;
        for i in level.queue.drain(..) {
            self.free.push(i);
        }
        match side {
            Side::Sell if price == self.best_ask => {
                let mut p = price;
                while p < self.ticks && self.asks[p as usize].volume == 0 {
                    p += 1;
                }
                self.best_ask = p;
            }
            Side::Buy if price == self.best_bid => {
                let mut p = price;
                while p > 0 && self.bids[p as usize].volume == 0 {
                    p -= 1;
                }
                self.best_bid = p;
            }
            _ => {}
        }
    }

    fn rest(&mut self, order: NewOrder, remaining: i64, expires_at_us: Option<i64>) {
        let slot =
            Slot { id: order.id, owner: order.owner, price: order.price_ticks, remaining, expires_at_us, alive: true };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let p = order.price_ticks;
        match order.side {
            Side::Buy => {
                let level = &mut self.bids[p as usize];
                level.queue.push_back(index);
                level.volume += remaining;
                self.best_bid = self.best_bid.max(p);
            }
            Side::Sell => {
                let level = &mut self.asks[p as usize];
                level.queue.push_back(index);
                level.volume += remaining;
                self.best_ask = self.best_ask.min(p);
            }
        }
        self.index.insert(order.id, (order.side, index));
    }

    fn cancel_slot(&mut self, slot_index: u32, reason: CancelReason, events: &mut Vec<Event>) {
        let slot = self.slots[slot_index as usize];
        if !slot.alive {
            return;
        }
        let Some((side, _)) = self.index.remove(&slot.id) else { return };
        self.slots[slot_index as usize].alive = false;
        let level = match side {
            Side::Sell => &mut self.asks[slot.price as usize],
            Side::Buy => &mut self.bids[slot.price as usize],
        };
        level.volume -= slot.remaining;
        level.dead += 1;
        // Dead slots at the front are freed now; others wait for matching to reach them, the
        // level to empty, or a compaction once they are the majority (so place-and-cancel
        // behind a resting order cannot grow a queue without bound).
        while let Some(&front) = level.queue.front() {
            if self.slots[front as usize].alive {
                break;
            }
            level.queue.pop_front();
            level.dead -= 1;
            self.free.push(front);
        }
        if level.dead >= COMPACT_AFTER && level.dead * 2 > level.queue.len() {
            let slots = &self.slots;
            let free = &mut self.free;
            level.queue.retain(|&i| {
                let alive = slots[i as usize].alive;
                if !alive {
                    free.push(i);
                }
                alive
            });
            level.dead = 0;
        }
        events.push(Event::Cancelled { id: slot.id, remaining: slot.remaining, reason });
        self.settle_level(side, slot.price);
    }

    /// Cancels a resting order; false when it is not on the book.
    pub fn cancel(&mut self, id: OrderId, events: &mut Vec<Event>) -> bool {
        self.cancel_with(id, CancelReason::Requested, events)
    }

    /// [`OrderBook::cancel`] with the reason the event should carry.
    pub fn cancel_with(&mut self, id: OrderId, reason: CancelReason, events: &mut Vec<Event>) -> bool {
        match self.index.get(&id) {
            Some(&(_, slot_index)) => {
                self.cancel_slot(slot_index, reason, events);
                true
            }
            None => false,
        }
    }

    /// Puts an order that was resting before a restart back at the end of its level, without
    /// matching; `remaining` is what was left of it. Orders restored in their original time
    /// order rebuild the queues exactly.
    pub fn restore(&mut self, order: NewOrder, remaining: i64) {
        if order.price_ticks == 0
            || order.price_ticks >= self.ticks
            || remaining <= 0
            || self.index.contains_key(&order.id)
        {
            return;
        }
        let expires_at_us = match order.tif {
            TimeInForce::Gtd { expires_at_us } => Some(expires_at_us),
            _ => None,
        };
        self.rest(order, remaining, expires_at_us);
    }

    /// Lowers a resting order's size in place, keeping its queue position; false when it is not
    /// on the book or `new_remaining` is not smaller and positive (anything else is a cancel
    /// and a new order, which loses priority).
    pub fn reduce(&mut self, id: OrderId, new_remaining: i64) -> bool {
        let Some(&(side, slot_index)) = self.index.get(&id) else { return false };
        let slot = self.slots[slot_index as usize];
        if new_remaining <= 0 || new_remaining >= slot.remaining {
            return false;
        }
        let level = match side {
            Side::Sell => &mut self.asks[slot.price as usize],
            Side::Buy => &mut self.bids[slot.price as usize],
        };
        level.volume -= slot.remaining - new_remaining;
        self.slots[slot_index as usize].remaining = new_remaining;
        true
    }

    /// Cancels every GTD order whose time has come.
    pub fn expire(&mut self, now_us: i64, events: &mut Vec<Event>) {
        let due: Vec<u32> = self
            .index
            .values()
            .map(|&(_, i)| i)
            .filter(|&i| self.slots[i as usize].expires_at_us.is_some_and(|t| t <= now_us))
            .collect();
        for i in due {
            self.cancel_slot(i, CancelReason::Expired, events);
        }
    }
}

#[cfg(test)]
mod tests;
