use super::core::AUTH_BYPASS_VARIABLES;
use super::variables::{RATE_LIMIT_FAMILY, ReadBy, VARIABLES};
use super::*;

const GOOD_JWT: &str = "q8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0aE8uTiOoPzQ";
const GOOD_MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn sources(vars: &[(&str, &str)]) -> RawSources {
    RawSources::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string()))).expect("sources")
}

fn load_vars(vars: &[(&str, &str)]) -> (ApiSettings, Vec<Problem>) {
    load_api_from(&sources(vars))
}

/// A complete, valid prod environment; each test removes or breaks one thing.
fn prod_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KAIROS_PROFILE", "prod"),
        ("KAIROS_BIND", "0.0.0.0:8080"),
        ("KAIROS_DATABASE_URL", "postgres://kairos:pw@db:5432/kairos"),
        ("KAIROS_REDIS_URL", "redis://cache:6379"),
        ("KAIROS_JWT_SECRET", GOOD_JWT),
        ("KAIROS_MASTER_KEY", GOOD_MASTER_KEY),
    ]
}

fn with(
    mut vars: Vec<(&'static str, &'static str)>,
    k: &'static str,
    v: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vars.retain(|(key, _)| *key != k);
    vars.push((k, v));
    vars
}

fn without(mut vars: Vec<(&'static str, &'static str)>, k: &str) -> Vec<(&'static str, &'static str)> {
    vars.retain(|(key, _)| *key != k);
    vars
}

fn variables(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(|p| p.variable).collect()
}

#[test]
fn a_complete_prod_config_has_no_problems() {
    let (s, problems) = load_vars(&prod_vars());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.core.profile, Profile::Prod);
    assert_eq!(s.core.storage_mode, StorageMode::Strict);
    assert_eq!(s.core.log_format, LogFormat::Json);
}

#[test]
fn prod_refuses_a_missing_jwt_secret() {
    let (_, problems) = load_vars(&without(prod_vars(), "KAIROS_JWT_SECRET"));
    assert_eq!(variables(&problems), ["KAIROS_JWT_SECRET"]);
    assert!(problems[0].message.contains("missing"));
}

#[test]
fn prod_refuses_a_short_jwt_secret() {
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_JWT_SECRET", "tooShort-9f8e7d6c5b4a"));
    assert_eq!(variables(&problems), ["KAIROS_JWT_SECRET"]);
    assert!(problems[0].message.contains("at least 32"));
}

#[test]
fn prod_refuses_placeholder_and_low_entropy_jwt_secrets() {
    for weak in [
        "change-me-change-me-change-me-change-me",
        "please-put-your-secret-here-before-deploying",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_JWT_SECRET", weak));
        assert_eq!(variables(&problems), ["KAIROS_JWT_SECRET"], "{weak}");
    }
}

#[test]
fn prod_refuses_every_auth_bypass_toggle() {
    for name in AUTH_BYPASS_VARIABLES {
        let (_, problems) = load_vars(&with(prod_vars(), name, "true"));
        assert_eq!(variables(&problems), [*name]);
    }
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_DEV_AUTH_BYPASS", "false"));
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn no_auth_bypass_exists_and_dev_only_tolerates_the_old_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    let (s, problems) = load_vars(&[("KAIROS_DATA_DIR", &data), ("KAIROS_DEV_AUTH_BYPASS", "1")]);
    assert!(problems.is_empty(), "{problems:?}");
    // Nothing in the settings can turn authentication off.
    assert!(!s.describe().iter().any(|line| line.contains("BYPASS")), "{:?}", s.describe());
    assert!(!s.signature_legacy_form, "the ambiguous signature form is off by default");
}

#[test]
fn prod_refuses_an_implicit_bind_address() {
    let (_, problems) = load_vars(&without(prod_vars(), "KAIROS_BIND"));
    assert_eq!(variables(&problems), ["KAIROS_BIND"]);
}

