//! The paper venue's one writer: a task that takes requests from a queue, applies a batch of
//! them to the [`Exchange`], commits everything the batch wrote (orders, fills, ledger) in ONE
//! database transaction, and only then answers and publishes. An acknowledged order is
//! therefore durable, and a batch that fails to commit was never seen by anyone: the task
//! rebuilds its state from the database and runs the batch again.
//!
//! Batching is what makes it fast: under load many requests share one transaction, so the
//! cost of a commit (an fsync on PostgreSQL) is paid once per batch, not once per order. And
//! while one group of batches commits the next is built on top of it (module `pipeline`), so
//! the work of a commit overlaps with the work of the batches after it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kairos_domain::OrderGroup;
use kairos_domain::{Order, Price, Size, Venue, now_us};
use kairos_platform::locks;
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::{
    Db, Script, StorageError, ledger, market_leases, markets, order_groups, orders, paper_log,
};

use super::log;

mod pipeline;
mod writes;

pub use pipeline::BatchCounts;
use sqlx::Connection as _;
use tokio::sync::{broadcast, mpsc, oneshot};

use kairos_domain::Refusal;
use kairos_matching::exchange::{Batch, Exchange, Ladder, Limits, MarketLoad, MarketRules};
use kairos_matching::settlement::{self, Fees};

use crate::common::{CancelCause, StreamEvent, VenueError};

/// Requests a batch takes at most.
const MAX_BATCH: usize = 512;
/// How often GTD orders are checked for expiry.
const EXPIRY_EVERY: Duration = Duration::from_millis(100);
/// Commit attempts before a batch is answered with an error.
const ATTEMPTS: usize = 3;

/// What the venue is asked. Cancels and amends name their order's market: it decides which
/// instance may do them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Request {
    Place(Box<Order>),
    Cancel {
        user_id: String,
        order_id: String,
        market_id: String,
    },
    CancelAll {
        user_id: String,
        market_id: Option<String>,
        cause: CancelCause,
    },
    Amend {
        user_id: String,
        order_id: String,
        market_id: String,
        // Serialized under the names instances already exchange.
        #[serde(rename = "price_micros")]
        price: Option<Price>,
        #[serde(rename = "size_micros")]
        size: Option<Size>,
    },
    Resolve {
        market_id: String,
        winning_outcome: u32,
        actor: String,
        request_id: String,
    },
    /// Makes an order group active again with an empty window.
    ResetGroup {
        user_id: String,
        group_id: String,
    },
    /// Cancels an order group's orders here and refuses the group from now on.
    DeleteGroup {
        user_id: String,
        group_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    Order(Box<Order>),
    Orders(Vec<Order>),
    Resolved { cancelled: usize, holders: usize },
    Group(Box<OrderGroup>),
}

/// A book as last published: what a new subscriber gets as its snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookView {
    pub seq: u64,
    pub bids: Ladder,
    pub asks: Ladder,
}

pub type BookViews = Arc<RwLock<HashMap<(String, usize), BookView>>>;

struct Job {
    request: Request,
    reply: oneshot::Sender<Result<Reply, VenueError>>,
}

/// This instance as the market leases name it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    /// Where other instances send requests for the markets this one matches.
    pub address: String,
    pub lease: Duration,
}

impl Instance {
    /// When a lease taken or renewed at `now_us` lapses.
    pub fn lease_until(&self, now_us: i64) -> i64 {
        now_us.saturating_add(i64::try_from(self.lease.as_micros()).unwrap_or(i64::MAX / 2))
    }
}

/// The handle the API holds: cheap to clone. Made without the database ([`PaperVenue::new`]);
/// [`PaperVenue::start`] rebuilds the books and starts the sequencer, and until then every
/// request is answered `Unavailable`.
#[derive(Debug, Clone)]
pub struct PaperVenue {
    jobs: mpsc::Sender<Job>,
    pending: Arc<std::sync::Mutex<Option<mpsc::Receiver<Job>>>>,
    started: Arc<std::sync::atomic::AtomicBool>,
    fees: Fees,
    limits: Limits,
    views: BookViews,
    events: broadcast::Sender<Arc<StreamEvent>>,
    counts: Arc<pipeline::Counters>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.request.fmt(f)
    }
}

impl PaperVenue {
    pub fn new(fees: Fees, limits: Limits) -> PaperVenue {
        let (jobs, rx) = mpsc::channel(8192);
        let (events, _) = broadcast::channel(16_384);
        PaperVenue {
            jobs,
            pending: Arc::new(std::sync::Mutex::new(Some(rx))),
            started: Arc::default(),
            fees,
            limits,
            views: Arc::default(),
            events,
            counts: Arc::default(),
        }
    }

