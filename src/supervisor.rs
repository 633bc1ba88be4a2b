//! Running the sandbox: kiro-aws stays outside as the parent (the broker lives in it),
//! forwards signals, keeps the terminal working and returns the agent's exit status.
//!
//! On a terminal the sandbox gets a pseudo-terminal of its own, and kiro-aws copies bytes
//! and window sizes between it and the real one: keystrokes and resizes reach the agent,
//! and nothing inside can push characters into the real terminal (`TIOCSTI`), which would
//! run them in the user's shell after the session. Without a terminal the sandbox runs in
//! a new session with no controlling terminal at all.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use nix::libc;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::error::{Error, Result};

/// Signals kiro-aws handles itself (through a signalfd) while the sandbox runs.
const HANDLED: [Signal; 6] = [
    Signal::SIGCHLD,
    Signal::SIGWINCH,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
];

/// Signals that are passed on to the sandbox's process group. bwrap ignores them (so it
/// does not die and take the sandbox with it); the shim restores them for the program.
pub const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGHUP,
];

/// Block the handled signals in this thread and every thread started after it. Call
/// before starting any thread, so that no other thread takes them.
pub fn block_signals() -> Result<SigSet> {
    let mut set = SigSet::empty();
    for s in HANDLED {
        set.add(s);
    }
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(|e| {
        Error::other(
            "system_call_failed",
            format!("could not block signals: {e}"),
            "report this as a bug",
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
        Error::other(
            "system_call_failed",
            format!("could not create a pipe: {e}"),
            "report this as a bug",
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
    let status_fd = status_write.as_raw_fd();

    let mut command = Command::new(bwrap);
    command.args(args).env_clear().envs(env);
    if let Some(pty) = &pty {
        let slave = |pty: &Pty| -> Result<Stdio> {
            Ok(Stdio::from(pty.slave.try_clone().map_err(|e| {
                Error::io("/dev/ptmx", "duplicate the terminal", e)
            })?))
        };
        command
            .stdin(slave(pty)?)
            .stdout(slave(pty)?)
            .stderr(slave(pty)?);
    }
    let controlling_tty = pty.is_some();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if controlling_tty && libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            for s in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(s, libc::SIG_IGN);
            }
            // Nothing kiro-aws inherited goes in (a descriptor of a hidden directory would
            // reach through the masks); only bwrap's status pipe.
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

    let sfd = SignalFd::with_flags(&signals, SfdFlags::SFD_CLOEXEC).map_err(|e| {
        Error::other(
            "system_call_failed",
            format!("signalfd: {e}"),
            "report this as a bug",
        )
    })?;
    let _raw = pty.as_ref().map(|_| RawTerminal::enter());
    let bwrap_pid = child.id() as i32;
    // Signals go to bwrap's group, and on a terminal also to the sandbox terminal's
    // foreground group (an interactive shell inside puts its jobs in their own groups).
    let signalled = std::sync::atomic::AtomicBool::new(false);
    let forward = |signal: Signal| {
        signalled.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = nix::sys::signal::kill(group, signal);
        if let Some(fg) = pty
            .as_ref()
            .and_then(|p| nix::unistd::tcgetpgrp(&p.master).ok())
        {
            if fg.as_raw() != bwrap_pid {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(-fg.as_raw()), signal);
            }
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
            Err(e) => {
                return Err(Error::other(
                    "system_call_failed",
                    format!("signalfd: {e}"),
                    "report this as a bug",
                ))
            }
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

/// The sandbox's own pseudo-terminal and the loop that joins it to the real one.
pub struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
    /// The real terminal still has input to give.
    input_open: std::cell::Cell<bool>,
    /// The real terminal went away since the last look.
    hung_up: std::cell::Cell<bool>,
    /// Typed or pasted bytes the sandbox has not taken yet.
    pending: std::cell::RefCell<Vec<u8>>,
}

impl Pty {
    /// A pseudo-terminal for the sandbox when kiro-aws runs on one. Open it before any
    /// other thread can start a child, which would inherit it until its descriptors are
    /// marked close-on-exec.
    pub fn open_if_terminal() -> Result<Option<Pty>> {
        let terminal = unsafe { libc::isatty(0) == 1 && libc::isatty(1) == 1 };
        if terminal {
            Pty::open().map(Some)
        } else {
            Ok(None)
        }
    }

    fn open() -> Result<Pty> {
        let size = window_size(0);
        let termios = nix::sys::termios::tcgetattr(std::io::stdin()).ok();
        let pty = nix::pty::openpty(size.as_ref(), termios.as_ref())
            .map_err(|e| Error::io("/dev/ptmx", "open a terminal for the sandbox", e.into()))?;
        for fd in [&pty.master, &pty.slave] {
            // Not inherited by anything but bwrap's standard streams.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        }
        // kiro-aws never waits on the sandbox's terminal (see `pump`).
        unsafe {
            let master = pty.master.as_raw_fd();
            let flags = libc::fcntl(master, libc::F_GETFL);
            libc::fcntl(master, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
        Ok(Pty {
            master: pty.master,
            slave: pty.slave,
            input_open: std::cell::Cell::new(true),
            hung_up: std::cell::Cell::new(false),
            pending: std::cell::RefCell::new(Vec::new()),
        })
    }

    /// Copy bytes both ways until a signal is pending. Input waits in a buffer while the
    /// program is not reading it, so a large paste never blocks kiro-aws (and with it the
    /// output and the signals).
    fn pump(&self, sfd: &SignalFd) -> Result<()> {
        use nix::poll::PollFlags;
        const MAX_PENDING: usize = 1 << 20;
        loop {
            let pending = self.pending.borrow().len();
            let input_events = if self.input_open.get() && pending < MAX_PENDING {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            };
            let master_events = if pending > 0 {
                PollFlags::POLLIN | PollFlags::POLLOUT
            } else {
                PollFlags::POLLIN
            };
            // A closed terminal keeps reporting a hangup: once input is over, its entry is
            // left out (poll skips a negative descriptor), or this would spin.
            let input_fd = if self.input_open.get() { 0 } else { -1 };
            let mut raw = [
                libc::pollfd {
                    fd: sfd.as_fd().as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: self.master.as_raw_fd(),
                    events: master_events.bits(),
                    revents: 0,
                },
                libc::pollfd {
                    fd: input_fd,
                    events: input_events.bits(),
                    revents: 0,
                },
            ];
            let polled = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, -1) };
            let result = if polled < 0 {
                Err(nix::errno::Errno::last())
            } else {
                Ok(())
            };
            let fds = raw.map(|p| PollFlags::from_bits_truncate(p.revents));
            match result {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    return Err(Error::other(
                        "system_call_failed",
                        format!("poll: {e}"),
                        "report this as a bug",
                    ))
                }
                Ok(_) => {}
            }
            let has = |revents: &PollFlags, flags: PollFlags| revents.intersects(flags);
            let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
            if has(&fds[1], readable) {
                match read_some(self.master.as_raw_fd()) {
                    Read::Data(bytes) => write_all(1, &bytes),
                    Read::WouldBlock => {}
                    // The sandbox side is closed; wait for the exit signal only.
                    Read::Closed => return Ok(()),
                }
            }
            if self.input_open.get() && has(&fds[2], readable) {
                match read_some(0) {
                    Read::Data(bytes) => self.pending.borrow_mut().extend_from_slice(&bytes),
                    Read::WouldBlock => {}
                    Read::Closed => {
                        // The real terminal is gone (closed window, lost connection).
                        self.input_open.set(false);
                        self.hung_up.set(true);
                        return Ok(());
                    }
                }
            }
            self.flush_input();
            if has(&fds[0], PollFlags::POLLIN) {
                return Ok(());
            }
        }
    }

    /// Hand the sandbox as much buffered input as it takes now.
    fn flush_input(&self) {
        let mut pending = self.pending.borrow_mut();
        while !pending.is_empty() {
            let n = unsafe {
                libc::write(
                    self.master.as_raw_fd(),
                    pending.as_ptr().cast(),
                    pending.len(),
                )
            };
            if n <= 0 {
                break;
            }
            pending.drain(..n as usize);
        }
    }

    fn copy_size(&self) {
        if let Some(size) = window_size(0) {
            unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        }
    }

    /// Output the sandbox wrote just before it exited (the master never blocks).
    fn drain(&self) {
        while let Read::Data(bytes) = read_some(self.master.as_raw_fd()) {
            write_all(1, &bytes);
        }
    }
}

enum Read {
    Data(Vec<u8>),
    WouldBlock,
    /// End of input, or the other side is gone.
    Closed,
}

fn read_some(fd: RawFd) -> Read {
    let mut buf = [0u8; 8192];
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    match n {
        n if n > 0 => Read::Data(buf[..n as usize].to_vec()),
        0 => Read::Closed,
        _ => match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Read::WouldBlock,
            _ => Read::Closed,
        },
    }
}

/// Write to the real terminal; a terminal that is gone loses the bytes.
fn write_all(fd: RawFd, bytes: &[u8]) {
    let mut out = unsafe { std::fs::File::from_raw_fd(fd) };
    let _ = out.write_all(bytes);
    std::mem::forget(out);
}

fn window_size(fd: RawFd) -> Option<nix::pty::Winsize> {
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0).then_some(size)
}

/// The real terminal in raw mode (every byte goes to the sandbox's terminal, whose own
/// line discipline does the rest); restored when dropped.
struct RawTerminal(Option<nix::sys::termios::Termios>);

impl RawTerminal {
    fn enter() -> RawTerminal {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let saved = tcgetattr(std::io::stdin()).ok();
        if let Some(saved) = &saved {
            let mut raw = saved.clone();
            cfmakeraw(&mut raw);
            let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &raw);
        }
        RawTerminal(saved)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = nix::sys::termios::tcsetattr(
                std::io::stdin(),
                nix::sys::termios::SetArg::TCSADRAIN,
                saved,
            );
        }
    }
}

