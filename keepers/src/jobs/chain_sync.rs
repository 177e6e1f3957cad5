//! `chain-sync`: follows the flash-bets program's accounts into the flash tables. A full read
//! takes every market and position account at `finalized` (filtered `getProgramAccounts`:
//! size and discriminator) and applies them in one fenced transaction; a row never moves back
//! to an older slot. A market the database expects on chain whose account is missing is an
//! alert (an error in the log and `kairos_chain_sync_missing_accounts`), never a crash.
//!
//! With a websocket endpoint, the job subscribes to the program's accounts
//! (`programSubscribe` at `finalized`) and a run applies only the accounts pushed since the
//! last run; a full read still runs every [`FULL_READ_EVERY`] (it alone sees an account
//! vanish) and at every run while the subscription is not open. A subscription that ends or
//! cannot be made is opened again at the next run; meanwhile every run reads in full, as
//! without a websocket (`kairos_chain_sync_subscription_live` says which).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kairos_flash::FlashChain;
use kairos_flash::Pubkey;
use kairos_flash::subscriptions::{ProgramEvent, follow_program};
use kairos_flash_bets::state::{Market, MarketStatus, Position};
use kairos_platform::storage::flash_markets::{self, ChainMarket, ChainPosition};

use super::fenced;
use super::{Job, JobContext, RunFuture};
use crate::flash::FlashAccess;

const NAME: &str = "chain-sync";

/// How often a full read runs while the subscription is open.
const FULL_READ_EVERY: Duration = Duration::from_secs(60);
/// A subscription no run has drained for this long belongs to a process that no longer holds
/// the lease: it closes.
const IDLE_SUBSCRIPTION: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct ChainSync {
    access: Arc<FlashAccess>,
    period: Duration,
    full_read_every: Duration,
    following: Mutex<Option<Following>>,
    last_full_read: Mutex<Option<Instant>>,
    /// Full reads so far (`kairos_chain_sync_full_reads_total` counts them too).
    full_reads: std::sync::atomic::AtomicU64,
}

/// What the subscription has pushed and not yet been applied.
#[derive(Debug)]
struct Follower {
    live: AtomicBool,
    /// The newest pushed state of each account: (slot, data).
    pending: Mutex<BTreeMap<Pubkey, (u64, Vec<u8>)>>,
    drained_at: Mutex<Instant>,
}

impl Follower {
    fn new() -> Self {
        Self {
            live: AtomicBool::new(false),
            pending: Mutex::new(BTreeMap::new()),
            drained_at: Mutex::new(Instant::now()),
        }
    }

    fn push(&self, address: Pubkey, slot: u64, data: Vec<u8>) {
        if let Ok(mut pending) = self.pending.lock() {
            let newer = pending.get(&address).is_none_or(|(known, _)| slot >= *known);
            if newer {
                pending.insert(address, (slot, data));
            }
        }
    }

    fn drain(&self) -> BTreeMap<Pubkey, (u64, Vec<u8>)> {
        if let Ok(mut at) = self.drained_at.lock() {
            *at = Instant::now();
        }
        self.pending.lock().map(|mut pending| std::mem::take(&mut *pending)).unwrap_or_default()
    }

    fn idle_for(&self) -> Duration {
        self.drained_at.lock().map(|at| at.elapsed()).unwrap_or_default()
    }
}

/// The running subscription and the endpoint it was opened on.
#[derive(Debug)]
struct Following {
    url: String,
    follower: Arc<Follower>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Following {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Keeps the subscription's pushes in `follower` until the stream ends or no run drains it.
async fn follow(url: String, program: Pubkey, follower: Arc<Follower>) {
    let pushed = follower.clone();
    let watched = follow_program(&url, program, move |event| match event {
        ProgramEvent::Subscribed => {
            pushed.live.store(true, Ordering::SeqCst);
            tracing::info!("chain-sync: subscribed to the program's accounts");
        }
        ProgramEvent::Account { address, slot, data } => pushed.push(address, slot, data),
    });
    let idle = async {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            if follower.idle_for() > IDLE_SUBSCRIPTION {
                return;
            }
        }
    };
    let why = tokio::select! {
        ended = watched => match ended {
            Ok(()) => "the websocket closed".to_string(),
            Err(e) => e.to_string(),
        },
        () = idle => "no run drained it (the lease is held elsewhere)".to_string(),
    };
    follower.live.store(false, Ordering::SeqCst);
    tracing::warn!(reason = %why, "chain-sync: the subscription ended; runs read the program's accounts in full");
}

fn status_name(s: MarketStatus) -> &'static str {
    match s {
        MarketStatus::Open => "open",
        MarketStatus::Locked => "locked",
        MarketStatus::Resolved => "resolved",
        MarketStatus::Voided => "voided",
    }
}