    /// Rebuilds the books from the database and starts the sequencer (once; later calls do
    /// nothing). It runs on a thread of its own with its own runtime and database connections,
    /// so a batch's round trips never wait behind request handlers for a worker thread. It
    /// ends when every handle is dropped.
    pub async fn start(&self, database_url: &str, instance: Instance) -> Result<(), StorageError> {
        let Some(rx) = locks::lock(&self.pending).take() else { return Ok(()) };
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), StorageError>>();
        let (url, fees, limits, views, events, counts) = (
            database_url.to_string(),
            self.fees,
            self.limits,
            self.views.clone(),
            self.events.clone(),
            self.counts.clone(),
        );
        let spawned = std::thread::Builder::new().name("paper-sequencer".to_string()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    let _ = ready_tx.send(Err(StorageError::Invalid(format!("sequencer runtime: {e}"))));
                    return;
                }
            };
            // A local set: batch commits run as local tasks beside the sequencer (`pipeline`).
            tokio::task::LocalSet::new().block_on(&runtime, async move {
                let setup = async {
                    let db = Db::connect_without_ping(&url, 2).await?;
                    let exchange = rebuild(&db, fees, limits, &instance).await?;
                    Ok::<_, StorageError>((db, exchange))
                };
                match setup.await {
                    Ok((db, exchange)) => {
                        let mut sequencer = Sequencer {
                            db,
                            fees,
                            limits,
                            exchange,
                            views,
                            events,
                            instance,
                            known: None,
                            stale: false,
                            conn: None,
                            in_flight: None,
                            ready: None,
                            built: 0,
                            recent: HashMap::new(),
                            counts,
                        };
                        sequencer.publish_books();
                        let _ = ready_tx.send(Ok(()));
                        sequencer.run(rx).await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        });
        if let Err(e) = spawned {
            return Err(StorageError::Invalid(format!("cannot start the sequencer thread: {e}")));
        }
        ready_rx
            .await
            .map_err(|_| StorageError::Invalid("the sequencer thread ended while starting".to_string()))??;
        self.started.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    pub async fn call(&self, request: Request) -> Result<Reply, VenueError> {
        if !self.started.load(std::sync::atomic::Ordering::Acquire) {
            return Err(VenueError::Unavailable("the paper venue has not started".to_string()));
        }
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job { request, reply })
            .await
            .map_err(|_| VenueError::Unavailable("the sequencer has stopped".to_string()))?;
        rx.await.map_err(|_| VenueError::Unavailable("the sequencer dropped the request".to_string()))?
    }

    /// Publishes an event that did not come from a batch (a fired dead-man's switch).
    pub fn notify(&self, event: StreamEvent) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Where other venues publish to the same streams.
    pub fn publisher(&self) -> broadcast::Sender<Arc<StreamEvent>> {
        self.events.clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<StreamEvent>> {
        self.events.subscribe()
    }

    /// How this venue's batches have gone since it started.
    pub fn batch_counts(&self) -> BatchCounts {
        self.counts.snapshot()
    }

    /// The book as last published (empty for a market with no orders yet).
    pub fn book(&self, market_id: &str, book: usize) -> BookView {
        locks::read(&self.views).get(&(market_id.to_string(), book)).cloned().unwrap_or_default()
    }
}

struct Sequencer {
    instance: Instance,
    db: Db,
    fees: Fees,
    limits: Limits,
    exchange: Exchange,
    views: BookViews,
    events: broadcast::Sender<Arc<StreamEvent>>,
    /// What the last committed batch left known, valid while nobody else takes the ledger lock.
    known: Option<Known>,
    /// A batch failed and the rebuild after it too: the exchange in memory may hold what never
    /// committed, so the next batch rebuilds first.
    stale: bool,
    /// The connection every batch commits on, kept from one batch to the next (and given back
    /// to the pool when a batch fails). SQLite keeps a connection's page cache only while no
    /// other connection writes the file: batches taking turns on the pool's two connections
    /// threw it away every time and read each page they touched back from the file.
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
    /// The batches whose commit is under way (it holds `conn` meanwhile).
    in_flight: Option<pipeline::InFlight>,
    /// The batches built on top of them, to commit together once they have.
    ready: Option<pipeline::Group>,
    /// Batches built so far: each one's number in the pipeline.
    built: u64,
    /// The orders that batches not known to have committed changed, by (user, client order id),
    /// with the number of the last batch that changed each: the database cannot answer for
    /// them yet.
    recent: HashMap<(String, String), (u64, Order)>,
    counts: Arc<pipeline::Counters>,
}

/// What a committed batch learnt that the next one may reuse instead of reading it again,
/// provided the ledger lock's count shows no other writer in between ([`ledger::lock_counted_in`]):
/// every ledger write and every lease taken by another instance happens under that lock.
#[derive(Debug, Default)]
struct Known {
    /// The lock's count as this batch took it.
    writes: i64,
    /// The ledger's tip and the balances this instance read or wrote.
    ledger: ledger::Known,
    /// Markets whose lease this instance held, with a time it holds it until at least
    /// (renewals only move the real expiry later).
    leases: HashMap<String, i64>,
}

/// A lease known to be ours is read again once it has less than this left.
const LEASE_RECHECK_MARGIN_US: i64 = 2_000_000;

/// The exchange as the database holds it, for the markets this instance can lease: every one
/// with live orders whose lease is free, lapsed or already ours, each loaded with its live
/// orders in priority order. Runs under the ledger lock, so no other instance is mid-batch.
async fn rebuild(db: &Db, fees: Fees, limits: Limits, instance: &Instance) -> Result<Exchange, StorageError> {
    let mut exchange = Exchange::new(fees, limits, orders::max_priority(db).await?);
    let markets_with_orders = orders::markets_with_live_orders(db, Venue::Paper.as_str()).await?;
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    ledger::lock_in(&mut tx).await?;
    let now = now_us();
    for market_id in markets_with_orders {
        if take_lease(&mut tx, instance, &market_id, now).await? {
            load_market(db, &mut tx, &mut exchange, &market_id).await?;
        }
    }
    tx.commit().await?;
    Ok(exchange)
}

async fn take_lease(
    tx: &mut sqlx::AnyConnection,
    instance: &Instance,
    market_id: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let until = instance.lease_until(now);
    market_leases::acquire_in(tx, market_id, &instance.id, &instance.address, now, until).await
}

/// Puts a market and its live orders (read on the caller's transaction) into the exchange.
async fn load_market(
    db: &Db,
    tx: &mut sqlx::AnyConnection,
    exchange: &mut Exchange,
    market_id: &str,
) -> Result<(), StorageError> {
    exchange.forget_market(market_id);
    let Some(m) = markets::get(db, market_id).await? else {
        return Err(StorageError::NotFound(format!("market {market_id}")));
    };
    let outcomes = u32::try_from(m.outcomes.len()).unwrap_or(u32::MAX);
    let resolved = m.status == kairos_domain::MarketStatus::Resolved;
    exchange.note_load(MarketLoad { id: m.id.clone(), tick: m.tick_size, outcomes, resolved });
    if resolved {
        exchange.close_market(market_id);
        return Ok(());
    }
    let rules = match MarketRules::new(&m.id, m.tick_size, outcomes) {
        Ok(rules) => rules,
        Err(e) => {
            // Its requests are answered `market_not_matched_here`; the operators must fix it.
            tracing::error!(error = %e, "a market the matching engine cannot trade");
            return Ok(());
        }
    };
    exchange.add_market(rules);
    let mut groups: Vec<String> = Vec::new();
    for order in orders::live_in_market_in(tx, market_id).await? {
        let id = order.id.clone();
        groups.extend(order.order_group_id.iter().filter(|g| exchange.group(g).is_none()).cloned());
        if let Err(refusal) = exchange.restore(order) {
            tracing::error!(order_id = %id, %market_id, %refusal, "a stored live order cannot enter the book");
        }
    }
    // The groups of its orders, with the fills that still count: protection carries over a
    // takeover.
    groups.sort_unstable();
    groups.dedup();
    if !groups.is_empty() {
        for (group, window) in order_groups::load_in(tx, &groups, now_us()).await? {
            exchange.put_group(group, window);
        }
    }
    Ok(())
}

impl Sequencer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut expiry = tokio::time::interval(EXPIRY_EVERY);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut renew = tokio::time::interval(self.instance.lease / 3);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = renew.tick() => {
                    let now = now_us();
                    let until = self.instance.lease_until(now);
                    if let Err(e) = market_leases::renew_all(&self.db, &self.instance.id, now, until).await {
                        tracing::warn!(error = %e, "renewing market leases failed; batches re-check them");
                    }
                }
                committed = pipeline::committed(&mut self.in_flight), if self.in_flight.is_some() => {
                    if let Some(flight) = self.in_flight.take() {
                        self.finish(flight, committed).await;
                    }
                }
                // While batches commit, the next ones are built, up to a bound.
                job = rx.recv(), if self.has_room() => {
                    let Some(job) = job else {
                        self.drain().await;
                        return;
                    };
                    let mut jobs = vec![job];
                    while jobs.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(j) => jobs.push(j),
                            Err(_) => break,
                        }
                    }
                    self.take(jobs, false).await;
                }
                _ = expiry.tick(), if self.has_room() => {
                    if self.exchange.has_expiring() {
                        self.take(Vec::new(), true).await;
                    }
                }
            }
        }
    }

    async fn process(&mut self, jobs: Vec<Job>, expire: bool) {
        let requests: Vec<&Request> = jobs.iter().map(|j| &j.request).collect();
        let mut last_error = String::new();
        for attempt in 0..ATTEMPTS {
            if self.stale {
                // A failed batch may have changed the exchange in memory: nothing runs on it
                // until it is the database's again. The rebuild needs both of the pool's
                // connections.
                self.conn = None;
                match rebuild(&self.db, self.fees, self.limits, &self.instance).await {
                    Ok(exchange) => {
                        self.exchange = exchange;
                        self.stale = false;
                        self.publish_books();
                    }
                    Err(e) => {
                        last_error = format!("the exchange cannot be rebuilt from the database: {e}");
                        tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                        continue;
                    }
                }
            }
            let mut batch = Batch::new(now_us());
            let started = std::time::Instant::now();
            match self.commit(&requests, expire, &mut batch).await {
                Ok(results) => {
                    // What bounds the order rate: one batch's transaction at a time.
                    metrics::histogram!("kairos_paper_batch_duration_seconds").record(started.elapsed().as_secs_f64());
                    metrics::histogram!("kairos_paper_batch_requests").record(requests.len() as f64);
                    // Published before the replies, so a client that reads the book after its
                    // answer sees its own order there.
                    let outcome = self.outcome(batch);
                    self.publish(outcome);
                    for (job, result) in jobs.into_iter().zip(results) {
                        let _ = job.reply.send(result);
                    }
                    return;
                }
                Err(e) => {
                    last_error = e.to_string();
                    self.counts.count(pipeline::Count::Failure);
                    tracing::warn!(attempt, error = %e, "paper batch did not commit; rebuilding from the database");
                    tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                    self.known = None;
                    match rebuild(&self.db, self.fees, self.limits, &self.instance).await {
                        Ok(exchange) => {
                            self.exchange = exchange;
                            self.publish_books();
                        }
                        Err(e) => {
                            last_error = format!("{last_error}; rebuild failed: {e}");
                            self.stale = true;
                        }
                    }
                }
            }
        }
        tracing::error!(error = %last_error, requests = jobs.len(), "paper batch failed");
        for job in jobs {
            let _ = job.reply.send(Err(VenueError::Unavailable(last_error.clone())));
        }
    }

    /// Applies the requests and commits what they wrote; the per-request results are valid
    /// only if this returns `Ok`.
    async fn commit(
        &mut self,
        requests: &[&Request],
        expire: bool,
        batch: &mut Batch,
    ) -> Result<Vec<Result<Reply, VenueError>>, StorageError> {
        let mut conn = match self.conn.take() {
            Some(conn) => conn,
            None => self.db.pool().acquire().await?,
        };
        let results = self.commit_on(&mut conn, requests, expire, batch).await?;
        self.conn = Some(conn);
        Ok(results)
    }

    /// [`Sequencer::commit`] on the writer's connection.
    async fn commit_on(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        requests: &[&Request],
        expire: bool,
        batch: &mut Batch,
    ) -> Result<Vec<Result<Reply, VenueError>>, StorageError> {
        let mut tx = conn.begin().await?;
        let writes = ledger::lock_counted_in(&mut tx).await?;
        // Reused only if nobody else took the lock since the last commit; kept only if this
        // batch commits.
        let reused = self.known.take().filter(|k| k.writes + 1 == writes);
        metrics::counter!("kairos_paper_batch_known_total", "reused" => if reused.is_some() { "true" } else { "false" })
            .increment(1);
        let fresh = reused.is_none();
        let mut known = reused.unwrap_or_default();
        known.writes = writes;
        known.ledger.hold(false);
        self.check_leases(&mut tx, requests, expire, batch, &mut known).await?;
        self.prepare(&mut tx, requests, batch, &mut known, fresh).await?;
        let (results, writes) = self.apply(&mut tx, true, requests, expire, batch, &mut known).await?;
        let mut script = Script::new(&tx);
        writes.add_to(&mut script);
        script.run(&mut tx).await?;
        tx.commit().await?;
        self.known = Some(known);
        Ok(results)
    }

    /// Runs the requests on the exchange and answers what they wrote (its ledger part reads on
    /// `conn` what `known` lacks). `locked`: `conn` is the batch's own transaction under the
    /// ledger lock, the only place a resolution may run, since it reads and writes the
    /// database as it goes.
    async fn apply(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        locked: bool,
        requests: &[&Request],
        expire: bool,
        batch: &mut Batch,
        known: &mut Known,
    ) -> Result<(Vec<Result<Reply, VenueError>>, writes::Writes), StorageError> {
        let writes = known.writes;
        let (fees, limits) = self.exchange.settings();
        let mut record = log::Written {
            fees,
            limits,
            journal: self.exchange.journal().clone(),
            balances: batch.balances.iter().map(|((u, a), v)| (u.clone(), a.clone(), *v)).collect(),
            client_ids: batch.client_ids.iter().map(|((u, c), id)| (u.clone(), c.clone(), id.clone())).collect(),
            steps: Vec::with_capacity(requests.len()),
            expire,
        };
        record.balances.sort_unstable();
        record.client_ids.sort_unstable();
        // Orders of groups frozen or deleted elsewhere go before anything matches here.
        self.exchange.pull_barred(batch);
        let mut results = Vec::with_capacity(requests.len());
        for request in requests {
            if let Some(address) = market_of(request).and_then(|m| batch.moved.get(m)) {
                results.push(Err(VenueError::Refused(Refusal::MarketMoved { address: address.clone() })));
                continue;
            }
            if let Some(m) = market_of(request).filter(|m| batch.unknown.contains(*m)) {
                let reply = match request {
                    Request::CancelAll { .. } => Ok(Reply::Orders(Vec::new())),
                    _ => Err(VenueError::Refused(Refusal::UnknownMarket)),
                };
                tracing::debug!(market_id = m, "request for a market that does not exist");
                results.push(reply);
                continue;
            }
            let result = match request {
                Request::Resolve { .. } if !locked => {
                    return Err(StorageError::Invalid(
                        "a resolution runs only in a batch that holds the ledger lock".to_string(),
                    ));
                }
                Request::Resolve { market_id, winning_outcome, actor, request_id } => {
                    self.resolve(conn, market_id, *winning_outcome, actor, request_id, batch, &mut known.ledger).await?
                }
                other => engine_step(&mut self.exchange, other, batch),
            };
            record.steps.push(log::Step { request: *request, accepted: result.is_ok() });
            results.push(result.map_err(VenueError::Refused));
        }
        if expire {
            self.exchange.expire(batch);
        }
        if !batch.faults.is_empty() {
            // The engine met a broken invariant: nothing of this batch may become durable. The
            // caller rebuilds from the database and, if it recurs, answers with an error.
            return Err(StorageError::Invalid(format!(
                "the matching engine refused the batch: {}",
                batch.faults.join("; ")
            )));
        }
        let logged =
            if !record.steps.is_empty() || record.expire && !batch.changed.is_empty() || !record.journal.is_empty() {
                let json = serde_json::to_string(&record)
                    .map_err(|e| StorageError::Invalid(format!("the paper log record cannot be written: {e}")))?;
                Some(paper_log::Row {
                    batch: writes,
                    at_us: batch.now_us,
                    instance: self.instance.id.clone(),
                    record: json,
                })
            } else {
                None
            };
        // Every write of the batch, as rows: they go in one script (one round trip on SQLite),
        // alone or with the batches of a group.
        let mut writes = writes::Writes::default();
        writes.ledger = ledger::plan_many_known(conn, &batch.transfers, &mut known.ledger).await?;
        writes.fills = batch.fills.clone();
        writes.log.extend(logged);
        for id in &batch.changed {
            if let Some(order) = self.exchange.live_order(id).or_else(|| batch.finished.get(id)) {
                writes.order(order.clone());
            }
        }
        for id in &batch.groups {
            if let Some((group, _)) = self.exchange.group(id) {
                writes.group(group.clone());
            }
        }
        // Whatever happens to the writes, the journal is in them: a batch that fails rebuilds
        // the exchange, which starts a journal of its own.
        self.exchange.clear_journal();
        Ok((results, writes))
    }

    /// Reads what the batch's requests need on `conn`: their users' balances, the orders
    /// their client order ids already name, and the order groups they name (all groups known
    /// here again when `fresh`: another writer may have changed them since this instance last
    /// read them). Under the ledger lock these are current; a batch built ahead reads them on
    /// another connection and takes what batches still committing changed from memory.
    async fn prepare(
        &mut self,
        conn: &mut sqlx::AnyConnection,
        requests: &[&Request],
        batch: &mut Batch,
        known: &mut Known,
        fresh: bool,
    ) -> Result<(), StorageError> {
        let mut users: Vec<&str> = Vec::new();
        let mut client_ids: Vec<(&str, &str)> = Vec::new();
        let mut groups: Vec<String> = if fresh { self.exchange.group_ids() } else { Vec::new() };
        for request in requests {
            match request {
                Request::Place(o) => {
                    users.push(o.user_id.as_str());
                    client_ids.push((&o.user_id, &o.client_order_id));
                    groups.extend(o.order_group_id.iter().filter(|g| self.exchange.group(g).is_none()).cloned());
                }
                Request::Amend { user_id, .. } => users.push(user_id.as_str()),
                Request::ResetGroup { group_id, .. } | Request::DeleteGroup { group_id, .. } => {
                    groups.push(group_id.clone())
                }
                _ => {}
            }
        }
        if !groups.is_empty() {
            groups.sort_unstable();
            groups.dedup();
            for (group, window) in order_groups::load_in(conn, &groups, batch.now_us).await? {
                self.exchange.put_group(group, window);
            }
        }
        users.sort_unstable();
        users.dedup();
        batch.balances = ledger::available_balances_known_in(conn, &users, &mut known.ledger).await?;
        for existing in orders::by_client_ids_in(conn, &client_ids).await? {
            let key = (existing.user_id.clone(), existing.client_order_id.clone());
            batch.client_ids.insert(key, existing.id.clone());
            batch.known.insert(existing.id.clone(), existing);
        }
        // Orders of batches still committing are not in the database yet, or older there.
        for (user, client_id) in client_ids {
            let key = (user.to_string(), client_id.to_string());
            if let Some((_, order)) = self.recent.get(&key) {
                batch.client_ids.insert(key, order.id.clone());
                batch.known.insert(order.id.clone(), order.clone());
            }
        }
        Ok(())
    }

    /// Makes sure this instance may match every market the batch touches, inside the batch's
    /// transaction (after the ledger lock, so no other instance is mid-batch): a lease that is
    /// ours and current is kept; a free or lapsed one is taken and the market loaded afresh
    /// from the database; a market another instance holds is dropped from memory and its
    /// requests are answered `market_moved` with the holder's address.
    async fn check_leases(
        &mut self,
        tx: &mut sqlx::AnyConnection,
        requests: &[&Request],
        expire: bool,
        batch: &mut Batch,
        known: &mut Known,
    ) -> Result<(), StorageError> {
        let touched = self.touched_markets(requests, expire);
        let now = now_us();
        if self.all_held(&touched, known, now) {
            return Ok(());
        }
        let ids: Vec<&str> = touched.iter().map(String::as_str).collect();
        let leases = market_leases::of_markets_in(tx, &ids).await?;
        for market_id in &touched {
            let lease = leases.iter().find(|l| &l.market_id == market_id);
            let current = lease.is_some_and(|l| l.owner == self.instance.id && l.expires_at_us > now);
            known.leases.remove(market_id);
            if current && self.exchange.has_market(market_id) {
                if let Some(l) = lease {
                    known.leases.insert(market_id.clone(), l.expires_at_us);
                }
                continue;
            }
            if lease.is_none() && markets::get(&self.db, market_id).await?.is_none() {
                // No such market: nothing to lease (a cancel-all naming it cancels nothing).
                batch.unknown.insert(market_id.clone());
                continue;
            }
            if current || take_lease(tx, &self.instance, market_id, now).await? {
                load_market(&self.db, tx, &mut self.exchange, market_id).await?;
                let until = match lease {
                    Some(l) if current => l.expires_at_us,
                    _ => self.instance.lease_until(now),
                };
                known.leases.insert(market_id.clone(), until);
                continue;
            }
            if self.exchange.forget_market(market_id) {
                tracing::info!(market_id, "market lease went to another instance; dropped its book here");
            }
            let address = lease.map(|l| l.address.clone()).unwrap_or_default();
            batch.moved.insert(market_id.clone(), address);
        }
        Ok(())
    }

    /// The markets a batch of these requests may change.
    fn touched_markets(&self, requests: &[&Request], expire: bool) -> Vec<String> {
        let mut touched: Vec<String> = Vec::new();
        for request in requests {
            match request {
                Request::CancelAll { user_id, market_id, .. } => match market_id {
                    Some(m) => touched.push(m.clone()),
                    None => touched.extend(self.exchange.markets_of(user_id)),
                },
                Request::DeleteGroup { group_id, .. } => touched.extend(self.exchange.markets_of_group(group_id)),
                other => touched.extend(market_of(other).map(str::to_string)),
            }
        }
        if expire {
            touched.extend(self.exchange.markets().map(|(id, _)| id.to_string()));
        }
        touched.sort_unstable();
        touched.dedup();
        touched
    }

    /// Whether every market's lease is ours for a while yet and its book is here: then nothing
    /// about leases needs the database, since no other instance has taken the ledger lock
    /// (which taking a lease needs) since we last read them.
    fn all_held(&self, markets: &[String], known: &Known, now: i64) -> bool {
        markets.iter().all(|m| {
            known.leases.get(m).is_some_and(|until| *until > now + LEASE_RECHECK_MARGIN_US)
                && self.exchange.has_market(m)
        })
    }

    /// Cancels the market's orders, marks it resolved, retires every share and pays each
    /// winning share one unit of collateral from escrow: all in the batch's transaction.
    #[allow(clippy::too_many_arguments)]
    async fn resolve(
        &mut self,
        tx: &mut sqlx::AnyConnection,
        market_id: &str,
        winning: u32,
        actor: &str,
        request_id: &str,
        batch: &mut Batch,
        known: &mut ledger::Known,
    ) -> Result<Result<Reply, Refusal>, StorageError> {
        let outcomes = match markets::get(&self.db, market_id).await? {
            None => return Ok(Err(Refusal::UnknownMarket)),
            Some(m) if m.resolved_outcome.is_some() => return Ok(Err(Refusal::MarketResolved)),
            Some(m) if winning as usize >= m.outcomes.len() => return Ok(Err(Refusal::NoSuchOutcome(winning))),
            Some(m) => u32::try_from(m.outcomes.len()).unwrap_or(u32::MAX),
        };
        let cancelled = self.exchange.cancel_market(market_id, batch);
        // The releases must be in the balances the payout reads.
        ledger::append_many_known_in(tx, &std::mem::take(&mut batch.transfers), known).await?;
        if !markets::resolve_in(tx, market_id, winning).await? {
            return Err(StorageError::Conflict(format!("market {market_id} is already resolved")));
        }
        let holders = ledger::share_holders_in(tx, market_id, outcomes).await?;
        for (user, outcome, shares) in &holders {
            batch.transfers.extend(settlement::resolution_transfers(
                market_id,
                user,
                *outcome,
                Size::from_micros(*shares),
                *outcome == winning,
            ));
        }
        let paid: i64 = holders.iter().filter(|h| h.1 == winning).map(|h| h.2).sum();
        audit_log::append_in(
            tx,
            &AuditEntry {
                actor: actor.to_string(),
                action: "market.resolve".to_string(),
                target: Some(format!("market:{market_id}")),
                request_id: Some(request_id.to_string()),
                before: None,
                after: Some(
                    serde_json::json!({
                        "winning_outcome": winning,
                        "cancelled_orders": cancelled,
                        "paid": kairos_domain::format_micros(paid),
                    })
                    .to_string(),
                ),
            },
        )
        .await?;
        self.exchange.close_market(market_id);
        Ok(Ok(Reply::Resolved { cancelled, holders: holders.len() }))
    }

    /// What the batch changed, as it stands after the batch: taken when the batch is built,
    /// since a batch built ahead is published only after the next one has run on the exchange.
    fn outcome(&self, batch: Batch) -> Outcome {
        let orders = batch
            .changed
            .iter()
            .filter_map(|id| self.exchange.live_order(id).or_else(|| batch.finished.get(id)).cloned())
            .collect();
        let mut books: Vec<BookLevels> = batch
            .touched
            .into_iter()
            .map(|key| {
                let (bids, asks) = self.exchange.depth(&key.0, key.1, usize::MAX).unwrap_or_default();
                (key, bids, asks)
            })
            .collect();
        books.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Outcome { orders, fills: batch.fills, trades: batch.trades, books, trips: batch.trips }
    }

    /// Tells subscribers what a committed batch changed.
    fn publish(&mut self, outcome: Outcome) {
        for (group, breach) in &outcome.trips {
            tracing::warn!(group_id = %group, limit = breach.as_str(), "order group tripped; its orders are cancelled");
            metrics::counter!("kairos_order_group_trips_total", "venue" => "paper", "limit" => breach.as_str())
                .increment(1);
        }
        let send = |e: StreamEvent| {
            let _ = self.events.send(Arc::new(e));
        };
        for o in outcome.orders {
            send(StreamEvent::Order(Box::new(o)));
        }
        for f in outcome.fills {
            send(StreamEvent::Fill(Box::new(f)));
        }
        for t in outcome.trades {
            send(StreamEvent::Trade(t));
        }
        let mut views = locks::write(&self.views);
        for (key, bids, asks) in outcome.books {
            publish_levels(&mut views, &self.events, key, bids, asks);
        }
    }

    /// Publishes the changed levels of every book known here (after a rebuild).
    fn publish_books(&mut self) {
        let mut views = locks::write(&self.views);
        let mut keys: Vec<(String, usize)> = views.keys().cloned().collect();
        keys.extend(self.exchange.markets().flat_map(|(id, n)| (0..n).map(move |b| (id.to_string(), b))));
        keys.sort();
        keys.dedup();
        for key in keys {
            let (bids, asks) = self.exchange.depth(&key.0, key.1, usize::MAX).unwrap_or_default();
            publish_levels(&mut views, &self.events, key, bids, asks);
        }
    }
}

