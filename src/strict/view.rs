//! What the sandbox shows and hides: which directories stay writable, the private
//! temporary directories and the tools on `PATH` inside them, the sockets of services
//! outside, and the host credential stores.

use std::path::{Path, PathBuf};

use crate::code::Code;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::strict::plan::{Mask, MaskKind};

/// The user's sockets to services outside, hidden when present: through them a process
/// could have something outside the sandbox read the hidden files for it.
/// This is a list of known places (a deny-list), beside the private `/tmp`; a service
/// listening elsewhere on a path socket stays reachable. Never a directory that holds
/// one of `keep` (`$HOME`, the working directory, this binary).
pub fn ipc_masks(uid: u32, inherited: &Env, keep: &[&Path]) -> Vec<Mask> {
    let mut candidates: Vec<PathBuf> = vec![
        format!("/run/user/{uid}").into(),
        format!("/run/screen/S-{uid}").into(),
        "/run/dbus".into(),
        "/run/docker.sock".into(),
        "/var/run/docker.sock".into(),
    ];
    if let Some(dir) = inherited.get("XDG_RUNTIME_DIR") {
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
        // A temporary directory itself on `PATH` is not bound back: it would bring every
        // socket in it. Nor is a directory that holds one.
        .filter(|p| !private.contains(p) && !holds_socket(p))
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

/// Directories whose contents other programs share: the sockets of tmux, screen, X11,
/// editors, session buses and agents live there. Inside the sandbox they are private or
/// hidden, and never come back, whatever the working directory or `PATH`.
pub const SHARED: [&str; 5] = ["/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"];

/// Whether `dir` holds a Unix socket directly.
fn holds_socket(dir: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .take(10_000)
            .any(|e| e.file_type().is_ok_and(|t| t.is_socket()))
    })
}

/// Why a strict session cannot start in `cwd` (resolved): a shared directory itself, a
/// directory below `/run` or `/dev/shm`, or a directory below `/tmp` that holds a socket.
/// Bound into the sandbox, any of these would bring other programs' sockets with it.
pub fn shared_cwd(cwd: &Path) -> Option<String> {
    let shared: Vec<PathBuf> = SHARED
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    if shared.iter().any(|s| s == cwd) {
        return Some(format!(
            "{} is shared with every other program",
            cwd.display()
        ));
    }
    let runtime = [Path::new("/run"), Path::new("/dev/shm")];
    if runtime.iter().any(|r| cwd.starts_with(r)) {
        return Some(format!(
            "{} is below a runtime directory, where services keep their sockets",
            cwd.display()
        ));
    }
    if shared.iter().any(|s| cwd.starts_with(s)) && holds_socket(cwd) {
        return Some(format!("{} holds another program's socket", cwd.display()));
    }
    None
}

/// Directories outside `$HOME` that the sandbox sees (read-only) and services keep
/// sockets in: LXD and snaps below `/var/snap` and `/var/lib`, a database's socket,
/// postfix's spool, a service under `/srv` or `/opt`. `/tmp`, `/var/tmp`, `/run` and
/// `/dev` are private inside already.
pub const SOCKET_TREES: [&str; 6] = ["/var", "/srv", "/opt", "/mnt", "/media", "/home"];

