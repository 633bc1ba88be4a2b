//! Strict mode: the agent runs in a bubblewrap sandbox where the host's AWS files and the
//! SSO token do not exist, and kiro credentials come in from a broker outside.
//!
//! The sandbox is Linux-only (bubblewrap, user and PID namespaces, signalfd, peer
//! credentials, Landlock, `close_range`, `/proc`): its modules are compiled on Linux
//! alone, here. Everywhere else each entry point below refuses with
//! `strict_unsupported_platform` (exit 3), and nothing is launched.
//!
//! The pieces: `plan` (the sandbox as a value and its bwrap argv), `view` (what is
//! hidden and what stays writable), `bwrap` (which bwrap, and starting it), `session`
//! (one session start to end, its run directory), `broker` (credentials over a Unix
//! socket), `egress` (the network: a namespace with only loopback, and the proxy outside
//! that is its one way out), `supervisor` and `pty` (signals and the terminal), `shim`
//! (the first program inside) and `landlock`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::code::Code;
use crate::config::profile::ProfileSet;
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::finding::Finding;
use crate::paths::Paths;

#[cfg(target_os = "linux")]
mod broker;
#[cfg(target_os = "linux")]
mod bwrap;
#[cfg(target_os = "linux")]
pub mod egress;
#[cfg(target_os = "linux")]
mod landlock;
#[cfg(target_os = "linux")]
mod mediate;
mod names;
#[cfg(target_os = "linux")]
mod plan;
#[cfg(target_os = "linux")]
mod pty;
#[cfg(target_os = "linux")]
mod session;
#[cfg(target_os = "linux")]
mod shim;
#[cfg(target_os = "linux")]
mod supervisor;
#[cfg(target_os = "linux")]
mod view;

pub use names::{CLIENT, CONNECT, SHIM};

/// The refusal of strict mode on `os` (as `std::env::consts::OS` names it), where the
/// sandbox cannot be built: every system but Linux.
fn refusal(os: &str) -> Option<Error> {
    (os != "linux").then(|| {
        Error::new(
            Code::StrictUnsupportedPlatform,
            format!(
                "strict mode needs Linux (bubblewrap and its namespaces); this is {os}, and nothing was launched"
            ),
        )
    })
}

/// Whether this platform can run strict mode at all.
pub fn check_platform() -> Result<()> {
    refusal(std::env::consts::OS).map_or(Ok(()), Err)
}

#[cfg(not(target_os = "linux"))]
fn unsupported() -> Error {
    refusal(std::env::consts::OS).expect("not Linux")
}

/// What a launch asks of the sandbox beyond its own rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Containment {
    /// `--hide PATH`s: more to hide.
    pub hide: Vec<PathBuf>,
    /// `--allow-socket PATH`s: sockets outside the agent may connect to.
    pub allow_sockets: Vec<PathBuf>,
    /// `--allow-host HOST:PORT`s: exact hosts the egress proxy lets in.
    pub allow_hosts: Vec<crate::network::HostPort>,
    /// `--network`, when given.
    pub network: Option<crate::network::Network>,
}

/// Run `program argv...` in the strict sandbox and return its exit status.
pub fn launch(
    paths: &Paths,
    inherited: &Env,
    set: &ProfileSet,
    profile: &str,
    containment: &Containment,
    program: PathBuf,
    argv: Vec<OsString>,
) -> Result<Exit> {
    #[cfg(target_os = "linux")]
    return session::launch(paths, inherited, set, profile, containment, program, argv);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (paths, inherited, set, profile, containment, program, argv);
        Err(unsupported())
    }
}

/// `verify --strict`: what keeps this machine from running strict mode for `set`, as
/// findings. Builds the sandbox once around `true`, exactly as a launch would (in a run
/// directory of its own, removed at once).
pub fn check_machine(paths: &Paths, inherited: &Env, set: &ProfileSet) -> Vec<Finding> {
    #[cfg(target_os = "linux")]
    return session::check_machine(paths, inherited, set);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (paths, inherited, set);
        vec![Finding::from_error(
            Code::StrictUnsupportedPlatform,
            "strict",
            unsupported(),
        )]
    }
}

/// Inside the sandbox: the shim, which puts the program under the connect filter (only
/// `reach` among the sockets outside), runs the network bridge to `bridge`, and execs
/// the program (returns only on failure).
pub fn sandbox_exec(bridge: Option<&Path>, reach: &[PathBuf], argv: &[OsString]) -> Error {
    #[cfg(target_os = "linux")]
    return shim::shim(bridge, reach, argv);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (bridge, reach, argv);
        unsupported()
    }
}

/// Inside the sandbox: a tunnel to `host:port` through the egress proxy, on standard
/// input and output.
pub fn connect(host: &str, port: u16) -> Result<Exit> {
    #[cfg(target_os = "linux")]
    return egress::bridge::connect(host, port);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (host, port);
        Err(unsupported())
    }
}

/// Inside the sandbox: the `credential_process` that asks the broker.
pub fn credential_process(socket: &Path, secret_file: &Path, profile: &str) -> Result<Exit> {
    #[cfg(target_os = "linux")]
    return broker::client(socket, secret_file, profile);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (socket, secret_file, profile);
        Err(unsupported())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_mode_is_refused_on_every_system_but_linux() {
        assert!(refusal("linux").is_none());
        for os in ["macos", "freebsd"] {
            let error = refusal(os).unwrap();
            assert_eq!(error.code, Code::StrictUnsupportedPlatform);
            assert_eq!(error.exit.code(), 3);
            assert!(error.message.contains(os), "{}", error.message);
            assert!(error.fix.contains("default mode works"), "{}", error.fix);
        }
        assert_eq!(
            check_platform().is_ok(),
            cfg!(target_os = "linux"),
            "strict mode is available exactly on Linux"
        );
    }
}
