//! What orders and markets go through around the venues: placement rules and the wire shapes
//! of orders ([`orders`]), the dead-man's switch ([`dead_man`]), and the in-memory market
//! catalog with its views ([`market_catalog`], [`market_view`]).

pub mod dead_man;
pub mod market_catalog;
pub mod market_view;
pub mod orders;
