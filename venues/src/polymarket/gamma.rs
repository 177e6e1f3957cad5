//! Polymarket's public Gamma market format (what `GET /markets` of the Gamma API returns),
//! read into [`NewMarket`]s for `kairos-api markets import FILE`. Numbers are read from their
//! literal text, never through a float.

use serde::Deserialize;
use serde_json::value::RawValue;

use kairos_domain::{
    MarketProtocol, MarketStatus, NewMarket, Outcome, Price, Size, Venue, parse_micros, parse_rfc3339_us,
};

/// One market as Gamma serves it; only the fields Kairos uses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GammaMarket {
    id: Option<Box<RawValue>>,
    question: Option<String>,
    condition_id: Option<String>,
    slug: Option<String>,
    description: Option<String>,
    end_date: Option<String>,
    /// A JSON-encoded string array (`"[\"Yes\", \"No\"]"`), or an array.
    outcomes: Option<Box<RawValue>>,
    clob_token_ids: Option<Box<RawValue>>,
    /// `"v1"` (CTF, ids in `clobTokenIds`) or `"v2"` (Protocol V2, ids in `positionIds`);
    /// absent in exports from before Protocol V2, which were all CTF markets.
    version: Option<String>,
    position_ids: Option<Box<RawValue>>,
    active: Option<bool>,
    closed: Option<bool>,
    archived: Option<bool>,
    order_price_min_tick_size: Option<Box<RawValue>>,
    order_min_size: Option<Box<RawValue>>,
}

#[derive(Debug, Deserialize)]
struct Wrapped {
    markets: Option<Vec<GammaMarket>>,
}

/// Tick size when Gamma does not give one: Polymarket's default, 0.01.
const DEFAULT_TICK_MICROS: i64 = 10_000;
/// Minimum size when Gamma does not give one: one share.
const DEFAULT_MIN_SIZE_MICROS: i64 = 1_000_000;

/// Why a Gamma file cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum GammaError {
    #[error("not a Gamma market list: {0}")]
    NotAList(#[source] serde_json::Error),
    #[error("not a Gamma market: {0}")]
    NotAMarket(#[source] serde_json::Error),
    #[error("market #{index}: {reason}")]
    Market { index: usize, reason: String },
}

/// Parses a file: an array of Gamma markets, `{"markets": [...]}`, or one market. Every market
/// must be valid; the first invalid one is named in the error (nothing is imported then).
pub fn parse_markets(text: &str, venue: Venue) -> Result<Vec<NewMarket>, GammaError> {
    let trimmed = text.trim_start();
    let markets: Vec<GammaMarket> = if trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(GammaError::NotAList)?
    } else {
        match serde_json::from_str::<Wrapped>(text) {
            Ok(Wrapped { markets: Some(list) }) => list,
            _ => vec![serde_json::from_str(text).map_err(GammaError::NotAMarket)?],
        }
    };
    markets
        .into_iter()
        .enumerate()
        .map(|(index, m)| convert(m, venue).map_err(|reason| GammaError::Market { index, reason }))
        .collect()
}

