//! Statements a transaction runs for their effect alone, collected first and sent together.
//!
//! Every statement sqlx runs on SQLite is one round trip to the connection's worker thread:
//! the caller's task hands it a command, the worker wakes, runs it and wakes the caller again.
//! The paper venue's writer ran five or six such writes per batch, and under load those
//! wake-ups (and the wait for a core between them) cost more than SQLite's work. SQLite runs a
//! text of several statements in one call, binding anonymous parameters across them in order,
//! so a script is one round trip there. PostgreSQL's extended protocol takes one statement per
//! parse, so there the statements still go one after the other. The statements are the same
//! on both: only how they travel differs.
//!
//! The functions that add statements to a script bind copies of their values, so a script
//! outlives what it was built from: the paper venue commits one while it builds the next.

use sqlx::any::AnyArguments;
use sqlx::{Any, AnyConnection, Arguments as _, Encode, Type};

use super::StorageError;

/// Writes to run later on one connection, in the order they were added.
pub struct Script<'q> {
    /// One text with every statement on SQLite; one entry per statement elsewhere.
    parts: Vec<(String, AnyArguments<'q>)>,
    /// All statements share one text (SQLite).
    joined: bool,
    /// Elsewhere (PostgreSQL), all statements of a part are one statement, each a query of
    /// its `WITH` clause, numbering their parameters across: a part is one round trip, and
    /// atomic on its own. A part takes at most [`SINGLE_PARAMS_MAX`] parameters.
    single: bool,
    /// Values bound to the last part, and its statements (`single`: its queries' names).
    bound: usize,
    statements: usize,
    /// The next statement starts a part of its own (`single`: the last one is full).
    split: bool,
    /// The first value that could not be bound: reported by [`Script::run`].
    error: Option<String>,
}

impl std::fmt::Debug for Script<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("statements", &self.parts.iter().map(|p| &p.0).collect::<Vec<_>>()).finish()
    }
}

/// Parameters a `single` part takes before the next statement starts another: PostgreSQL
/// takes at most 65,535 in a statement, and no statement added here has more than a few
/// thousand.
const SINGLE_PARAMS_MAX: usize = 40_000;

impl<'q> Script<'q> {
    /// A script for `conn`'s database.
    pub fn new(conn: &AnyConnection) -> Script<'q> {
        Script {
            parts: Vec::new(),
            joined: conn.backend_name() == "SQLite",
            single: false,
            bound: 0,
            statements: 0,
            split: false,
            error: None,
        }
    }

    /// A script whose statements travel together on every database: one text on SQLite, one
    /// statement (a `WITH` query per statement) on PostgreSQL, where each statement then sees
    /// the database as it was before the script, not what the others wrote. Only for writes
    /// that read nothing the others write, and that touch each row once.
    pub fn single(conn: &AnyConnection) -> Script<'q> {
        let mut script = Script::new(conn);
        script.single = !script.joined;
        script
    }

    /// Whether the whole script is one statement on PostgreSQL.
    pub(crate) fn is_single(&self) -> bool {
        self.single
    }

    /// Adds a statement; [`Script::bind`] then gives its parameters in order. On SQLite its
    /// parameters must be anonymous (spelt by [`super::Params::of`]): a numbered one would
    /// name a value of the whole script, not of this statement.
    pub(crate) fn statement(&mut self, sql: &str) -> &mut Self {
        let split = std::mem::take(&mut self.split);
        match self.parts.last_mut() {
            Some((text, _)) if self.joined => {
                text.push_str(";\n");
                text.push_str(sql);
            }
            Some((text, _)) if self.single && !split => {
                self.statements += 1;
                text.push_str(&format!(", w{} AS ({sql})", self.statements));
            }
            _ if self.single => {
                self.parts.push((format!("WITH w1 AS ({sql})"), AnyArguments::default()));
                (self.bound, self.statements) = (0, 1);
            }
            _ => {
                self.parts.push((sql.to_string(), AnyArguments::default()));
                (self.bound, self.statements) = (0, 1);
            }
        }
        self
    }

    /// How the next statement spells its parameters (call it before [`Script::statement`]).
    pub(crate) fn params(&mut self) -> super::Params {
        if self.joined {
            return super::Params::anonymous();
        }
        if self.single && !self.parts.is_empty() {
            if self.bound < SINGLE_PARAMS_MAX {
                return super::Params::numbered_after(self.bound);
            }
            self.split = true;
        }
        super::Params::numbered()
    }

    /// The next parameter of the statement added last.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        match self.parts.last_mut() {
            Some((_, args)) => {
                self.bound += 1;
                if let Err(e) = args.add(value) {
                    self.error.get_or_insert_with(|| format!("a value cannot be bound: {e}"));
                }
            }
            None => {
                self.error.get_or_insert_with(|| "a value was bound before any statement".to_string());
            }
        }
        self
    }

    /// Runs every statement on `conn` (the caller's transaction), stopping at the first that
    /// fails.
    pub async fn run(self, conn: &mut AnyConnection) -> Result<(), StorageError> {
        if let Some(e) = self.error {
            return Err(StorageError::Invalid(e));
        }
        for (sql, args) in self.parts {
            if self.single {
                sqlx::query_with(&format!("{sql} SELECT 1"), args).execute(&mut *conn).await?;
            } else {
                sqlx::query_with(&sql, args).execute(&mut *conn).await?;
            }
        }
        Ok(())
    }

    /// Runs every statement, then `COMMIT`s the transaction the script opened with a plain
    /// `BEGIN` ([`super::ledger::begin_expecting_to`]); on SQLite the commit travels in the
    /// script's text, so the whole transaction is one round trip. On an error nothing is
    /// committed and the transaction may still be open: the caller rolls it back.
    pub async fn run_and_commit(mut self, conn: &mut AnyConnection) -> Result<(), StorageError> {
        if self.joined && !self.parts.is_empty() {
            self.statement("COMMIT");
            return self.run(conn).await;
        }
        if self.single && self.parts.len() <= 1 {
            // One statement is its own transaction.
            return self.run(conn).await;
        }
        if self.single {
            sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
        }
        self.run(&mut *conn).await?;
        sqlx::raw_sql("COMMIT").execute(conn).await?;
        Ok(())
    }
}
