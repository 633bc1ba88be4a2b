//! `kiro-aws login`: sign the kiro sso-session in with AWS CLI v2 (`aws sso login`), in
//! the isolated environment.

use std::ffi::OsString;

use crate::commands::shared;
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::launch::environment::LaunchEnv;
use crate::launch::exec::exec;
use crate::launch::plan::LaunchPlan;
use crate::launch::program::{self, ProgramSource};
use crate::paths::Paths;

const AWS_CLI_V2_HINT: &str =
    "install AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub profile: Option<String>,
}

pub fn run(request: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let set = shared::prove(paths, inherited, &[])?;
    let profile = shared::select_profile(&set, request.profile.as_deref())?;
    let source = ProgramSource {
        name: "aws".as_ref(),
        flag: None,
        override_var: None,
        install_hint: AWS_CLI_V2_HINT,
    };
    let program = program::resolve_program(source, inherited)?;
    let env = LaunchEnv::new(paths, &profile.name, inherited)?;
    if let Some(version) = program::aws_cli_major_version(&program, &env, inherited) {
        if version < 2 {
            return Err(Error::missing_program(
                &format!("{} (version 2)", program.display()),
                format!("AWS CLI v{version} has no `sso login`; {AWS_CLI_V2_HINT}"),
            ));
        }
    }
    let plan = LaunchPlan {
        program,
        argv: ["aws", "sso", "login", "--sso-session", &profile.sso_session]
            .map(OsString::from)
            .to_vec(),
        env,
    };
    Err(exec(&plan, inherited))
}
