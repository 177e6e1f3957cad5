//! The paper venue's exchange state and rules, synchronous and in memory: the books of every
//! market it matches, its live orders, and what each request does to them and to the money.
//! It never touches the database: each request appends what must be written to a [`Batch`],
//! which the sequencer commits in one transaction before anyone hears of it. When a commit
//! fails, the sequencer throws this state away and rebuilds it from the database.

use std::collections::{HashMap, HashSet};

use kairos_domain::Refusal;
use kairos_domain::ledger::{COLLATERAL, Transfer};
use kairos_domain::order::share_asset;
use kairos_domain::{
    Collateral, Fill, Finality, Liquidity, Order, OrderStatus, OrderType, Price, Side, Size, Stp, TimeInForce,
    money::MICROS_PER_UNIT, new_id,
};

use kairos_domain::order_group::{Breach, GroupFill, GroupWindow, OrderGroup};

use crate::order_book::{self as book, CancelReason, Event, OrderBook, RejectReason};
use crate::settlement::{self, Fees, Party};

/// What the exchange needs to know of a market. Built with [`MarketRules::new`], which refuses
/// a tick the books cannot index, so the engine has no fallback values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRules {
    pub id: String,
    pub tick: Price,
    pub outcomes: u32,
    /// Ticks in one unit: the books' price range.
    ticks: u32,
}

/// A market the engine cannot trade.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("market {id}: {why}")]
pub struct InvalidMarket {
    pub id: String,
    pub why: &'static str,
}

impl MarketRules {
    /// The tick must divide one unit (prices are whole ticks between 0 and 1); a market has at
    /// least two outcomes.
    pub fn new(id: &str, tick: Price, outcomes: u32) -> Result<MarketRules, InvalidMarket> {
        let invalid = |why| InvalidMarket { id: id.to_string(), why };
        let tick_micros = tick.micros();
        if tick_micros <= 0 || MICROS_PER_UNIT % tick_micros != 0 {
            return Err(invalid("the tick does not divide one unit"));
        }
        if outcomes < 2 {
            return Err(invalid("a market needs at least two outcomes"));
        }
        let ticks = u32::try_from(MICROS_PER_UNIT / tick_micros).map_err(|_| invalid("too many ticks"))?;
        Ok(MarketRules { id: id.to_string(), tick, outcomes, ticks })
    }

    /// Binary markets share one book (complementary matching); others have a book per outcome.
    fn binary(&self) -> bool {
        self.outcomes == 2
    }

    fn ticks(&self) -> u32 {
        self.ticks
    }

    fn book_of(&self, outcome: u32) -> usize {
        if self.binary() { 0 } else { outcome as usize }
    }

    /// The price in ticks: `None` off the grid or outside (0, 1).
    fn to_ticks(&self, price: Price) -> Option<u32> {
        let (price, tick) = (price.micros(), self.tick.micros());
        if price <= 0 || price % tick != 0 {
            return None;
        }
        u32::try_from(price / tick).ok().filter(|t| *t < self.ticks)
    }

    /// The price of `ticks` in the book's terms (outcome 0's for a binary market).
    pub fn price_of(&self, ticks: u32) -> Price {
        Price::from_micros(i64::from(ticks) * self.tick.micros())
    }

    /// The price in `outcome`'s own terms of a match at `book_ticks`.
    fn own_price(&self, outcome: u32, book_ticks: u32) -> Price {
        let p = self.price_of(book_ticks);
        if self.binary() && outcome == 1 { Price::from_micros(MICROS_PER_UNIT) - p } else { p }
    }
}

/// The account limits (open orders, price band, exposure); zero turns one off. The checks are
/// `kairos_domain::risk::check_account`, shared with the Polymarket venue.
pub type Limits = kairos_domain::risk::AccountLimits;

/// A trade as streamed: the price in outcome 0's terms for binary markets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub trade_id: String,
    pub market_id: String,
    pub book: usize,
    pub price: Price,
    pub size: Size,
    /// The taker's side in book terms.
    pub taker_side: Side,
    pub at_us: i64,
}

/// What one batch of requests writes; committed as one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    /// Available balances of the users of this batch, `(user id, asset)`, as read at its start
    /// and moved by its reservations.
    pub balances: HashMap<(String, String), i64>,
    pub transfers: Vec<Transfer>,
    /// Orders created or changed (by id), each saved once with its final state.
    pub changed: Vec<String>,
    changed_set: HashSet<String>,
    /// Orders that left the books in this batch (they are no longer in `live`).
    pub finished: HashMap<String, Order>,
    pub fills: Vec<Fill>,
    pub trades: Vec<Trade>,
    /// Books whose levels changed: (market, book).
    pub touched: HashSet<(String, usize)>,
    /// Client order ids already seen in this batch or found in the database: (user, id) → order id.
    pub client_ids: HashMap<(String, String), String>,
    /// Orders found by the idempotency check, for replies.
    pub known: HashMap<String, Order>,
    /// Markets another instance holds: market → its address.
    pub moved: HashMap<String, String>,
    /// Markets named by requests that do not exist.
    pub unknown: HashSet<String>,
    /// Broken invariants met while applying the batch (an amount that overflowed): a batch with
    /// any must not be committed.
    pub faults: Vec<String>,
    /// Order groups whose state changed (a trip, a reset, a deletion): saved with the batch.
    pub groups: Vec<String>,
    /// Groups that tripped in this batch and the limit each went past.
    pub trips: Vec<(String, Breach)>,
    pub now_us: i64,
}

