//! Runs each job as a leased singleton. Per job, one task: claim the lease when it is free or
//! expired; while holding it, renew it every third of the lease, run the job when it is due
//! (under its timeout, renewing meanwhile) and record the run under the fence; on failure retry
//! after an exponential, jittered backoff that never exceeds the period. A renewal that touches
//! no row means another keeper took the job: the run in progress is abandoned and nothing more
//! is written. On stop the run in progress gets the shutdown grace to finish, then the lease is
//! released so another keeper need not wait for it to expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kairos_domain::now_us;
use kairos_platform::storage::Db;
use kairos_platform::storage::keeper_jobs::{self, Claim, Finished};
use rand::Rng as _;
use tokio::sync::watch;

use crate::jobs::{Job, JobContext};

/// How one process takes part.
#[derive(Debug, Clone)]
pub struct Worker {
    pub db: Db,
    /// `host/pid`.
    pub holder: String,
    pub lease: Duration,
    /// How long a run in progress may go on after the stop signal.
    pub grace: Duration,
}

/// The first retry after a failure comes after about this long (±50 %), doubling after each
/// further failure, capped at the job's period.
const RETRY_BASE: Duration = Duration::from_secs(1);

/// The wait before the next run after `attempts` failures in a row.
pub fn retry_delay(attempts: i64, period: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let base = RETRY_BASE.saturating_mul(1u32 << doublings).min(period);
    let ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms)).min(period)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

enum RunEnd {
    Recorded {
        next_run_at_us: i64,
        attempts: i64,
    },
    /// Another keeper holds the job now.
    Lost,
    /// Stopped before the run ended; nothing recorded.
    Abandoned,
}

/// Registers `job` and runs it under its lease until `stop` turns true.
pub async fn run_job(worker: Worker, job: Arc<dyn Job>, enabled: bool, mut stop: watch::Receiver<bool>) {
    let name = job.name();
    let worker = Worker { lease: job.lease().unwrap_or(worker.lease), ..worker };
    let period_ms = i64::try_from(job.period().as_millis()).unwrap_or(i64::MAX);
    if let Err(e) = keeper_jobs::register(&worker.db, name, enabled, period_ms, now_us()).await {
        tracing::error!(job = name, error = %e, "cannot register the job; it will not run in this process");
        return;
    }
    if !enabled {
        tracing::info!(job = name, "job switched off by its setting");
        return;
    }
    let tick = (worker.lease / 3).max(Duration::from_millis(100));
    let lease_held = metrics::gauge!("kairos_keeper_job_lease_held", "job" => name);
    let mut held: Option<Claim> = None;
    let mut renewed_at = Instant::now();
    while !*stop.borrow() {
        let Some(claim) = held else {
            let now = now_us();
            match keeper_jobs::claim(&worker.db, name, &worker.holder, now, now + micros(worker.lease)).await {
                Ok(Some(c)) => {
                    tracing::info!(job = name, fence = c.fence, "lease taken");
                    lease_held.set(1.0);
                    held = Some(c);
                    renewed_at = Instant::now();
                }
                Ok(None) => wait(tick, &mut stop).await,
                Err(e) => {
                    tracing::warn!(job = name, error = %e, "cannot claim the lease");
                    wait(tick, &mut stop).await;
                }
            }
            continue;
        };
        let now = now_us();
        if claim.next_run_at_us <= now {
            match run_once(&worker, job.as_ref(), claim, (tick, &mut renewed_at), &mut stop).await {
                RunEnd::Recorded { next_run_at_us, attempts } => {
                    held = Some(Claim { next_run_at_us, attempts, ..claim });
                }
                RunEnd::Lost => {
                    tracing::warn!(job = name, "lease lost to another keeper; the run's result was not recorded");
                    lease_held.set(0.0);
                    held = None;
                }
                RunEnd::Abandoned => break,
            }
            continue;
        }
        let until_due = Duration::from_micros(u64::try_from(claim.next_run_at_us - now).unwrap_or(0));
        let until_renewal = tick.saturating_sub(renewed_at.elapsed());
        wait(until_due.min(until_renewal), &mut stop).await;
        if renewed_at.elapsed() >= tick {
            match renew(&worker, name, claim.fence).await {
                Some(true) => renewed_at = Instant::now(),
                Some(false) => {
                    tracing::warn!(job = name, "lease lost to another keeper");
                    lease_held.set(0.0);
                    held = None;
                }
                None => {}
            }
        }
    }
    if let Some(claim) = held {
        match keeper_jobs::release(&worker.db, name, &worker.holder, claim.fence).await {
            Ok(true) => tracing::info!(job = name, "lease released"),
            Ok(false) => {}
            Err(e) => tracing::warn!(job = name, error = %e, "cannot release the lease; it expires on its own"),
        }
    }
    lease_held.set(0.0);
}

