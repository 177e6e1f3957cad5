//! What `kairos-keepers` reads: the core settings, its jobs' own (`KAIROS_KEEPERS__*`) and the
//! Polymarket venue's account (for the venue jobs), nothing else of the API's. The chain's endpoints (`KAIROS_SOLANA__*`) are core settings: the API's
//! preflight probes them too.

use std::net::SocketAddr;
use std::time::Duration;

use super::parser::Parser;
use super::{CoreSettings, Origin, PolymarketCredentials, Secret, local_secrets};

/// The settings `kairos-keepers` runs with. Build with [`super::load_keepers`].
#[derive(Debug, Clone)]
pub struct KeeperSettings {
    pub core: CoreSettings,
    /// The keepers' Prometheus listener: its own port, so the API and the keepers run on one
    /// host with the defaults.
    pub metrics_bind: SocketAddr,
    /// How long a job's lease lasts without renewal: a dead holder's jobs move to another
    /// keeper within it.
    pub lease: Duration,
    /// The dependency probes (`dependency-probes`).
    pub probes: JobSwitch,
    /// The hourly encrypted backup (`backup`); on only when `core.backup` says where and to
    /// whom (dev/test switch it off silently otherwise, staging/prod refuse to start).
    pub backup: JobSwitch,
    /// `flash-create`: puts pending flash markets on chain.
    pub flash_create: JobSwitch,
    /// `flash-void`: voids markets still open or locked after their deadline.
    pub flash_void: JobSwitch,
    /// `chain-sync`: the program's accounts into the flash tables.
    pub chain_sync: JobSwitch,
    /// `flash-oracle`: ticks, commitment, lock, proof and resolve.
    pub flash_oracle: JobSwitch,
    /// Seals each market's commitment salt (`flash-oracle`); the API's key, shared. In dev/test
    /// the generated one under the data directory, as the API reads it.
    pub master_key: Option<Secret>,
    /// The key being rotated out: still opens salts it sealed.
    pub master_key_previous: Option<Secret>,
    /// The Polymarket venue's account, when it is on: the venue jobs below run only then.
    pub polymarket: Option<PolymarketCredentials>,
    /// `venue-heartbeat`: the CLOB heartbeat, for every API instance.
    pub venue_heartbeat: bool,
    /// `venue-reconcile`: the poll of unsettled CLOB orders (every `KAIROS_POLYMARKET__POLL_MS`).
    pub venue_reconcile: bool,
}

/// A job's own settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSwitch {
    pub enabled: bool,
    pub period: Duration,
}

