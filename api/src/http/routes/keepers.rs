//! `GET /v1/admin/keepers`: the keepers' jobs as operators see them, the same rows
//! `kairos-keepers status` prints, read from the shared `keeper_jobs` table.

use axum::extract::State;
use kairos_platform::storage::keeper_jobs::{self, JobStatus};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// One job. Mirrors `JobStatus` field for field (the platform crate carries no OpenAPI
/// schemas); a test holds the two serializations equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KeeperJobBody {
    #[schema(example = "dependency-probes")]
    pub name: String,
    /// False when every keeper has the job switched off.
    pub enabled: bool,
    /// `host/pid` of the keeper process holding the lease; null when none does.
    #[schema(example = "keepers-1/4242")]
    pub holder: Option<String>,
    /// When the holder's lease runs out unless renewed (RFC 3339); null when no one holds it.
    pub lease_until: Option<String>,
    /// When the job runs next (RFC 3339).
    pub next_run_at: String,
    pub last_run_at: Option<String>,
    pub last_success_at: Option<String>,
    /// The last run's error; null after a success.
    pub last_error: Option<String>,
    /// Failed runs since the last success; each doubles the wait before the next try.
    pub failures_in_a_row: i64,
    pub period_s: i64,
    /// Grows with every claim of the lease: the token that the job's writes check.
    pub fence: i64,
}

impl From<JobStatus> for KeeperJobBody {
    fn from(s: JobStatus) -> KeeperJobBody {
        KeeperJobBody {
            name: s.name,
            enabled: s.enabled,
            holder: s.holder,
            lease_until: s.lease_until,
            next_run_at: s.next_run_at,
            last_run_at: s.last_run_at,
            last_success_at: s.last_success_at,
            last_error: s.last_error,
            failures_in_a_row: s.failures_in_a_row,
            period_s: s.period_s,
            fence: s.fence,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeeperJobsBody {
    pub jobs: Vec<KeeperJobBody>,
}

/// Every keeper job (by name) with its lease holder, schedule and last outcome: the jobs
/// any `kairos-keepers` process on this database has registered.
#[utoipa::path(get, path = "/v1/admin/keepers", tag = "admin",
    responses((status = 200, body = KeeperJobsBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<axum::Json<KeeperJobsBody>, ApiError> {
    let rows = keeper_jobs::all(state.db()).await?;
    Ok(axum::Json(KeeperJobsBody { jobs: rows.iter().map(|r| JobStatus::from(r).into()).collect() }))
}

#[cfg(test)]
mod tests {
    use kairos_platform::storage::keeper_jobs::JobRow;

    use super::*;

    #[test]
    fn the_body_serializes_exactly_as_the_keepers_status_command_prints() {
        let held = JobRow {
            name: "dependency-probes".into(),
            enabled: true,
            period_ms: 60_000,
            next_run_at_us: 1_700_000_000_000_000,
            holder: Some("host/1".into()),
            lease_until_us: 1_700_000_015_000_000,
            fence: 7,
            attempts: 2,
            last_error: Some("solana down".into()),
            last_run_at_us: Some(1_699_999_999_000_000),
            last_success_at_us: None,
        };
        let free = JobRow { holder: None, last_error: None, attempts: 0, last_success_at_us: Some(5), ..held.clone() };
        for row in [held, free] {
            let status = JobStatus::from(&row);
            let want = serde_json::to_value(&status).expect("status");
            let got = serde_json::to_value(KeeperJobBody::from(status)).expect("body");
            assert_eq!(got, want);
        }
    }
}
