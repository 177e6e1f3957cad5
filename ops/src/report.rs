//! The preflight report: `{"ok":bool,"checks":[{"name","status","detail"}]}` on stdout, or a
//! table when stdout is a terminal; exit status 1 on any `fail`. Every detail says what was
//! found and, when it is not a pass, what to do.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Works, but not as a production deployment should (or could not be verified in dev/test).
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, status: Status, detail: impl Into<String>) -> Check {
        Check { name: name.into(), status, detail: detail.into() }
    }

    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Pass, detail)
    }

    pub fn warn(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Warn, detail)
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, detail)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// No check failed (warnings allowed).
    pub ok: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(checks: Vec<Check>) -> Report {
        Report { ok: checks.iter().all(|c| c.status != Status::Fail), checks }
    }

    /// The named check, for tests and for callers that act on one result.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({ "ok": self.ok, "checks": self.checks }).to_string()
    }

    /// One line per check, failures marked so they stand out in a terminal.
    pub fn to_table(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.status {
                Status::Pass => "PASS",
                Status::Warn => "WARN",
                Status::Fail => "FAIL",
            };
            out.push_str(&format!("{mark}  {:width$}  {}\n", c.name, c.detail));
        }
        let failed = self.checks.iter().filter(|c| c.status == Status::Fail).count();
        let warned = self.checks.iter().filter(|c| c.status == Status::Warn).count();
        out.push_str(&format!(
            "{}: {} checks, {failed} failed, {warned} warnings\n",
            if self.ok { "ok" } else { "NOT OK" },
            self.checks.len()
        ));
        out
    }

    /// Prints the table to a terminal and the JSON otherwise; returns the exit status.
    pub fn print(&self) -> ExitCode {
        if std::io::stdout().is_terminal() {
            print!("{}", self.to_table());
        } else {
            println!("{}", self.to_json());
        }
        self.exit_code()
    }

    pub fn exit_code(&self) -> ExitCode {
        if self.ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_makes_the_report_not_ok_and_warnings_do_not() {
        let warned = Report::new(vec![Check::pass("a", "fine"), Check::warn("b", "dev profile")]);
        assert!(warned.ok);
        let failed = Report::new(vec![Check::pass("a", "fine"), Check::fail("c", "down; start it")]);
        assert!(!failed.ok);
        let json: serde_json::Value = serde_json::from_str(&failed.to_json()).expect("json");
        assert_eq!(json["ok"], false);
        assert_eq!(json["checks"][1], serde_json::json!({"name":"c","status":"fail","detail":"down; start it"}));
        assert!(failed.to_table().contains("FAIL  c  down; start it"), "{}", failed.to_table());
        assert_eq!(failed.exit_code(), ExitCode::from(1));
    }
}
