//! The order API's words: requests parsed into domain orders (every check that needs no
//! account state, in the order a trader expects to hear about them) and orders, fills and
//! positions as served. Handlers in `routes::orders` stay thin; tests call these directly.

pub mod placement;
pub mod wire;
