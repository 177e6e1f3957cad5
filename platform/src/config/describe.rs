//! The effective settings as `VARIABLE = value (origin)` lines, secrets redacted: one line per
//! variable of the binary's table rows, so nothing the binary reads is left out.

use std::path::{Path, PathBuf};

use super::rate_limits::{PrincipalKind, RateClass, RateLimits};
use super::variables::{RATE_LIMIT_FAMILY, ReadBy, VARIABLES};
use super::{ApiSettings, CoreSettings, KeeperSettings, LogFormat, Origin, Secret, local_secrets, redact_url};

fn shown(secret: Option<&Secret>) -> String {
    if secret.is_some() { "[redacted]" } else { "(unset)" }.to_string()
}

fn or_unset(value: Option<&str>, unset: &str) -> String {
    value.map_or_else(|| unset.to_string(), str::to_string)
}

impl CoreSettings {
    /// The value of a core variable as `config check` shows it; `None` for any other name.
    pub fn value_of(&self, name: &str) -> Option<String> {
        Some(match name {
            "KAIROS_PROFILE" => self.profile.as_str().to_string(),
            "KAIROS_CONFIG" => "(applied before the environment)".to_string(),
            "KAIROS_DATABASE_URL" => redact_url(self.database_url.expose()),
            "KAIROS_DATABASE_MAX_CONNECTIONS" => self.database_max_connections.to_string(),
            "KAIROS_REDIS_URL" => self.redis_url.as_ref().map_or("(unset)".to_string(), |u| redact_url(u.expose())),
            "KAIROS_STORAGE_MODE" => self.storage_mode.as_str().to_string(),
            "KAIROS_METRICS_BIND" => self.metrics_bind.to_string(),
            "KAIROS_LOG" => self.log.clone(),
            "KAIROS_LOG_FORMAT" => match self.log_format {
                LogFormat::Json => "json".to_string(),
                LogFormat::Pretty => "pretty".to_string(),
            },
            "KAIROS_DATA_DIR" => self.data_dir.display().to_string(),
            "KAIROS_SHUTDOWN_GRACE_MS" => self.shutdown_grace.as_millis().to_string(),
            "KAIROS_TIME__NTP_SERVERS" => {
                if self.time.ntp_servers.is_empty() {
                    "(unset)".to_string()
                } else {
                    self.time.ntp_servers.join(",")
                }
            }
            "KAIROS_TIME__MAX_DRIFT_MS" => self.time.max_drift.as_millis().to_string(),
            "KAIROS_SOLANA__RPC_URL" => or_unset(self.solana.rpc_url.as_deref().map(redact_url).as_deref(), "(unset)"),
            "KAIROS_SOLANA__WS_URL" => or_unset(self.solana.ws_url.as_deref().map(redact_url).as_deref(), "(unset)"),
            "KAIROS_BACKUP__URL" => or_unset(self.backup.url.as_deref(), "(unset: no backups)"),
            "KAIROS_BACKUP__AGE_RECIPIENT" => or_unset(self.backup.age_recipient.as_deref(), "(unset)"),
            "KAIROS_BACKUP__AGE_IDENTITY_FILE" => {
                or_unset(self.backup.age_identity_file.as_ref().map(|f| f.display().to_string()).as_deref(), "(unset)")
            }
            "KAIROS_FLASH__PRICE_FEED" => match &self.flash.price_feed.source {
                None => "(unset: no price feed)".to_string(),
                Some(super::PriceSource::Simulated { .. }) => super::SIMULATED.to_string(),
                Some(super::PriceSource::Http { url, .. }) => redact_url(url),
            },
            "KAIROS_FLASH__PRICE_FEED_API_KEY" => shown(match &self.flash.price_feed.source {
                Some(super::PriceSource::Http { api_key, .. }) => api_key.as_ref(),
                _ => None,
            }),
            "KAIROS_FLASH__PRICE_FEED_VS_CURRENCY" => match &self.flash.price_feed.source {
                Some(super::PriceSource::Http { vs_currency, .. }) => vs_currency.clone(),
                _ => "(not used)".to_string(),
            },
            "KAIROS_FLASH__PRICE_FEED_SEED" => match &self.flash.price_feed.source {
                Some(super::PriceSource::Simulated { seed }) => seed.to_string(),
                _ => "(not used)".to_string(),
            },
            "KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE" => self.flash.price_feed.calls_per_minute.to_string(),
            "KAIROS_FLASH__PRICE_FEED_CACHE_S" => self.flash.price_feed.cache_ttl.as_secs().to_string(),
            "KAIROS_SOLANA__CLUSTER" => self.solana.cluster.clone(),
            "KAIROS_FLASH__PROGRAM_ID" => self.flash.program_id.clone(),
            "KAIROS_FLASH__CIRCUIT_ID" => self.flash.circuit_id.to_string(),
            "KAIROS_FLASH__TICKS" => self.flash.ticks.to_string(),
            "KAIROS_FLASH__RESOLVE_WINDOW_S" => self.flash.resolve_window.as_secs().to_string(),
            "KAIROS_FLASH__ORACLE_KEYPAIR_FILE" => {
                or_unset(self.flash.oracle_keypair_file.as_ref().map(|f| f.display().to_string()).as_deref(), "(unset)")
            }
            "KAIROS_FLASH__PROVING_KEY_DIR" => {
                or_unset(self.flash.proving_key_dir.as_ref().map(|f| f.display().to_string()).as_deref(), "(unset)")
            }
            "KAIROS_FLASH__MAX_PRIORITY_FEE_MICRO_LAMPORTS" => self.flash.max_priority_fee_micro_lamports.to_string(),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => or_unset(self.otlp_endpoint.as_deref(), "(unset: no trace export)"),
            _ => return None,
        })
    }

