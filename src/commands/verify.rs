//! `kiro-aws verify`: print the proof of isolation (and, with `--strict`, whether this
//! machine can build the sandbox); exit 3 when anything is an error.

use std::io::Write;

use crate::commands::shared;
use crate::env::Env;
use crate::error::{Exit, Result};
use crate::paths::Paths;
use crate::verify::{self, Report};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    pub json: bool,
    /// Also check that this machine can run strict mode.
    pub strict: bool,
}

pub fn run(request: Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let mut report = verify::verify(paths, inherited);
    if request.strict {
        // Nothing to launch means strict mode cannot run either.
        let can = match report.set.as_ref() {
            Some(set) => {
                report.add(crate::strict::check_machine(paths, inherited, set));
                report.ok
            }
            None => false,
        };
        report.strict = Some(can);
    }
    if request.json {
        shared::print_json(&serde_json::to_value(&report).expect("JSON"));
    } else {
        let _ = print_report(&mut std::io::stdout().lock(), &report);
    }
    Ok(if report.ok {
        Exit::Success
    } else {
        Exit::NotIsolated
    })
}

fn print_report(out: &mut dyn Write, report: &Report) -> std::io::Result<()> {
    for finding in &report.findings {
        writeln!(out, "{finding}")?;
    }
    let errors = report.errors().count();
    match &report.set {
        Some(set) if errors == 0 => writeln!(
            out,
            "ok: only kiro-* profiles resolve: {} (default {})",
            set.names().join(", "),
            set.default_profile
        ),
        _ => writeln!(
            out,
            "isolation NOT proven: {errors} error(s); nothing will be launched"
        ),
    }
}
