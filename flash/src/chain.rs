//! The chain as the API and the keepers reach it: solana-client's nonblocking `RpcClient`
//! over JSON-RPC, the same code against a cluster and against the local chain. Reads that
//! lead to an action use `confirmed`.

use std::sync::OnceLock;

use kairos_flash_bets::state::{self, Config, Market};
use solana_commitment_config::CommitmentConfig;
use solana_program::hash::Hash;
use solana_program::pubkey::Pubkey;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::request::RpcRequest;

use crate::wallet_tx;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC endpoint did not answer, or answered with an error.
    #[error("solana rpc: {0}")]
    Rpc(String),
    /// The program's config account does not exist: nobody has initialized the program on
    /// this cluster.
    #[error("the flash-bets program has no config account on this chain (not initialized)")]
    NotInitialized,
    /// An account exists but does not hold what its address says.
    #[error("account {address} is not a flash-bets {what}")]
    WrongAccount { address: Pubkey, what: &'static str },
    /// Only the local chain answers this (e.g. the faucet).
    #[error("this chain does not offer {0} (only the local chain of dev and tests does)")]
    NotLocal(&'static str),
}

fn rpc(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(e.to_string())
}

/// What the config account fixes at initialization and transactions name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collateral {
    pub mint: Pubkey,
    pub fee_account: Pubkey,
}

pub struct FlashChain {
    rpc: RpcClient,
    url: String,
    program_id: Pubkey,
    max_priority_fee: u64,
    /// The mint and fee account never change once the config exists, so they are read once.
    collateral: OnceLock<Collateral>,
    /// The websocket endpoint's subscriptions, when one is configured.
    subscriptions: Option<crate::subscriptions::Subscriptions>,
}

impl std::fmt::Debug for FlashChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlashChain").field("program_id", &self.program_id).finish_non_exhaustive()
    }
}

