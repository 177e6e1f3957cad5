//! The Polymarket venue when it is on: orders built and signed with `clob-client` and sent to
//! the CLOB, and the CLOB's reports (websocket and REST) applied to our orders, fills and
//! ledger. The rules of what a report changes are in [`super::tracking`]; this module reads
//! and writes them in one transaction per report, under the ledger lock.
//!
//! An order is written (pending, with its reservation and its CLOB hash) before it is sent,
//! so a crash or a lost answer never loses it: the hash finds it on the CLOB later. Nothing is
//! ever signed twice for one order, and the one signed body is only sent again after the CLOB
//! said it does not have it (the CLOB refuses a second copy of one hash anyway).

use std::collections::HashMap;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::Duration;

use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::build::{self, Account, Built, OrderArgs};
use kairos_clob_client::deposit_wallet::{self, Severity};
use kairos_clob_client::eth::{Address, U256};
use kairos_clob_client::http::envelope::OrderType;
use kairos_clob_client::http::types::{ApiKeyCredentials, OpenOrder, PostOrderResponse, Trade};
use kairos_clob_client::http::{ClientConfig, ClobClient, ClobError, Submitted};
use kairos_clob_client::orders::Version;
use kairos_clob_client::positions;
use kairos_clob_client::rounding::{AmountSide, OrderKind};
use kairos_domain::risk::{AccountLimits, AccountOrder, AccountState, check_account};
use kairos_domain::{
    Collateral, Fill, Finality, Hold, Market, MarketProtocol, Order, OrderStatus, OrderType as KairosOrderType, Price,
    Side, Size, TimeInForce, Venue as VenueName, now_us,
};
use kairos_matching::exchange::MMP_TRIGGERED;
use kairos_platform::config::PolymarketCredentials;
use kairos_platform::locks;
use kairos_platform::storage::{Db, StorageError, ledger, markets, order_groups, orders};
use sqlx::Connection as _;

use super::budget::OrderBudget;
use super::heartbeat_gate::HeartbeatGate;
use super::reports::{self, VenueOrder};
use super::tracking::{self, Effects, StateStep};
use kairos_domain::Refusal;

use super::money;
use crate::common::{Publisher, StreamEvent, VenueError};

const VENUE: &str = "polymarket";

/// Where the private streams are published (the paper venue's channel: one stream for all).

#[derive(Debug)]
pub struct Live {
    pub(super) client: ClobClient,
    account: Account,
    pub(super) ws_credentials: ApiKeyCredentials,
    pub(super) ws_url: String,
    db: Db,
    publisher: Publisher,
    neg_risk: std::sync::Mutex<HashMap<String, bool>>,
    /// One report at a time from this instance: the websocket and the poller never race.
    applying: tokio::sync::Mutex<()>,
    /// Closed while the CLOB heartbeat is not known to be alive: no new orders then.
    pub heartbeat: Arc<HeartbeatGate>,
    /// The account limits, the same as the paper exchange's (`KAIROS_RISK__*`).
    limits: AccountLimits,
    /// Each user's share of the omnibus account's order bucket.
    pub budget: OrderBudget,
}

fn storage(e: StorageError) -> VenueError {
    VenueError::Unavailable(format!("storage: {e}"))
}

fn clob(e: ClobError) -> VenueError {
    VenueError::Unavailable(format!("the Polymarket CLOB: {e}"))
}

/// Why the Polymarket venue cannot start with its settings: a start-up error naming the
/// setting, never a failed order later.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("KAIROS_POLYMARKET__PRIVATE_KEY: {0}")]
    PrivateKey(String),
    #[error("KAIROS_POLYMARKET__FUNDER: {0}")]
    Funder(String),
    #[error("KAIROS_POLYMARKET__API_SECRET: {0}")]
    ApiSecret(String),
    #[error("the Polymarket account cannot trade: {0}")]
    Account(String),
    #[error("the Polymarket client: {0}")]
    Client(String),
}

