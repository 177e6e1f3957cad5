//! What every venue shares: the [`Venue`] trait and its errors ([`venue`]), the events venues
//! publish ([`events`]), and the dispatch to the venue a market names ([`dispatch`]). The
//! refusals are `kairos_domain::Refusal` (the matching engine gives them too); the notional is
//! `kairos_domain::money::notional` and a reservation's transfer `kairos_domain::ledger::reservation`.

pub mod dispatch;
pub mod events;
pub mod venue;

pub use dispatch::Venues;
pub use events::{Publisher, StreamEvent};
pub use venue::{CancelCause, Venue, VenueError};
