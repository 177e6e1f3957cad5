//! The JSON shape of a market, as `/v1/markets` serves it: amounts as exact decimal strings,
//! times as RFC 3339 UTC.

use kairos_domain::{Market, format_rfc3339_us};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarketStatusParam {
    Open,
    Suspended,
    Closed,
    Resolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VenueParam {
    Paper,
    Polymarket,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeBody {
    /// 0-based index; what orders refer to.
    pub index: u32,
    pub label: String,
    /// The venue's token id, if any.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MarketBody {
    pub id: String,
    pub venue: VenueParam,
    /// The venue's id (Polymarket condition id), if any.
    pub external_id: Option<String>,
    pub slug: String,
    pub question: String,
    pub description: String,
    pub status: MarketStatusParam,
    /// Price increment, decimal string in collateral units (e.g. "0.01").
    #[schema(example = "0.01")]
    pub tick_size: String,
    /// Smallest order size in shares, decimal string.
    #[schema(example = "1")]
    pub min_size: String,
    /// RFC 3339 UTC.
    pub end_time: Option<String>,
    pub resolved_outcome: Option<u32>,
    /// A sample market seeded by the dev profile; not a real market.
    pub is_sample: bool,
    pub outcomes: Vec<OutcomeBody>,
    pub created_at: String,
    pub updated_at: String,
}

/// A page of markets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MarketPage {
    pub data: Vec<MarketBody>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl From<&Market> for MarketBody {
    fn from(m: &Market) -> Self {
        use kairos_domain::{MarketStatus, Venue};
        MarketBody {
            id: m.id.clone(),
            venue: match m.venue {
                Venue::Paper => VenueParam::Paper,
                Venue::Polymarket => VenueParam::Polymarket,
            },
            external_id: m.external_id.clone(),
            slug: m.slug.clone(),
            question: m.question.clone(),
            description: m.description.clone(),
            status: match m.status {
                MarketStatus::Open => MarketStatusParam::Open,
                MarketStatus::Suspended => MarketStatusParam::Suspended,
                MarketStatus::Closed => MarketStatusParam::Closed,
                MarketStatus::Resolved => MarketStatusParam::Resolved,
            },
            tick_size: m.tick_size.to_string(),
            min_size: m.min_size.to_string(),
            end_time: m.end_time_us.map(format_rfc3339_us),
            resolved_outcome: m.resolved_outcome,
            is_sample: m.is_sample,
            outcomes: m
                .outcomes
                .iter()
                .map(|o| OutcomeBody { index: o.index, label: o.label.clone(), external_id: o.external_id.clone() })
                .collect(),
            created_at: format_rfc3339_us(m.created_at_us),
            updated_at: format_rfc3339_us(m.updated_at_us),
        }
    }
}
