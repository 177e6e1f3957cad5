//! The Polymarket CLOB venue. It is on only when all of its credentials are configured
//! (`KAIROS_POLYMARKET__*`); while off, every order for a Polymarket market is refused with
//! 409 `venue_disabled`, naming the settings that turn it on.
//!
//! When on ([`live`]), orders are signed with `clob-client` and sent to the CLOB, followed over
//! the user websocket ([`sync`]) and a REST poll the keepers run once per deployment
//! (`venue-reconcile`, [`sync::reconcile`]), and their trades booked with their finality
//! ([`tracking`], [`money`]): nothing counts as filled before the chain confirms it.
//! The CLOB has no amend: an amend is refused with `amend_not_supported`. New orders wait for
//! the CLOB heartbeat, which a keeper keeps ([`heartbeat`]) and every instance follows
//! ([`heartbeat_gate`]): without it they are refused with 503
//! `venue_heartbeat_lost`, while cancels still go.

pub mod budget;
pub mod gamma;
pub mod heartbeat;
pub mod heartbeat_gate;
pub mod live;
pub mod money;
pub mod reports;
pub mod sync;
pub mod tracking;

use std::sync::Arc;

use kairos_domain::Order;
use kairos_platform::config::{POLYMARKET_REQUIRED, PolymarketCredentials};
use kairos_platform::storage::Db;

use kairos_domain::Refusal;

use self::live::Live;
use crate::common::{CancelCause, Publisher, Venue, VenueError};

#[derive(Debug, Clone)]
pub struct PolymarketVenue {
    live: Option<Arc<Live>>,
}

impl PolymarketVenue {
    /// Off without credentials; with them, fails when they are malformed.
    pub fn new(
        credentials: Option<&PolymarketCredentials>,
        limits: kairos_domain::risk::AccountLimits,
        db: Db,
        publisher: Publisher,
    ) -> Result<PolymarketVenue, live::SetupError> {
        let live = credentials.map(|c| Live::new(c, limits, db, publisher)).transpose()?.map(Arc::new);
        Ok(PolymarketVenue { live })
    }

    pub fn is_enabled(&self) -> bool {
        self.live.is_some()
    }

    /// The heartbeat's gate on new orders, when the venue is on (for `/ready`).
    pub fn heartbeat(&self) -> Option<Arc<heartbeat_gate::HeartbeatGate>> {
        self.live.as_ref().map(|l| l.heartbeat.clone())
    }

    /// The running venue, for its background tasks.
    pub fn live(&self) -> Option<Arc<Live>> {
        self.live.clone()
    }

    /// Cancels an order group's live CLOB orders (its deletion).
    pub async fn cancel_group(&self, group_id: &str, reason: &str) -> Result<Vec<Order>, VenueError> {
        self.on()?.cancel_group(group_id, reason).await
    }

    fn on(&self) -> Result<&Live, VenueError> {
        self.live.as_deref().ok_or_else(|| {
            VenueError::Disabled(format!(
                "the Polymarket venue is off; set {} to turn it on",
                POLYMARKET_REQUIRED.join(", ")
            ))
        })
    }
}

impl Venue for PolymarketVenue {
    async fn submit(&self, order: Order) -> Result<Order, VenueError> {
        self.on()?.submit(order).await
    }

    async fn amend(
        &self,
        _: &Order,
        _: Option<kairos_domain::Price>,
        _: Option<kairos_domain::Size>,
    ) -> Result<Order, VenueError> {
        self.on()?;
        Err(VenueError::Refused(Refusal::AmendNotSupported))
    }

    async fn cancel(&self, order: &Order) -> Result<Order, VenueError> {
        self.on()?.cancel(order, "cancelled").await
    }

    async fn cancel_all(
        &self,
        user_id: &str,
        market_id: Option<&str>,
        cause: CancelCause,
    ) -> Result<Vec<Order>, VenueError> {
        self.on()?.cancel_all(user_id, market_id, cause.reason()).await
    }
}
