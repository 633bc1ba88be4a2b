//! Commands: each maps its arguments onto the modules that do the work and returns the
//! exit status. `main` only turns the result into a process exit code.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::{
    AuditArgs, AuditFormat, Cli, Command, EnvArgs, EnvFormat, ProfileArg, StrictArgs, WhoamiArgs,
};
use crate::error::{Error, Exit, Result};
use crate::identity::{self, Checked, Observation};
use crate::launch::{self, LaunchPlan, ProgramSource};
use crate::launch_env::LaunchEnv;
use crate::paths::Paths;
use crate::probe::{self, Request, Response};
use crate::profile::{self, ProfileSet};
use crate::{audit, init, verify};

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
        Command::Verify(args) => verify_command(&paths()?, inherited, args.json, args.strict),
        Command::Chat(args) => {
            let check_identity = args.check_identity;
            let argv = LaunchPlan::chat_argv(args.args);
            let source = ProgramSource {
                name: "kiro-cli",
                flag: args.kiro_cli.as_deref(),
                override_var: Some("KIRO_AWS_KIRO_CLI"),
                install_hint: KIRO_CLI_HINT,
            };
            let launch = Launch {
                install_kiro_files: true,
                check_identity,
                strict: Some(&args.strict),
            };
            launch_isolated(&paths()?, inherited, &args.profile, source, argv, launch)
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
                Launch {
                    strict: Some(&args.strict),
                    ..Launch::default()
                },
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
            let launch = Launch {
                install_kiro_files: true,
                ..Launch::default()
            };
            launch_isolated(&paths()?, inherited, &args.profile, source, argv, launch)
        }
        Command::Whoami(args) => whoami_command(&paths()?, inherited, &args),
        Command::Login(args) => login_command(&paths()?, inherited, &args.profile),
        Command::Audit(args) => audit_command(&paths()?, inherited, &args),
        Command::SandboxExec { argv } => Err(crate::supervisor::shim(&argv)),
        Command::CredentialProcess {
            socket,
            secret_file,
            profile,
        } => crate::broker::client(&socket, &secret_file, &profile),
        Command::Probe => {
            crate::online::serve()
                .map_err(|e| Error::io("<stdin>", "answer the probe request", e))?;
            Ok(Exit::Success)
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

fn verify_command(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    json: bool,
    strict: bool,
) -> Result<Exit> {
    let mut report = verify::verify(paths, inherited);
    if strict {
        verify::check_strict(&mut report, paths, inherited);
    }
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
    prove_keeping(paths, inherited, &[])
}

/// [`prove`], for a command that keeps `kept` although the agent's launch removes them
/// (the online commands keep their endpoint overrides), so the warning does not name them.
fn prove_keeping(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    kept: &[&str],
) -> Result<ProfileSet> {
    let report = verify::verify(paths, inherited);
    let mut err = std::io::stderr().lock();
    let removed: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == "env_inherited")
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

/// What a launch does besides proving isolation.
#[derive(Debug, Clone, Copy, Default)]
struct Launch<'a> {
    /// Refresh the agent and the steering block (for Kiro).
    install_kiro_files: bool,
    /// Ask AWS who the profile is first.
    check_identity: bool,
    /// The strict-mode flags, for commands that have them (the IDE does not).
    strict: Option<&'a StrictArgs>,
}

/// The launch path shared by chat, run and ide: prove isolation, pick the profile,
/// refresh the agent and steering (for Kiro), find the program, build the plan, exec.
fn launch_isolated(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    profile: &ProfileArg,
    source: ProgramSource,
    argv: Vec<OsString>,
    launch: Launch,
) -> Result<Exit> {
    let set = prove(paths, inherited)?;
    let strict = launch.strict.is_some_and(|s| s.strict) || set.strict;
    if launch.strict.is_some_and(|s| !s.hide.is_empty()) && !strict {
        return Err(Error::input(
            "hide_needs_strict",
            "--hide works only in strict mode",
            "add --strict",
        ));
    }
    let profile = select_profile(&set, profile)?;
    if launch.check_identity {
        let checked = ask_identity(paths, inherited, &set, std::slice::from_ref(&profile), 10)?;
        let mut err = std::io::stderr().lock();
        for finding in checked.iter().flat_map(|c| &c.findings) {
            let _ = writeln!(err, "kiro-aws: {finding}");
        }
        if !checked.iter().all(|c| c.ok) {
            return Err(Error::identity_not_proven(
                format!(
                    "AWS did not confirm profile {profile} as configured; nothing was launched"
                ),
                "fix the findings above (`kiro-aws whoami` shows them)",
            ));
        }
    }
    if launch.install_kiro_files {
        install_launch_files(&set, paths)?;
    }
    if strict && launch.strict.is_none() {
        return Err(Error::not_isolated(
            "strict mode is the default here, and the IDE cannot be contained: it may hand the window to an instance already running outside",
            "use `kiro-aws` (kiro-cli chat) in a terminal, or run `kiro-aws init --no-strict`",
        )
        .with_code("strict_unsupported"));
    }
    let program = launch::resolve_program(source, inherited)?;
    if strict {
        let hide = launch.strict.map_or(&[][..], |s| &s.hide[..]);
        return crate::strict::launch(paths, inherited, &set, &profile, hide, program, argv);
    }
    let plan = LaunchPlan {
        program,
        argv,
        env: LaunchEnv::new(paths, &profile, inherited)?,
    };
    Err(launch::exec(&plan, inherited))
}