impl Live {
    /// Checks the credentials (a bad key or secret is a start-up error, not a failed order).
    pub fn new(
        c: &PolymarketCredentials,
        limits: AccountLimits,
        db: Db,
        publisher: Publisher,
    ) -> Result<Live, SetupError> {
        let signer = Signer::from_hex(c.private_key.expose()).map_err(|e| SetupError::PrivateKey(e.to_string()))?;
        let maker = match &c.funder {
            Some(f) => Address::from_str(f).map_err(|e| SetupError::Funder(e.to_string()))?,
            None => signer.address(),
        };
        let credentials = Credentials::new(c.api_key.expose(), c.api_secret.expose(), c.api_passphrase.expose())
            .map_err(|e| SetupError::ApiSecret(e.to_string()))?;
        // A deposit-wallet account set up as a plain EOA (or the reverse) cannot trade: the
        // CLOB refuses every order ("maker address not allowed"). Say so now, with the fix.
        let funder = c.funder.as_ref().map(|_| maker);
        for finding in deposit_wallet::check_account(signer.address(), c.signature_type, funder, c.chain_id) {
            let message = settings_terms(&finding.message);
            match finding.severity {
                Severity::Error => return Err(SetupError::Account(message)),
                Severity::Warning => tracing::warn!(%message, "check the Polymarket account settings"),
            }
        }
        let config = ClientConfig { base_url: c.clob_base_url.clone(), timeout: c.timeout, ..ClientConfig::default() };
        let client = ClobClient::new(config)
            .map_err(|e| SetupError::Client(e.to_string()))?
            .with_l2(credentials, signer.address().to_string());
        Ok(Live {
            client,
            account: Account {
                signer,
                maker,
                signature_type: c.signature_type,
                chain_id: c.chain_id,
                api_key: c.api_key.expose().to_string(),
            },
            ws_credentials: ApiKeyCredentials {
                api_key: c.api_key.expose().to_string(),
                secret: c.api_secret.expose().to_string(),
                passphrase: c.api_passphrase.expose().to_string(),
            },
            ws_url: c.ws_url.clone(),
            db,
            publisher,
            neg_risk: std::sync::Mutex::default(),
            applying: tokio::sync::Mutex::new(()),
            heartbeat: Arc::default(),
            limits,
            budget: OrderBudget::new(c.orders_per_second, c.user_share_percent),
        })
    }

    fn publish(&self, order: &Order, fills: &[Fill]) {
        let _ = self.publisher.send(Arc::new(StreamEvent::Order(Box::new(order.clone()))));
        for f in fills {
            let _ = self.publisher.send(Arc::new(StreamEvent::Fill(Box::new(f.clone()))));
        }
    }

    async fn neg_risk(&self, token_id: &str) -> Result<bool, VenueError> {
        if let Some(known) = locks::lock(&self.neg_risk).get(token_id).copied() {
            return Ok(known);
        }
        let value = self.client.neg_risk(token_id).await.map_err(clob)?;
        locks::lock(&self.neg_risk).insert(token_id.to_string(), value);
        Ok(value)
    }

    /// The signed order for `order` on its market: a limit order at the order's price (a
    /// market order is a limit at its worst price that never rests: FAK or FOK).
    async fn sign(&self, order: &Order, market: &Market) -> Result<Built, VenueError> {
        let token = market
            .outcomes
            .get(order.outcome as usize)
            .and_then(|o| o.external_id.clone())
            .ok_or_else(|| VenueError::Refused(Refusal::NotTradable("the outcome has no CLOB token id".into())))?;
        let token_id = U256::from_str_radix(&token, 10)
            .map_err(|_| VenueError::Refused(Refusal::NotTradable(format!("token id {token:?} is not a number"))))?;
        let order_type = match order.time_in_force {
            TimeInForce::Gtc => OrderType::Gtc,
            TimeInForce::Gtd => OrderType::Gtd,
            TimeInForce::Ioc => OrderType::Fak,
            TimeInForce::Fok => OrderType::Fok,
        };
        let mut args = OrderArgs {
            token_id,
            side: match order.side {
                Side::Buy => AmountSide::Buy,
                Side::Sell => AmountSide::Sell,
            },
            price: order.price.to_string(),
            size: order.size.to_string(),
            kind: OrderKind::Limit,
            tick: market.tick_size.to_string(),
            neg_risk: false,
            order_type,
            post_only: order.post_only,
            expiration_s: order.expires_at_us.map_or(0, |t| u64::try_from(t / 1_000_000).unwrap_or(0)),
        };
        // A Protocol V2 market signs version 3 for ExchangeV3 (one exchange, neg-risk or not);
        // a CTF market the server's version, for its neg-risk or plain exchange. A market
        // imported before its protocol was recorded is told by its id's shape.
        let v2_position = match market.protocol {
            Some(MarketProtocol::PositionsV2) => true,
            Some(MarketProtocol::CtfV1) => false,
            None => positions::is_position_id(token_id),
        };
        let version = if v2_position {
            Version::V3
        } else {
            args.neg_risk = self.neg_risk(&token).await?;
            self.client.order_version().await.map_err(clob)?
        };
        if version == Version::V1 {
            return Err(VenueError::Unavailable(
                "the CLOB asks for legacy version 1 orders, which Kairos does not send".into(),
            ));
        }
        let now_ms = self.client.now_s().saturating_mul(1_000);
        build::build(&self.account, &args, version, build::Rounding::Exact, build::fresh_salt(), now_ms)
            .map_err(|e| VenueError::Refused(Refusal::NotTradable(e.to_string())))
    }

