//! macOS (and any Unix without `/proc`).

use std::path::PathBuf;

/// The program to start for a child that must be this very binary (the online probe).
/// Without `/proc/self/exe` there is no handle on the running executable itself: this is
/// the path it was started from, as the system reports it, with its links resolved. A
/// binary replaced at that path since the start would be the one that runs; install
/// kiro-aws where only you (or root) can write.
pub fn self_exe() -> std::io::Result<PathBuf> {
    std::env::current_exe().and_then(std::fs::canonicalize)
}

/// Where an administrator installs the managed policy.
pub const POLICY_FILE: &str = "/Library/Application Support/kiro-aws/policy.json";

/// Where per-user caches live below the home directory.
pub const CACHE_DIR: &str = "Library/Caches";

/// The program that opens a URL in the user's browser.
pub const URL_OPENER: &str = "open";
