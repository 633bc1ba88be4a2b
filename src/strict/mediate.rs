//! Every `connect()` inside the sandbox is judged here, so that no Unix socket of a program
//! outside is reachable, wherever it lives and whenever it was made: an allow-list of
//! peers, not a list of places to hide.
//!
//! The shim forks: the child installs a seccomp filter that turns each `connect()` into a
//! notification for its parent, then execs the program; the parent (this supervisor, an
//! ancestor of every process of the session, so it may read their memory even where Yama
//! restricts that to ancestors) performs each connection itself, from its own copy of
//! the address, so a thread that rewrites the address after the check changes nothing:
//! - an IP address or an abstract socket: the sandbox's own network namespace, whatever
//!   it names (its only interface is loopback; the way out is the egress proxy), so the
//!   caller's socket is connected to that address;
//! - a path: a new socket of the supervisor's connects to it first, and is handed to the
//!   caller in place of its own socket only when the listening peer runs inside this
//!   sandbox (its peer credentials name a process of the sandbox's PID namespace) or the
//!   path is one the session allows (the broker, `--allow-socket`). Otherwise the caller
//!   gets `ECONNREFUSED`, and the program outside saw a connection open and close, with
//!   nothing sent.
//!
//! `io_uring` (which can connect without the system call) is refused, and so is making a
//! Unix socket of any type but stream and seqpacket (a datagram socket's `sendto()`
//! names any path without connecting, even from a socketpair). A system call of another architecture (the 32-bit entry
//! points) ends the process. At most 256 connections are made at once (more callers get
//! `EAGAIN`); a blocking one waits at most 10 s for a full listener, a non-blocking one
//! not at all.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::libc;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("strict mode's connect filter knows the system calls of x86_64 and aarch64 only");

const NOTIF_RECV: libc::c_ulong = 0xC050_2100;
const NOTIF_SEND: libc::c_ulong = 0xC018_2101;
const NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;
const NOTIF_ADDFD: libc::c_ulong = 0x4018_2103;
const ADDFD_FLAG_SETFD: u32 = 1;

/// Connections being made at once; more callers get `EAGAIN`.
const MAX_HANDLERS: usize = 256;
/// How long a blocking connect to a path may wait for a full listener.
const CONNECT_TIMEOUT: libc::timeval = libc::timeval {
    tv_sec: 10,
    tv_usec: 0,
};

