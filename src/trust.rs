//! Who else could change a path: its owner and mode, and those of every directory above
//! it. `verify` asks this of the isolated files' directory, strict mode of bwrap.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A path on the way up that someone but the allowed owners could replace, or that
/// could not be inspected at all.
#[derive(Debug)]
pub enum Ancestor {
    Replaceable {
        path: PathBuf,
        uid: u32,
        mode: u32,
    },
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Whether `meta` lets someone but `owners` replace what it names: another owner, or
/// write access for group or others (a sticky directory, such as `/tmp`, aside).
fn replaceable(meta: &std::fs::Metadata, owners: &[u32]) -> bool {
    let sticky = meta.is_dir() && meta.mode() & 0o1000 != 0;
    !owners.contains(&meta.uid()) || (meta.mode() & 0o022 != 0 && !sticky)
}

/// Every path from `path` up to `/` (`path` itself first) that someone but `owners`
/// could replace, or that cannot be inspected (each caller decides what that means).
pub fn unsafe_ancestors(path: &Path, owners: &[u32]) -> Vec<Ancestor> {
    path.ancestors()
        .filter_map(|p| match std::fs::metadata(p) {
            Ok(meta) if replaceable(&meta, owners) => Some(Ancestor::Replaceable {
                path: p.to_owned(),
                uid: meta.uid(),
                mode: meta.mode() & 0o7777,
            }),
            Ok(_) => None,
            Err(error) => Some(Ancestor::Unreadable {
                path: p.to_owned(),
                error,
            }),
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
