//! `kairos-api preflight`: the API's config aspects (listener, secrets) on top of what every
//! binary checks (`kairos_ops`), its stores, the clock, the probes of the venues and chain it
//! has configured and, with `--url`, a running instance's readiness and websocket auth.
//!
//! The auth check needs a valid token. Given none (`--token`), preflight signs one with the
//! deployment's JWT secret for a reserved user whose wallet is a curve point derived from a
//! hash ([`preflight_wallet`]): no one holds its private key, so no one can sign in as it, and
//! it has the plain `user` role and no collateral.

use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use kairos_domain::Role;
use kairos_ops::config_checks::{Aspect, config_checks, core_aspects};
use kairos_ops::probes::{RetryPolicy, configured, probe_checks};
use kairos_ops::{Check, Report, Status, clock, server_checks, store_checks};
use kairos_platform::config::{ApiSettings, Origin, POLYMARKET_REQUIRED, Problem};
use kairos_platform::storage::Db;
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::users;
use sha2::{Digest as _, Sha256};

use crate::access::jwt::{self, Keys};

/// What `--url` and `--token` ask for.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Base URL of a running instance (`http://127.0.0.1:8080`).
    pub url: Option<String>,
    /// A token to open the websocket with; one is signed when absent.
    pub token: Option<String>,
}

/// The whole report.
pub async fn run(settings: &ApiSettings, problems: &[Problem], target: &Target) -> Report {
    let mut aspects = core_aspects(&settings.core);
    aspects.extend(api_aspects(settings));
    let mut checks = config_checks(problems, &aspects);
    let writer = kairos_platform::host::process_name();
    let polymarket = settings.polymarket.as_ref().map(|p| (p.clob_base_url.as_str(), p.ws_url.as_str()));
    let deps = configured(&settings.core, polymarket);
    let (database, redis, time, probes, server, backup) = tokio::join!(
        store_checks::database_checks(&settings.core, &writer),
        store_checks::redis_check(&settings.core),
        clock::time_check(&settings.core),
        probe_checks(&deps, RetryPolicy::DEFAULT),
        server(settings, target),
        kairos_ops::backup::recency_check(&settings.core),
    );
    checks.extend(database);
    checks.push(redis);
    checks.push(time);
    checks.push(backup);
    if deps.is_empty() {
        checks.push(Check::pass("probes", "no venue or chain configured (paper venue only): nothing to probe"));
    }
    checks.extend(probes);
    checks.extend(server);
    Report::new(checks)
}

fn api_aspects(settings: &ApiSettings) -> Vec<Aspect> {
    let origin =
        |name: &str| settings.core.origins.iter().find(|(v, _)| *v == name).map_or(Origin::Default, |(_, o)| *o);
    let local = settings.core.profile.is_local();
    let bind = Aspect {
        name: "config.bind",
        variables: vec!["KAIROS_BIND", "KAIROS_INTERNAL_BIND", "KAIROS_ADVERTISE_URL", "KAIROS_INSTANCE_ID"],
        status: Status::Pass,
        detail: if origin("KAIROS_BIND") == Origin::Default {
            format!("listens on {} (the {} default)", settings.bind, settings.core.profile.as_str())
        } else {
            format!("listens on {} (set explicitly); internal listener {}", settings.bind, settings.internal_bind)
        },
    };
    let generated = ["KAIROS_JWT_SECRET", "KAIROS_MASTER_KEY"].iter().any(|v| origin(v) == Origin::Generated);
    let mut variables =
        vec!["KAIROS_JWT_SECRET", "KAIROS_JWT_SECRET_PREVIOUS", "KAIROS_MASTER_KEY", "KAIROS_MASTER_KEY_PREVIOUS"];
    variables.extend(POLYMARKET_REQUIRED);
    variables.extend(["KAIROS_POLYMARKET__SIGNATURE_TYPE", "KAIROS_POLYMARKET__CHAIN_ID"]);
    let kid = settings.jwt_secret.as_ref().map_or_else(|| "?".to_string(), |s| jwt::kid(s.expose()));
    let mut detail = format!("JWT secret present (kid {kid}), master key present");
    if let Some(previous) = &settings.jwt_secret_previous {
        detail.push_str(&format!("; rotating: tokens of kid {} still verify", jwt::kid(previous.expose())));
    }
    if settings.master_key_previous.is_some() {
        detail.push_str(
            "; master key rotating: run `kairos-api api-keys reencrypt`, then unset KAIROS_MASTER_KEY_PREVIOUS",
        );
    }
    detail.push_str(if settings.polymarket.is_some() {
        "; Polymarket venue on (all four credentials set)"
    } else {
        "; Polymarket venue off (no credentials)"
    });
    let secrets = if generated && local {
        Aspect {
            name: "config.secrets",
            variables,
            status: Status::Warn,
            detail: format!(
                "{detail}; generated for this machine in {}: a deployment sets its own",
                settings.core.local_secrets_path().map(|p| p.display().to_string()).unwrap_or_default()
            ),
        }
    } else {
        Aspect { name: "config.secrets", variables, status: Status::Pass, detail }
    };
    vec![bind, secrets]
}

