//! The keepers' jobs. Each is a leased singleton run by [`crate::scheduler`]: one process in the
//! deployment runs it each period. A job is a plain async function of its [`JobContext`]; what
//! it writes that matters it writes in a transaction that first holds the lease's fence
//! (`keeper_jobs::hold_fence_in`), so a holder that lost its lease changes nothing.
//!
//! The jobs that exist are listed in [`all`].

mod backup;
mod chain_sync;
mod dependency_probes;
mod flash_create;
mod flash_oracle;
mod flash_void;
mod venue_heartbeat;
mod venue_reconcile;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kairos_platform::config::KeeperSettings;
use kairos_platform::storage::{Db, keeper_jobs};

pub use backup::Backup;
pub use chain_sync::{ChainSync, chain_market};
pub use dependency_probes::DependencyProbes;
pub use flash_create::FlashCreate;
pub use flash_oracle::{FlashOracleJob, TickPlan, tick_plan};
pub use flash_void::FlashVoid;
pub use venue_heartbeat::VenueHeartbeat;
pub use venue_reconcile::VenueReconcile;

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
    /// The job's own lease, when the process's (`KAIROS_KEEPERS__LEASE_MS`) would hand it over
    /// too slowly.
    fn lease(&self) -> Option<Duration> {
        None
    }
    /// One run; an error is recorded as the job's last error and retried with backoff.
    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a>;
}

/// A transaction of this run that first holds its lease's fence: `None` when the lease was
/// lost (the caller writes nothing and stops).
pub async fn fenced(
    db: &Db,
    job: &str,
    ctx: &JobContext,
) -> Result<Option<sqlx::Transaction<'static, sqlx::Any>>, String> {
    let mut tx = db.pool().begin().await.map_err(|e| e.to_string())?;
    if keeper_jobs::hold_fence_in(&mut tx, job, &ctx.holder, ctx.fence).await.map_err(|e| e.to_string())? {
        Ok(Some(tx))
    } else {
        // Ended here rather than whenever the dropped transaction's connection is next used:
        // on SQLite the update above holds the write lock until then.
        tx.rollback().await.map_err(|e| e.to_string())?;
        Ok(None)
    }
}

/// Runs the futures of `work`, up to `limit` at once (sends that each wait for their
/// confirmation must not queue behind one another); every failure is reported, joined.
pub(crate) async fn each_at_once<Fut>(work: Vec<Fut>, limit: usize) -> Result<(), String>
where
    Fut: Future<Output = Result<(), String>>,
{
    use futures_util::StreamExt as _;
    let failed: Vec<String> = futures_util::stream::iter(work)
        .buffer_unordered(limit)
        .filter_map(|r| std::future::ready(r.err()))
        .collect()
        .await;
    if failed.is_empty() { Ok(()) } else { Err(failed.join("; ")) }
}

/// A job and whether the settings switch it on.
pub type Switched = (Arc<dyn Job>, bool);

/// Every job with whether the settings switch it on; an error when the Polymarket venue's
/// settings are unusable (as the API refuses to start on them).
pub fn all(settings: &KeeperSettings, db: &Db) -> Result<Vec<Switched>, String> {
    let access = Arc::new(crate::flash::FlashAccess::new(&settings.core));
    let mut jobs: Vec<Switched> = vec![
        (Arc::new(DependencyProbes::new(&settings.core, settings.probes.period)), settings.probes.enabled),
        (Arc::new(Backup::new(&settings.core, settings.backup.period)), settings.backup.enabled),
        (Arc::new(FlashCreate::new(access.clone(), settings.flash_create.period)), settings.flash_create.enabled),
        (Arc::new(FlashVoid::new(access.clone(), settings.flash_void.period)), settings.flash_void.enabled),
        (Arc::new(ChainSync::new(access.clone(), settings.chain_sync.period)), settings.chain_sync.enabled),
        (Arc::new(FlashOracleJob::new(access, settings)), settings.flash_oracle.enabled),
    ];
    jobs.extend(venue(settings, db)?);
    Ok(jobs)
}

/// `venue-heartbeat` and `venue-reconcile`, when the Polymarket venue is on (its credentials
/// set); none otherwise.
pub fn venue(settings: &KeeperSettings, db: &Db) -> Result<Vec<Switched>, String> {
    let Some(credentials) = &settings.polymarket else { return Ok(Vec::new()) };
    // The keepers place no orders: no limits apply, and nobody listens to what they publish.
    let (publisher, _) = tokio::sync::broadcast::channel(1);
    let live = kairos_venues::polymarket::live::Live::new(credentials, Default::default(), db.clone(), publisher)
        .map_err(|e| e.to_string())?;
    let live = Arc::new(live);
    Ok(vec![
        (Arc::new(VenueHeartbeat::new(live.clone())), settings.venue_heartbeat),
        (Arc::new(VenueReconcile::new(live, credentials.poll)), settings.venue_reconcile),
    ])
}
