//! Running the sandbox: kiro-aws stays outside as the parent (the broker lives in it),
//! forwards signals, keeps the terminal working and returns the agent's exit status.
//!
//! On a terminal the sandbox gets a pseudo-terminal of its own ([`Pty`]), so keystrokes
//! and resizes reach the agent and nothing inside can push characters into the real
//! terminal (`TIOCSTI`), which would run them in the user's shell after the session.
//! Without a terminal the sandbox runs in a new session with no controlling terminal.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::code::Code;
use crate::error::{Error, Result};
use crate::strict::bwrap::{self, Streams, FORWARDED};
use crate::strict::pty::{Pty, RawTerminal};

/// Signals kiro-aws handles itself (through a signalfd) while the sandbox runs: the
/// forwarded ones, a child's exit and a window resize.
fn handled() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED
        .into_iter()
        .chain([Signal::SIGCHLD, Signal::SIGWINCH])
    {
        set.add(s);
    }
    set
}

/// Block the handled signals in this thread and every thread started after it. Call
/// before starting any thread, so that no other thread takes them.
pub fn block_signals() -> Result<SigSet> {
    let set = handled();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(|e| {
        Error::new(
            Code::SystemCallFailed,
            format!("could not block signals: {e}"),
        )
    })?;
    Ok(set)
}

/// What came out of the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The exit status to return: the program's, or 128 + signal.
    pub status: u8,
    /// bwrap reported the program's exit (false: the sandbox failed before it ran).
    pub ran: bool,
}

/// A pipe for bwrap's `--json-status-fd`; the write end is passed to bwrap by number.
pub fn status_pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| {
        Error::new(
            Code::SystemCallFailed,
            format!("could not create a pipe: {e}"),
        )
    })
}

/// Run `bwrap args` with exactly `env`, until it exits. `pid_namespace` receives the
/// sandbox's PID namespace inode as soon as bwrap reports it.
pub fn run(
    bwrap: &Path,
    args: &[OsString],
    env: &BTreeMap<OsString, OsString>,
    signals: SigSet,
    pty: Option<Pty>,
    (status_read, status_write): (OwnedFd, OwnedFd),
    pid_namespace: Arc<OnceLock<u64>>,
) -> Result<Outcome> {
    let streams = match &pty {
        Some(pty) => Streams {
            stdin: pty.slave_stdio()?,
            stdout: pty.slave_stdio()?,
            stderr: pty.slave_stdio()?,
            terminal: true,
        },
        None => Streams {
            stdin: Stdio::inherit(),
            stdout: Stdio::inherit(),
            stderr: Stdio::inherit(),
            terminal: false,
        },
    };
    let mut command = bwrap::command(bwrap, args, env, streams, status_write.as_raw_fd());
    let mut child = command
        .spawn()
        .map_err(|e| Error::io(bwrap, "start bwrap", e))?;
    drop(status_write);
    // The copies of the sandbox's terminal that went to bwrap are not needed here.
    drop(command);
    let group = nix::unistd::Pid::from_raw(-(child.id() as i32));

    let exit_code: Arc<Mutex<Option<i64>>> = Arc::default();
    let reader = {
        let exit_code = Arc::clone(&exit_code);
        std::thread::spawn(move || {
            for line in BufReader::new(std::fs::File::from(status_read)).lines() {
                let Ok(line) = line else { break };
                let Ok(json) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let Some(ns) = json.get("pid-namespace").and_then(|v| v.as_u64()) {
                    let _ = pid_namespace.set(ns);
                }
                if let Some(code) = json.get("exit-code").and_then(|v| v.as_i64()) {
                    *exit_code.lock().unwrap_or_else(|e| e.into_inner()) = Some(code);
                }
            }
        })
    };

    let sfd = SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC)
        .map_err(|e| Error::new(Code::SystemCallFailed, format!("signalfd: {e}")))?;
    let _raw = pty.as_ref().map(|_| RawTerminal::enter());
    let bwrap_pid = child.id() as i32;
    // Signals go to bwrap's group, and on a terminal also to the sandbox terminal's
    // foreground group (an interactive shell inside puts its jobs in their own groups).
    let signalled = std::sync::atomic::AtomicBool::new(false);
    let forward = |signal: Signal| {
        signalled.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = nix::sys::signal::kill(group, signal);
        let fg = pty
            .as_ref()
            .and_then(|p| nix::unistd::tcgetpgrp(&p.master).ok())
            .map(|g| g.as_raw());
        if let Some(fg) = foreground_target(fg, bwrap_pid, nix::unistd::getpgrp().as_raw()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-fg), signal);
        }
    };
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // After a hangup the session gets a moment to end by itself, then it is killed: a
    // sandbox must not outlive the terminal it was started from.
    let kill_later = || {
        let finished = Arc::clone(&finished);
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(5));
            if !finished.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = nix::sys::signal::kill(group, Signal::SIGKILL);
            }
        });
    };
    let status = loop {
        if let Some(pty) = &pty {
            pty.pump(&sfd)?;
            if pty.hung_up.replace(false) {
                forward(Signal::SIGHUP);
                kill_later();
            }
        }
        // The pump above returns when a signal is pending (or the sandbox's side of the
        // terminal closed, when this waits for the exit).
        let info = match sfd.read_signal() {
            Ok(Some(info)) => info,
            Ok(None) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(Error::new(Code::SystemCallFailed, format!("signalfd: {e}"))),
        };
        let signal = Signal::try_from(info.ssi_signo as i32).ok();
        match signal {
            Some(Signal::SIGCHLD) => {
                if let Ok(Some(status)) = child.try_wait() {
                    break status;
                }
            }
            Some(Signal::SIGWINCH) => {
                if let Some(pty) = &pty {
                    pty.copy_size();
                }
            }
            Some(s) if FORWARDED.contains(&s) => {
                forward(s);
                if s == Signal::SIGHUP {
                    kill_later();
                }
            }
            _ => {}
        }
    };
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(pty) = &pty {
        pty.drain();
    }
    let _ = reader.join();
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    // The program ran when bwrap reported its exit, or when kiro-aws itself signalled
    // the sandbox (a program killed after a hangup has no exit code to report).
    let ran = exit_code
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some()
        || signalled.load(std::sync::atomic::Ordering::SeqCst);
    Ok(Outcome {
        status: u8::try_from(code).unwrap_or(1),
        ran,
    })
}

/// The sandbox terminal's foreground group to signal besides bwrap's, if any. A terminal
/// whose session is gone reports group 0, and `kill(-0)` would signal kiro-aws's own
/// group: itself included, a loop of hangups that starved the exit signal.
fn foreground_target(fg: Option<i32>, bwrap_pid: i32, own_group: i32) -> Option<i32> {
    fg.filter(|&g| g > 1 && g != bwrap_pid && g != own_group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_foreground_group_of_the_sandbox_is_signalled() {
        assert_eq!(foreground_target(Some(4242), 100, 7), Some(4242));
        for fg in [None, Some(0), Some(1), Some(100), Some(7)] {
            assert_eq!(foreground_target(fg, 100, 7), None, "{fg:?}");
        }
    }
}
