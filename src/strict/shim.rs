//! The first program inside the sandbox: it closes what must not get in, scopes the
//! sandbox with Landlock, starts the network bridge, restores the signals bwrap
//! ignores, then execs the program.

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use nix::libc;

use crate::code::Code;
use crate::error::Error;
use crate::strict::bwrap::FORWARDED;
use crate::strict::{egress, landlock};

/// The shim inside the sandbox: close every descriptor but the standard three (bwrap's
/// status pipe, and anything the caller passed, which could reach hidden files), shut
/// the way out through abstract sockets and signals where Landlock can, restore the
/// signals bwrap ignores, then exec the program.
pub fn shim(bridge: Option<&Path>, argv: &[OsString]) -> Error {
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
    // The network's one way out, listening before the program starts.
    if let Some(socket) = bridge {
        if let Err(error) = egress::bridge::start(socket) {
            return error;
        }
    }
    for s in FORWARDED {
        unsafe { libc::signal(s as libc::c_int, libc::SIG_DFL) };
    }
    let Some(program) = argv.first() else {
        return Error::new(Code::NoCommand, "nothing to run in the sandbox");
    };
    let err = Command::new(program).args(&argv[1..]).exec();
    Error::io(program, "start the program in the sandbox", err)
}
