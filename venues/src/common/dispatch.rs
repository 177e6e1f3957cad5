//! [`Venues`]: every venue of this instance, and the way to the other instances. Each call goes
//! through the [`Venue`] trait of the venue the market names.

use kairos_domain::{Order, Price, Refusal, Size, Venue as VenueName};
use kairos_platform::storage::Db;

use super::{CancelCause, Venue, VenueError};
use crate::forwarding;
use crate::paper::sequencer::{PaperVenue, Reply, Request};
use crate::polymarket::PolymarketVenue;
use kairos_matching::exchange::ORDER_GROUP_DELETED;

fn amend_request(order: &Order, price: Option<Price>, size: Option<Size>) -> Request {
    Request::Amend {
        user_id: order.user_id.clone(),
        order_id: order.id.clone(),
        market_id: order.market_id.clone(),
        price,
        size,
    }
}

fn cancel_request(order: &Order) -> Request {
    Request::Cancel { user_id: order.user_id.clone(), order_id: order.id.clone(), market_id: order.market_id.clone() }
}

fn cancel_all_request(user_id: &str, market_id: Option<&str>, cause: CancelCause) -> Request {
    Request::CancelAll { user_id: user_id.to_string(), market_id: market_id.map(str::to_string), cause }
}

fn one(reply: Reply) -> Result<Order, VenueError> {
    match reply {
        Reply::Order(o) => Ok(*o),
        other => Err(VenueError::Unavailable(format!("unexpected reply {other:?}"))),
    }
}

/// Every venue of this instance, and the way to the other instances (a paper market is matched
/// by the one instance that holds its lease; requests for it are forwarded there).
#[derive(Debug, Clone)]
pub struct Venues {
    pub paper: PaperVenue,
    pub polymarket: PolymarketVenue,
    pub forwarder: forwarding::Forwarder,
}

impl Venues {
    /// Runs a request on this instance's paper venue, or on the instance that holds its
    /// market. When that instance cannot be reached the answer stays `market_moved` (409 with
    /// `Retry-After`): its lease lapses within `KAIROS_MARKET_LEASE_MS` and any instance takes
    /// the market over.
    pub async fn paper_call(&self, request: Request) -> Result<Reply, VenueError> {
        match self.paper.call(request.clone()).await {
            Err(VenueError::Refused(Refusal::MarketMoved { address })) if self.forwarder.may_forward(&address) => {
                self.forwarder.forward(&address, &request).await.map_err(|e| {
                    tracing::warn!(%address, error = %e, "forwarding to the market's instance failed");
                    VenueError::Refused(Refusal::MarketMoved { address })
                })?
            }
            other => other,
        }
    }

    /// The paper venue as requests reach it: here, or forwarded to the market's instance.
    fn paper_route(&self) -> PaperRoute<'_> {
        PaperRoute { venues: self }
    }

    pub async fn submit(&self, venue: VenueName, order: Order) -> Result<Order, VenueError> {
        match venue {
            VenueName::Paper => self.paper_route().submit(order).await,
            VenueName::Polymarket => self.polymarket.submit(order).await,
        }
    }

    pub async fn amend(&self, order: &Order, price: Option<Price>, size: Option<Size>) -> Result<Order, VenueError> {
        match order.venue {
            VenueName::Paper => self.paper_route().amend(order, price, size).await,
            VenueName::Polymarket => self.polymarket.amend(order, price, size).await,
        }
    }

    pub async fn cancel(&self, order: &Order) -> Result<Order, VenueError> {
        match order.venue {
            VenueName::Paper => self.paper_route().cancel(order).await,
            VenueName::Polymarket => self.polymarket.cancel(order).await,
        }
    }

    /// Cancels on every venue that is on.
    pub async fn cancel_everywhere(
        &self,
        db: &Db,
        user_id: &str,
        market_id: Option<&str>,
    ) -> Result<Vec<Order>, VenueError> {
        self.cancel_everywhere_because(db, user_id, market_id, CancelCause::Requested).await
    }

    /// Runs a cancelling request here and on every other instance that holds a market (this
    /// one, or any) where the user has live orders: one result per place.
    async fn paper_everywhere(
        &self,
        db: &Db,
        user_id: &str,
        market_id: Option<&str>,
        request: &Request,
    ) -> Vec<Result<Vec<Order>, VenueError>> {
        let mut results = vec![self.paper.call(request.clone()).await.and_then(orders)];
        for address in self.forwarder.other_holders(db, user_id, market_id).await {
            results.push(self.forwarder.forward(&address, request).await.and_then(|r| r).and_then(orders));
        }
        results
    }

    /// [`Venues::cancel_everywhere`], the orders carrying `cause` as their reason: here, on
    /// every other instance that holds a market where the user has live orders, and on the
    /// Polymarket venue when it is on. Every place is tried even when one fails; then the
    /// first error is returned.
    pub async fn cancel_everywhere_because(
        &self,
        db: &Db,
        user_id: &str,
        market_id: Option<&str>,
        cause: CancelCause,
    ) -> Result<Vec<Order>, VenueError> {
        let request = cancel_all_request(user_id, market_id, cause);
        let mut results = self.paper_everywhere(db, user_id, market_id, &request).await;
        if self.polymarket.is_enabled() {
            results.push(self.polymarket.cancel_all(user_id, market_id, cause).await);
        }
        all_cancelled(results)
    }
}