fn convert(m: GammaMarket, venue: Venue) -> Result<NewMarket, String> {
    let question = m.question.filter(|q| !q.trim().is_empty()).ok_or("has no question")?;
    let id = m.id.as_deref().map(raw_text).transpose()?;
    let external_id = m.condition_id.filter(|c| !c.is_empty()).or(id);
    let slug = m.slug.filter(|s| !s.is_empty()).or_else(|| external_id.clone()).ok_or("has no slug or id")?;
    let labels = string_list(m.outcomes.as_deref(), "outcomes")?.ok_or("has no outcomes")?;
    // The id field follows `version`, even when both are present (Polymarket's "V2 API
    // integrations" page): the other list names other assets.
    let protocol = match m.version.as_deref() {
        None => MarketProtocol::CtfV1,
        Some(v) => v.parse::<MarketProtocol>().map_err(|e| format!("{slug}: {e}"))?,
    };
    let id_field = match protocol {
        MarketProtocol::CtfV1 => "clobTokenIds",
        MarketProtocol::PositionsV2 => "positionIds",
    };
    let tokens = match protocol {
        MarketProtocol::CtfV1 => string_list(m.clob_token_ids.as_deref(), id_field)?,
        MarketProtocol::PositionsV2 => Some(
            string_list(m.position_ids.as_deref(), id_field)?
                .ok_or(format!("{slug}: a v2 market has no positionIds"))?,
        ),
    };
    if let Some(tokens) = &tokens
        && tokens.len() != labels.len()
    {
        return Err(format!("{slug}: {} outcomes but {} {id_field}", labels.len(), tokens.len()));
    }
    let outcomes = labels
        .into_iter()
        .enumerate()
        .map(|(i, label)| {
            Ok(Outcome {
                index: u32::try_from(i).map_err(|_| "too many outcomes".to_string())?,
                label,
                external_id: tokens.as_ref().map(|t| t[i].clone()),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let status = if m.closed.unwrap_or(false) || m.archived.unwrap_or(false) {
        MarketStatus::Closed
    } else if m.active.unwrap_or(true) {
        MarketStatus::Open
    } else {
        MarketStatus::Suspended
    };
    let tick_size_micros =
        decimal(m.order_price_min_tick_size.as_deref(), "orderPriceMinTickSize")?.unwrap_or(DEFAULT_TICK_MICROS);
    let min_size_micros = decimal(m.order_min_size.as_deref(), "orderMinSize")?.unwrap_or(DEFAULT_MIN_SIZE_MICROS);
    let end_time_us = match m.end_date.filter(|d| !d.is_empty()) {
        Some(d) => Some(parse_rfc3339_us(&d).ok_or_else(|| format!("{slug}: endDate {d:?} is not RFC 3339"))?),
        None => None,
    };
    let market = NewMarket {
        venue,
        external_id,
        slug,
        question,
        description: m.description.unwrap_or_default(),
        status,
        tick_size: Price::from_micros(tick_size_micros),
        min_size: Size::from_micros(min_size_micros),
        end_time_us,
        protocol: (venue == Venue::Polymarket).then_some(protocol),
        is_sample: false,
        outcomes,
    };
    market.validate().map_err(|e| e.to_string())?;
    Ok(market)
}

/// A number or string literal as text (`12`, `"12"` → `12`).
fn raw_text(raw: &RawValue) -> Result<String, String> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str::<String>(text).map_err(|e| e.to_string())
    } else if text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        Ok(text.to_string())
    } else {
        Err(format!("expected a number or a string, got {text}"))
    }
}

fn decimal(raw: Option<&RawValue>, field: &str) -> Result<Option<i64>, String> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.get() == "null" {
        return Ok(None);
    }
    let text = raw_text(raw).map_err(|e| format!("{field}: {e}"))?;
    parse_micros(&text).map(Some).map_err(|e| format!("{field}: {e}"))
}

