//! `venue-heartbeat`: keeps the Polymarket CLOB heartbeat for the whole deployment (one row,
//! so one loop, per API key). Each run takes one step of [`heartbeat::step`]: a beat when one
//! is due, carrying the id the last accepted beat returned, read from `venue_heartbeats`; the
//! result is written there under the fence, where every API instance reads it to accept or
//! refuse new orders. Runs every second under a short lease of its own, so a keeper killed
//! between beats is replaced before the CLOB's 10 s deadline.

use std::sync::Arc;
use std::time::Duration;

use kairos_domain::now_us;
use kairos_platform::storage::venue_heartbeats;
use kairos_venues::polymarket::heartbeat;
use kairos_venues::polymarket::live::Live;

use super::{Job, JobContext, RunFuture, fenced};

const NAME: &str = "venue-heartbeat";
/// Runs (and failed beats are retried) at most this far apart.
const PERIOD: Duration = Duration::from_secs(1);
/// The job's own lease: a dead holder's heartbeat moves within it (see `heartbeat`'s docs).
const LEASE: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct VenueHeartbeat {
    live: Arc<Live>,
}

impl VenueHeartbeat {
    pub fn new(live: Arc<Live>) -> VenueHeartbeat {
        VenueHeartbeat { live }
    }
}

impl Job for VenueHeartbeat {
    fn name(&self) -> &'static str {
        NAME
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    /// Under the deadline's margin: a beat that hangs gives way to a retry.
    fn timeout(&self) -> Duration {
        Duration::from_secs(4)
    }

    fn lease(&self) -> Option<Duration> {
        Some(LEASE)
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(async move {
            let account = self.live.heartbeat_account();
            let stored = venue_heartbeats::get(&ctx.db, &account).await.map_err(|e| e.to_string())?.unwrap_or_default();
            let step = heartbeat::step(&self.live, &stored, now_us()).await;
            if let Some(record) = &step.record {
                let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
                venue_heartbeats::put_in(&mut tx, &account, record).await.map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())?;
            }
            step.error.map_or(Ok(()), Err)
        })
    }
}
