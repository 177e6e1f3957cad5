//! Building the next batches while the last ones commit.
//!
//! A commit is round trips and database work the sequencer would otherwise only wait for.
//! While a group of batches commits on the writer's connection, in a task of its own, the
//! sequencer builds the next batches on top of what the group did: the exchange already holds
//! it, [`Known`](super::Known) holds the balances and the ledger's tip it leaves, and `recent`
//! the orders it changed, which the database cannot show yet. What else a batch needs it reads
//! on another connection. Every batch built meanwhile joins the next group, which commits in
//! one transaction as soon as the one before has: groups commit one after the other, in order,
//! and nothing is answered or published before its own commit.
//!
//! Building ahead bets that nobody else writes the ledger in between. With nothing in flight
//! the sequencer first reads the ledger lock's count; a group's commit takes the lock and
//! checks it is exactly one past the batch before, and fails otherwise. A failed commit fails
//! the group built on it too: their batches run again the serial way
//! ([`Sequencer::process`]) on an exchange rebuilt from the database. Requests that need the
//! database under the lock (a resolution, a lease to take or check, an order group to reset
//! or delete) wait until nothing is in flight and run the serial way too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kairos_domain::now_us;
use kairos_matching::exchange::Batch;
use kairos_platform::storage::{Db, Script, StorageError, ledger};
use sqlx::pool::PoolConnection;
use tokio::task::JoinHandle;

use super::writes::Writes;
use super::{Job, Outcome, Reply, Request, Sequencer, VenueError};

/// Requests a group takes at most before the sequencer stops taking new ones until the group
/// before it has committed.
const MAX_GROUP: usize = 2048;

/// How a venue's batches have gone since it started (the metrics count the same, summed over
/// every venue of the process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Batches built without the ledger lock, on top of the batch in flight if any.
    pub built_ahead: u64,
    /// Batches built ahead while another was committing.
    pub overlapped: u64,
    /// Batches run the serial way: under the ledger lock from the start, nothing in flight.
    pub serial: u64,
    /// Commits of groups of batches built ahead that have started.
    pub commits_started: u64,
    /// Batches built ahead that found another writer of the ledger had come in: before they
    /// were built (they ran the serial way) or at their commit (they ran again).
    pub conflicts: u64,
    /// Commits that failed for any other reason.
    pub failures: u64,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Count {
    BuiltAhead { overlapped: bool },
    Serial,
    CommitStarted,
    Conflict,
    Failure,
}

/// [`BatchCounts`] as the sequencer keeps them.
#[derive(Debug, Default)]
pub(super) struct Counters {
    built_ahead: AtomicU64,
    overlapped: AtomicU64,
    serial: AtomicU64,
    commits_started: AtomicU64,
    conflicts: AtomicU64,
    failures: AtomicU64,
}

impl Counters {
    pub(super) fn count(&self, what: Count) {
        let bump = |c: &AtomicU64| {
            c.fetch_add(1, Ordering::Relaxed);
        };
        match what {
            Count::BuiltAhead { overlapped } => {
                bump(&self.built_ahead);
                if overlapped {
                    bump(&self.overlapped);
                }
                metrics::counter!("kairos_paper_batches_total", "path" => "ahead").increment(1);
            }
            Count::Serial => {
                bump(&self.serial);
                metrics::counter!("kairos_paper_batches_total", "path" => "serial").increment(1);
            }
            Count::CommitStarted => bump(&self.commits_started),
            Count::Conflict => {
                bump(&self.conflicts);
                metrics::counter!("kairos_paper_batch_conflicts_total").increment(1);
            }
            Count::Failure => {
                bump(&self.failures);
                metrics::counter!("kairos_paper_batch_failures_total").increment(1);
            }
        }
    }

    pub(super) fn snapshot(&self) -> BatchCounts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BatchCounts {
            built_ahead: get(&self.built_ahead),
            overlapped: get(&self.overlapped),
            serial: get(&self.serial),
            commits_started: get(&self.commits_started),
            conflicts: get(&self.conflicts),
            failures: get(&self.failures),
        }
    }
}

/// One batch of a group: what answering and publishing it needs once the group commits.
struct Part {
    jobs: Vec<Job>,
    expire: bool,
    /// Its number among the batches built (the sequencer's `recent` names batches by it).
    number: u64,
    results: Vec<Result<Reply, VenueError>>,
    outcome: Outcome,
    started: Instant,
}

/// Batches built ahead, to commit in one transaction: every batch built while the group
/// before commits joins it, so the cost of a transaction is shared by as many batches as
/// arrived meanwhile, however small each one is.
pub(in crate::paper) struct Group {
    parts: Vec<Part>,
    /// Empty until the group is launched: it knows which database it is for.
    script: Script<'static>,
    writes: Writes,
    /// The ledger lock's count its transaction must see (its first batch's).
    count: i64,
    /// Requests in its batches.
    requests: usize,
}

/// A group whose commit is under way.
pub(in crate::paper) struct InFlight {
    parts: Vec<Part>,
    launched: Instant,
    task: JoinHandle<Committed>,
}

