//! The one error type. Every error has a stable [`Code`], the path it concerns (when
//! there is one), a one-line fix, the exit status of the public contract, and the error
//! that caused it, when there was one.

use crate::code::Code;
pub use crate::code::Exit;
use std::fmt;
use std::path::PathBuf;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug)]
pub struct Error {
    pub code: Code,
    pub exit: Exit,
    pub path: Option<PathBuf>,
    pub message: String,
    pub fix: String,
    source: Option<Source>,
}

impl Error {
    /// An error with its code's exit status and fix.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            exit: code.exit(),
            path: None,
            message: message.into(),
            fix: code.fix().to_owned(),
            source: None,
        }
    }

    /// A program that is needed was not found (exit 4).
    pub fn missing_program(program: &str, fix: impl Into<String>) -> Self {
        Self::new(Code::ProgramNotFound, format!("`{program}` was not found")).with_fix(fix)
    }

    pub fn io(path: impl Into<PathBuf>, action: &str, err: std::io::Error) -> Self {
        Self::new(Code::IoError, format!("could not {action}: {err}"))
            .at(path)
            .caused_by(err)
    }

    /// A fix more specific than the code's own.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    /// Where the contract gives one code two statuses (`audit_failed` is exit 3 when the
    /// sign-in is missing, as for `whoami`).
    pub fn with_exit(mut self, exit: Exit) -> Self {
        self.exit = exit;
        self
    }

    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn caused_by(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "exit": self.exit.code(),
            "path": self.path.as_ref().map(|p| p.display().to_string()),
            "message": self.message,
            "fix": self.fix,
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]", self.code)?;
        if let Some(path) = &self.path {
            write!(f, " {}", path.display())?;
        }
        write!(f, ": {}\n  fix: {}", self.message, self.fix)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
