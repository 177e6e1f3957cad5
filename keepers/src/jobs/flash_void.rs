//! `flash-void`: after a market's deadline, sends `VoidMarket` for any market still open or
//! locked, so every stake becomes claimable back. Anyone may void; the oracle's key pays. The
//! market's account is read before anything is sent, so a market that was resolved or voided
//! meanwhile (by this keeper, another, or anyone) is recorded, not voided twice.

use std::sync::Arc;
use std::time::Duration;

use kairos_domain::now_us;
use kairos_flash::sender::{SendPolicy, send};
use kairos_flash_bets::instruction::void_market;
use kairos_flash_bets::state::MarketStatus;
use kairos_platform::storage::flash_markets::{self, FlashMarketRow};

use super::fenced;
use super::{Job, JobContext, RunFuture, each_at_once};
use crate::flash::{FlashAccess, market_id};

const NAME: &str = "flash-void";
const VOID_COMPUTE_UNITS: u32 = 20_000;
/// The chain's clock must be past the deadline too: a second of margin.
const MARGIN_US: i64 = 1_000_000;
const BATCH: i64 = 200;
/// Voids in flight at once (markets often pass their deadline together).
const CONCURRENT: usize = 32;

#[derive(Debug)]
pub struct FlashVoid {
    access: Arc<FlashAccess>,
    period: Duration,
}

impl FlashVoid {
    pub fn new(access: Arc<FlashAccess>, period: Duration) -> FlashVoid {
        FlashVoid { access, period }
    }

    async fn void(&self, ctx: &JobContext, m: &FlashMarketRow) -> Result<(), String> {
        let chain = self.access.chain()?;
        let oracle = self.access.oracle()?;
        let id = market_id(&m.market_id)?;
        let status = |id| {
            let chain = chain.clone();
            async move { chain.market(&id).await.map(|m| m.map(|m| m.status)) }
        };
        match status(id).await.map_err(|e| e.to_string())? {
            None => return Err(format!("market {}: its account is not on chain", m.id)),
            // Resolved in time after all: chain-sync records it.
            Some(MarketStatus::Resolved) => return Ok(()),
            _ => {}
        }
        let voided = || async { Ok(status(id).await? == Some(MarketStatus::Voided)) };
        let ix = void_market(&chain.program_id(), &id);
        let outcome = send(&chain, &oracle, &[], &[ix], VOID_COMPUTE_UNITS, SendPolicy::DEFAULT, voided)
            .await
            .map_err(|e| format!("market {}: {e}", m.id))?;
        let (signature, slot) = outcome.record();
        let Some(mut tx) = fenced(&ctx.db, NAME, ctx).await? else { return Err("lease lost".into()) };
        flash_markets::record_voided_in(&mut tx, &m.id, signature, slot).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        tracing::info!(market = %m.id, ?signature, "flash market voided after its deadline");
        Ok(())
    }
}

impl Job for FlashVoid {
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
            let now = now_us();
            let live =
                flash_markets::with_status(&ctx.db, &["open", "locked"], BATCH).await.map_err(|e| e.to_string())?;
            let past = live.iter().filter(|m| m.deadline_at_us + MARGIN_US < now);
            each_at_once(past.map(|m| self.void(ctx, m)).collect(), CONCURRENT).await
        })
    }
}
