//! The config part of preflight. Loading the config already finds every problem (each naming
//! its variable); here they are grouped into the aspects an operator reviews (profile, storage,
//! auth bypass, metrics listener, and what each binary adds), each a check that fails with its
//! problems or passes (or warns) saying what is in force. Problems no aspect claims are listed
//! on their own, so none is dropped.

use kairos_platform::config::{AUTH_BYPASS_VARIABLES, CoreSettings, Problem, StorageMode};

use crate::report::{Check, Status};

/// One aspect: its check's name, the variables whose problems belong to it, and the verdict
/// when none of them has a problem.
#[derive(Debug, Clone)]
pub struct Aspect {
    pub name: &'static str,
    pub variables: Vec<&'static str>,
    pub status: Status,
    pub detail: String,
}

/// The aspects every binary has.
pub fn core_aspects(core: &CoreSettings) -> Vec<Aspect> {
    let local = core.profile.is_local();
    let profile = Aspect {
        name: "config.profile",
        variables: vec!["KAIROS_PROFILE", "KAIROS_CONFIG"],
        status: if local { Status::Warn } else { Status::Pass },
        detail: if local {
            format!(
                "profile {}: defaults and generated secrets for one machine; a deployment runs staging or prod",
                core.profile.as_str()
            )
        } else {
            format!("profile {}", core.profile.as_str())
        },
    };
    let storage = {
        let redis = if core.redis_url.is_some() { "Redis configured" } else { "no Redis" };
        let (status, detail) = match core.storage_mode {
            StorageMode::Strict => (Status::Pass, format!("strict: refuses to start without its stores; {redis}")),
            StorageMode::Degraded if local => {
                (Status::Pass, format!("degraded: serves on in-process fallbacks when Redis is missing; {redis}"))
            }
            StorageMode::Degraded => (
                Status::Warn,
                format!(
                    "degraded in profile {}: serves without Redis (per-instance rate limits and replay guards); set KAIROS_STORAGE_MODE=strict; {redis}",
                    core.profile.as_str()
                ),
            ),
        };
        Aspect {
            name: "config.storage",
            variables: vec![
                "KAIROS_STORAGE_MODE",
                "KAIROS_DATABASE_URL",
                "KAIROS_DATABASE_MAX_CONNECTIONS",
                "KAIROS_REDIS_URL",
                "KAIROS_DATA_DIR",
            ],
            status,
            detail,
        }
    };
    let bypass = {
        let (status, detail) = if core.auth_bypass_set.is_empty() {
            (Status::Pass, "no auth-bypass toggle is set".to_string())
        } else {
            (
                Status::Warn,
                format!(
                    "{} set; Kairos ignores it in {} and refuses to start with it in staging/prod: unset it",
                    core.auth_bypass_set.join(", "),
                    core.profile.as_str()
                ),
            )
        };
        Aspect { name: "config.auth_bypass", variables: AUTH_BYPASS_VARIABLES.to_vec(), status, detail }
    };
    let metrics = {
        let (status, detail) = if core.metrics_bind.ip().is_loopback() {
            (Status::Pass, format!("metrics on {} (loopback)", core.metrics_bind))
        } else {
            (
                Status::Warn,
                format!(
                    "metrics on {}, reachable beyond this host: keep the port unpublished (a container network) or set KAIROS_METRICS_BIND=127.0.0.1:9090",
                    core.metrics_bind
                ),
            )
        };
        Aspect { name: "config.metrics_listener", variables: vec!["KAIROS_METRICS_BIND"], status, detail }
    };
    let unknown = Aspect {
        name: "config.unknown_variables",
        variables: Vec::new(),
        status: if core.unknown_variables.is_empty() { Status::Pass } else { Status::Warn },
        detail: if core.unknown_variables.is_empty() {
            "every KAIROS_ variable is a setting".to_string()
        } else {
            format!("not Kairos settings (typos or removed settings?): {}", core.unknown_variables.join(", "))
        },
    };
    vec![profile, storage, bypass, metrics, unknown]
}

/// One check per aspect (failed with its problems when it has any), then one `config.other`
/// check per problem no aspect claims.
pub fn config_checks(problems: &[Problem], aspects: &[Aspect]) -> Vec<Check> {
    let mut checks = Vec::new();
    for aspect in aspects {
        let own: Vec<String> =
            problems.iter().filter(|p| aspect.variables.contains(&p.variable)).map(Problem::to_string).collect();
        checks.push(if own.is_empty() {
            Check::new(aspect.name, aspect.status, aspect.detail.clone())
        } else {
            Check::fail(aspect.name, own.join("; "))
        });
    }
    for p in problems.iter().filter(|p| !aspects.iter().any(|a| a.variables.contains(&p.variable))) {
        checks.push(Check::fail("config.other", p.to_string()));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_platform::config::{RawSources, load_keepers_from};

    fn checks_for(vars: &[(&str, &str)]) -> Vec<Check> {
        let raw = RawSources::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).expect("sources");
        let (settings, problems) = load_keepers_from(&raw);
        config_checks(&problems, &core_aspects(&settings.core))
    }

    fn status_of(checks: &[Check], name: &str) -> Status {
        checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} in {checks:?}")).status
    }

    #[test]
    fn a_prod_config_with_a_bypass_toggle_and_no_redis_fails_those_aspects() {
        let checks = checks_for(&[
            ("KAIROS_PROFILE", "prod"),
            ("KAIROS_DATABASE_URL", "postgres://k@127.0.0.1/k"),
            ("KAIROS_AUTH_BYPASS", "true"),
        ]);
        assert_eq!(status_of(&checks, "config.profile"), Status::Pass);
        assert_eq!(status_of(&checks, "config.auth_bypass"), Status::Fail);
        assert_eq!(status_of(&checks, "config.storage"), Status::Fail, "strict without Redis");
        assert!(checks.iter().any(|c| c.detail.contains("KAIROS_REDIS_URL")), "{checks:?}");
    }

    #[test]
    fn dev_defaults_pass_with_a_warning_for_the_profile() {
        let checks = checks_for(&[("KAIROS_DATA_DIR", "/tmp/kairos-ops-config-test")]);
        assert_eq!(status_of(&checks, "config.profile"), Status::Warn);
        assert_eq!(status_of(&checks, "config.storage"), Status::Pass);
        assert_eq!(status_of(&checks, "config.metrics_listener"), Status::Pass);
        assert!(checks.iter().all(|c| c.status != Status::Fail), "{checks:?}");
    }

    #[test]
    fn problems_no_aspect_claims_are_kept() {
        let problems =
            vec![Problem { variable: "KAIROS_TIME__MAX_DRIFT_MS", message: "must be at least 1".to_string() }];
        let checks = config_checks(&problems, &[]);
        assert_eq!(checks, vec![Check::fail("config.other", "KAIROS_TIME__MAX_DRIFT_MS: must be at least 1")]);
    }
}