/// A book's levels after a batch: (market, book), bids, asks.
type BookLevels = ((String, usize), Ladder, Ladder);

/// What subscribers hear of a committed batch.
#[derive(Debug)]
struct Outcome {
    orders: Vec<Order>,
    fills: Vec<kairos_domain::Fill>,
    trades: Vec<kairos_matching::exchange::Trade>,
    books: Vec<BookLevels>,
    trips: Vec<(String, kairos_domain::order_group::Breach)>,
}

/// Updates a book's view and sends what changed in it, if anything did.
fn publish_levels(
    views: &mut HashMap<(String, usize), BookView>,
    events: &broadcast::Sender<Arc<StreamEvent>>,
    key: (String, usize),
    bids: Ladder,
    asks: Ladder,
) {
    let view = views.entry(key.clone()).or_default();
    let bid_changes = level_changes(&view.bids, &bids);
    let ask_changes = level_changes(&view.asks, &asks);
    if bid_changes.is_empty() && ask_changes.is_empty() {
        return;
    }
    view.seq += 1;
    view.bids = bids;
    view.asks = asks;
    let _ = events.send(Arc::new(StreamEvent::Book {
        market_id: key.0,
        book: key.1,
        seq: view.seq,
        bids: bid_changes,
        asks: ask_changes,
    }));
}