    /// The CLOB's midpoint for the order's token, the price band's reference; `None` when the
    /// band is off, the order is not a limit, or the book has no mid.
    async fn reference_price(&self, order: &Order, market: &Market) -> Result<Option<Price>, VenueError> {
        if !self.limits.price_band.is_positive() || order.order_type != KairosOrderType::Limit {
            return Ok(None);
        }
        let Some(token) = market.outcomes.get(order.outcome as usize).and_then(|o| o.external_id.as_deref()) else {
            return Ok(None);
        };
        match self.client.midpoint(token).await {
            Ok(mid) => Ok(Price::parse(&mid).ok()),
            Err(ClobError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(clob(e)),
        }
    }

    /// Records the order (pending, reserved, with its hash) in one transaction; returns the
    /// stored order, which is an earlier one when this is a replay. The account limits are
    /// checked in that transaction, against the orders it can see.
    async fn record(&self, mut order: Order, reference_price: Option<Price>) -> Result<(Order, bool), VenueError> {
        let mut conn = self.db.pool().acquire().await.map_err(|e| storage(e.into()))?;
        let mut tx = conn.begin().await.map_err(|e| storage(e.into()))?;
        ledger::lock_in(&mut tx).await.map_err(storage)?;
        if let Some(known) =
            orders::by_client_ids_in(&mut tx, &[(&order.user_id, &order.client_order_id)]).await.map_err(storage)?.pop()
        {
            return if known.request_hash == order.request_hash {
                Ok((known, true))
            } else {
                Err(VenueError::Refused(Refusal::ClientOrderIdReused(order.client_order_id)))
            };
        }
        let (asset, amount) = money::reservation(&order);
        let (open_orders, market_buys_held_micros) =
            orders::account_state_in(&mut tx, &order.user_id, VENUE, &order.market_id).await.map_err(storage)?;
        let state = AccountState {
            open_orders: u32::try_from(open_orders).unwrap_or(u32::MAX),
            market_buys_held: Collateral::from_micros(market_buys_held_micros),
            reference_price,
        };
        let candidate = AccountOrder {
            is_limit: order.order_type == KairosOrderType::Limit,
            price: order.price,
            hold: Hold::of(order.side, amount),
            replaces_hold: None,
        };
        check_account(&self.limits, &candidate, &state).map_err(|b| VenueError::Refused(b.into()))?;
        let account = ledger::available(&order.user_id);
        let have = ledger::balances_in(&mut tx, std::slice::from_ref(&account))
            .await
            .map_err(storage)?
            .get(&(account, asset.clone()))
            .copied()
            .unwrap_or(0);
        if amount > have {
            let asset = if asset == ledger::COLLATERAL { "collateral" } else { "shares" };
            return Err(VenueError::Refused(Refusal::Insufficient {
                asset: asset.into(),
                needed: amount,
                available: have,
            }));
        }
        order.reserved_micros = amount;
        order.status = OrderStatus::Pending;
        let transfers: Vec<_> =
            kairos_domain::ledger::reservation(&order.user_id, &asset, amount, &order.id).into_iter().collect();
        ledger::append_many_locked_in(&mut tx, &transfers).await.map_err(storage)?;
        orders::save_in(&mut tx, &[&order]).await.map_err(storage)?;
        tx.commit().await.map_err(|e| storage(e.into()))?;
        Ok((order, false))
    }

    pub async fn submit(&self, order: Order) -> Result<Order, VenueError> {
        if !self.heartbeat.is_alive() {
            return Err(VenueError::Refused(Refusal::HeartbeatLost));
        }
        if !self.budget.take(&order.user_id) {
            return Err(VenueError::Refused(Refusal::VenueBusy));
        }
        self.admit_group(&order).await?;
        let market = markets::get(&self.db, &order.market_id)
            .await
            .map_err(storage)?
            .ok_or(VenueError::Refused(Refusal::UnknownMarket))?;
        let reference = self.reference_price(&order, &market).await?;
        let mut built = self.sign(&order, &market).await?;
        let mut order = order;
        order.venue_order_id = Some(built.order_hash.clone());
        let (mut order, replay) = self.record(order, reference).await?;
        if replay {
            return Ok(order);
        }
        self.publish(&order, &[]);
        let mut rebuilt = false;
        let result = loop {
            match self.post(&built).await {
                Err(e) if e.is_version_mismatch() && !rebuilt => {
                    // The CLOB moved to another exchange version: the first body was refused, so
                    // a new one (new hash) replaces it on the still-pending order.
                    rebuilt = true;
                    self.client.forget_version();
                    built = self.sign(&order, &market).await?;
                    order.venue_order_id = Some(built.order_hash.clone());
                    self.save_hash(&order).await?;
                }
                other => break other,
            }
        };
        self.after_post(order, result).await
    }

    async fn save_hash(&self, order: &Order) -> Result<(), VenueError> {
        let mut conn = self.db.pool().acquire().await.map_err(|e| storage(e.into()))?;
        orders::save_in(&mut conn, &[order]).await.map_err(storage)
    }

    /// Sends the signed body, reconciling by hash when the answer is lost; a 429 is waited
    /// out once when the CLOB says how long (at most 2 s) and then the same body goes again.
    async fn post(&self, built: &Built) -> Result<Submitted, ClobError> {
        match self.client.post_order_reconciled(&built.body, &built.order_hash).await {
            Err(ClobError::Status { status: 429, retry_after: Some(wait), .. }) if wait <= Duration::from_secs(2) => {
                tokio::time::sleep(wait).await;
                self.client.post_order_reconciled(&built.body, &built.order_hash).await
            }
            other => other,
        }
    }

    async fn after_post(&self, order: Order, result: Result<Submitted, ClobError>) -> Result<Order, VenueError> {
        let id = order.id.clone();
        match result {
            Ok(Submitted::Posted(r)) if r.success => {
                let state =
                    VenueOrder { status: reports::VenueStatus::Live, size_matched: Size::ZERO, trade_ids: Vec::new() };
                self.apply_state(&order, Some(state), None).await?;
                if let Err(e) = self.follow_placement(&id, &r).await {
                    tracing::warn!(order_id = %id, error = %e, "reading a matched order's trades failed; the poller retries");
                }
            }
            Ok(Submitted::Posted(r)) => {
                self.reject(&order, &self.rejection_reason(&r.error_msg)).await?;
            }
            Ok(Submitted::Reconciled(found)) => {
                let state = VenueOrder::from_rest(&found).map_err(|e| VenueError::Unavailable(e.to_string()))?;
                self.apply_state(&order, Some(state), None).await?;
            }
            Err(ClobError::Status { status, message, retry_after, .. }) if status < 500 => {
                let reason = if status == 429 {
                    format!("venue_rate_limited: retry after {}s", retry_after.map_or(1, |d| d.as_secs().max(1)))
                } else {
                    self.rejection_reason(&message)
                };
                self.reject(&order, &reason).await?;
            }
            Err(e) => {
                // The outcome is unknown: the order stays pending with its hash, and the
                // poller looks it up; nothing is sent again.
                tracing::warn!(order_id = %id, error = %e, "the CLOB's answer to an order was lost; it stays pending until found by its hash");
            }
        }
        self.current(&id).await
    }

    /// Picks up at once the trades an order made as it was placed, from either shape of the
    /// CLOB's answer: `tradeIDs` (asynchronous execution: the trades are named, and the
    /// order's own record may not list them yet), or only `status: "matched"` (the answer from
    /// before, with transaction hashes): then the order's record names them. A trade not
    /// readable yet is left to the poller.
    async fn follow_placement(&self, id: &str, answer: &PostOrderResponse) -> Result<(), VenueError> {
        if !answer.trade_ids.is_empty() {
            for trade_id in &answer.trade_ids {
                if let Some(trade) = self.client.trade(trade_id).await.map_err(clob)? {
                    self.apply_trade(&trade).await?;
                }
            }
            return Ok(());
        }
        if answer.status.eq_ignore_ascii_case("matched") {
            self.reconcile_order(&self.current(id).await?).await?;
        }
        Ok(())
    }

    /// What a rejected order carries as its reason: the CLOB's message, with the fix when it
    /// is a setup mistake the operator must correct (a deposit-wallet account).
    fn rejection_reason(&self, message: &str) -> String {
        match deposit_wallet::refusal_hint(message, self.account.signer.address(), self.account.chain_id) {
            Some(hint) => {
                let hint = settings_terms(&hint);
                metrics::counter!("kairos_polymarket_account_misconfigured_total").increment(1);
                tracing::error!(clob_message = %message, fix = %hint, "the CLOB refuses this account's orders");
                format!("venue_rejected: {message} ({hint})")
            }
            None => format!("venue_rejected: {message}"),
        }
    }

    async fn current(&self, id: &str) -> Result<Order, VenueError> {
        orders::get(&self.db, id).await.map_err(storage)?.ok_or(VenueError::Refused(Refusal::NotFound))
    }

    /// A refusal by the CLOB before the order reached its book: recorded as rejected, its
    /// reservation released.
    async fn reject(&self, order: &Order, reason: &str) -> Result<(), VenueError> {
        self.transact(order, |o, _| {
            let mut effects = Effects::default();
            if o.status == OrderStatus::Pending {
                o.status = OrderStatus::Rejected;
                o.reason = Some(reason.to_string());
                tracking::release_rest(o, &mut effects);
                o.updated_at_us = now_us();
                effects.order_changed = true;
            }
            effects
        })
        .await
        .map(|_| ())
    }

    /// Runs `step` on the stored order and its fills inside one transaction and writes what
    /// it returns; publishes the result.
    async fn transact<F>(&self, order: &Order, step: F) -> Result<Option<Effects>, VenueError>
    where
        F: FnOnce(&mut Order, &mut Vec<Fill>) -> Effects,
    {
        let _one = self.applying.lock().await;
        let mut conn = self.db.pool().acquire().await.map_err(|e| storage(e.into()))?;
        let mut tx = conn.begin().await.map_err(|e| storage(e.into()))?;
        ledger::lock_in(&mut tx).await.map_err(storage)?;
        let Some(hash) = order.venue_order_id.as_deref() else { return Ok(None) };
        let Some(mut stored) = orders::by_venue_order_ids_in(&mut tx, VENUE, &[hash]).await.map_err(storage)?.pop()
        else {
            return Ok(None);
        };
        let mut fills = orders::fills_of_orders_in(&mut tx, &[&stored.id]).await.map_err(storage)?;
        let effects = step(&mut stored, &mut fills);
        if effects.is_empty() {
            return Ok(None);
        }
        write_in(&mut tx, &stored, &effects).await.map_err(storage)?;
        let tripped = Self::trip_groups_in(&mut tx, &[(&stored, &effects)]).await.map_err(storage)?;
        tx.commit().await.map_err(|e| storage(e.into()))?;
        self.publish(&stored, &effects.new_fills);
        // The cancels below take connections and `applying` again: give both back first.
        drop(conn);
        drop(_one);
        self.cancel_tripped(tripped).await;
        Ok(Some(effects))
    }

    /// Applies the CLOB's state of an order; `Ok(trades)` names trades to fetch first when
    /// the CLOB matched more than we have seen.
    async fn apply_state(
        &self,
        order: &Order,
        state: Option<VenueOrder>,
        reason: Option<&str>,
    ) -> Result<Vec<String>, VenueError> {
        let mut needs = None;
        self.transact(order, |o, fills| match tracking::apply_state(o, fills, state.as_ref(), reason, now_us()) {
            StateStep::Apply(effects) => effects,
            StateStep::NeedsTrades(ids) => {
                needs = Some(ids);
                Effects::default()
            }
        })
        .await?;
        Ok(needs.unwrap_or_default())
    }

    /// Applies a trade to every order of ours it touched; returns the orders it changed.
    pub async fn apply_trade(&self, trade: &Trade) -> Result<Vec<Order>, VenueError> {
        let reported = reports::fills_of_trade(trade).map_err(|e| VenueError::Unavailable(e.to_string()))?;
        let _one = self.applying.lock().await;
        let mut conn = self.db.pool().acquire().await.map_err(|e| storage(e.into()))?;
        let mut tx = conn.begin().await.map_err(|e| storage(e.into()))?;
        ledger::lock_in(&mut tx).await.map_err(storage)?;
        let hashes: Vec<&str> = reported.iter().map(|f| f.venue_order_id.as_str()).collect();
        let ours = orders::by_venue_order_ids_in(&mut tx, VENUE, &hashes).await.map_err(storage)?;
        let mut changed = Vec::new();
        let now = now_us();
        for mut order in ours {
            let mut fills = orders::fills_of_orders_in(&mut tx, &[&order.id]).await.map_err(storage)?;
            let mut all = Effects::default();
            let hash = order.venue_order_id.clone();
            for f in reported.iter().filter(|f| Some(&f.venue_order_id) == hash.as_ref()) {
                let e = tracking::apply_fill(&mut order, &mut fills, f, now);
                merge(&mut all, e);
            }
            if !all.is_empty() {
                write_in(&mut tx, &order, &all).await.map_err(storage)?;
                changed.push((order, all));
            }
        }
        let pairs: Vec<(&Order, &Effects)> = changed.iter().map(|(o, e)| (o, e)).collect();
        let tripped = Self::trip_groups_in(&mut tx, &pairs).await.map_err(storage)?;
        tx.commit().await.map_err(|e| storage(e.into()))?;
        for (order, effects) in &changed {
            self.publish(order, &effects.new_fills);
        }
        // Cancelling applies the orders' states, which takes `applying` and connections again.
        drop(conn);
        drop(_one);
        self.cancel_tripped(tripped).await;
        Ok(changed.into_iter().map(|(order, _)| order).collect())
    }

    /// Applies a trade pushed on the user channel. When it is final and an order it touched is
    /// still live, that order's state is read at once: the CLOB may be done with it (a fully
    /// matched order whose trade failed ends here, not at the next poll).
    pub async fn apply_trade_event(&self, trade: &Trade) -> Result<(), VenueError> {
        let changed = self.apply_trade(trade).await?;
        if reports::finality(&trade.status).is_ok_and(|f| f != Finality::Matched) {
            for order in changed.iter().filter(|o| o.status.is_live()) {
                self.reconcile_order(order).await?;
            }
        }
        Ok(())
    }

    /// Applies a websocket order event.
    pub async fn apply_order_event(&self, hash: &str, state: VenueOrder) -> Result<(), VenueError> {
        let Some(order) = self.by_hash(hash).await? else { return Ok(()) };
        if !self.apply_state(&order, Some(state), None).await?.is_empty() {
            // Trades we have not seen yet: the REST lookup fetches them and applies the state.
            self.reconcile_order(&order).await?;
        }
        Ok(())
    }

    async fn by_hash(&self, hash: &str) -> Result<Option<Order>, VenueError> {
        let mut conn = self.db.pool().acquire().await.map_err(|e| storage(e.into()))?;
        Ok(orders::by_venue_order_ids_in(&mut conn, VENUE, &[hash]).await.map_err(storage)?.pop())
    }

    /// Brings one order in line with the CLOB: its state, then any trade it took part in that
    /// is new or not final here, then its state again.
    pub async fn reconcile_order(&self, order: &Order) -> Result<(), VenueError> {
        let Some(hash) = order.venue_order_id.clone() else { return Ok(()) };
        let found = self.client.get_order(&hash).await.map_err(clob)?;
        self.reconcile_with(order, found, None).await
    }

    /// [`Live::reconcile_order`] with the order's state already read; `reason` says why a
    /// cancellation happened when we asked for it.
    async fn reconcile_with(
        &self,
        order: &Order,
        found: Option<OpenOrder>,
        reason: Option<&str>,
    ) -> Result<(), VenueError> {
        let state = found
            .as_ref()
            .map(VenueOrder::from_rest)
            .transpose()
            .map_err(|e| VenueError::Unavailable(e.to_string()))?;
        let never_received = state.is_none()
            && order.status == OrderStatus::Pending
            && now_us() - order.created_at_us >= tracking::NEVER_RECEIVED_AFTER_US;
        if let (true, Some(hash)) = (never_received, &order.venue_order_id) {
            // About to be called never received: a cancel by hash first, so that a submit
            // still in flight somewhere cannot rest on the book after its money is released.
            self.client.cancel_order(hash).await.map_err(clob)?;
        }
        let mut trade_ids = self.apply_state(order, state.clone(), reason).await?;
        if let Some(s) = &state {
            trade_ids.extend(s.trade_ids.iter().cloned());
        }
        let mut conn = self.db.pool().acquire().await.map_err(|e| storage(e.into()))?;
        for f in orders::fills_of_orders_in(&mut conn, &[&order.id]).await.map_err(storage)? {
            if f.finality == Finality::Matched {
                trade_ids.push(f.trade_id);
            }
        }
        drop(conn);
        trade_ids.sort();
        trade_ids.dedup();
        for id in &trade_ids {
            if let Some(trade) = self.client.trade(id).await.map_err(clob)? {
                self.apply_trade(&trade).await?;
            }
        }
        if !trade_ids.is_empty() && !self.apply_state(order, state, reason).await?.is_empty() {
            tracing::warn!(order_id = %order.id, "the CLOB matched more of an order than its trades show; retrying at the next poll");
        }
        Ok(())
    }

    /// The condition ids of the Polymarket markets in the catalog: what the user channel
    /// subscribes to (markets added later are followed by the poller).
    pub async fn condition_ids(&self) -> Result<Vec<String>, VenueError> {
        Ok(markets::all(&self.db)
            .await
            .map_err(storage)?
            .into_iter()
            .filter(|m| m.venue == VenueName::Polymarket)
            .filter_map(|m| m.external_id)
            .collect())
    }

    /// The account the CLOB heartbeat keeps alive, as `venue_heartbeats` names it: the venue
    /// and a fingerprint of the API key (the key itself is a credential and stays out of the
    /// database). One row, and so one keeper loop, per API key.
    pub fn heartbeat_account(&self) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(self.account.api_key.as_bytes());
        format!("{VENUE}:{}", hex::encode(&digest[..8]))
    }