pub(super) fn load_keepers(p: &mut Parser<'_>, core: CoreSettings) -> KeeperSettings {
    let metrics_bind = p.parse("KAIROS_KEEPERS__METRICS_BIND", || SocketAddr::from(([127, 0, 0, 1], 9091)));
    let lease = Duration::from_millis(p.parse("KAIROS_KEEPERS__LEASE_MS", || 15_000u64));
    if lease < Duration::from_millis(300) {
        p.problem("KAIROS_KEEPERS__LEASE_MS", "must be at least 300");
    }
    let probes = JobSwitch {
        enabled: p.parse_flag("KAIROS_KEEPERS__PROBES__ENABLED", true),
        period: Duration::from_secs(p.parse("KAIROS_KEEPERS__PROBES__PERIOD_S", || 60u64)),
    };
    if probes.period.is_zero() {
        p.problem("KAIROS_KEEPERS__PROBES__PERIOD_S", "must be at least 1");
    }
    let mut backup = JobSwitch {
        enabled: p.parse_flag("KAIROS_KEEPERS__BACKUP__ENABLED", true),
        period: Duration::from_secs(p.parse("KAIROS_KEEPERS__BACKUP__PERIOD_S", || 3_600u64)),
    };
    if backup.period.is_zero() {
        p.problem("KAIROS_KEEPERS__BACKUP__PERIOD_S", "must be at least 1");
    }
    let backup_needs = [
        ("KAIROS_BACKUP__URL", core.backup.url.is_none()),
        ("KAIROS_BACKUP__AGE_RECIPIENT", core.backup.age_recipient.is_none()),
    ];
    if backup.enabled && backup_needs.iter().any(|(_, missing)| *missing) {
        if core.profile.is_local() {
            backup.enabled = false;
        } else {
            for (name, missing) in backup_needs {
                if missing {
                    p.problem(
                        name,
                        "the keepers' backup job needs it (or switch the job off: KAIROS_KEEPERS__BACKUP__ENABLED=false)",
                    );
                }
            }
        }
    }
    let flash_create =
        job_switch(p, ("KAIROS_KEEPERS__FLASH_CREATE__ENABLED", "KAIROS_KEEPERS__FLASH_CREATE__PERIOD_S"), 5);
    let flash_void = job_switch(p, ("KAIROS_KEEPERS__FLASH_VOID__ENABLED", "KAIROS_KEEPERS__FLASH_VOID__PERIOD_S"), 15);
    let chain_sync = job_switch(p, ("KAIROS_KEEPERS__CHAIN_SYNC__ENABLED", "KAIROS_KEEPERS__CHAIN_SYNC__PERIOD_S"), 5);
    let flash_oracle =
        job_switch(p, ("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", "KAIROS_KEEPERS__FLASH_ORACLE__PERIOD_S"), 1);
    let local = core.profile.is_local();
    let mut master_key = p.optional("KAIROS_MASTER_KEY").map(Secret::new);
    if master_key.is_none() && local && flash_oracle.enabled {
        match local_secrets::load_or_create(&core.data_dir, core.profile) {
            Ok(generated) => {
                master_key = Some(generated.master_key);
                p.set_origin("KAIROS_MASTER_KEY", Origin::Generated);
            }
            Err(message) => p.problem("KAIROS_DATA_DIR", &message),
        }
    }
    if master_key.is_some() || (flash_oracle.enabled && !local) {
        super::api::check_master_key(p, "KAIROS_MASTER_KEY", master_key.as_ref(), local);
    }
    let master_key_previous = p.optional("KAIROS_MASTER_KEY_PREVIOUS").map(Secret::new);
    if master_key_previous.is_some() {
        super::api::check_master_key(p, "KAIROS_MASTER_KEY_PREVIOUS", master_key_previous.as_ref(), local);
    }
    // Outside dev/test the chain jobs need their endpoint and the oracle's key; dev and tests
    // find the local chain the API started (and the dev oracle's key) at run time.
    if !core.profile.is_local() {
        let chain_jobs = [
            ("KAIROS_KEEPERS__FLASH_CREATE__ENABLED", flash_create.enabled),
            ("KAIROS_KEEPERS__FLASH_VOID__ENABLED", flash_void.enabled),
            ("KAIROS_KEEPERS__CHAIN_SYNC__ENABLED", chain_sync.enabled),
            ("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", flash_oracle.enabled),
        ];
        let on: Vec<&str> = chain_jobs.iter().filter(|(_, on)| *on).map(|(name, _)| *name).collect();
        if !on.is_empty() && core.solana.rpc_url.is_none() {
            p.problem(
                "KAIROS_SOLANA__RPC_URL",
                &format!("the keepers' chain jobs need it (or switch them off: {}=false)", on.join("=false, ")),
            );
        }
        let keyed = flash_create.enabled || flash_void.enabled || flash_oracle.enabled;
        if keyed && core.flash.oracle_keypair_file.is_none() {
            p.problem(
                "KAIROS_FLASH__ORACLE_KEYPAIR_FILE",
                "flash-create, flash-oracle and flash-void sign with the oracle's key (or switch them off)",
            );
        }
        if flash_oracle.enabled {
            let off = "(or switch it off: KAIROS_KEEPERS__FLASH_ORACLE__ENABLED=false)";
            if core.flash.proving_key_dir.is_none() {
                p.problem(
                    "KAIROS_FLASH__PROVING_KEY_DIR",
                    &format!("flash-oracle proves with the ceremony's key {off}"),
                );
            }
            if core.flash.price_feed.source.is_none() {
                p.problem("KAIROS_FLASH__PRICE_FEED", &format!("flash-oracle takes its ticks from it {off}"));
            }
        }
    }
    let polymarket = super::polymarket::polymarket_credentials(p);
    let venue_heartbeat = p.parse_flag("KAIROS_KEEPERS__VENUE_HEARTBEAT__ENABLED", true);
    let venue_reconcile = p.parse_flag("KAIROS_KEEPERS__VENUE_RECONCILE__ENABLED", true);
    KeeperSettings {
        core,
        metrics_bind,
        lease,
        probes,
        backup,
        flash_create,
        flash_void,
        chain_sync,
        flash_oracle,
        master_key,
        master_key_previous,
        polymarket,
        venue_heartbeat,
        venue_reconcile,
    }
}

/// A job's `…__ENABLED` (on by default) and `…__PERIOD_S` variables.
fn job_switch(p: &mut Parser<'_>, (enabled, period): (&'static str, &'static str), period_s: u64) -> JobSwitch {
    let switch =
        JobSwitch { enabled: p.parse_flag(enabled, true), period: Duration::from_secs(p.parse(period, || period_s)) };
    if switch.period.is_zero() {
        p.problem(period, "must be at least 1");
    }
    switch
}
