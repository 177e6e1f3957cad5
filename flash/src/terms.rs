//! A new market's terms from an operator's request: the rule in the program's form, the
//! on-chain id and address, and the schedule. Betting closes at `lock_at`; the oracle observes
//! its ticks after that (so nobody bets while the ticks that decide the market are being
//! observed), then has the resolve window to lock, prove and resolve before the deadline.

use kairos_domain::money::{MoneyError, parse_micros};
use kairos_flash_bets::rule::{MAX_PARAMS, Rule};
use kairos_flash_bets::state::{MAX_SCHEDULE_SECONDS, market_address};
use solana_program::pubkey::Pubkey;

/// How the ticks decide the outcome, prices as decimal strings (at most six decimals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSpec {
    /// Outcome 1 when the last tick is at or above the strike, else 0.
    Threshold { strike: String },
    /// Outcome 1 when the ticks' mean is at or above the strike, else 0.
    Twap { strike: String },
    /// The number of edges at or below the last tick (1 to 8 ascending edges, so 2 to 9
    /// outcomes).
    Buckets { edges: Vec<String> },
}

/// What an operator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketRequest {
    pub rule: RuleSpec,
    /// The price feed's asset id (CoinGecko's: `bitcoin`, `solana`).
    pub symbol: String,
    pub betting_s: i64,
    pub tick_interval_s: i64,
}

/// The deployment's circuit and deadline margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Circuit {
    pub circuit_id: u32,
    pub ticks: u16,
    pub resolve_window_s: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// The 32-byte id the program keys the market by: sixteen zero bytes, then the API id's
    /// sixteen (the first byte must be zero so the id is a BN254 field element).
    pub market_id: [u8; 32],
    pub address: Pubkey,
    pub rule: Rule,
    pub rule_kind: &'static str,
    pub outcome_count: u8,
    pub lock_at_s: i64,
    pub deadline_s: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> TermsError {
    TermsError::Invalid { field, reason: reason.into() }
}

/// A price in micro-units: positive, at most six decimals.
fn price(field: &'static str, text: &str) -> Result<u64, TermsError> {
    let micros = parse_micros(text).map_err(|e: MoneyError| invalid(field, e.to_string()))?;
    u64::try_from(micros).ok().filter(|m| *m > 0).ok_or_else(|| invalid(field, "must be above zero"))
}

/// The program's rule for a spec.
pub fn rule(spec: &RuleSpec) -> Result<(Rule, &'static str), TermsError> {
    Ok(match spec {
        RuleSpec::Threshold { strike } => (Rule::threshold(price("rule.strike", strike)?), "threshold"),
        RuleSpec::Twap { strike } => (Rule::twap(price("rule.strike", strike)?), "twap"),
        RuleSpec::Buckets { edges } => {
            if edges.is_empty() || edges.len() > MAX_PARAMS {
                return Err(invalid("rule.edges", format!("takes 1 to {MAX_PARAMS} edges")));
            }
            let edges = edges.iter().map(|e| price("rule.edges", e)).collect::<Result<Vec<_>, _>>()?;
            let rule = Rule::buckets(&edges).map_err(|_| invalid("rule.edges", "must be strictly ascending"))?;
            (rule, "buckets")
        }
    })
}

/// The program's rule from what the database stores (`rule_kind`, `rule_params`).
pub fn stored_rule(kind: &str, params: &[u64]) -> Option<Rule> {
    match (kind, params) {
        ("threshold", [strike]) => Some(Rule::threshold(*strike)),
        ("twap", [strike]) => Some(Rule::twap(*strike)),
        ("buckets", edges) => Rule::buckets(edges).ok(),
        _ => None,
    }
}

/// The on-chain id for an API id (a UUID).
pub fn market_id(id: &uuid::Uuid) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[16..].copy_from_slice(id.as_bytes());
    out
}