    /// One CLOB heartbeat carrying `id` (what the CLOB returned last; empty for the first).
    pub async fn beat(&self, id: &str) -> Result<kairos_clob_client::http::HeartbeatReply, VenueError> {
        self.client.heartbeat(id).await.map_err(clob)
    }

    /// The database the venue writes to.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Every order that may still change, looked up on the CLOB; returns how many were.
    pub async fn reconcile(&self) -> Result<usize, VenueError> {
        let unsettled = orders::unsettled_on_venue(&self.db, VENUE).await.map_err(storage)?;
        let mut first_error = None;
        for order in &unsettled {
            if let Err(e) = self.reconcile_order(order).await {
                tracing::warn!(order_id = %order.id, error = %e, "reconciling an order with the CLOB failed");
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(unsettled.len()),
        }
    }

    /// Cancels on the CLOB, then reads the order's state there and applies it.
    pub async fn cancel(&self, order: &Order, reason: &str) -> Result<Order, VenueError> {
        let Some(hash) = order.venue_order_id.clone() else { return Err(VenueError::Refused(Refusal::NotFound)) };
        self.client.cancel_order(&hash).await.map_err(clob)?;
        self.settle_cancel(order, &hash, reason).await?;
        self.current(&order.id).await
    }

    async fn settle_cancel(&self, order: &Order, hash: &str, reason: &str) -> Result<(), VenueError> {
        let found = self.client.get_order(hash).await.map_err(clob)?;
        match &found {
            None if order.status == OrderStatus::Pending => {
                return Err(VenueError::Unavailable(
                    "the order's placement is not confirmed by the CLOB yet; retry the cancel".into(),
                ));
            }
            Some(o) if reports::status(&o.status) == Ok(reports::VenueStatus::Live) => {
                return Err(VenueError::Unavailable("the CLOB still shows the order live; retry the cancel".into()));
            }
            _ => {}
        }
        self.reconcile_with(order, found, Some(reason)).await
    }

    /// Cancels a user's live orders (in one market or all); every order is tried, then the
    /// first error is returned.
    pub async fn cancel_all(
        &self,
        user_id: &str,
        market_id: Option<&str>,
        reason: &str,
    ) -> Result<Vec<Order>, VenueError> {
        let filter = orders::OrderFilter { market_id: market_id.map(str::to_string), status: None, live_only: true };
        let mut targets = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let page = orders::list(&self.db, user_id, &filter, before.as_deref(), 500).await.map_err(storage)?;
            let last = page.last().map(|o| o.id.clone());
            targets.extend(page.into_iter().filter(|o| o.venue == VenueName::Polymarket));
            match last {
                Some(id) => before = Some(id),
                None => break,
            }
        }
        self.cancel_orders(&targets, reason).await
    }

