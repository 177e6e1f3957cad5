//! `dependency-probes`: probes the chain and the venues the deployment configured (see
//! `kairos_ops::probes`) so `kairos_dependency_up` and `kairos_dependency_probe_seconds` move
//! on the keepers' metrics listener whether or not anyone runs preflight. A run with a
//! dependency down fails, naming it, so `kairos-keepers status` shows it as the last error and
//! the next run comes sooner (backoff is shorter than a period).

use std::time::Duration;

use kairos_ops::Status;
use kairos_ops::probes::{Dependency, RetryPolicy, configured, probe_checks};
use kairos_platform::config::CoreSettings;

use super::{Job, JobContext, RunFuture};

#[derive(Debug)]
pub struct DependencyProbes {
    deps: Vec<Dependency>,
    period: Duration,
}

impl DependencyProbes {
    pub fn new(core: &CoreSettings, period: Duration) -> DependencyProbes {
        DependencyProbes { deps: configured(core, None), period }
    }
}

impl Job for DependencyProbes {
    fn name(&self) -> &'static str {
        "dependency-probes"
    }

    fn period(&self) -> Duration {
        self.period
    }

    fn timeout(&self) -> Duration {
        let policy = RetryPolicy::DEFAULT;
        policy.timeout * policy.attempts + Duration::from_secs(5)
    }

    fn run<'a>(&'a self, _ctx: &'a JobContext) -> RunFuture<'a> {
        Box::pin(async move {
            let checks = probe_checks(&self.deps, RetryPolicy::DEFAULT).await;
            let down: Vec<String> = checks
                .iter()
                .filter(|c| c.status == Status::Fail)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            if down.is_empty() { Ok(()) } else { Err(down.join("; ")) }
        })
    }
}
