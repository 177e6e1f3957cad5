//! A Polymarket CLOB client. Standalone: it knows nothing of Kairos.
//!
//! Not implemented yet: this crate is an empty skeleton so the workspace has its final shape.
//! Nothing in Kairos calls it, and the API answers orders for Polymarket markets with
//! `venue_disabled` until it exists.