/// The terms of a market opened at `now_s` with API id `id`.
pub fn terms(
    request: &MarketRequest,
    circuit: Circuit,
    program_id: &Pubkey,
    id: &uuid::Uuid,
    now_s: i64,
) -> Result<Terms, TermsError> {
    let symbol = &request.symbol;
    let symbol_ok = (1..=64).contains(&symbol.len())
        && symbol.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !symbol_ok {
        return Err(invalid("symbol", "must be the feed's asset id: 1 to 64 of a-z, 0-9, '-', '_', '.'"));
    }
    let (rule, rule_kind) = rule(&request.rule)?;
    if !(10..=MAX_SCHEDULE_SECONDS).contains(&request.betting_s) {
        return Err(invalid("betting_s", format!("must be between 10 and {MAX_SCHEDULE_SECONDS} seconds")));
    }
    if !(1..=3_600).contains(&request.tick_interval_s) {
        return Err(invalid("tick_interval_s", "must be between 1 and 3600 seconds"));
    }
    let observing = i64::from(circuit.ticks) * request.tick_interval_s;
    let after_lock = observing + circuit.resolve_window_s;
    if after_lock > MAX_SCHEDULE_SECONDS {
        return Err(invalid(
            "tick_interval_s",
            format!(
                "{} ticks at this interval plus the {} s resolve window exceed the program's {MAX_SCHEDULE_SECONDS} s",
                circuit.ticks, circuit.resolve_window_s
            ),
        ));
    }
    let market_id = market_id(id);
    let lock_at_s = now_s + request.betting_s;
    Ok(Terms {
        market_id,
        address: market_address(program_id, &market_id).0,
        rule,
        rule_kind,
        outcome_count: rule.outcome_count(),
        lock_at_s,
        deadline_s: lock_at_s + after_lock,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIRCUIT: Circuit = Circuit { circuit_id: 1, ticks: 16, resolve_window_s: 120 };

    fn request(rule: RuleSpec) -> MarketRequest {
        MarketRequest { rule, symbol: "bitcoin".into(), betting_s: 60, tick_interval_s: 5 }
    }

    fn open(r: &MarketRequest) -> Result<Terms, TermsError> {
        terms(r, CIRCUIT, &kairos_flash_bets::ID, &uuid::Uuid::nil(), 1_000)
    }

    #[test]
    fn the_schedule_leaves_the_ticks_after_betting_and_a_window_to_resolve() {
        let t = open(&request(RuleSpec::Threshold { strike: "65000.5".into() })).expect("terms");
        assert_eq!(t.rule, Rule::threshold(65_000_500_000));
        assert_eq!((t.lock_at_s, t.deadline_s), (1_060, 1_060 + 16 * 5 + 120));
        assert_eq!(t.outcome_count, 2);
        assert_eq!(t.market_id[0], 0, "a field element");
        let b = open(&request(RuleSpec::Buckets { edges: vec!["1".into(), "2.5".into()] })).expect("buckets");
        assert_eq!(
            (b.rule, b.outcome_count, b.rule_kind),
            (Rule::buckets(&[1_000_000, 2_500_000]).expect("r"), 3, "buckets")
        );
    }

    #[test]
    fn bad_terms_name_their_field() {
        let field = |r: MarketRequest| match open(&r) {
            Err(TermsError::Invalid { field, .. }) => field,
            Ok(_) => "accepted",
        };
        assert_eq!(field(request(RuleSpec::Twap { strike: "0".into() })), "rule.strike");
        assert_eq!(field(request(RuleSpec::Twap { strike: "1.0000001".into() })), "rule.strike");
        assert_eq!(field(request(RuleSpec::Twap { strike: "-3".into() })), "rule.strike");
        assert_eq!(field(request(RuleSpec::Buckets { edges: vec!["2".into(), "1".into()] })), "rule.edges");
        assert_eq!(field(request(RuleSpec::Buckets { edges: vec![] })), "rule.edges");
        assert_eq!(field(request(RuleSpec::Buckets { edges: vec!["1".into(); 9] })), "rule.edges");
        let ok = request(RuleSpec::Threshold { strike: "1".into() });
        assert_eq!(field(MarketRequest { symbol: "BTC USD".into(), ..ok.clone() }), "symbol");
        assert_eq!(field(MarketRequest { betting_s: 9, ..ok.clone() }), "betting_s");
        assert_eq!(field(MarketRequest { tick_interval_s: 0, ..ok.clone() }), "tick_interval_s");
        assert_eq!(field(MarketRequest { tick_interval_s: 3_601, ..ok.clone() }), "tick_interval_s");
        let long = Circuit { ticks: 64, ..CIRCUIT };
        let r = MarketRequest { tick_interval_s: 1_400, ..ok.clone() };
        assert!(matches!(
            terms(&r, long, &kairos_flash_bets::ID, &uuid::Uuid::nil(), 0),
            Err(TermsError::Invalid { field: "tick_interval_s", .. })
        ));
        assert_eq!(field(ok), "accepted");
    }
}
