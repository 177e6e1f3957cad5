//! `venue-reconcile`: the poll of every unsettled Polymarket order, once per deployment
//! instead of once per API instance: each order looked up on the CLOB and its state and trades
//! applied (the venue's rules, `kairos_venues::polymarket::tracking`, make a report applied
//! twice change nothing), then the live orders of frozen or deleted order groups cancelled.
//! Every `KAIROS_POLYMARKET__POLL_MS`; it also covers whatever the API instances' user
//! websockets missed. Its writes hold no fence: each applies what the CLOB reports in its own
//! transaction, which is what the API did in every instance before, so a holder that wakes up
//! after losing the lease only applies the CLOB's truth again.

use std::sync::Arc;
use std::time::Duration;

use kairos_venues::polymarket::live::Live;
use kairos_venues::polymarket::sync;

use super::{Job, JobContext, RunFuture};

const NAME: &str = "venue-reconcile";

#[derive(Debug)]
pub struct VenueReconcile {
    live: Arc<Live>,
    period: Duration,
}

impl VenueReconcile {
    pub fn new(live: Arc<Live>, period: Duration) -> VenueReconcile {
        VenueReconcile { live, period }
    }
}

impl Job for VenueReconcile {
    fn name(&self) -> &'static str {
        NAME
    }

    fn period(&self) -> Duration {
        self.period
    }

    fn timeout(&self) -> Duration {
        (self.period * 10).max(Duration::from_secs(60))
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(async move { sync::reconcile(&self.live).await.map(|_| ()).map_err(|e| e.to_string()) })
    }
}
