//! The dev profile's chain: with no `KAIROS_SOLANA__RPC_URL`, `kairos-api` starts the local
//! chain beside itself (as it opens the embedded SQLite), initializes the flash-bets program
//! with the dev oracle's key and the dev proving key's verifying key (a single-party key made
//! on first start under the data directory, for the keepers' `flash-oracle` to prove with),
//! and points its own settings at it, so the API's chain code is
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
/// SOL the dev oracle gets at each start (100 SOL: thousands of markets' fees and rent).
const DEV_ORACLE_LAMPORTS: u64 = 100_000_000_000;

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
    let vk = dev_verifying_key(core).await?;
    let genesis = FlashGenesis {
        oracles: vec![oracle.pubkey()],
        fee_bps: DEV_FEE_BPS,
        keys: vec![(core.flash.circuit_id, core.flash.ticks, vk)],
    };
    chain.initialize_flash(genesis).await.map_err(|e| format!("initializing flash-bets on the local chain: {e}"))?;
    // The oracle pays for the keepers' creates, locks, resolves and voids.
    kairos_flash::FlashChain::new(chain.url(), kairos_flash_bets::ID, 0)
        .fund(&oracle.pubkey(), DEV_ORACLE_LAMPORTS, 0)
        .await
        .map_err(|e| format!("funding the dev oracle on the local chain: {e}"))?;
    write_chain_file(&core.data_dir, chain.url(), chain.ws_url())?;
    tracing::info!(url = chain.url(), oracle = %oracle.pubkey(), "dev: the local chain (LiteSVM, not a validator) serves Solana JSON-RPC");
    settings.core.solana.rpc_url = Some(chain.url().to_string());
    settings.core.solana.ws_url = Some(chain.ws_url().to_string());
    Ok(Some(chain))
}

/// The dev proving key's verifying key: the key directory's, or a new single-party key made
/// there (a few seconds, once). A dev key proves only that the pipeline works: anyone holding
/// the directory can forge proofs, so no other profile makes one.
async fn dev_verifying_key(
    core: &kairos_platform::config::CoreSettings,
) -> Result<kairos_flash_bets::verifier::VerifyingKey, String> {
    use kairos_flash_circuit::keys::Keys;
    let dir = core.flash.proving_key_dir.clone().ok_or("dev has a proving key directory by default")?;
    let ticks = usize::from(core.flash.ticks);
    let keys = tokio::task::spawn_blocking(move || -> Result<Keys, String> {
        if dir.join("ceremony.json").exists() {
            let keys = Keys::load(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            if keys.ticks != ticks {
                return Err(format!(
                    "{} holds a key for {} ticks but KAIROS_FLASH__TICKS is {ticks}: delete the directory to make a new dev key",
                    dir.display(),
                    keys.ticks
                ));
            }
            return Ok(keys);
        }
        tracing::info!(dir = %dir.display(), ticks, "dev: making a single-party flash proving key (never for production)");
        let mut keys = Keys::setup(ticks, &mut rand_core::OsRng).map_err(|e| e.to_string())?;
        keys.save(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(keys)
    })
    .await
    .map_err(|e| e.to_string())??;
    keys.solana_vk().map_err(|e| e.to_string())
}

fn write_chain_file(data_dir: &Path, url: &str, ws_url: &str) -> Result<(), String> {
    let path = data_dir.join(LOCAL_CHAIN_FILE);
    std::fs::create_dir_all(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    let text = serde_json::json!({ "rpc_url": url, "ws_url": ws_url, "program_id": kairos_flash_bets::ID.to_string() })
        .to_string();
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_program_id_is_the_program_s_own() {
        assert_eq!(kairos_platform::config::DEFAULT_PROGRAM_ID, kairos_flash_bets::ID.to_string());
    }
}