    /// Cancels an order group's live orders on the CLOB (a trip of its protection, or its
    /// deletion); every order is tried, then the first error is returned.
    pub async fn cancel_group(&self, group_id: &str, reason: &str) -> Result<Vec<Order>, VenueError> {
        let targets = orders::live_in_group(&self.db, VENUE, group_id).await.map_err(storage)?;
        self.cancel_orders(&targets, reason).await
    }

    /// Cancels the live CLOB orders of groups that may not trade (frozen here, by the paper
    /// venue or by another instance, or deleted): what a failed cancel after a trip left, or a
    /// trip elsewhere. Runs at every reconcile.
    pub async fn cancel_barred(&self) -> Result<usize, VenueError> {
        let barred = orders::live_in_barred_groups(&self.db, VENUE, now_us()).await.map_err(storage)?;
        if barred.is_empty() {
            return Ok(0);
        }
        tracing::warn!(orders = barred.len(), "cancelling CLOB orders of frozen or deleted order groups");
        Ok(self.cancel_orders(&barred, MMP_TRIGGERED).await?.len())
    }

    /// Refuses an order whose group is not the user's, is deleted or is frozen.
    async fn admit_group(&self, order: &Order) -> Result<(), VenueError> {
        let Some(id) = &order.order_group_id else { return Ok(()) };
        let group = order_groups::get(&self.db, id).await.map_err(storage)?;
        kairos_domain::OrderGroup::admit(group.as_ref(), &order.user_id, now_us()).map_err(VenueError::Refused)
    }

