//! SQL for the double-entry ledger (`ledger_entries`, `account_balances`). Money moves only as
//! transfers whose postings sum to zero; every entry joins a hash chain (see [`super::chain`]);
//! each account's balance is kept in the same transaction as its entries. User accounts never
//! go negative: a transfer that would overdraw one fails and writes nothing.
//!
//! This module holds no UPDATE or DELETE of `ledger_entries`: corrections are new transfers.

use std::collections::HashMap;

use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{Connection as _, Row as _};

use super::chain::{GENESIS_HASH, hash_fields};
use super::json_rows::{self, JsonRows};
use super::{Db, Script, StorageError};
use kairos_domain::order::share_asset;
use kairos_domain::{new_id, now_us};

pub use kairos_domain::ledger::{
    Account, Bucket, COLLATERAL, INSUFFICIENT_FUNDS, Posting, Transfer, available, pending, reserved,
};

fn validate(transfer: &Transfer) -> Result<(), StorageError> {
    transfer.validate().map_err(|e| StorageError::Invalid(e.to_string()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub id: String,
    pub transfer_id: String,
    pub account: String,
    pub asset: String,
    pub amount_micros: i64,
    pub kind: String,
    pub reference: Option<String>,
    pub created_at_us: i64,
    pub prev_hash: String,
    pub hash: String,
}

fn entry_hash(e: &Entry) -> String {
    hash_fields(&[
        Some(&e.seq.to_string()),
        Some(&e.id),
        Some(&e.transfer_id),
        Some(&e.account),
        Some(&e.asset),
        Some(&e.amount_micros.to_string()),
        Some(&e.kind),
        e.reference.as_deref(),
        Some(&e.created_at_us.to_string()),
        Some(&e.prev_hash),
    ])
}

fn overflow() -> StorageError {
    StorageError::Invalid("the transfer would take a balance beyond the representable range".to_string())
}

/// Appends a transfer on the caller's transaction; returns its id. Fails with
/// `Invalid(INSUFFICIENT_FUNDS…)` when a user account would go negative.
///
/// Atomic on its own: it runs in a transaction of its own (a savepoint when the caller's
/// connection is already in one), so a refused transfer never leaves half its postings.
pub async fn append_in(conn: &mut AnyConnection, transfer: &Transfer) -> Result<String, StorageError> {
    let mut ids = append_many_in(conn, std::slice::from_ref(transfer)).await?;
    ids.pop().ok_or_else(|| StorageError::Invalid("no transfer".into()))
}

/// Appends transfers in order, as one atomic unit (savepoint), with a few statements whatever
/// their number: the matching engine commits a whole batch of orders this way. Fails, writing
/// nothing, when any user account would go negative at any point of the sequence.
pub async fn append_many_in(conn: &mut AnyConnection, transfers: &[Transfer]) -> Result<Vec<String>, StorageError> {
    for t in transfers {
        validate(t)?;
    }
    if transfers.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = conn.begin().await?;
    lock_in(&mut tx).await?;
    let ids = append_postings(&mut tx, transfers, &mut Known::default()).await?;
    tx.commit().await?;
    Ok(ids)
}

/// The last entry of the hash chain: its sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    pub seq: i64,
    pub hash: String,
}

/// [`append_many_in`] for a caller that already holds the ledger lock ([`lock_in`]) in its own
/// transaction and rolls all of it back on any error (the paper venue's sequencer): no
/// savepoint and no second lock, two round trips fewer per batch.
pub async fn append_many_locked_in(
    conn: &mut AnyConnection,
    transfers: &[Transfer],
) -> Result<Vec<String>, StorageError> {
    for t in transfers {
        validate(t)?;
    }
    if transfers.is_empty() {
        return Ok(Vec::new());
    }
    append_postings(conn, transfers, &mut Known::default()).await
}

/// What a single ledger writer (the paper venue's sequencer) knows of the ledger between its
/// transactions, so it reads nothing twice. Valid only while nobody else writes the ledger:
/// the writer checks that with [`lock_counted_in`] and starts from [`Known::default`] when
/// someone did, or when its transaction failed.
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// The hash chain's last entry.
    pub tip: Option<ChainTip>,
    /// Kept balances by account, then asset. An account present here has every balance it
    /// has in the database here too (an absent asset is zero).
    balances: HashMap<String, HashMap<String, i64>>,
    /// A batch built on these balances is still committing: none may be forgotten, so
    /// [`Known::load`] grows past its bound instead of starting again from nothing.
    held: bool,
}

