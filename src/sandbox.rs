//! Strict mode's sandbox, as a plain value: what to hide and the `bwrap` argument vector
//! that hides it. [`crate::supervisor`] runs it; [`crate::broker`] hands credentials in.
//!
//! Inside, `~/.aws` is an empty read-only tmpfs with only `~/.aws/kiro` bound back,
//! read-only, so the host config, credentials, SSO token cache and CLI cache are gone,
//! including files created there after launch. Symlinks under `~/.aws` and `--hide`
//! paths are resolved and their real targets masked too. A new user and PID namespace with
//! a fresh `/proc`, no capabilities and no further user namespaces keep the masks in
//! place and the processes outside out of reach.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

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
    /// The directory of every strict session's broker; hidden but for `run_dir`.
    pub runtime_dir: PathBuf,
    /// This session's broker directory (socket, sandbox config), bound back read-only.
    pub run_dir: PathBuf,
    /// An empty file used to cover file masks.
    pub empty_file: PathBuf,
    pub cwd: PathBuf,
    /// The descriptor bwrap reports the namespace and the exit code on.
    pub status_fd: i32,
    /// This binary, which resets signal dispositions inside and then execs the program.
    pub exe: PathBuf,
    /// The program (resolved) and its arguments.
    pub argv: Vec<OsString>,
}

/// The hidden command that runs inside the sandbox before the program.
pub const SHIM: &str = "__sandbox-exec";

/// The `bwrap` arguments (without `bwrap` itself) for `spec`.
pub fn bwrap_args(spec: &Spec) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| {
        args.extend(items.iter().map(|i| i.as_ref().to_owned()));
    };
    push(&[
        &"--unshare-user",
        &"--disable-userns",
        &"--unshare-pid",
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
    let in_tmp = |p: &&OsString| spec.private_tmp.iter().any(|t| Path::new(p).starts_with(t));
    if let Some(program) = spec.argv.first().filter(in_tmp) {
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
    let status_fd = spec.status_fd.to_string();
    push(&[
        &"--json-status-fd",
        &status_fd,
        &"--chdir",
        &spec.cwd,
        &"--",
        &spec.exe,
        &SHIM,
        &"--",
    ]);
    args.extend(spec.argv.iter().cloned());
    args
}

/// The user's sockets to services outside, hidden when present: through them a process
/// could have something outside the sandbox read the hidden files for it.
/// This is a list of known places (a deny-list), beside the private `/tmp`; a service
/// listening elsewhere on a path socket stays reachable. Never a directory that holds
/// one of `keep` (`$HOME`, the working directory, this binary).
pub fn ipc_masks(uid: u32, inherited: &[(OsString, OsString)], keep: &[&Path]) -> Vec<Mask> {
    let mut candidates: Vec<PathBuf> = vec![
        format!("/run/user/{uid}").into(),
        format!("/run/screen/S-{uid}").into(),
        "/run/dbus".into(),
        "/run/docker.sock".into(),
        "/var/run/docker.sock".into(),
    ];
    if let Some(dir) = crate::launch::var(inherited, "XDG_RUNTIME_DIR") {
        candidates.push(dir.into());
    }
    let mut masks: Vec<Mask> = Vec::new();
    for candidate in candidates {
        let Ok(real) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        let kind = if real.is_dir() {
            MaskKind::Dir
        } else {
            MaskKind::File
        };
        let covers_needed = keep.iter().any(|k| k.starts_with(&real));
        if !covers_needed && !masks.iter().any(|m| m.path == real) {
            masks.push(Mask { path: real, kind });
        }
    }
    masks.sort_by(|a, b| a.path.cmp(&b.path));
    masks
}

/// Places whose contents outside programs run or trust; never writable inside, even when
/// the session starts there.
const SYSTEM: [&str; 13] = [
    "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/boot", "/opt", "/var", "/run",
    "/srv", "/root",
];

/// `PATH` entries inside a private temporary directory, so that the agent's tools keep
/// working there: each with its parent (a virtualenv or an install prefix keeps its
/// `lib`), read-only, unless a writable directory holds it already.
pub fn tmp_tools(
    path_var: Option<&std::ffi::OsStr>,
    private: &[PathBuf],
    writable: &[PathBuf],
) -> Vec<PathBuf> {
    let Some(path_var) = path_var else {
        return Vec::new();
    };
    let dirs: Vec<PathBuf> = std::env::split_paths(path_var)
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| p.is_dir())
        .filter_map(|p| {
            let tmp = private.iter().find(|t| p.starts_with(t))?;
            let parent = p.parent().filter(|q| q.starts_with(tmp) && q != tmp);
            Some(parent.map_or(p.clone(), Path::to_path_buf))
        })
        .filter(|p| !writable.iter().any(|w| p.starts_with(w)))
        .collect();
    outermost(dirs)
}

/// Sorted, without duplicates or directories inside another of the list.
fn outermost(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    dirs.sort();
    dirs.dedup();
    let all = dirs.clone();
    dirs.retain(|d| !all.iter().any(|o| o != d && d.starts_with(o)));
    dirs
}

/// The private temporary directories that exist here.
pub fn private_tmp() -> Vec<PathBuf> {
    ["/tmp", "/var/tmp"]
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| p.is_dir())
        .collect()
}

