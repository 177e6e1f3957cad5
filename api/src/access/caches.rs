//! Short-lived caches of what authentication reads per request (keys, users' role and status),
//! so a signed request or a token does not cost a database read each time, and a change
//! (revocation, demotion, suspension) still takes effect within [`KEY_CACHE_TTL`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use kairos_domain::{Role, Scope};
use kairos_platform::locks;
use kairos_platform::storage::{api_keys, users};

use super::*;
use crate::access::key_secrets::MasterKey;
use crate::http::error::ApiError;
use kairos_platform::storage::Db;

/// A key as the verifier needs it, cached briefly so each signed request does not read the
/// database (a revocation takes effect within [`KEY_CACHE_TTL`] on every instance).
#[derive(Debug, Clone)]
pub(crate) struct CachedKey {
    pub(crate) user_id: String,
    pub(crate) role: Role,
    pub(crate) user_active: bool,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) allow: Option<Vec<IpRule>>,
    pub(crate) secret: Vec<u8>,
    pub(crate) revoked: bool,
}

pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Values by id, each kept for [`KEY_CACHE_TTL`]; `None` (not found) is cached too, so an
/// unknown id costs one read a second at most.
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: RwLock<HashMap<String, (Instant, Option<V>)>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache { entries: RwLock::new(HashMap::new()) }
    }
}

impl<V: Clone> TtlCache<V> {
    async fn get_or_load<F>(&self, id: &str, load: F) -> Result<Option<V>, ApiError>
    where
        F: Future<Output = Result<Option<V>, ApiError>>,
    {
        if let Some((at, value)) = locks::read(&self.entries).get(id)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(value.clone());
        }
        let loaded = load.await?;
        {
            let mut entries = locks::write(&self.entries);
            if entries.len() > 100_000 {
                entries.retain(|_, (at, _)| at.elapsed() < KEY_CACHE_TTL);
            }
            entries.insert(id.to_string(), (Instant::now(), loaded.clone()));
        }
        Ok(loaded)
    }

    /// Forgets an id at once on this instance (after a change made here).
    pub fn forget(&self, id: &str) {
        locks::write(&self.entries).remove(id);
    }
}

/// API keys as the verifier needs them.
#[derive(Debug, Default)]
pub struct KeyCache(TtlCache<CachedKey>);

impl KeyCache {
    pub(crate) async fn get(
        &self,
        db: &Db,
        master_key: &MasterKey,
        key_id: &str,
    ) -> Result<Option<CachedKey>, ApiError> {
        self.0.get_or_load(key_id, load_key(db, master_key, key_id)).await
    }

    pub fn forget(&self, key_id: &str) {
        self.0.forget(key_id);
    }
}

pub(crate) async fn load_key(db: &Db, master_key: &MasterKey, key_id: &str) -> Result<Option<CachedKey>, ApiError> {
    let Some(key) = api_keys::get(db, key_id).await? else { return Ok(None) };
    let Some(owner) = users::get(db, &key.user_id).await? else { return Ok(None) };
    let ciphertext = key
        .secret_ciphertext
        .as_deref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("api key {key_id} has no encrypted secret")))?;
    let secret = master_key.decrypt(&key.id, ciphertext).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let scopes = key.scopes.split(',').filter_map(|s| s.parse().ok()).collect();
    let allow = key.ip_allowlist.as_deref().map(|list| list.split(',').filter_map(|s| IpRule::parse(s).ok()).collect());
    Ok(Some(CachedKey {
        user_id: owner.id,
        role: owner.role,
        user_active: owner.status == "active",
        scopes,
        allow,
        secret,
        revoked: key.revoked_at_us.is_some(),
    }))
}

/// A user's role and status (`active`, `suspended`).
pub(crate) type UserState = (Role, String);

/// Users' current role and status (see [`authenticate_token`]).
#[derive(Debug, Default)]
pub struct UserCache(TtlCache<UserState>);

impl UserCache {
    pub(crate) async fn get(&self, db: &Db, user_id: &str) -> Result<Option<UserState>, ApiError> {
        let load = async { Ok(users::get(db, user_id).await?.map(|u| (u.role, u.status))) };
        self.0.get_or_load(user_id, load).await
    }

    pub fn forget(&self, user_id: &str) {
        self.0.forget(user_id);
    }
}