/// Market-maker protection's order groups. Their state is written by this instance's paper
/// sequencer, in the transaction of the batch that changes it; other instances read it again
/// before their next batch (another writer took the ledger lock), so a reset or deletion here
/// holds everywhere.
impl Venues {
    /// Makes a group active again with an empty window.
    pub async fn reset_group(&self, user_id: &str, group_id: &str) -> Result<kairos_domain::OrderGroup, VenueError> {
        let request = Request::ResetGroup { user_id: user_id.to_string(), group_id: group_id.to_string() };
        match self.paper.call(request).await? {
            Reply::Group(g) => Ok(*g),
            other => Err(VenueError::Unavailable(format!("unexpected reply {other:?}"))),
        }
    }

    /// Deletes a group and cancels its orders: here, on every other instance that holds a
    /// market where the user has live orders, and on the Polymarket venue when it is on.
    /// Every place is tried; then the first error is returned.
    pub async fn delete_group(&self, db: &Db, user_id: &str, group_id: &str) -> Result<Vec<Order>, VenueError> {
        let request = Request::DeleteGroup { user_id: user_id.to_string(), group_id: group_id.to_string() };
        let mut results = self.paper_everywhere(db, user_id, None, &request).await;
        if self.polymarket.is_enabled() {
            results.push(self.polymarket.cancel_group(group_id, ORDER_GROUP_DELETED).await);
        }
        all_cancelled(results)
    }
}

/// The paper venue through [`Venues::paper_call`]: what the dispatch above calls.
struct PaperRoute<'a> {
    venues: &'a Venues,
}

impl Venue for PaperRoute<'_> {
    async fn submit(&self, order: Order) -> Result<Order, VenueError> {
        one(self.venues.paper_call(Request::Place(Box::new(order))).await?)
    }

    async fn amend(&self, order: &Order, price: Option<Price>, size: Option<Size>) -> Result<Order, VenueError> {
        one(self.venues.paper_call(amend_request(order, price, size)).await?)
    }

    async fn cancel(&self, order: &Order) -> Result<Order, VenueError> {
        one(self.venues.paper_call(cancel_request(order)).await?)
    }

    async fn cancel_all(
        &self,
        user_id: &str,
        market_id: Option<&str>,
        cause: CancelCause,
    ) -> Result<Vec<Order>, VenueError> {
        let request = cancel_all_request(user_id, market_id, cause);
        orders(self.venues.paper_call(request).await?)
    }
}

/// Every cancelled order of a fan-out, or its first error (after every place was tried).
fn all_cancelled(results: Vec<Result<Vec<Order>, VenueError>>) -> Result<Vec<Order>, VenueError> {
    let mut cancelled = Vec::new();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(orders) => cancelled.extend(orders),
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

fn orders(reply: Reply) -> Result<Vec<Order>, VenueError> {
    match reply {
        Reply::Orders(orders) => Ok(orders),
        other => Err(VenueError::Unavailable(format!("unexpected reply {other:?}"))),
    }
}