/// Accounts whose balances [`Known`] keeps before it starts again from nothing: it never holds
/// more than a bounded part of the ledger in memory.
const KNOWN_ACCOUNTS_MAX: usize = 100_000;

impl Known {
    /// Reads the balances of the accounts it does not hold yet.
    async fn load(&mut self, conn: &mut AnyConnection, accounts: &[String]) -> Result<(), StorageError> {
        let mut missing: Vec<String> = accounts.iter().filter(|a| !self.balances.contains_key(*a)).cloned().collect();
        if missing.is_empty() {
            return Ok(());
        }
        if !self.held && self.balances.len() + missing.len() > KNOWN_ACCOUNTS_MAX {
            self.balances.clear();
            missing = accounts.to_vec();
        }
        missing.sort_unstable();
        missing.dedup();
        let read = balances_by_name_in(conn, &missing).await?;
        for account in missing {
            self.balances.entry(account).or_default();
        }
        for ((account, asset), b) in read {
            self.balances.entry(account).or_default().insert(asset, b);
        }
        Ok(())
    }

    fn set(&mut self, account: String, asset: String, balance: i64) {
        self.balances.entry(account).or_default().insert(asset, balance);
    }

    /// Holds every balance it has (`true`) while a batch built on them has not committed, or
    /// lets it start again from nothing at its bound (`false`).
    pub fn hold(&mut self, held: bool) {
        self.held = held;
    }

    /// Whether it is at its bound: the next read of a new account would start it again.
    pub fn is_full(&self) -> bool {
        self.balances.len() >= KNOWN_ACCOUNTS_MAX
    }
}

/// Users' available balances, `(user id, asset) → micro-units` (absent ones left out), reading
/// only the users `known` does not hold yet.
pub async fn available_balances_known_in(
    conn: &mut AnyConnection,
    user_ids: &[&str],
    known: &mut Known,
) -> Result<HashMap<(String, String), i64>, StorageError> {
    let accounts: Vec<String> = user_ids.iter().map(|u| available(u).to_string()).collect();
    known.load(conn, &accounts).await?;
    let mut out = HashMap::new();
    for (user, account) in user_ids.iter().zip(&accounts) {
        for (asset, b) in known.balances.get(account).into_iter().flatten() {
            out.insert((user.to_string(), asset.clone()), *b);
        }
    }
    Ok(out)
}

/// [`append_many_locked_in`] for the single writer that keeps a [`Known`]: the chain's tip and
/// the balances come from it when it has them (no read), and it is brought up to date.
pub async fn append_many_known_in(
    conn: &mut AnyConnection,
    transfers: &[Transfer],
    known: &mut Known,
) -> Result<Vec<String>, StorageError> {
    let planned = plan_many_known(conn, transfers, known).await?;
    write(conn, planned).await
}

async fn append_postings(
    conn: &mut AnyConnection,
    transfers: &[Transfer],
    known: &mut Known,
) -> Result<Vec<String>, StorageError> {
    let planned = plan_postings(conn, transfers, known).await?;
    write(conn, planned).await
}

/// Writes a plan on `conn` (the caller's transaction); answers its transfers' ids.
async fn write(conn: &mut AnyConnection, planned: Planned) -> Result<Vec<String>, StorageError> {
    let ids = planned.transfer_ids.clone();
    let mut script = Script::new(conn);
    planned.add_to(&mut script);
    script.run(conn).await?;
    Ok(ids)
}