    fn origin(&self, name: &str) -> &'static str {
        self.origins.iter().find(|(v, _)| *v == name).map_or("default", |(_, o)| o.as_str())
    }

    fn describe_with(&self, read_by: &[ReadBy], value_of: impl Fn(&str) -> Option<String>) -> Vec<String> {
        VARIABLES
            .iter()
            .filter(|v| read_by.contains(&v.read_by) && v.name != RATE_LIMIT_FAMILY)
            .map(|v| {
                let value = value_of(v.name).unwrap_or_else(|| "(not shown)".to_string());
                format!("{} = {value} ({})", v.name, self.origin(v.name))
            })
            .collect()
    }

    /// The file that holds generated local secrets for this profile, when one is used.
    pub fn local_secrets_path(&self) -> Option<PathBuf> {
        let generated = self.origins.iter().any(|(_, o)| *o == Origin::Generated);
        generated.then(|| local_secrets::path(Path::new(&self.data_dir), self.profile))
    }
}

impl ApiSettings {
    /// The value of any variable `kairos-api` reads as `config check` shows it.
    pub fn value_of(&self, name: &str) -> Option<String> {
        if let Some(core) = self.core.value_of(name) {
            return Some(core);
        }
        let micros = kairos_domain::format_micros;
        Some(match name {
            "KAIROS_BIND" => self.bind.to_string(),
            "KAIROS_INTERNAL_BIND" => self.internal_bind.to_string(),
            "KAIROS_JWT_SECRET" => shown(self.jwt_secret.as_ref()),
            "KAIROS_JWT_SECRET_PREVIOUS" => shown(self.jwt_secret_previous.as_ref()),
            "KAIROS_MASTER_KEY" => shown(self.master_key.as_ref()),
            "KAIROS_MASTER_KEY_PREVIOUS" => shown(self.master_key_previous.as_ref()),
            "KAIROS_SIGNATURE_WINDOW_MS" => self.signature_window.as_millis().to_string(),
            "KAIROS_SIGNATURE_LEGACY_FORM" => self.signature_legacy_form.to_string(),
            "KAIROS_KILL_SWITCH__APPROVALS" => self.kill_switch_approvals.to_string(),
            "KAIROS_KILL_SWITCH__WINDOW_SECS" => self.kill_switch_window.as_secs().to_string(),
            "KAIROS_CREDIT__APPROVAL_ABOVE" => micros(self.credit_approval_above_micros),
            "KAIROS_API_KEYS__MAX_PER_USER" => self.max_api_keys_per_user.to_string(),
            "KAIROS_TRUSTED_PROXIES" => {
                self.trusted_proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
            }
            "KAIROS_REQUEST_TIMEOUT_MS" => self.request_timeout.as_millis().to_string(),
            "KAIROS_BODY_LIMIT_BYTES" => self.body_limit_bytes.to_string(),
            "KAIROS_CORS_ORIGINS" => self.cors_origins.join(","),
            "KAIROS_PAPER__MAKER_FEE_BPS" => self.trading.maker_fee_bps.to_string(),
            "KAIROS_PAPER__TAKER_FEE_BPS" => self.trading.taker_fee_bps.to_string(),
            "KAIROS_RISK__MAX_ORDER_NOTIONAL" => micros(self.trading.max_order_notional_micros),
            "KAIROS_RISK__MAX_OPEN_ORDERS" => self.trading.max_open_orders.to_string(),
            "KAIROS_RISK__PRICE_BAND" => micros(self.trading.price_band_micros),
            "KAIROS_RISK__MAX_MARKET_EXPOSURE" => micros(self.trading.max_market_exposure_micros),
            "KAIROS_INSTANCE_ID" => or_unset(self.cluster.instance_id.as_deref(), "(unset: <hostname>/<address>)"),
            "KAIROS_ADVERTISE_URL" => or_unset(self.cluster.advertise_url.as_deref(), "(unset: http://<address>)"),
            "KAIROS_MARKET_LEASE_MS" => self.cluster.lease.as_millis().to_string(),
            _ => return polymarket_value_of(self.polymarket.as_ref(), name),
        })
    }