    /// Counts the new fills of the orders a transaction changed against their groups, on that
    /// transaction: a group past a limit is frozen there, and its id returned so the caller
    /// cancels its CLOB orders as soon as the transaction commits.
    async fn trip_groups_in(
        tx: &mut sqlx::AnyConnection,
        changed: &[(&Order, &Effects)],
    ) -> Result<Vec<String>, StorageError> {
        let mut ids: Vec<String> = changed
            .iter()
            .filter(|(_, e)| !e.new_fills.is_empty())
            .filter_map(|(o, _)| o.order_group_id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(ids);
        }
        ids.sort_unstable();
        ids.dedup();
        let now = now_us();
        let mut tripped = Vec::new();
        let mut frozen = Vec::new();
        for (mut group, window) in order_groups::load_in(tx, &ids, now).await? {
            if group.barred(now) {
                continue;
            }
            if let Some(breach) = window.breach(&group.limits) {
                tracing::warn!(group_id = %group.id, limit = breach.as_str(), "order group tripped on CLOB fills");
                metrics::counter!("kairos_order_group_trips_total", "venue" => VENUE, "limit" => breach.as_str())
                    .increment(1);
                group.trip(now);
                tripped.push(group.id.clone());
                frozen.push(group);
            }
        }
        order_groups::save_state_in(tx, &frozen.iter().collect::<Vec<_>>()).await?;
        Ok(tripped)
    }

