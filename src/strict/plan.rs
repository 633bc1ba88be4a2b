//! Strict mode's sandbox as a plain value ([`Spec`]: what is hidden, what stays writable)
//! and the `bwrap` argument vector that builds it.
//!
//! Inside, `~/.aws` is an empty read-only tmpfs with only `~/.aws/kiro` bound back,
//! read-only, so the host config, credentials, SSO token cache and CLI cache are gone,
//! including files created there after launch. Symlinks under `~/.aws` and `--hide`
//! paths are resolved and their real targets masked too. A new user and PID namespace with
//! a fresh `/proc`, no capabilities and no further user namespaces keep the masks in
//! place and the processes outside out of reach. A new network namespace has only
//! loopback: the egress proxy's socket in the run directory is the one way out.

use std::ffi::OsString;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};

use crate::code::Code;
use crate::error::{Error, Result};
use crate::strict::names::SHIM;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    /// Covered by an empty read-only tmpfs.
    Dir,
    /// Covered by an empty read-only file.
    File,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    pub path: PathBuf,
    pub kind: MaskKind,
}

/// Everything the sandbox needs, with every path already resolved (no symlinks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The real `~/.aws`.
    pub aws_dir: PathBuf,
    /// The isolated config and credentials files (real paths), bound back read-only; not
    /// the rest of `~/.aws/kiro`, where a backup kept by `init --force` may sit.
    pub kiro_files: Vec<PathBuf>,
    /// `/tmp` and `/var/tmp`: private and empty inside (other programs' sockets live
    /// there: tmux, screen, X11, editors' servers).
    pub private_tmp: Vec<PathBuf>,
    /// `/run` (and `/var/run` where it is a directory of its own): private and empty
    /// inside, so no service's socket there comes in (D-Bus, Docker, containerd, nscd,
    /// systemd, whatever a later service adds).
    pub private_run: Vec<PathBuf>,
    /// Directories that stay writable (`$HOME`, the working directory), bound back after
    /// the private temporary directories; everything else is read-only, so nothing
    /// planted in the system runs later outside.
    pub writable: Vec<PathBuf>,
    /// Tools on `PATH` that live in a temporary directory, bound back read-only.
    pub tmp_tools: Vec<PathBuf>,
    /// Sockets of services outside that could act for the agent (the user's runtime
    /// directory with its session bus and agents, tmux, X11, Docker), covered empty.
    pub ipc_masks: Vec<Mask>,
    /// Symlink targets, `--hide` paths and inherited credential files, outside `aws_dir`.
    pub masks: Vec<Mask>,
    /// Unix sockets of programs outside found below `$HOME` (an ssh or gpg agent, an
    /// editor's server), each covered by an empty file.
    pub socket_masks: Vec<PathBuf>,
    /// `--allow-socket` paths (resolved): bound back in, last.
    pub allowed_sockets: Vec<PathBuf>,
    /// The directory of every strict session's broker; hidden but for `run_dir`.
    pub runtime_dir: PathBuf,
    /// This session's broker directory (socket, sandbox config), bound back read-only.
    pub run_dir: PathBuf,
    /// The egress proxy's socket (in `run_dir`): the network's one way out.
    pub proxy_socket: PathBuf,
    /// The broker's socket (in `run_dir`): with `allowed_sockets`, the only sockets
    /// outside that a program inside may connect to.
    pub broker_socket: PathBuf,
    /// An empty file used to cover file masks.
    pub empty_file: PathBuf,
    pub cwd: PathBuf,
    /// This binary, which resets signal dispositions inside and then execs the program.
    pub exe: PathBuf,
}