/// Ledger writes worked out and checked but not yet written: the entries of some transfers,
/// chained, and the balances they leave. Plans made one after the other on the same
/// [`Known`] merge into one ([`Planned::merge`]), so a transaction that commits several
/// batches writes each table once.
#[derive(Debug, Default)]
pub struct Planned {
    transfer_ids: Vec<String>,
    entries: Vec<Entry>,
    /// The new balance of each (account, asset) touched.
    balances: HashMap<(String, String), i64>,
    at_us: i64,
}

impl Planned {
    /// Appends a plan made after this one.
    pub fn merge(&mut self, later: Planned) {
        self.transfer_ids.extend(later.transfer_ids);
        self.entries.extend(later.entries);
        self.balances.extend(later.balances);
        self.at_us = self.at_us.max(later.at_us);
    }

    /// Adds the entries and balances to `script`: a statement for each, whatever their
    /// number (their rows travel as one parameter, [`super::json_rows`]).
    pub fn add_to(self, script: &mut Script<'_>) {
        use super::json_rows::Column::{BigInt as I, Text as T};
        if !self.entries.is_empty() {
            let mut rows = JsonRows::new();
            for e in &self.entries {
                rows.row()
                    .int(e.seq)
                    .text(&e.id)
                    .text(&e.transfer_id)
                    .text(&e.account)
                    .text(&e.asset)
                    .int(e.amount_micros)
                    .text(&e.kind)
                    .opt_text(e.reference.as_deref())
                    .int(e.created_at_us)
                    .text(&e.prev_hash)
                    .text(&e.hash);
            }
            let sql = format!(
                "INSERT INTO ledger_entries (seq, id, transfer_id, account, asset, amount_micros, kind, reference, created_at_us, prev_hash, hash) {}",
                json_rows::select(script, &[I, T, T, T, T, I, T, T, I, T, T])
            );
            script.statement(&sql).bind(rows.finish());
        }
        if !self.balances.is_empty() {
            let mut balances: Vec<((String, String), i64)> = self.balances.into_iter().collect();
            balances.sort_unstable();
            let mut rows = JsonRows::new();
            for ((account, asset), balance) in &balances {
                rows.row().text(account).text(asset).int(*balance).int(self.at_us);
            }
            let sql = format!(
                "INSERT INTO account_balances (account, asset, balance_micros, updated_at_us) {} WHERE true \
                 ON CONFLICT (account, asset) DO UPDATE SET balance_micros = excluded.balance_micros, \
                 updated_at_us = excluded.updated_at_us",
                json_rows::select(script, &[T, T, I, I])
            );
            script.statement(&sql).bind(rows.finish());
        }
    }
}

/// Works out and checks the writes of `transfers` (reading on `conn` what `known` lacks) and
/// moves `known` past them; nothing is written. The caller drops `known` if the plan is never
/// committed.
pub async fn plan_many_known(
    conn: &mut AnyConnection,
    transfers: &[Transfer],
    known: &mut Known,
) -> Result<Planned, StorageError> {
    for t in transfers {
        validate(t)?;
    }
    if transfers.is_empty() {
        return Ok(Planned::default());
    }
    plan_postings(conn, transfers, known).await
}

