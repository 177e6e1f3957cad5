//! Where orders go. Every venue answers the same [`Venue`] trait; [`Venues`] picks the one a
//! market names. The paper venue ([`paper`]) is a real exchange in-process and the default;
//! the Polymarket venue ([`polymarket`]) is on only when its credentials are configured.

pub mod paper;
pub mod polymarket;

use kairos_platform::domain::{Order, Venue as VenueName};

use self::paper::exchange::Refusal;
use self::paper::sequencer::{CancelCause, PaperVenue, Reply, Request};
use self::polymarket::PolymarketVenue;

/// Why a venue did not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("the venue cannot take requests right now: {0}")]
    Unavailable(String),
    /// The venue is off (its credentials are not configured).
    #[error("{0}")]
    Disabled(String),
    /// The venue is configured but this build cannot route to it.
    #[error("{0}")]
    NotAvailable(String),
}

/// What every venue does with orders. Ids are Kairos order ids; `user_id` scopes every
/// request to its owner (another user's order is "not found").
#[allow(async_fn_in_trait)]
pub trait Venue {
    /// Places an order (status `pending`, ids set); returns it as the venue left it.
    async fn submit(&self, order: Order) -> Result<Order, VenueError>;
    async fn amend(
        &self,
        user_id: &str,
        order_id: &str,
        price_micros: Option<i64>,
        size_micros: Option<i64>,
    ) -> Result<Order, VenueError>;
    async fn cancel(&self, user_id: &str, order_id: &str) -> Result<Order, VenueError>;
    async fn cancel_all(&self, user_id: &str, market_id: Option<&str>) -> Result<Vec<Order>, VenueError>;
    /// Brings the venue's view and the database back in line (after a restart or a timeout);
    /// returns how many orders it corrected.
    async fn reconcile(&self) -> Result<usize, VenueError>;
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
        user_id: &str,
        order_id: &str,
        price_micros: Option<i64>,
        size_micros: Option<i64>,
    ) -> Result<Order, VenueError> {
        one(self
            .call(Request::Amend {
                user_id: user_id.to_string(),
                order_id: order_id.to_string(),
                price_micros,
                size_micros,
            })
            .await?)
    }

    async fn cancel(&self, user_id: &str, order_id: &str) -> Result<Order, VenueError> {
        one(self.call(Request::Cancel { user_id: user_id.to_string(), order_id: order_id.to_string() }).await?)
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

    /// The paper venue's books are rebuilt from the database at start and after any failed
    /// commit, so there is nothing to correct.
    async fn reconcile(&self) -> Result<usize, VenueError> {
        Ok(0)
    }
}

/// Every venue of this instance.
#[derive(Debug, Clone)]
pub struct Venues {
    pub paper: PaperVenue,
    pub polymarket: PolymarketVenue,
}

impl Venues {
    pub async fn submit(&self, venue: VenueName, order: Order) -> Result<Order, VenueError> {
        match venue {
            VenueName::Paper => self.paper.submit(order).await,
            VenueName::Polymarket => self.polymarket.submit(order).await,
        }
    }

    pub async fn amend(
        &self,
        venue: VenueName,
        user_id: &str,
        order_id: &str,
        price_micros: Option<i64>,
        size_micros: Option<i64>,
    ) -> Result<Order, VenueError> {
        match venue {
            VenueName::Paper => self.paper.amend(user_id, order_id, price_micros, size_micros).await,
            VenueName::Polymarket => self.polymarket.amend(user_id, order_id, price_micros, size_micros).await,
        }
    }

    pub async fn cancel(&self, venue: VenueName, user_id: &str, order_id: &str) -> Result<Order, VenueError> {
        match venue {
            VenueName::Paper => self.paper.cancel(user_id, order_id).await,
            VenueName::Polymarket => self.polymarket.cancel(user_id, order_id).await,
        }
    }

    /// Cancels on every venue that is on.
    pub async fn cancel_everywhere(&self, user_id: &str, market_id: Option<&str>) -> Result<Vec<Order>, VenueError> {
        self.cancel_everywhere_because(user_id, market_id, CancelCause::Requested).await
    }

    /// [`Venues::cancel_everywhere`], the orders carrying `cause` as their reason. Every venue
    /// is tried even when one fails; then the first error is returned.
    pub async fn cancel_everywhere_because(
        &self,
        user_id: &str,
        market_id: Option<&str>,
        cause: CancelCause,
    ) -> Result<Vec<Order>, VenueError> {
        let paper = match self
            .paper
            .call(Request::CancelAll { user_id: user_id.to_string(), market_id: market_id.map(str::to_string), cause })
            .await
        {
            Ok(Reply::Orders(orders)) => Ok(orders),
            Ok(other) => Err(VenueError::Unavailable(format!("unexpected reply {other:?}"))),
            Err(e) => Err(e),
        };
        let polymarket = if self.polymarket.is_enabled() {
            self.polymarket.cancel_all(user_id, market_id).await
        } else {
            Ok(Vec::new())
        };
        let mut cancelled = paper?;
        cancelled.extend(polymarket?);
        Ok(cancelled)
    }
}

/// The refusal of an order request: its code and whether it is the caller's fault (4xx).
pub fn refusal_status(r: &Refusal) -> u16 {
    match r {
        Refusal::NotFound => 404,
        Refusal::ClientOrderIdReused(_) | Refusal::NotLive(_) | Refusal::MarketResolved => 409,
        Refusal::UnknownMarket => 503,
        _ => 422,
    }
}