/// How a commit ended, with the writer's connection when it is fit for the next one.
pub(in crate::paper) struct Committed {
    conn: Option<PoolConnection<sqlx::Any>>,
    result: Result<(), StorageError>,
}

/// Waits for the group in flight to commit; never ends when there is none (the caller's
/// `select!` leaves it out then).
pub(in crate::paper) async fn committed(in_flight: &mut Option<InFlight>) -> Committed {
    match in_flight {
        Some(flight) => match (&mut flight.task).await {
            Ok(committed) => committed,
            Err(e) => Committed {
                conn: None,
                result: Err(StorageError::Invalid(format!("the commit task did not finish: {e}"))),
            },
        },
        None => std::future::pending().await,
    }
}

/// Runs the group's script, which takes the ledger lock only if nobody else took it since the
/// batch before ([`ledger::begin_expecting_to`]), and commits.
async fn commit(db: Db, conn: Option<PoolConnection<sqlx::Any>>, script: Script<'static>, count: i64) -> Committed {
    let mut conn = match conn {
        Some(conn) => conn,
        None => match db.pool().acquire().await {
            Ok(conn) => conn,
            Err(e) => return Committed { conn: None, result: Err(e.into()) },
        },
    };
    let result = script.run_and_commit(&mut conn).await;
    if result.is_ok() {
        return Committed { conn: Some(conn), result };
    }
    // The transaction may still be open: it ends here, or the connection goes.
    match sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await {
        Ok(_) => {
            // Refused by the lock's guard, or failed otherwise?
            let result = match ledger::lock_count(&mut conn).await {
                Ok(taken) if taken != count - 1 => Err(StorageError::Conflict(format!(
                    "another writer took the ledger lock (count {taken}, this group was built on {})",
                    count - 1
                ))),
                _ => result,
            };
            Committed { conn: Some(conn), result }
        }
        Err(_) => {
            if let Err(e) = conn.close().await {
                tracing::warn!(error = %e, "the writer's connection did not close cleanly after a failed commit");
            }
            Committed { conn: None, result }
        }
    }
}

impl Sequencer {
    /// Takes a batch of requests: builds it ahead when it can, otherwise waits until nothing
    /// is in flight and runs it the serial way.
    pub(super) async fn take(&mut self, jobs: Vec<Job>, expire: bool) {
        let jobs = if self.can_build_ahead(&jobs, expire) {
            match self.build_ahead(jobs, expire).await {
                Ok(()) => {
                    self.counts.count(Count::BuiltAhead { overlapped: self.in_flight.is_some() });
                    if self.in_flight.is_none() {
                        self.launch();
                    }
                    return;
                }
                Err((jobs, e)) => {
                    tracing::debug!(error = %e, "batch not built ahead; it runs once nothing is in flight");
                    jobs
                }
            }
        } else {
            jobs
        };
        self.counts.count(Count::Serial);
        self.drain().await;
        self.process(jobs, expire).await;
    }

    /// Whether another batch may be built before the group in flight commits.
    pub(super) fn has_room(&self) -> bool {
        self.ready.as_ref().is_none_or(|g| g.requests < MAX_GROUP)
    }

    /// Waits for every batch in flight or ready to commit, and answers them.
    pub(super) async fn drain(&mut self) {
        while self.in_flight.is_some() {
            let committed = committed(&mut self.in_flight).await;
            if let Some(flight) = self.in_flight.take() {
                self.finish(flight, committed).await;
            }
        }
    }

    /// Ends a group's commit: starts the next group's, then publishes and answers this one's
    /// batches in order; or, when it failed, runs them and the next group's again the serial
    /// way.
    pub(super) async fn finish(&mut self, flight: InFlight, committed: Committed) {
        self.conn = committed.conn;
        match committed.result {
            Ok(()) => {
                metrics::histogram!("kairos_paper_commit_seconds").record(flight.launched.elapsed().as_secs_f64());
                metrics::histogram!("kairos_paper_commit_batches").record(flight.parts.len() as f64);
                let last = flight.parts.last().map_or(0, |p| p.number);
                self.recent.retain(|_, (number, _)| *number > last);
                if self.ready.is_some() {
                    self.launch();
                }
                for part in flight.parts {
                    metrics::histogram!("kairos_paper_batch_duration_seconds")
                        .record(part.started.elapsed().as_secs_f64());
                    metrics::histogram!("kairos_paper_batch_requests").record(part.jobs.len() as f64);
                    // Published before the replies, so a client that reads the book after its
                    // answer sees its own order there.
                    self.publish(part.outcome);
                    for (job, result) in part.jobs.into_iter().zip(part.results) {
                        let _ = job.reply.send(result);
                    }
                }
            }
            Err(e) => {
                if matches!(e, StorageError::Conflict(_)) {
                    self.counts.count(Count::Conflict);
                    tracing::info!(error = %e, "batches built ahead met another writer; they run again");
                } else {
                    self.counts.count(Count::Failure);
                    tracing::warn!(error = %e, "paper batches did not commit; they run again on a rebuilt exchange");
                }
                // The exchange holds these batches and those built on them; none is durable.
                let later = self.ready.take().map(|g| g.parts).unwrap_or_default();
                self.known = None;
                self.stale = true;
                self.recent.clear();
                for part in flight.parts.into_iter().chain(later) {
                    self.process(part.jobs, part.expire).await;
                }
            }
        }
    }

