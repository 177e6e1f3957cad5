//! The Polymarket venue's background work while it is on: the CLOB heartbeat (without it the
//! CLOB cancels every open order of the account within 10 s; its state gates new orders,
//! [`super::heartbeat_gate`]), the user websocket applied as
//! events arrive, and a REST poll of every unsettled order, which also covers whatever the
//! websocket missed (after a reconnect it asks for a poll at once). The user channel is keyed
//! by condition id: it follows the Polymarket markets known at start; later ones are polled.

use std::sync::Arc;

use kairos_clob_client::http::heartbeat::{self, HeartbeatConfig, HeartbeatEvent};
use kairos_clob_client::http::types::Trade;
use kairos_clob_client::ws::{self, UserEvent, WsConfig, WsEvent};
use tokio_util::sync::CancellationToken;

use super::live::Live;
use super::reports::VenueOrder;

/// Runs until `shutdown`.
pub async fn run(live: Arc<Live>, shutdown: CancellationToken) {
    let mut beats = heartbeat::spawn(live.client.clone(), HeartbeatConfig::default());
    let markets = live.condition_ids().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not list the Polymarket markets; the user channel follows none and polling covers them");
        Vec::new()
    });
    let mut user = ws::user(WsConfig::new(live.ws_url.clone()), &live.ws_credentials, &markets);
    let mut poll = tokio::time::interval(live.poll);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = poll.tick() => reconcile(&live).await,
            Some(beat) = beats.events.recv() => match beat {
                HeartbeatEvent::Beat { .. } => live.heartbeat.accepted(),
                HeartbeatEvent::Rejected { expected } => {
                    live.heartbeat.lost("the CLOB rejected the heartbeat id");
                    tracing::warn!(%expected, "the CLOB rejected a heartbeat id; sending the one it expects");
                }
                HeartbeatEvent::Failed { error, retry_in } => {
                    tracing::warn!(%error, ?retry_in, "a CLOB heartbeat failed");
                }
                HeartbeatEvent::AtRisk { since, deadline } => {
                    live.heartbeat.lost("no heartbeat accepted before the deadline's margin");
                    metrics::counter!("kairos_polymarket_heartbeat_at_risk_total").increment(1);
                    tracing::error!(?since, ?deadline, "no CLOB heartbeat got through: the CLOB may cancel every open order");
                }
            },
            Some(event) = user.next() => match event {
                WsEvent::Message(UserEvent::Trade(t)) => {
                    if let Err(e) = live.apply_trade_event(&Trade::from(t)).await {
                        tracing::warn!(error = %e, "applying a CLOB trade event failed; the poller retries");
                    }
                }
                WsEvent::Message(UserEvent::Order(o)) => match VenueOrder::from_event(&o) {
                    Ok(state) => {
                        if let Err(e) = live.apply_order_event(&o.id, state).await {
                            tracing::warn!(error = %e, "applying a CLOB order event failed; the poller retries");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable CLOB order event"),
                },
                WsEvent::Message(UserEvent::Other) | WsEvent::Connected => {}
                WsEvent::Gap | WsEvent::Lagged { .. } => reconcile(&live).await,
                WsEvent::Reconnecting { attempt, delay, reason } => {
                    tracing::warn!(attempt, ?delay, %reason, "the CLOB user channel dropped; polling covers the gap");
                }
                WsEvent::Unreadable(text) => tracing::warn!(%text, "unreadable CLOB user-channel frame"),
            },
        }
    }
}

async fn reconcile(live: &Live) {
    match live.reconcile().await {
        Ok(n) => metrics::gauge!("kairos_polymarket_unsettled_orders").set(n as f64),
        Err(e) => tracing::warn!(error = %e, "reconciling with the CLOB failed; retrying at the next poll"),
    }
    if let Err(e) = live.cancel_barred().await {
        tracing::warn!(error = %e, "cancelling orders of frozen order groups failed; retrying at the next poll");
    }
}
