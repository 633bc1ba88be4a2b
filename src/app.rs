//! Commands: each maps its arguments onto the modules that do the work and returns the
//! exit status. `main` only turns the result into a process exit code.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::{Cli, Command, EnvArgs, EnvFormat, ProfileArg};
use crate::error::{Error, Exit, Result};
use crate::launch::{self, LaunchPlan, ProgramSource};
use crate::launch_env::LaunchEnv;
use crate::paths::Paths;
use crate::profile::{self, ProfileSet};
use crate::{init, verify};

const KIRO_CLI_HINT: &str =
    "install Kiro CLI (https://kiro.dev/docs/cli/), or pass --kiro-cli PATH or set KIRO_AWS_KIRO_CLI";
const KIRO_IDE_HINT: &str =
    "install the Kiro IDE and its `kiro` shell command, or pass --kiro-ide PATH or set KIRO_AWS_KIRO_IDE";

pub fn run(cli: Cli, inherited: &[(OsString, OsString)]) -> Result<Exit> {
    let paths = || match launch::var(inherited, "HOME") {
        Some(home) if PathBuf::from(home).is_absolute() => Ok(Paths::new(&PathBuf::from(home))),
        _ => Paths::from_home_env(),
    };
    match cli.command.unwrap_or(Command::Chat(cli.chat)) {
        Command::Init(args) => init::run(&args, &paths()?),
        Command::Verify(args) => verify_command(&paths()?, inherited, args.json),
        Command::Chat(args) => {
            let argv = LaunchPlan::chat_argv(args.args);
            let source = ProgramSource {
                name: "kiro-cli",
                flag: args.kiro_cli.as_deref(),
                override_var: Some("KIRO_AWS_KIRO_CLI"),
                install_hint: KIRO_CLI_HINT,
            };
            launch_isolated(&paths()?, inherited, &args.profile, source, argv, true)
        }
        Command::Run(args) => {
            let name = args.command[0].to_string_lossy().into_owned();
            let source = ProgramSource {
                name: &name,
                flag: None,
                override_var: None,
                install_hint: "check the command name and PATH",
            };
            launch_isolated(
                &paths()?,
                inherited,
                &args.profile,
                source,
                args.command,
                false,
            )
        }
        Command::Ide(args) => {
            let argv = LaunchPlan::ide_argv(args.args);
            let source = ProgramSource {
                name: "kiro",
                flag: args.kiro_ide.as_deref(),
                override_var: Some("KIRO_AWS_KIRO_IDE"),
                install_hint: KIRO_IDE_HINT,
            };
            launch_isolated(&paths()?, inherited, &args.profile, source, argv, true)
        }
        Command::Env(args) => env_command(&paths()?, inherited, &args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "kiro-aws",
                &mut std::io::stdout(),
            );
            Ok(Exit::Success)
        }
    }
}

fn verify_command(paths: &Paths, inherited: &[(OsString, OsString)], json: bool) -> Result<Exit> {
    let report = verify::verify(paths, inherited);
    let mut out = std::io::stdout().lock();
    let written = if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).expect("JSON")
        )
    } else {
        print_report(&mut out, &report)
    };
    let _ = written;
    Ok(if report.ok {
        Exit::Success
    } else {
        Exit::NotIsolated
    })
}

fn print_report(out: &mut dyn Write, report: &verify::Report) -> std::io::Result<()> {
    for finding in &report.findings {
        writeln!(out, "{finding}")?;
    }
    let errors = report.errors().count();
    if errors == 0 {
        let set = report.set.as_ref().expect("a proven report has its set");
        writeln!(
            out,
            "ok: only kiro-* profiles resolve: {} (default {})",
            set.names().join(", "),
            set.default_profile
        )
    } else {
        writeln!(
            out,
            "isolation NOT proven: {errors} error(s); nothing will be launched"
        )
    }
}

