//! What every handler can reach.

use std::sync::Arc;

use kairos_platform::cache::Redis;
use kairos_platform::config::ApiSettings;
use kairos_platform::storage::Db;

use crate::access::failed_signatures::FailedSignatures;
use crate::access::jwt::Keys;
use crate::access::key_secrets::MasterKey;
use crate::access::rate_limit::RateLimiterSet;
use crate::access::signed_request::LocalReplayGuard;
use crate::access::{KeyCache, UserCache};
use crate::readiness::Readiness;
use crate::runtime_settings::RuntimeSettings;
use crate::trading::market_catalog::MarketCatalog;
use kairos_matching::exchange::Limits;
use kairos_matching::settlement::Fees;
use kairos_venues::Venues;
use kairos_venues::paper::sequencer::PaperVenue;
use kairos_venues::polymarket::PolymarketVenue;

#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: ApiSettings,
    db: Db,
    redis: Option<Redis>,
    readiness: Readiness,
    catalog: MarketCatalog,
    runtime: RuntimeSettings,
    jwt: Keys,
    master_key: MasterKey,
    limiter: RateLimiterSet,
    replay: LocalReplayGuard,
    key_cache: KeyCache,
    failed_signatures: FailedSignatures,
    ws_connections: Arc<crate::http::streams::limits::Connections>,
    /// User ids whose credentials just changed (a key revoked, a role changed): open streams
    /// check theirs again at once.
    credential_changes: tokio::sync::broadcast::Sender<String>,
    user_cache: UserCache,
    venues: Venues,
    /// The chain flash markets live on; `None` when no RPC URL is configured.
    flash_chain: Option<kairos_flash::FlashChain>,
    flash_program_id: kairos_flash::Pubkey,
}

/// Why an instance's state cannot be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error(transparent)]
    MasterKey(#[from] crate::access::key_secrets::KeySecretError),
    #[error(transparent)]
    Polymarket(#[from] kairos_venues::polymarket::live::SetupError),
}

impl AppState {
    /// Fails when a secret the API needs is missing or malformed (the config loader refuses
    /// those outside dev/test; this guards library callers too).
    pub fn new(settings: ApiSettings, db: Db, redis: Option<Redis>) -> Result<Self, StateError> {
        let jwt_secret = settings.jwt_secret.as_ref().ok_or(StateError::Missing("KAIROS_JWT_SECRET"))?;
        let jwt = Keys::new(jwt_secret, settings.jwt_secret_previous.as_ref());
        let master_key = MasterKey::from_config(
            settings.master_key.as_ref().ok_or(StateError::Missing("KAIROS_MASTER_KEY"))?,
            settings.master_key_previous.as_ref(),
        )
        .map_err(StateError::MasterKey)?;
        let limiter = RateLimiterSet::new(settings.rate_limits, redis.clone());
        let t = settings.trading;
        let limits = Limits {
            max_open_orders: t.max_open_orders,
            price_band: kairos_domain::Price::from_micros(t.price_band_micros),
            max_market_exposure: kairos_domain::Collateral::from_micros(t.max_market_exposure_micros),
        };
        let paper = PaperVenue::new(Fees { maker_bps: t.maker_fee_bps, taker_bps: t.taker_fee_bps }, limits);
        let polymarket = PolymarketVenue::new(settings.polymarket.as_ref(), limits, db.clone(), paper.publisher())?;
        let readiness = Readiness::new(settings.core.storage_mode, db.clone(), redis.clone(), polymarket.heartbeat());
        let venues = Venues {
            paper,
            polymarket,
            forwarder: kairos_venues::forwarding::Forwarder::new(jwt_secret.expose().as_bytes()),
        };
        // The config loader checked the address; a library caller's bad one is refused here.
        let flash_program_id: kairos_flash::Pubkey =
            settings.core.flash.program_id.parse().map_err(|_| StateError::Missing("KAIROS_FLASH__PROGRAM_ID"))?;
        let flash_chain = settings.core.solana.rpc_url.as_deref().map(|url| {
            kairos_flash::FlashChain::new(url, flash_program_id, settings.core.flash.max_priority_fee_micro_lamports)
        });
        Ok(AppState {
            inner: Arc::new(Inner {
                flash_chain,
                flash_program_id,
                settings,
                db,
                redis,
                readiness,
                catalog: MarketCatalog::default(),
                runtime: RuntimeSettings::default(),
                jwt,
                master_key,
                limiter,
                replay: LocalReplayGuard::default(),
                key_cache: KeyCache::default(),
                failed_signatures: FailedSignatures::default(),
                ws_connections: Arc::default(),
                credential_changes: tokio::sync::broadcast::channel(256).0,
                user_cache: UserCache::default(),
                venues,
            }),
        })
    }

    pub fn flash_chain(&self) -> Option<&kairos_flash::FlashChain> {
        self.inner.flash_chain.as_ref()
    }

    pub fn flash_program_id(&self) -> kairos_flash::Pubkey {
        self.inner.flash_program_id
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.inner.settings
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn redis(&self) -> Option<&Redis> {
        self.inner.redis.as_ref()
    }

    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    pub fn catalog(&self) -> &MarketCatalog {
        &self.inner.catalog
    }

    pub fn runtime(&self) -> &RuntimeSettings {
        &self.inner.runtime
    }

    pub fn jwt(&self) -> &Keys {
        &self.inner.jwt
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.inner.master_key
    }

    pub fn limiter(&self) -> &RateLimiterSet {
        &self.inner.limiter
    }

    pub fn ws_connections(&self) -> &Arc<crate::http::streams::limits::Connections> {
        &self.inner.ws_connections
    }

    /// Says that `user_id`'s credentials changed, so open streams check theirs again now.
    pub fn credentials_changed(&self, user_id: &str) {
        let _ = self.inner.credential_changes.send(user_id.to_string());
    }

    pub fn credential_changes(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.inner.credential_changes.subscribe()
    }

    /// Failed signatures per key and minute, for the audit log.
    pub fn failed_signatures(&self) -> &FailedSignatures {
        &self.inner.failed_signatures
    }

    pub fn key_cache(&self) -> &KeyCache {
        &self.inner.key_cache
    }

    pub fn user_cache(&self) -> &UserCache {
        &self.inner.user_cache
    }

    pub fn venues(&self) -> &Venues {
        &self.inner.venues
    }

    /// This instance's memory of signatures seen (the Redis guard's fallback and second check).
    pub fn local_replay_guard(&self) -> &LocalReplayGuard {
        &self.inner.replay
    }
}
