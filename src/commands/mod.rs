//! The commands, one file each. Each takes a domain request (built from the command line
//! in `cli`), does its work through the subsystems and returns the exit status. What
//! several of them share is in `shared`.

pub mod audit;
pub mod env;
pub mod hook;
pub mod init;
pub mod launch;
pub mod login;
pub mod policy;
pub mod shared;
pub mod verify;
pub mod whoami;

use std::path::PathBuf;

/// A command, as the command line asked for it.
#[derive(Debug)]
pub enum Request {
    Init(init::Request),
    Verify(verify::Request),
    Launch(launch::Request),
    Env(env::Request),
    Whoami(whoami::Request),
    Login(login::Request),
    Audit(audit::Request),
    Policy(policy::Request),
    /// The agent's `preToolUse` hook: one event on stdin, exit 0 or 2.
    Hook,
    /// The online side of whoami, audit --run and the broker (internal).
    Probe,
    /// Inside the strict sandbox: the shim that execs the program (internal).
    SandboxExec {
        bridge: Option<PathBuf>,
        reach: Vec<PathBuf>,
        argv: Vec<std::ffi::OsString>,
    },
    /// Inside the strict sandbox: a tunnel through the egress proxy (internal).
    Connect {
        host: String,
        port: u16,
    },
    /// Inside the strict sandbox: a `credential_process` that asks the broker (internal).
    CredentialProcess {
        socket: PathBuf,
        secret_file: PathBuf,
        profile: String,
    },
}