/// What a request does to the engine alone (all but a resolution, which reads and writes the
/// database): the live sequencer and the replay run this one function.
pub(crate) fn engine_step(exchange: &mut Exchange, request: &Request, batch: &mut Batch) -> Result<Reply, Refusal> {
    match request {
        Request::Place(order) => exchange.place((**order).clone(), batch).map(|o| Reply::Order(Box::new(o))),
        Request::Cancel { user_id, order_id, .. } => {
            exchange.cancel(user_id, order_id, batch).map(|o| Reply::Order(Box::new(o)))
        }
        Request::CancelAll { user_id, market_id, cause } => {
            Ok(Reply::Orders(exchange.cancel_all(user_id, market_id.as_deref(), cause.reason(), batch)))
        }
        Request::Amend { user_id, order_id, price, size, .. } => {
            exchange.amend(user_id, order_id, *price, *size, batch).map(|o| Reply::Order(Box::new(o)))
        }
        Request::ResetGroup { user_id, group_id } => {
            exchange.reset_group(user_id, group_id, batch).map(|g| Reply::Group(Box::new(g)))
        }
        Request::DeleteGroup { user_id, group_id } => {
            exchange.delete_group(user_id, group_id, batch).map(Reply::Orders)
        }
        // Callers run a resolution themselves; this answer only keeps the match whole.
        Request::Resolve { .. } => Err(Refusal::NotTradable("a resolution needs the database".to_string())),
    }
}

