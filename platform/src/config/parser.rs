//! Reading variables: each read records where the value came from, and a value that does not
//! parse becomes a [`Problem`] naming the variable (the default is used meanwhile, so every
//! problem is found in one pass).

use std::fmt;
use std::str::FromStr;

use super::{Origin, Problem, RawSources};

pub(super) struct Parser<'a> {
    pub(super) raw: &'a RawSources,
    pub(super) problems: Vec<Problem>,
    pub(super) origins: Vec<(&'static str, Origin)>,
}

impl Parser<'_> {
    pub(super) fn problem(&mut self, variable: &'static str, message: &str) {
        self.problems.push(Problem { variable, message: message.to_string() });
    }

    pub(super) fn set_origin(&mut self, variable: &'static str, origin: Origin) {
        // Every name read is declared in the table (`variables.rs`); tests read them all.
        debug_assert!(super::variables::variable(variable).is_some(), "{variable} is not in VARIABLES");
        match self.origins.iter_mut().find(|(v, _)| *v == variable) {
            Some(entry) => entry.1 = origin,
            None => self.origins.push((variable, origin)),
        }
    }

    pub(super) fn origin_of(&self, variable: &str) -> Origin {
        self.origins.iter().find(|(v, _)| *v == variable).map_or(Origin::Default, |(_, o)| *o)
    }

    pub(super) fn string(&mut self, variable: &'static str, default: impl FnOnce() -> String) -> String {
        match self.raw.get(variable) {
            Some((value, origin)) => {
                self.set_origin(variable, origin);
                value.to_string()
            }
            None => {
                self.set_origin(variable, Origin::Default);
                default()
            }
        }
    }

    /// A decimal amount in collateral units (`"100000"`, `"0.25"`), returned in micro-units.
    pub(super) fn amount(&mut self, variable: &'static str, default: i64) -> i64 {
        let text = self.string(variable, || kairos_domain::format_micros(default));
        match kairos_domain::parse_micros(text.trim()) {
            Ok(v) if v >= 0 => v,
            _ => {
                self.problem(variable, &format!("expected a non-negative decimal amount (e.g. 0.25), got {text:?}"));
                default
            }
        }
    }

    pub(super) fn optional(&mut self, variable: &'static str) -> Option<String> {
        match self.raw.get(variable) {
            Some((value, origin)) if !value.trim().is_empty() => {
                self.set_origin(variable, origin);
                Some(value.to_string())
            }
            _ => {
                self.set_origin(variable, Origin::Default);
                None
            }
        }
    }

    pub(super) fn parse<T>(&mut self, variable: &'static str, default: impl FnOnce() -> T) -> T
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw.get(variable) {
            Some((value, origin)) => {
                self.set_origin(variable, origin);
                match value.trim().parse::<T>() {
                    Ok(v) => v,
                    Err(e) => {
                        self.problem(variable, &format!("cannot parse {value:?}: {e}"));
                        default()
                    }
                }
            }
            None => {
                self.set_origin(variable, Origin::Default);
                default()
            }
        }
    }

    pub(super) fn parse_bool(&mut self, variable: &'static str) -> bool {
        self.parse_flag(variable, false)
    }

    /// A true/false setting that is `default` when unset (or unreadable, with a problem).
    pub(super) fn parse_flag(&mut self, variable: &'static str, default: bool) -> bool {
        match self.raw.get(variable) {
            Some((value, origin)) => {
                self.set_origin(variable, origin);
                match value.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" | "" => false,
                    other => {
                        self.problem(variable, &format!("expected true or false, got {other:?}"));
                        default
                    }
                }
            }
            None => {
                self.set_origin(variable, Origin::Default);
                default
            }
        }
    }
}

pub(super) fn is_truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}
