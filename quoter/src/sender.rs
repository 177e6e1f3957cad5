//! Sends what a pass wrote on the warm keep-alive connection, one request after the other (no
//! pipelining: a proxy in front of the CLOB need not support it), and applies the venue's
//! answers to the pipeline: a place the CLOB refused is forgotten (the next frame quotes it
//! again), one it matched at once moves the inventory and no longer rests, a cancel it could
//! not make is reported, and a heartbeat's answer gives the id the next beat carries.
//!
//! The tick-to-order latency is the time from the frame's read to the pass's first request
//! written to the socket: that is when the decision leaves the machine.

use std::time::{Duration, Instant};

use kairos_clob_client::http::types::{CancelResponse, PostOrderResponse};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::conn::{ConnError, Connection};
use crate::fixed::parse_size;
use crate::frame::Side;
use crate::outbox::{OrderRef, RequestKind};
use crate::pipeline::Pipeline;
use crate::strategy::Strategy;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Connection(#[from] ConnError),
}

/// What one pass's sending found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sent {
    /// From the frame's read to the first request written; `None` when the pass sent nothing
    /// or sent no frame's decision (a heartbeat, a cancel-all).
    pub tick_to_order: Option<Duration>,
    pub requests: usize,
    /// Places the CLOB accepted and that rest.
    pub resting: usize,
    /// Places refused (by status or `success: false`), forgotten.
    pub refused: usize,
    /// Places matched at once, their shares applied to the inventory.
    pub matched: usize,
    /// Cancels the CLOB reported it could not make.
    pub not_cancelled: usize,
    /// The id the CLOB gave the heartbeat sent, to carry in the next one.
    pub heartbeat_id: Option<String>,
    /// The server asked to close the connection: open a new one before the next pass.
    pub close: bool,
}

/// What became of one place.
enum Placed {
    Resting,
    Refused,
    /// Matched at placement, with the amounts the answer names (micro-units), when it does:
    /// a BUY takes shares, a SELL makes them.
    Matched {
        making: Option<u64>,
        taking: Option<u64>,
    },
}

/// Sends the requests the pipeline's outbox holds, reading each answer before the next
/// request. `frame_read_at` is when the frame behind them was read, for the latency; `None`
/// for requests no frame decided.
pub async fn send_pass<S, T>(
    conn: &mut Connection<T>,
    pipeline: &mut Pipeline<S>,
    frame_read_at: Option<Instant>,
) -> Result<Sent, SendError>
where
    S: Strategy,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut sent = Sent::default();
    let count = pipeline.outbox().requests().len();
    let mut outcomes: Vec<(OrderRef, Placed)> = Vec::new();
    for i in 0..count {
        let (kind, orders) = {
            let outbox = pipeline.outbox();
            let request = &outbox.requests()[i];
            conn.write(&outbox.bytes()[request.bytes.clone()]).await?;
            let orders: Vec<OrderRef> = match request.kind {
                RequestKind::Place => outbox.placed()[request.orders.clone()].to_vec(),
                RequestKind::Cancel => outbox.cancelled()[request.orders.clone()].to_vec(),
                RequestKind::Heartbeat => Vec::new(),
            };
            (request.kind, orders)
        };
        if i == 0 {
            sent.tick_to_order = frame_read_at.map(|at| at.elapsed());
        }
        sent.requests += 1;
        let answer = conn.read_response().await?;
        sent.close |= answer.close;
        match kind {
            RequestKind::Place => {
                let placed = place_outcomes(answer.status, answer.body, orders.len());
                outcomes.extend(orders.into_iter().zip(placed));
            }
            RequestKind::Cancel => apply_cancels(answer.status, answer.body, &orders, &mut sent),
            RequestKind::Heartbeat => sent.heartbeat_id = heartbeat_id(answer.status, answer.body),
        }
    }
    for (order, placed) in outcomes {
        match placed {
            Placed::Resting => sent.resting += 1,
            Placed::Refused => {
                sent.refused += 1;
                pipeline.forget(order.market, order.id);
            }
            Placed::Matched { making, taking } => {
                sent.matched += 1;
                let side = pipeline
                    .engine()
                    .markets()
                    .get(order.market)
                    .and_then(|m| m.resting.iter().find(|r| r.id == order.id).map(|r| r.quote.side));
                let shares = match side {
                    Some(Side::Buy) => taking,
                    Some(Side::Sell) => making,
                    None => None,
                };
                // Named or not, the order no longer rests in full: all of it counts when the
                // answer does not say how much.
                pipeline.on_order_matched(&order.hash, shares.unwrap_or(u64::MAX));
            }
        }
    }
    Ok(sent)
}
/// `POST /order` answers one object, `POST /orders` an array in the order of its legs.
fn place_outcomes(status: u16, body: &[u8], count: usize) -> Vec<Placed> {
    let legs: Option<Vec<PostOrderResponse>> = if !(200..300).contains(&status) {
        None
    } else if count == 1 {
        serde_json::from_slice::<PostOrderResponse>(body).ok().map(|r| vec![r])
    } else {
        serde_json::from_slice::<Vec<PostOrderResponse>>(body).ok().filter(|legs| legs.len() == count)
    };
    let Some(legs) = legs else {
        // Refused as a whole, or an answer that cannot be read: none of them is known to rest.
        // An unreadable 2xx may have placed them; the heartbeat's end or a cancel-all takes
        // those down, and the quoter stops believing in what it cannot confirm.
        tracing::warn!(status, body = %String::from_utf8_lossy(body), "places refused or unreadable");
        return (0..count).map(|_| Placed::Refused).collect();
    };
    legs.into_iter()
        .map(|leg| {
            // A refused leg of a batch comes back as `success: true` with no order id.
            if !leg.success || leg.order_id.is_empty() {
                tracing::warn!(error = %leg.error_msg, "place refused");
                Placed::Refused
            } else if leg.status == "matched" {
                Placed::Matched {
                    making: parse_size(leg.making_amount.as_bytes()),
                    taking: parse_size(leg.taking_amount.as_bytes()),
                }
            } else {
                Placed::Resting
            }
        })
        .collect()
}

/// The id in a heartbeat's answer: a 200's, or the one a 400 for a stale id names.
fn heartbeat_id(status: u16, body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let id = value.get("heartbeat_id")?.as_str()?.to_string();
    if !(200..300).contains(&status) {
        tracing::warn!(status, body = %String::from_utf8_lossy(body), "heartbeat refused; carrying the id it names");
    }
    Some(id)
}

fn apply_cancels(status: u16, body: &[u8], orders: &[OrderRef], sent: &mut Sent) {
    let answer = if (200..300).contains(&status) { serde_json::from_slice::<CancelResponse>(body).ok() } else { None };
    match answer {
        Some(answer) => {
            for (id, reason) in &answer.not_canceled {
                tracing::warn!(order = %id, %reason, "cancel not made");
            }
            sent.not_cancelled += answer.not_canceled.len();
        }
        None => {
            tracing::warn!(status, body = %String::from_utf8_lossy(body), "cancels refused or unreadable");
            sent.not_cancelled += orders.len();
        }
    }
}
