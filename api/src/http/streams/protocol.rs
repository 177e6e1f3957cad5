//! The websocket protocol. Client messages are JSON objects with an `op`:
//!
//! - `{"op":"subscribe","channel":"book","market_id":…,"book":0}`: a `book_snapshot`, then a
//!   `book_delta` per change, each with the next `seq`. A client that sees a gap subscribes
//!   again for a new snapshot. Every 5 s a `book_heartbeat` repeats the current `seq`, so a
//!   silent stream is told apart from a quiet book.
//! - `{"op":"subscribe","channel":"trades","market_id":…}`: every trade of the market.
//! - `{"op":"subscribe","channel":"orders"}` and `"fills"`: the caller's own.
//! - `{"op":"unsubscribe",…}` with the same fields, `{"op":"cancel_on_disconnect","enabled":true}`
//!   (needs the trade scope), `{"op":"ping"}`.
//!
//! Server messages carry a `type`. Prices and sizes are decimal strings; a delta's level with
//! size `"0"` is gone.

use kairos_domain::ErrorCode;
use kairos_domain::{Price, Size};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::trading::orders::wire::{FillBody, OrderBody};
use kairos_matching::exchange::Trade;
use kairos_venues::common::StreamEvent;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    Book {
        market_id: String,
        #[serde(default)]
        book: usize,
    },
    Trades {
        market_id: String,
    },
    Orders,
    Fills,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClientMessage {
    Subscribe(Channel),
    Unsubscribe(Channel),
    CancelOnDisconnect { enabled: bool },
    Ping,
}

pub fn parse(text: &str) -> Result<ClientMessage, Value> {
    serde_json::from_str(text)
        .map_err(|e| error(ErrorCode::InvalidMessage, &format!("{e}; see the protocol in the API docs")))
}

pub fn error(code: ErrorCode, message: &str) -> Value {
    json!({ "type": "error", "code": code, "message": message })
}

fn ladder(levels: &[(Price, Size)]) -> Value {
    Value::Array(levels.iter().map(|(p, s)| json!([p.to_string(), s.to_string()])).collect())
}

pub fn snapshot(market_id: &str, book: usize, seq: u64, bids: &[(Price, Size)], asks: &[(Price, Size)]) -> Value {
    json!({ "type": "book_snapshot", "market_id": market_id, "book": book, "seq": seq, "bids": ladder(bids), "asks": ladder(asks) })
}

pub fn heartbeat(market_id: &str, book: usize, seq: u64) -> Value {
    json!({ "type": "book_heartbeat", "market_id": market_id, "book": book, "seq": seq })
}

fn trade(t: &Trade) -> Value {
    json!({
        "type": "trade",
        "trade_id": t.trade_id,
        "market_id": t.market_id,
        "book": t.book,
        "price": t.price.to_string(),
        "size": t.size.to_string(),
        "taker_side": t.taker_side.as_str(),
    })
}

/// The message an event becomes for a connection with these subscriptions, if any. `seen`
/// gives the last `seq` sent per book, so deltas already inside a snapshot are skipped.
pub fn render(
    event: &StreamEvent,
    user_id: &str,
    subscribed: &std::collections::HashSet<Channel>,
    seen: &std::collections::HashMap<(String, usize), u64>,
) -> Option<Value> {
    match event {
        StreamEvent::Book { market_id, book, seq, bids, asks } => {
            let channel = Channel::Book { market_id: market_id.clone(), book: *book };
            let last = seen.get(&(market_id.clone(), *book)).copied()?;
            (subscribed.contains(&channel) && *seq > last).then(|| {
                json!({ "type": "book_delta", "market_id": market_id, "book": book, "seq": seq, "bids": ladder(bids), "asks": ladder(asks) })
            })
        }
        StreamEvent::Trade(t) => {
            subscribed.contains(&Channel::Trades { market_id: t.market_id.clone() }).then(|| trade(t))
        }
        StreamEvent::Order(o) => (o.user_id == user_id && subscribed.contains(&Channel::Orders))
            .then(|| json!({ "type": "order", "order": OrderBody::from(o.as_ref()) })),
        StreamEvent::Fill(f) => (f.user_id == user_id && subscribed.contains(&Channel::Fills))
            .then(|| json!({ "type": "fill", "fill": FillBody::from(f.as_ref()) })),
        StreamEvent::DeadManSwitch { user_id: who, cancelled } => (who == user_id
            && subscribed.contains(&Channel::Orders))
        .then(|| json!({ "type": "dead_man_switch", "cancelled_orders": cancelled })),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    #[test]
    fn client_messages_parse_or_say_why_not() {
        assert_eq!(
            parse(r#"{"op":"subscribe","channel":"book","market_id":"m"}"#),
            Ok(ClientMessage::Subscribe(Channel::Book { market_id: "m".into(), book: 0 }))
        );
        assert_eq!(parse(r#"{"op":"subscribe","channel":"orders"}"#), Ok(ClientMessage::Subscribe(Channel::Orders)));
        assert_eq!(
            parse(r#"{"op":"cancel_on_disconnect","enabled":true}"#),
            Ok(ClientMessage::CancelOnDisconnect { enabled: true })
        );
        for bad in [r#"{"op":"subscribe","channel":"nope"}"#, r#"{"op":"subscribe"}"#, "[]", "not json"] {
            assert_eq!(parse(bad).expect_err(bad)["code"], "invalid_message");
        }
    }

    #[test]
    fn deltas_go_only_to_subscribers_and_never_repeat_a_snapshot() {
        let event = StreamEvent::Book {
            market_id: "m".into(),
            book: 0,
            seq: 5,
            bids: vec![(Price::from_micros(400_000), Size::ZERO)],
            asks: vec![],
        };
        let subscribed: HashSet<Channel> = [Channel::Book { market_id: "m".into(), book: 0 }].into();
        let mut seen = HashMap::new();
        seen.insert(("m".to_string(), 0), 4);
        let delta = render(&event, "u", &subscribed, &seen).expect("delta");
        assert_eq!(delta["bids"], json!([["0.4", "0"]]));
        seen.insert(("m".to_string(), 0), 5);
        assert_eq!(render(&event, "u", &subscribed, &seen), None, "already in the snapshot");
        assert_eq!(render(&event, "u", &HashSet::new(), &seen), None);
    }
}
