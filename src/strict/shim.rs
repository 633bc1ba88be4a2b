//! The first program inside the sandbox: it closes what must not get in, scopes the
//! sandbox with Landlock, binds the network bridge's port, and forks: the child puts
//! itself under the connect filter (`mediate`), restores the signals bwrap ignores and
//! execs the program; the parent supervises the filter, runs the bridge and ends with the
//! program's status.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::libc;

use crate::code::Code;
use crate::error::Error;
use crate::strict::bwrap::FORWARDED;
use crate::strict::{egress, landlock, mediate};

/// The shim inside the sandbox: close every descriptor but the standard three (bwrap's
/// status pipe, and anything the caller passed, which could reach hidden files), shut
/// the way out through abstract sockets and signals where Landlock can, restore the
/// signals bwrap ignores, then exec the program.
pub fn shim(bridge: Option<&Path>, allowed: &[PathBuf], argv: &[OsString]) -> Error {
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
    if landlock::can_scope() && !landlock::scope_to_sandbox() {
        // The kernel offers the scoping but refused it: do not run without it.
        return Error::new(
            Code::StrictSandboxFailed,
            "Landlock refused to scope the sandbox",
        )
        .with_fix("run `kiro-aws verify --strict`");
    }
    let Some(program) = argv.first() else {
        return Error::new(Code::NoCommand, "nothing to run in the sandbox");
    };
    // The network's one way out, listening before the program starts.
    let listener = match bridge.map(|_| egress::bridge::listen()).transpose() {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    let failed = |what: &str, e: std::io::Error| {
        Error::new(
            Code::StrictSandboxFailed,
            format!("the sandbox's connect filter could not {what}: {e}"),
        )
        .with_fix("run `kiro-aws verify --strict` (strict mode needs seccomp user notification, Linux 5.14)")
    };
    let (ours, theirs) = match std::os::unix::net::UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => return failed("start", e),
    };
    // The supervisor must be untraceable before the program could exist (its exec makes
    // the program dumpable again).
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    // Single-threaded until here, so forking is sound.
    match unsafe { nix::unistd::fork() } {
        Err(e) => failed("start", e.into()),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(ours);
            drop(listener);
            // The filter first, its descriptor to the parent, and only then the program:
            // no connect() of the program's runs unjudged.
            let filter = match mediate::install_filter() {
                Ok(filter) => filter,
                Err(e) => return failed("be installed", e),
            };
            if let Err(e) = send_fd(&theirs, filter.as_raw_fd()) {
                return failed("be handed to its supervisor", e);
            }
            drop(filter);
            drop(theirs);
            for s in FORWARDED {
                unsafe { libc::signal(s as libc::c_int, libc::SIG_DFL) };
            }
            let err = Command::new(program).args(&argv[1..]).exec();
            Error::io(program, "start the program in the sandbox", err)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(theirs);
            supervise(child, ours, listener, bridge, allowed)
        }
    }
}

/// The parent of the program: the connect filter's supervisor and the network bridge,
/// until the program ends; then it ends with the program's status. Nothing inside may
/// trace it (it is not dumpable), the terminal's signals pass it by, and it holds no
/// terminal.
fn supervise(
    child: nix::unistd::Pid,
    from_child: std::os::unix::net::UnixStream,
    listener: Option<std::net::TcpListener>,
    bridge: Option<&Path>,
    allowed: &[PathBuf],
) -> ! {
    for s in FORWARDED {
        unsafe { libc::signal(s as libc::c_int, libc::SIG_IGN) };
    }
    for s in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
        unsafe { libc::signal(s, libc::SIG_IGN) };
    }
    let filter = recv_fd(&from_child);
    drop(from_child);
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        for fd in 0..3 {
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    // Without the filter's descriptor the child did not exec the program: its status
    // (and its message, printed before) is the session's.
    if let Ok(filter) = filter {
        let allowed = mediate::Allowed(allowed.to_vec());
        std::thread::spawn(move || mediate::supervise(filter, allowed));
        if let (Some(listener), Some(socket)) = (listener, bridge) {
            let socket = socket.to_path_buf();
            std::thread::spawn(move || egress::bridge::serve(listener, socket));
        }
    }
    let code = loop {
        match nix::sys::wait::waitpid(child, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, code)) => break code,
            Ok(nix::sys::wait::WaitStatus::Signaled(_, signal, _)) => break 128 + signal as i32,
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break 1,
        }
    };
    unsafe { libc::_exit(code) }
}

/// Send descriptor `fd` over `socket`.
fn send_fd(socket: &std::os::unix::net::UnixStream, fd: RawFd) -> std::io::Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let fds = [fd];
    let io = [std::io::IoSlice::new(b"f")];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &io,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
    .map_err(std::io::Error::from)
}

/// Receive one descriptor over `socket`.
fn recv_fd(socket: &std::os::unix::net::UnixStream) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut byte = [0u8; 1];
    let mut io = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut io,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(std::io::Error::from)?;
    for cmsg in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(fd) = fds.first() {
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "no descriptor",
    ))
}