    /// Every variable `kairos-api` reads, with its value and origin, secrets redacted.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = self.core.describe_with(&[ReadBy::All, ReadBy::Api], |name| self.value_of(name));
        for class in RateClass::ALL {
            for kind in PrincipalKind::ALL {
                lines.push(format!("{} = {}/s", RateLimits::variable(class, kind), self.rate_limits.get(class, kind)));
            }
        }
        lines
    }
}

impl KeeperSettings {
    /// The value of any variable `kairos-keepers` reads as `config check` shows it.
    pub fn value_of(&self, name: &str) -> Option<String> {
        if let Some(core) = self.core.value_of(name) {
            return Some(core);
        }
        Some(match name {
            "KAIROS_KEEPERS__METRICS_BIND" => self.metrics_bind.to_string(),
            "KAIROS_KEEPERS__LEASE_MS" => self.lease.as_millis().to_string(),
            "KAIROS_KEEPERS__PROBES__ENABLED" => self.probes.enabled.to_string(),
            "KAIROS_KEEPERS__PROBES__PERIOD_S" => self.probes.period.as_secs().to_string(),
            "KAIROS_KEEPERS__BACKUP__ENABLED" => self.backup.enabled.to_string(),
            "KAIROS_KEEPERS__BACKUP__PERIOD_S" => self.backup.period.as_secs().to_string(),
            "KAIROS_KEEPERS__FLASH_CREATE__ENABLED" => self.flash_create.enabled.to_string(),
            "KAIROS_KEEPERS__FLASH_CREATE__PERIOD_S" => self.flash_create.period.as_secs().to_string(),
            "KAIROS_KEEPERS__FLASH_VOID__ENABLED" => self.flash_void.enabled.to_string(),
            "KAIROS_KEEPERS__FLASH_VOID__PERIOD_S" => self.flash_void.period.as_secs().to_string(),
            "KAIROS_KEEPERS__CHAIN_SYNC__ENABLED" => self.chain_sync.enabled.to_string(),
            "KAIROS_KEEPERS__CHAIN_SYNC__PERIOD_S" => self.chain_sync.period.as_secs().to_string(),
            "KAIROS_KEEPERS__FLASH_ORACLE__ENABLED" => self.flash_oracle.enabled.to_string(),
            "KAIROS_KEEPERS__FLASH_ORACLE__PERIOD_S" => self.flash_oracle.period.as_secs().to_string(),
            "KAIROS_MASTER_KEY" => shown(self.master_key.as_ref()),
            "KAIROS_MASTER_KEY_PREVIOUS" => shown(self.master_key_previous.as_ref()),
            "KAIROS_KEEPERS__VENUE_HEARTBEAT__ENABLED" => self.venue_heartbeat.to_string(),
            "KAIROS_KEEPERS__VENUE_RECONCILE__ENABLED" => self.venue_reconcile.to_string(),
            _ => return polymarket_value_of(self.polymarket.as_ref(), name),
        })
    }

