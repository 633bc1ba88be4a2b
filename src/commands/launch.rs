//! `kiro-aws [chat]`, `run` and `ide`: prove isolation, pick the profile, refresh the
//! agent and the steering block (for Kiro), find the program, then exec it in the
//! isolated environment, or run it in the strict sandbox and wait for it.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use crate::code::Code;
use crate::commands::{shared, whoami};
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::install::{agent, plan as install};
use crate::kiro::{self, engine::Engine};
use crate::launch::environment::LaunchEnv;
use crate::launch::exec::exec;
use crate::launch::plan::LaunchPlan;
use crate::launch::program::{self, ProgramSource};
use crate::paths::Paths;

const KIRO_CLI_HINT: &str =
    "install Kiro CLI (https://kiro.dev/docs/cli/), or pass --kiro-cli PATH or set KIRO_AWS_KIRO_CLI";
const KIRO_IDE_HINT: &str =
    "install the Kiro IDE and its `kiro` shell command, or pass --kiro-ide PATH or set KIRO_AWS_KIRO_IDE";

/// What to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `kiro-cli chat --agent aws-readonly ARGS...`.
    Chat {
        kiro_cli: Option<PathBuf>,
        args: Vec<OsString>,
        /// Ask AWS who the profile is before launching.
        check_identity: bool,
    },
    /// Any command.
    Run { command: Vec<OsString> },
    /// The Kiro IDE's launcher, `kiro ARGS...`.
    Ide {
        kiro_ide: Option<PathBuf>,
        args: Vec<OsString>,
    },
}

/// The strict-mode flags, for the commands that have them (the IDE does not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strict {
    /// `--strict`.
    pub on: bool,
    /// `--hide PATH`s.
    pub hide: Vec<PathBuf>,
    /// `--allow-socket PATH`s.
    pub allow_sockets: Vec<PathBuf>,
    /// `--allow-host HOST:PORT`s, as written (checked by the launch).
    pub allow_hosts: Vec<String>,
    /// `--network`.
    pub network: Option<crate::network::Network>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub profile: Option<String>,
    pub strict: Option<Strict>,
    pub target: Target,
}

impl Target {
    /// Where the program is looked up, and its whole argv.
    fn program(&self) -> (ProgramSource<'_>, Vec<OsString>) {
        match self {
            Target::Chat { kiro_cli, args, .. } => {
                (kiro_cli_source(kiro_cli.as_deref()), chat_argv(args))
            }
            Target::Ide { kiro_ide, args } => (
                ProgramSource {
                    name: "kiro".as_ref(),
                    flag: kiro_ide.as_deref(),
                    override_var: Some("KIRO_AWS_KIRO_IDE"),
                    install_hint: KIRO_IDE_HINT,
                },
                ide_argv(args),
            ),
            Target::Run { command } => (
                ProgramSource {
                    name: &command[0],
                    flag: None,
                    override_var: None,
                    install_hint: "check the command name and PATH",
                },
                command.clone(),
            ),
        }
    }
}

/// Where `kiro-cli` is looked up: `--kiro-cli`, `$KIRO_AWS_KIRO_CLI`, then `PATH`.
pub fn kiro_cli_source(flag: Option<&std::path::Path>) -> ProgramSource<'_> {
    ProgramSource {
        name: "kiro-cli".as_ref(),
        flag,
        override_var: Some("KIRO_AWS_KIRO_CLI"),
        install_hint: KIRO_CLI_HINT,
    }
}

/// `kiro-cli chat --agent aws-readonly [args...]`.
fn chat_argv(args: &[OsString]) -> Vec<OsString> {
    ["kiro-cli", "chat", "--agent", agent::AGENT_NAME]
        .map(OsString::from)
        .into_iter()
        .chain(args.iter().cloned())
        .collect()
}

/// `kiro [args...]`.
fn ide_argv(args: &[OsString]) -> Vec<OsString> {
    std::iter::once(OsString::from("kiro"))
        .chain(args.iter().cloned())
        .collect()
}