/// The Unix sockets of programs outside that the sandbox would see: below `home`, the
/// working directory and [`SOCKET_TREES`], each a bounded walk, nearest first (`$HOME`:
/// depth 6, 50,000 entries; the working directory, often a build tree: depth 2, 2,000;
/// each system tree: depth 4, 10,000). A first layer: the connect filter (`mediate`)
/// refuses every socket outside, whenever made, these included.
pub fn outside_sockets(home: &Path, cwd: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let private: Vec<PathBuf> = private_tmp().into_iter().chain(private_run()).collect();
    // `$HOME` and the working directory with budgets of their own (a `/home` tree walked
    // around them), the system trees without what lies inside the first two.
    let own = outermost(vec![home.to_path_buf(), cwd.to_path_buf()]);
    let trees: Vec<PathBuf> = SOCKET_TREES
        .iter()
        .filter_map(|t| std::fs::canonicalize(t).ok())
        .filter(|t| !own.iter().any(|o| t.starts_with(o)))
        .collect();
    let roots: Vec<PathBuf> = own.iter().cloned().chain(trees).collect();
    // The trees are walked at once, a thread each: the launch waits for the slowest.
    let found: Vec<PathBuf> = std::thread::scope(|scope| {
        let walks: Vec<_> = roots
            .iter()
            .filter(|r| r.as_path() != Path::new("/"))
            .filter_map(|root| {
                // A private directory is empty inside, but `$HOME` or a working directory
                // below one is bound in: those are walked, their private parents not.
                let bound = root == home || root == cwd;
                if !bound && private.iter().any(|p| root.starts_with(p)) {
                    return None;
                }
                let skip: Vec<&Path> = private
                    .iter()
                    .map(PathBuf::as_path)
                    .filter(|p| !root.starts_with(p))
                    .chain(
                        own.iter()
                            .map(PathBuf::as_path)
                            .filter(|o| *o != root.as_path()),
                    )
                    .collect();
                let (depth, limit) = if root == home {
                    (6, 50_000)
                } else if root == cwd {
                    (2, 2_000)
                } else {
                    (4, 10_000)
                };
                Some(scope.spawn(move || {
                    let mut found = Vec::new();
                    // Past the limit, what was found so far.
                    let _ = walk(root, depth, limit, &skip, |path, kind| {
                        if kind.is_socket() {
                            found.push(path.to_path_buf());
                        }
                    });
                    found
                }))
            })
            .collect();
        walks
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut found = found;
    found.sort();
    found.dedup();
    found
}

/// Visit every entry below `root` down to `max_depth` directories, without going into
/// `skip` or following symlinks; `Err` once more than `limit` entries were seen.
fn walk(
    root: &Path,
    max_depth: usize,
    limit: usize,
    skip: &[&Path],
    mut visit: impl FnMut(&Path, std::fs::FileType),
) -> std::result::Result<(), ()> {
    // Breadth first: past the limit, the nearest entries were seen.
    let mut queue = std::collections::VecDeque::from([(root.to_path_buf(), 0)]);
    let mut seen = 0;
    while let Some((dir, depth)) = queue.pop_front() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > limit {
                return Err(());
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            visit(&path, kind);
            if kind.is_dir() && depth < max_depth && !skip.iter().any(|s| path.starts_with(s)) {
                queue.push_back((path, depth + 1));
            }
        }
    }
    Ok(())
}

/// The runtime directories that are private inside: `/run`, and `/var/run` when it is
/// not a link to it.
pub fn private_run() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["/run", "/var/run"]
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .filter(|p| p.is_dir())
        .collect();
    dirs.dedup();
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

/// Where other AWS clients and credential tools keep what can reach other roles, below
/// `$HOME`, each with its reader. Hidden when present.
pub const OTHER_TOOLS: [&str; 8] = [
    // aws-vault's file keyring
    ".awsvault",
    // granted's store and settings (both places it uses)
    ".granted",
    ".config/granted",
    // aws-sso-cli's cache and settings
    ".config/aws-sso",
    ".aws-sso",
    // boto's config, from which botocore's credential chain also reads keys
    ".boto",
    // Leapp's sessions
    ".Leapp",
    ".config/Leapp",
];

/// Paths the sandbox hides besides `~/.aws`: the real targets of symlinks found under
/// `~/.aws` (so `~/.aws/sso -> /data/sso` does not leave `/data/sso` readable), the
/// stores of [`OTHER_TOOLS`], every `hide` path (resolved), and the files inherited
/// credential variables name. Paths inside the real `~/.aws` are covered already.
///
/// A path found on its own (not a `--hide`) whose real target holds something the
/// session needs (`needed`: home, working directory, this binary, the isolated files) or
/// is a system directory is not masked: a planted `~/.aws-sso -> ~` must not stop every
/// later launch. What it names is still outside `~/.aws`, which stays hidden.
pub fn masks(
    home: &Path,
    aws_dir: &Path,
    hide: &[PathBuf],
    inherited: &Env,
    needed: &[&Path],
) -> Result<Vec<Mask>> {
    let mut candidates: Vec<PathBuf> = OTHER_TOOLS.iter().map(|p| home.join(p)).collect();
    let walked = walk(aws_dir, 8, 100_000, &[], |path, kind| {
        if kind.is_symlink() {
            candidates.push(path.to_path_buf());
        }
    });
    if walked.is_err() {
        return Err(Error::new(
            Code::IsolationNotProven,
            format!(
                "{} holds too many files to check for symlinks",
                aws_dir.display()
            ),
        )
        .with_fix("clean up ~/.aws (the CLI cache can be deleted)"));
    }
    let found = candidates.len();
    for path in hide {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Error::new(
                Code::HidePathMissing,
                format!("--hide {}: no such file or directory", path.display()),
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
        if let Some(value) = inherited.get(name) {
            candidates.push(PathBuf::from(value));
        }
    }
    let mut masks: Vec<Mask> = Vec::new();
    for (i, candidate) in candidates.into_iter().enumerate() {
        let explicit = i >= found && i < found + hide.len();
        // A dangling link or a vanished file has nothing to hide now.
        let Ok(real) = std::fs::canonicalize(&candidate) else {
            continue;
        };
        if real.starts_with(aws_dir) || real == Path::new("/") {
            continue;
        }
        if !explicit && (is_system(&real) || needed.iter().any(|n| n.starts_with(&real))) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let masks = masks(&root, &aws, &[root.join(".config")], &Env::default(), &[]).unwrap();
        assert_eq!(
            masks,
            [Mask {
                path: root.join(".config"),
                kind: MaskKind::Dir
            }]
        );
        let runtime = Env::new(
            vec![("XDG_RUNTIME_DIR".into(), root.clone().into_os_string())],
            None,
        );
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
}
