//! SQL for the paper venue's durable order log (`paper_log`): the sequencer appends one row per
//! committed batch in that batch's transaction; `kairos-api replay` reads them back in commit
//! order. The record is JSON the venue defines (`kairos_venues::paper::log`); storage keeps it
//! as text.

use sqlx::AnyConnection;
use sqlx::Row as _;

use super::json_rows::{self, JsonRows};
use super::{Db, Script, StorageError};

/// One batch as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub batch: i64,
    pub at_us: i64,
    pub instance: String,
    pub record: String,
}

pub async fn append_in(conn: &mut AnyConnection, row: &Row) -> Result<(), StorageError> {
    let mut script = Script::new(conn);
    append_to(&mut script, std::slice::from_ref(row));
    script.run(conn).await
}

/// [`append_in`] for several rows, as a statement of a script the caller runs with the rest
/// of its writes.
pub fn append_to(script: &mut Script<'_>, rows: &[Row]) {
    use super::json_rows::Column::{BigInt as I, Text as T};
    if rows.is_empty() {
        return;
    }
    let mut json = JsonRows::new();
    for row in rows {
        json.row().int(row.batch).int(row.at_us).text(&row.instance).text(&row.record);
    }
    let sql =
        format!("INSERT INTO paper_log (batch, at_us, instance, record) {}", json_rows::select(script, &[I, I, T, T]));
    script.statement(&sql).bind(json.finish());
}

/// Up to `limit` batches after `after`, in commit order.
pub async fn page(db: &Db, after: i64, limit: i64) -> Result<Vec<Row>, StorageError> {
    let rows =
        sqlx::query("SELECT batch, at_us, instance, record FROM paper_log WHERE batch > $1 ORDER BY batch LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| Ok(Row { batch: r.try_get(0)?, at_us: r.try_get(1)?, instance: r.try_get(2)?, record: r.try_get(3)? }))
        .collect()
}