/// The `bwrap` arguments (without `bwrap` itself) that run `argv` (the program, resolved,
/// and its arguments) in `spec`, reporting the namespace and the exit code on
/// `status_fd`.
pub fn bwrap_args(spec: &Spec, status_fd: RawFd, argv: &[OsString]) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
        args.extend(items.iter().map(|i| i.as_ref().to_owned()));
    };
    push(&[
        &"--unshare-user",
        &"--disable-userns",
        &"--unshare-pid",
        &"--unshare-net",
        &"--die-with-parent",
        &"--cap-drop",
        &"ALL",
        &"--ro-bind",
        &"/",
        &"/",
    ]);
    for dir in &spec.private_tmp {
        push(&[&"--perms", &"1777", &"--tmpfs", dir]);
    }
    for dir in &spec.private_run {
        push(&[&"--perms", &"0755", &"--tmpfs", dir]);
    }
    // Tools first: a writable directory inside one stays writable.
    for dir in &spec.tmp_tools {
        push(&[&"--ro-bind", dir, dir]);
    }
    for dir in &spec.writable {
        push(&[&"--bind", dir, dir]);
    }
    push(&[&"--dev", &"/dev", &"--proc", &"/proc"]);
    // This binary runs outside later (the broker's probe, the next launch): pinned
    // read-only, and as a mount point it cannot be renamed or replaced either.
    push(&[&"--ro-bind", &spec.exe, &spec.exe]);
    // A program that lives in a temporary directory stays visible (read-only) in the
    // private one.
    // (Bound alone, and not when a bound tools directory already holds it: binding onto
    // a symlink there, a virtualenv's `python`, would fail.)
    let in_tmp = |p: &&OsString| {
        let p = Path::new(p);
        spec.private_tmp
            .iter()
            .chain(&spec.private_run)
            .any(|t| p.starts_with(t))
            && !spec.tmp_tools.iter().any(|t| p.starts_with(t))
            && !spec.writable.iter().any(|w| p.starts_with(w))
    };
    if let Some(program) = argv.first().filter(in_tmp) {
        push(&[&"--ro-bind", program, program]);
    }
    for mask in &spec.ipc_masks {
        match mask.kind {
            MaskKind::Dir => push(&[&"--perms", &"0700", &"--tmpfs", &mask.path]),
            MaskKind::File => push(&[&"--ro-bind", &spec.empty_file, &mask.path]),
        }
    }
    // Other sessions' brokers are hidden; this session's is visible, read-only.
    push(&[&"--perms", &"0700", &"--tmpfs", &spec.runtime_dir]);
    push(&[&"--ro-bind", &spec.run_dir, &spec.run_dir]);
    push(&[&"--perms", &"0700", &"--tmpfs", &spec.aws_dir]);
    for file in &spec.kiro_files {
        push(&[&"--ro-bind", file, file]);
    }
    push(&[&"--remount-ro", &spec.aws_dir]);
    for mask in &spec.masks {
        match mask.kind {
            MaskKind::Dir => {
                push(&[&"--perms", &"0700", &"--tmpfs", &mask.path]);
                push(&[&"--remount-ro", &mask.path]);
            }
            MaskKind::File => push(&[&"--ro-bind", &spec.empty_file, &mask.path]),
        }
    }
    // (A socket inside a directory hidden already is gone with it.)
    let hidden_dirs: Vec<&PathBuf> = spec
        .masks
        .iter()
        .chain(&spec.ipc_masks)
        .filter(|m| m.kind == MaskKind::Dir)
        .map(|m| &m.path)
        .chain([&spec.aws_dir])
        .collect();
    for socket in &spec.socket_masks {
        if !hidden_dirs.iter().any(|d| socket.starts_with(d)) {
            push(&[&"--ro-bind", &spec.empty_file, socket]);
        }
    }
    for socket in &spec.allowed_sockets {
        push(&[&"--bind", socket, socket]);
    }
    let status_fd = status_fd.to_string();
    push(&[
        &"--json-status-fd",
        &status_fd,
        &"--chdir",
        &spec.cwd,
        &"--",
        &spec.exe,
        &SHIM,
        &"--bridge",
        &spec.proxy_socket,
    ]);
    for socket in std::iter::once(&spec.broker_socket).chain(&spec.allowed_sockets) {
        push(&[&"--reach", socket]);
    }
    push(&[&"--"]);
    args.extend(argv.iter().cloned());
    args
}

