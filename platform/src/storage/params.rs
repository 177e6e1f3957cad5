//! How the statements built here spell their parameters.
//!
//! PostgreSQL takes numbered parameters (`$1`, `$2`, …). SQLite takes them too, but sqlx's
//! SQLite driver binds each parameter by asking SQLite for its name, and SQLite finds a name by
//! walking the statement's list of named parameters: binding the n numbered parameters of a
//! multi-row INSERT costs n² steps. At 16 orders a batch (400 parameters for the orders, up to
//! 700 for the ledger entries) that walk was 14 % of the server's CPU under load, more than
//! SQLite's own execution of the statements. Anonymous `?` parameters have no name and bind
//! in order, so statements whose every parameter comes from here use them on SQLite.

use sqlx::AnyConnection;

/// The parameters of one statement, in the order they are bound.
#[derive(Debug)]
pub(crate) struct Params {
    numbered: bool,
    count: usize,
}

impl Params {
    /// `?` on SQLite, `$n` elsewhere. Every parameter of the statement must come from this
    /// value: sqlx numbers anonymous parameters apart from named ones, so a statement that
    /// mixed the two would bind the wrong values.
    pub(crate) fn of(conn: &AnyConnection) -> Params {
        Params { numbered: conn.backend_name() != "SQLite", count: 0 }
    }

    /// `$1`, `$2`, … on every database.
    pub(crate) fn numbered() -> Params {
        Params { numbered: true, count: 0 }
    }

    /// `$n+1`, `$n+2`, … for a statement that follows `n` parameters in the same text.
    pub(crate) fn numbered_after(n: usize) -> Params {
        Params { numbered: true, count: n }
    }

    /// `?` (SQLite only).
    pub(crate) fn anonymous() -> Params {
        Params { numbered: false, count: 0 }
    }

    /// Whether parameters are spelt `?` (SQLite).
    pub(crate) fn is_anonymous(&self) -> bool {
        !self.numbered
    }

    /// The next parameter.
    pub(crate) fn next(&mut self) -> String {
        self.count += 1;
        if self.numbered { format!("${}", self.count) } else { "?".to_string() }
    }

    /// `(p, p), (p, p)` for a multi-row INSERT of `rows` rows of `cols` columns.
    pub(crate) fn rows(&mut self, rows: usize, cols: usize) -> String {
        let mut out = String::with_capacity(rows * cols * 5);
        for r in 0..rows {
            out.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..cols {
                if c > 0 {
                    out.push_str(", ");
                }
                out.push_str(&self.next());
            }
            out.push(')');
        }
        out
    }

    /// `p, p, p` for an `IN` list of `n` values.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }
}

/// `$first, $first+1, …` for an `IN` list of `n` values in a statement with numbered
/// parameters before it.
pub(crate) fn in_placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// `($1, $2), ($3, $4)` for a multi-row INSERT of `rows` rows of `cols` columns.
pub(crate) fn placeholders(rows: usize, cols: usize) -> String {
    Params::numbered().rows(rows, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_count_across_rows_and_lists() {
        assert_eq!(placeholders(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(in_placeholders(2, 3), "$2, $3, $4");
        let mut p = Params::numbered();
        assert_eq!(p.next(), "$1");
        assert_eq!(p.list(2), "$2, $3");
    }

    #[test]
    fn anonymous_parameters_are_all_question_marks() {
        let mut p = Params { numbered: false, count: 0 };
        assert_eq!(p.rows(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(p.list(2), "?, ?");
    }
}
