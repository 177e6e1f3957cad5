//! Rows of a multi-row write travelling as one parameter: a JSON array of arrays, which the
//! statement reads back row by row (`json_each` on SQLite, `jsonb_array_elements` on
//! PostgreSQL).
//!
//! A `VALUES` list has a text of its own for every row count, and the paper venue's group
//! commit joins its writes into one text (one statement on PostgreSQL), whose row counts
//! differ from one commit to the next: both databases parsed and planned almost every commit
//! afresh, a quarter of SQLite's time and of PostgreSQL's backend under load. A write whose
//! rows come from one parameter has one text whatever its row count, prepared once per
//! connection. Values keep their exact form: integers are JSON integers (both databases read
//! them back as 64-bit integers), text is a JSON string.

use super::Script;

/// The SQL type a column is read back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Text,
    BigInt,
}

/// The rows of one write, in the order the statement lists its columns.
#[derive(Debug)]
pub(crate) struct JsonRows {
    json: String,
    rows: usize,
    /// No value yet in the row being written.
    row_empty: bool,
}

impl JsonRows {
    pub(crate) fn new() -> JsonRows {
        JsonRows { json: String::from("["), rows: 0, row_empty: true }
    }

    /// Starts the next row.
    pub(crate) fn row(&mut self) -> &mut Self {
        if self.rows > 0 {
            self.json.push_str("],");
        }
        self.json.push('[');
        self.rows += 1;
        self.row_empty = true;
        self
    }

    fn separate(&mut self) {
        if !std::mem::replace(&mut self.row_empty, false) {
            self.json.push(',');
        }
    }

    /// A JSON string: the quotation mark, the backslash and the control characters escaped,
    /// as RFC 8259 asks; everything else as it is.
    pub(crate) fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        self.json.push('"');
        for c in value.chars() {
            match c {
                '"' => self.json.push_str("\\\""),
                '\\' => self.json.push_str("\\\\"),
                '\n' => self.json.push_str("\\n"),
                '\r' => self.json.push_str("\\r"),
                '\t' => self.json.push_str("\\t"),
                c if u32::from(c) < 0x20 => self.json.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => self.json.push(c),
            }
        }
        self.json.push('"');
        self
    }

    pub(crate) fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub(crate) fn int(&mut self, value: i64) -> &mut Self {
        self.separate();
        self.json.push_str(&value.to_string());
        self
    }

    pub(crate) fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    fn null(&mut self) -> &mut Self {
        self.separate();
        self.json.push_str("null");
        self
    }

    /// The JSON text of every row.
    pub(crate) fn finish(mut self) -> String {
        if self.rows > 0 {
            self.json.push(']');
        }
        self.json.push(']');
        self.json
    }
}

/// `SELECT <columns> FROM <rows>` reading the rows of the statement's next parameter, each
/// column as its type, for the script's database. Bind the rows' [`JsonRows::finish`] to it.
pub(crate) fn select(script: &mut Script<'_>, columns: &[Column]) -> String {
    let mut params = script.params();
    let sqlite = params.is_anonymous();
    let param = params.next();
    let values: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| match (sqlite, column) {
            (true, _) => format!("v ->> {i}"),
            (false, Column::Text) => format!("r ->> {i}"),
            (false, Column::BigInt) => format!("CAST(r ->> {i} AS BIGINT)"),
        })
        .collect();
    if sqlite {
        // `json_each` hands each row over as text, and every reference to its `value` makes
        // that text again: the subquery turns it into SQLite's binary JSON once per row, and
        // its `OFFSET` keeps SQLite from flattening it back into one `value` per column.
        format!(
            "SELECT {} FROM (SELECT jsonb(value) AS v FROM json_each({param}) LIMIT -1 OFFSET 0)",
            values.join(", ")
        )
    } else {
        format!("SELECT {} FROM jsonb_array_elements(CAST({param} AS JSONB)) AS r", values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_arrays_of_exact_values() {
        let mut rows = JsonRows::new();
        rows.row().text("a\"b\\c\n\r\t\u{1}\u{1f} é☃").int(i64::MAX).opt_text(None);
        rows.row().text("").int(i64::MIN).opt_int(Some(-1));
        let json = rows.finish();
        assert_eq!(json, r#"[["a\"b\\c\n\r\t\u0001\u001f é☃",9223372036854775807,null],["",-9223372036854775808,-1]]"#);
        // An independent reader gives back the same values.
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed[0][0], "a\"b\\c\n\r\t\u{1}\u{1f} é☃");
        assert_eq!(parsed[1][1].as_i64(), Some(i64::MIN));
        assert_eq!(JsonRows::new().finish(), "[]");
    }
}
