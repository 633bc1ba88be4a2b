//! What several commands share: the proof before a command runs, the choice of profile,
//! JSON output and the default timeout.

use std::io::Write;

use crate::code::Code;
use crate::config::profile::{self, Profile, ProfileSet};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::paths::Paths;

/// How long the online commands wait for AWS unless told otherwise, in seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// Verify; on any error finding print the report and refuse (exit 3). Inherited variables
/// that the launch removes are named in one line on stderr and do not stop it, but for
/// those in `kept`: the online commands keep their endpoint overrides.
pub fn prove(paths: &Paths, inherited: &Env, kept: &[&str]) -> Result<ProfileSet> {
    let report = crate::verify::verify(paths, inherited);
    let mut err = std::io::stderr().lock();
    let removed: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::EnvInherited)
        .map(|f| f.path.trim_start_matches('$'))
        .filter(|name| !kept.contains(name))
        .collect();
    if !removed.is_empty() {
        let _ = writeln!(
            err,
            "kiro-aws: warning: your environment sets {}; removed for the launch (`kiro-aws verify` explains)",
            removed.join(", ")
        );
    }
    match report.set {
        Some(set) if report.ok => Ok(set),
        _ => {
            for finding in report.errors() {
                let _ = writeln!(err, "kiro-aws: {finding}");
            }
            Err(Error::new(
                Code::IsolationNotProven,
                format!(
                    "{} error(s) in the isolated AWS files; nothing was launched",
                    report.errors().count()
                ),
            ))
        }
    }
}

/// The profile `--profile` names (or the default one), which must be in the set.
pub fn select_profile<'a>(set: &'a ProfileSet, name: Option<&str>) -> Result<&'a Profile> {
    let Some(name) = name else {
        return Ok(set
            .profile(&set.default_profile)
            .expect("a set holds its default profile"));
    };
    profile::check_profile_name(name).map_err(|problem| {
        Error::new(problem.code, format!("--profile: {}", problem.message))
            .with_fix("pass a kiro-* profile of the isolated config")
    })?;
    set.profile(name).ok_or_else(|| {
        Error::new(
            Code::ProfileUnknown,
            format!(
                "--profile: `{name}` is not in the isolated config (have: {})",
                set.names().join(", ")
            ),
        )
    })
}

/// Print a JSON value, pretty, on stdout.
pub fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON serialises")
    );
}
