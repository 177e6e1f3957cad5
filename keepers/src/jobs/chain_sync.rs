//! `chain-sync`: follows the flash-bets program's accounts into the flash tables. Each run
//! reads every market and position account at `finalized` (filtered `getProgramAccounts`:
//! size and discriminator) and applies them in one fenced transaction; a row never moves back
//! to an older slot. A market the database expects on chain whose account is missing is an
//! alert (an error in the log and `kairos_chain_sync_missing_accounts`), never a crash.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use kairos_flash_bets::state::{Market, MarketStatus};
use kairos_platform::storage::flash_markets::{self, ChainMarket, ChainPosition};

use super::fenced;
use super::{Job, JobContext, RunFuture};
use crate::flash::FlashAccess;

const NAME: &str = "chain-sync";

#[derive(Debug)]
pub struct ChainSync {
    access: Arc<FlashAccess>,
    period: Duration,
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

impl ChainSync {
    pub fn new(access: Arc<FlashAccess>, period: Duration) -> ChainSync {
        ChainSync { access, period }
    }

    async fn sync(&self, ctx: &JobContext) -> Result<(), String> {
        let chain = self.access.chain()?;
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
            let row = ChainPosition {
                market: (*market).to_string(),
                wallet: p.owner.to_string(),
                outcome: i64::from(p.outcome),
                amount: i64::try_from(p.amount).map_err(|_| format!("position {key}: amount out of range"))?,
                claimed: p.claimed,
                address: key.to_string(),
                slot: position_slot,
            };
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