/// The process a thread belongs to (`Tgid` in its status).
fn thread_group(tid: libc::pid_t) -> Option<libc::pid_t> {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// The paths a caller may connect to although their listener runs outside: real paths.
#[derive(Debug, Clone, Default)]
pub struct Allowed(pub Vec<PathBuf>);

/// In the child, before exec: no new privileges, then the filter. Returns the
/// notification descriptor for the supervisor.
pub fn install_filter() -> io::Result<OwnedFd> {
    const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    let stmt = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let errno = |e: i32| libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA);
    const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
    let program = [
        // Another architecture's system calls: the process ends.
        stmt(LD_W_ABS, 4),
        jump(JEQ_K, AUDIT_ARCH, 1, 0),
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(LD_W_ABS, 0),
        // x32's numbers (x86_64 only; nothing is that large elsewhere).
        jump(JGE_K, 0x4000_0000, 0, 1),
        stmt(RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        jump(JEQ_K, libc::SYS_connect as u32, 0, 1),
        stmt(RET_K, libc::SECCOMP_RET_USER_NOTIF),
        jump(JEQ_K, libc::SYS_io_uring_setup as u32, 0, 1),
        stmt(RET_K, errno(libc::ENOSYS)),
        // A Unix socket of any type but stream and seqpacket is a datagram socket (the
        // kernel makes SOCK_RAW one), whose `sendto()` names any path past connect(),
        // even from a connected pair: none is made, by socket() or socketpair().
        jump(JEQ_K, libc::SYS_socket as u32, 1, 0),
        jump(JEQ_K, libc::SYS_socketpair as u32, 0, 7),
        stmt(LD_W_ABS, 16),
        jump(JEQ_K, libc::AF_UNIX as u32, 0, 5),
        stmt(LD_W_ABS, 24),
        stmt(AND_K, 0xf),
        jump(JEQ_K, libc::SOCK_STREAM as u32, 2, 0),
        jump(JEQ_K, libc::SOCK_SEQPACKET as u32, 1, 0),
        stmt(RET_K, errno(libc::EACCES)),
        stmt(RET_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Answer every notification on `listener`, each on a thread of its own (a connection
/// may block), until the session ends.
pub fn supervise(listener: OwnedFd, allowed: Allowed) {
    let allowed = std::sync::Arc::new(allowed);
    let fd = std::sync::Arc::new(listener);
    let slots = crate::strict::egress::Slots::new(MAX_HANDLERS);
    loop {
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::ioctl(fd.as_raw_fd(), NOTIF_RECV as _, &mut notif) };
        if got < 0 {
            match io::Error::last_os_error().raw_os_error() {
                // Interrupted, or the caller went away before it was received.
                Some(libc::EINTR) | Some(libc::ENOENT) => continue,
                // No process is filtered any more.
                _ => return,
            }
        }
        let Some(slot) = slots.take() else {
            respond(fd.as_raw_fd(), notif.id, Err(libc::EAGAIN));
            continue;
        };
        let (handler, allowed) = (std::sync::Arc::clone(&fd), std::sync::Arc::clone(&allowed));
        let spawned = std::thread::Builder::new().spawn(move || {
            let _slot = slot;
            let outcome = connect_for(&notif, &handler, &allowed);
            respond(handler.as_raw_fd(), notif.id, outcome);
        });
        if spawned.is_err() {
            respond(fd.as_raw_fd(), notif.id, Err(libc::EAGAIN));
        }
    }
}

fn respond(listener: RawFd, id: u64, outcome: Result<(), i32>) {
    let mut resp: libc::seccomp_notif_resp = unsafe { std::mem::zeroed() };
    resp.id = id;
    if let Err(errno) = outcome {
        resp.error = -errno;
    }
    unsafe { libc::ioctl(listener, NOTIF_SEND as _, &mut resp) };
}

fn last_errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Perform the `connect()` the notification describes, or refuse it.
fn connect_for(
    notif: &libc::seccomp_notif,
    listener: &OwnedFd,
    allowed: &Allowed,
) -> Result<(), i32> {
    // The caller is a thread: its process (the thread group) owns the descriptors.
    let tid = notif.pid as libc::pid_t;
    let pid = thread_group(tid).ok_or(libc::ESRCH)?;
    let (target_fd, addr, len) = (
        notif.data.args[0] as RawFd,
        notif.data.args[1],
        notif.data.args[2] as usize,
    );
    if len > std::mem::size_of::<libc::sockaddr_storage>() {
        return Err(libc::EINVAL);
    }
    // Our own copy of the address: what is judged is what is used.
    let mut bytes = vec![0u8; len];
    let mem = std::fs::File::open(format!("/proc/{tid}/mem")).map_err(|_| libc::EPERM)?;
    if len > 0 {
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut bytes, addr)
            .map_err(|_| libc::EFAULT)?;
    }
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(libc::EPERM);
    }
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    let cwd = std::fs::File::open(format!("/proc/{tid}/cwd")).map_err(|_| libc::ENOENT)?;
    // Everything above names the caller, still waiting in this very call: its pid was
    // not reused meanwhile.
    let mut id = notif.id;
    if unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_ID_VALID as _, &mut id) } < 0 {
        return Err(libc::EINTR);
    }
    let theirs = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), target_fd, 0) };
    if theirs < 0 {
        return Err(libc::EBADF);
    }
    let theirs = unsafe { OwnedFd::from_raw_fd(theirs as RawFd) };
    let family = if len >= 2 {
        u16::from_ne_bytes([bytes[0], bytes[1]])
    } else {
        0
    };
    // A path only for a Unix socket (any other gets the kernel's own answer below).
    let domain = socket_option(&theirs, libc::SO_DOMAIN).ok_or(libc::ENOTSOCK)?;
    let path = (family == libc::AF_UNIX as u16 && domain == libc::AF_UNIX)
        .then(|| unix_path(&bytes))
        .flatten();
    let Some(path) = path else {
        // An IP address, an abstract or unnamed socket: inside this network namespace.
        let done = unsafe {
            libc::connect(
                theirs.as_raw_fd(),
                bytes.as_ptr() as *const libc::sockaddr,
                len as libc::socklen_t,
            )
        };
        return if done == 0 { Ok(()) } else { Err(last_errno()) };
    };
    // Relative to the caller's working directory, through a descriptor of it.
    let name = if path.is_absolute() {
        path
    } else {
        PathBuf::from(format!("/proc/self/fd/{}", cwd.as_raw_fd())).join(&path)
    };
    // A socket the session allows is reached at its own real path, which nothing inside
    // can replace (a read-only directory, or a mount point); any other path only when the
    // listener that answers runs inside, which is judged on the connection made, not on
    // the name (that a link could change meanwhile).
    let (fresh, reachable) = match std::fs::canonicalize(&name)
        .ok()
        .filter(|real| allowed.0.contains(real))
    {
        Some(real) => (connect_path(&theirs, &real)?, true),
        None => {
            let fresh = connect_path(&theirs, &name)?;
            let inside = peer_inside(&fresh);
            (fresh, inside)
        }
    };
    if !reachable {
        return Err(libc::ECONNREFUSED);
    }
    hand_over(fresh, listener, notif, target_fd, &theirs)
}

