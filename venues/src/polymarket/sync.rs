//! The Polymarket venue's background work in each API instance while it is on: the user
//! websocket applied as events arrive (so this instance's streams hear of fills at once), and
//! the CLOB heartbeat's state followed from the database, where the keeper holding
//! `venue-heartbeat` records it ([`super::heartbeat`]); it opens and closes
//! [`super::heartbeat_gate`]. The REST poll of every unsettled order, which also covers
//! whatever the websocket missed, runs once per deployment in the keepers (`venue-reconcile`,
//! [`reconcile`]). The user channel is keyed by condition id: it follows the Polymarket markets
//! known at start; later ones are polled.

use std::sync::Arc;
use std::time::Duration;

use kairos_clob_client::http::types::Trade;
use kairos_clob_client::ws::{self, UserEvent, WsConfig, WsEvent};
use kairos_domain::now_us;
use kairos_platform::storage::venue_heartbeats;
use tokio_util::sync::CancellationToken;

use super::live::Live;
use super::reports::VenueOrder;
use crate::common::VenueError;

/// How often an API instance reads the heartbeat's row.
const FOLLOW_HEARTBEAT: Duration = Duration::from_millis(500);

/// Runs until `shutdown`.
pub async fn run(live: Arc<Live>, shutdown: CancellationToken) {
    let markets = live.condition_ids().await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not list the Polymarket markets; the user channel follows none and polling covers them");
        Vec::new()
    });
    let mut user = ws::user(WsConfig::new(live.ws_url.clone()), &live.ws_credentials, &markets);
    let mut follow = tokio::time::interval(FOLLOW_HEARTBEAT);
    follow.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let account = live.heartbeat_account();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = follow.tick() => follow_heartbeat(&live, &account).await,
            Some(event) = user.next() => match event {
                WsEvent::Message(UserEvent::Trade(t)) => {
                    if let Err(e) = live.apply_trade_event(&Trade::from(t)).await {
                        tracing::warn!(error = %e, "applying a CLOB trade event failed; the keepers' poll retries");
                    }
                }
                WsEvent::Message(UserEvent::Order(o)) => match VenueOrder::from_event(&o) {
                    Ok(state) => {
                        if let Err(e) = live.apply_order_event(&o.id, state).await {
                            tracing::warn!(error = %e, "applying a CLOB order event failed; the keepers' poll retries");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "unreadable CLOB order event"),
                },
                WsEvent::Message(UserEvent::Other) | WsEvent::Connected => {}
                WsEvent::Gap | WsEvent::Lagged { .. } => {
                    tracing::warn!("the CLOB user channel missed events; the keepers' poll (venue-reconcile) covers them");
                }
                WsEvent::Reconnecting { attempt, delay, reason } => {
                    tracing::warn!(attempt, ?delay, %reason, "the CLOB user channel dropped; polling covers the gap");
                }
                WsEvent::Unreadable(text) => tracing::warn!(%text, "unreadable CLOB user-channel frame"),
            },
        }
    }
}

/// Opens or closes the gate on new orders from the keeper's record. A database that does not
/// answer closes it too: nothing then says the heartbeat is alive.
async fn follow_heartbeat(live: &Live, account: &str) {
    let state = match venue_heartbeats::get(live.db(), account).await {
        Ok(row) => super::heartbeat::is_alive(row.as_ref(), now_us()),
        Err(e) => Err(format!("cannot read the heartbeat's record: {e}")),
    };
    match state {
        Ok(()) => live.heartbeat.accepted(),
        Err(why) => live.heartbeat.lost(&why),
    }
}

/// One poll (the `venue-reconcile` keeper job): every unsettled order looked up on the CLOB,
/// then the live orders of frozen or deleted order groups cancelled.
pub async fn reconcile(live: &Live) -> Result<usize, VenueError> {
    let polled = live.reconcile().await;
    if let Ok(n) = &polled {
        metrics::gauge!("kairos_polymarket_unsettled_orders").set(*n as f64);
    }
    let barred = live.cancel_barred().await;
    let n = polled?;
    barred?;
    Ok(n)
}
