//! `kiro-aws verify`: print the proof of isolation (and, with `--strict`, whether this
//! machine can build the sandbox); exit 3 when anything is an error.

use std::io::Write;

use crate::code::Code;
use crate::commands::launch::kiro_cli_source;
use crate::commands::shared;
use crate::env::Env;
use crate::error::{Exit, Result};
use crate::finding::Finding;
use crate::launch::program::resolve_program;
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
    // Without kiro-cli there is no session to check (a launch then exits 4).
    if let Ok(program) = resolve_program(kiro_cli_source(None), inherited) {
        let kiro = crate::kiro::inspect(
            &program,
            crate::kiro::ask(&program, paths),
            &[],
            paths,
            inherited.cwd(),
            crate::kiro::Moment::BeforeLaunch,
        );
        if let Some(problem) = &kiro.problem {
            let file = kiro
                .agent_file
                .clone()
                .unwrap_or_else(|| program.display().to_string());
            report.add([Finding::error(
                Code::KiroAgentNotLoadable,
                file,
                problem.clone(),
            )]);
        }
        report.kiro = Some(kiro);
    }
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
    if let Some(kiro) = &report.kiro {
        writeln!(
            out,
            "kiro: {}, engine {}, agent {}: {}",
            kiro.version.as_deref().unwrap_or("version unknown"),
            kiro.engine
                .map_or("unknown".to_owned(), |e| format!("{e:?}").to_lowercase()),
            kiro.agent_file.as_deref().unwrap_or("none"),
            if kiro.loads { "loads" } else { "does NOT load" }
        )?;
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
