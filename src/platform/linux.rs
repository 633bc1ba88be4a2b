//! Linux.

use std::path::PathBuf;

/// The program to start for a child that must be this very binary (the online probe).
/// `/proc/self/exe` is the executable this process runs, even if the file on disk was
/// replaced or renamed since it started: nothing can swap it between looking it up and
/// starting it.
pub fn self_exe() -> std::io::Result<PathBuf> {
    Ok(PathBuf::from("/proc/self/exe"))
}

/// Where an administrator installs the managed policy.
pub const POLICY_FILE: &str = "/etc/kiro-aws/policy.json";

/// Where per-user caches live below the home directory.
pub const CACHE_DIR: &str = ".cache";

/// The program that opens a URL in the user's browser.
pub const URL_OPENER: &str = "xdg-open";