/// Refuse a spec whose masks would cover what the session needs: the isolated files, the
/// broker, this binary or the working directory (a `--hide` of a parent, say).
pub fn check(spec: &Spec) -> Result<()> {
    let needed: Vec<&PathBuf> = spec
        .kiro_files
        .iter()
        .chain([&spec.run_dir, &spec.exe, &spec.cwd])
        .collect();
    for mask in &spec.masks {
        if let Some(needed) = needed.iter().find(|n| n.starts_with(&mask.path)) {
            return Err(Error::new(
                Code::HideCoversNeededPath,
                format!(
                    "hiding {} would also hide {}, which the session needs",
                    mask.path.display(),
                    needed.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            aws_dir: "/home/dev/.aws".into(),
            kiro_files: vec![
                "/home/dev/.aws/kiro/config".into(),
                "/home/dev/.aws/kiro/credentials".into(),
            ],
            masks: vec![
                Mask {
                    path: "/data/sso".into(),
                    kind: MaskKind::Dir,
                },
                Mask {
                    path: "/home/dev/secret.txt".into(),
                    kind: MaskKind::File,
                },
            ],
            private_tmp: vec!["/tmp".into()],
            private_run: vec!["/run".into()],
            writable: vec!["/home/dev".into()],
            tmp_tools: vec!["/tmp/tools".into()],
            ipc_masks: vec![
                Mask {
                    path: "/run/docker.sock".into(),
                    kind: MaskKind::File,
                },
                Mask {
                    path: "/run/user/1000".into(),
                    kind: MaskKind::Dir,
                },
            ],
            runtime_dir: "/run/user/1000/kiro-aws".into(),
            run_dir: "/run/user/1000/kiro-aws/run-42".into(),
            proxy_socket: "/run/user/1000/kiro-aws/run-42/proxy.sock".into(),
            broker_socket: "/run/user/1000/kiro-aws/run-42/broker.sock".into(),
            empty_file: "/run/user/1000/kiro-aws/run-42/empty".into(),
            cwd: "/home/dev/project".into(),
            exe: "/usr/local/bin/kiro-aws".into(),
            socket_masks: vec![
                "/home/dev/.ssh/agent.sock".into(),
                "/home/dev/.aws/inside.sock".into(),
            ],
            allowed_sockets: vec!["/run/user/1000/ssh-agent.socket".into()],
        }
    }

    #[test]
    fn the_bwrap_argv_is_a_plain_value() {
        let expected =
            "--unshare-user --disable-userns --unshare-pid --unshare-net --die-with-parent \
            --cap-drop ALL --ro-bind / / --perms 1777 --tmpfs /tmp --perms 0755 --tmpfs /run \
            --ro-bind /tmp/tools /tmp/tools \
            --bind /home/dev /home/dev \
            --dev /dev --proc /proc \
            --ro-bind /usr/local/bin/kiro-aws /usr/local/bin/kiro-aws \
            --ro-bind /run/user/1000/kiro-aws/run-42/empty /run/docker.sock \
            --perms 0700 --tmpfs /run/user/1000 \
            --perms 0700 --tmpfs /run/user/1000/kiro-aws \
            --ro-bind /run/user/1000/kiro-aws/run-42 /run/user/1000/kiro-aws/run-42 \
            --perms 0700 --tmpfs /home/dev/.aws \
            --ro-bind /home/dev/.aws/kiro/config /home/dev/.aws/kiro/config \
            --ro-bind /home/dev/.aws/kiro/credentials /home/dev/.aws/kiro/credentials \
            --remount-ro /home/dev/.aws \
            --perms 0700 --tmpfs /data/sso --remount-ro /data/sso \
            --ro-bind /run/user/1000/kiro-aws/run-42/empty /home/dev/secret.txt \
            --ro-bind /run/user/1000/kiro-aws/run-42/empty /home/dev/.ssh/agent.sock \
            --bind /run/user/1000/ssh-agent.socket /run/user/1000/ssh-agent.socket \
            --json-status-fd 5 --chdir /home/dev/project \
            -- /usr/local/bin/kiro-aws __sandbox-exec \
            --bridge /run/user/1000/kiro-aws/run-42/proxy.sock \
            --reach /run/user/1000/kiro-aws/run-42/broker.sock \
            --reach /run/user/1000/ssh-agent.socket -- /usr/bin/kiro-cli chat";
        let argv = ["/usr/bin/kiro-cli", "chat"].map(OsString::from);
        let args: Vec<String> = bwrap_args(&spec(), 5, &argv)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(args.join(" "), expected);
    }

    #[test]
    fn a_mask_may_not_cover_what_the_session_needs() {
        let mut s = spec();
        assert!(check(&s).is_ok());
        s.masks.push(Mask {
            path: "/home/dev".into(),
            kind: MaskKind::Dir,
        });
        assert_eq!(check(&s).unwrap_err().code, Code::HideCoversNeededPath);
    }
}
