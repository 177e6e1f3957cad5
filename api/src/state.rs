//! What every handler can reach.

use std::sync::Arc;

use kairos_platform::cache::Redis;
use kairos_platform::config::Settings;
use kairos_platform::storage::Db;

use crate::market_catalog::MarketCatalog;
use crate::readiness::Readiness;
use crate::runtime_settings::RuntimeSettings;

#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    db: Db,
    redis: Option<Redis>,
    readiness: Readiness,
    catalog: MarketCatalog,
    runtime: RuntimeSettings,
    /// The OpenAPI document, rendered once (it is what `openapi/v1.json` holds).
    openapi_json: String,
}

impl AppState {
    pub fn new(settings: Settings, db: Db, redis: Option<Redis>) -> Self {
        let readiness = Readiness::new(settings.storage_mode, db.clone(), redis.clone());
        AppState {
            inner: Arc::new(Inner {
                settings,
                db,
                redis,
                readiness,
                catalog: MarketCatalog::default(),
                runtime: RuntimeSettings::default(),
                openapi_json: crate::openapi::spec_json(),
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
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

    pub fn openapi_json(&self) -> &str {
        &self.inner.openapi_json
    }
}