#[test]
fn strict_mode_refuses_a_missing_database_or_redis_url() {
    let (_, problems) = load_vars(&without(prod_vars(), "KAIROS_DATABASE_URL"));
    assert_eq!(variables(&problems), ["KAIROS_DATABASE_URL"]);
    let (_, problems) = load_vars(&without(prod_vars(), "KAIROS_REDIS_URL"));
    assert_eq!(variables(&problems), ["KAIROS_REDIS_URL"]);
    let degraded = with(without(prod_vars(), "KAIROS_REDIS_URL"), "KAIROS_STORAGE_MODE", "degraded");
    let (_, problems) = load_vars(&degraded);
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn prod_refuses_a_missing_or_malformed_master_key() {
    let (_, problems) = load_vars(&without(prod_vars(), "KAIROS_MASTER_KEY"));
    assert_eq!(variables(&problems), ["KAIROS_MASTER_KEY"]);
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_MASTER_KEY", "c2hvcnQ="));
    assert_eq!(variables(&problems), ["KAIROS_MASTER_KEY"]);
}

#[test]
fn a_master_key_in_either_base64_alphabet_is_taken_as_given() {
    let url_safe = "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_8";
    let (s, problems) = load_vars(&with(prod_vars(), "KAIROS_MASTER_KEY", url_safe));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.master_key.as_ref().map(Secret::expose), Some(url_safe));
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_MASTER_KEY", "c2hvcnQ="));
    assert!(problems[0].message.contains("5 bytes") && !problems[0].message.contains("c2hvcnQ"), "{problems:?}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let (_, problems) = load_vars(&[("KAIROS_PROFILE", "prod"), ("KAIROS_AUTH_BYPASS", "yes")]);
    let vars = variables(&problems);
    for expected in [
        "KAIROS_BIND",
        "KAIROS_DATABASE_URL",
        "KAIROS_REDIS_URL",
        "KAIROS_JWT_SECRET",
        "KAIROS_MASTER_KEY",
        "KAIROS_AUTH_BYPASS",
    ] {
        assert!(vars.contains(&expected), "{expected} missing from {vars:?}");
    }
}

#[test]
fn unknown_profiles_modes_and_database_urls_are_errors_not_fallbacks() {
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_PROFILE", "production"));
    assert!(variables(&problems).contains(&"KAIROS_PROFILE"));
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_STORAGE_MODE", "relaxed"));
    assert_eq!(variables(&problems), ["KAIROS_STORAGE_MODE"]);
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_DATABASE_URL", "mysql://db/kairos"));
    assert_eq!(variables(&problems), ["KAIROS_DATABASE_URL"]);
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_BIND", "localhost"));
    assert_eq!(variables(&problems), ["KAIROS_BIND"]);
}

#[test]
fn dev_needs_nothing_and_generates_shared_secrets_under_the_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data").display().to_string();
    let (first, problems) = load_vars(&[("KAIROS_DATA_DIR", &data)]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(first.core.profile, Profile::Dev);
    assert_eq!(first.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(first.core.metrics_bind.to_string(), "127.0.0.1:9090");
    assert_eq!(first.core.storage_mode, StorageMode::Degraded);
    assert!(first.core.database_url.expose().starts_with("sqlite:"));
    let path = first.core.local_secrets_path().expect("generated");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (second, _) = load_vars(&[("KAIROS_DATA_DIR", &data)]);
    assert_eq!(first.jwt_secret, second.jwt_secret);
    assert_eq!(first.master_key, second.master_key);

    let (explicit, _) = load_vars(&[("KAIROS_DATA_DIR", &data), ("KAIROS_JWT_SECRET", "mine")]);
    assert_eq!(explicit.jwt_secret.as_ref().map(Secret::expose), Some("mine"));
}

#[test]
fn prod_never_generates_secrets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    let vars = with(without(prod_vars(), "KAIROS_JWT_SECRET"), "KAIROS_DATA_DIR", &*data.leak());
    let (s, problems) = load_vars(&vars);
    assert!(s.jwt_secret.is_none());
    assert_eq!(variables(&problems), ["KAIROS_JWT_SECRET"]);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn describe_never_prints_secrets() {
    let (s, _) = load_vars(&prod_vars());
    let text = s.describe().join("\n");
    assert!(!text.contains(GOOD_JWT));
    assert!(!text.contains(GOOD_MASTER_KEY));
    assert!(!text.contains(":pw@"));
    assert!(text.contains("KAIROS_BIND = 0.0.0.0:8080 (env)"));
    assert!(!format!("{s:?}").contains(GOOD_JWT));
}

#[test]
fn unknown_kairos_variables_are_reported() {
    let (s, _) = load_vars(&with(prod_vars(), "KAIROS_BIDN", "0.0.0.0:1"));
    assert_eq!(s.core.unknown_variables, ["KAIROS_BIDN"]);
}

#[test]
fn dev_refuses_a_network_bind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().display().to_string();
    let (_, problems) = load_vars(&[("KAIROS_DATA_DIR", &data), ("KAIROS_BIND", "0.0.0.0:8080")]);
    assert_eq!(variables(&problems), ["KAIROS_BIND"]);
}

#[test]
fn keepers_start_in_prod_without_the_apis_settings() {
    let core_only: Vec<(&str, &str)> = prod_vars()
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "KAIROS_BIND" | "KAIROS_JWT_SECRET" | "KAIROS_MASTER_KEY"))
        .chain([
            ("KAIROS_BACKUP__URL", "s3://kairos-backups/prod"),
            ("KAIROS_BACKUP__AGE_RECIPIENT", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"),
            ("KAIROS_SOLANA__RPC_URL", "https://rpc.example.com"),
            ("KAIROS_FLASH__ORACLE_KEYPAIR_FILE", "/etc/kairos/flash-oracle.json"),
            ("KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", "false"),
        ])
        .collect();
    let (keepers, problems) = load_keepers_from(&sources(&core_only));
    assert!(problems.is_empty(), "{problems:?}");
    // flash-oracle (on by default) also needs its proving key, a price feed and the master key
    // that seals its salts; given them, it starts.
    let oracle_on = with(core_only.clone(), "KAIROS_KEEPERS__FLASH_ORACLE__ENABLED", "true");
    let (_, problems) = load_keepers_from(&sources(&oracle_on));
    assert_eq!(
        variables(&problems),
        ["KAIROS_MASTER_KEY", "KAIROS_FLASH__PROVING_KEY_DIR", "KAIROS_FLASH__PRICE_FEED"]
    );
    let complete = [
        ("KAIROS_MASTER_KEY", "kH3vR8sQ2mT6wZ1yB4nC7xE0aF5gJ9dL3pU8oI2kS6c="),
        ("KAIROS_FLASH__PROVING_KEY_DIR", "/var/lib/kairos/flash-keys"),
        ("KAIROS_FLASH__PRICE_FEED", "https://api.coingecko.com/api/v3/simple/price"),
    ];
    let oracle_on = complete.iter().fold(oracle_on, |vars, (k, v)| with(vars, k, v));
    let (oracle, problems) = load_keepers_from(&sources(&oracle_on));
    assert!(problems.is_empty() && oracle.flash_oracle.enabled, "{problems:?}");
    assert!(
        oracle.describe().iter().any(|l| l.starts_with("KAIROS_MASTER_KEY = [redacted")),
        "{:?}",
        oracle.describe()
    );
    // The chain jobs are on by default: without their endpoint and key prod refuses, naming them.
    let bare = without(without(core_only.clone(), "KAIROS_SOLANA__RPC_URL"), "KAIROS_FLASH__ORACLE_KEYPAIR_FILE");
    let (_, problems) = load_keepers_from(&sources(&bare));
    assert_eq!(variables(&problems), ["KAIROS_SOLANA__RPC_URL", "KAIROS_FLASH__ORACLE_KEYPAIR_FILE"]);
    assert_eq!(keepers.core.profile, Profile::Prod);
    let (_, api_problems) = load_vars(&core_only);
    assert_eq!(variables(&api_problems), ["KAIROS_BIND", "KAIROS_JWT_SECRET", "KAIROS_MASTER_KEY"]);
    // The keepers still refuse what every binary refuses, and know the API's variables.
    let (_, problems) = load_keepers_from(&sources(&without(core_only.clone(), "KAIROS_DATABASE_URL")));
    assert_eq!(variables(&problems), ["KAIROS_DATABASE_URL"]);
    let (_, problems) = load_keepers_from(&sources(&with(core_only.clone(), "KAIROS_AUTH_BYPASS", "true")));
    assert_eq!(variables(&problems), ["KAIROS_AUTH_BYPASS"]);
    let (keepers, _) = load_keepers_from(&sources(&with(prod_vars(), "KAIROS_RATE_LIMITS__READ__KEY", "5")));
    assert!(keepers.core.unknown_variables.is_empty(), "{:?}", keepers.core.unknown_variables);
    assert!(keepers.describe().iter().all(|l| !l.starts_with("KAIROS_JWT_SECRET")), "{:?}", keepers.describe());
}

