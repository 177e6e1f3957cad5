//! What `kairos-keepers` reads: the core settings and its jobs' own (`KAIROS_KEEPERS__*`),
//! nothing of the API's. The chain's endpoints (`KAIROS_SOLANA__*`) are core settings: the API's
//! preflight probes them too.

use std::net::SocketAddr;
use std::time::Duration;

use super::CoreSettings;
use super::parser::Parser;

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
    KeeperSettings { core, metrics_bind, lease, probes, backup }
}
