//! `flash-oracle`: the oracle's side of a flash market after betting closes.
//!
//! 1. **Ticks.** Tick `i` belongs to the slot `[lock_at + i·interval, lock_at + (i+1)·interval)`
//!    and is taken from the price feed during that slot only, no older than the interval, and
//!    stored durably (once per index), so a restarted keeper continues the same chain. A slot
//!    that passes without its tick (the feed down, no keeper running) is never filled in
//!    afterwards: the market can no longer complete and `flash-void` voids it at its deadline.
//! 2. **Lock.** With every tick in, a secret salt is chosen once and stored sealed under the
//!    master key *before* the commitment (the Poseidon chain over the ticks closed with the
//!    salt) is sent in `LockMarket`: a keeper that restarts, or loses the answer, commits to the
//!    same value and can still prove it.
//! 3. **Resolve.** The Groth16 proof, with the ceremony's proving key (the key the market was
//!    created under, checked by its hash), is sent in `ResolveMarket` before the deadline.
//!
//! Every send reads the market's account first ([`kairos_flash::sender`]), so a lost answer
//! or another keeper never leads to a second lock or resolve. Locking and resolving run as
//! tasks beside the job's runs, one per market at a time, so a slow confirmation never delays
//! another market's tick; their writes hold the lease's fence like every other write.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kairos_domain::now_us;
use kairos_flash::sender::{Outcome, SendPolicy, send};
use kairos_flash::terms::stored_rule;
use kairos_flash_bets::instruction::{RESOLVE_COMPUTE_UNITS, lock_market, resolve_market};
use kairos_flash_bets::state::{Market, MarketStatus};
use kairos_flash_circuit::field::field_to_bytes;
use kairos_flash_circuit::keys::Keys;
use kairos_flash_circuit::statement::Statement;
use kairos_platform::config::KeeperSettings;
use kairos_platform::master_key::MasterKey;
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};
use kairos_platform::storage::flash_ticks::{self, TickRow};
use rand::RngCore as _;
use solana_signer::Signer as _;

use super::fenced;
use super::{Job, JobContext, RunFuture};
use crate::flash::{FlashAccess, market_id};
use crate::price_feed::PriceFeed;

const NAME: &str = "flash-oracle";
/// Units a lock asks for: one account rewritten and the checks.
const LOCK_COMPUTE_UNITS: u32 = 30_000;
/// Markets looked at per run.
const BATCH: i64 = 500;
/// Between two reads of the chain's clock while tick 0 waits for betting to close on chain.
const CHAIN_CLOCK_POLL: Duration = Duration::from_millis(100);
/// Tries at recording a landed resolve before the task gives up (and reports it).
const RECORD_ATTEMPTS: u32 = 3;

/// What a market's observation needs at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickPlan {
    /// Betting is still open, or this slot's tick is already stored: tick `idx` is next, its
    /// slot starting at `at_us`.
    Wait { idx: i64, at_us: i64 },
    /// Take tick `idx` now: its slot is running.
    Take(i64),
    /// A slot passed without its tick: the market cannot complete (it voids at its deadline).
    Missed,
    /// Every tick is stored.
    Complete,
}

/// The plan at `now_us` for a market locking at `lock_at_us`, `ticks` ticks `interval_us` apart,
/// with `stored` consecutive ticks stored.
pub fn tick_plan(lock_at_us: i64, interval_us: i64, ticks: i64, stored: i64, now_us: i64) -> TickPlan {
    if stored >= ticks {
        return TickPlan::Complete;
    }
    let next = TickPlan::Wait { idx: stored, at_us: lock_at_us.saturating_add(stored.saturating_mul(interval_us)) };
    if now_us < lock_at_us || interval_us <= 0 {
        return next;
    }
    let slot = (now_us - lock_at_us) / interval_us;
    match slot.cmp(&stored) {
        std::cmp::Ordering::Less => next,
        std::cmp::Ordering::Equal => TickPlan::Take(stored),
        std::cmp::Ordering::Greater => TickPlan::Missed,
    }
}

