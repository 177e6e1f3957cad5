//! The paper venue's durable order log: what each committed batch was given, so `replay` can
//! run the same matching code over it and compare the result with the database. One record per
//! batch, written in the batch's transaction (`platform::storage::paper_log`).
//!
//! What a batch depends on besides its requests is in the record too: the time the sequencer
//! used, the fees and limits in force, the balances it read, the client order ids the database
//! already held, and what entered the exchange from the database ([`Journal`]: markets taken
//! over, order groups loaded, a rebuild).

use kairos_matching::exchange::{Journal, Limits};
use kairos_matching::settlement::Fees;

use super::sequencer::Request;

/// One request as the engine applied it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Step<R> {
    pub request: R,
    /// Whether the engine accepted it (a refusal changes nothing, and a replay must refuse too).
    pub accepted: bool,
}

/// One committed batch. `R` is `&Request` when the sequencer writes and `Request` when the
/// replay reads.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Record<R> {
    pub fees: Fees,
    pub limits: Limits,
    #[serde(default, skip_serializing_if = "Journal::is_empty")]
    pub journal: Journal,
    /// Available balances the batch read: (user, asset, micro-units).
    pub balances: Vec<(String, String, i64)>,
    /// Client order ids the database already held: (user, client order id, order id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<(String, String, String)>,
    pub steps: Vec<Step<R>>,
    /// Whether the batch expired due GTD orders after its requests.
    #[serde(default)]
    pub expire: bool,
}

pub type Written<'a> = Record<&'a Request>;
pub type Read = Record<Request>;