/// Reads what the transfers need (the chain's tip and the balances `known` lacks), checks
/// them, and works out their entries and new balances; `known` then holds the new tip and
/// balances.
async fn plan_postings(
    conn: &mut AnyConnection,
    transfers: &[Transfer],
    known: &mut Known,
) -> Result<Planned, StorageError> {
    let known_head = known.tip.take();
    // The caller holds the ledger lock: what is read next is current until its transaction ends.
    let (mut seq, mut prev_hash) = match known_head {
        Some(h) => (h.seq, h.hash),
        None => {
            let head = sqlx::query("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut *conn)
                .await?;
            match head {
                Some(r) => (r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?),
                None => (0, GENESIS_HASH.to_string()),
            }
        }
    };
    // Balances move by each transfer's net change per account, computed exactly and in order:
    // a transfer that debits and credits the same account is judged by its net, and no balance
    // can leave i64 (PostgreSQL would refuse it, SQLite would turn it into a float).
    let mut balances = current_balances(conn, transfers, known).await?;
    for transfer in transfers {
        let mut net: Vec<(&Account, i64)> = Vec::new();
        for p in &transfer.postings {
            match net.iter_mut().find(|(a, _)| **a == p.account) {
                Some((_, sum)) => *sum = sum.checked_add(p.amount_micros).ok_or_else(overflow)?,
                None => net.push((&p.account, p.amount_micros)),
            }
        }
        for (account, change) in net {
            let balance = balances.entry((account.to_string(), transfer.asset.clone())).or_insert(0);
            let next = balance.checked_add(change).ok_or_else(overflow)?;
            if !account.may_go_negative() && change < 0 && next < 0 {
                return Err(StorageError::Invalid(format!("{INSUFFICIENT_FUNDS} in {account} ({})", transfer.asset)));
            }
            *balance = next;
        }
    }
    let now = now_us();
    let mut transfer_ids = Vec::with_capacity(transfers.len());
    let mut entries = Vec::new();
    for transfer in transfers {
        let transfer_id = new_id();
        for posting in &transfer.postings {
            seq += 1;
            let mut e = Entry {
                seq,
                id: new_id(),
                transfer_id: transfer_id.clone(),
                account: posting.account.to_string(),
                asset: transfer.asset.clone(),
                amount_micros: posting.amount_micros,
                kind: transfer.kind.clone(),
                reference: transfer.reference.clone(),
                created_at_us: now,
                prev_hash: std::mem::take(&mut prev_hash),
                hash: String::new(),
            };
            e.hash = entry_hash(&e);
            prev_hash = e.hash.clone();
            entries.push(e);
        }
        transfer_ids.push(transfer_id);
    }
    for ((account, asset), balance) in &balances {
        known.set(account.clone(), asset.clone(), *balance);
    }
    known.tip = Some(ChainTip { seq, hash: prev_hash });
    Ok(Planned { transfer_ids, entries, balances, at_us: now })
}

/// The kept balance of every (account, asset) the transfers touch that has a row (absent ones
/// are zero), from what `known` holds; it reads only accounts it has not seen.
async fn current_balances(
    conn: &mut AnyConnection,
    transfers: &[Transfer],
    known: &mut Known,
) -> Result<HashMap<(String, String), i64>, StorageError> {
    let mut wanted: Vec<String> =
        transfers.iter().flat_map(|t| t.postings.iter().map(|p| p.account.to_string())).collect();
    wanted.sort_unstable();
    wanted.dedup();
    known.load(conn, &wanted).await?;
    let mut out = HashMap::new();
    for account in &wanted {
        let Some(held) = known.balances.get(account) else { continue };
        for t in transfers {
            if let Some(b) = held.get(&t.asset) {
                out.insert((account.clone(), t.asset.clone()), *b);
            }
        }
    }
    Ok(out)
}

/// Queues behind every other ledger writer for the rest of the caller's transaction (see the
/// `ledger_lock` table): balances read afterwards stay current until it ends.
pub async fn lock_in(conn: &mut AnyConnection) -> Result<(), StorageError> {
    sqlx::query("UPDATE ledger_lock SET writes = writes + 1 WHERE id = 1").execute(conn).await?;
    Ok(())
}

/// [`lock_in`], returning how many times the lock has been taken, this time included. A
/// writer that sees its own previous count plus one knows nobody else wrote the ledger (or
/// took a market lease) since its last commit, so what it learnt then is still current.
pub async fn lock_counted_in(conn: &mut AnyConnection) -> Result<i64, StorageError> {
    let row =
        sqlx::query("UPDATE ledger_lock SET writes = writes + 1 WHERE id = 1 RETURNING writes").fetch_one(conn).await?;
    Ok(row.try_get(0)?)
}

/// The lock's count as last committed, read without taking it. A writer that builds its next
/// batch before it takes the lock (while its previous batches commit) learns from it whether
/// someone else wrote since, before it builds on what it knows.
pub async fn lock_count(conn: &mut AnyConnection) -> Result<i64, StorageError> {
    let row = sqlx::query("SELECT writes FROM ledger_lock WHERE id = 1").fetch_one(conn).await?;
    Ok(row.try_get(0)?)
}

/// Starts a script with its own transaction and takes the ledger lock `times` in it (once per
/// batch it commits), provided the lock's count is one less than `count` when it is taken:
/// otherwise the lock's row would go NULL, which its NOT NULL refuses, so the script fails
/// and nothing of it commits. A writer that built its writes before taking the lock (the
/// paper venue's batches built ahead) so learns that nobody else wrote in between without a
/// round trip of its own. The script ends with [`Script::run_and_commit`]; on an error the
/// caller rolls back.
pub fn begin_expecting_to(script: &mut Script<'_>, count: i64, times: i64) {
    if !script.is_single() {
        script.statement("BEGIN");
    }
    let mut p = script.params();
    let sql = format!(
        "UPDATE ledger_lock SET writes = CASE WHEN writes = {} THEN writes + {} ELSE NULL END WHERE id = 1",
        p.next(),
        p.next()
    );
    script.statement(&sql).bind(count.saturating_sub(1)).bind(times);
}

/// The net movement per (account, asset) of what a venue's matching wrote: every entry whose
/// reference is one of its orders (reservations, releases) or one of its trades (trades, fees,
/// mints, merges), leaving out the resolution payouts (`settle`). What `replay` re-derives.
pub async fn venue_trading_nets(db: &Db, venue: &str) -> Result<Vec<(String, String, i64)>, StorageError> {
    let rows = sqlx::query(
        "SELECT account, asset, CAST(SUM(amount_micros) AS BIGINT) FROM ledger_entries          WHERE kind <> 'settle' AND (reference IN (SELECT id FROM orders WHERE venue = $1)          OR reference IN (SELECT f.trade_id FROM fills f JOIN orders o ON o.id = f.order_id WHERE o.venue = $1))          GROUP BY account, asset",
    )
    .bind(venue)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
}

/// Users' available share balances in a market of `outcomes` outcomes: `(user id, outcome,
/// shares)`, nonzero only. Each outcome's asset is named exactly, never matched by a pattern.
pub async fn share_holders_in(
    conn: &mut AnyConnection,
    market_id: &str,
    outcomes: u32,
) -> Result<Vec<(String, u32, i64)>, StorageError> {
    let assets: Vec<String> = (0..outcomes).map(|o| share_asset(market_id, o)).collect();
    if assets.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT account, asset, balance_micros FROM account_balances WHERE asset IN ({}) \
         AND balance_micros <> 0 ORDER BY account, asset",
        super::in_placeholders(1, assets.len())
    );
    let mut query = sqlx::query(&sql);
    for asset in &assets {
        query = query.bind(asset);
    }
    let rows = query.fetch_all(conn).await?;
    let mut out = Vec::new();
    for r in rows {
        let (account, asset): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let account: Account =
            account.parse().map_err(|e: kairos_domain::ledger::UnknownAccount| StorageError::Invalid(e.to_string()))?;
        let outcome = assets.iter().position(|a| *a == asset).and_then(|i| u32::try_from(i).ok());
        if let (Some((user, Bucket::Available)), Some(outcome)) = (account.user(), outcome) {
            out.push((user.to_string(), outcome, r.try_get(2)?));
        }
    }
    Ok(out)
}

