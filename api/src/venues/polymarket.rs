//! The Polymarket CLOB venue. It is on only when all of its credentials are configured
//! (`KAIROS_POLYMARKET__*`); while off, every order for a Polymarket market is refused with
//! 409 `venue_disabled`, naming the settings that turn it on.
//!
//! Routing live orders to the CLOB (building and signing them with `clob-client`, the CLOB
//! heartbeat, the user websocket, reconciliation by order hash) is not in this build: with
//! credentials configured, requests are refused with `venue_not_available` and start-up logs
//! a warning, so nothing is ever half-sent.

use kairos_platform::config::{POLYMARKET_REQUIRED, PolymarketCredentials};
use kairos_platform::domain::Order;

use super::{Venue, VenueError};

#[derive(Debug, Clone)]
pub struct PolymarketVenue {
    configured: bool,
}

impl PolymarketVenue {
    pub fn new(credentials: Option<&PolymarketCredentials>) -> PolymarketVenue {
        PolymarketVenue { configured: credentials.is_some() }
    }

    pub fn is_enabled(&self) -> bool {
        self.configured
    }

    fn refuse(&self) -> VenueError {
        if self.configured {
            VenueError::NotAvailable(
                "the Polymarket venue is configured, but this build does not route orders to the CLOB yet".to_string(),
            )
        } else {
            VenueError::Disabled(format!(
                "the Polymarket venue is off; set {} to turn it on",
                POLYMARKET_REQUIRED.join(", ")
            ))
        }
    }
}

impl Venue for PolymarketVenue {
    async fn submit(&self, _order: Order) -> Result<Order, VenueError> {
        Err(self.refuse())
    }

    async fn amend(&self, _: &Order, _: Option<i64>, _: Option<i64>) -> Result<Order, VenueError> {
        Err(self.refuse())
    }

    async fn cancel(&self, _: &Order) -> Result<Order, VenueError> {
        Err(self.refuse())
    }

    async fn cancel_all(&self, _: &str, _: Option<&str>) -> Result<Vec<Order>, VenueError> {
        Err(self.refuse())
    }

    async fn reconcile(&self) -> Result<usize, VenueError> {
        Err(self.refuse())
    }
}