#[test]
fn the_parser_reads_every_variable_of_the_table_and_describe_shows_each() {
    let (s, _) = load_vars(&prod_vars());
    let read: Vec<&str> = s.core.origins.iter().map(|(name, _)| *name).collect();
    let api_reads =
        |v: &&super::variables::Variable| v.name != RATE_LIMIT_FAMILY && matches!(v.read_by, ReadBy::All | ReadBy::Api);
    for v in VARIABLES.iter().filter(api_reads) {
        assert!(read.contains(&v.name), "{} is in the table but never read", v.name);
        assert!(s.value_of(v.name).is_some(), "describe shows no value for {}", v.name);
    }
    let described = s.describe();
    for v in VARIABLES.iter().filter(api_reads) {
        assert!(described.iter().any(|l| l.starts_with(&format!("{} = ", v.name))), "{} not described", v.name);
    }
    let (k, _) = load_keepers_from(&sources(&prod_vars()));
    let keepers_read: Vec<&str> = k.core.origins.iter().map(|(name, _)| *name).collect();
    let described = k.describe();
    for v in VARIABLES.iter().filter(|v| matches!(v.read_by, ReadBy::All | ReadBy::Keepers)) {
        assert!(keepers_read.contains(&v.name), "{} is never read by the keepers", v.name);
        assert!(k.value_of(v.name).is_some(), "the keepers' describe shows no value for {}", v.name);
        assert!(described.iter().any(|l| l.starts_with(&format!("{} = ", v.name))), "{} not described", v.name);
    }
}