/// Balances of the given accounts on the caller's connection (the engines' pre-checks):
/// `(account, asset) → micro-units`, absent ones left out.
pub async fn balances_in(
    conn: &mut AnyConnection,
    accounts: &[Account],
) -> Result<HashMap<(Account, String), i64>, StorageError> {
    let names: Vec<String> = accounts.iter().map(ToString::to_string).collect();
    let by_name = balances_by_name_in(conn, &names).await?;
    let mut out = HashMap::with_capacity(by_name.len());
    for ((name, asset), balance) in by_name {
        let account = name.parse::<Account>().map_err(|e| StorageError::Invalid(e.to_string()))?;
        out.insert((account, asset), balance);
    }
    Ok(out)
}

async fn balances_by_name_in(
    conn: &mut AnyConnection,
    accounts: &[String],
) -> Result<HashMap<(String, String), i64>, StorageError> {
    let mut out = HashMap::new();
    for list in super::in_lists(accounts) {
        let sql = format!(
            "SELECT account, asset, balance_micros FROM account_balances WHERE account IN ({})",
            super::Params::of(conn).list(list.len())
        );
        let mut q = sqlx::query(&sql);
        for account in &list {
            q = q.bind(account);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?), r.try_get::<i64, _>(2)?);
        }
    }
    Ok(out)
}