    /// Every variable `kairos-keepers` reads, with its value and origin, secrets redacted.
    pub fn describe(&self) -> Vec<String> {
        self.core.describe_with(&[ReadBy::All, ReadBy::Keepers], |name| self.value_of(name))
    }
}

/// The Polymarket venue's settings as `config check` shows them (both binaries read them); the
/// others are shown whether the venue is on or not (they are read either way).
fn polymarket_value_of(c: Option<&super::PolymarketCredentials>, name: &str) -> Option<String> {
    let off = "(venue off)".to_string();
    let show = |f: &dyn Fn(&super::PolymarketCredentials) -> String| c.map_or_else(|| off.clone(), f);
    Some(match name {
        "KAIROS_POLYMARKET__API_KEY" => match c {
            Some(_) => "[redacted]: the Polymarket venue is configured".to_string(),
            None => "(unset: Polymarket venue off)".to_string(),
        },
        "KAIROS_POLYMARKET__API_SECRET" => shown(c.map(|c| &c.api_secret)),
        "KAIROS_POLYMARKET__API_PASSPHRASE" => shown(c.map(|c| &c.api_passphrase)),
        "KAIROS_POLYMARKET__PRIVATE_KEY" => shown(c.map(|c| &c.private_key)),
        "KAIROS_POLYMARKET__FUNDER" => show(&|c| or_unset(c.funder.as_deref(), "(unset: the signer is the maker)")),
        "KAIROS_POLYMARKET__SIGNATURE_TYPE" => show(&|c| c.signature_type.to_string()),
        "KAIROS_POLYMARKET__CLOB_BASE_URL" => show(&|c| c.clob_base_url.clone()),
        "KAIROS_POLYMARKET__WS_URL" => show(&|c| c.ws_url.clone()),
        "KAIROS_POLYMARKET__CHAIN_ID" => show(&|c| c.chain_id.to_string()),
        "KAIROS_POLYMARKET__POLL_MS" => show(&|c| c.poll.as_millis().to_string()),
        "KAIROS_POLYMARKET__TIMEOUT_MS" => show(&|c| c.timeout.as_millis().to_string()),
        "KAIROS_POLYMARKET__ORDERS_PER_SECOND" => show(&|c| c.orders_per_second.to_string()),
        "KAIROS_POLYMARKET__USER_SHARE_PERCENT" => show(&|c| c.user_share_percent.to_string()),
        _ => return None,
    })
}

/// The variables of every binary the quoter reads: it keeps no store, so of the storage ones
/// only the database URL, where the `polymarket` target reads the kill switch.
const QUOTER_CORE: [&str; 6] = [
    "KAIROS_PROFILE",
    "KAIROS_LOG",
    "KAIROS_LOG_FORMAT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "KAIROS_DATA_DIR",
    "KAIROS_DATABASE_URL",
];