/// The path of a `sockaddr_un`, unless it is abstract or unnamed.
fn unix_path(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let path = bytes.get(2..)?;
    if path.first().is_none_or(|b| *b == 0) {
        return None;
    }
    let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(&path[..end])))
}

/// An integer option of a socket (`SO_TYPE`, `SO_DOMAIN`).
fn socket_option(fd: &OwnedFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    let got = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            &mut value as *mut _ as *mut libc::c_void,
            &mut size,
        )
    };
    (got == 0).then_some(value)
}

/// A socket of ours, of the caller's type, connected to `path`.
fn connect_path(theirs: &OwnedFd, path: &Path) -> Result<OwnedFd, i32> {
    use std::os::unix::ffi::OsStrExt;
    let kind = socket_option(theirs, libc::SO_TYPE).ok_or(libc::ENOTSOCK)?;
    let raw = path.as_os_str().as_bytes();
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if raw.len() >= addr.sun_path.len() {
        return Err(libc::ENAMETOOLONG);
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(raw) {
        *dst = *src as libc::c_char;
    }
    // As the caller's socket would: at once when it is non-blocking (a full listener
    // gives EAGAIN), else waiting at most CONNECT_TIMEOUT.
    let nonblocking =
        unsafe { libc::fcntl(theirs.as_raw_fd(), libc::F_GETFL) } & libc::O_NONBLOCK != 0;
    let flags = libc::SOCK_CLOEXEC | if nonblocking { libc::SOCK_NONBLOCK } else { 0 };
    let fd = unsafe { libc::socket(libc::AF_UNIX, kind | flags, 0) };
    if fd < 0 {
        return Err(last_errno());
    }
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    send_timeout(&fd, CONNECT_TIMEOUT);
    let size = (std::mem::size_of::<libc::sa_family_t>() + raw.len() + 1) as libc::socklen_t;
    if unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            size,
        )
    } != 0
    {
        return Err(last_errno());
    }
    // The wait was the connect's alone: the caller's writes block as they would have.
    send_timeout(
        &fd,
        libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
    );
    Ok(fd)
}

/// `SO_SNDTIMEO`, which also bounds a Unix socket's `connect()` (zero: no bound).
fn send_timeout(fd: &OwnedFd, timeout: libc::timeval) {
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            &timeout as *const libc::timeval as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
}

/// Give `fresh` to the caller in place of its own socket.
fn hand_over(
    fresh: OwnedFd,
    listener: &OwnedFd,
    notif: &libc::seccomp_notif,
    target_fd: RawFd,
    theirs: &OwnedFd,
) -> Result<(), i32> {
    // The caller's status flags (non-blocking) and close-on-exec carry over.
    let flags = unsafe { libc::fcntl(theirs.as_raw_fd(), libc::F_GETFL) };
    if flags >= 0 {
        unsafe { libc::fcntl(fresh.as_raw_fd(), libc::F_SETFL, flags & libc::O_NONBLOCK) };
    }
    let cloexec = std::fs::read_to_string(format!("/proc/{}/fdinfo/{target_fd}", notif.pid))
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("flags:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .is_some_and(|f| f & libc::O_CLOEXEC as u32 != 0);
    let mut add: libc::seccomp_notif_addfd = unsafe { std::mem::zeroed() };
    add.id = notif.id;
    add.flags = ADDFD_FLAG_SETFD;
    add.srcfd = fresh.as_raw_fd() as u32;
    add.newfd = target_fd as u32;
    add.newfd_flags = if cloexec { libc::O_CLOEXEC as u32 } else { 0 };
    if unsafe { libc::ioctl(listener.as_raw_fd(), NOTIF_ADDFD as _, &add) } < 0 {
        return Err(last_errno());
    }
    Ok(())
}

/// Whether the process listening on the other end runs in this sandbox: outside its PID
/// namespace a peer's pid reads as 0.
fn peer_inside(fd: &OwnedFd) -> bool {
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut size = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    let got = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            &mut cred as *mut _ as *mut libc::c_void,
            &mut size,
        )
    };
    got == 0 && cred.pid > 0
}
