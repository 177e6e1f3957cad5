//! The keepers' jobs. Each is a leased singleton run by [`crate::scheduler`]: one process in the
//! deployment runs it each period. A job is a plain async function of its [`JobContext`]; what
//! it writes that matters it writes in a transaction that first holds the lease's fence
//! (`keeper_jobs::hold_fence_in`), so a holder that lost its lease changes nothing.
//!
//! The jobs that exist are listed in [`all`]; venue reconciliation is not here until it works
//! (nothing is registered that only pretends to run).

mod backup;
mod chain_sync;
mod dependency_probes;
mod flash_create;
mod flash_oracle;
mod flash_void;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kairos_platform::config::KeeperSettings;
use kairos_platform::storage::Db;

pub use backup::Backup;
pub use chain_sync::{ChainSync, chain_market};
pub use dependency_probes::DependencyProbes;
pub use flash_create::FlashCreate;
pub use flash_oracle::{FlashOracleJob, TickPlan, tick_plan};
pub use flash_void::FlashVoid;

/// What a run gets: the database and the lease it runs under.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub db: Db,
    pub holder: String,
    pub fence: i64,
}

pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

pub trait Job: Send + Sync + std::fmt::Debug {
    /// The name in `keeper_jobs`, the metrics and `kairos-keepers status`.
    fn name(&self) -> &'static str;
    fn period(&self) -> Duration;
    /// A run that takes longer is abandoned and counted as a failure.
    fn timeout(&self) -> Duration;
    /// One run; an error is recorded as the job's last error and retried with backoff.
    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a>;
}

/// Every job with whether the settings switch it on.
pub fn all(settings: &KeeperSettings) -> Vec<(Arc<dyn Job>, bool)> {
    let access = Arc::new(crate::flash::FlashAccess::new(&settings.core));
    vec![
        (Arc::new(DependencyProbes::new(&settings.core, settings.probes.period)), settings.probes.enabled),
        (Arc::new(Backup::new(&settings.core, settings.backup.period)), settings.backup.enabled),
        (Arc::new(FlashCreate::new(access.clone(), settings.flash_create.period)), settings.flash_create.enabled),
        (Arc::new(FlashVoid::new(access.clone(), settings.flash_void.period)), settings.flash_void.enabled),
        (Arc::new(ChainSync::new(access.clone(), settings.chain_sync.period)), settings.chain_sync.enabled),
        (Arc::new(FlashOracleJob::new(access, settings)), settings.flash_oracle.enabled),
    ]
}