impl FlashChain {
    /// `max_priority_fee`: the cap on the compute-unit price bid, in micro-lamports.
    pub fn new(url: &str, program_id: Pubkey, max_priority_fee: u64) -> Self {
        Self {
            rpc: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()),
            url: url.to_string(),
            program_id,
            max_priority_fee,
            collateral: OnceLock::new(),
            subscriptions: None,
        }
    }

    /// Uses the websocket endpoint at `ws_url` for subscriptions where they save polling.
    pub fn with_subscriptions(mut self, ws_url: Option<&str>) -> Self {
        self.subscriptions = ws_url.map(crate::subscriptions::Subscriptions::new);
        self
    }

    /// The websocket subscriptions; `None` when only polling is configured.
    pub fn subscriptions(&self) -> Option<&crate::subscriptions::Subscriptions> {
        self.subscriptions.as_ref()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn program_id(&self) -> Pubkey {
        self.program_id
    }

    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The program's config as the chain holds it now.
    pub async fn config(&self) -> Result<Config, ChainError> {
        let address = state::config_address(&self.program_id).0;
        let account = self.rpc.get_account_with_commitment(&address, self.rpc.commitment()).await.map_err(rpc)?.value;
        let account = account.ok_or(ChainError::NotInitialized)?;
        if account.owner != self.program_id {
            return Err(ChainError::WrongAccount { address, what: "config" });
        }
        Config::read(&account.data).map_err(|_| ChainError::WrongAccount { address, what: "config" })
    }

    /// The collateral mint and fee account, read from the config once.
    pub async fn collateral(&self) -> Result<Collateral, ChainError> {
        if let Some(c) = self.collateral.get() {
            return Ok(*c);
        }
        let config = self.config().await?;
        Ok(*self.collateral.get_or_init(|| Collateral { mint: config.mint, fee_account: config.fee_account }))
    }

    /// A market's account; `None` when it does not exist (yet).
    pub async fn market(&self, market_id: &[u8; 32]) -> Result<Option<Market>, ChainError> {
        let address = state::market_address(&self.program_id, market_id).0;
        let account = self.rpc.get_account_with_commitment(&address, self.rpc.commitment()).await.map_err(rpc)?.value;
        let Some(account) = account else { return Ok(None) };
        if account.owner != self.program_id {
            return Err(ChainError::WrongAccount { address, what: "market" });
        }
        Market::read(&account.data).map(Some).map_err(|_| ChainError::WrongAccount { address, what: "market" })
    }

    /// The chain's own clock (the Clock sysvar's `unix_timestamp`, at `confirmed`): what the
    /// program compares a market's times with, which may lag the wall clock by seconds.
    pub async fn unix_time(&self) -> Result<i64, ChainError> {
        let clock = solana_program::sysvar::clock::ID;
        let account = self.rpc.get_account_with_commitment(&clock, self.rpc.commitment()).await.map_err(rpc)?.value;
        // Clock: slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp (LE).
        let bytes = account.as_ref().and_then(|a| a.data.get(32..40)).and_then(|b| <[u8; 8]>::try_from(b).ok());
        bytes.map(i64::from_le_bytes).ok_or_else(|| ChainError::Rpc("the clock sysvar is missing or short".into()))
    }

    /// Every account of the program of one kind (`len` bytes starting with `discriminator`),
    /// read at `finalized`, with the slot the read is at least as new as.
    async fn accounts_of(&self, len: usize, discriminator: &[u8]) -> Result<(u64, Vec<(Pubkey, Vec<u8>)>), ChainError> {
        use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
        let finalized = CommitmentConfig::finalized();
        let slot = self.rpc.get_slot_with_commitment(finalized).await.map_err(rpc)?;
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::DataSize(len as u64),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, discriminator)),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_rpc_client_api::response::UiAccountEncoding::Base64),
                commitment: Some(finalized),
                ..Default::default()
            },
            ..Default::default()
        };
        let accounts = self.rpc.get_program_ui_accounts_with_config(&self.program_id, config).await.map_err(rpc)?;
        let mut out = Vec::with_capacity(accounts.len());
        for (key, account) in accounts {
            let data =
                account.data.decode().ok_or_else(|| ChainError::Rpc(format!("account {key}: undecodable data")))?;
            out.push((key, data));
        }
        Ok((slot, out))
    }

    /// Every market account (finalized), with the slot of the read. Accounts that do not
    /// parse are left out and named in the log.
    pub async fn markets(&self) -> Result<(u64, Vec<(Pubkey, Market)>), ChainError> {
        let (slot, raw) = self.accounts_of(Market::LEN, &Market::DISCRIMINATOR).await?;
        let markets = raw
            .into_iter()
            .filter_map(|(key, data)| match Market::read(&data) {
                Ok(m) => Some((key, m)),
                Err(e) => {
                    tracing::error!(account = %key, error = %e, "a market account does not parse");
                    None
                }
            })
            .collect();
        Ok((slot, markets))
    }

    /// Every position account (finalized), with the slot of the read.
    pub async fn positions(&self) -> Result<(u64, Vec<(Pubkey, state::Position)>), ChainError> {
        let (slot, raw) = self.accounts_of(state::Position::LEN, &state::Position::DISCRIMINATOR).await?;
        let positions = raw
            .into_iter()
            .filter_map(|(key, data)| match state::Position::read(&data) {
                Ok(p) => Some((key, p)),
                Err(e) => {
                    tracing::error!(account = %key, error = %e, "a position account does not parse");
                    None
                }
            })
            .collect();
        Ok((slot, positions))
    }

    pub async fn blockhash(&self) -> Result<Hash, ChainError> {
        self.rpc.get_latest_blockhash().await.map_err(rpc)
    }

    /// The compute-unit price to bid for a transaction writing `accounts`: the median of what
    /// recent slots' transactions touching them paid, never above the cap.
    pub async fn priority_fee(&self, accounts: &[Pubkey]) -> Result<u64, ChainError> {
        let fees = self.rpc.get_recent_prioritization_fees(accounts).await.map_err(rpc)?;
        let mut paid: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
        paid.sort_unstable();
        Ok(paid.get(paid.len() / 2).copied().unwrap_or(0).min(self.max_priority_fee))
    }

    /// What a wallet's transaction on `market` is built with.
    pub async fn wallet_context(&self, market: &Pubkey) -> Result<wallet_tx::Context, ChainError> {
        let collateral = self.collateral().await?;
        let micro_lamports = self.priority_fee(&[*market]).await?;
        Ok(wallet_tx::Context {
            program_id: self.program_id,
            mint: collateral.mint,
            fee_account: collateral.fee_account,
            blockhash: self.blockhash().await?,
            micro_lamports,
        })
    }

    /// Dev and tests: gives `wallet` lamports for fees and `micros` of collateral in its
    /// associated token account. Only the local chain mints collateral
    /// (`kairos_requestCollateral`); a cluster refuses.
    pub async fn fund(&self, wallet: &Pubkey, lamports: u64, micros: u64) -> Result<(), ChainError> {
        let method = "kairos_requestCollateral";
        let params = serde_json::json!([wallet.to_string(), micros]);
        let minted: Result<serde_json::Value, _> = self.rpc.send(RpcRequest::Custom { method }, params).await;
        if let Err(e) = minted {
            return Err(match e.kind() {
                solana_rpc_client_api::client_error::ErrorKind::RpcError(
                    solana_rpc_client_api::request::RpcError::RpcResponseError { code: -32601, .. },
                ) => ChainError::NotLocal("a collateral faucet"),
                _ => rpc(e),
            });
        }
        let signature = self.rpc.request_airdrop(wallet, lamports).await.map_err(rpc)?;
        if !self.rpc.confirm_transaction(&signature).await.map_err(rpc)? {
            return Err(ChainError::Rpc(format!("the airdrop {signature} did not confirm")));
        }
        Ok(())
    }
}
