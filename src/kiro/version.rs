//! Which Kiro CLI is installed: `kiro-cli --version`, asked once per binary and cached by
//! the binary's identity (path, device, inode, size, modification and change times), so
//! that a launch does not pay for it each time and a replaced binary is asked again.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::install::atomic_file;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The first `X.Y.Z` in what `kiro-cli --version` printed (`kiro-cli 2.2.1`).
pub fn parse(output: &str) -> Option<Version> {
    output.split_whitespace().find_map(|word| {
        let word = word.trim_start_matches('v');
        let mut parts = word.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        Some(Version {
            major,
            minor,
            patch,
        })
    })
}

/// What identifies one binary on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    path: PathBuf,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    fn of(binary: &Path) -> Option<Identity> {
        let path = std::fs::canonicalize(binary).ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        Some(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
            ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            path,
        })
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cache {
    entries: Vec<(Identity, String)>,
}

/// How many binaries the cache remembers.
const CACHE_ENTRIES: usize = 8;
/// How long `kiro-cli --version` may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What `--version` printed (the cached answer when the binary is the same one).
pub fn detect(binary: &Path, cache_file: &Path) -> Result<String, String> {
    let identity = Identity::of(binary);
    let mut cache: Cache = atomic_file::read_no_follow(cache_file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    if let Some(identity) = &identity {
        if let Some((_, output)) = cache.entries.iter().find(|(id, _)| id == identity) {
            return Ok(output.clone());
        }
    }
    let output = ask(binary)?;
    if let Some(identity) = identity {
        cache.entries.retain(|(id, _)| id.path != identity.path);
        cache.entries.insert(0, (identity, output.clone()));
        cache.entries.truncate(CACHE_ENTRIES);
        // A cache that cannot be written costs the next launch one more question.
        if let Some(dir) = cache_file.parent() {
            let _ = atomic_file::ensure_dir(dir, 0o700).and_then(|()| {
                let bytes = serde_json::to_vec(&cache).expect("JSON serialises");
                atomic_file::write(cache_file, &bytes, 0o600, false).map(|_| ())
            });
        }
    }
    Ok(output)
}

fn ask(binary: &Path) -> Result<String, String> {
    let mut child = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {} --version: {e}", binary.display()))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let mut out = String::new();
                if let Some(mut stdout) = child.stdout.take() {
                    let _ = stdout.by_ref().take(64 * 1024).read_to_string(&mut out);
                }
                if !status.success() {
                    return Err(format!("{} --version failed ({status})", binary.display()));
                }
                return Ok(out.trim().to_owned());
            }
            Ok(None) if started.elapsed() < TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} --version did not answer within {} s",
                    binary.display(),
                    TIMEOUT.as_secs()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn parses_what_kiro_cli_prints() {
        let v = |major, minor, patch| {
            Some(Version {
                major,
                minor,
                patch,
            })
        };
        assert_eq!(parse("kiro-cli 1.28.1"), v(1, 28, 1));
        assert_eq!(parse("kiro-cli 2.21.3\n"), v(2, 21, 3));
        assert_eq!(parse("kiro-cli v3.2.0-beta.1"), v(3, 2, 0));
        assert_eq!(parse("kiro-cli"), None);
        assert_eq!(parse("kiro-cli 2.x"), None);
    }

    #[test]
    fn the_cache_is_keyed_by_the_binary_itself() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("kiro-cli");
        let log = dir.path().join("asked");
        let write = |version: &str| {
            let tmp = dir.path().join("new");
            std::fs::write(
                &tmp,
                format!(
                    "#!/bin/sh\necho x >> {}\necho 'kiro-cli {version}'\n",
                    log.display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::rename(&tmp, &bin).unwrap();
        };
        let cache = dir.path().join("cache/kiro-cli.json");
        let asked = || std::fs::read_to_string(&log).unwrap().lines().count();
        write("2.2.1");
        assert_eq!(detect(&bin, &cache).unwrap(), "kiro-cli 2.2.1");
        assert_eq!(detect(&bin, &cache).unwrap(), "kiro-cli 2.2.1");
        assert_eq!(asked(), 1, "the second answer came from the cache");
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        write("3.2.0");
        assert_eq!(detect(&bin, &cache).unwrap(), "kiro-cli 3.2.0");
        assert_eq!(asked(), 2, "a replaced binary is asked again");
    }
}
