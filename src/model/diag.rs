//! Diagnostics: what is wrong (or suspicious) in a workspace or a plan, with the place it comes
//! from. Loaders and the planner return them as values next to their result; they never stop at
//! the first one. Codes are stable kebab-case names (listed in the README).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a workspace file: path relative to the workspace root, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl Origin {
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        Origin { file: file.into(), line, column }
    }

    /// A whole file (line and column 1).
    pub fn file(file: impl Into<String>) -> Self {
        Origin::new(file, 1, 1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The plan change the diagnostic is about (`vend plan`'s check of each change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The AWS rule (an id of `src/adapter/aws_rules.yaml`) that refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code: code.to_string(),
            message: message.into(),
            file: None,
            line: None,
            column: None,
            address: None,
            rule: None,
        }
    }

    pub fn warning(code: &str, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, origin: &Origin) -> Self {
        self.file = Some(origin.file.clone());
        self.line = Some(origin.line);
        self.column = Some(origin.column);
        self
    }

    /// About the plan change at `address`.
    pub fn on(mut self, address: &str) -> Self {
        self.address = Some(address.to_string());
        self
    }

    /// Refused by the AWS rule `rule` (an id of the rule table).
    pub fn by_rule(mut self, rule: Option<&str>) -> Self {
        self.rule = rule.map(str::to_string);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column` when known.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.clone(),
        })
    }
}

/// Collects diagnostics in the order they were found.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn error(&mut self, code: &str, origin: &Origin, message: impl Into<String>) {
        self.0.push(Diagnostic::error(code, message).at(origin));
    }
    pub fn warning(&mut self, code: &str, origin: &Origin, message: impl Into<String>) {
        self.0.push(Diagnostic::warning(code, message).at(origin));
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.0
    }
}
