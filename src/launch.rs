//! Launching: which program, which argv, which environment, as one pure value
//! ([`LaunchPlan`]); [`exec`] is the thin step that replaces this process with it.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::launch_env::LaunchEnv;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    /// The resolved executable.
    pub program: PathBuf,
    /// The whole argument vector, argv[0] included.
    pub argv: Vec<OsString>,
    pub env: LaunchEnv,
}

impl LaunchPlan {
    /// `kiro-cli chat --agent aws-readonly [args...]`.
    pub fn chat_argv(args: Vec<OsString>) -> Vec<OsString> {
        let mut argv: Vec<OsString> = ["kiro-cli", "chat", "--agent", crate::agent::AGENT_NAME]
            .map(OsString::from)
            .to_vec();
        argv.extend(args);
        argv
    }

    /// `kiro [args...]`.
    pub fn ide_argv(args: Vec<OsString>) -> Vec<OsString> {
        std::iter::once(OsString::from("kiro"))
            .chain(args)
            .collect()
    }
}

/// Where a program is looked up: an explicit path (a flag), then an override variable,
/// then `name` on the `PATH` the child will get.
#[derive(Debug, Clone, Copy)]
pub struct ProgramSource<'a> {
    pub name: &'a str,
    pub flag: Option<&'a Path>,
    pub override_var: Option<&'a str>,
    pub install_hint: &'a str,
}

pub fn var<'a>(inherited: &'a [(OsString, OsString)], name: &str) -> Option<&'a OsStr> {
    inherited
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_os_str())
}

pub fn resolve_program(
    source: ProgramSource,
    inherited: &[(OsString, OsString)],
) -> Result<PathBuf> {
    let wanted: &OsStr = match (
        source.flag,
        source.override_var.and_then(|v| var(inherited, v)),
    ) {
        (Some(flag), _) => flag.as_os_str(),
        (None, Some(value)) if !value.is_empty() => value,
        _ => OsStr::new(source.name),
    };
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    which::which_in(wanted, var(inherited, "PATH"), cwd)
        .map_err(|_| Error::missing_program(&wanted.to_string_lossy(), source.install_hint))
}

/// The major version `aws --version` reports (`aws-cli/2.22.1 Python/...`), run with the
/// launch environment; `None` when it cannot be told.
pub fn aws_cli_major_version(
    program: &Path,
    env: &LaunchEnv,
    inherited: &[(OsString, OsString)],
) -> Option<u32> {
    let output = std::process::Command::new(program)
        .arg("--version")
        .env_clear()
        .envs(env.apply(inherited))
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = [output.stdout, output.stderr].concat();
    let text = String::from_utf8_lossy(&text);
    let version = text.split_whitespace().next()?.strip_prefix("aws-cli/")?;
    version.split('.').next()?.parse().ok()
}

/// Replace this process with the plan. Returns only on failure.
pub fn exec(plan: &LaunchPlan, inherited: &[(OsString, OsString)]) -> Error {
    let c = |s: &OsStr| CString::new(s.as_bytes());
    let program = c(plan.program.as_os_str());
    let argv: std::result::Result<Vec<CString>, _> = plan.argv.iter().map(|a| c(a)).collect();
    let env: std::result::Result<Vec<CString>, _> = plan
        .env
        .apply(inherited)
        .into_iter()
        .map(|(k, v)| {
            let mut pair = k;
            pair.push("=");
            pair.push(v);
            c(&pair)
        })
        .collect();
    let (Ok(program), Ok(argv), Ok(env)) = (program, argv, env) else {
        return Error::other(
            "nul_in_argument",
            "an argument or variable holds a NUL byte",
            "remove the NUL byte",
        );
    };
    let errno = match nix::unistd::execve(&program, &argv, &env) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    let program = plan.program.display().to_string();
    if errno == nix::errno::Errno::ENOENT {
        Error::missing_program(&program, "check that the program exists")
    } else {
        Error::other(
            "exec_failed",
            format!("could not start {program}: {errno}"),
            "check that the program is executable",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths::Paths;
    use std::collections::BTreeMap;

    #[test]
    fn a_chat_plan_is_a_plain_value() {
        let inherited: Vec<(OsString, OsString)> = vec![
            ("AWS_SESSION_TOKEN".into(), "leak".into()),
            ("AWS_ENDPOINT_URL_SSO".into(), "https://elsewhere".into()),
        ];
        let plan = LaunchPlan {
            program: PathBuf::from("/opt/kiro/bin/kiro-cli"),
            argv: LaunchPlan::chat_argv(vec!["--resume".into()]),
            env: LaunchEnv::new(&Paths::new(Path::new("/home/dev")), "kiro-dev", &inherited)
                .unwrap(),
        };
        let mut unset: Vec<String> = crate::launch_env::REMOVED
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
        assert_eq!(
            LaunchPlan::ide_argv(vec![".".into()]),
            ["kiro", "."].map(OsString::from)
        );
    }
}