impl Batch {
    pub fn new(now_us: i64) -> Batch {
        Batch { now_us, ..Batch::default() }
    }

    fn mark(&mut self, id: &str) {
        if self.changed_set.insert(id.to_string()) {
            self.changed.push(id.to_string());
        }
    }

    /// Notes a group whose state changed, to save with the batch.
    fn mark_group(&mut self, id: &str) {
        if !self.groups.iter().any(|g| g == id) {
            self.groups.push(id.to_string());
        }
    }

    fn balance(&self, user_id: &str, asset: &str) -> i64 {
        self.balances.get(&(user_id.to_string(), asset.to_string())).copied().unwrap_or(0)
    }

    /// Holds `amount` (may be negative: a release) of `asset` for an order.
    fn reserve(&mut self, order: &Order, asset: &str, amount: i64) -> Result<(), Refusal> {
        let have = self.balance(&order.user_id, asset);
        if amount > have {
            return Err(Refusal::Insufficient { asset: asset_label(asset), needed: amount, available: have });
        }
        *self.balances.entry((order.user_id.clone(), asset.to_string())).or_insert(0) -= amount;
        self.transfers.extend(settlement::reservation(&order.user_id, asset, amount, &order.id));
        Ok(())
    }
}

fn asset_label(asset: &str) -> String {
    if asset == COLLATERAL { "collateral".to_string() } else { "shares".to_string() }
}

/// (price, size) levels, best first.
pub type Ladder = Vec<(Price, Size)>;
/// (bids, asks).
pub type Ladders = (Ladder, Ladder);

/// A market matched here: its rules, its books (one for binary markets) and their last trades.
#[derive(Debug)]
struct MarketBooks {
    rules: MarketRules,
    books: Vec<OrderBook>,
    last_trade: Vec<Option<u32>>,
}

#[derive(Debug)]
pub struct Exchange {
    fees: Fees,
    limits: Limits,
    markets: HashMap<String, MarketBooks>,
    /// Markets resolved while this exchange ran: never matched again.
    closed: HashSet<String>,
    /// Live orders by book id.
    live: HashMap<u64, Order>,
    ids: HashMap<String, u64>,
    owners: HashMap<String, u64>,
    open_per_user: HashMap<String, u32>,
    /// Collateral held by a user's open buys, per market.
    exposure: HashMap<(String, String), i64>,
    /// Live orders with an expiry (GTD): the sequencer looks for due ones only when there are.
    expiring: usize,
    next_book_id: u64,
    next_priority: i64,
    events: Vec<Event>,
    /// Market-maker protection: the order groups loaded and their live orders.
    groups: groups::Groups,
    /// Groups the current submit tripped (reused between submits).
    tripped: Vec<(String, Breach)>,
    /// What entered from the database since the sequencer last took it.
    journal: Journal,
}

/// What entered an exchange from the database rather than through its requests: the paper
/// log records it with the next batch, so a replay can put the same state where the live
/// engine had it (markets move between instances; a failed commit rebuilds the exchange).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Journal {
    /// The exchange is new: the process started, or a failed commit made it rebuild.
    pub fresh: bool,
    /// Markets loaded with their live orders, or dropped (another instance holds them now), in
    /// order.
    pub markets: Vec<MarketChange>,
    /// Order groups as loaded, with the fills that counted then.
    pub groups: Vec<(OrderGroup, Vec<GroupFill>)>,
}

impl Journal {
    pub fn is_empty(&self) -> bool {
        !self.fresh && self.markets.is_empty() && self.groups.is_empty()
    }
}

/// A market entering or leaving an exchange.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MarketChange {
    Loaded(MarketLoad),
    /// Dropped from memory with its live orders (the database keeps them).
    Forgotten(String),
}

/// A market loaded from the database: its rules, or that it was resolved (never matched).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MarketLoad {
    pub id: String,
    pub tick: Price,
    pub outcomes: u32,
    pub resolved: bool,
}

impl Exchange {
    pub fn new(fees: Fees, limits: Limits, next_priority: i64) -> Exchange {
        Exchange {
            fees,
            limits,
            markets: HashMap::new(),
            closed: HashSet::new(),
            live: HashMap::new(),
            ids: HashMap::new(),
            owners: HashMap::new(),
            open_per_user: HashMap::new(),
            exposure: HashMap::new(),
            expiring: 0,
            next_book_id: 1,
            next_priority: next_priority + 1,
            events: Vec::new(),
            groups: groups::Groups::default(),
            tripped: Vec::new(),
            journal: Journal { fresh: true, ..Journal::default() },
        }
    }

    pub fn add_market(&mut self, rules: MarketRules) {
        if self.markets.contains_key(&rules.id) {
            return;
        }
        let n = if rules.binary() { 1 } else { rules.outcomes as usize };
        let books = (0..n).map(|_| OrderBook::new(rules.ticks())).collect();
        self.markets.insert(rules.id.clone(), MarketBooks { rules, books, last_trade: vec![None; n] });
    }

    /// Whether the market is known here, open or resolved.
    pub fn has_market(&self, id: &str) -> bool {
        self.markets.contains_key(id) || self.closed.contains(id)
    }

