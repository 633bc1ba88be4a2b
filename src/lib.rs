//! kiro-aws: give Kiro an isolated, verified, read-only AWS configuration.
//!
//! The layers, lowest first (a module imports only from layers below it):
//! - `code`, `error`, `finding`: every stable code, with its exit status and fix; the
//!   error type; what `verify` reports. `env`: the environment, read once in `main`.
//!   `paths`: every path, from one home. `clock`, `trust` (who else could change a
//!   path), `platform` (what differs between Linux and macOS), `policy` (the managed
//!   policy an administrator installs), `network` (where strict mode's network may go:
//!   the rules on names and addresses), `glob` (shell-style name patterns), `text` (others' text made safe to print).
//! - `config/`: the profile model, every validation rule and the AWS-format files.
//! - `sso/`: IAM Identity Center as files and names: the token cache the AWS CLI and
//!   SDKs share, and discovery's pure plan (which roles become which profiles).
//! - `launch/`: the environment the agent gets, finding the program, the plan, the exec.
//! - `hook/`: the agent's `preToolUse` hook, which judges each tool call (it reads
//!   the isolated config and the launch's variable rules, nothing else).
//! - `install/`: what `init` (and every Kiro launch) writes, and the one way files are
//!   written.
//! - `kiro/`: which Kiro CLI runs, its engine, and whether that engine loads the agent.
//! - `kit/`: the role kit `policy` prints (permission sets, their policies, the
//!   CloudFormation template), pure values from the profiles.
//! - `verify`: the proof of isolation; it only reads.
//! - `online/`: the only code that talks to AWS, in a child process.
//! - `strict/`: the sandbox (Linux only), the broker, the supervisor, the connect filter,
//!   and the network's one way out (`egress/`).
//! - `commands/`: one file a command. `cli`: clap, and the conversion into the
//!   commands' requests. `app`: dispatch.

mod app;
mod cli;
mod clock;
mod code;
mod commands;
mod config;
mod env;
mod error;
mod finding;
mod glob;
mod hook;
mod install;
mod kiro;
mod kit;
mod launch;
mod network;
mod online;
mod paths;
mod platform;
mod policy;
mod sso;
mod strict;
mod text;
mod trust;
mod verify;

pub use error::{Error, Exit};

/// The whole program: parse the command line, read the environment, run the command.
pub fn run() -> Result<Exit, Error> {
    let parsed = cli::parse();
    app::run(parsed, &env::Env::from_process())
}

/// What the integration tests reach inside the crate (not an API: it changes freely).
#[doc(hidden)]
pub mod testing {
    pub use crate::code::Code;
    pub use crate::config::config_file;
    pub use crate::config::ini::FileKind;
    pub use crate::config::profile::{
        Profile, ProfileSet, SsoSession, DEFAULT_REGISTRATION_SCOPES,
    };
    pub use crate::config::sdk_view;
    pub use crate::env::Env;
    pub use crate::kit::compact::compact;
    pub use crate::kit::documents::{GUARDED_WRITES, TAKEOVER};
    pub use crate::launch::environment::TAG;
    pub use crate::paths::Paths;
    pub use crate::verify::verify;
}