pub fn run(request: Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let set = shared::prove(paths, inherited, &[])?;
    let strict = request.strict.as_ref().is_some_and(|s| s.on) || set.strict;
    if request.strict.as_ref().is_some_and(|s| {
        !s.hide.is_empty()
            || !s.allow_sockets.is_empty()
            || !s.allow_hosts.is_empty()
            || s.network.is_some()
    }) && !strict
    {
        return Err(Error::new(
            Code::HideNeedsStrict,
            "--hide, --allow-socket, --allow-host and --network work only in strict mode",
        ));
    }
    if strict {
        // Before anything is written: this system may have no sandbox at all.
        crate::strict::check_platform()?;
    }
    let hide = match &request.strict {
        Some(flags) if strict => Some(crate::strict::Containment {
            hide: flags.hide.clone(),
            allow_sockets: flags.allow_sockets.clone(),
            allow_hosts: flags
                .allow_hosts
                .iter()
                .map(|h| crate::network::HostPort::parse(h))
                .collect::<Result<_>>()?,
            network: flags.network,
        }),
        Some(_) => None,
        None if strict => {
            return Err(Error::new(
                Code::StrictUnsupported,
                "strict mode is the default here, and the IDE cannot be contained: it may hand the window to an instance already running outside",
            ))
        }
        None => None,
    };
    let profile = shared::select_profile(&set, request.profile.as_deref())?;
    if let Target::Chat {
        check_identity: true,
        ..
    } = request.target
    {
        let checked = whoami::ask(
            paths,
            inherited,
            &set,
            std::slice::from_ref(profile),
            shared::DEFAULT_TIMEOUT_SECS,
        )?;
        let mut err = std::io::stderr().lock();
        for finding in checked.iter().flat_map(|c| &c.findings) {
            let _ = writeln!(err, "kiro-aws: {finding}");
        }
        if !checked.iter().all(|c| c.ok) {
            return Err(Error::new(
                Code::IdentityNotProven,
                format!(
                    "AWS did not confirm profile {} as configured; nothing was launched",
                    profile.name
                ),
            ));
        }
    }
    let (source, argv) = request.target.program();
    let program = program::resolve_program(source, inherited)?;
    match &request.target {
        Target::Chat { args, .. } => {
            // The JSON dialect for the engine this session runs, then the proof that the
            // engine loads what was written.
            let asked = kiro::ask(&program, paths);
            let json = match kiro::engine_of(&asked, args) {
                Some(Engine::V1) => agent::Format::Classic,
                _ => agent::Format::V2,
            };
            install_launch_files(&set, paths, json)?;
            let report = kiro::inspect(
                &program,
                asked,
                args,
                paths,
                inherited.cwd(),
                kiro::Moment::Written,
            );
            if let Some(refusal) = report.refusal() {
                return Err(refusal);
            }
        }
        Target::Ide { .. } => install_launch_files(&set, paths, agent::Format::V2)?,
        Target::Run { .. } => {}
    }
    match hide {
        Some(hide) => {
            crate::strict::launch(paths, inherited, &set, &profile.name, &hide, program, argv)
        }
        None => {
            let plan = LaunchPlan {
                program,
                argv,
                env: LaunchEnv::new(paths, &profile.name, inherited)?,
            };
            Err(exec(&plan, inherited))
        }
    }
}

fn install_launch_files(
    set: &crate::config::profile::ProfileSet,
    paths: &Paths,
    json: agent::Format,
) -> Result<()> {
    let spec = install::AgentSpec {
        json,
        hook: agent::hook_command(&install::this_binary()?),
    };
    let plan = install::plan_launch_files(set, paths, &spec)?;
    install::apply(&plan, paths)?;
    for p in plan
        .iter()
        .filter(|p| p.action != install::Action::Unchanged)
    {
        eprintln!("kiro-aws: installed {}", p.path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    #[test]
    fn a_chat_plan_is_a_plain_value() {
        let inherited = Env::of(&[
            ("AWS_SESSION_TOKEN", "leak"),
            ("AWS_ENDPOINT_URL_SSO", "https://elsewhere"),
        ]);
        let plan = LaunchPlan {
            program: PathBuf::from("/opt/kiro/bin/kiro-cli"),
            argv: chat_argv(&["--resume".into()]),
            env: LaunchEnv::new(&Paths::new(Path::new("/home/dev")), "kiro-dev", &inherited)
                .unwrap(),
        };
        let mut unset: Vec<String> = crate::launch::environment::REMOVED
            .iter()
            .map(|s| s.to_string())
            .collect();
        unset.push("AWS_ENDPOINT_URL_SSO".into());
        unset.sort();
        let expected = LaunchPlan {
            program: PathBuf::from("/opt/kiro/bin/kiro-cli"),
            argv: ["kiro-cli", "chat", "--agent", "aws-readonly", "--resume"]
                .map(OsString::from)
                .to_vec(),
            env: LaunchEnv {
                set: BTreeMap::from([
                    (
                        "AWS_CONFIG_FILE".into(),
                        "/home/dev/.aws/kiro/config".into(),
                    ),
                    ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
                    (
                        "AWS_EXECUTION_ENV".into(),
                        format!("kiro-aws/{}", env!("CARGO_PKG_VERSION")),
                    ),
                    ("AWS_PROFILE".into(), "kiro-dev".into()),
                    ("AWS_SDK_LOAD_CONFIG".into(), "1".into()),
                    (
                        "AWS_SHARED_CREDENTIALS_FILE".into(),
                        "/home/dev/.aws/kiro/credentials".into(),
                    ),
                ]),
                unset,
            },
        };
        assert_eq!(plan, expected);
        assert_eq!(ide_argv(&[".".into()]), ["kiro", "."].map(OsString::from));
    }
}