    /// Drops a market and its live orders from memory (its lease went to another instance;
    /// the database keeps them). Returns whether it was here.
    pub fn forget_market(&mut self, id: &str) -> bool {
        let ours: Vec<u64> = self.live.iter().filter(|(_, o)| o.market_id == id).map(|(n, _)| *n).collect();
        for n in ours {
            self.set_reserved(n, 0);
            self.untrack(n);
        }
        let here = self.markets.remove(id).is_some();
        if here {
            self.journal.markets.push(MarketChange::Forgotten(id.to_string()));
        }
        here
    }

    /// The markets where a user has live orders here.
    pub fn markets_of(&self, user_id: &str) -> Vec<String> {
        let mut out: Vec<String> =
            self.live.values().filter(|o| o.user_id == user_id).map(|o| o.market_id.clone()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The markets where an order group has live orders here.
    pub fn markets_of_group(&self, group_id: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .groups
            .members(group_id)
            .iter()
            .filter_map(|n| self.live.get(n).map(|o| o.market_id.clone()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Marks a market resolved: orders for it are refused from now on.
    pub fn close_market(&mut self, id: &str) {
        self.markets.remove(id);
        self.closed.insert(id.to_string());
    }

    pub fn live_order(&self, id: &str) -> Option<&Order> {
        self.ids.get(id).and_then(|n| self.live.get(n))
    }

    pub fn live_orders(&self) -> impl Iterator<Item = &Order> {
        self.live.values()
    }

    /// (bids, asks) of a book, best first.
    pub fn depth(&self, market_id: &str, book: usize, levels: usize) -> Option<Ladders> {
        let m = self.markets.get(market_id)?;
        let (bids, asks) = m.books.get(book)?.depth(levels);
        let conv =
            |v: Vec<(u32, i64)>| v.into_iter().map(|(p, s)| (m.rules.price_of(p), Size::from_micros(s))).collect();
        Some((conv(bids), conv(asks)))
    }

    /// Every market matched here with its number of books.
    pub fn markets(&self) -> impl Iterator<Item = (&str, usize)> {
        self.markets.iter().map(|(id, m)| (id.as_str(), m.books.len()))
    }

    /// Whether any live order has an expiry (the sequencer checks expiries only then).
    pub fn has_expiring(&self) -> bool {
        self.expiring > 0
    }

    fn owner(&mut self, user_id: &str) -> u64 {
        let next = self.owners.len() as u64 + 1;
        *self.owners.entry(user_id.to_string()).or_insert(next)
    }

    /// Puts a live order from the database back on its book without matching (books are
    /// rebuilt in priority order, so queues come back as they were).
    pub fn restore(&mut self, order: Order) -> Result<(), Refusal> {
        let Some(m) = self.markets.get_mut(&order.market_id) else { return Err(Refusal::UnknownMarket) };
        let rules = m.rules.clone();
        let (side, price) = book_terms(&rules, &order, order.price).ok_or(Refusal::PriceOffGrid)?;
        let id = self.next_book_id;
        self.next_book_id += 1;
        self.next_priority = self.next_priority.max(order.priority + 1);
        let owner = self.owner(&order.user_id);
        let m = self.markets.get_mut(&order.market_id).expect("market just looked up");
        m.books[rules.book_of(order.outcome)].restore(
            book::NewOrder {
                id,
                owner,
                side,
                price_ticks: price,
                size: order.size.micros(),
                tif: tif_of(&order),
                post_only: order.post_only,
                stp: stp_of(order.stp),
            },
            order.remaining().micros(),
        );
        self.track(id, order);
        Ok(())
    }

    fn track(&mut self, book_id: u64, order: Order) {
        *self.open_per_user.entry(order.user_id.clone()).or_default() += 1;
        self.expiring += usize::from(order.expires_at_us.is_some());
        if order.side == Side::Buy {
            *self.exposure.entry((order.user_id.clone(), order.market_id.clone())).or_default() +=
                order.reserved_micros;
        }
        self.ids.insert(order.id.clone(), book_id);
        if let Some(group) = &order.order_group_id {
            self.groups.join(group, book_id);
        }
        self.live.insert(book_id, order);
    }

    fn untrack(&mut self, book_id: u64) -> Option<Order> {
        let order = self.live.remove(&book_id)?;
        self.ids.remove(&order.id);
        if let Some(group) = &order.order_group_id {
            self.groups.leave(group, book_id);
        }
        self.expiring -= usize::from(order.expires_at_us.is_some());
        if let Some(n) = self.open_per_user.get_mut(&order.user_id) {
            *n = n.saturating_sub(1);
        }
        if order.side == Side::Buy
            && let Some(e) = self.exposure.get_mut(&(order.user_id.clone(), order.market_id.clone()))
        {
            *e -= order.reserved_micros;
        }
        Some(order)
    }

    /// Changes a live order's reservation, keeping the exposure sums right.
    fn set_reserved(&mut self, book_id: u64, reserved: i64) {
        if let Some(o) = self.live.get_mut(&book_id) {
            if o.side == Side::Buy
                && let Some(e) = self.exposure.get_mut(&(o.user_id.clone(), o.market_id.clone()))
            {
                *e += reserved - o.reserved_micros;
            }
            o.reserved_micros = reserved;
        }
    }

    fn reference_price(&self, m: &MarketBooks, book: usize) -> Option<u32> {
        let b = &m.books[book];
        match (b.best_bid(), b.best_ask()) {
            (Some((bid, _)), Some((ask, _))) => Some((bid + ask) / 2),
            _ => m.last_trade[book],
        }
    }

    /// The account limits every order passes as it would stand after the request: open orders
    /// per account, the price band around the book's reference, and the collateral its
    /// market's open buys would hold. `resting` is the order as it rests now when the request
    /// is an amend: it is already counted, and what it holds is replaced by `hold`.
    fn account_checks(&self, order: &Order, hold: i64, resting: Option<&Order>) -> Result<(), Refusal> {
        let m = self.markets.get(&order.market_id).ok_or(Refusal::UnknownMarket)?;
        let state = kairos_domain::risk::AccountState {
            open_orders: self.open_per_user.get(&order.user_id).copied().unwrap_or(0),
            market_buys_held: Collateral::from_micros(
                self.exposure.get(&(order.user_id.clone(), order.market_id.clone())).copied().unwrap_or(0),
            ),
            reference_price: self
                .reference_price(m, m.rules.book_of(order.outcome))
                .map(|r| m.rules.own_price(order.outcome, r)),
        };
        let candidate = kairos_domain::risk::AccountOrder {
            is_limit: order.order_type == OrderType::Limit,
            price: order.price,
            hold: kairos_domain::Hold::of(order.side, hold),
            replaces_hold: resting.map(Order::reserved),
        };
        Ok(kairos_domain::risk::check_account(&self.limits, &candidate, &state)?)
    }

    /// Places a new order (status `pending`, id and client order id set, priority unset). Book
    /// rejections (post-only crossing, unfillable FOK, expired GTD) are orders with status
    /// `rejected`, not refusals: they are recorded, so a retry is answered the same way.
    pub fn place(&mut self, mut order: Order, batch: &mut Batch) -> Result<Order, Refusal> {
        let key = (order.user_id.clone(), order.client_order_id.clone());
        if let Some(existing) = batch.client_ids.get(&key).cloned() {
            let known = self.current(&existing, batch).ok_or(Refusal::NotFound)?;
            return if known.request_hash == order.request_hash {
                Ok(known)
            } else {
                Err(Refusal::ClientOrderIdReused(order.client_order_id))
            };
        }
        if self.closed.contains(&order.market_id) {
            return Err(Refusal::MarketResolved);
        }
        let rules = self.markets.get(&order.market_id).ok_or(Refusal::UnknownMarket)?.rules.clone();
        self.groups.admit(&order, batch.now_us)?;
        let book_index = rules.book_of(order.outcome);
        let (side, price_ticks) = book_terms(&rules, &order, order.price).ok_or(Refusal::PriceOffGrid)?;
        settlement::within_range(order.size, self.fees).map_err(|_| Refusal::AmountOutOfRange)?;
        // What the order holds, in its asset's micro-units: collateral for a buy, shares for a sell.
        let (asset, hold) = match order.side {
            Side::Buy => (
                COLLATERAL.to_string(),
                settlement::buy_reservation(order.price, order.size, self.fees)
                    .map_err(|_| Refusal::AmountOutOfRange)?
                    .micros(),
            ),
            Side::Sell => (share_asset(&order.market_id, order.outcome), order.size.micros()),
        };
        self.account_checks(&order, hold, None)?;
        let transfers_before = batch.transfers.len();
        batch.reserve(&order, &asset, hold)?;
        order.reserved_micros = hold;
        order.priority = self.next_priority;
        self.next_priority += 1;
        order.updated_at_us = batch.now_us;
        let book_id = self.next_book_id;
        self.next_book_id += 1;
        let owner = self.owner(&order.user_id);
        let new = book::NewOrder {
            id: book_id,
            owner,
            side,
            price_ticks,
            size: order.size.micros(),
            tif: tif_of(&order),
            post_only: order.post_only,
            stp: stp_of(order.stp),
        };
        let order_id = order.id.clone();
        let user_id = order.user_id.clone();
        batch.client_ids.insert(key, order_id.clone());
        batch.mark(&order_id);
        self.track(book_id, order);
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        self.submit(&rules, book_index, new, batch.now_us, &mut events);
        if let [Event::Rejected { reason, .. }] = events.as_slice() {
            // Nothing happened on the book: take the reservation back out of the batch.
            let reason = *reason;
            batch.transfers.truncate(transfers_before);
            *batch.balances.entry((user_id.clone(), asset.clone())).or_insert(0) += hold;
            self.set_reserved(book_id, 0);
            let mut o = self.untrack(book_id).expect("tracked above");
            o.status = OrderStatus::Rejected;
            o.reason = Some(reject_reason(reason).to_string());
            batch.finished.insert(o.id.clone(), o.clone());
            self.events = events;
            return Ok(o);
        }
        self.apply_events(&rules, book_index, &events, batch);
        self.events = events;
        self.finish_trips(batch);
        self.current(&order_id, batch).ok_or(Refusal::NotFound)
    }

    /// Submits to a book with the order groups' guard watching each fill.
    fn submit(&mut self, rules: &MarketRules, index: usize, new: book::NewOrder, now_us: i64, events: &mut Vec<Event>) {
        let Some(m) = self.markets.get_mut(&rules.id) else { return };
        let mut guard =
            groups::Guard { live: &self.live, groups: &mut self.groups, rules, now_us, tripped: &mut self.tripped };
        m.books[index].submit_guarded(new, now_us, events, &mut guard);
    }

    /// After a submit that tripped groups: cancels their orders left in other books and
    /// records the trips, in the same step as the fill that tripped them.
    fn finish_trips(&mut self, batch: &mut Batch) {
        if self.tripped.is_empty() {
            return;
        }
        for (group, breach) in std::mem::take(&mut self.tripped) {
            self.cancel_members(&group, None, batch);
            batch.mark_group(&group);
            batch.trips.push((group, breach));
        }
    }

    /// Cancels a group's live orders here, returning their ids; they carry `reason`, or
    /// [`MMP_TRIGGERED`] when it is `None`.
    fn cancel_members(&mut self, group: &str, reason: Option<&str>, batch: &mut Batch) -> Vec<String> {
        let members = self.groups.members(group);
        let ids: Vec<String> = members.iter().filter_map(|n| self.live.get(n).map(|o| o.id.clone())).collect();
        for n in members {
            self.cancel_book_order(n, CancelReason::Protection, batch);
        }
        if let Some(reason) = reason {
            for id in &ids {
                if let Some(o) = batch.finished.get_mut(id) {
                    o.reason = Some(reason.to_string());
                }
            }
        }
        ids
    }

    /// Cancels the live orders of groups that may not trade (frozen or deleted, as the
    /// database said when they were loaded): the sequencer runs it before a batch's requests,
    /// so a trip by another instance or venue holds here before anything matches.
    pub fn pull_barred(&mut self, batch: &mut Batch) {
        if self.groups.is_empty() {
            return;
        }
        for (group, deleted) in self.groups.barred(batch.now_us) {
            self.cancel_members(&group, deleted.then_some(ORDER_GROUP_DELETED), batch);
        }
    }

    /// Puts an order group as the database holds it, with the fills that still count.
    pub fn put_group(&mut self, group: OrderGroup, window: GroupWindow) {
        self.journal.groups.push((group.clone(), window.counted().copied().collect()));
        self.groups.put(group, window);
    }

    /// Notes a market the sequencer loaded from the database (for the paper log).
    pub fn note_load(&mut self, load: MarketLoad) {
        self.journal.markets.push(MarketChange::Loaded(load));
    }

    /// What entered from the database (or left) since the journal was last cleared.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Clears the journal once a batch that recorded it committed.
    pub fn clear_journal(&mut self) {
        self.journal = Journal::default();
    }

    /// The fee and limit settings in force.
    pub fn settings(&self) -> (Fees, Limits) {
        (self.fees, self.limits)
    }

    /// Puts other settings in force (a replay follows the ones each batch recorded).
    pub fn set_settings(&mut self, fees: Fees, limits: Limits) {
        (self.fees, self.limits) = (fees, limits);
    }

    /// Takes a market's live orders out (oldest priority first) and drops the market: what a
    /// replay moves to the instance that loaded it next.
    pub fn take_market(&mut self, id: &str) -> Vec<Order> {
        let mut orders: Vec<Order> = self.live.values().filter(|o| o.market_id == id).cloned().collect();
        orders.sort_by_key(|o| o.priority);
        self.forget_market(id);
        self.closed.remove(id);
        orders
    }

    pub fn group(&self, id: &str) -> Option<(&OrderGroup, &GroupWindow)> {
        self.groups.get(id)
    }

    /// Every order group loaded here (the sequencer reloads them when another writer ran).
    pub fn group_ids(&self) -> Vec<String> {
        self.groups.ids()
    }

    /// Makes a user's group active again with an empty window.
    pub fn reset_group(&mut self, user_id: &str, id: &str, batch: &mut Batch) -> Result<OrderGroup, Refusal> {
        let (group, window) = self.groups.own_mut(user_id, id)?;
        group.reset(batch.now_us);
        window.clear();
        let group = group.clone();
        batch.mark_group(&group.id);
        Ok(group)
    }

    /// Deletes a user's group: cancels its live orders here (reason `order_group_deleted`) and
    /// refuses it from now on. Returns the cancelled orders. Deleting a deleted group cancels
    /// what is left of it here (each instance holding some of its orders runs it).
    pub fn delete_group(&mut self, user_id: &str, id: &str, batch: &mut Batch) -> Result<Vec<Order>, Refusal> {
        let group = self.groups.owned_mut(user_id, id)?;
        group.deleted_at_us.get_or_insert(batch.now_us);
        group.updated_at_us = batch.now_us;
        batch.mark_group(id);
        let ids = self.cancel_members(id, Some(ORDER_GROUP_DELETED), batch);
        Ok(ids.iter().filter_map(|order_id| self.current(order_id, batch)).collect())
    }

    /// The order as it stands after this batch so far.
    pub fn current(&self, id: &str, batch: &Batch) -> Option<Order> {
        self.live_order(id)
            .cloned()
            .or_else(|| batch.finished.get(id).cloned())
            .or_else(|| batch.known.get(id).cloned())
    }

    /// Cancels a user's live order.
    pub fn cancel(&mut self, user_id: &str, order_id: &str, batch: &mut Batch) -> Result<Order, Refusal> {
        let book_id = self.owned(user_id, order_id)?;
        self.cancel_book_order(book_id, CancelReason::Requested, batch);
        self.current(order_id, batch).ok_or(Refusal::NotFound)
    }

    fn owned(&self, user_id: &str, order_id: &str) -> Result<u64, Refusal> {
        match self.ids.get(order_id) {
            Some(&n) if self.live.get(&n).is_some_and(|o| o.user_id == user_id) => Ok(n),
            _ => Err(Refusal::NotFound),
        }
    }

    fn cancel_book_order(&mut self, book_id: u64, reason: CancelReason, batch: &mut Batch) {
        let Some(order) = self.live.get(&book_id) else { return };
        let Some(m) = self.markets.get_mut(&order.market_id) else { return };
        let rules = m.rules.clone();
        let index = rules.book_of(order.outcome);
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        if !m.books[index].cancel_with(book_id, reason, &mut events) {
            // Not on the book (cannot happen for a tracked order): finish it all the same.
            events.push(Event::Cancelled { id: book_id, remaining: 0, reason });
        }
        self.apply_events(&rules, index, &events, batch);
        self.events = events;
    }

    /// Cancels every live order of a user, optionally in one market; returns them.
    /// `reason` is what the cancelled orders say (`cancelled`, `dead_man_switch`…).
    pub fn cancel_all(
        &mut self,
        user_id: &str,
        market_id: Option<&str>,
        reason: &str,
        batch: &mut Batch,
    ) -> Vec<Order> {
        let mut targets: Vec<(i64, u64)> = self
            .live
            .iter()
            .filter(|(_, o)| o.user_id == user_id && market_id.is_none_or(|m| o.market_id == m))
            .map(|(n, o)| (o.priority, *n))
            .collect();
        targets.sort_unstable();
        let ids: Vec<String> = targets.iter().filter_map(|(_, n)| self.live.get(n).map(|o| o.id.clone())).collect();
        for (_, n) in targets {
            self.cancel_book_order(n, CancelReason::Requested, batch);
        }
        for id in &ids {
            if let Some(o) = batch.finished.get_mut(id) {
                o.reason = Some(reason.to_string());
            }
        }
        ids.iter().filter_map(|id| self.current(id, batch)).collect()
    }

    /// Cancels every live order of a market (any user), for resolution.
    pub fn cancel_market(&mut self, market_id: &str, batch: &mut Batch) -> usize {
        let mut targets: Vec<(i64, u64)> =
            self.live.iter().filter(|(_, o)| o.market_id == market_id).map(|(n, o)| (o.priority, *n)).collect();
        targets.sort_unstable();
        let n = targets.len();
        for (_, id) in targets {
            self.cancel_book_order(id, CancelReason::Requested, batch);
        }
        n
    }

    /// Amends price and/or size. A size decrease alone keeps the order's place in the queue;
    /// anything else takes it off the book and enters it again (it may then trade at once).
    pub fn amend(
        &mut self,
        user_id: &str,
        order_id: &str,
        price: Option<Price>,
        size: Option<Size>,
        batch: &mut Batch,
    ) -> Result<Order, Refusal> {
        let book_id = self.owned(user_id, order_id)?;
        let order = self.live.get(&book_id).cloned().ok_or(Refusal::NotFound)?;
        let new_price = price.unwrap_or(order.price);
        let new_size = size.unwrap_or(order.size);
        if new_size <= order.filled {
            return Err(Refusal::SizeBelowFilled);
        }
        let remaining = new_size - order.filled;
        settlement::within_range(new_size, self.fees).map_err(|_| Refusal::AmountOutOfRange)?;
        let (asset, need) = match order.side {
            Side::Buy => (
                COLLATERAL.to_string(),
                settlement::buy_reservation(new_price, remaining, self.fees)
                    .map_err(|_| Refusal::AmountOutOfRange)?
                    .micros(),
            ),
            Side::Sell => (share_asset(&order.market_id, order.outcome), remaining.micros()),
        };
        let rules = self.markets.get(&order.market_id).ok_or(Refusal::UnknownMarket)?.rules.clone();
        let (side, price_ticks) = book_terms(&rules, &order, new_price).ok_or(Refusal::PriceOffGrid)?;
        let index = rules.book_of(order.outcome);
        let keeps_priority = new_price == order.price && remaining < order.remaining();
        if keeps_priority {
            // Hold no more than the rest needs; an order that already filled at better prices
            // may hold less, and keeps it.
            let release = (order.reserved_micros - need).max(0);
            batch.reserve(&order, &asset, -release)?;
            let m = self.markets.get_mut(&order.market_id).ok_or(Refusal::UnknownMarket)?;
            m.books[index].reduce(book_id, remaining.micros());
            self.set_reserved(book_id, order.reserved_micros - release);
            if let Some(o) = self.live.get_mut(&book_id) {
                o.size = new_size;
                o.updated_at_us = batch.now_us;
            }
            batch.touched.insert((order.market_id.clone(), index));
            batch.mark(order_id);
            return self.current(order_id, batch).ok_or(Refusal::NotFound);
        }
        // Re-enter: the order as it would stand passes the same limits as a new one (a pure
        // size decrease, above, only lowers risk and is never refused); then the money. Both
        // come first, so a refused amend leaves the order as it was.
        let amended = Order { price: new_price, size: new_size, ..order.clone() };
        self.account_checks(&amended, need, Some(&order))?;
        let have = batch.balance(user_id, &asset) + order.reserved_micros;
        if need > have {
            return Err(Refusal::Insufficient { asset: asset_label(&asset), needed: need, available: have });
        }
        let m = self.markets.get_mut(&order.market_id).ok_or(Refusal::UnknownMarket)?;
        let mut ignored = Vec::new();
        m.books[index].cancel(book_id, &mut ignored);
        let mut o = self.untrack(book_id).ok_or(Refusal::NotFound)?;
        batch.reserve(&o, &asset, need - o.reserved_micros)?;
        o.reserved_micros = need;
        o.price = new_price;
        o.size = new_size;
        o.priority = self.next_priority;
        self.next_priority += 1;
        o.updated_at_us = batch.now_us;
        let new_id_in_book = self.next_book_id;
        self.next_book_id += 1;
        let owner = self.owner(user_id);
        let new = book::NewOrder {
            id: new_id_in_book,
            owner,
            side,
            price_ticks,
            size: remaining.micros(),
            tif: tif_of(&o),
            post_only: o.post_only,
            stp: stp_of(o.stp),
        };
        batch.mark(order_id);
        self.track(new_id_in_book, o);
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        self.submit(&rules, index, new, batch.now_us, &mut events);
        batch.touched.insert((rules.id.clone(), index));
        if let [Event::Rejected { reason, .. }] = events.as_slice() {
            // A post-only amend that would now cross: the order ends, as the book refused it.
            let reason = *reason;
            events.clear();
            events.push(Event::Cancelled {
                id: new_id_in_book,
                remaining: remaining.micros(),
                reason: CancelReason::Requested,
            });
            self.apply_events(&rules, index, &events, batch);
            if let Some(o) = batch.finished.get_mut(order_id) {
                o.reason = Some(reject_reason(reason).to_string());
            }
        } else {
            self.apply_events(&rules, index, &events, batch);
        }
        self.events = events;
        self.finish_trips(batch);
        self.current(order_id, batch).ok_or(Refusal::NotFound)
    }

    /// Expires every GTD order whose time has come.
    pub fn expire(&mut self, batch: &mut Batch) {
        let ids: Vec<String> = self.markets.keys().cloned().collect();
        for id in ids {
            let Some(m) = self.markets.get_mut(&id) else { continue };
            let rules = m.rules.clone();
            for index in 0..m.books.len() {
                let mut events = Vec::new();
                if let Some(m) = self.markets.get_mut(&id) {
                    m.books[index].expire(batch.now_us, &mut events);
                }
                if !events.is_empty() {
                    self.apply_events(&rules, index, &events, batch);
                }
            }
        }
    }

    /// Turns book events into order states, fills and transfers.
    fn apply_events(&mut self, rules: &MarketRules, index: usize, events: &[Event], batch: &mut Batch) {
        batch.touched.insert((rules.id.clone(), index));
        for event in events {
            match *event {
                Event::Fill { taker, maker, price_ticks, size, .. } => {
                    self.apply_fill(rules, index, taker, maker, price_ticks, Size::from_micros(size), batch)
                }
                Event::Rested { id, .. } => {
                    if let Some(o) = self.live.get_mut(&id) {
                        o.status =
                            if o.filled.is_positive() { OrderStatus::PartiallyFilled } else { OrderStatus::Open };
                    }
                }
                Event::Cancelled { id, reason, .. } => {
                    let status =
                        if reason == CancelReason::Expired { OrderStatus::Expired } else { OrderStatus::Cancelled };
                    let why = match reason {
                        CancelReason::Requested => "cancelled",
                        CancelReason::Unfilled => "unfilled",
                        CancelReason::SelfTrade => "self_trade_prevented",
                        CancelReason::Expired => "expired",
                        CancelReason::Protection => MMP_TRIGGERED,
                    };
                    self.finish(id, status, Some(why), batch);
                }
                Event::Rejected { id, reason } => {
                    self.finish(id, OrderStatus::Rejected, Some(reject_reason(reason)), batch);
                }
            }
        }
    }

    /// Ends a live order: releases what it still holds and moves it to `batch.finished`.
    fn finish(&mut self, book_id: u64, status: OrderStatus, reason: Option<&str>, batch: &mut Batch) {
        let Some(o) = self.live.get(&book_id) else { return };
        let asset = match o.side {
            Side::Buy => COLLATERAL.to_string(),
            Side::Sell => share_asset(&o.market_id, o.outcome),
        };
        let release = o.reserved_micros;
        let user = o.user_id.clone();
        let id = o.id.clone();
        if release > 0 {
            batch.transfers.extend(settlement::reservation(&user, &asset, -release, &id));
            *batch.balances.entry((user, asset)).or_insert(0) += release;
        }
        self.set_reserved(book_id, 0);
        if let Some(mut o) = self.untrack(book_id) {
            o.status = status;
            o.reason = reason.map(str::to_string);
            o.updated_at_us = batch.now_us;
            batch.mark(&o.id);
            batch.finished.insert(o.id.clone(), o);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_fill(
        &mut self,
        rules: &MarketRules,
        index: usize,
        taker: u64,
        maker: u64,
        price_ticks: u32,
        size: Size,
        batch: &mut Batch,
    ) {
        let (Some(t), Some(m)) = (self.live.get(&taker).cloned(), self.live.get(&maker).cloned()) else { return };
        fn party<'o>(
            rules: &MarketRules,
            o: &'o Order,
            price_ticks: u32,
            size: Size,
            bps: i64,
        ) -> Result<Party<'o>, settlement::Overflow> {
            let price = rules.own_price(o.outcome, price_ticks);
            Ok(Party {
                user_id: &o.user_id,
                outcome: o.outcome,
                side: o.side,
                price,
                fee: settlement::fee(settlement::notional(price, size)?, bps)?,
            })
        }
        let trade_id = new_id();
        // Every amount is computed before anything changes. Orders were admitted only when their
        // amounts fit (`settlement::within_range`), so an overflow here is a broken invariant:
        // the batch is marked and the sequencer refuses to commit it.
        let computed = (|| {
            let tp = party(rules, &t, price_ticks, size, self.fees.taker_bps)?;
            let mp = party(rules, &m, price_ticks, size, self.fees.maker_bps)?;
            let transfers = settlement::match_transfers(&rules.id, &trade_id, &tp, &mp, size)?;
            // What each order's reservation gives up, in its asset's micro-units.
            let used = |p: &Party<'_>, o: &Order| match o.side {
                Side::Buy => p.cost(size).map(Collateral::micros),
                Side::Sell => Ok(size.micros()),
            };
            let costs = [used(&tp, &t)?, used(&mp, &m)?];
            Ok::<_, settlement::Overflow>((tp, mp, transfers, costs))
        })();
        let (tp, mp, transfers, costs) = match computed {
            Ok(computed) => computed,
            Err(_) => {
                batch.faults.push(format!("amounts of a match of orders {} and {} overflow", t.id, m.id));
                return;
            }
        };
        batch.transfers.extend(transfers);
        for ((book_id, o, p, liquidity), used) in
            [(taker, &t, &tp, Liquidity::Taker), (maker, &m, &mp, Liquidity::Maker)].into_iter().zip(costs)
        {
            batch.fills.push(Fill {
                id: new_id(),
                trade_id: trade_id.clone(),
                order_id: o.id.clone(),
                user_id: o.user_id.clone(),
                market_id: rules.id.clone(),
                outcome: o.outcome,
                side: o.side,
                price: p.price,
                size,
                fee: p.fee,
                liquidity,
                finality: Finality::Confirmed,
                created_at_us: batch.now_us,
            });
            self.set_reserved(book_id, o.reserved_micros - used);
            if let Some(live) = self.live.get_mut(&book_id) {
                live.filled += size;
                live.fees += p.fee;
                live.updated_at_us = batch.now_us;
                live.status = OrderStatus::PartiallyFilled;
            }
            batch.mark(&o.id);
            if o.filled + size == o.size {
                self.finish(book_id, OrderStatus::Filled, None, batch);
            }
        }
        if let Some(m) = self.markets.get_mut(&rules.id) {
            m.last_trade[index] = Some(price_ticks);
        }
        let side = match book_terms(rules, &t, t.price) {
            Some((side, _)) => side,
            // Its price was checked when it entered the book.
            None => match t.side {
                Side::Buy => book::Side::Buy,
                Side::Sell => book::Side::Sell,
            },
        };
        batch.trades.push(Trade {
            trade_id,
            market_id: rules.id.clone(),
            book: index,
            price: rules.price_of(price_ticks),
            size,
            taker_side: match side {
                book::Side::Buy => Side::Buy,
                book::Side::Sell => Side::Sell,
            },
            at_us: batch.now_us,
        });
    }
}

/// The side and price (in ticks) at which an order at `price` enters its book; `None` for a
/// price off the market's grid.
fn book_terms(rules: &MarketRules, order: &Order, price: Price) -> Option<(book::Side, u32)> {
    let side = match order.side {
        Side::Buy => book::Side::Buy,
        Side::Sell => book::Side::Sell,
    };
    let ticks = rules.to_ticks(price)?;
    Some(if rules.binary() { book::to_book_terms(order.outcome, side, ticks, rules.ticks()) } else { (side, ticks) })
}

fn tif_of(order: &Order) -> book::TimeInForce {
    match order.time_in_force {
        TimeInForce::Gtc => book::TimeInForce::Gtc,
        TimeInForce::Gtd => book::TimeInForce::Gtd { expires_at_us: order.expires_at_us.unwrap_or(i64::MAX) },
        TimeInForce::Ioc => book::TimeInForce::Ioc,
        TimeInForce::Fok => book::TimeInForce::Fok,
    }
}

fn stp_of(stp: Stp) -> book::Stp {
    match stp {
        Stp::CancelNewest => book::Stp::CancelNewest,
        Stp::CancelOldest => book::Stp::CancelOldest,
        Stp::CancelBoth => book::Stp::CancelBoth,
    }
}

pub fn reject_reason(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::InvalidPrice => "invalid_price",
        RejectReason::InvalidSize => "invalid_size",
        RejectReason::DuplicateId => "duplicate_id",
        RejectReason::PostOnlyWouldCross => "post_only_would_cross",
        RejectReason::FokUnfillable => "fok_unfillable",
        RejectReason::Expired => "expired_on_arrival",
    }
}

/// The reason an order cancelled by its group's market-maker protection carries.
pub const MMP_TRIGGERED: &str = "mmp_triggered";
/// The reason an order cancelled by its group's deletion carries.
pub const ORDER_GROUP_DELETED: &str = "order_group_deleted";

mod groups;
#[cfg(test)]
mod tests;
