//! Findings: what `verify` reports. Each carries a stable [`Code`] and its one-line fix.

use serde::Serialize;

use crate::code::Code;
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Isolation is not proven; nothing is launched.
    Error,
    /// Handled by the launch, but worth knowing.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn error(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
            fix: code.fix().to_owned(),
        }
    }

    pub fn warning(code: Code, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, path, message)
        }
    }

    /// An error that stopped a check, reported as a finding under `code`, with its fix,
    /// at its path (else `path`).
    pub fn from_error(code: Code, path: &str, error: Error) -> Self {
        let path = error
            .path
            .as_ref()
            .map_or_else(|| path.to_owned(), |p| p.display().to_string());
        Finding {
            fix: error.fix,
            ..Finding::error(code, path, error.message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity}[{}] {}: {}\n  fix: {}",
            self.code, self.path, self.message, self.fix
        )
    }
}
