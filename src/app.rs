//! Dispatch: each request goes to its command, with the environment read once in `main`.

use crate::cli::{self, Parsed};
use crate::commands::{self, Request};
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::paths::Paths;

pub fn run(parsed: Parsed, env: &Env) -> Result<Exit> {
    let request = match parsed {
        Parsed::Completions(shell) => {
            cli::write_completions(shell);
            return Ok(Exit::Success);
        }
        Parsed::Command(request) => *request,
    };
    let paths = || Paths::from_env(env);
    match request {
        Request::Init(request) => commands::init::run(&request, &paths()?, env),
        Request::Verify(request) => commands::verify::run(request, &paths()?, env),
        Request::Launch(request) => commands::launch::run(request, &paths()?, env),
        Request::Env(request) => commands::env::run(&request, &paths()?, env),
        Request::Whoami(request) => commands::whoami::run(&request, &paths()?, env),
        Request::Login(request) => commands::login::run(&request, &paths()?, env),
        Request::Audit(request) => commands::audit::run(&request, &paths()?, env),
        Request::Policy(request) => commands::policy::run(request, &paths()?, env),
        Request::Hook => Ok(commands::hook::run(env)),
        Request::Probe => {
            crate::online::child::serve()
                .map_err(|e| Error::io("<stdin>", "answer the probe request", e))?;
            Ok(Exit::Success)
        }
        Request::SandboxExec {
            bridge,
            reach,
            argv,
        } => Err(crate::strict::sandbox_exec(
            bridge.as_deref(),
            &reach,
            &argv,
        )),
        Request::Connect { host, port } => crate::strict::connect(&host, port),
        Request::CredentialProcess {
            socket,
            secret_file,
            profile,
        } => crate::strict::credential_process(&socket, &secret_file, &profile),
    }
}