    /// Starts the commit of the group built so far.
    fn launch(&mut self) {
        let Some(Group { parts, mut script, writes, count, .. }) = self.ready.take() else { return };
        // The lock is taken once for each batch, so each one's count is its own.
        ledger::begin_expecting_to(&mut script, count, i64::try_from(parts.len()).unwrap_or(i64::MAX));
        writes.add_to(&mut script);
        self.counts.count(Count::CommitStarted);
        // A task of the sequencer's own thread (its runtime runs a `LocalSet`): it goes on
        // whenever the sequencer waits. sqlx's futures cannot show the compiler that they are
        // `Send` for every lifetime, which `tokio::spawn` would ask.
        let task = tokio::task::spawn_local(commit(self.db.clone(), self.conn.take(), script, count));
        self.in_flight = Some(InFlight { parts, launched: Instant::now(), task });
    }

    /// Whether a batch of these jobs can be built without the ledger lock: the exchange is the
    /// database's plus what batches in flight did, what the last batch knew still holds, and
    /// no request needs the database under the lock.
    fn can_build_ahead(&self, jobs: &[Job], expire: bool) -> bool {
        let Some(known) = self.known.as_ref().filter(|k| !k.ledger.is_full()) else { return false };
        let needs_lock = |r: &Request| {
            matches!(r, Request::Resolve { .. } | Request::ResetGroup { .. } | Request::DeleteGroup { .. })
        };
        if self.stale || jobs.iter().any(|j| needs_lock(&j.request)) {
            return false;
        }
        let requests: Vec<&Request> = jobs.iter().map(|j| &j.request).collect();
        self.all_held(&self.touched_markets(&requests, expire), known, now_us())
    }

    /// Builds the batch into the group that commits next.
    async fn build_ahead(&mut self, jobs: Vec<Job>, expire: bool) -> Result<(), (Vec<Job>, StorageError)> {
        let started = Instant::now();
        let mut reader = match self.db.pool().acquire().await {
            Ok(conn) => conn,
            Err(e) => return Err((jobs, e.into())),
        };
        self.built += 1;
        let number = self.built;
        let mut batch = Batch::new(now_us());
        let requests: Vec<&Request> = jobs.iter().map(|j| &j.request).collect();
        let built = self.build_on(&mut reader, &requests, expire, &mut batch).await;
        drop(requests);
        let (results, writes, count) = match built {
            Ok(built) => built,
            Err(e) => return Err((jobs, e)),
        };
        let mut group = self.ready.take().unwrap_or_else(|| {
            let script = Script::single(&reader);
            Group { parts: Vec::new(), script, writes: Writes::default(), count, requests: 0 }
        });
        group.writes.merge(writes);
        let outcome = self.outcome(batch);
        metrics::histogram!("kairos_paper_batch_build_seconds").record(started.elapsed().as_secs_f64());
        for order in &outcome.orders {
            self.recent.insert((order.user_id.clone(), order.client_order_id.clone()), (number, order.clone()));
        }
        group.requests += jobs.len();
        group.parts.push(Part { jobs, expire, number, results, outcome, started });
        self.ready = Some(group);
        Ok(())
    }

    /// Applies the requests on top of the batches in flight, reading what is not in memory on
    /// `reader`; answers the replies, the writes and the ledger lock's count the batch is
    /// built for. On an error what was known is dropped (the next batch reads afresh under the
    /// lock), and the exchange too if the requests had run.
    async fn build_on(
        &mut self,
        reader: &mut sqlx::AnyConnection,
        requests: &[&Request],
        expire: bool,
        batch: &mut Batch,
    ) -> Result<(Vec<Result<Reply, VenueError>>, Writes, i64), StorageError> {
        let Some(mut known) = self.known.take() else {
            return Err(StorageError::Invalid("nothing is known to build on".to_string()));
        };
        if self.in_flight.is_none() {
            // Nothing is committing, so the count must be the last commit's; otherwise another
            // writer came in since, and the serial way reads afresh instead of betting. (With
            // a group in flight, its commit finds out.)
            let committed = ledger::lock_count(reader).await?;
            if committed != known.writes {
                self.counts.count(Count::Conflict);
                return Err(StorageError::Conflict(format!(
                    "the ledger lock was taken {committed} times, this instance knows of {}",
                    known.writes
                )));
            }
        }
        known.writes += 1;
        known.ledger.hold(true);
        self.prepare(reader, requests, batch, &mut known, false).await?;
        match self.apply(reader, false, requests, expire, batch, &mut known).await {
            Ok((results, writes)) => {
                let count = known.writes;
                self.known = Some(known);
                Ok((results, writes, count))
            }
            Err(e) => {
                self.stale = true;
                Err(e)
            }
        }
    }
}
