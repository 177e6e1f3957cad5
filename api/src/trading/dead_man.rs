//! The dead-man's switch: a market maker arms it with a timeout and keeps sending heartbeats;
//! when one is late, every open order of theirs is cancelled on every venue, the event is
//! audited and streamed. Switches live in the database, so a heartbeat may reach any instance
//! and exactly one instance fires a lapsed switch (see [`dead_man::claim`]). A fired switch
//! is not consumed by firing: it stays until every cancel is confirmed, retrying with backoff
//! and alerting (`kairos_dead_man_switch_cancel_failures_total`), unless the user re-arms it.

use kairos_domain::ErrorCode;
use kairos_domain::now_us;
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::{StorageError, dead_man};

use crate::http::error::ApiError;
use crate::state::AppState;
use kairos_venues::common::{CancelCause, StreamEvent};

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
            code: ErrorCode::InvalidTimeout,
            message: format!("timeout_ms must be 0 (disarm) or between {MIN_TIMEOUT_MS} and {MAX_TIMEOUT_MS}"),
        });
    }
    let now = now_us();
    let timeout = i64::try_from(timeout_ms).unwrap_or(i64::MAX);
    let deadline = now + timeout * 1_000;
    dead_man::arm(state.db(), user_id, timeout, deadline, now).await?;
    Ok(Some(deadline))
}

/// How long a fired switch whose cancels did not all succeed waits before trying again: 1 s
/// after the first try, doubling, at most 30 s.
fn retry_delay_us(attempts_before: i64) -> i64 {
    (1_000_000_i64 << attempts_before.clamp(0, 5)).min(30_000_000)
}

/// Fires every lapsed switch, and tries again every fired switch whose cancels did not all
/// succeed: the switch stays (and retries, and alerts) until every cancel is confirmed or the
/// user re-arms it. Returns how many tries it made. Called by the background loop.
pub async fn sweep(state: &AppState) -> Result<usize, StorageError> {
    let mut tries = 0;
    let now = now_us();
    for due in dead_man::due(state.db(), now).await? {
        let retry_at = now.saturating_add(retry_delay_us(due.attempts));
        if !dead_man::claim(state.db(), &due.user_id, due.deadline_us, retry_at, now).await? {
            continue;
        }
        tries += 1;
        let first = due.attempts == 0;
        let user_id = due.user_id;
        if first {
            metrics::counter!("kairos_dead_man_switch_fired_total").increment(1);
        }
        let cancelled =
            state.venues().cancel_everywhere_because(state.db(), &user_id, None, CancelCause::DeadManSwitch).await;
        let (count, error) = match &cancelled {
            Ok(orders) => {
                tracing::warn!(
                    user_id,
                    cancelled = orders.len(),
                    attempt = due.attempts + 1,
                    "dead-man's switch fired"
                );
                (orders.len(), None)
            }
            Err(e) => {
                metrics::counter!("kairos_dead_man_switch_cancel_failures_total").increment(1);
                tracing::error!(
                    user_id,
                    attempt = due.attempts + 1,
                    retry_in_ms = (retry_at - now) / 1_000,
                    error = %e,
                    "dead-man's switch: not every cancel succeeded; the switch stays and tries again"
                );
                (0, Some(e.to_string()))
            }
        };
        // Audited when it fires, and once more when a retry finally succeeds; a failing retry
        // is logged and counted, not audited again (the log is not for every second of an outage).
        let action = match (first, &error) {
            (true, _) => Some("dead_man_switch.fired"),
            (false, None) => Some("dead_man_switch.completed"),
            (false, Some(_)) => None,
        };
        let entry = action.map(|action| AuditEntry {
            actor: "system:dead_man_switch".to_string(),
            action: action.to_string(),
            target: Some(format!("user:{user_id}")),
            request_id: None,
            before: None,
            after: Some(
                serde_json::json!({
                    "cancelled_orders": count, "error": error, "attempt": due.attempts + 1,
                    "retrying": error.is_some(),
                })
                .to_string(),
            ),
        });
        let done = error.is_none();
        // The switch goes (when its cancels all succeeded) in the transaction that records it,
        // so nobody sees it gone without its audit entry. Only a failed retry has no entry, and
        // it completes nothing.
        if let Some(entry) = entry {
            audit_log::with_audit(state.db(), |conn| {
                let (user_id, entry) = (user_id.clone(), entry.clone());
                Box::pin(async move {
                    if done {
                        dead_man::complete_in(&mut *conn, &user_id, retry_at).await?;
                    }
                    Ok(((), entry))
                })
            })
            .await?;
        }
        if first || error.is_none() {
            state.venues().paper.notify(StreamEvent::DeadManSwitch { user_id, cancelled: count });
        }
    }
    Ok(tries)
}

#[cfg(test)]
mod tests {
    use super::retry_delay_us;

    #[test]
    fn retries_back_off_to_thirty_seconds() {
        let delays: Vec<i64> = (0..8).map(retry_delay_us).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30].map(|s| s * 1_000_000));
    }
}
