//! The dev profile's chain: with no `KAIROS_SOLANA__RPC_URL`, `kairos-api` starts the local
//! chain beside itself (as it opens the embedded SQLite), initializes the flash-bets program
//! with the dev oracle's key, and points its own settings at it, so the API's chain code is
//! solana-client over HTTP exactly as in production. The URL is written to
//! `<data dir>/local-chain.json` for the keepers to find. Never in test, staging or prod.

use std::net::SocketAddr;
use std::path::Path;

use kairos_local_chain::{FlashGenesis, LocalChain};
use kairos_platform::config::{ApiSettings, Profile};
use solana_signer::Signer as _;

/// Where the local chain listens when it can: Solana's own localnet port, which wallets try.
pub const LOCAL_RPC_ADDR: &str = "127.0.0.1:8899";
/// The file that tells the keepers where the dev chain is.
pub const LOCAL_CHAIN_FILE: &str = "local-chain.json";
/// The fee the dev program takes from winnings, in basis points.
const DEV_FEE_BPS: u16 = 100;

/// Starts the local chain when the profile is dev and no RPC URL is set, and points
/// `settings` at it; `None` otherwise. The chain lives as long as the returned handle.
pub async fn start_if_dev(settings: &mut ApiSettings) -> Result<Option<LocalChain>, String> {
    let core = &settings.core;
    if core.profile != Profile::Dev || core.solana.rpc_url.is_some() {
        return Ok(None);
    }
    if core.flash.program_id != kairos_flash_bets::ID.to_string() {
        return Err(format!(
            "KAIROS_FLASH__PROGRAM_ID is {} but the local chain runs the program at {}; unset it or set KAIROS_SOLANA__RPC_URL",
            core.flash.program_id,
            kairos_flash_bets::ID
        ));
    }
    let key_file = core.flash.oracle_keypair_file.clone().ok_or("dev has an oracle keypair file by default")?;
    let oracle = kairos_flash::oracle_key::load_or_create(&key_file).map_err(|e| e.to_string())?;
    let preferred: SocketAddr = LOCAL_RPC_ADDR.parse().map_err(|e| format!("{LOCAL_RPC_ADDR}: {e}"))?;
    let chain = match LocalChain::start(preferred).await {
        Ok(chain) => chain,
        Err(e) => {
            tracing::warn!(error = %e, "the local chain takes another port: {LOCAL_RPC_ADDR} is busy");
            let any: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
            LocalChain::start(any).await.map_err(|e| e.to_string())?
        }
    };
    let genesis = FlashGenesis { oracles: vec![oracle.pubkey()], fee_bps: DEV_FEE_BPS, keys: Vec::new() };
    chain.initialize_flash(genesis).await.map_err(|e| format!("initializing flash-bets on the local chain: {e}"))?;
    write_chain_file(&core.data_dir, chain.url())?;
    tracing::info!(url = chain.url(), oracle = %oracle.pubkey(), "dev: the local chain (LiteSVM, not a validator) serves Solana JSON-RPC");
    settings.core.solana.rpc_url = Some(chain.url().to_string());
    Ok(Some(chain))
}

fn write_chain_file(data_dir: &Path, url: &str) -> Result<(), String> {
    let path = data_dir.join(LOCAL_CHAIN_FILE);
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let text = serde_json::json!({ "rpc_url": url, "program_id": kairos_flash_bets::ID.to_string() }).to_string();
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_program_id_is_the_program_s_own() {
        assert_eq!(kairos_platform::config::DEFAULT_PROGRAM_ID, kairos_flash_bets::ID.to_string());
    }
}