impl super::QuoterSettings {
    /// The value of any variable `kairos-quoter` reads as `config check` shows it.
    pub fn value_of(&self, name: &str) -> Option<String> {
        let micros = kairos_domain::format_micros;
        Some(match name {
            "KAIROS_PROFILE" => self.profile.as_str().to_string(),
            "KAIROS_LOG" => self.log.clone(),
            "KAIROS_LOG_FORMAT" => match self.log_format {
                LogFormat::Json => "json",
                LogFormat::Pretty => "pretty",
            }
            .to_string(),
            "OTEL_EXPORTER_OTLP_ENDPOINT" => or_unset(self.otlp_endpoint.as_deref(), "(unset)"),
            "KAIROS_QUOTER__METRICS_BIND" => self.metrics_bind.to_string(),
            "KAIROS_QUOTER__TARGET" => self.target.as_str().to_string(),
            "KAIROS_QUOTER__TOKENS" => self.tokens.join(","),
            "KAIROS_QUOTER__TICK" => micros(self.tick),
            "KAIROS_QUOTER__NEG_RISK" => self.neg_risk.to_string(),
            "KAIROS_QUOTER__FAIR" => match self.fair {
                super::QuoterFair::Mid => "mid",
                super::QuoterFair::Microprice => "microprice",
            }
            .to_string(),
            "KAIROS_QUOTER__HALF_SPREAD" => micros(self.half_spread),
            "KAIROS_QUOTER__SIZE" => micros(self.size),
            "KAIROS_QUOTER__SKEW" => micros(self.skew),
            "KAIROS_QUOTER__MAX_INVENTORY" => micros(self.max_inventory),
            "KAIROS_QUOTER__MAX_POSITION" => micros(self.max_position),
            "KAIROS_QUOTER__MAX_NOTIONAL" => micros(self.max_notional),
            "KAIROS_QUOTER__PRICE_BAND" => micros(self.price_band),
            "KAIROS_QUOTER__MAX_ORDERS_PER_S" => self.max_orders_per_s.to_string(),
            "KAIROS_QUOTER__FEED_URL" => self.feed_url.clone(),
            "KAIROS_QUOTER__RECORDED_FEED" => or_unset(self.recorded_feed.as_deref(), "(unset: built in)"),
            "KAIROS_QUOTER__HEARTBEAT_MS" => self.heartbeat_ms.to_string(),
            "KAIROS_QUOTER__API_URL" => self.api_url.clone(),
            "KAIROS_QUOTER__API_KEY" => or_unset(self.api_key.as_ref().map(|k| k.key_id.as_str()), "(unset)"),
            "KAIROS_QUOTER__API_SECRET" => if self.api_key.is_some() { "[redacted]" } else { "(unset)" }.to_string(),
            "KAIROS_DATABASE_URL" => {
                or_unset(self.database_url.as_ref().map(|u| redact_url(u.expose())).as_deref(), "(unset)")
            }
            "KAIROS_DATA_DIR" => self.dev_account_file.parent().map_or_else(String::new, |d| d.display().to_string()),
            _ => return polymarket_value_of(self.polymarket.as_ref(), name),
        })
    }

    /// Every variable `kairos-quoter` reads, with its value and origin, secrets redacted.
    pub fn describe(&self) -> Vec<String> {
        VARIABLES
            .iter()
            .filter(|v| {
                v.read_by == ReadBy::Quoter
                    || QUOTER_CORE.contains(&v.name)
                    || v.name.starts_with("KAIROS_POLYMARKET__")
            })
            .map(|v| {
                let value = self.value_of(v.name).unwrap_or_else(|| "(not shown)".to_string());
                let origin = self.origins.iter().find(|(n, _)| *n == v.name).map_or("default", |(_, o)| o.as_str());
                format!("{} = {value} ({origin})", v.name)
            })
            .collect()
    }
}