/// The associated data a market's salt is sealed with: a sealed salt moved to another market's
/// row does not open.
fn salt_context(id: &str) -> String {
    format!("flash-salt:{id}")
}

/// A fresh salt: 31 random bytes behind a zero byte, so it is a BN254 field element.
fn new_salt() -> [u8; 32] {
    let mut salt = [0u8; 32];
    rand::rng().fill_bytes(&mut salt[1..]);
    salt
}

#[derive(Debug)]
struct FlashOracle {
    access: Arc<FlashAccess>,
    feed: Result<Arc<PriceFeed>, String>,
    master: Result<MasterKey, String>,
    key_dir: Option<PathBuf>,
    keys: tokio::sync::Mutex<Option<Arc<Keys>>>,
    period: Duration,
    /// Markets whose lock-and-resolve task is running.
    in_flight: Arc<Mutex<HashSet<String>>>,
    /// The last task failure, reported by the next run as its error.
    task_failure: Arc<Mutex<Option<String>>>,
    /// Proofs running at once: one per core.
    provers: tokio::sync::Semaphore,
}

impl FlashOracle {
    fn new(access: Arc<FlashAccess>, settings: &KeeperSettings) -> FlashOracle {
        let feed = match PriceFeed::from_settings(&settings.core.flash.price_feed) {
            Ok(Some(feed)) => Ok(Arc::new(feed)),
            Ok(None) => Err("KAIROS_FLASH__PRICE_FEED is not set".to_string()),
            Err(e) => Err(e.to_string()),
        };
        let master = match &settings.master_key {
            Some(key) => MasterKey::from_config(key, settings.master_key_previous.as_ref()).map_err(|e| e.to_string()),
            None => Err("KAIROS_MASTER_KEY is not set".to_string()),
        };
        FlashOracle {
            access,
            feed,
            master,
            key_dir: settings.core.flash.proving_key_dir.clone(),
            keys: tokio::sync::Mutex::new(None),
            period: settings.flash_oracle.period,
            in_flight: Arc::new(Mutex::new(HashSet::new())),
            task_failure: Arc::new(Mutex::new(None)),
            provers: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from)),
        }
    }

    /// Takes tick `idx` of `m` from the feed and stores it under the run's fence: a price
    /// observed within the tick's own slot, stored before the slot ends. Tick 0 also waits for
    /// the chain's clock to reach the lock time, since the program takes bets until its own
    /// clock says betting closed (it may lag the wall clock).
    async fn take_tick(&self, ctx: &JobContext, m: &FlashMarketRow, idx: i64) -> Result<(), String> {
        let feed = self.feed.as_ref().map_err(Clone::clone)?;
        let interval_us = m.tick_interval_s.saturating_mul(1_000_000);
        let slot_start = m.lock_at_us.saturating_add(idx.saturating_mul(interval_us));
        let slot_end = slot_start.saturating_add(interval_us);
        if idx == 0 {
            // The chain's clock moves in whole seconds, a slot at a time: asked again until it
            // passes the lock time, while half the slot is left for the feed, and for at most
            // a period (the next run asks again) so that other markets' runs do not wait.
            let chain = self.access.chain()?;
            let period_us = i64::try_from(self.period.as_micros()).unwrap_or(i64::MAX);
            let give_up_at = slot_start.saturating_add(interval_us / 2).min(now_us().saturating_add(period_us));
            while chain.unix_time().await.map_err(|e| e.to_string())?.saturating_mul(1_000_000) < m.lock_at_us {
                if now_us() >= give_up_at {
                    return Ok(()); // betting is still open on chain; this slot may yet be missed
                }
                tokio::time::sleep(CHAIN_CLOCK_POLL).await;
            }
        }
        // Only a price observed since the slot began: an older cached one is fetched again.
        let since_start = u64::try_from(now_us().saturating_sub(slot_start)).unwrap_or(0).max(1_000);
        let max_age = Duration::from_micros(since_start).min(Duration::from_micros(interval_us.max(1) as u64));
        let quote = match feed.quote(&m.symbol, max_age).await {
            Ok(quote) => quote,
            Err(e) => {
                metrics::counter!("kairos_flash_ticks_total", "result" => "feed_error").increment(1);
                return Err(format!("market {} tick {idx}: {e}", m.id));
            }
        };
        if quote.observed_at_us < slot_start {
            metrics::counter!("kairos_flash_ticks_total", "result" => "before_slot").increment(1);
            return Err(format!("market {} tick {idx}: the feed's price was observed before the tick's slot", m.id));
        }
        let price = i64::try_from(quote.price_micros).map_err(|_| format!("market {}: price out of range", m.id))?;
        let tick = TickRow { idx, price, source: quote.source.to_string(), received_at_us: now_us() };
        let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
        if now_us() >= slot_end {
            metrics::counter!("kairos_flash_ticks_total", "result" => "late").increment(1);
            tx.rollback().await.map_err(|e| e.to_string())?;
            return Err(format!("market {} tick {idx}: the slot ended while the feed answered", m.id));
        }
        flash_ticks::insert_in(&mut tx, &m.id, &tick).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        metrics::counter!("kairos_flash_ticks_total", "result" => "stored").increment(1);
        tracing::debug!(market = %m.id, idx, "flash tick stored");
        Ok(())
    }

    /// The proving key, loaded once.
    async fn keys(&self) -> Result<Arc<Keys>, String> {
        let mut cached = self.keys.lock().await;
        if let Some(keys) = cached.as_ref() {
            return Ok(keys.clone());
        }
        let dir = self.key_dir.clone().ok_or("KAIROS_FLASH__PROVING_KEY_DIR is not set")?;
        let keys = tokio::task::spawn_blocking(move || Keys::load(&dir).map_err(|e| format!("{}: {e}", dir.display())))
            .await
            .map_err(|e| e.to_string())??;
        let keys = Arc::new(keys);
        *cached = Some(keys.clone());
        Ok(keys)
    }

    /// Starts the lock-and-resolve task of `m` unless one is running.
    fn spawn_settle(self: &Arc<Self>, ctx: &JobContext, m: FlashMarketRow) {
        {
            let Ok(mut running) = self.in_flight.lock() else { return };
            if !running.insert(m.id.clone()) {
                return;
            }
        }
        let (this, ctx) = (self.clone(), ctx.clone());
        tokio::spawn(async move {
            let result = settle(&this, &ctx, &m).await;
            if let Err(e) = &result {
                tracing::warn!(market = %m.id, error = %e, "flash market not settled yet");
                if let Ok(mut failure) = this.task_failure.lock() {
                    *failure = Some(e.clone());
                }
            }
            if let Ok(mut running) = this.in_flight.lock() {
                running.remove(&m.id);
            }
        });
    }

    async fn run_once(self: &Arc<Self>, ctx: &JobContext) -> Result<(), String> {
        let now = now_us();
        let markets =
            flash_markets::with_status(&ctx.db, &["open", "locked"], BATCH).await.map_err(|e| e.to_string())?;
        let mut failed = Vec::new();
        let mut due = Vec::new();
        let horizon = now.saturating_add(i64::try_from(self.period.as_micros()).unwrap_or(i64::MAX));
        for m in markets.into_iter().filter(|m| m.lock_at_us <= horizon) {
            if m.status == "locked" {
                if now <= m.deadline_at_us && m.lock_at_us <= now {
                    self.spawn_settle(ctx, m);
                }
                continue;
            }
            let stored = flash_ticks::of(&ctx.db, &m.id).await.map_err(|e| e.to_string())?;
            let interval_us = m.tick_interval_s.saturating_mul(1_000_000);
            match tick_plan(m.lock_at_us, interval_us, m.ticks, stored.len() as i64, now_us()) {
                // A slot that starts before the next run is waited for in this one, so a tick
                // is taken as its slot opens whatever the phase of the runs.
                TickPlan::Wait { idx, at_us } if at_us <= horizon => due.push((m, idx, at_us)),
                TickPlan::Wait { .. } => {}
                TickPlan::Take(idx) => due.push((m, idx, now)),
                TickPlan::Missed => {
                    tracing::debug!(market = %m.id, stored = stored.len(), "a tick was missed: the market is left to void");
                }
                TickPlan::Complete if now <= m.deadline_at_us => self.spawn_settle(ctx, m),
                TickPlan::Complete => {}
            }
        }
        // Every due tick at once: markets on one symbol share the feed's call, and no market
        // waits behind another's slow answer.
        let taken = futures_util::future::join_all(due.iter().map(|(m, idx, at_us)| async move {
            let wait = at_us.saturating_sub(now_us());
            if wait > 0 {
                tokio::time::sleep(Duration::from_micros(wait.unsigned_abs())).await;
            }
            self.take_tick(ctx, m, *idx).await
        }))
        .await;
        failed.extend(taken.into_iter().filter_map(Result::err));
        if let Some(e) = self.task_failure.lock().ok().and_then(|mut f| f.take()) {
            failed.push(e);
        }
        if failed.is_empty() { Ok(()) } else { Err(failed.join("; ")) }
    }
}