/// Verify; on any error finding print the report and refuse (exit 3). Inherited variables
/// that the launch removes are named in one line on stderr and do not stop it.
fn prove(paths: &Paths, inherited: &[(OsString, OsString)]) -> Result<ProfileSet> {
    let report = verify::verify(paths, inherited);
    let mut err = std::io::stderr().lock();
    let removed: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == "env_inherited")
        .map(|f| f.path.trim_start_matches('$'))
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
            Err(Error::not_isolated(
                format!(
                    "{} error(s) in the isolated AWS files; nothing was launched",
                    report.errors().count()
                ),
                "fix the findings above (`kiro-aws verify` lists them), or run `kiro-aws init`",
            ))
        }
    }
}

fn select_profile(set: &ProfileSet, arg: &ProfileArg) -> Result<String> {
    let Some(name) = &arg.profile else {
        return Ok(set.default_profile.clone());
    };
    profile::check_profile_name(name).map_err(|(code, message)| {
        Error::input(
            code,
            format!("--profile: {message}"),
            "pass a kiro-* profile of the isolated config",
        )
    })?;
    if set.profile(name).is_none() {
        return Err(Error::input(
            "profile_unknown",
            format!(
                "--profile: `{name}` is not in the isolated config (have: {})",
                set.names().join(", ")
            ),
            "pass one of those, or add it with `kiro-aws init`",
        ));
    }
    Ok(name.clone())
}

fn install_launch_files(set: &ProfileSet, paths: &Paths) -> Result<()> {
    let plan = init::plan_launch_files(set, paths)?;
    init::apply(&plan, paths)?;
    for p in plan.iter().filter(|p| p.action != init::Action::Unchanged) {
        eprintln!("kiro-aws: installed {}", p.path.display());
    }
    Ok(())
}

/// The launch path shared by chat, run and ide: prove isolation, pick the profile,
/// refresh the agent and steering (for Kiro), find the program, build the plan, exec.
fn launch_isolated(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    profile: &ProfileArg,
    source: ProgramSource,
    argv: Vec<OsString>,
    install_kiro_files: bool,
) -> Result<Exit> {
    let set = prove(paths, inherited)?;
    let profile = select_profile(&set, profile)?;
    if install_kiro_files {
        install_launch_files(&set, paths)?;
    }
    let plan = LaunchPlan {
        program: launch::resolve_program(source, inherited)?,
        argv,
        env: LaunchEnv::new(paths, &profile, inherited)?,
    };
    Err(launch::exec(&plan, inherited))
}

fn env_command(paths: &Paths, inherited: &[(OsString, OsString)], args: &EnvArgs) -> Result<Exit> {
    let set = prove(paths, inherited)?;
    let profile = select_profile(&set, &args.profile)?;
    let env = LaunchEnv::new(paths, &profile, inherited)?;
    print!("{}", render_env(&env, args.format));
    Ok(Exit::Success)
}

pub fn render_env(env: &LaunchEnv, format: EnvFormat) -> String {
    let quote = |value: &str, fish: bool| {
        if fish {
            format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
        } else {
            format!("'{}'", value.replace('\'', "'\\''"))
        }
    };
    match format {
        EnvFormat::Json => {
            let json = serde_json::json!({"set": env.set, "unset": env.unset});
            format!("{}\n", serde_json::to_string_pretty(&json).expect("JSON"))
        }
        EnvFormat::Sh => {
            let mut out = format!("unset {}\n", env.unset.join(" "));
            for (name, value) in &env.set {
                out.push_str(&format!("export {name}={}\n", quote(value, false)));
            }
            out
        }
        EnvFormat::Fish => {
            let mut out = String::new();
            for name in &env.unset {
                out.push_str(&format!("set -e {name};\n"));
            }
            for (name, value) in &env.set {
                out.push_str(&format!("set -gx {name} {};\n", quote(value, true)));
            }
            out
        }
    }
}