/// `Some(held)`, or `None` when the database did not answer (the lease may still be ours until
/// it expires; the next tick tries again).
async fn renew(worker: &Worker, name: &str, fence: i64) -> Option<bool> {
    let until = now_us() + micros(worker.lease);
    match keeper_jobs::renew(&worker.db, name, &worker.holder, fence, until).await {
        Ok(held) => Some(held),
        Err(e) => {
            tracing::warn!(job = name, error = %e, "cannot renew the lease");
            None
        }
    }
}

async fn wait(d: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

async fn run_once(
    worker: &Worker,
    job: &dyn Job,
    claim: Claim,
    (tick, renewed_at): (Duration, &mut Instant),
    stop: &mut watch::Receiver<bool>,
) -> RunEnd {
    let name = job.name();
    let ctx = JobContext { db: worker.db.clone(), holder: worker.holder.clone(), fence: claim.fence };
    let ran_at_us = now_us();
    let started = Instant::now();
    let mut run = std::pin::pin!(tokio::time::timeout(job.timeout(), job.run(&ctx)));
    let first_renewal = tick.saturating_sub(renewed_at.elapsed());
    let mut renewals = tokio::time::interval_at(tokio::time::Instant::now() + first_renewal, tick);
    let mut give_up_at: Option<tokio::time::Instant> =
        if *stop.borrow() { Some(tokio::time::Instant::now() + worker.grace) } else { None };
    // Renewals go on beside the run, never in its place: a renewal waiting for a lock the
    // run's own transaction holds (SQLite's single writer; the job's row on PostgreSQL) must
    // not keep the run from committing and releasing it.
    let mut renewer = std::pin::pin!(async {
        loop {
            renewals.tick().await;
            match renew(worker, name, claim.fence).await {
                Some(true) => *renewed_at = Instant::now(),
                Some(false) => return,
                None => {}
            }
        }
    });
    let result = loop {
        tokio::select! {
            r = &mut run => break r,
            () = &mut renewer => return RunEnd::Lost,
            _ = stop.changed(), if give_up_at.is_none() => {
                tracing::info!(job = name, grace_ms = worker.grace.as_millis() as u64, "stopping: the run in progress may finish");
                give_up_at = Some(tokio::time::Instant::now() + worker.grace);
            }
            () = tokio::time::sleep_until(give_up_at.unwrap_or_else(tokio::time::Instant::now)), if give_up_at.is_some() => {
                tracing::warn!(job = name, "stopping: the run in progress was abandoned after the grace period");
                return RunEnd::Abandoned;
            }
        }
    };
    let elapsed = started.elapsed();
    metrics::histogram!("kairos_keeper_job_duration_seconds", "job" => name).record(elapsed.as_secs_f64());
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("timed out after {} s", job.timeout().as_secs())),
    };
    let attempts = if error.is_some() { claim.attempts + 1 } else { 0 };
    let next_in = if error.is_some() { retry_delay(attempts, job.period()) } else { job.period() };
    // A success keeps the cadence of the period; a failure counts from its end.
    let next_run_at_us =
        if error.is_some() { now_us() + micros(next_in) } else { (ran_at_us + micros(next_in)).max(now_us()) };
    let outcome = if error.is_some() { "failure" } else { "success" };
    metrics::counter!("kairos_keeper_job_runs_total", "job" => name, "outcome" => outcome).increment(1);
    let finished = Finished { ran_at_us, next_run_at_us, attempts, error: error.as_deref() };
    match keeper_jobs::finish(&worker.db, name, &worker.holder, claim.fence, &finished).await {
        Ok(true) => {
            match &error {
                None => {
                    metrics::gauge!("kairos_keeper_job_last_success_timestamp_seconds", "job" => name)
                        .set(ran_at_us as f64 / 1e6);
                    tracing::debug!(job = name, ms = elapsed.as_millis() as u64, "run succeeded");
                }
                Some(e) => {
                    tracing::warn!(job = name, attempts, error = %e, retry_in_ms = next_in.as_millis() as u64, "run failed")
                }
            }
            RunEnd::Recorded { next_run_at_us, attempts }
        }
        Ok(false) => RunEnd::Lost,
        Err(e) => {
            // Unrecorded: the schedule in the database still says due, so the run repeats once
            // the database answers; keep going with the local schedule meanwhile.
            tracing::warn!(job = name, error = %e, "cannot record the run");
            RunEnd::Recorded { next_run_at_us, attempts }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_the_period_and_no_further() {
        let period = Duration::from_secs(60);
        for _ in 0..100 {
            let first = retry_delay(1, period);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1), "{first:?}");
            let fourth = retry_delay(4, period);
            assert!(fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8), "{fourth:?}");
            assert!(retry_delay(40, period) <= period);
            assert!(retry_delay(40, period) >= Duration::from_secs(30));
        }
    }
}
