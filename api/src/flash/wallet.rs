//! What wallets ask of the API: unsigned bet and claim transactions for them to sign and send
//! themselves (the API never holds a user's key), and in dev and tests the faucet.

use kairos_domain::{ErrorCode, now_us, parse_micros};
use kairos_flash::{ChainError, FlashChain, Pubkey, wallet_tx};
use kairos_platform::config::Profile;
use kairos_platform::storage::flash_markets::FlashMarketRow;

use crate::http::error::ApiError;
use crate::state::AppState;

/// The most the faucet gives at once: 10,000 units of collateral.
pub const MAX_FAUCET_MICROS: i64 = 10_000_000_000;
/// What the faucet gives for fees with each request: one SOL.
pub const FAUCET_LAMPORTS: u64 = 1_000_000_000;

/// A wallet address: base58 of 32 bytes, else 400.
pub fn wallet(text: &str) -> Result<Pubkey, ApiError> {
    let bytes = bs58::decode(text.trim()).into_vec().ok().filter(|b| b.len() == 32);
    let bytes: [u8; 32] = bytes.and_then(|b| b.try_into().ok()).ok_or_else(|| {
        ApiError::bad_request(ErrorCode::InvalidWallet, "wallet must be a Solana address (base58 of 32 bytes)")
    })?;
    Ok(Pubkey::new_from_array(bytes))
}

/// A positive amount of collateral with at most six decimals, else 422.
pub fn amount(text: &str, max: i64) -> Result<u64, ApiError> {
    let refuse = |message: String| ApiError::Unprocessable { code: ErrorCode::InvalidAmount, message };
    let micros = parse_micros(text).map_err(|e| refuse(format!("amount: {e}")))?;
    if micros <= 0 {
        return Err(refuse("amount must be above zero".to_string()));
    }
    if micros > max {
        return Err(refuse(format!("amount must be at most {}", kairos_domain::format_micros(max))));
    }
    u64::try_from(micros).map_err(|_| refuse("amount out of range".to_string()))
}

fn outcome(market: &FlashMarketRow, outcome: u32) -> Result<u8, ApiError> {
    u8::try_from(outcome).ok().filter(|o| i64::from(*o) < market.outcome_count).ok_or_else(|| ApiError::Unprocessable {
        code: ErrorCode::InvalidOutcome,
        message: format!("outcome must be below {}", market.outcome_count),
    })
}

/// The chain, or 503 when this deployment has none.
pub fn chain(state: &AppState) -> Result<&FlashChain, ApiError> {
    state.flash_chain().ok_or_else(|| ApiError::Unavailable {
        code: ErrorCode::ChainUnavailable,
        message: "no Solana RPC is configured (KAIROS_SOLANA__RPC_URL)".to_string(),
    })
}

pub fn chain_error(e: ChainError) -> ApiError {
    match e {
        ChainError::NotLocal(_) => ApiError::forbidden(ErrorCode::FaucetDisabled, e.to_string()),
        ChainError::Rpc(_) | ChainError::NotInitialized | ChainError::WrongAccount { .. } => {
            ApiError::Unavailable { code: ErrorCode::ChainUnavailable, message: e.to_string() }
        }
    }
}

fn market_id(market: &FlashMarketRow) -> Result<[u8; 32], ApiError> {
    let bytes = hex::decode(&market.market_id).map_err(ApiError::internal)?;
    bytes.try_into().map_err(|_| ApiError::internal(anyhow::anyhow!("flash market {} has a bad market_id", market.id)))
}

fn address(market: &FlashMarketRow) -> Result<Pubkey, ApiError> {
    market
        .address
        .parse()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("flash market {} has a bad address", market.id)))
}

/// An unsigned bet of `amount` on `outcome`, while the market takes bets.
pub async fn bet(
    state: &AppState,
    market: &FlashMarketRow,
    wallet: &Pubkey,
    outcome_index: u32,
    amount_text: &str,
) -> Result<String, ApiError> {
    let outcome = outcome(market, outcome_index)?;
    let amount = amount(amount_text, i64::MAX)?;
    if market.status != "open" || now_us() >= market.lock_at_us {
        return Err(ApiError::conflict(
            ErrorCode::MarketNotOpen,
            format!("the market is {} and takes no bets (betting closes at lock_at)", market.status),
        ));
    }
    let chain = chain(state)?;
    let ctx = chain.wallet_context(&address(market)?).await.map_err(chain_error)?;
    Ok(wallet_tx::bet(&ctx, wallet, &market_id(market)?, outcome, amount))
}

/// An unsigned claim of the wallet's position on `outcome`, once the market is resolved or
/// voided.
pub async fn claim(
    state: &AppState,
    market: &FlashMarketRow,
    wallet: &Pubkey,
    outcome_index: u32,
) -> Result<String, ApiError> {
    let outcome = outcome(market, outcome_index)?;
    if market.status != "resolved" && market.status != "voided" {
        return Err(ApiError::conflict(
            ErrorCode::MarketNotOpen,
            format!("the market is {}; claims open once it is resolved or voided", market.status),
        ));
    }
    let chain = chain(state)?;
    let ctx = chain.wallet_context(&address(market)?).await.map_err(chain_error)?;
    Ok(wallet_tx::claim(&ctx, wallet, &market_id(market)?, outcome))
}

/// Dev and test only: SOL for fees and `amount` of collateral, from the local chain.
pub async fn faucet(state: &AppState, wallet: &Pubkey, amount_text: &str) -> Result<(), ApiError> {
    if !matches!(state.settings().core.profile, Profile::Dev | Profile::Test) {
        return Err(ApiError::forbidden(ErrorCode::FaucetDisabled, "the flash faucet exists only in dev and test"));
    }
    let micros = amount(amount_text, MAX_FAUCET_MICROS)?;
    chain(state)?.fund(wallet, FAUCET_LAMPORTS, micros).await.map_err(chain_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_and_amounts_are_checked_before_anything_is_built() {
        assert!(wallet("11111111111111111111111111111111").is_ok());
        for bad in ["", "0OIl", "abc", "1111111111111111111111111111111111111111111111111"] {
            let e = wallet(bad).expect_err(bad);
            assert_eq!((e.status().as_u16(), e.code()), (400, ErrorCode::InvalidWallet), "{bad}");
        }
        assert_eq!(amount("25.5", i64::MAX).expect("ok"), 25_500_000);
        for bad in ["0", "-1", "1.0000001", "1e3", "abc", "10000.000001"] {
            let e = amount(bad, MAX_FAUCET_MICROS).expect_err(bad);
            assert_eq!((e.status().as_u16(), e.code()), (422, ErrorCode::InvalidAmount), "{bad}");
        }
    }
}
