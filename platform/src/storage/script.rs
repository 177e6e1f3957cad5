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

use sqlx::any::AnyArguments;
use sqlx::{Any, AnyConnection, Arguments as _, Encode, Type};

use super::StorageError;

/// Writes to run later on one connection, in the order they were added.
pub struct Script<'q> {
    /// One text with every statement on SQLite; one entry per statement elsewhere.
    parts: Vec<(String, AnyArguments<'q>)>,
    /// All statements share one text (SQLite).
    joined: bool,
    /// The first value that could not be bound: reported by [`Script::run`].
    error: Option<String>,
}

impl std::fmt::Debug for Script<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("statements", &self.parts.iter().map(|p| &p.0).collect::<Vec<_>>()).finish()
    }
}

impl<'q> Script<'q> {
    /// A script for `conn`'s database.
    pub fn new(conn: &AnyConnection) -> Script<'q> {
        Script { parts: Vec::new(), joined: conn.backend_name() == "SQLite", error: None }
    }

    /// Adds a statement; [`Script::bind`] then gives its parameters in order. On SQLite its
    /// parameters must be anonymous (spelt by [`super::Params::of`]): a numbered one would
    /// name a value of the whole script, not of this statement.
    pub(crate) fn statement(&mut self, sql: &str) -> &mut Self {
        match self.parts.last_mut() {
            Some((text, _)) if self.joined => {
                text.push_str(";\n");
                text.push_str(sql);
            }
            _ => self.parts.push((sql.to_string(), AnyArguments::default())),
        }
        self
    }

    /// How the script's statements spell their parameters.
    pub(crate) fn params(&self) -> super::Params {
        if self.joined { super::Params::anonymous() } else { super::Params::numbered() }
    }

    /// The next parameter of the statement added last.
    pub(crate) fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'q + Encode<'q, Any> + Type<Any>,
    {
        match self.parts.last_mut() {
            Some((_, args)) => {
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
            sqlx::query_with(&sql, args).execute(&mut *conn).await?;
        }
        Ok(())
    }
}