#[test]
fn the_quoter_reads_its_own_table_rows_needs_no_store_and_refuses_the_live_target_without_credentials() {
    let live = [
        ("KAIROS_PROFILE", "prod"),
        ("KAIROS_QUOTER__TARGET", "polymarket"),
        ("KAIROS_POLYMARKET__API_KEY", "pm-key-0123456789"),
        ("KAIROS_POLYMARKET__API_SECRET", "pm-secret-0123456789"),
        ("KAIROS_POLYMARKET__API_PASSPHRASE", "pm-pass-0123456789"),
        ("KAIROS_POLYMARKET__PRIVATE_KEY", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
        ("KAIROS_QUOTER__SIZE", "12.5"),
    ];
    let (_, problems) = super::load_quoter_from(&sources(&live));
    assert_eq!(variables(&problems), ["KAIROS_DATABASE_URL"], "the kill switch's database, outside dev and test");
    let mut live = live.to_vec();
    live.push(("KAIROS_DATABASE_URL", "postgres://kairos:db-pass-0123@db:5432/kairos"));
    let (q, problems) = super::load_quoter_from(&sources(&live));
    assert!(problems.is_empty(), "no Redis or JWT needed: {problems:?}");
    assert_eq!((q.target, q.size, q.tick), (super::QuoterTarget::Polymarket, 12_500_000, 10_000));
    let read: Vec<&str> = q.origins.iter().map(|(name, _)| *name).collect();
    let described = q.describe();
    for v in VARIABLES.iter().filter(|v| v.read_by == ReadBy::Quoter) {
        assert!(read.contains(&v.name), "{} is never read by the quoter", v.name);
        assert!(described.iter().any(|l| l.starts_with(&format!("{} = ", v.name))), "{} not described", v.name);
    }
    let text = described.join("\n");
    for (_, secret) in &live[2..6] {
        assert!(!text.contains(secret), "{secret} shown");
    }
    assert!(!text.contains("db-pass-0123"), "{text}");
    assert!(text.contains("KAIROS_QUOTER__SIZE = 12.5 (env)"), "{text}");

    let (_, problems) = super::load_quoter_from(&sources(&live[..2]));
    assert_eq!(variables(&problems), ["KAIROS_DATABASE_URL", "KAIROS_POLYMARKET__API_KEY"]);
    let (paper, problems) = super::load_quoter_from(&sources(&[("KAIROS_PROFILE", "dev")]));
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((paper.target, paper.tokens.len()), (super::QuoterTarget::Kairos, 1));
    assert!(paper.api_key.is_none(), "dev falls back to the key file kairos-api writes");
    assert_eq!(paper.dev_account_file, std::path::Path::new("data").join(super::DEV_QUOTER_ACCOUNT_FILE));
}

#[test]
fn the_kairos_target_needs_an_api_key_outside_dev_and_never_shows_its_secret() {
    let (_, problems) = super::load_quoter_from(&sources(&[("KAIROS_PROFILE", "prod")]));
    assert_eq!(variables(&problems), ["KAIROS_QUOTER__API_KEY"]);
    let (_, problems) =
        super::load_quoter_from(&sources(&[("KAIROS_PROFILE", "dev"), ("KAIROS_QUOTER__API_KEY", "k-1")]));
    assert_eq!(variables(&problems), ["KAIROS_QUOTER__API_KEY"], "a key without its secret");
    let keyed = [
        ("KAIROS_PROFILE", "staging"),
        ("KAIROS_QUOTER__API_KEY", "k-1"),
        ("KAIROS_QUOTER__API_SECRET", "c2VjcmV0LXNlY3JldC1zZWNyZXQ="),
        ("KAIROS_QUOTER__API_URL", "https://api.example"),
        ("KAIROS_DATA_DIR", "/var/lib/kairos"),
    ];
    let (q, problems) = super::load_quoter_from(&sources(&keyed));
    assert!(problems.is_empty(), "{problems:?}");
    let key = q.api_key.as_ref().expect("key");
    assert_eq!((key.key_id.as_str(), key.secret.expose()), ("k-1", "c2VjcmV0LXNlY3JldC1zZWNyZXQ="));
    assert_eq!(q.api_url, "https://api.example");
    let text = q.describe().join("\n");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert!(text.contains("KAIROS_QUOTER__API_KEY = k-1 (env)"), "{text}");
    let (_, problems) =
        super::load_quoter_from(&sources(&[("KAIROS_PROFILE", "dev"), ("KAIROS_QUOTER__API_URL", "127.0.0.1:8080")]));
    assert_eq!(variables(&problems), ["KAIROS_QUOTER__API_URL"]);
}

#[test]
fn the_quoter_refuses_bad_settings_one_problem_each() {
    let bad = [
        ("KAIROS_QUOTER__TICK", "0.02"),
        ("KAIROS_QUOTER__SIZE", "10.005"),
        ("KAIROS_QUOTER__TOKENS", "abc"),
        ("KAIROS_QUOTER__HEARTBEAT_MS", "12000"),
        ("KAIROS_QUOTER__FEED_URL", "https://x"),
    ];
    let (_, problems) = super::load_quoter_from(&sources(&bad));
    assert_eq!(
        variables(&problems),
        [
            "KAIROS_QUOTER__TOKENS",
            "KAIROS_QUOTER__TICK",
            "KAIROS_QUOTER__SIZE",
            "KAIROS_QUOTER__FEED_URL",
            "KAIROS_QUOTER__HEARTBEAT_MS"
        ]
    );
}

#[test]
fn describe_never_prints_polymarket_secrets() {
    let mut vars = prod_vars();
    vars.extend([
        ("KAIROS_POLYMARKET__API_KEY", "pm-key-0123456789"),
        ("KAIROS_POLYMARKET__API_SECRET", "pm-secret-0123456789"),
        ("KAIROS_POLYMARKET__API_PASSPHRASE", "pm-pass-0123456789"),
        ("KAIROS_POLYMARKET__PRIVATE_KEY", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
        ("KAIROS_POLYMARKET__CHAIN_ID", "80002"),
    ]);
    let (s, problems) = load_vars(&vars);
    assert!(problems.is_empty(), "{problems:?}");
    let text = s.describe().join("\n");
    for (_, secret) in &vars[vars.len() - 5..vars.len() - 1] {
        assert!(!text.contains(secret), "{secret} shown");
    }
    assert!(text.contains("KAIROS_POLYMARKET__CHAIN_ID = 80002 (env)"), "{text}");
}

/// `.env.example` and the README's table are what the table gives. With
/// `KAIROS_REGENERATE=1` the test writes them instead.
#[test]
fn env_example_and_readme_follow_the_table() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let regenerate = std::env::var("KAIROS_REGENERATE").is_ok_and(|v| v == "1");
    let env_path = root.join(".env.example");
    let expected = variables::env_example();
    if regenerate {
        std::fs::write(&env_path, &expected).expect("write .env.example");
    }
    let actual = std::fs::read_to_string(&env_path).expect(".env.example");
    assert!(
        actual == expected,
        ".env.example differs from the table; KAIROS_REGENERATE=1 cargo test -p kairos-platform env_example"
    );
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let (begin, end) = ("<!-- variables:begin -->\n", "<!-- variables:end -->");
    let (Some(from), Some(to)) = (readme.find(begin), readme.find(end)) else {
        panic!("README.md lacks the {begin:?} … {end:?} markers")
    };
    let table = variables::readme_table();
    if regenerate {
        let updated = format!("{}{begin}{table}{}", &readme[..from], &readme[to..]);
        std::fs::write(&readme_path, updated).expect("write README.md");
    } else {
        assert!(
            readme[from + begin.len()..to] == table,
            "README's table differs; KAIROS_REGENERATE=1 cargo test -p kairos-platform env_example"
        );
    }
    // Every variable the example sets parses, and a prod config made of it lacks only secrets
    // and the backup key (each a change-me placeholder, refused).
    let set: Vec<(String, String)> = expected
        .lines()
        .filter(|l| l.starts_with("KAIROS_"))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let (_, problems) = load_api_from(&RawSources::from_vars(set).expect("sources"));
    assert_eq!(
        variables(&problems),
        ["KAIROS_BACKUP__AGE_RECIPIENT", "KAIROS_JWT_SECRET", "KAIROS_MASTER_KEY"],
        "{problems:?}"
    );
}

#[test]
fn the_simulated_price_feed_is_the_local_default_and_refused_in_staging_and_prod() {
    let (dev, problems) = load_vars(&[]);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(dev.core.flash.price_feed.source, Some(PriceSource::Simulated { seed: 1 }));
    let (prod, problems) = load_vars(&prod_vars());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(prod.core.flash.price_feed.source, None, "nothing invents ticks in prod");
    for profile in ["prod", "staging"] {
        let vars = with(with(prod_vars(), "KAIROS_PROFILE", profile), "KAIROS_FLASH__PRICE_FEED", "simulated");
        let (_, problems) = load_vars(&vars);
        assert_eq!(variables(&problems), ["KAIROS_FLASH__PRICE_FEED"], "{profile}");
        assert!(problems[0].message.contains("dev and tests only"), "{problems:?}");
    }
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_FLASH__PRICE_FEED", "ftp://feed"));
    assert_eq!(variables(&problems), ["KAIROS_FLASH__PRICE_FEED"]);
    let url = "https://pro-api.coingecko.com/api/v3/simple/price";
    let vars = with(with(prod_vars(), "KAIROS_FLASH__PRICE_FEED", url), "KAIROS_FLASH__PRICE_FEED_API_KEY", "cg-key-1");
    let (s, problems) = load_vars(&vars);
    assert!(problems.is_empty(), "{problems:?}");
    let Some(PriceSource::Http { url: got, api_key, vs_currency }) = &s.core.flash.price_feed.source else {
        panic!("an http feed: {:?}", s.core.flash.price_feed.source);
    };
    assert_eq!(
        (got.as_str(), api_key.as_ref().map(Secret::expose), vs_currency.as_str()),
        (url, Some("cg-key-1"), "usd")
    );
    assert!(!s.describe().iter().any(|line| line.contains("cg-key-1")), "the key is never shown");
    let (_, problems) = load_vars(&with(prod_vars(), "KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE", "0"));
    assert_eq!(variables(&problems), ["KAIROS_FLASH__PRICE_FEED_CALLS_PER_MINUTE"]);
}

#[test]
fn the_feed_api_key_goes_in_the_header_its_host_reads() {
    assert_eq!(api_key_header("https://pro-api.coingecko.com/api/v3/simple/price"), "x-cg-pro-api-key");
    assert_eq!(api_key_header("https://api.coingecko.com/api/v3/simple/price"), "x-cg-demo-api-key");
    assert_eq!(api_key_header("http://127.0.0.1:8080/simple/price"), "x-cg-demo-api-key");
    assert_eq!(api_key_header("https://pro-api.coingecko.com.evil.example/x"), "x-cg-demo-api-key");
}