    /// Cancels the CLOB orders of groups that just tripped; a failure is logged, and the
    /// group stays frozen so nothing new joins it.
    async fn cancel_tripped(&self, groups: Vec<String>) {
        for group in groups {
            // Boxed: cancelling settles orders, which applies their state, which may trip again.
            if let Err(e) = Box::pin(self.cancel_group(&group, MMP_TRIGGERED)).await {
                tracing::error!(group_id = %group, error = %e, "cancelling a tripped group's CLOB orders failed");
            }
        }
    }

    async fn cancel_orders(&self, targets: &[Order], reason: &str) -> Result<Vec<Order>, VenueError> {
        let hashes: Vec<&str> = targets.iter().filter_map(|o| o.venue_order_id.as_deref()).collect();
        if !hashes.is_empty() {
            // The client splits at the CLOB's 3,000 ids per request.
            self.client.cancel_orders(&hashes).await.map_err(clob)?;
        }
        let mut cancelled = Vec::new();
        let mut first_error = None;
        for order in targets {
            let Some(hash) = order.venue_order_id.as_deref() else { continue };
            match self.settle_cancel(order, hash, reason).await {
                Ok(()) => match self.current(&order.id).await {
                    Ok(o) if !o.status.is_live() => cancelled.push(o),
                    Ok(_) => {}
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                },
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(cancelled),
        }
    }
}

fn merge(all: &mut Effects, e: Effects) {
    all.new_fills.extend(e.new_fills);
    all.advanced.extend(e.advanced);
    all.transfers.extend(e.transfers);
    all.order_changed |= e.order_changed;
}

/// Writes one order's effects on the caller's transaction (which holds the ledger lock).
async fn write_in(tx: &mut sqlx::AnyConnection, order: &Order, effects: &Effects) -> Result<(), StorageError> {
    ledger::append_many_locked_in(tx, &effects.transfers).await?;
    for (fill_id, from, to) in &effects.advanced {
        if !orders::advance_fill_in(tx, fill_id, *from, *to).await? {
            return Err(StorageError::Invalid(format!("fill {fill_id} was not {from} any more")));
        }
    }
    orders::insert_fills_in(tx, &effects.new_fills).await?;
    if effects.order_changed {
        orders::save_in(tx, &[order]).await?;
    }
    Ok(())
}

/// A clob-client account message in the Kairos settings' names.
fn settings_terms(message: &str) -> String {
    message
        .replace("signature_type", "KAIROS_POLYMARKET__SIGNATURE_TYPE")
        .replace("funder", "KAIROS_POLYMARKET__FUNDER")
}
