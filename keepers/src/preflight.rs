//! `kairos-keepers preflight`: what the keepers need before they start: the core config, the
//! database (write and read back, migrations current), the clock, the newest backup against the
//! RPO, and the chain when one is configured. Redis and the API's secrets are the API's (`kairos-api preflight`).

use kairos_ops::config_checks::{config_checks, core_aspects};
use kairos_ops::probes::{RetryPolicy, configured, probe_checks};
use kairos_ops::{Check, Report, clock, store_checks};
use kairos_platform::config::{KeeperSettings, Problem};

pub async fn run(settings: &KeeperSettings, problems: &[Problem]) -> Report {
    let mut checks = config_checks(problems, &core_aspects(&settings.core));
    let writer = kairos_platform::host::process_name();
    let deps = configured(&settings.core, None);
    let (database, time, probes, backup) = tokio::join!(
        store_checks::database_checks(&settings.core, &writer),
        clock::time_check(&settings.core),
        probe_checks(&deps, RetryPolicy::DEFAULT),
        kairos_ops::backup::recency_check(&settings.core),
    );
    checks.extend(database);
    checks.push(time);
    checks.push(backup);
    if deps.is_empty() {
        checks.push(Check::pass("probes", "no chain configured (KAIROS_SOLANA__RPC_URL unset): nothing to probe"));
    }
    checks.extend(probes);
    Report::new(checks)
}
