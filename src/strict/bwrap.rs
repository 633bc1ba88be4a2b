//! bubblewrap itself: which binary may build the boundary, how it is started (one way,
//! for the fail-closed check and for the launch alike), and what its refusals mean.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use nix::libc;
use nix::sys::signal::Signal;

use crate::code::Code;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::launch::program::{self, ProgramSource};
use crate::trust;

/// Signals bwrap must survive, so that it does not die and take the sandbox with it: it
/// starts with them ignored, the supervisor forwards them to the sandbox, and the shim
/// restores them for the program.
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
];

/// `bwrap`: `$KIRO_AWS_BWRAP`, else on `PATH`, resolved to the file that will run (not
/// a link that could be swapped after the check), and trusted. Missing is exit 3 here,
/// not 4: strict mode never falls back to launching without its sandbox.
pub fn find(inherited: &Env, home: &Path) -> Result<PathBuf> {
    let source = ProgramSource {
        name: "bwrap".as_ref(),
        flag: None,
        override_var: Some("KIRO_AWS_BWRAP"),
        install_hint: Code::StrictBwrapMissing.fix(),
    };
    let found = program::resolve_program(source, inherited).map_err(|_| {
        Error::new(
            Code::StrictBwrapMissing,
            "strict mode needs bwrap (bubblewrap), which was not found; nothing was launched",
        )
    })?;
    let bwrap = std::fs::canonicalize(&found).map_err(|e| Error::io(&found, "resolve bwrap", e))?;
    check_trusted(&bwrap, home).map_err(|reason| {
        Error::new(
            Code::StrictBwrapUntrusted,
            format!("refusing to build the sandbox with this bwrap: {reason}"),
        )
        .with_fix("use the system's bwrap (`sudo apt-get install bubblewrap`, /usr/bin/bwrap); unset KIRO_AWS_BWRAP or point it at a root-owned one")
        .at(&bwrap)
    })?;
    Ok(bwrap)
}

/// bwrap builds the boundary, so it must be a program the agent cannot have planted or
/// replaced: the file and every directory above it owned by root and not writable by
/// anyone else (sticky directories such as `/tmp` aside), and not below `$HOME`.
pub fn check_trusted(program: &Path, home: &Path) -> std::result::Result<(), String> {
    let real = std::fs::canonicalize(program).map_err(|e| format!("{}: {e}", program.display()))?;
    if let Ok(home) = std::fs::canonicalize(home) {
        if real.starts_with(&home) && home != Path::new("/") {
            return Err(format!(
                "{} is inside $HOME, where the agent can write",
                real.display()
            ));
        }
    }
    // Fail closed: a directory on the way that cannot be inspected is not trusted either.
    match trust::unsafe_ancestors(&real, &[0]).into_iter().next() {
        Some(trust::Ancestor::Replaceable { path, uid, mode }) => Err(format!(
            "{} is owned by uid {uid} with mode {mode:o}: someone but root could replace {}",
            path.display(),
            real.display()
        )),
        Some(trust::Ancestor::Unreadable { path, error }) => {
            Err(format!("{}: {error}", path.display()))
        }
        None => Ok(()),
    }
}

/// The standard streams of the sandbox.
pub struct Streams {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
    /// The streams are a terminal that becomes the sandbox's controlling terminal.
    pub terminal: bool,
}

/// The one way bwrap is started: with exactly `env`, in a new session, signals unblocked
/// and the forwarded ones ignored (bwrap must outlive them; the shim restores them for
/// the program), and no inherited descriptor but bwrap's status pipe (a descriptor of a
/// hidden directory would reach through the masks).
pub fn command(
    bwrap: &Path,
    args: &[OsString],
    env: &BTreeMap<OsString, OsString>,
    streams: Streams,
    status_fd: RawFd,
) -> Command {
    let mut command = Command::new(bwrap);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .stdin(streams.stdin)
        .stdout(streams.stdout)
        .stderr(streams.stderr);
    let terminal = streams.terminal;
    let ignored = FORWARDED.map(|s| s as libc::c_int);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if terminal && libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for s in ignored {
                libc::signal(s, libc::SIG_IGN);
            }
            if libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            ) < 0
            {
                // Before Linux 5.11: mark them one by one, up to the descriptor limit.
                let limit = libc::sysconf(libc::_SC_OPEN_MAX).clamp(256, 65536) as libc::c_int;
                for fd in 3..limit {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            if libc::fcntl(status_fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

/// Why bwrap refused, from its message, and what fixes it.
pub fn failure_fix(stderr: &str) -> &'static str {
    let s = stderr.to_ascii_lowercase();
    if s.contains("setting up uid map") || s.contains("apparmor") {
        "AppArmor blocks user namespaces for bwrap: allow it (Ubuntu: `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`, or an AppArmor profile for /usr/bin/bwrap)"
    } else if s.contains("namespace") || s.contains("operation not permitted") {
        "enable unprivileged user namespaces (`sudo sysctl kernel.unprivileged_userns_clone=1` and `user.max_user_namespaces` above 0), or run outside a container that forbids them"
    } else {
        "read bwrap's message above; `kiro-aws verify --strict` checks this machine"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_root_owned_bwrap_is_trusted() {
        assert_eq!(
            check_trusted(Path::new("/usr/bin/true"), Path::new("/nonexistent")),
            Ok(())
        );
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("bwrap");
        std::fs::write(&fake, "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(check_trusted(&fake, Path::new("/nonexistent"))
            .unwrap_err()
            .contains("mode 777"));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_trusted(&fake, dir.path())
            .unwrap_err()
            .contains("inside $HOME"));
    }

    #[test]
    fn failures_map_to_their_fix() {
        assert!(failure_fix("bwrap: setting up uid map: Permission denied").contains("AppArmor"));
        assert!(
            failure_fix("bwrap: Creating new namespace failed: Operation not permitted")
                .contains("user namespaces")
        );
    }
}
