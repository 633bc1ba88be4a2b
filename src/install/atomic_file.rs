//! The one place files are written: a temporary file in the target's directory, synced,
//! given its mode, then renamed over the target. A reader sees the old or the new file,
//! never half of one, and a symlink at the target is refused rather than followed.

use std::fs::{self, DirBuilder, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::code::Code;
use crate::error::{Error, Result};

/// What a backup's name adds to the file's: `NAME.kiro-aws-backup-N`.
pub const BACKUP_INFIX: &str = ".kiro-aws-backup-";

/// What is at a path now, read without following a final symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    Absent,
    File { bytes: Vec<u8>, mode: u32 },
    Symlink,
    NotAFile,
}

pub fn read_existing(path: &Path) -> Result<Existing> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Absent),
        Err(e) => return Err(Error::io(path, "inspect the file", e)),
    };
    if meta.file_type().is_symlink() {
        return Ok(Existing::Symlink);
    }
    if !meta.is_file() {
        return Ok(Existing::NotAFile);
    }
    let bytes = read_no_follow(path).map_err(|e| Error::io(path, "read the file", e))?;
    Ok(Existing::File {
        bytes,
        mode: meta.mode() & 0o7777,
    })
}

/// Open a file for reading, failing (ELOOP) rather than following a symlink at the final
/// component, and without blocking on a FIFO.
pub fn open_no_follow(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
}

/// Read a file, failing (ELOOP) rather than following a symlink at the final component.
pub fn read_no_follow(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    open_no_follow(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Create `dir` (and missing parents) with `mode` for the directories this call creates.
/// A private directory (`mode` 0700) must not be a symlink and is tightened to 0700.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<()> {
    match DirBuilder::new().recursive(true).mode(mode).create(dir) {
        Ok(()) => {}
        Err(e) => return Err(Error::io(dir, "create the directory", e)),
    }
    if mode & 0o077 == 0 {
        let meta = fs::symlink_metadata(dir).map_err(|e| Error::io(dir, "inspect", e))?;
        if meta.file_type().is_symlink() {
            return Err(symlink_refused(dir));
        }
        if meta.mode() & 0o777 != mode {
            fs::set_permissions(dir, Permissions::from_mode(mode))
                .map_err(|e| Error::io(dir, "set the directory's mode", e))?;
        }
    }
    Ok(())
}

pub fn symlink_refused(path: &Path) -> Error {
    Error::new(
        Code::SymlinkRefused,
        "is a symlink; kiro-aws never writes through one",
    )
    .with_fix(format!(
        "remove the link (`rm {}`) and run `kiro-aws init` again",
        path.display()
    ))
    .at(path)
}

/// How old a temporary file must be to count as left behind: a write takes milliseconds.
const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(10);

/// The temporary files an interrupted [`write`] of `path` left beside it
/// (`.NAME.XXXXXX.tmp`, regular files, older than a write takes).
pub fn leftovers(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with(&prefix)
                && n.ends_with(".tmp")
                && n.len() == prefix.len() + 6 + ".tmp".len()
                && e.file_type().is_ok_and(|t| t.is_file())
                // One a concurrent kiro-aws is writing right now is not left behind.
                && e.metadata().ok().and_then(|m| m.modified().ok()).is_some_and(|t| {
                    t.elapsed().is_ok_and(|age| age >= LEFTOVER_AGE)
                })
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Atomically replace `path` with `bytes` at `mode`. With `backup`, the old file is first
/// hard-linked beside it (`NAME.kiro-aws-backup-N`), so nothing is lost at any instant.
/// Returns the backup's path when one was made.
pub fn write(path: &Path, bytes: &[u8], mode: u32, backup: bool) -> Result<Option<PathBuf>> {
    let dir = path.parent().expect("kiro-aws writes only below $HOME");
    let name = path.file_name().expect("a file name").to_string_lossy();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, "create a temporary file", e))?;
    let temp_path = temp.path().to_owned();
    let io = |e| Error::io(&temp_path, "write the temporary file", e);
    temp.write_all(bytes).map_err(io)?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;

    // Re-checked right before the rename: rename(2) replaces a symlink without following
    // it, but a link planted here means someone expects us to write through it.
    if matches!(read_existing(path)?, Existing::Symlink) {
        return Err(symlink_refused(path));
    }
    let backup_path = if backup && path.exists() {
        Some(link_backup(path)?)
    } else {
        None
    };
    temp.persist(path)
        .map_err(|e| Error::io(path, "rename the new file into place", e.error))?;
    if let Ok(dir_file) = fs::File::open(dir) {
        let _ = dir_file.sync_all();
    }
    Ok(backup_path)
}

fn link_backup(path: &Path) -> Result<PathBuf> {
    let mut n = 1;
    loop {
        let mut name = path.as_os_str().to_owned();
        name.push(format!("{BACKUP_INFIX}{n}"));
        let candidate = PathBuf::from(name);
        match fs::hard_link(path, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(Error::io(&candidate, "keep a backup", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_mode_and_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        write(&target, b"one", 0o600, false).unwrap();
        assert_eq!(
            read_existing(&target).unwrap(),
            Existing::File {
                bytes: b"one".to_vec(),
                mode: 0o600
            }
        );
        let backup = write(&target, b"two", 0o600, true).unwrap().unwrap();
        assert_eq!(fs::read(&backup).unwrap(), b"one");
        assert_eq!(fs::read(&target).unwrap(), b"two");

        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert_eq!(
            write(&link, b"x", 0o600, true).unwrap_err().code,
            Code::SymlinkRefused
        );
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(read_no_follow(&link).is_err());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_reader_sees_the_old_or_the_new_file_never_half() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("f");
        let (a, b) = (vec![b'a'; 256 * 1024], vec![b'b'; 256 * 1024]);
        write(&target, &a, 0o600, false).unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let seen = read_no_follow(&target).unwrap();
                    assert!(
                        seen == a || seen == b,
                        "a torn read of {} bytes",
                        seen.len()
                    );
                    reads += 1;
                }
                reads
            });
            for i in 0..200 {
                write(&target, if i % 2 == 0 { &b } else { &a }, 0o600, false).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(
                reader.join().unwrap() > 10,
                "the reader ran alongside the writer"
            );
        });
    }

    #[test]
    fn private_dir_is_tightened_and_symlink_refused() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("a/b");
        ensure_dir(&private, 0o700).unwrap();
        assert_eq!(fs::metadata(&private).unwrap().mode() & 0o777, 0o700);
        fs::set_permissions(&private, Permissions::from_mode(0o755)).unwrap();
        ensure_dir(&private, 0o700).unwrap();
        assert_eq!(fs::metadata(&private).unwrap().mode() & 0o777, 0o700);
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&private, &link).unwrap();
        assert_eq!(
            ensure_dir(&link, 0o700).unwrap_err().code,
            Code::SymlinkRefused
        );
    }
}