/// The directories that stay writable: `$HOME` and the working directory, resolved,
/// without those inside another. A working directory in the system (`/usr`, `/etc`, ...)
/// stays read-only; `$HOME` is writable wherever it is.
pub fn writable(home: &Path, cwd: &Path) -> Vec<PathBuf> {
    let home = std::fs::canonicalize(home).ok();
    let cwd = std::fs::canonicalize(cwd)
        .ok()
        .filter(|c| home.as_ref().is_some_and(|h| c.starts_with(h)) || !is_system(c));
    outermost(
        [home, cwd]
            .into_iter()
            .flatten()
            .filter(|p| p.is_dir() && p != Path::new("/"))
            .collect(),
    )
}

fn is_system(path: &Path) -> bool {
    path == Path::new("/")
        || (SYSTEM.iter().any(|s| path.starts_with(s)) && !path.starts_with("/var/tmp"))
}

/// bwrap builds the boundary, so it must be a program the agent cannot have planted or
/// replaced: the file and every directory above it owned by root and not writable by
/// anyone else (sticky directories such as `/tmp` aside), and not below `$HOME`.
pub fn check_trusted(program: &Path, home: &Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let real = std::fs::canonicalize(program).map_err(|e| format!("{}: {e}", program.display()))?;
    if let Ok(home) = std::fs::canonicalize(home) {
        if real.starts_with(&home) && home != Path::new("/") {
            return Err(format!(
                "{} is inside $HOME, where the agent can write",
                real.display()
            ));
        }
    }
    for path in real.ancestors() {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let sticky = meta.is_dir() && meta.mode() & 0o1000 != 0;
        if meta.uid() != 0 || (meta.mode() & 0o022 != 0 && !sticky) {
            return Err(format!(
                "{} is owned by uid {} with mode {:o}: someone but root could replace {}",
                path.display(),
                meta.uid(),
                meta.mode() & 0o7777,
                real.display()
            ));
        }
    }
    Ok(())
}

/// Where other AWS credential tools keep what can reach other roles, below `$HOME`:
/// aws-vault's file keyring, granted's store, aws-sso-cli's cache. Hidden when present.
pub const OTHER_TOOLS: [&str; 4] = [".awsvault", ".granted", ".config/aws-sso", ".aws-sso"];

