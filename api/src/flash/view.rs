//! The JSON shapes of flash markets: amounts as exact decimal strings of collateral units,
//! times as RFC 3339 UTC.

use kairos_domain::format_rfc3339_us;
use kairos_domain::money::format_micros;
use kairos_platform::storage::flash_markets::{FlashMarketRow, PositionRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A market's life: `pending` until a keeper creates it on chain, `open` for bets until
/// `lock_at`, `locked` once the oracle committed to its ticks, then `resolved` with a winning
/// outcome, or `voided` (every stake claimable back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlashStatus {
    Pending,
    Open,
    Locked,
    Resolved,
    Voided,
}

impl FlashStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashStatus::Pending => "pending",
            FlashStatus::Open => "open",
            FlashStatus::Locked => "locked",
            FlashStatus::Resolved => "resolved",
            FlashStatus::Voided => "voided",
        }
    }

    fn parse(s: &str) -> Option<FlashStatus> {
        [Self::Pending, Self::Open, Self::Locked, Self::Resolved, Self::Voided].into_iter().find(|v| v.as_str() == s)
    }
}

/// How the ticks decide the outcome; prices are decimal strings (at most six decimals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RuleBody {
    /// Outcome 1 when the last tick is at or above `strike`, else 0.
    Threshold {
        #[schema(example = "65000.5")]
        strike: String,
    },
    /// Outcome 1 when the mean of the ticks is at or above `strike`, else 0.
    Twap {
        #[schema(example = "65000")]
        strike: String,
    },
    /// Outcome k: the number of `edges` at or below the last tick (1 to 8 ascending edges).
    Buckets { edges: Vec<String> },
}

impl RuleBody {
    pub fn to_spec(&self) -> kairos_flash::RuleSpec {
        match self {
            RuleBody::Threshold { strike } => kairos_flash::RuleSpec::Threshold { strike: strike.clone() },
            RuleBody::Twap { strike } => kairos_flash::RuleSpec::Twap { strike: strike.clone() },
            RuleBody::Buckets { edges } => kairos_flash::RuleSpec::Buckets { edges: edges.clone() },
        }
    }

    fn from_row(kind: &str, params: &[u64]) -> RuleBody {
        let price = |p: &u64| format_micros(i64::try_from(*p).unwrap_or(i64::MAX));
        let first = params.first().map(price).unwrap_or_default();
        match kind {
            "twap" => RuleBody::Twap { strike: first },
            "buckets" => RuleBody::Buckets { edges: params.iter().map(price).collect() },
            _ => RuleBody::Threshold { strike: first },
        }
    }
}

/// The transactions the keepers sent for the market, once they landed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignaturesBody {
    pub create: Option<String>,
    pub lock: Option<String>,
    pub resolve: Option<String>,
    pub void: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlashMarketBody {
    pub id: String,
    /// The market account's address on chain (base58).
    pub address: String,
    pub status: FlashStatus,
    /// The price feed's asset id.
    #[schema(example = "bitcoin")]
    pub symbol: String,
    pub rule: RuleBody,
    pub outcome_count: u32,
    /// Ticks the oracle observes after `lock_at`, one every `tick_interval_s`.
    pub ticks: u32,
    pub tick_interval_s: u32,
    /// Betting closes (RFC 3339 UTC).
    pub lock_at: String,
    /// Resolve by then, or the market is voided (RFC 3339 UTC).
    pub deadline_at: String,
    /// Collateral bet on each outcome, decimal strings.
    pub totals: Vec<String>,
    pub winning_outcome: Option<u32>,
    pub signatures: SignaturesBody,
    /// The oracle's address, once the market is on chain.
    pub oracle: Option<String>,
    /// The oracle's commitment to its ticks (hex), once locked.
    pub commitment: Option<String>,
    pub created_at: String,
}

impl From<&FlashMarketRow> for FlashMarketBody {
    fn from(m: &FlashMarketRow) -> Self {
        let u32_of = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
        FlashMarketBody {
            id: m.id.clone(),
            address: m.address.clone(),
            status: FlashStatus::parse(&m.status).unwrap_or(FlashStatus::Pending),
            symbol: m.symbol.clone(),
            rule: RuleBody::from_row(&m.rule_kind, &m.rule_params),
            outcome_count: u32_of(m.outcome_count),
            ticks: u32_of(m.ticks),
            tick_interval_s: u32_of(m.tick_interval_s),
            lock_at: format_rfc3339_us(m.lock_at_us),
            deadline_at: format_rfc3339_us(m.deadline_at_us),
            totals: m.totals.iter().map(|t| format_micros(i64::try_from(*t).unwrap_or(i64::MAX))).collect(),
            winning_outcome: m.winning_outcome.map(u32_of),
            signatures: SignaturesBody {
                create: m.create_signature.clone(),
                lock: m.lock_signature.clone(),
                resolve: m.resolve_signature.clone(),
                void: m.void_signature.clone(),
            },
            oracle: m.oracle.clone(),
            commitment: m.commitment.clone(),
            created_at: format_rfc3339_us(m.created_at_us),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlashMarketPage {
    pub data: Vec<FlashMarketBody>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionBody {
    /// The wallet (base58).
    pub wallet: String,
    pub outcome: u32,
    /// Collateral staked, decimal string.
    #[schema(example = "25")]
    pub amount: String,
    pub claimed: bool,
}

impl From<&PositionRow> for PositionBody {
    fn from(p: &PositionRow) -> Self {
        PositionBody {
            wallet: p.wallet.clone(),
            outcome: u32::try_from(p.outcome).unwrap_or(u32::MAX),
            amount: format_micros(p.amount),
            claimed: p.claimed,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PositionsBody {
    pub positions: Vec<PositionBody>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_rules_read_back_as_given() {
        for s in
            [FlashStatus::Pending, FlashStatus::Open, FlashStatus::Locked, FlashStatus::Resolved, FlashStatus::Voided]
        {
            assert_eq!(FlashStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).expect("json"), serde_json::json!(s.as_str()));
        }
        assert_eq!(RuleBody::from_row("twap", &[65_000_500_000]), RuleBody::Twap { strike: "65000.5".into() });
        assert_eq!(
            RuleBody::from_row("buckets", &[1_000_000, 2_500_000]),
            RuleBody::Buckets { edges: vec!["1".into(), "2.5".into()] }
        );
        let json = serde_json::to_value(RuleBody::Threshold { strike: "3".into() }).expect("json");
        assert_eq!(json, serde_json::json!({ "kind": "threshold", "strike": "3" }));
    }
}
