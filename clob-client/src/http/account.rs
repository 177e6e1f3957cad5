//! The account endpoints beyond trading: API-key management (read-only and builder keys
//! included), the closed-only ban flag, notifications, order scoring, rewards, and the
//! balance cache refresh a deposit needs. All L2 except the public rewards listings.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::ClobError;
use super::client::{Auth, ClobClient};
use super::types::Page;

/// `GET /auth/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ApiKeys {
    #[serde(rename = "apiKeys", default)]
    pub api_keys: Vec<String>,
}

fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={v}"))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// Some calls answer with an empty body.
fn decode_or_null(text: &str) -> Result<serde_json::Value, ClobError> {
    if text.trim().is_empty() { Ok(serde_json::Value::Null) } else { ClobClient::decode(text) }
}

impl ClobClient {
    pub async fn api_keys(&self) -> Result<ApiKeys, ClobError> {
        Self::decode(&self.idempotent(Method::GET, "/auth/api-keys", None, Auth::L2).await?)
    }

    /// Deletes the key this client signs with.
    pub async fn delete_api_key(&self) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.idempotent(Method::DELETE, "/auth/api-key", None, Auth::L2).await?)
    }

    /// Whether the account may only close positions.
    pub async fn closed_only(&self) -> Result<bool, ClobError> {
        let v: serde_json::Value =
            Self::decode(&self.idempotent(Method::GET, "/auth/ban-status/closed-only", None, Auth::L2).await?)?;
        v["closed_only"].as_bool().ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    /// A read-only key (sent once: a lost answer is not retried into a second key).
    pub async fn create_readonly_api_key(&self) -> Result<String, ClobError> {
        let v: serde_json::Value =
            Self::decode(&self.send(Method::POST, "/auth/readonly-api-key", None, Auth::L2).await?)?;
        v["apiKey"].as_str().map(str::to_string).ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    pub async fn readonly_api_keys(&self) -> Result<Vec<String>, ClobError> {
        Self::decode(&self.idempotent(Method::GET, "/auth/readonly-api-keys", None, Auth::L2).await?)
    }

    pub async fn delete_readonly_api_key(&self, key: &str) -> Result<bool, ClobError> {
        let body = serde_json::json!({ "key": key }).to_string();
        Self::decode(&self.idempotent(Method::DELETE, "/auth/readonly-api-key", Some(&body), Auth::L2).await?)
    }

    pub async fn create_builder_api_key(&self) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.send(Method::POST, "/auth/builder-api-key", None, Auth::L2).await?)
    }

    pub async fn builder_api_keys(&self) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.idempotent(Method::GET, "/auth/builder-api-key", None, Auth::L2).await?)
    }

    pub async fn revoke_builder_api_key(&self) -> Result<serde_json::Value, ClobError> {
        Self::decode(&self.idempotent(Method::DELETE, "/auth/builder-api-key", None, Auth::L2).await?)
    }

    pub async fn notifications(&self, signature_type: u8) -> Result<Vec<serde_json::Value>, ClobError> {
        let path = format!("/notifications?signature_type={signature_type}");
        Self::decode(&self.idempotent(Method::GET, &path, None, Auth::L2).await?)
    }

    pub async fn drop_notifications(&self, ids: &[&str]) -> Result<serde_json::Value, ClobError> {
        let path = format!("/notifications?ids={}", ids.join(","));
        decode_or_null(&self.idempotent(Method::DELETE, &path, None, Auth::L2).await?)
    }

    /// Whether an order counts for liquidity rewards.
    pub async fn order_scoring(&self, order_id: &str) -> Result<bool, ClobError> {
        let v: serde_json::Value = Self::decode(
            &self.idempotent(Method::GET, &format!("/order-scoring?order_id={order_id}"), None, Auth::L2).await?,
        )?;
        v["scoring"].as_bool().ok_or_else(|| ClobError::Decode(v.to_string()))
    }

    pub async fn orders_scoring(
        &self,
        order_ids: &[&str],
    ) -> Result<std::collections::BTreeMap<String, bool>, ClobError> {
        let body = serde_json::to_string(order_ids).map_err(|e| ClobError::Decode(e.to_string()))?;
        Self::decode(&self.idempotent(Method::POST, "/orders-scoring", Some(&body), Auth::L2).await?)
    }

    /// Refreshes the exchange's cached balance and allowance (after a deposit or a wrap).
    pub async fn update_balance_allowance(
        &self,
        asset_type: &str,
        token_id: Option<&str>,
        signature_type: u8,
    ) -> Result<serde_json::Value, ClobError> {
        let sig = signature_type.to_string();
        let q = query(&[("asset_type", Some(asset_type)), ("token_id", token_id), ("signature_type", Some(&sig))]);
        decode_or_null(&self.idempotent(Method::GET, &format!("/balance-allowance/update{q}"), None, Auth::L2).await?)
    }

    /// `GET /rewards/user{suffix}` for one day (`YYYY-MM-DD`): `""` for earnings by market,
    /// `"/total"`, `"/percentages"` or `"/markets"`.
    pub async fn user_rewards(
        &self,
        suffix: &str,
        date: Option<&str>,
        signature_type: u8,
    ) -> Result<serde_json::Value, ClobError> {
        if !["", "/total", "/percentages", "/markets"].contains(&suffix) {
            return Err(ClobError::Decode(format!("no rewards listing {suffix:?}")));
        }
        let sig = signature_type.to_string();
        let q = query(&[("date", date), ("signature_type", Some(&sig))]);
        Self::decode(&self.idempotent(Method::GET, &format!("/rewards/user{suffix}{q}"), None, Auth::L2).await?)
    }

    /// The markets with rewards now (public, paginated).
    pub async fn current_rewards(&self, cursor: &str) -> Result<Page<serde_json::Value>, ClobError> {
        let path =
            format!("/rewards/markets/current{}", query(&[("next_cursor", Some(cursor).filter(|c| !c.is_empty()))]));
        Self::decode(&self.idempotent(Method::GET, &path, None, Auth::Public).await?)
    }

    /// One market's reward configuration (public, paginated).
    pub async fn market_rewards(&self, condition_id: &str, cursor: &str) -> Result<Page<serde_json::Value>, ClobError> {
        let q = query(&[("next_cursor", Some(cursor).filter(|c| !c.is_empty()))]);
        Self::decode(
            &self.idempotent(Method::GET, &format!("/rewards/markets/{condition_id}{q}"), None, Auth::Public).await?,
        )
    }
}