/// Paths the sandbox hides besides `~/.aws`: the real targets of symlinks found under
/// `~/.aws` (so `~/.aws/sso -> /data/sso` does not leave `/data/sso` readable), the
/// stores of [`OTHER_TOOLS`], every `hide` path (resolved), and the files inherited
/// credential variables name. Paths inside the real `~/.aws` are covered already.
pub fn masks(
    home: &Path,
    aws_dir: &Path,
    hide: &[PathBuf],
    inherited: &[(OsString, OsString)],
) -> Result<Vec<Mask>> {
    let mut candidates: Vec<PathBuf> = OTHER_TOOLS.iter().map(|p| home.join(p)).collect();
    let mut stack = vec![(aws_dir.to_path_buf(), 0)];
    let mut seen = 0;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > 100_000 {
                return Err(Error::not_isolated(
                    format!(
                        "{} holds too many files to check for symlinks",
                        aws_dir.display()
                    ),
                    "clean up ~/.aws (the CLI cache can be deleted)",
                ));
            }
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_symlink() => candidates.push(path),
                Ok(t) if t.is_dir() && depth < 8 => stack.push((path, depth + 1)),
                _ => {}
            }
        }
    }
    for path in hide {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Error::input(
                "hide_path_missing",
                format!("--hide {}: no such file or directory", path.display()),
                "create it first, or hide the directory that will hold it",
            ));
        }
        candidates.push(path.clone());
    }
    for name in [
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_LOGIN_CACHE_DIRECTORY",
    ] {
        if let Some(value) = crate::launch::var(inherited, name) {
            candidates.push(PathBuf::from(value));
        }
    }
    let mut masks: Vec<Mask> = Vec::new();
    for candidate in candidates {
        // A dangling link or a vanished file has nothing to hide now.
        let Ok(real) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        if real.starts_with(aws_dir) || real == Path::new("/") {
            continue;
        }
        let kind = if real.is_dir() {
            MaskKind::Dir
        } else {
            MaskKind::File
        };
        if !masks.iter().any(|m| m.path == real) {
            masks.push(Mask { path: real, kind });
        }
    }
    masks.sort_by(|a, b| a.path.cmp(&b.path));
    // A mask inside a directory mask is covered already (and could not be mounted on the
    // read-only tmpfs).
    let dirs: Vec<PathBuf> = masks
        .iter()
        .filter(|m| m.kind == MaskKind::Dir)
        .map(|m| m.path.clone())
        .collect();
    masks.retain(|m| !dirs.iter().any(|d| m.path != *d && m.path.starts_with(d)));
    Ok(masks)
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
            return Err(Error::input(
                "hide_covers_needed_path",
                format!(
                    "hiding {} would also hide {}, which the session needs",
                    mask.path.display(),
                    needed.display()
                ),
                "hide a narrower path",
            ));
        }
    }
    Ok(())
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