/// Gamma encodes lists as JSON strings holding a JSON array; accept a plain array too.
fn string_list(raw: Option<&RawValue>, field: &str) -> Result<Option<Vec<String>>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    let inner: String = if text.starts_with('"') {
        serde_json::from_str(text).map_err(|e| format!("{field}: {e}"))?
    } else {
        text.to_string()
    };
    serde_json::from_str::<Vec<String>>(&inner)
        .map(Some)
        .map_err(|e| format!("{field}: expected a list of strings: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"[{
        "id": "253591",
        "question": "Will it rain in Lisbon on 1 Dec?",
        "conditionId": "0xabc",
        "slug": "rain-lisbon-dec-1",
        "description": "Resolves YES if...",
        "endDate": "2026-12-01T12:00:00Z",
        "outcomes": "[\"Yes\", \"No\"]",
        "outcomePrices": "[\"0.5\", \"0.5\"]",
        "clobTokenIds": "[\"111\", \"222\"]",
        "active": true,
        "closed": false,
        "orderPriceMinTickSize": 0.001,
        "orderMinSize": 5
    }]"#;

    #[test]
    fn reads_gamma_markets_exactly() {
        let markets = parse_markets(SAMPLE, Venue::Polymarket).expect("parse");
        assert_eq!(markets.len(), 1);
        let m = &markets[0];
        assert_eq!(m.external_id.as_deref(), Some("0xabc"));
        assert_eq!(m.tick_size, Price::from_micros(1_000));
        assert_eq!(m.min_size, Size::from_micros(5_000_000));
        assert_eq!(m.status, MarketStatus::Open);
        assert_eq!(m.outcomes[1].label, "No");
        assert_eq!(m.outcomes[1].external_id.as_deref(), Some("222"));
        assert_eq!(m.end_time_us, parse_rfc3339_us("2026-12-01T12:00:00Z"));
    }

    #[test]
    fn a_protocol_v2_market_keeps_its_version_and_position_ids() {
        let v2 = SAMPLE.replace(
            "\"clobTokenIds\": \"[\\\"111\\\", \\\"222\\\"]\",",
            "\"clobTokenIds\": \"[\\\"111\\\", \\\"222\\\"]\", \"version\": \"v2\", \"positionIds\": [\"333\", \"444\"],",
        );
        assert_ne!(v2, SAMPLE);
        let m = &parse_markets(&v2, Venue::Polymarket).expect("v2")[0];
        assert_eq!(m.protocol, Some(MarketProtocol::PositionsV2));
        assert_eq!(m.outcomes[0].external_id.as_deref(), Some("333"), "positionIds, not clobTokenIds");
        assert_eq!(m.outcomes[1].external_id.as_deref(), Some("444"));
        let v1 = &parse_markets(SAMPLE, Venue::Polymarket).expect("v1")[0];
        assert_eq!(v1.protocol, Some(MarketProtocol::CtfV1), "no version: an export from before V2");
        assert_eq!(parse_markets(SAMPLE, Venue::Paper).expect("paper")[0].protocol, None);
        let missing = v2.replace("\"positionIds\": [\"333\", \"444\"],", "");
        let err = parse_markets(&missing, Venue::Polymarket).expect_err("no position ids").to_string();
        assert!(err.contains("positionIds"), "{err}");
        let unknown = v2.replace("\"v2\"", "\"v9\"");
        let err = parse_markets(&unknown, Venue::Polymarket).expect_err("unknown version").to_string();
        assert!(err.contains("v9"), "{err}");
    }

    #[test]
    fn accepts_a_wrapped_list_and_a_single_market() {
        let one = SAMPLE.trim().trim_start_matches('[').trim_end_matches(']');
        assert_eq!(parse_markets(one, Venue::Paper).expect("single").len(), 1);
        let wrapped = format!("{{\"markets\": {SAMPLE}}}");
        assert_eq!(parse_markets(&wrapped, Venue::Paper).expect("wrapped").len(), 1);
    }

    #[test]
    fn names_the_bad_market() {
        let bad = SAMPLE.replace("\"[\\\"111\\\", \\\"222\\\"]\"", "\"[\\\"111\\\"]\"");
        let err = parse_markets(&bad, Venue::Polymarket).expect_err("mismatch").to_string();
        assert!(err.contains("market #0") && err.contains("clobTokenIds"), "{err}");
        let err = parse_markets(&SAMPLE.replace("0.001", "1.5"), Venue::Polymarket).expect_err("tick").to_string();
        assert!(err.contains("tick"), "{err}");
        assert!(parse_markets("{\"nope\": 1}", Venue::Polymarket).is_err());
        assert!(parse_markets("not json", Venue::Polymarket).is_err());
    }
}
