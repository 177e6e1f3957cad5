//! The one typed config of Kairos, from `KAIROS_*` environment variables over an optional TOML
//! file (`KAIROS_CONFIG`). Every variable is declared once, in [`variables`]. Each binary loads
//! what it reads: [`load_api`] gives [`ApiSettings`] (the core and the API's own),
//! [`load_keepers`] gives [`KeeperSettings`] (the core only), so the keepers start in `prod`
//! without the API's bind address or secrets. Loading never stops at the first mistake: it
//! returns the effective settings together with every problem found, each naming the variable
//! to set, so `config check` and start-up can list them all at once. Outside `dev`/`test` a
//! problem stops start-up (fail closed).

mod api;
mod core;
mod describe;
mod flash;
mod keepers;
mod local_secrets;
mod parser;
mod polymarket;
mod profile;
mod quoter;
mod rate_limits;
mod secret;
mod sources;
pub mod variables;

use std::fmt;

pub use self::api::{ApiSettings, Cluster, MIN_JWT_SECRET_BYTES, Trading};
pub use self::core::{AUTH_BYPASS_VARIABLES, CoreSettings, SolanaEndpoints, TimeSettings};
pub use self::flash::{
    DEFAULT_PROGRAM_ID, DEV_ORACLE_KEYPAIR_FILE, DEV_PROVING_KEY_DIR, FlashSettings, PriceFeedSettings, PriceSource,
    SIMULATED, api_key_header, is_address,
};
pub use self::keepers::{JobSwitch, KeeperSettings};
pub use local_secrets::LOCAL_SECRETS_FILE_PREFIX;
pub use polymarket::{POLYMARKET_REQUIRED, PolymarketCredentials};
pub use profile::{LogFormat, Profile, StorageMode};
pub use quoter::{DEV_QUOTER_ACCOUNT_FILE, QuoterApiKey, QuoterFair, QuoterSettings, QuoterTarget, RECORDED_TOKEN};
pub use rate_limits::{PrincipalKind, RateClass, RateLimits};
pub use secret::{MasterKeyError, Secret, decode_master_key, redact_url};
pub use sources::{ConfigFileError, Origin, RawSources};

use parser::Parser;

/// One thing wrong with the config, naming the variable to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// The process's sources; a broken `KAIROS_CONFIG` file is a problem, not a stop.
fn process_sources() -> (RawSources, Option<Problem>) {
    match RawSources::from_process() {
        Ok(raw) => (raw, None),
        Err(e) => (RawSources::default(), Some(Problem { variable: "KAIROS_CONFIG", message: e.to_string() })),
    }
}

/// `kairos-api`'s settings from the process environment (and `KAIROS_CONFIG`), with generated
/// local secrets in `dev`/`test`; returns them with every problem found.
pub fn load_api() -> (ApiSettings, Vec<Problem>) {
    let (raw, broken) = process_sources();
    let (settings, mut problems) = load_api_from(&raw);
    problems.splice(0..0, broken);
    (settings, problems)
}

/// [`load_api`] over explicit sources.
pub fn load_api_from(raw: &RawSources) -> (ApiSettings, Vec<Problem>) {
    let mut p = Parser { raw, problems: Vec::new(), origins: Vec::new() };
    let core = core::load_core(&mut p);
    let (mut settings, limit_names) = api::load_api(&mut p, core);
    let Parser { problems, origins, .. } = p;
    settings.core.origins = origins;
    settings.core.unknown_variables = unknown_variables(raw, &limit_names);
    (settings, problems)
}

/// `kairos-keepers`' settings from the process environment (and `KAIROS_CONFIG`).
pub fn load_keepers() -> (KeeperSettings, Vec<Problem>) {
    let (raw, broken) = process_sources();
    let (settings, mut problems) = load_keepers_from(&raw);
    problems.splice(0..0, broken);
    (settings, problems)
}

/// [`load_keepers`] over explicit sources.
pub fn load_keepers_from(raw: &RawSources) -> (KeeperSettings, Vec<Problem>) {
    let mut p = Parser { raw, problems: Vec::new(), origins: Vec::new() };
    let core = core::load_core(&mut p);
    let mut settings = keepers::load_keepers(&mut p, core);
    let Parser { problems, origins, .. } = p;
    settings.core.origins = origins;
    settings.core.unknown_variables = unknown_variables(raw, &rate_limits::RateLimits::all_variables());
    (settings, problems)
}

/// `kairos-quoter`'s settings from the process environment (and `KAIROS_CONFIG`).
pub fn load_quoter() -> (QuoterSettings, Vec<Problem>) {
    let (raw, broken) = process_sources();
    let (settings, mut problems) = load_quoter_from(&raw);
    problems.splice(0..0, broken);
    (settings, problems)
}

/// [`load_quoter`] over explicit sources.
pub fn load_quoter_from(raw: &RawSources) -> (QuoterSettings, Vec<Problem>) {
    let mut p = Parser { raw, problems: Vec::new(), origins: Vec::new() };
    let mut settings = quoter::load_quoter(&mut p);
    let Parser { problems, origins, .. } = p;
    settings.origins = origins;
    settings.unknown_variables = unknown_variables(raw, &rate_limits::RateLimits::all_variables());
    (settings, problems)
}

/// `KAIROS_*` variables in no binary's table: typos and removed settings. A variable another
/// binary reads is known, whichever binary is loading.
fn unknown_variables(raw: &RawSources, limit_names: &[String]) -> Vec<String> {
    raw.keys()
        .filter(|k| k.starts_with("KAIROS_"))
        .filter(|k| variables::variable(k).is_none() && !core::AUTH_BYPASS_VARIABLES.contains(k))
        .filter(|k| !limit_names.iter().any(|n| n == k))
        .map(str::to_string)
        .collect()
}

/// What `config check` prints, for any binary: the effective settings (`described`, secrets
/// redacted) on stdout, then the unknown variables and every problem on stderr. True when there
/// is no problem.
pub fn print_check(described: &[String], core: &CoreSettings, problems: &[Problem]) -> bool {
    for line in described {
        println!("{line}");
    }
    for name in &core.unknown_variables {
        eprintln!("warning: {name} is not a Kairos setting (typo or removed setting?)");
    }
    if problems.is_empty() {
        println!("config ok for profile {}", core.profile.as_str());
        return true;
    }
    eprintln!("{} problem(s):", problems.len());
    for p in problems {
        eprintln!("  - {p}");
    }
    false
}

#[cfg(test)]
mod tests;
