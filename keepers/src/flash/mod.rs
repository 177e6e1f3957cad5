//! What the keepers' chain jobs share: the chain (the configured RPC URL, or in dev and tests
//! the local chain `kairos-api` started, found at run time in `<data dir>/local-chain.json`),
//! the oracle's key, and a run's fenced transaction.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kairos_flash::FlashChain;
use kairos_platform::config::CoreSettings;
use solana_keypair::Keypair;

/// The file `kairos-api` writes in dev when it starts the local chain.
pub const LOCAL_CHAIN_FILE: &str = "local-chain.json";

/// Where a job finds the chain and the oracle's key.
#[derive(Debug)]
pub struct FlashAccess {
    rpc_url: Option<String>,
    ws_url: Option<String>,
    data_dir: PathBuf,
    local: bool,
    program_id: String,
    max_priority_fee: u64,
    oracle_file: Option<PathBuf>,
    /// The chain client for the URLs last used (the dev chain's port may change on restart).
    chain: Mutex<Option<(Endpoints, Arc<FlashChain>)>>,
    oracle: Mutex<Option<Arc<Keypair>>>,
}

impl FlashAccess {
    pub fn new(core: &CoreSettings) -> FlashAccess {
        FlashAccess {
            rpc_url: core.solana.rpc_url.clone(),
            ws_url: core.solana.ws_url.clone(),
            data_dir: core.data_dir.clone(),
            local: core.profile.is_local(),
            program_id: core.flash.program_id.clone(),
            max_priority_fee: core.flash.max_priority_fee_micro_lamports,
            oracle_file: core.flash.oracle_keypair_file.clone(),
            chain: Mutex::new(None),
            oracle: Mutex::new(None),
        }
    }

    /// The JSON-RPC URL and the websocket URL (`None`: poll only). A configured RPC URL
    /// goes with `KAIROS_SOLANA__WS_URL`; the dev chain's file names both.
    fn endpoints(&self) -> Result<Endpoints, String> {
        if let Some(url) = &self.rpc_url {
            return Ok(Endpoints { rpc: url.clone(), ws: self.ws_url.clone() });
        }
        if !self.local {
            return Err("KAIROS_SOLANA__RPC_URL is not set".to_string());
        }
        let path = self.data_dir.join(LOCAL_CHAIN_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("no chain yet: {} ({e}); start kairos-api in dev first", path.display()))?;
        let file: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let rpc = file["rpc_url"].as_str().ok_or_else(|| format!("{} has no rpc_url", path.display()))?;
        Ok(Endpoints { rpc: rpc.to_string(), ws: file["ws_url"].as_str().map(str::to_string) })
    }

    /// The chain client, for the URLs in force now.
    pub fn chain(&self) -> Result<Arc<FlashChain>, String> {
        let url = self.endpoints()?;
        let mut cached = self.chain.lock().map_err(|_| "the chain cache is poisoned".to_string())?;
        if let Some((known, chain)) = cached.as_ref()
            && *known == url
        {
            return Ok(chain.clone());
        }
        let program_id =
            self.program_id.parse().map_err(|_| "KAIROS_FLASH__PROGRAM_ID is not an address".to_string())?;
        if url.ws.is_none() {
            tracing::info!("no websocket URL (KAIROS_SOLANA__WS_URL): the chain jobs poll only");
        }
        let chain = Arc::new(
            FlashChain::new(&url.rpc, program_id, self.max_priority_fee).with_subscriptions(url.ws.as_deref()),
        );
        *cached = Some((url, chain.clone()));
        Ok(chain)
    }

    /// The oracle's key: read once (0600 enforced); in dev and tests made when missing, as
    /// `kairos-api` does, so whichever starts first makes it.
    pub fn oracle(&self) -> Result<Arc<Keypair>, String> {
        let mut cached = self.oracle.lock().map_err(|_| "the key cache is poisoned".to_string())?;
        if let Some(key) = cached.as_ref() {
            return Ok(key.clone());
        }
        let file = self.oracle_file.as_ref().ok_or("KAIROS_FLASH__ORACLE_KEYPAIR_FILE is not set")?;
        let key = if self.local {
            kairos_flash::oracle_key::load_or_create(file)
        } else {
            kairos_flash::oracle_key::load(file)
        }
        .map_err(|e| e.to_string())?;
        let key = Arc::new(key);
        *cached = Some(key.clone());
        Ok(key)
    }
}

/// Where the chain answers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoints {
    rpc: String,
    ws: Option<String>,
}

/// The on-chain id a row stores as hex.
pub fn market_id(hex_id: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(hex_id).map_err(|e| format!("market_id {hex_id:?}: {e}"))?;
    bytes.try_into().map_err(|_| format!("market_id {hex_id:?} is not 32 bytes"))
}
