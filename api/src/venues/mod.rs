//! Venues orders are routed to. The paper venue is a real exchange in-process; its matching
//! engine ([`paper::order_book`]) is here. The venue trait, the order API and the Polymarket
//! venue arrive with the orders work; nothing routes orders yet.

pub mod paper;
