//! Who else could change a path: its owner and mode, and those of every directory above
//! it. `verify` asks this of the isolated files' directory, strict mode of bwrap.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file or directory that someone other than the allowed owners could replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsafe {
    pub path: PathBuf,
    pub uid: u32,
    pub mode: u32,
}

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is owned by uid {} with mode {:o}",
            self.path.display(),
            self.uid,
            self.mode
        )
    }
}

/// Whether `meta` lets someone but `owners` replace what it names: another owner, or
/// write access for group or others (a sticky directory, such as `/tmp`, aside).
fn replaceable(meta: &std::fs::Metadata, owners: &[u32]) -> bool {
    let sticky = meta.is_dir() && meta.mode() & 0o1000 != 0;
    !owners.contains(&meta.uid()) || (meta.mode() & 0o022 != 0 && !sticky)
}

/// Every path from `path` up to `/` (`path` itself first) that someone but `owners`
/// could replace. Paths that cannot be inspected are left out.
pub fn replaceable_ancestors(path: &Path, owners: &[u32]) -> Vec<Unsafe> {
    path.ancestors()
        .filter_map(|p| Some((p, std::fs::metadata(p).ok()?)))
        .filter(|(_, meta)| replaceable(meta, owners))
        .map(|(p, meta)| Unsafe {
            path: p.to_owned(),
            uid: meta.uid(),
            mode: meta.mode() & 0o7777,
        })
        .collect()
}

/// What is wrong with a file or directory that must be this user's and private: another
/// owner, and permission bits for group or others (`expected` is the mode it should have).
pub fn private_problems(
    meta: &std::fs::Metadata,
    me: u32,
    expected: u32,
) -> (Option<String>, Option<String>) {
    let owner =
        (meta.uid() != me).then(|| format!("belongs to uid {}, not to you (uid {me})", meta.uid()));
    let mode = (meta.mode() & 0o077 != 0).then(|| {
        format!(
            "has mode {:o}; it must be {expected:o}",
            meta.mode() & 0o777
        )
    });
    (owner, mode)
}