/// The market's salt: the stored one, else a new one sealed and stored first (under the fence).
async fn salt(oracle: &FlashOracle, ctx: &JobContext, m: &FlashMarketRow) -> Result<[u8; 32], String> {
    let master = oracle.master.as_ref().map_err(Clone::clone)?;
    let context = salt_context(&m.id);
    let sealed = match flash_markets::sealed_salt(&ctx.db, &m.id).await.map_err(|e| e.to_string())? {
        Some(sealed) => sealed,
        None => {
            let sealed = master.encrypt(&context, &new_salt()).map_err(|e| e.to_string())?;
            let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
            flash_markets::record_salt_in(&mut tx, &m.id, &sealed).await.map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            // Whichever salt was stored first is the one.
            flash_markets::sealed_salt(&ctx.db, &m.id).await.map_err(|e| e.to_string())?.ok_or("the salt vanished")?
        }
    };
    let salt = master.decrypt(&context, &sealed).map_err(|e| format!("market {}: {e}", m.id))?;
    salt.try_into().map_err(|_| format!("market {}: the sealed salt is not 32 bytes", m.id))
}

/// Locks `m` (unless the chain shows it locked) and resolves it with a proof.
async fn settle(oracle: &FlashOracle, ctx: &JobContext, m: &FlashMarketRow) -> Result<(), String> {
    let chain = oracle.access.chain()?;
    let key = oracle.access.oracle()?;
    let id = market_id(&m.market_id)?;
    let read = |id| {
        let chain = chain.clone();
        async move { chain.market(&id).await }
    };
    let Some(market) = read(id).await.map_err(|e| e.to_string())? else {
        return Err(format!("market {}: its account is not on chain", m.id));
    };
    if matches!(market.status, MarketStatus::Resolved | MarketStatus::Voided) {
        return Ok(()); // chain-sync records it
    }
    if now_us() / 1_000_000 > market.resolve_by {
        return Ok(()); // too late: flash-void's work
    }
    let ticks: Vec<u64> = flash_ticks::of(&ctx.db, &m.id)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .enumerate()
        .map(|(i, t)| if t.idx == i as i64 { u64::try_from(t.price).ok() } else { None })
        .collect::<Option<_>>()
        .ok_or_else(|| format!("market {}: its stored ticks are not a chain", m.id))?;
    if ticks.len() as i64 != m.ticks {
        return Err(if market.status == MarketStatus::Locked {
            format!(
                "market {}: locked on chain with another commitment than ours ({} of {} ticks observed): it voids at its deadline",
                m.id,
                ticks.len(),
                m.ticks
            )
        } else {
            format!("market {}: {} of {} ticks stored", m.id, ticks.len(), m.ticks)
        });
    }
    let rule = stored_rule(&m.rule_kind, &m.rule_params).ok_or_else(|| format!("market {}: bad rule", m.id))?;
    let statement = Statement { market_id: id, ticks, salt: salt(oracle, ctx, m).await?, rule };
    let commitment = field_to_bytes(&statement.commitment().map_err(|e| e.to_string())?);
    let commitment_hex = hex::encode(commitment);

    // A key that cannot prove this market must not lock it: the market would then void.
    let keys = oracle.keys().await?;
    if keys.vk_hash().map_err(|e| e.to_string())? != market.vk_hash || keys.ticks as i64 != m.ticks {
        return Err(format!(
            "market {}: KAIROS_FLASH__PROVING_KEY_DIR holds another key than the one the market was created under",
            m.id
        ));
    }

    let (lock_signature, lock_slot) = match market.status {
        MarketStatus::Open => {
            let ix = lock_market(&chain.program_id(), &key.pubkey(), &id, commitment);
            let locked = || async {
                let now = read(id).await?;
                Ok(now.is_some_and(|m: Market| m.status != MarketStatus::Open))
            };
            let sent = send(&chain, &key, &[], &[ix], LOCK_COMPUTE_UNITS, SendPolicy::DEFAULT, locked)
                .await
                .map_err(|e| format!("market {}: lock: {e}", m.id))?;
            let (signature, slot) = sent.record();
            (signature.map(str::to_string), slot)
        }
        _ => (None, 0),
    };
    // Whoever locked it, the chain must hold our commitment, or no proof of ours can verify.
    let Some(market) = read(id).await.map_err(|e| e.to_string())? else {
        return Err(format!("market {}: its account vanished", m.id));
    };
    if matches!(market.status, MarketStatus::Resolved | MarketStatus::Voided) {
        return Ok(());
    }
    if market.commitment != Some(commitment) {
        return Err(format!("market {}: the chain holds another commitment than the stored ticks and salt give", m.id));
    }
    {
        let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
        flash_markets::record_locked_in(&mut tx, &m.id, &commitment_hex, lock_signature.as_deref(), lock_slot)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
    }

    let started = std::time::Instant::now();
    let proved = {
        // Proofs take a core each: a burst of markets locking together queues here.
        let _permit = oracle.provers.acquire().await.map_err(|e| e.to_string())?;
        let (keys, statement) = (keys.clone(), statement.clone());
        tokio::task::spawn_blocking(move || {
            kairos_flash_circuit::prove::prove(&keys, &statement, &mut rand_core::OsRng).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??
    };
    let prove_ms = started.elapsed().as_millis() as u64;
    metrics::histogram!("kairos_flash_prove_seconds").record(started.elapsed().as_secs_f64());
    if now_us() / 1_000_000 > market.resolve_by {
        return Ok(()); // proved too late: flash-void's work
    }
    let outcome = proved.public.outcome;
    let collateral = chain.collateral().await.map_err(|e| e.to_string())?;
    let circuit_id = u32::try_from(m.circuit_id).map_err(|_| format!("market {}: bad circuit id", m.id))?;
    let ix = resolve_market(
        &chain.program_id(),
        &id,
        circuit_id,
        &collateral.mint,
        &collateral.fee_account,
        outcome,
        proved.proof,
    );
    let settled = || async {
        let now = read(id).await?;
        Ok(now.is_some_and(|m: Market| matches!(m.status, MarketStatus::Resolved | MarketStatus::Voided)))
    };
    let sent = send(&chain, &key, &[], &[ix], RESOLVE_COMPUTE_UNITS, SendPolicy::DEFAULT, settled)
        .await
        .map_err(|e| format!("market {}: resolve: {e}", m.id))?;
    let (signature, slot) = sent.record();
    // What the chain says settled it: ours (a landed resolve pays the winners unless nobody
    // backed the winning outcome, when it refunds), or (already done) a resolve or a void by
    // anyone.
    let (outcome, refunded) = match &sent {
        Outcome::Landed { .. } => (outcome, market.totals.get(usize::from(outcome)).is_some_and(|t| *t == 0)),
        Outcome::AlreadyDone => match read(id).await.map_err(|e| e.to_string())? {
            Some(now) => match (now.status, now.winning_outcome) {
                (MarketStatus::Resolved, Some(winner)) => (winner, false),
                (MarketStatus::Voided, Some(winner)) => (winner, true),
                // Voided without a winner (past its deadline): flash-void and chain-sync record it.
                _ => return Ok(()),
            },
            None => return Err(format!("market {}: its account vanished", m.id)),
        },
    };
    record_resolved(ctx, &m.id, i64::from(outcome), refunded, signature, slot).await?;
    tracing::info!(market = %m.id, outcome, ?signature, prove_ms, "flash market resolved");
    Ok(())
}

/// Records a resolve the chain has taken. Tried a few times: once the chain shows the market
/// settled no later task sends (or learns) this signature again, so a passing database error
/// must not lose it.
async fn record_resolved(
    ctx: &JobContext,
    id: &str,
    outcome: i64,
    refunded: bool,
    signature: Option<&str>,
    slot: i64,
) -> Result<(), String> {
    let mut attempt = 0;
    loop {
        let done = async {
            let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".to_string()) };
            flash_markets::record_resolved_in(&mut tx, id, outcome, refunded, signature, slot)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())
        }
        .await;
        match done {
            Err(e) if e != "lease lost" && attempt < RECORD_ATTEMPTS => {
                attempt += 1;
                tracing::warn!(market = %id, error = %e, attempt, "recording a landed resolve failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            other => return other.map_err(|e| format!("market {id}: recording its resolve: {e}")),
        }
    }
}

/// The job as the scheduler holds it: the state lives behind an `Arc` so the lock-and-resolve
/// tasks outlive a run.
#[derive(Debug, Clone)]
pub struct FlashOracleJob(Arc<FlashOracle>);

impl FlashOracleJob {
    pub fn new(access: Arc<FlashAccess>, settings: &KeeperSettings) -> FlashOracleJob {
        FlashOracleJob(Arc::new(FlashOracle::new(access, settings)))
    }

    /// Markets whose lock-and-resolve task is running now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.lock().map(|r| r.len()).unwrap_or(0)
    }
}

impl Job for FlashOracleJob {
    fn name(&self) -> &'static str {
        NAME
    }

    fn period(&self) -> Duration {
        self.0.period
    }

    fn timeout(&self) -> Duration {
        // Ticks only: locks and resolves run beside the runs.
        Duration::from_secs(30)
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(async move { self.0.run_once(ctx).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tick_is_taken_in_its_own_slot_and_never_afterwards() {
        let (lock, interval) = (100_000_000, 5_000_000);
        assert_eq!(tick_plan(lock, interval, 4, 0, lock - 1), TickPlan::Wait { idx: 0, at_us: lock }, "betting open");
        assert_eq!(tick_plan(lock, interval, 4, 0, lock), TickPlan::Take(0));
        let next = TickPlan::Wait { idx: 1, at_us: lock + 5_000_000 };
        assert_eq!(tick_plan(lock, interval, 4, 1, lock + 4_999_999), next, "slot 0's tick is in");
        assert_eq!(tick_plan(lock, interval, 4, 1, lock + 5_000_000), TickPlan::Take(1));
        assert_eq!(tick_plan(lock, interval, 4, 1, lock + 10_000_000), TickPlan::Missed, "slot 1 passed empty");
        assert_eq!(tick_plan(lock, interval, 4, 0, lock + 5_000_000), TickPlan::Missed);
        assert_eq!(tick_plan(lock, interval, 4, 4, lock + 1_000_000_000), TickPlan::Complete);
    }

    #[test]
    fn salts_are_field_elements_and_differ() {
        let (a, b) = (new_salt(), new_salt());
        assert_eq!((a[0], b[0]), (0, 0));
        assert_ne!(a, b);
    }
}
