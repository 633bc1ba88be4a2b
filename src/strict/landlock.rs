//! Landlock scoping for the strict sandbox: a process inside cannot connect to abstract
//! Unix sockets created outside it (through which a service outside could read hidden
//! files for it) nor signal processes outside. Needs Landlock ABI 6 (Linux 6.12); on
//! older kernels nothing is restricted and `verify --strict` says so.

use nix::libc;

/// `LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL`.
const SCOPES: u64 = 1 | 2;
const CREATE_RULESET_VERSION: u32 = 1;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// The Landlock ABI version, 0 when Landlock is off.
pub fn abi() -> i64 {
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    v.max(0)
}

/// Whether this kernel can scope abstract sockets and signals.
pub fn can_scope() -> bool {
    abi() >= 6
}

/// Restrict this process and its future children; best effort (see the module).
pub fn scope_to_sandbox() -> bool {
    if !can_scope() {
        return false;
    }
    let attr = RulesetAttr {
        handled_access_fs: 0,
        handled_access_net: 0,
        scoped: SCOPES,
    };
    unsafe {
        let fd = libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        );
        if fd < 0 {
            return false;
        }
        let no = 0 as libc::c_ulong;
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, no, no, no);
        let ok = libc::syscall(libc::SYS_landlock_restrict_self, fd as libc::c_int, 0u32) == 0;
        libc::close(fd as libc::c_int);
        ok
    }
}
