//! Failed signatures of live API keys, audited without letting an outsider grow the audit log.
//!
//! A key id travels in every signed request's headers, so anyone who has seen one can send
//! garbage signatures under it. Each failure is counted per key and minute: the first one of a
//! minute is audited at once (so an attack is visible while it happens), and when the minute is
//! over one more row carries that minute's total, if there was more than one. At most two rows
//! per key and minute per instance, whatever the rate; the failures themselves are also bounded
//! by the address's auth budget, which is checked before any key is looked up.

use std::collections::HashMap;
use std::sync::Mutex;

use kairos_platform::locks;
use kairos_platform::storage::audit_log::{self, AuditEntry};
use kairos_platform::storage::{Db, StorageError};

#[derive(Debug, Default)]
pub struct FailedSignatures {
    /// (key id, minute since the epoch) → failures and the first one's request.
    tallies: Mutex<HashMap<(String, i64), Tally>>,
}

#[derive(Debug)]
struct Tally {
    count: u64,
    target: String,
    /// The first failure's client address (see `client_address`).
    client: Option<String>,
}

fn entry(key_id: &str, minute: i64, count: u64, tally: &Tally, request_id: Option<String>, total: bool) -> AuditEntry {
    AuditEntry {
        actor: format!("key:{key_id}"),
        action: "auth.failed_key_signature".to_string(),
        target: Some(tally.target.clone()),
        request_id,
        before: None,
        after: Some(
            serde_json::json!({ "minute": minute, "failures": count, "minute_total": total, "client": tally.client })
                .to_string(),
        ),
    }
}

impl FailedSignatures {
    /// Counts one failure; returns the row to write now when it is the key's first this minute.
    pub fn record(
        &self,
        key_id: &str,
        minute: i64,
        target: &str,
        client: Option<std::net::IpAddr>,
        request_id: Option<String>,
    ) -> Option<AuditEntry> {
        let mut tallies = locks::lock(&self.tallies);
        let tally = tallies.entry((key_id.to_string(), minute)).or_insert_with(|| Tally {
            count: 0,
            target: target.to_string(),
            client: client.map(|ip| ip.to_string()),
        });
        tally.count += 1;
        (tally.count == 1).then(|| entry(key_id, minute, 1, tally, request_id, false))
    }

    /// The rows for minutes before `now_minute` that saw more than their first failure, one per
    /// key and minute with the minute's total; those minutes are forgotten.
    pub fn take_finished(&self, now_minute: i64) -> Vec<AuditEntry> {
        let mut tallies = locks::lock(&self.tallies);
        let finished: Vec<(String, i64)> = tallies.keys().filter(|(_, m)| *m < now_minute).cloned().collect();
        let mut rows = Vec::new();
        for key in finished {
            if let Some(t) = tallies.remove(&key)
                && t.count > 1
            {
                rows.push(entry(&key.0, key.1, t.count, &t, None, true));
            }
        }
        rows
    }
}

/// Writes the totals of the minutes that are over (the refresh loop calls it every tick).
pub async fn audit_finished(db: &Db, log: &FailedSignatures, now_minute: i64) -> Result<usize, StorageError> {
    let rows = log.take_finished(now_minute);
    for row in &rows {
        audit_log::append(db, row).await?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_makes_two_rows_per_key_and_minute() {
        let log = FailedSignatures::default();
        let first: Vec<_> = (0..300).filter_map(|_| log.record("k1", 100, "GET /v1/orders", None, None)).collect();
        assert_eq!(first.len(), 1, "only the first failure of the minute is written at once");
        assert!(log.record("k2", 100, "GET /v1/orders", None, None).is_some(), "per key");
        assert!(log.record("k1", 101, "GET /v1/orders", None, None).is_some(), "per minute");
        assert!(log.take_finished(100).is_empty(), "minute 100 is not over yet");
        let totals = log.take_finished(101);
        assert_eq!(totals.len(), 1, "k2 failed once: its first row says it all");
        let after: serde_json::Value = serde_json::from_str(totals[0].after.as_deref().expect("after")).expect("json");
        assert_eq!((after["failures"].as_u64(), after["minute_total"].as_bool()), (Some(300), Some(true)));
        assert!(log.take_finished(101).is_empty(), "written once");
    }
}
