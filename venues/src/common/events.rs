//! What venues publish for the streams, once it is durable.

use std::sync::Arc;

use kairos_domain::{Fill, Order};
use kairos_matching::exchange::Trade;
use tokio::sync::broadcast;

/// What the venue publishes once a batch is committed.
#[derive(Debug, Clone)]
pub enum StreamEvent {
    /// Changed levels of a book (size 0: the level is gone); `seq` grows by one per message.
    Book {
        market_id: String,
        book: usize,
        seq: u64,
        bids: kairos_matching::exchange::Ladder,
        asks: kairos_matching::exchange::Ladder,
    },
    Trade(Trade),
    Order(Box<Order>),
    Fill(Box<Fill>),
    /// A user's dead-man's switch fired and cancelled this many orders.
    DeadManSwitch {
        user_id: String,
        cancelled: usize,
    },
}

/// Where a venue sends its events; every stream session subscribes to it.
pub type Publisher = broadcast::Sender<Arc<StreamEvent>>;
