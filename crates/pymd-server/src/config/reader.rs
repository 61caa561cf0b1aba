//! Reading variables out of a map while collecting every problem: each area of the
//! configuration reads its variables through one [`Reader`], which records a [`ConfigProblem`]
//! naming the variable instead of stopping at the first, so that [`ConfigError`] lists them all.

use std::collections::HashMap;
use std::fmt;

use secrecy::SecretString;
use url::Url;

/// One configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub variable: &'static str,
    pub message: String,
}

/// Every configuration problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid configuration ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  {}: {}", p.variable, p.message)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// Whether a problem names this variable.
    pub fn names(&self, variable: &str) -> bool {
        self.problems.iter().any(|p| p.variable == variable)
    }
}

/// The variables being read and the problems found so far.
pub(super) struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<ConfigProblem>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(vars: &'a HashMap<String, String>) -> Self {
        Reader {
            vars,
            problems: Vec::new(),
        }
    }

    /// `value` when no problem was found, else every problem.
    pub(super) fn finish<T>(self, value: T) -> Result<T, ConfigError> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }

    /// The trimmed value; `None` when unset or blank.
    pub(super) fn raw(&self, name: &str) -> Option<&'a str> {
        self.vars
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// Records a problem with `variable`.
    pub(super) fn problem(&mut self, variable: &'static str, message: impl Into<String>) {
        self.problems.push(ConfigProblem {
            variable,
            message: message.into(),
        });
    }

    /// `true`/`false` (also `1`/`0`), `default` when unset; anything else is a problem.
    pub(super) fn flag(&mut self, name: &'static str, default: bool) -> bool {
        match self.raw(name) {
            None => default,
            Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(_) => {
                self.problem(name, "must be true or false");
                default
            }
        }
    }

    pub(super) fn string(&self, name: &str) -> Option<String> {
        self.raw(name).map(str::to_owned)
    }

    pub(super) fn secret(&self, name: &str) -> Option<SecretString> {
        self.raw(name).map(|s| SecretString::from(s.to_owned()))
    }

    /// The parsed value, `default` when unset; a value that does not parse is a problem ("must
    /// be {what}") and gives `default`.
    pub(super) fn parse<T: std::str::FromStr>(
        &mut self,
        name: &'static str,
        default: T,
        what: &str,
    ) -> T {
        match self.raw(name) {
            None => default,
            Some(raw) => match raw.parse::<T>() {
                Ok(v) => v,
                Err(_) => {
                    self.problem(name, format!("must be {what}"));
                    default
                }
            },
        }
    }

    /// A whole number of at least 1 (`default` when unset): limits cannot be switched off.
    pub(super) fn positive(&mut self, name: &'static str, default: u64) -> u64 {
        let v: u64 = self.parse(name, default, "a whole number of at least 1");
        if v == 0 {
            self.problem(name, "must be at least 1 (a limit cannot be switched off)");
        }
        v.max(1)
    }

    /// An absolute http(s) URL.
    pub(super) fn url(&mut self, name: &'static str) -> Option<Url> {
        let raw = self.raw(name)?;
        match Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
            _ => {
                self.problem(name, "must be an absolute http(s) URL");
                None
            }
        }
    }
}
