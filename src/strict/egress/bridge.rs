//! Inside the sandbox, whose network namespace has only loopback: the bridge that
//! listens on `127.0.0.1:BRIDGE_PORT` and carries each connection to the egress proxy's
//! Unix socket outside, and `__connect`, which lets ssh (`ProxyCommand`) reach a host
//! through it.
//!
//! The bridge runs in the shim's supervisor (see `strict::mediate`), the parent of the
//! program, outside its connect filter: the program's shell neither waits for it nor
//! sends it the terminal's signals. It ends with the session.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::libc;

use super::stream::{self, splice, Slots};
use super::BRIDGE_PORT;
use crate::code::Code;
use crate::error::{Error, Exit, Result};

/// Connections carried at once (the proxy outside has its own limit as well).
const MAX_CONNECTIONS: usize = 256;

/// The bridge's port, bound before the program starts (so it answers from the
/// program's first instruction).
pub fn listen() -> Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, BRIDGE_PORT)).map_err(|e| {
        Error::new(
            Code::StrictSandboxFailed,
            format!("the network bridge inside the sandbox could not listen on 127.0.0.1:{BRIDGE_PORT}: {e}"),
        )
        .with_fix("run `kiro-aws verify --strict`")
    })
}

/// Carry each connection to `listener` to the egress proxy's `socket`, one thread a
/// connection, for as long as the session lives.
pub fn serve(listener: TcpListener, socket: PathBuf) {
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
    let authority = crate::network::authority(host, port);
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
