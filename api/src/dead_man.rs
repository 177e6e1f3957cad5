//! The dead-man's switch: a market maker arms it with a timeout and keeps sending heartbeats;
//! when one is late, every open order of theirs is cancelled on every venue, the event is
//! audited and streamed. Switches live in the database, so a heartbeat may reach any instance
//! and exactly one instance fires a lapsed switch (see [`dead_man::claim`]).

use kairos_platform::domain::now_us;
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::{StorageError, dead_man};

use crate::error::ApiError;
use crate::state::AppState;
use crate::venues::paper::sequencer::{CancelCause, StreamEvent};

/// Shortest and longest timeouts accepted, in milliseconds.
pub const MIN_TIMEOUT_MS: u64 = 1_000;
pub const MAX_TIMEOUT_MS: u64 = 600_000;

/// Arms (timeout > 0) or disarms (0) the caller's switch; returns the deadline when armed.
pub async fn heartbeat(state: &AppState, user_id: &str, timeout_ms: u64) -> Result<Option<i64>, ApiError> {
    if timeout_ms == 0 {
        dead_man::disarm(state.db(), user_id).await?;
        return Ok(None);
    }
    if !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&timeout_ms) {
        return Err(ApiError::Unprocessable {
            code: "invalid_timeout",
            message: format!("timeout_ms must be 0 (disarm) or between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS}"),
        });
    }
    let now = now_us();
    let timeout = i64::try_from(timeout_ms).unwrap_or(i64::MAX);
    let deadline = now + timeout * 1_000;
    dead_man::arm(state.db(), user_id, timeout, deadline, now).await?;
    Ok(Some(deadline))
}

/// Fires every lapsed switch; returns how many fired. Called by the background loop.
pub async fn sweep(state: &AppState) -> Result<usize, StorageError> {
    let mut fired = 0;
    for (user_id, deadline) in dead_man::due(state.db(), now_us()).await? {
        if !dead_man::claim(state.db(), &user_id, deadline).await? {
            continue;
        }
        fired += 1;
        let cancelled =
            state.venues().cancel_everywhere_because(state.db(), &user_id, None, CancelCause::DeadManSwitch).await;
        let (count, error) = match &cancelled {
            Ok(orders) => (orders.len(), None),
            Err(e) => (0, Some(e.to_string())),
        };
        tracing::warn!(user_id, cancelled = count, error = ?error, "dead-man's switch fired");
        metrics::counter!("kairos_dead_man_switch_fired_total").increment(1);
        audit_log::append(
            state.db(),
            &AuditEntry {
                actor: "system:dead_man_switch".to_string(),
                action: "dead_man_switch.fired".to_string(),
                target: Some(format!("user:{user_id}")),
                request_id: None,
                before: None,
                after: Some(serde_json::json!({ "cancelled_orders": count, "error": error }).to_string()),
            },
        )
        .await?;
        state.venues().paper.notify(StreamEvent::DeadManSwitch { user_id, cancelled: count });
    }
    Ok(fired)
}
