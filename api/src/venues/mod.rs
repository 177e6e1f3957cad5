//! Where orders go. Every venue answers the same [`Venue`] trait; [`Venues`] picks the one a
//! market names. The paper venue ([`paper`]) is a real exchange in-process and the default;
//! the Polymarket venue ([`polymarket`]) is on only when its credentials are configured.

pub mod forwarding;
pub mod paper;
pub mod polymarket;

use kairos_platform::domain::{Order, Venue as VenueName};
use kairos_platform::storage::Db;

use self::paper::exchange::Refusal;
use self::paper::sequencer::{CancelCause, PaperVenue, Reply, Request};
use self::polymarket::PolymarketVenue;

/// Why a venue did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum VenueError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("the venue cannot take requests right now: {0}")]
    Unavailable(String),
    /// The venue is off (its credentials are not configured).
    #[error("{0}")]
    Disabled(String),
}

/// What every venue does with orders. Ids are Kairos order ids; `user_id` scopes every
/// request to its owner (another user's order is "not found").
#[allow(async_fn_in_trait)]
pub trait Venue {
    /// Places an order (status `pending`, ids set); returns it as the venue left it.
    async fn submit(&self, order: Order) -> Result<Order, VenueError>;
    async fn amend(
        &self,
        order: &Order,
        price_micros: Option<i64>,
        size_micros: Option<i64>,
    ) -> Result<Order, VenueError>;
    async fn cancel(&self, order: &Order) -> Result<Order, VenueError>;
    async fn cancel_all(&self, user_id: &str, market_id: Option<&str>) -> Result<Vec<Order>, VenueError>;
}

fn amend_request(order: &Order, price_micros: Option<i64>, size_micros: Option<i64>) -> Request {
    Request::Amend {
        user_id: order.user_id.clone(),
        order_id: order.id.clone(),
        market_id: order.market_id.clone(),
        price_micros,
        size_micros,
    }
}

fn cancel_request(order: &Order) -> Request {
    Request::Cancel { user_id: order.user_id.clone(), order_id: order.id.clone(), market_id: order.market_id.clone() }
}

fn one(reply: Reply) -> Result<Order, VenueError> {
    match reply {
        Reply::Order(o) => Ok(*o),
        other => Err(VenueError::Unavailable(format!("unexpected reply {other:?}"))),
    }
}

impl Venue for PaperVenue {
    async fn submit(&self, order: Order) -> Result<Order, VenueError> {
        one(self.call(Request::Place(Box::new(order))).await?)
    }

    async fn amend(
        &self,
        order: &Order,
        price_micros: Option<i64>,
        size_micros: Option<i64>,
    ) -> Result<Order, VenueError> {
        one(self.call(amend_request(order, price_micros, size_micros)).await?)
    }

    async fn cancel(&self, order: &Order) -> Result<Order, VenueError> {
        one(self.call(cancel_request(order)).await?)
    }

    async fn cancel_all(&self, user_id: &str, market_id: Option<&str>) -> Result<Vec<Order>, VenueError> {
        match self
            .call(Request::CancelAll {
                user_id: user_id.to_string(),
                market_id: market_id.map(str::to_string),
                cause: CancelCause::Requested,
            })
            .await?
        {
            Reply::Orders(orders) => Ok(orders),
            other => Err(VenueError::Unavailable(format!("unexpected reply {other:?}"))),
        }
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

    pub async fn submit(&self, venue: VenueName, order: Order) -> Result<Order, VenueError> {
        match venue {
            VenueName::Paper => one(self.paper_call(Request::Place(Box::new(order))).await?),
            VenueName::Polymarket => self.polymarket.submit(order).await,
        }
    }

    pub async fn amend(
        &self,
        order: &Order,
        price_micros: Option<i64>,
        size_micros: Option<i64>,
    ) -> Result<Order, VenueError> {
        match order.venue {
            VenueName::Paper => one(self.paper_call(amend_request(order, price_micros, size_micros)).await?),
            VenueName::Polymarket => self.polymarket.amend(order, price_micros, size_micros).await,
        }
    }

    pub async fn cancel(&self, order: &Order) -> Result<Order, VenueError> {
        match order.venue {
            VenueName::Paper => one(self.paper_call(cancel_request(order)).await?),
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
        let request =
            Request::CancelAll { user_id: user_id.to_string(), market_id: market_id.map(str::to_string), cause };
        let mut results = vec![self.paper.call(request.clone()).await];
        for address in self.forwarder.other_holders(db, user_id, market_id).await {
            results.push(self.forwarder.forward(&address, &request).await.and_then(|r| r));
        }
        let mut cancelled = Vec::new();
        let mut first_error = None;
        for result in results {
            match result {
                Ok(Reply::Orders(orders)) => cancelled.extend(orders),
                Ok(other) => {
                    first_error.get_or_insert(VenueError::Unavailable(format!("unexpected reply {other:?}")));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if self.polymarket.is_enabled() {
            match self.polymarket.cancel_all_because(user_id, market_id, cause.reason()).await {
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
}

/// The refusal of an order request: its code and whether it is the caller's fault (4xx).
pub fn refusal_status(r: &Refusal) -> u16 {
    match r {
        Refusal::NotFound => 404,
        Refusal::ClientOrderIdReused(_) | Refusal::MarketResolved | Refusal::MarketMoved { .. } => 409,
        Refusal::UnknownMarket | Refusal::HeartbeatLost => 503,
        Refusal::VenueBusy => 429,
        _ => 422,
    }
}
