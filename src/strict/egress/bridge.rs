//! Inside the sandbox, whose network namespace has only loopback: the bridge that
//! listens on `127.0.0.1:BRIDGE_PORT` and carries each connection to the egress proxy's
//! Unix socket outside, and `__connect`, which lets ssh (`ProxyCommand`) reach a host
//! through it.
//!
//! The bridge is started by the shim before the program, bound before it forks (so the
//! port answers from the program's first instruction), and forked twice with a session
//! of its own: the program's shell neither waits for it nor sends it the terminal's
//! signals. It ends with the sandbox's PID namespace.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::libc;
use nix::unistd::{fork, ForkResult};

use super::stream::{self, splice, Slots};
use super::BRIDGE_PORT;
use crate::code::Code;
use crate::error::{Error, Exit, Result};

/// Connections carried at once (the proxy outside has its own limit as well).
const MAX_CONNECTIONS: usize = 256;

/// Bind the bridge's port and leave a detached process serving it.
pub fn start(socket: &Path) -> Result<()> {
    let fail = |what: &str, e: io::Error| {
        Error::new(
            Code::StrictSandboxFailed,
            format!("the network bridge inside the sandbox could not {what}: {e}"),
        )
        .with_fix("run `kiro-aws verify --strict`")
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, BRIDGE_PORT))
        .map_err(|e| fail(&format!("listen on 127.0.0.1:{BRIDGE_PORT}"), e))?;
    // The shim is single-threaded here, so forking is sound.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { child }) => {
            let _ = nix::sys::wait::waitpid(child, None);
            Ok(())
        }
        Ok(ForkResult::Child) => {
            if let Ok(ForkResult::Child) = unsafe { fork() } {
                serve(listener, socket.to_path_buf());
            }
            unsafe { libc::_exit(0) }
        }
        Err(e) => Err(fail("start", io::Error::from(e))),
    }
}

/// The detached bridge: a session of its own, no terminal, one thread a connection.
fn serve(listener: TcpListener, socket: PathBuf) -> ! {
    let _ = nix::unistd::setsid();
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            unsafe { libc::dup2(null.as_raw_fd(), fd) };
        }
    }
    let slots = Slots::new(MAX_CONNECTIONS);
    for mut client in listener.incoming().flatten() {
        let Some(slot) = slots.take() else {
            let _ = client.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            continue;
        };
        let socket = socket.clone();
        stream::spawn(slot, move || {
            if let Ok(outside) = UnixStream::connect(&socket) {
                let _ = client.set_nodelay(true);
                splice(client, outside);
            }
        });
    }
    unsafe { libc::_exit(0) }
}

/// `kiro-aws __connect HOST PORT`: a tunnel to `HOST:PORT` through the bridge, on
/// standard input and output (ssh's `ProxyCommand`).
pub fn connect(host: &str, port: u16) -> Result<Exit> {
    let fail = |e: String| {
        Error::new(
            Code::StrictSandboxFailed,
            format!("no tunnel to {host}:{port}: {e}"),
        )
    };
    // ssh may hand over non-blocking descriptors; the copies below block.
    for fd in 0..2 {
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags >= 0 && flags & libc::O_NONBLOCK != 0 {
            unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) };
        }
    }
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, BRIDGE_PORT))
        .map_err(|e| fail(format!("the bridge on port {BRIDGE_PORT}: {e}")))?;
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    stream
        .write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| fail(e.to_string()))?);
    let mut status = String::new();
    reader
        .read_line(&mut status)
        .map_err(|e| fail(e.to_string()))?;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| fail(e.to_string()))?;
        if n == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    if !status.split(' ').nth(1).is_some_and(|c| c.starts_with('2')) {
        let mut body = String::new();
        let _ = io::Read::read_to_string(&mut reader, &mut body);
        let why = body.trim().trim_start_matches("kiro-aws strict mode: ");
        return Err(Error::new(
            Code::EgressRefused,
            format!("no tunnel to {host}:{port}: {why}"),
        ));
    }
    // Standard output unbuffered (Rust's own buffers it by line, which would hold back
    // the binary packets of ssh).
    use std::os::fd::FromRawFd;
    let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(1) });
    out.write_all(reader.buffer())
        .map_err(|e| fail(e.to_string()))?;
    let mut upward = stream.try_clone().map_err(|e| fail(e.to_string()))?;
    let sender = std::thread::spawn(move || {
        let mut input = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(0) });
        let _ = pump(&mut *input, &mut upward);
        let _ = upward.shutdown(std::net::Shutdown::Write);
    });
    let _ = pump(&mut stream, &mut *out);
    drop(sender);
    Ok(Exit::Success)
}

/// Copy until the end, a write at a time as data arrives. (Not `io::copy`, which moves
/// a socket's bytes into a pipe with `splice`: ssh then saw only the first bytes.)
fn pump(from: &mut impl io::Read, to: &mut impl Write) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
    }
}
