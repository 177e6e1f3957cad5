//! `backup`: one encrypted backup of the database per period (an hour by default: the RPO),
//! by exactly one keeper of the deployment since the job is leased. What it does is
//! `kairos_ops::backup::take`, the same as `kairos-api backup`; the job adds
//! `kairos_backup_last_success_timestamp` for alerts on the achieved RPO.

use std::time::Duration;

use kairos_platform::config::CoreSettings;

use super::{Job, JobContext, RunFuture};

#[derive(Debug)]
pub struct Backup {
    core: CoreSettings,
    period: Duration,
}

impl Backup {
    pub fn new(core: &CoreSettings, period: Duration) -> Backup {
        Backup { core: core.clone(), period }
    }
}

impl Job for Backup {
    fn name(&self) -> &'static str {
        "backup"
    }

    fn period(&self) -> Duration {
        self.period
    }

    /// Long enough for a large dump and its upload; a hung one is abandoned and retried.
    fn timeout(&self) -> Duration {
        Duration::from_secs(30 * 60)
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(async move {
            let taken = kairos_ops::backup::take(&self.core, &ctx.db).await.map_err(|e| e.to_string())?;
            metrics::gauge!("kairos_backup_last_success_timestamp").set(taken.taken_at_us as f64 / 1e6);
            tracing::info!(url = %taken.url, bytes = taken.bytes, sha256 = %taken.sha256, deleted = taken.deleted.len(), "backup taken");
            Ok(())
        })
    }
}
