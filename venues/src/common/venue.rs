//! The contract every venue keeps.

use kairos_domain::{Order, Price, Refusal, Size};

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
    async fn amend(&self, order: &Order, price: Option<Price>, size: Option<Size>) -> Result<Order, VenueError>;
    async fn cancel(&self, order: &Order) -> Result<Order, VenueError>;
    /// Cancels every open order of the user (in one market, or all), each carrying `cause` as
    /// its reason.
    async fn cancel_all(
        &self,
        user_id: &str,
        market_id: Option<&str>,
        cause: CancelCause,
    ) -> Result<Vec<Order>, VenueError>;
}

/// Why every order of a user is being cancelled: the reason their orders carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CancelCause {
    Requested,
    DeadManSwitch,
    Disconnected,
}

impl CancelCause {
    pub fn reason(self) -> &'static str {
        match self {
            CancelCause::Requested => "cancelled",
            CancelCause::DeadManSwitch => "dead_man_switch",
            CancelCause::Disconnected => "cancel_on_disconnect",
        }
    }
}