/// The macOS equivalent: a `sandbox-exec` profile that denies reading the same paths.
/// macOS has no PID namespaces, so there the broker can only check its secret.
pub fn seatbelt_profile(aws_dir: &Path, kiro_files: &[PathBuf], masks: &[Mask]) -> String {
    let quote = |p: &Path| {
        format!(
            "\"{}\"",
            p.display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        )
    };
    let mut out = String::from(
        "(version 1)\n(allow default)\n; kiro-aws strict mode: the host AWS files are not readable\n",
    );
    out.push_str(&format!(
        "(deny file-read* file-write* (subpath {}))\n",
        quote(aws_dir)
    ));
    for mask in masks {
        let filter = match mask.kind {
            MaskKind::Dir => "subpath",
            MaskKind::File => "literal",
        };
        out.push_str(&format!(
            "(deny file-read* file-write* ({filter} {}))\n",
            quote(&mask.path)
        ));
    }
    for file in kiro_files {
        out.push_str(&format!("(allow file-read* (literal {}))\n", quote(file)));
    }
    out
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
            empty_file: "/run/user/1000/kiro-aws/run-42/empty".into(),
            cwd: "/home/dev/project".into(),
            status_fd: 5,
            exe: "/usr/local/bin/kiro-aws".into(),
            argv: ["/usr/bin/kiro-cli", "chat"].map(OsString::from).to_vec(),
        }
    }

    #[test]
    fn the_bwrap_argv_is_a_plain_value() {
        let expected = "--unshare-user --disable-userns --unshare-pid --die-with-parent \
            --cap-drop ALL --ro-bind / / --perms 1777 --tmpfs /tmp --ro-bind /tmp/tools /tmp/tools \
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
            --json-status-fd 5 --chdir /home/dev/project \
            -- /usr/local/bin/kiro-aws __sandbox-exec -- /usr/bin/kiro-cli chat";
        let args: Vec<String> = bwrap_args(&spec())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(args.join(" "), expected);
    }

    #[test]
    fn the_seatbelt_profile_is_a_plain_value() {
        let s = spec();
        assert_eq!(
            seatbelt_profile(&s.aws_dir, &s.kiro_files, &s.masks),
            "(version 1)\n(allow default)\n; kiro-aws strict mode: the host AWS files are not readable\n\
             (deny file-read* file-write* (subpath \"/home/dev/.aws\"))\n\
             (deny file-read* file-write* (subpath \"/data/sso\"))\n\
             (deny file-read* file-write* (literal \"/home/dev/secret.txt\"))\n\
             (allow file-read* (literal \"/home/dev/.aws/kiro/config\"))\n\
             (allow file-read* (literal \"/home/dev/.aws/kiro/credentials\"))\n"
        );
    }

    #[test]
    fn a_mask_may_not_cover_what_the_session_needs() {
        let mut s = spec();
        assert!(check(&s).is_ok());
        s.masks.push(Mask {
            path: "/home/dev".into(),
            kind: MaskKind::Dir,
        });
        assert_eq!(check(&s).unwrap_err().code, "hide_covers_needed_path");
    }

    #[test]
    fn writable_directories_are_home_and_a_project_outside_the_system() {
        let home = tempfile::tempdir().unwrap();
        let real_home = std::fs::canonicalize(home.path()).unwrap();
        let project = home.path().join("project");
        std::fs::create_dir(&project).unwrap();
        assert_eq!(writable(home.path(), &project), vec![real_home.clone()]);
        assert_eq!(
            writable(home.path(), Path::new("/usr/bin")),
            vec![real_home.clone()]
        );
        assert_eq!(
            writable(home.path(), Path::new("/")),
            vec![real_home.clone()]
        );
        let other = tempfile::tempdir().unwrap();
        let mut both = vec![real_home, std::fs::canonicalize(other.path()).unwrap()];
        both.sort();
        assert_eq!(writable(home.path(), other.path()), both);
    }

    #[test]
    fn nested_masks_and_masks_over_needed_paths_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let aws = root.join(".aws");
        std::fs::create_dir_all(aws.join("kiro")).unwrap();
        std::fs::create_dir_all(root.join(".config/aws-sso")).unwrap();
        let masks = masks(&root, &aws, &[root.join(".config")], &[]).unwrap();
        assert_eq!(
            masks,
            [Mask {
                path: root.join(".config"),
                kind: MaskKind::Dir
            }]
        );
        let runtime: Vec<(OsString, OsString)> =
            vec![("XDG_RUNTIME_DIR".into(), root.clone().into_os_string())];
        // XDG_RUNTIME_DIR above the project is not covered (it would hide the project).
        assert!(!ipc_masks(4242, &runtime, &[&root.join("project")])
            .iter()
            .any(|m| m.path == root));
    }

    #[test]
    fn tools_on_path_in_a_temporary_directory_stay_reachable() {
        let tmp = tempfile::tempdir_in("/tmp").unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let venv_bin = root.join("venv/bin");
        std::fs::create_dir_all(&venv_bin).unwrap();
        let path = std::env::join_paths([venv_bin.as_path(), Path::new("/usr/bin")]).unwrap();
        let private = vec![PathBuf::from("/tmp")];
        assert_eq!(
            tmp_tools(Some(&path), &private, &[]),
            vec![root.join("venv")]
        );
        assert!(tmp_tools(Some(&path), &private, std::slice::from_ref(&root)).is_empty());
    }

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