/// The shim inside the sandbox: close every descriptor but the standard three (bwrap's
/// status pipe, and anything the caller passed, which could reach hidden files), shut
/// the way out through abstract sockets and signals where Landlock can, restore the
/// signals bwrap ignores, then exec the program.
pub fn shim(argv: &[OsString]) -> Error {
    if unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) } < 0 {
        // Before Linux 5.9: close what /proc lists.
        let open: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
            .map(|dir| {
                dir.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .filter(|fd| *fd > 2)
                    .collect()
            })
            .unwrap_or_default();
        for fd in open {
            unsafe { libc::close(fd) };
        }
    }
    if crate::landlock::can_scope() && !crate::landlock::scope_to_sandbox() {
        // The kernel offers the scoping but refused it: do not run without it.
        return Error::not_isolated(
            "Landlock refused to scope the sandbox",
            "run `kiro-aws verify --strict`",
        )
        .with_code("strict_sandbox_failed");
    }
    for s in FORWARDED {
        unsafe { libc::signal(s as libc::c_int, libc::SIG_DFL) };
    }
    let Some(program) = argv.first() else {
        return Error::input(
            "no_command",
            "nothing to run in the sandbox",
            "report this as a bug",
        );
    };
    let err = Command::new(program).args(&argv[1..]).exec();
    Error::io(program, "start the program in the sandbox", err)
}
