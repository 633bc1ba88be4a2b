//! The one error type. Every error has a stable snake_case code, the path it concerns
//! (when there is one), a one-line fix, and maps to an exit code of the public contract.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes are a public contract: scripts depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failure,
    Usage,
    NotIsolated,
    MissingProgram,
    /// The exit status of a program kiro-aws ran and waited for (strict mode).
    Program(u8),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NotIsolated => 3,
            Exit::MissingProgram => 4,
            Exit::Program(code) => code,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[derive(Debug)]
pub struct Error {
    pub code: &'static str,
    pub exit: Exit,
    pub path: Option<PathBuf>,
    pub message: String,
    pub fix: String,
}

impl Error {
    fn new(
        code: &'static str,
        exit: Exit,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Error {
            code,
            exit,
            path: None,
            message: message.into(),
            fix: fix.into(),
        }
    }

    /// Bad usage or bad input (exit 2); nothing was touched.
    pub fn input(code: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(code, Exit::Usage, message, fix)
    }

    /// Isolation could not be proven (exit 3); nothing was launched.
    pub fn not_isolated(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new("isolation_not_proven", Exit::NotIsolated, message, fix)
    }

    /// AWS did not confirm who a profile is (exit 3); nothing was launched.
    pub fn identity_not_proven(message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new("identity_not_proven", Exit::NotIsolated, message, fix)
    }

    /// A program that is needed was not found (exit 4).
    pub fn missing_program(program: &str, fix: impl Into<String>) -> Self {
        Self::new(
            "program_not_found",
            Exit::MissingProgram,
            format!("`{program}` was not found"),
            fix,
        )
    }

    /// Anything else (exit 1).
    pub fn other(code: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(code, Exit::Failure, message, fix)
    }

    pub fn io(path: impl Into<PathBuf>, action: &str, err: std::io::Error) -> Self {
        let path = path.into();
        Self::new(
            "io_error",
            Exit::Failure,
            format!("could not {action}: {err}"),
            "check that the path exists and that you own it",
        )
        .at(path)
    }

    /// The same error under a more specific stable code.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
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

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
