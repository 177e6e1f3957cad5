//! `flash-create`: puts pending flash markets on chain, signed (and paid) by the oracle.
//! Idempotent: the market's id is fixed when the operator opens it, and the sender reads the
//! market's account before anything is sent (again), so a lost answer or another keeper never
//! leads to a second create. A market whose betting closed before it could be created ends
//! `voided` without a transaction (the program refuses a lock time in the past).

use std::sync::Arc;
use std::time::Duration;

use kairos_domain::now_us;
use kairos_flash::sender::{SendPolicy, send};
use kairos_flash::terms::stored_rule;
use kairos_flash_bets::instruction::{MarketTerms, create_market};
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};
use solana_signer::Signer as _;

use super::fenced;
use super::{Job, JobContext, RunFuture, each_at_once};
use crate::flash::{FlashAccess, market_id};

const NAME: &str = "flash-create";
/// Units a create asks for: two account creations (market and vault, system CPIs), the vault's
/// token initialization and the checks.
const CREATE_COMPUTE_UNITS: u32 = 80_000;
/// A market is created only while at least this much betting time is left.
const MIN_BETTING_LEFT_US: i64 = 2_000_000;
/// Markets handled per run.
const BATCH: i64 = 200;
/// Creates in flight at once: each waits a few polls for its confirmation, so markets opened
/// together (a hundred in one second) are all on chain well before their betting closes.
const CONCURRENT: usize = 32;

#[derive(Debug)]
pub struct FlashCreate {
    access: Arc<FlashAccess>,
    period: Duration,
}

impl FlashCreate {
    pub fn new(access: Arc<FlashAccess>, period: Duration) -> FlashCreate {
        FlashCreate { access, period }
    }

    async fn create(&self, ctx: &JobContext, m: &FlashMarketRow) -> Result<(), String> {
        let chain = self.access.chain()?;
        let oracle = self.access.oracle()?;
        let id = market_id(&m.market_id)?;
        if m.lock_at_us - now_us() < MIN_BETTING_LEFT_US {
            // Betting closed (or nearly) while it waited: nothing can be created any more,
            // unless an earlier run did create it and lost the answer. (The chain is read
            // before the transaction: no database lock is held across a call to the chain.)
            let created = chain.market(&id).await.map_err(|e| e.to_string())?.is_some();
            let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
            if created {
                let oracle = oracle.pubkey().to_string();
                flash_markets::record_created_in(&mut tx, &m.id, &oracle, None, 0).await.map_err(|e| e.to_string())?;
            } else {
                tracing::warn!(market = %m.id, "betting closed before the market could be created: voided unopened");
                flash_markets::expire_pending_in(&mut tx, &m.id).await.map_err(|e| e.to_string())?;
            }
            return tx.commit().await.map_err(|e| e.to_string());
        }
        let rule = stored_rule(&m.rule_kind, &m.rule_params).ok_or_else(|| format!("market {}: bad rule", m.id))?;
        let terms = MarketTerms {
            market_id: id,
            circuit_id: u32::try_from(m.circuit_id).map_err(|_| format!("market {}: bad circuit id", m.id))?,
            rule,
            lock_at: m.lock_at_us / 1_000_000,
            resolve_by: m.deadline_at_us / 1_000_000,
        };
        let mint = chain.collateral().await.map_err(|e| e.to_string())?.mint;
        let ix = create_market(&chain.program_id(), &oracle.pubkey(), &mint, terms);
        let exists = || async { Ok(chain.market(&id).await?.is_some()) };
        let outcome = send(&chain, &oracle, &[], &[ix], CREATE_COMPUTE_UNITS, SendPolicy::DEFAULT, exists)
            .await
            .map_err(|e| format!("market {}: {e}", m.id))?;
        let (signature, slot) = outcome.record();
        let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
        flash_markets::record_created_in(&mut tx, &m.id, &oracle.pubkey().to_string(), signature, slot)
            .await
            .map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::info!(market = %m.id, address = %m.address, ?signature, "flash market created on chain");
        Ok(())
    }
}

impl Job for FlashCreate {
    fn name(&self) -> &'static str {
        NAME
    }

    fn period(&self) -> Duration {
        self.period
    }

    fn timeout(&self) -> Duration {
        SendPolicy::DEFAULT.give_up * 2
    }

    fn run<'a>(&'a self, ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(async move {
            let pending = flash_markets::with_status(&ctx.db, &["pending"], BATCH).await.map_err(|e| e.to_string())?;
            each_at_once(pending.iter().map(|m| self.create(ctx, m)).collect(), CONCURRENT).await
        })
    }
}
