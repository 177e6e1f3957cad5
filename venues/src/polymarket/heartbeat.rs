//! The CLOB heartbeat kept by one keeper for the whole deployment. The CLOB cancels every open
//! order of the account when no beat is accepted for 10 s, and each accepted beat returns the
//! id the next must carry. The keeper holding `venue-heartbeat` takes one [`step`] per run and
//! records the result in `venue_heartbeats` under its fence; every API instance reads that row
//! ([`is_alive`]) to open or close its [`super::heartbeat_gate::HeartbeatGate`].
//!
//! Handover: the next id is in the row, so a keeper that takes the job over continues the
//! chain (no rejected first beat). Beats go every [`BEAT_EVERY`] (not the 5 s the CLOB's docs
//! advise) so that a holder killed just before its next beat is replaced inside the deadline:
//! with the job's 2 s lease the next holder claims within about 3 s and beats at once, about
//! 6 s after the last accepted beat, 4 s before the CLOB would cancel.

use std::time::Duration;

use kairos_clob_client::http::HeartbeatReply;
use kairos_platform::storage::venue_heartbeats::Heartbeat;

use super::live::Live;

/// Between accepted beats.
pub const BEAT_EVERY: Duration = Duration::from_secs(3);
/// Without an accepted beat for this long the deadline (10 s) is at risk: new orders stop.
pub const AT_RISK_AFTER: Duration = Duration::from_secs(7);

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// What one step decided: the row to write (none when nothing changed) and the error the run
/// reports (a failed or rejected beat, so the scheduler retries within its period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub record: Option<Heartbeat>,
    pub error: Option<String>,
}

/// Beats when one is due (`stored` not alive, or its last accepted beat [`BEAT_EVERY`] ago).
/// A rejected id is answered at once with the id the CLOB expects; only a second rejection or
/// a failure leaves the beat lost, and a failing stretch past [`AT_RISK_AFTER`] is recorded as
/// not alive.
pub async fn step(live: &Live, stored: &Heartbeat, now_us: i64) -> Step {
    if stored.alive && now_us - stored.accepted_at_us < micros(BEAT_EVERY) {
        return Step { record: None, error: None };
    }
    let mut id = stored.heartbeat_id.clone();
    for attempt in 0..2 {
        match live.beat(&id).await {
            Ok(HeartbeatReply::Accepted { next }) => {
                metrics::counter!("kairos_polymarket_heartbeats_total", "result" => "accepted").increment(1);
                let record = Heartbeat {
                    heartbeat_id: next,
                    alive: true,
                    accepted_at_us: now_us,
                    updated_at_us: now_us,
                    note: None,
                };
                return Step { record: Some(record), error: None };
            }
            Ok(HeartbeatReply::Rejected { expected }) => {
                metrics::counter!("kairos_polymarket_heartbeats_total", "result" => "rejected").increment(1);
                tracing::warn!(%expected, attempt, "the CLOB rejected the heartbeat id; sending the one it expects");
                id = expected;
            }
            Err(e) => {
                metrics::counter!("kairos_polymarket_heartbeats_total", "result" => "failed").increment(1);
                return failed(stored, id, now_us, format!("a CLOB heartbeat failed: {e}"));
            }
        }
    }
    let lost = Heartbeat {
        heartbeat_id: id,
        alive: false,
        accepted_at_us: stored.accepted_at_us,
        updated_at_us: now_us,
        note: Some("the CLOB rejected the heartbeat id twice".into()),
    };
    Step { error: lost.note.clone(), record: Some(lost) }
}

/// A beat that got no answer: the row keeps its id; it turns not alive once the deadline is
/// at risk (counted once per failing stretch).
fn failed(stored: &Heartbeat, id: String, now_us: i64, error: String) -> Step {
    let at_risk = now_us - stored.accepted_at_us >= micros(AT_RISK_AFTER);
    if !at_risk {
        let record = (id != stored.heartbeat_id).then(|| Heartbeat { heartbeat_id: id, ..stored.clone() });
        return Step { record, error: Some(error) };
    }
    if stored.alive {
        metrics::counter!("kairos_polymarket_heartbeat_at_risk_total").increment(1);
        tracing::error!(%error, "no CLOB heartbeat got through: the CLOB may cancel every open order");
    }
    let record = Heartbeat {
        heartbeat_id: id,
        alive: false,
        accepted_at_us: stored.accepted_at_us,
        updated_at_us: now_us,
        note: Some(format!("no heartbeat accepted for {} s ({error})", (now_us - stored.accepted_at_us) / 1_000_000)),
    };
    Step { record: Some(record), error: Some(error) }
}

/// Whether new orders may go, from the row (`None`: no keeper has beaten yet) and why not.
/// The age check covers a keeper that died or hangs without writing anything.
pub fn is_alive(row: Option<&Heartbeat>, now_us: i64) -> Result<(), String> {
    let Some(row) = row else {
        return Err("no CLOB heartbeat recorded yet: is a keeper running venue-heartbeat?".into());
    };
    if !row.alive {
        return Err(row.note.clone().unwrap_or_else(|| "the CLOB heartbeat is lost".into()));
    }
    let age = now_us - row.accepted_at_us;
    if age >= micros(AT_RISK_AFTER) {
        return Err(format!(
            "the last accepted CLOB heartbeat is {} s old: is a keeper running venue-heartbeat?",
            age / 1_000_000
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(alive: bool, accepted_at_us: i64) -> Heartbeat {
        Heartbeat { heartbeat_id: "h".into(), alive, accepted_at_us, updated_at_us: accepted_at_us, note: None }
    }

    #[test]
    fn orders_go_only_after_a_recent_accepted_beat() {
        let now = 100_000_000;
        assert!(is_alive(None, now).is_err(), "nothing beaten yet");
        assert!(is_alive(Some(&row(true, now - 1_000_000)), now).is_ok());
        assert!(is_alive(Some(&row(false, now - 1_000_000)), now).is_err(), "recorded lost");
        let stale = is_alive(Some(&row(true, now - micros(AT_RISK_AFTER))), now).expect_err("a silent keeper");
        assert!(stale.contains("7 s old"), "{stale}");
    }

    #[test]
    fn a_failure_keeps_the_row_until_the_deadline_is_at_risk() {
        let now = 100_000_000;
        let fresh = row(true, now - 4_000_000);
        let step = failed(&fresh, "h".into(), now, "timeout".into());
        assert_eq!(step, Step { record: None, error: Some("timeout".into()) });
        let old = row(true, now - 8_000_000);
        let step = failed(&old, "h".into(), now, "timeout".into());
        let record = step.record.expect("recorded");
        assert!(!record.alive && record.accepted_at_us == old.accepted_at_us, "{record:?}");
        assert!(record.note.as_deref().is_some_and(|n| n.contains("8 s")), "{record:?}");
    }
}
