//! Placing an order end to end: the price of a market order from the live book, then build
//! for the token's order version (3 for a Protocol V2 position, else the server's) and tick,
//! sign, and post with reconciliation by hash. An `order_version_mismatch` makes the client read the version again and rebuild
//! once, as the official clients do.

use super::client::ClobClient;
use super::{ClobError, Submitted};
use crate::build::{self, Account, BuildError, Built, OrderArgs};
use crate::http::envelope::OrderType;
use crate::rounding::{AmountSide, micros};

#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Clob(#[from] ClobError),
    #[error("the book cannot fill {amount} ({side:?}): {reason}")]
    NoMarketPrice { side: AmountSide, amount: String, reason: String },
}

impl ClobClient {
    /// The worst price a market order of `amount` needs (collateral for a BUY, shares for a
    /// SELL), walking the live book from the best level. When the book runs out, a FOK order
    /// has no price; a FAK order takes the worst level.
    pub async fn market_price(
        &self,
        token_id: &str,
        side: AmountSide,
        amount: &str,
        order_type: OrderType,
    ) -> Result<String, PlaceError> {
        let book = self.book(token_id).await?;
        let no_price =
            |reason: &str| PlaceError::NoMarketPrice { side, amount: amount.to_string(), reason: reason.into() };
        let target = micros(amount)
            .map(i128::from)
            .filter(|a| *a > 0)
            .ok_or_else(|| no_price("the amount is not a positive decimal"))?;
        let mut levels: Vec<(i128, i128, &str)> = match side {
            AmountSide::Buy => &book.asks,
            AmountSide::Sell => &book.bids,
        }
        .iter()
        .filter_map(|l| Some((i128::from(micros(&l.price)?), i128::from(micros(&l.size)?), l.price.as_str())))
        .collect();
        // Best first: lowest ask, highest bid (whatever order the server listed them in).
        match side {
            AmountSide::Buy => levels.sort_by_key(|l| l.0),
            AmountSide::Sell => levels.sort_by_key(|l| std::cmp::Reverse(l.0)),
        }
        let mut filled: i128 = 0;
        for (price, size, text) in &levels {
            filled += match side {
                AmountSide::Buy => price * size / 1_000_000,
                AmountSide::Sell => *size,
            };
            if filled >= target {
                return Ok((*text).to_string());
            }
        }
        match (order_type, levels.last()) {
            (OrderType::Fak, Some((_, _, worst))) => Ok((*worst).to_string()),
            (_, None) => Err(no_price("the book is empty on that side")),
            _ => Err(no_price("not enough liquidity for a fill-or-kill order")),
        }
    }

    /// Builds, signs and posts one order; returns what was built (its hash is the order id)
    /// and how the server took it, amounts rounded in the client's mode
    /// ([`ClobClient::with_rounding`]). An empty `args.tick` is filled from the tick-size cache.
    pub async fn place(&self, account: &Account, args: &OrderArgs) -> Result<(Built, Submitted), PlaceError> {
        let mut args = args.clone();
        if args.tick.is_empty() {
            args.tick = self.tick_size(&args.token_id.to_string()).await?;
        }
        let mut retried = false;
        loop {
            // A Protocol V2 position always signs for ExchangeV3; a CTF token for the server's version.
            let version = if crate::positions::is_position_id(args.token_id) {
                crate::orders::Version::V3
            } else {
                self.order_version().await?
            };
            let now_ms = self.now_s().saturating_mul(1_000);
            let built = build::build(account, &args, version, self.rounding, build::fresh_salt(), now_ms)?;
            match self.post_order_reconciled(&built.body, &built.order_hash).await {
                Ok(submitted) => return Ok((built, submitted)),
                Err(e) if e.is_version_mismatch() && !retried => {
                    retried = true;
                    self.forget_version();
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