fn env_command(paths: &Paths, inherited: &[(OsString, OsString)], args: &EnvArgs) -> Result<Exit> {
    let set = prove(paths, inherited)?;
    if set.strict {
        // An environment to eval cannot carry a sandbox: that would be a way around it.
        return Err(Error::not_isolated(
            "strict mode is the default here (`init --strict`), and an environment alone cannot give the sandbox",
            "launch through kiro-aws instead (`kiro-aws`, `kiro-aws run -- COMMAND`), or run `kiro-aws init --no-strict`",
        )
        .with_code("strict_required"));
    }
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

/// Ask STS about `profiles` (all at once, in the probe) and judge each answer.
fn ask_identity(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    set: &ProfileSet,
    profiles: &[String],
    timeout_secs: u64,
) -> Result<Vec<Checked>> {
    let request = Request::Whoami {
        profiles: profiles.to_vec(),
        timeout_ms: timeout_secs * 1000,
    };
    let label = format!("asking AWS who {} is", profiles.join(", "));
    let response = probe::call(paths, &profiles[0], inherited, &request, &label)?;
    let mut answers = match response {
        Response::Whoami(answers) => answers,
        Response::Failed(observation) => profiles
            .iter()
            .map(|profile| probe::ProfileObservation {
                profile: profile.clone(),
                observation: observation.clone(),
            })
            .collect(),
        Response::Events { .. } | Response::Credentials(_) => {
            unreachable!("the probe answers the request it was given")
        }
    };
    Ok(profiles
        .iter()
        .map(|name| {
            let profile = set.profile(name).expect("selected from the set");
            // Matched by name: a profile the probe did not answer for is not proven.
            let observation = match answers.iter().position(|a| &a.profile == name) {
                Some(i) => answers.swap_remove(i).observation,
                None => Observation::Failed {
                    kind: identity::FailureKind::Other,
                    message: "the online probe gave no answer for this profile".into(),
                },
            };
            identity::check(
                profile,
                &observation,
                &identity::login_command(set, profile),
            )
        })
        .collect())
}

fn whoami_command(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    args: &WhoamiArgs,
) -> Result<Exit> {
    let set = prove_keeping(paths, inherited, &probe::ENDPOINT_OVERRIDES)?;
    let profiles = if args.all {
        set.names()
    } else {
        vec![select_profile(
            &set,
            &ProfileArg {
                profile: args.profile.clone(),
            },
        )?]
    };
    let checked = ask_identity(paths, inherited, &set, &profiles, args.timeout)?;
    let ok = checked.iter().all(|c| c.ok);
    if args.json {
        let json = serde_json::json!({"ok": ok, "profiles": checked});
        println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
    } else {
        print!("{}", identity::render(&checked));
    }
    Ok(if ok { Exit::Success } else { Exit::NotIsolated })
}

const AWS_CLI_V2_HINT: &str =
    "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html";

fn login_command(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    profile: &ProfileArg,
) -> Result<Exit> {
    let set = prove(paths, inherited)?;
    let name = select_profile(&set, profile)?;
    let session = &set
        .profile(&name)
        .expect("selected from the set")
        .sso_session;
    let source = ProgramSource {
        name: "aws",
        flag: None,
        override_var: None,
        install_hint: AWS_CLI_V2_HINT,
    };
    let program = launch::resolve_program(source, inherited)?;
    let env = LaunchEnv::new(paths, &name, inherited)?;
    if let Some(version) = launch::aws_cli_major_version(&program, &env, inherited) {
        if version < 2 {
            return Err(Error::missing_program(
                &format!("{} (version 2)", program.display()),
                format!("AWS CLI v{version} has no `sso login`; {AWS_CLI_V2_HINT}"),
            ));
        }
    }
    let plan = LaunchPlan {
        program,
        argv: ["aws", "sso", "login", "--sso-session", session]
            .map(OsString::from)
            .to_vec(),
        env,
    };
    Err(launch::exec(&plan, inherited))
}

fn audit_command(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    args: &AuditArgs,
) -> Result<Exit> {
    let window = audit::Window::parse(&args.since, args.until.as_deref(), crate::clock::now())?;
    audit::check_event_data_store(&args.event_data_store)?;
    let set = prove_keeping(paths, inherited, &probe::ENDPOINT_OVERRIDES)?;
    let roles = audit::roles(&set);
    if !args.run {
        if args.profile.is_some() {
            return Err(Error::input(
                "audit_option_needs_run",
                "--profile chooses whom --run calls CloudTrail as",
                "add --run, or drop --profile",
            ));
        }
        let sql = audit::sql(&roles, window, &args.event_data_store);
        let commands = audit::lookup_commands(&set, &roles, window);
        match args.format {
            Some(AuditFormat::Sql) => print!("{sql}"),
            Some(AuditFormat::Cli) => println!("{}", commands.join("\n\n")),
            Some(AuditFormat::Json) => {
                let json = serde_json::json!({
                    "start": audit::rfc3339(window.start),
                    "end": audit::rfc3339(window.end),
                    "roles": roles,
                    "sql": sql,
                    "lookup_events": commands,
                });
                println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
            }
            Some(AuditFormat::Table) => {
                return Err(Error::input(
                    "audit_option_needs_run",
                    "--format table prints events, which only --run fetches",
                    "add --run, or use --format sql, cli or json",
                ))
            }
            None => println!(
                "-- CloudTrail Lake (all accounts of an organization event data store):\n{sql}\n\
                 # CloudTrail LookupEvents (90 days, one account and region per call):\n{}",
                commands.join("\n\n")
            ),
        }
        return Ok(Exit::Success);
    }
    let format = match args.format {
        None | Some(AuditFormat::Table) => AuditFormat::Table,
        Some(AuditFormat::Json) => AuditFormat::Json,
        Some(other) => {
            return Err(Error::input(
                "audit_option_needs_run",
                format!("--format {other:?} prints a query; --run prints events").to_lowercase(),
                "use --format table or json with --run, or drop --run",
            ))
        }
    };
    let profile = select_profile(
        &set,
        &ProfileArg {
            profile: args.profile.clone(),
        },
    )?;
    let request = Request::LookupEvents {
        profile: profile.clone(),
        start: window.start,
        end: window.end,
        max_events: args.max_events,
        timeout_ms: args.timeout * 1000,
    };
    let label = format!("reading CloudTrail as {profile}");
    let (events, truncated) = match probe::call(paths, &profile, inherited, &request, &label)? {
        Response::Events { events, truncated } => (events, truncated),
        Response::Failed(observation) => {
            let profile_model = set.profile(&profile).expect("selected from the set");
            let checked = identity::check(
                profile_model,
                &observation,
                &identity::login_command(&set, profile_model),
            );
            for finding in &checked.findings {
                eprintln!("kiro-aws: {finding}");
            }
            let failed = Error::other(
                "audit_failed",
                format!("CloudTrail LookupEvents as {profile} failed"),
                "fix the finding above, then run the audit again",
            );
            // A missing or expired sign-in is exit 3, as for whoami.
            let login = checked
                .findings
                .iter()
                .any(|f| f.code == "sso_login_required");
            return Err(if login {
                Error::identity_not_proven(failed.message, failed.fix).with_code("audit_failed")
            } else {
                failed
            });
        }
        Response::Whoami(_) | Response::Credentials(_) => {
            unreachable!("the probe answers the request it was given")
        }
    };
    let rows = audit::rows(&events, &roles);
    if format == AuditFormat::Json {
        let json = serde_json::json!({
            "profile": profile,
            "start": audit::rfc3339(window.start),
            "end": audit::rfc3339(window.end),
            "events_read": events.len(),
            "truncated": truncated,
            "events": rows,
        });
        println!("{}", serde_json::to_string_pretty(&json).expect("JSON"));
    } else {
        print!("{}", audit::table(&rows));
        eprintln!(
            "kiro-aws: {} of {} event(s) in {} .. {} are the kiro roles'{}",
            rows.len(),
            events.len(),
            audit::rfc3339(window.start),
            audit::rfc3339(window.end),
            if truncated {
                format!("; stopped at --max-events {}", args.max_events)
            } else {
                String::new()
            }
        );
    }
    Ok(Exit::Success)
}