async fn server(settings: &ApiSettings, target: &Target) -> Vec<Check> {
    let Some(url) = &target.url else {
        return vec![Check::warn(
            "auth.websocket",
            "not checked: pass --url http://HOST:PORT of a running instance to check readiness and websocket auth",
        )];
    };
    let token = match &target.token {
        Some(t) => t.clone(),
        None => match preflight_token(settings).await {
            Ok(t) => t,
            Err(e) => {
                return vec![
                    server_checks::ready_check(url).await,
                    Check::fail("auth.websocket", format!("cannot sign a token for the check: {e}; or pass --token")),
                ];
            }
        },
    };
    let (ready, auth) = tokio::join!(server_checks::ready_check(url), server_checks::websocket_auth_check(url, &token));
    vec![ready, auth]
}

/// A token for the reserved preflight user, created (and audited) on first use.
async fn preflight_token(settings: &ApiSettings) -> Result<String, String> {
    let secret = settings.jwt_secret.as_ref().ok_or("no JWT secret configured")?;
    let db = tokio::time::timeout(Duration::from_secs(5), Db::connect(settings.core.database_url.expose(), 1))
        .await
        .map_err(|_| "the database did not answer".to_string())?
        .map_err(|e| e.to_string())?;
    let wallet = preflight_wallet();
    let result = async {
        let (user, created) =
            users::get_or_create_by_wallet(&db, &wallet, Role::User).await.map_err(|e| e.to_string())?;
        if created {
            let entry = AuditEntry {
                actor: "preflight".to_string(),
                action: "user.create".to_string(),
                target: Some(format!("user:{}", user.id)),
                request_id: None,
                before: None,
                after: Some(
                    serde_json::json!({ "wallet": wallet, "role": "user", "purpose": "preflight auth check" })
                        .to_string(),
                ),
            };
            audit_log::append(&db, &entry).await.map_err(|e| e.to_string())?;
        }
        let keys = Keys::new(secret, settings.jwt_secret_previous.as_ref());
        crate::access::sessions::bootstrap_token(&keys, &user.id, user.role)
    }
    .await;
    db.close().await;
    result
}

/// The reserved preflight user's wallet: the first SHA-256 of `kairos preflight user <n>` that
/// is a valid ed25519 point of large order. A hash has no known discrete logarithm, so no
/// private key signs for it.
pub fn preflight_wallet() -> String {
    (0u32..)
        .map(|n| Sha256::digest(format!("kairos preflight user {n}").as_bytes()))
        .find_map(|h| {
            let bytes: [u8; 32] = h.into();
            VerifyingKey::from_bytes(&bytes).ok().filter(|k| !k.is_weak()).map(|_| bs58::encode(bytes).into_string())
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_preflight_wallet_is_a_stable_valid_wallet() {
        let wallet = super::preflight_wallet();
        assert_eq!(wallet, super::preflight_wallet());
        assert!(crate::access::wallet::parse_wallet(&wallet).is_ok(), "{wallet}");
    }
}
