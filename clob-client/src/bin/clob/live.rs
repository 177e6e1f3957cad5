//! The subcommands that talk to a CLOB, for an operator debugging a live account. Each takes
//! `base_url` (default the production CLOB) and, for account calls, the L2 credentials
//! `api_key`, `secret`, `passphrase` with the signer's `address` or `private_key`.
//!
//! - `book {token_id}`, `market {condition_id}`, `price-history {token_id, interval}`
//! - `derive-api-key` / `create-api-key {private_key, chain_id, nonce?}`
//! - `check-credentials {private_key, chain_id, api_key, nonce?, signature_type?, funder?}`:
//!   says whether the API key belongs to this signer (the most common cause of `401`s), and
//!   whether the signature type and funder can trade (a deposit-wallet account set up as a
//!   plain EOA is refused by the CLOB: "maker address not allowed"); prints the key's deposit
//!   wallet
//! - `orders {cursor?}`, `order {order_id}`, `trades {cursor?}`, `cancel {order_id}`,
//!   `cancel-all`, `balance {asset_type?, token_id?, signature_type?}` (without `asset_type`:
//!   the token's own, `CONDITIONAL-V2` for a Protocol V2 position, or `COLLATERAL`)

use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::deposit_wallet::{self, Severity};
use kairos_clob_client::http::market_data::HistoryWindow;
use kairos_clob_client::http::types::Page;
use kairos_clob_client::http::{ClientConfig, ClobClient};
use kairos_clob_client::positions::AssetType;
use serde_json::{Value, json};

use super::{text, u64_of};

pub(crate) const COMMANDS: [&str; 13] = [
    "book",
    "market",
    "price-history",
    "derive-api-key",
    "create-api-key",
    "check-credentials",
    "orders",
    "order",
    "trades",
    "cancel",
    "cancel-all",
    "balance",
    "closed-only",
];

fn public(v: &Value) -> Result<ClobClient, String> {
    let mut config = ClientConfig::default();
    if let Some(base) = v.get("base_url").and_then(Value::as_str) {
        config.base_url = base.to_string();
    }
    ClobClient::new(config).map_err(|e| e.to_string())
}

fn signer(v: &Value) -> Result<Signer, String> {
    Signer::from_hex(&text(v, "private_key")?).map_err(|e| format!("private_key: {e}"))
}

/// A client with L2 credentials; the signer address comes from `address` or `private_key`.
fn account(v: &Value) -> Result<ClobClient, String> {
    let creds = Credentials::new(text(v, "api_key")?, &text(v, "secret")?, text(v, "passphrase")?)
        .map_err(|e| format!("secret: {e}"))?;
    let address = match v.get("address").and_then(Value::as_str) {
        Some(a) => a.to_string(),
        None => {
            signer(v).map_err(|_| "give the signer's `address` or `private_key`".to_string())?.address().to_string()
        }
    };
    Ok(public(v)?.with_l2(creds, address))
}

fn cursor(v: &Value) -> String {
    v.get("cursor").and_then(Value::as_str).unwrap_or(Page::<Value>::FIRST).to_string()
}

fn out<T: serde::Serialize>(r: Result<T, kairos_clob_client::http::ClobError>) -> Result<Value, String> {
    let value = r.map_err(|e| e.to_string())?;
    serde_json::to_value(value).map_err(|e| e.to_string())
}

pub(crate) async fn run(command: &str, v: &Value) -> Result<Value, String> {
    match command {
        "book" => out(public(v)?.book(&text(v, "token_id")?).await),
        "market" => out(public(v)?.market(&text(v, "condition_id")?).await),
        "price-history" => {
            let window = HistoryWindow::Interval(text(v, "interval").unwrap_or_else(|_| "1d".to_string()));
            out(public(v)?.prices_history(&text(v, "token_id")?, &window, None).await)
        }
        "derive-api-key" | "create-api-key" => {
            let nonce = u64_of(v, "nonce").unwrap_or(0);
            let creds = public(v)?
                .api_key(&signer(v)?, u64_of(v, "chain_id")?, nonce, command == "create-api-key")
                .await
                .map_err(|e| e.to_string())?;
            Ok(json!({ "apiKey": creds.api_key, "secret": creds.secret, "passphrase": creds.passphrase }))
        }
        "check-credentials" => check_credentials(v).await,
        "orders" => out(account(v)?.open_orders(&cursor(v)).await),
        "order" => out(account(v)?.get_order(&text(v, "order_id")?).await),
        "trades" => out(account(v)?.trades(&cursor(v)).await),
        "cancel" => out(account(v)?.cancel_order(&text(v, "order_id")?).await),
        "cancel-all" => out(account(v)?.cancel_all().await),
        "closed-only" => out(account(v)?.closed_only().await.map(|c| json!({ "closed_only": c }))),
        "balance" => {
            let token = v.get("token_id").and_then(Value::as_str);
            // Without an asset type: COLLATERAL, or the token's own (CONDITIONAL-V2 for a V2 position).
            let asset_type = match (text(v, "asset_type"), token) {
                (Ok(given), _) => given,
                (Err(_), Some(t)) => {
                    let id =
                        kairos_clob_client::eth::U256::from_str_radix(t, 10).map_err(|_| "token_id: a decimal id")?;
                    AssetType::of_token(id).as_str().to_string()
                }
                (Err(_), None) => AssetType::Collateral.as_str().to_string(),
            };
            let signature_type = u64_of(v, "signature_type").unwrap_or(0);
            let signature_type = u8::try_from(signature_type).map_err(|_| "signature_type: 0 to 3".to_string())?;
            out(account(v)?.balance_allowance(&asset_type, token, signature_type).await)
        }
        other => Err(format!("unknown subcommand {other:?}")),
    }
}

/// The API key against the signer, then the account's settings against what the CLOB accepts.
async fn check_credentials(v: &Value) -> Result<Value, String> {
    let s = signer(v)?;
    let given = text(v, "api_key")?;
    let nonce = u64_of(v, "nonce").unwrap_or(0);
    let chain_id = u64_of(v, "chain_id")?;
    let signature_type =
        u8::try_from(u64_of(v, "signature_type").unwrap_or(0)).map_err(|_| "signature_type: 0 to 3")?;
    let funder = match v.get("funder").and_then(Value::as_str) {
        Some(f) => Some(f.parse::<kairos_clob_client::eth::Address>().map_err(|e| format!("funder: {e}"))?),
        None => None,
    };
    let derived = public(v)?.api_key(&s, chain_id, nonce, false).await.map_err(|e| e.to_string())?;
    if derived.api_key != given {
        return Err(format!(
            "the API key {given} does not belong to the signer {} (nonce {nonce}): its key is {}; sign with the key that created the credentials, or derive them again",
            s.address(),
            derived.api_key
        ));
    }
    let findings = deposit_wallet::check_account(s.address(), signature_type, funder, chain_id);
    let errors: Vec<&str> =
        findings.iter().filter(|f| f.severity == Severity::Error).map(|f| f.message.as_str()).collect();
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let wallet = deposit_wallet::derive(s.address(), chain_id)
        .map(|w| json!({ "current": w.current.to_string(), "legacy": w.legacy.to_string() }));
    let warnings: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    Ok(json!({
        "ok": true,
        "address": s.address().to_string(),
        "signature_type": signature_type,
        "maker": funder.unwrap_or(s.address()).to_string(),
        "deposit_wallet": wallet,
        "warnings": warnings,
    }))
}
