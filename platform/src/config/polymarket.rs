//! The Polymarket venue's settings: on only when all four secrets are set.

use std::time::Duration;

use super::Secret;
use super::parser::Parser;

/// The settings that turn the Polymarket venue on; all four secrets or none.
pub const POLYMARKET_REQUIRED: [&str; 4] = [
    "KAIROS_POLYMARKET__API_KEY",
    "KAIROS_POLYMARKET__API_SECRET",
    "KAIROS_POLYMARKET__API_PASSPHRASE",
    "KAIROS_POLYMARKET__PRIVATE_KEY",
];

/// Polymarket CLOB credentials, present only when every required one is set.
#[derive(Debug, Clone)]
pub struct PolymarketCredentials {
    pub api_key: Secret,
    pub api_secret: Secret,
    pub api_passphrase: Secret,
    pub private_key: Secret,
    pub funder: Option<String>,
    pub signature_type: u8,
    pub clob_base_url: String,
    /// The user channel (`wss://…/ws/user`); orders and trades arrive here first.
    pub ws_url: String,
    /// 137 (Polygon) or 80002 (Amoy): picks the exchange contracts orders are signed for.
    pub chain_id: u64,
    /// How often every unsettled order is looked up over REST, whatever the websocket says.
    pub poll: Duration,
    /// How long one CLOB request may take before its outcome counts as unknown.
    pub timeout: Duration,
    /// Orders this instance places on the CLOB per second, all users together (a share of the
    /// omnibus account's order bucket; cancels have their own and are never counted here).
    pub orders_per_second: u32,
    /// The part of `orders_per_second` one user may take, in percent.
    pub user_share_percent: u32,
}

/// The Polymarket credentials when all required ones are set; a partial set is a problem
/// (half-configured credentials must not silently leave the venue off).
pub(super) fn polymarket_credentials(p: &mut Parser<'_>) -> Option<PolymarketCredentials> {
    let values: Vec<Option<String>> = POLYMARKET_REQUIRED.iter().map(|v| p.optional(v)).collect();
    let funder = p.optional("KAIROS_POLYMARKET__FUNDER");
    let signature_type = p.parse("KAIROS_POLYMARKET__SIGNATURE_TYPE", || 0u8);
    if signature_type > 3 {
        p.problem(
            "KAIROS_POLYMARKET__SIGNATURE_TYPE",
            "must be 0 (EOA), 1 (POLY_PROXY), 2 (GNOSIS_SAFE) or 3 (POLY_1271)",
        );
    }
    let clob_base_url = p.string("KAIROS_POLYMARKET__CLOB_BASE_URL", || "https://clob.polymarket.com".to_string());
    let ws_url =
        p.string("KAIROS_POLYMARKET__WS_URL", || "wss://ws-subscriptions-clob.polymarket.com/ws/user".to_string());
    let chain_id = p.parse("KAIROS_POLYMARKET__CHAIN_ID", || 137u64);
    if chain_id != 137 && chain_id != 80002 {
        p.problem("KAIROS_POLYMARKET__CHAIN_ID", "must be 137 (Polygon) or 80002 (Amoy)");
    }
    let poll = Duration::from_millis(p.parse("KAIROS_POLYMARKET__POLL_MS", || 5_000u64));
    if poll < Duration::from_millis(100) {
        p.problem("KAIROS_POLYMARKET__POLL_MS", "must be at least 100");
    }
    let timeout = Duration::from_millis(p.parse("KAIROS_POLYMARKET__TIMEOUT_MS", || 10_000u64));
    if timeout < Duration::from_millis(100) {
        p.problem("KAIROS_POLYMARKET__TIMEOUT_MS", "must be at least 100");
    }
    let orders_per_second = p.parse("KAIROS_POLYMARKET__ORDERS_PER_SECOND", || 20u32);
    if orders_per_second == 0 {
        p.problem("KAIROS_POLYMARKET__ORDERS_PER_SECOND", "must be at least 1");
    }
    let user_share_percent = p.parse("KAIROS_POLYMARKET__USER_SHARE_PERCENT", || 25u32);
    if !(1..=100).contains(&user_share_percent) {
        p.problem("KAIROS_POLYMARKET__USER_SHARE_PERCENT", "must be between 1 and 100");
    }
    let set = values.iter().filter(|v| v.is_some()).count();
    if set == 0 {
        return None;
    }
    if set < values.len() {
        for (name, value) in POLYMARKET_REQUIRED.iter().zip(&values) {
            if value.is_none() {
                p.problem(name, "is missing: the Polymarket venue needs all of API_KEY, API_SECRET, API_PASSPHRASE and PRIVATE_KEY, or none");
            }
        }
        return None;
    }
    let mut it = values.into_iter().flatten().map(Secret::new);
    Some(PolymarketCredentials {
        api_key: it.next()?,
        api_secret: it.next()?,
        api_passphrase: it.next()?,
        private_key: it.next()?,
        funder,
        signature_type,
        clob_base_url,
        ws_url,
        chain_id,
        poll,
        timeout,
        orders_per_second,
        user_share_percent,
    })
}