/// Balances of the given accounts: `(account, asset, micro-units)`, by account and asset.
pub async fn balances(db: &Db, accounts: &[Account]) -> Result<Vec<(Account, String, i64)>, StorageError> {
    let mut conn = db.pool().acquire().await?;
    let mut rows: Vec<(Account, String, i64)> =
        balances_in(&mut conn, accounts).await?.into_iter().map(|((a, s), b)| (a, s, b)).collect();
    rows.sort();
    Ok(rows)
}

/// A user's balances of every asset: available, reserved and pending.
pub async fn user_balances(db: &Db, user_id: &str) -> Result<Vec<(Account, String, i64)>, StorageError> {
    balances(db, &[available(user_id), reserved(user_id), pending(user_id)]).await
}

/// Every kept balance, with its account read back into its type (the consistency check's walk).
pub async fn all_balances(db: &Db) -> Result<Vec<(Account, String, i64)>, StorageError> {
    let rows = sqlx::query("SELECT account, asset, balance_micros FROM account_balances ORDER BY account, asset")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            let account = name.parse::<Account>().map_err(|e| StorageError::Invalid(e.to_string()))?;
            Ok((account, r.try_get(1)?, r.try_get(2)?))
        })
        .collect()
}

fn from_row(r: &AnyRow) -> Result<Entry, StorageError> {
    Ok(Entry {
        seq: r.try_get("seq")?,
        id: r.try_get("id")?,
        transfer_id: r.try_get("transfer_id")?,
        account: r.try_get("account")?,
        asset: r.try_get("asset")?,
        amount_micros: r.try_get("amount_micros")?,
        kind: r.try_get("kind")?,
        reference: r.try_get("reference")?,
        created_at_us: r.try_get("created_at_us")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const SELECT: &str = "SELECT seq, id, transfer_id, account, asset, amount_micros, kind, reference, created_at_us, prev_hash, hash FROM ledger_entries";

/// Entries of a user's accounts (available, reserved, pending) after `after_seq`, oldest first.
pub async fn entries_for(db: &Db, user_id: &str, after_seq: i64, limit: i64) -> Result<Vec<Entry>, StorageError> {
    let sql = format!("{SELECT} WHERE seq > $1 AND account IN ($2, $3, $4) ORDER BY seq LIMIT $5");
    let rows = sqlx::query(&sql)
        .bind(after_seq)
        .bind(available(user_id).to_string())
        .bind(reserved(user_id).to_string())
        .bind(pending(user_id).to_string())
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

pub use super::chain::{Break as LedgerBreak, Head as LedgerHead};

/// Walks the whole chain: contiguous, hashes intact, every transfer balanced, and every kept
/// balance equal to its account's entries. Reads in one transaction (REPEATABLE READ on
/// PostgreSQL; a WAL read snapshot on SQLite) so transfers committed meanwhile cannot make a
/// live ledger look broken.
pub async fn verify(db: &Db) -> Result<Result<LedgerHead, LedgerBreak>, StorageError> {
    let mut tx = db.pool().begin().await?;
    if db.backend() == super::Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    }
    let result = walk(&mut tx).await;
    tx.rollback().await?;
    result
}

async fn walk(conn: &mut AnyConnection) -> Result<Result<LedgerHead, LedgerBreak>, StorageError> {
    let mut expected = 1;
    let mut prev_hash = GENESIS_HASH.to_string();
    // A transfer's entries are contiguous: each is checked when the next one starts.
    let mut open: Option<(String, i64, HashMap<String, i64>)> = None;
    let mut accounts: HashMap<(String, String), i64> = HashMap::new();
    let unbalanced = |(id, first, sums): &(String, i64, HashMap<String, i64>)| {
        sums.values()
            .any(|s| *s != 0)
            .then(|| LedgerBreak { seq: *first, reason: format!("transfer {id} does not sum to zero") })
    };
    let overflowed = |seq: i64| LedgerBreak { seq, reason: "sums overflow i64".to_string() };
    loop {
        let sql = format!("{SELECT} WHERE seq > $1 ORDER BY seq LIMIT 1000");
        let rows = sqlx::query(&sql).bind(expected - 1).fetch_all(&mut *conn).await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let e = from_row(row)?;
            if e.seq != expected {
                return Ok(Err(LedgerBreak { seq: expected, reason: format!("row {expected} is missing") }));
            }
            if e.prev_hash != prev_hash {
                return Ok(Err(LedgerBreak { seq: e.seq, reason: "prev_hash does not match the previous row".into() }));
            }
            if entry_hash(&e) != e.hash {
                return Ok(Err(LedgerBreak {
                    seq: e.seq,
                    reason: "hash does not match the row (it was changed)".into(),
                }));
            }
            if open.as_ref().is_some_and(|(id, _, _)| *id != e.transfer_id)
                && let Some(broken) = open.take().as_ref().and_then(unbalanced)
            {
                return Ok(Err(broken));
            }
            let (_, _, sums) = open.get_or_insert_with(|| (e.transfer_id.clone(), e.seq, HashMap::new()));
            let sum = sums.entry(e.asset.clone()).or_default();
            *sum = match sum.checked_add(e.amount_micros) {
                Some(v) => v,
                None => return Ok(Err(overflowed(e.seq))),
            };
            let balance = accounts.entry((e.account.clone(), e.asset.clone())).or_default();
            *balance = match balance.checked_add(e.amount_micros) {
                Some(v) => v,
                None => return Ok(Err(overflowed(e.seq))),
            };
            prev_hash = e.hash;
            expected += 1;
        }
    }
    if let Some(broken) = open.as_ref().and_then(unbalanced) {
        return Ok(Err(broken));
    }
    let kept = sqlx::query("SELECT account, asset, balance_micros FROM account_balances").fetch_all(&mut *conn).await?;
    for r in &kept {
        let key: (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let balance: i64 = r.try_get(2)?;
        let entries = accounts.remove(&key).unwrap_or(0);
        if balance != entries {
            return Ok(Err(LedgerBreak {
                seq: 0,
                reason: format!("balance of {} {} is {balance} but its entries sum to {entries}", key.0, key.1),
            }));
        }
    }
    if let Some(((account, asset), sum)) = accounts.into_iter().find(|(_, sum)| *sum != 0) {
        return Ok(Err(LedgerBreak {
            seq: 0,
            reason: format!("{account} {asset} has entries summing to {sum} but no balance"),
        }));
    }
    Ok(Ok(LedgerHead { rows: expected - 1, head_hash: prev_hash }))
}