/// The row chain-sync writes for a market account read at `slot`.
pub fn chain_market(address: String, m: &Market, slot: i64) -> ChainMarket {
    ChainMarket {
        address,
        status: status_name(m.status).to_string(),
        totals: m.totals[..usize::from(m.outcome_count).min(m.totals.len())].to_vec(),
        winning_outcome: m.winning_outcome.map(i64::from),
        commitment: m.commitment.map(hex::encode),
        oracle: m.oracle.to_string(),
        slot,
    }
}

/// The row chain-sync writes for the position account `key` of the market `market_id`.
fn chain_position(key: &Pubkey, p: &Position, market_id: &str, slot: i64) -> Result<ChainPosition, String> {
    Ok(ChainPosition {
        market: market_id.to_string(),
        wallet: p.owner.to_string(),
        outcome: i64::from(p.outcome),
        amount: i64::try_from(p.amount).map_err(|_| format!("position {key}: amount out of range"))?,
        claimed: p.claimed,
        address: key.to_string(),
        slot,
    })
}

impl ChainSync {
    pub fn new(access: Arc<FlashAccess>, period: Duration) -> ChainSync {
        ChainSync::with_full_read_every(access, period, FULL_READ_EVERY)
    }

    /// As [`ChainSync::new`], with full reads `full_read_every` apart while subscribed.
    pub fn with_full_read_every(access: Arc<FlashAccess>, period: Duration, full_read_every: Duration) -> ChainSync {
        ChainSync {
            access,
            period,
            full_read_every,
            following: Mutex::new(None),
            last_full_read: Mutex::new(None),
            full_reads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How many runs have read the program's accounts in full.
    pub fn full_reads(&self) -> u64 {
        self.full_reads.load(Ordering::SeqCst)
    }

    /// Whether the program's accounts are being pushed now.
    pub fn subscribed(&self) -> bool {
        self.following.lock().ok().and_then(|f| f.as_ref().map(|f| f.follower.live.load(Ordering::SeqCst)))
            == Some(true)
    }

    /// The subscription's buffer, opening the subscription when there is none (or it ended);
    /// `None` without a websocket endpoint.
    fn follower(&self, chain: &FlashChain) -> Option<Arc<Follower>> {
        let url = chain.subscriptions()?.url().to_string();
        let mut following = self.following.lock().ok()?;
        if let Some(f) = following.as_ref()
            && f.url == url
            && !f.task.is_finished()
        {
            return Some(f.follower.clone());
        }
        let follower = Arc::new(Follower::new());
        let task = tokio::spawn(follow(url.clone(), chain.program_id(), follower.clone()));
        *following = Some(Following { url, follower: follower.clone(), task });
        Some(follower)
    }

    async fn sync(&self, ctx: &JobContext) -> Result<(), String> {
        let chain = self.access.chain()?;
        let follower = self.follower(&chain);
        let live = follower.as_ref().is_some_and(|f| f.live.load(Ordering::SeqCst));
        metrics::gauge!("kairos_chain_sync_subscription_live").set(if live { 1.0 } else { 0.0 });
        let last = self.last_full_read.lock().map_err(|_| "poisoned".to_string())?.to_owned();
        let due = last.is_none_or(|at| at.elapsed() >= self.full_read_every);
        if live
            && !due
            && let Some(follower) = &follower
        {
            return self.apply_pushed(ctx, follower.drain()).await;
        }
        // The full read covers everything pushed before it; what arrives during it is newer.
        if let Some(follower) = &follower {
            follower.drain();
        }
        self.full_read(ctx, &chain).await?;
        if let Ok(mut at) = self.last_full_read.lock() {
            *at = Some(Instant::now());
        }
        Ok(())
    }

    /// Applies the accounts the subscription pushed, each at its notification's slot.
    async fn apply_pushed(&self, ctx: &JobContext, pushed: BTreeMap<Pubkey, (u64, Vec<u8>)>) -> Result<(), String> {
        if pushed.is_empty() {
            return Ok(());
        }
        let mut markets = Vec::new();
        let mut positions = Vec::new();
        for (address, (slot, data)) in pushed {
            let slot = i64::try_from(slot).unwrap_or(i64::MAX);
            if data.len() == Market::LEN && data.starts_with(&Market::DISCRIMINATOR) {
                match Market::read(&data) {
                    Ok(m) => markets.push(chain_market(address.to_string(), &m, slot)),
                    Err(e) => tracing::error!(account = %address, error = %e, "a market account does not parse"),
                }
            } else if data.len() == Position::LEN && data.starts_with(&Position::DISCRIMINATOR) {
                match Position::read(&data) {
                    Ok(p) => positions.push((address, p, slot)),
                    Err(e) => tracing::error!(account = %address, error = %e, "a position account does not parse"),
                }
            }
        }
        let by_address: HashMap<String, String> = if positions.is_empty() {
            HashMap::new()
        } else {
            flash_markets::with_status(&ctx.db, &["open", "locked", "resolved", "voided"], i64::MAX)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|m| (m.address, m.id))
                .collect()
        };
        let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
        for row in &markets {
            flash_markets::sync_market_in(&mut tx, row).await.map_err(|e| e.to_string())?;
        }
        for (key, p, slot) in &positions {
            let Some(market) = by_address.get(&p.market.to_string()) else { continue };
            flash_markets::sync_position_in(&mut tx, &chain_position(key, p, market, *slot)?)
                .await
                .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        metrics::counter!("kairos_chain_sync_pushed_accounts_total")
            .increment((markets.len() + positions.len()) as u64);
        tracing::debug!(markets = markets.len(), positions = positions.len(), "chain-sync applied pushed accounts");
        Ok(())
    }

    async fn full_read(&self, ctx: &JobContext, chain: &FlashChain) -> Result<(), String> {
        metrics::counter!("kairos_chain_sync_full_reads_total").increment(1);
        self.full_reads.fetch_add(1, Ordering::SeqCst);
        let (slot, markets) = chain.markets().await.map_err(|e| e.to_string())?;
        let (position_slot, positions) = chain.positions().await.map_err(|e| e.to_string())?;
        let slot = i64::try_from(slot).unwrap_or(i64::MAX);
        let position_slot = i64::try_from(position_slot).unwrap_or(i64::MAX);
        let known = flash_markets::with_status(&ctx.db, &["open", "locked", "resolved", "voided"], i64::MAX)
            .await
            .map_err(|e| e.to_string())?;
        let by_address: HashMap<&str, &str> = known.iter().map(|m| (m.address.as_str(), m.id.as_str())).collect();
        let on_chain: HashSet<String> = markets.iter().map(|(key, _)| key.to_string()).collect();
        let missing: Vec<&str> = known
            .iter()
            // A row recorded at a newer slot than this read may not be finalized yet.
            .filter(|m| (m.status == "open" || m.status == "locked") && m.slot <= slot)
            .filter(|m| !on_chain.contains(&m.address))
            .map(|m| m.id.as_str())
            .collect();
        metrics::gauge!("kairos_chain_sync_missing_accounts").set(missing.len() as f64);
        if !missing.is_empty() {
            tracing::error!(markets = ?missing, "ALERT: flash markets the database holds live have no account on chain");
        }
        let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
        let mut applied = 0usize;
        for (key, m) in &markets {
            let row = chain_market(key.to_string(), m, slot);
            if flash_markets::sync_market_in(&mut tx, &row).await.map_err(|e| e.to_string())? {
                applied += 1;
            }
        }
        for (key, p) in &positions {
            let Some(market) = by_address.get(p.market.to_string().as_str()) else { continue };
            let row = chain_position(key, p, market, position_slot)?;
            flash_markets::sync_position_in(&mut tx, &row).await.map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        metrics::gauge!("kairos_chain_sync_slot").set(slot as f64);
        tracing::debug!(slot, markets = markets.len(), applied, positions = positions.len(), "chain-sync applied");
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("markets without an account on chain: {}", missing.join(", ")))
        }
    }
}

impl Job for ChainSync {
    fn name(&self) -> &'static str {
        NAME
    }

    fn period(&self) -> Duration {
        self.period
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(60)
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(self.sync(ctx))
    }
}
