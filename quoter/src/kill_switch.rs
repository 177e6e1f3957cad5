//! The platform's kill switch for the `polymarket` target, which trades on the CLOB without
//! passing through the API: the quoter reads the same settings row the API's operators set
//! (`TradingState::SETTINGS_KEY`), as often as the API itself does, and reads it the same way
//! (absent or unknown is `disabled`). When the database cannot be read for [`BLIND_AFTER`],
//! the quoter stops placing (`cancel_only`) rather than quote with a switch it cannot see.

use std::time::{Duration, Instant};

use kairos_domain::TradingState;
use kairos_platform::storage::{Db, StorageError, settings};
use tokio::sync::watch;

/// How often the row is read: as often as the API refreshes its own copy.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// Reads failing for this long count as `cancel_only`.
pub const BLIND_AFTER: Duration = Duration::from_secs(5);

/// The longest a read may take: a hung connection must not keep the last state in force.
const READ_WITHIN: Duration = Duration::from_secs(2);

/// The kill switch's state in `db` now.
pub async fn read(db: &Db) -> Result<TradingState, StorageError> {
    let value = tokio::time::timeout(READ_WITHIN, settings::get(db, TradingState::SETTINGS_KEY))
        .await
        .map_err(|_| StorageError::Timeout(READ_WITHIN))??;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(TradingState::Disabled))
}

/// Connects to the platform's database and follows the switch until the receiver is dropped.
/// The first read must succeed: a quoter that cannot see the switch does not start.
pub async fn follow(database_url: &str) -> Result<watch::Receiver<TradingState>, StorageError> {
    let db = Db::connect(database_url, 1).await?;
    follow_db(db).await
}

/// [`follow`] on an open database.
pub async fn follow_db(db: Db) -> Result<watch::Receiver<TradingState>, StorageError> {
    let first = read(&db).await?;
    let (tx, rx) = watch::channel(first);
    tokio::spawn(async move {
        let mut last_read = Instant::now();
        let mut every = tokio::time::interval(POLL_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let state = match read(&db).await {
                Ok(state) => {
                    last_read = Instant::now();
                    state
                }
                Err(e) if last_read.elapsed() >= BLIND_AFTER => {
                    tracing::error!(error = %e, "the kill switch cannot be read: placing nothing until it can");
                    TradingState::CancelOnly
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the kill switch could not be read; keeping the last state");
                    continue;
                }
            };
            let changed = tx.send_if_modified(|current| {
                let changed = *current != state;
                *current = state;
                changed
            });
            if changed {
                tracing::warn!(trading = state.as_str(), "the platform's kill switch changed");
            }
            if tx.is_closed() {
                return;
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_platform::storage::scratch;

    #[tokio::test]
    async fn the_switch_is_followed_and_an_absent_row_reads_as_disabled() {
        let scratch = scratch::sqlite();
        let db = Db::connect(&scratch.url, 1).await.expect("db");
        db.migrate().await.expect("migrate");
        assert_eq!(read(&db).await.expect("read"), TradingState::Disabled, "no row: fail closed");
        settings::put(&db, TradingState::SETTINGS_KEY, "enabled").await.expect("put");
        let mut rx = follow_db(db.clone()).await.expect("follow");
        assert_eq!(*rx.borrow(), TradingState::Enabled);
        settings::put(&db, TradingState::SETTINGS_KEY, "cancel_only").await.expect("put");
        tokio::time::timeout(Duration::from_secs(5), rx.changed()).await.expect("in time").expect("changed");
        assert_eq!(*rx.borrow_and_update(), TradingState::CancelOnly);
        settings::put(&db, TradingState::SETTINGS_KEY, "garbage").await.expect("put");
        tokio::time::timeout(Duration::from_secs(5), rx.changed()).await.expect("in time").expect("changed");
        assert_eq!(*rx.borrow(), TradingState::Disabled, "an unknown value reads as disabled");
    }
}