/// The market a request is about, when it names one.
fn market_of(request: &Request) -> Option<&str> {
    match request {
        Request::Place(o) => Some(&o.market_id),
        Request::Cancel { market_id, .. } | Request::Amend { market_id, .. } | Request::Resolve { market_id, .. } => {
            Some(market_id)
        }
        Request::CancelAll { market_id, .. } => market_id.as_deref(),
        Request::ResetGroup { .. } | Request::DeleteGroup { .. } => None,
    }
}

/// The levels that differ between two ladders: new sizes, and 0 for levels that are gone.
pub fn level_changes(before: &[(Price, Size)], after: &[(Price, Size)]) -> Ladder {
    let old: HashMap<Price, Size> = before.iter().copied().collect();
    let new: HashMap<Price, Size> = after.iter().copied().collect();
    let mut changes: Ladder = after.iter().filter(|(p, s)| old.get(p) != Some(s)).copied().collect();
    changes.extend(before.iter().filter(|(p, _)| !new.contains_key(p)).map(|(p, _)| (*p, Size::ZERO)));
    changes.sort_unstable();
    changes
}

#[cfg(test)]
mod tests {
    use super::level_changes;
    use kairos_domain::{Price, Size};

    #[test]
    fn level_changes_name_new_sizes_and_gone_levels() {
        let l = |p, s| (Price::from_micros(p), Size::from_micros(s));
        let before = [l(50, 10), l(49, 5)];
        let after = [l(50, 7), l(48, 3)];
        assert_eq!(level_changes(&before, &after), vec![l(48, 3), l(49, 0), l(50, 7)]);
        assert!(level_changes(&after, &after).is_empty());
    }
}
