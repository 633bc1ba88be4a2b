//! Strict mode's credential broker. The SSO token never enters the sandbox: kiro-aws,
//! outside, mints credentials for kiro profiles (through [`crate::probe`], from the
//! isolated config only) and hands them in over a Unix socket. Inside, each profile of
//! the sandbox's AWS config is a `credential_process` that asks the socket.
//!
//! A request must come from a process in the sandbox's PID namespace (checked with the
//! peer's credentials, so a secret copied out is useless outside), carry the session's
//! secret, and name a profile of the isolated config. Answers are cached and minted
//! again when fewer than [`REFRESH_MARGIN_SECS`] remain.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Exit, Result};
use crate::profile::ProfileSet;

/// Credentials are minted again when fewer seconds than this remain (botocore itself
/// refreshes 15 minutes before expiry).
pub const REFRESH_MARGIN_SECS: i64 = 20 * 60;

/// Callers served at once.
pub const MAX_CONNECTIONS: usize = 32;

/// After a failed minting, callers get the same refusal for this long instead of each
/// starting another call to the SSO portal.
pub const FAILURE_BACKOFF_SECS: i64 = 5;

/// The hidden command a sandboxed AWS client runs as its `credential_process`.
pub const CLIENT: &str = "__credential-process";

/// Short-lived role credentials, as the SSO portal hands them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub expiration: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct BrokerRequest {
    secret: String,
    profile: String,
}

/// This session's private directory: the socket, the secret, the sandbox's AWS config
/// and an empty credentials file. Removed when dropped.
pub struct RunDir {
    pub path: PathBuf,
    pub socket: PathBuf,
    pub secret_file: PathBuf,
    pub config: PathBuf,
    pub credentials: PathBuf,
    pub empty: PathBuf,
    pub secret: String,
}

impl RunDir {
    /// Create a fresh 0700 directory below `runtime_dir` (itself 0700 and ours).
    pub fn create(runtime_dir: &Path) -> Result<RunDir> {
        crate::atomic_file::ensure_dir(runtime_dir, 0o700)?;
        let meta = std::fs::symlink_metadata(runtime_dir)
            .map_err(|e| Error::io(runtime_dir, "inspect", e))?;
        if meta.uid() != nix::unistd::getuid().as_raw() {
            return Err(Error::not_isolated(
                format!("{} belongs to another user", runtime_dir.display()),
                "remove it, or set XDG_RUNTIME_DIR to a directory of your own",
            ));
        }
        remove_stale(runtime_dir);
        let secret = random_hex(32)?;
        let path = runtime_dir.join(format!("run-{}-{}", std::process::id(), &secret[..8]));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io(&path, "create the broker directory", e))?;
        let run = RunDir {
            socket: path.join("broker.sock"),
            secret_file: path.join("secret"),
            config: path.join("config"),
            credentials: path.join("credentials"),
            empty: path.join("empty"),
            path,
            secret,
        };
        run.write(&run.secret_file, run.secret.as_bytes())?;
        run.write(&run.credentials, b"")?;
        run.write(&run.empty, b"")?;
        Ok(run)
    }

    /// Write a new private file (never through a link: the directory is new and ours).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| Error::io(path, "create", e))?;
        file.write_all(bytes)
            .map_err(|e| Error::io(path, "write", e))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Remove the directories of sessions whose kiro-aws is gone (killed before cleaning up).
fn remove_stale(runtime_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(runtime_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("run-"))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| Error::io("/dev/urandom", "read", e))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The AWS config the sandbox sees: every kiro profile, its region and output, and a
/// `credential_process` that asks the broker. No SSO settings, no token.
pub fn sandbox_config(set: &ProfileSet, exe: &Path, run: &RunDir) -> Result<String> {
    let safe = |p: &Path| {
        let text = p.to_str().unwrap_or("");
        if !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-+@%:,=".contains(&b))
        {
            Ok(text.to_owned())
        } else {
            Err(Error::not_isolated(
                format!(
                    "{} has characters that a credential_process line cannot carry safely",
                    p.display()
                ),
                "install kiro-aws (and set XDG_RUNTIME_DIR) under paths without spaces or quotes",
            )
            .at(p))
        }
    };
    let (exe, socket, secret) = (safe(exe)?, safe(&run.socket)?, safe(&run.secret_file)?);
    let mut out = String::from(
        "# Written by kiro-aws for one strict session: credentials come from its broker,\n\
         # outside this sandbox. Removed when the session ends.\n",
    );
    for p in &set.profiles {
        out.push_str(&format!(
            "\n[profile {0}]\ncredential_process = {exe} {CLIENT} --socket {socket} --secret-file {secret} --profile {0}\n",
            p.name
        ));
        if let Some(region) = &p.region {
            out.push_str(&format!("region = {region}\n"));
        }
        if let Some(output) = &p.output {
            out.push_str(&format!("output = {output}\n"));
        }
    }
    Ok(out)
}

/// How the broker gets fresh credentials for a profile: `Err` is a message for the client.
pub type Mint = dyn Fn(&str) -> std::result::Result<RoleCredentials, String> + Send + Sync;

pub struct Broker {
    profiles: Vec<String>,
    secret: String,
    /// The inode of the sandbox's PID namespace, known once bwrap has started.
    pub sandbox_pid_ns: Arc<OnceLock<u64>>,
    mint: Box<Mint>,
    cache: BTreeMap<String, Mutex<Slot>>,
}

/// What the broker holds for one profile.
#[derive(Default)]
struct Slot {
    credentials: Option<RoleCredentials>,
    /// The last failure and when it happened (Unix seconds).
    failure: Option<(String, i64)>,
}

impl Broker {
    pub fn new(set: &ProfileSet, secret: String, mint: Box<Mint>) -> Arc<Broker> {
        Arc::new(Broker {
            profiles: set.names(),
            secret,
            sandbox_pid_ns: Arc::new(OnceLock::new()),
            mint,
            cache: set
                .names()
                .into_iter()
                .map(|n| (n, Mutex::new(Slot::default())))
                .collect(),
        })
    }

    /// Serve `listener` on a thread for as long as the process lives, at most
    /// [`MAX_CONNECTIONS`] callers at a time (more wait in the socket's backlog).
    pub fn serve(self: &Arc<Self>, listener: UnixListener) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let broker = Arc::clone(self);
        let busy = Arc::new(AtomicUsize::new(0));
        let _ = std::thread::Builder::new()
            .name("broker".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    while busy.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    busy.fetch_add(1, Ordering::SeqCst);
                    let (broker, done) = (Arc::clone(&broker), Arc::clone(&busy));
                    let handler = std::thread::Builder::new().spawn(move || {
                        broker.handle(stream);
                        done.fetch_sub(1, Ordering::SeqCst);
                    });
                    if handler.is_err() {
                        busy.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            });
    }

    /// Mint the credentials of `profile` now, so that the first call inside is quick.
    pub fn prefetch(self: &Arc<Self>, profile: &str) {
        let broker = Arc::clone(self);
        let profile = profile.to_owned();
        std::thread::spawn(move || {
            let _ = broker.credentials(&profile);
        });
    }

    fn handle(&self, mut stream: UnixStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let answer = match self.answer(&stream) {
            Ok(c) => serde_json::json!({
                "Version": 1,
                "AccessKeyId": c.access_key_id,
                "SecretAccessKey": c.secret_access_key,
                "SessionToken": c.session_token,
                "Expiration": crate::clock::rfc3339(c.expiration),
            }),
            Err(message) => serde_json::json!({ "Error": message }),
        };
        let _ = writeln!(stream, "{answer}");
    }

    fn answer(&self, stream: &UnixStream) -> std::result::Result<RoleCredentials, String> {
        // Read the request first, so that a refusal reaches the caller as an answer.
        let mut line = String::new();
        BufReader::new(stream.take(4096))
            .read_line(&mut line)
            .map_err(|e| format!("unreadable request: {e}"))?;
        self.check_peer(stream)?;
        let request: BrokerRequest =
            serde_json::from_str(&line).map_err(|e| format!("malformed request: {e}"))?;
        if !constant_time_eq(request.secret.as_bytes(), self.secret.as_bytes()) {
            return Err("wrong secret".into());
        }
        if !self.profiles.contains(&request.profile) {
            return Err(format!(
                "`{}` is not a profile of the isolated config (have: {})",
                request.profile,
                self.profiles.join(", ")
            ));
        }
        self.credentials(&request.profile)
    }

    /// The peer must run as this user inside the sandbox's PID namespace.
    fn check_peer(&self, stream: &UnixStream) -> std::result::Result<(), String> {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        let peer = getsockopt(stream, PeerCredentials).map_err(|e| format!("no peer: {e}"))?;
        if peer.uid() != nix::unistd::getuid().as_raw() {
            return Err("the caller is another user".into());
        }
        // bwrap reports the namespace as it starts; a request can only come after that,
        // but the thread reading the report may not have run yet.
        let started = std::time::Instant::now();
        let expected = loop {
            if let Some(ns) = self.sandbox_pid_ns.get() {
                break ns;
            }
            if started.elapsed() > Duration::from_secs(5) {
                return Err("the sandbox is not running".into());
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let ns = std::fs::metadata(format!("/proc/{}/ns/pid", peer.pid()))
            .map_err(|_| "the caller's PID namespace cannot be read".to_owned())?
            .ino();
        if ns != *expected {
            return Err("the caller is not inside this session's sandbox".into());
        }
        Ok(())
    }

    fn credentials(&self, profile: &str) -> std::result::Result<RoleCredentials, String> {
        let slot = self.cache.get(profile).ok_or("unknown profile")?;
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = slot.credentials.as_ref() {
            if c.expiration - crate::clock::now() > REFRESH_MARGIN_SECS {
                return Ok(c.clone());
            }
        }
        if let Some((message, at)) = &slot.failure {
            if crate::clock::now() - at < FAILURE_BACKOFF_SECS {
                return Err(message.clone());
            }
        }
        match (self.mint)(profile) {
            Ok(fresh) => {
                slot.credentials = Some(fresh.clone());
                slot.failure = None;
                Ok(fresh)
            }
            Err(message) => {
                slot.failure = Some((message.clone(), crate::clock::now()));
                Err(message)
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The client: ask the broker for `profile` and print what it answers in the
/// `credential_process` format (exit 0), or its refusal on stderr (exit 1).
pub fn client(socket: &Path, secret_file: &Path, profile: &str) -> Result<Exit> {
    let fail = |message: String| {
        Error::other(
            "broker_refused",
            message,
            "run AWS commands through the profiles of the isolated config (`aws configure list-profiles`)",
        )
    };
    let secret = std::fs::read_to_string(secret_file)
        .map_err(|e| Error::io(secret_file, "read the broker secret", e))?;
    let mut stream =
        UnixStream::connect(socket).map_err(|e| Error::io(socket, "reach the broker", e))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let request = serde_json::json!({ "secret": secret.trim(), "profile": profile });
    writeln!(stream, "{request}").map_err(|e| Error::io(socket, "ask the broker", e))?;
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .map_err(|e| Error::io(socket, "read the broker's answer", e))?;
    let answer: serde_json::Value = serde_json::from_str(&line)
        .map_err(|_| fail("the broker closed the connection without an answer".into()))?;
    if let Some(message) = answer.get("Error").and_then(|m| m.as_str()) {
        return Err(fail(format!("the broker refused: {message}")));
    }
    println!("{answer}");
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_config_has_no_sso_settings() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(&dir.path().join("rt")).unwrap();
        let set = crate::config_file::tests::sample();
        let text = sandbox_config(&set, Path::new("/usr/bin/kiro-aws"), &run).unwrap();
        let socket = run.socket.display();
        let secret = run.secret_file.display();
        assert_eq!(
            text,
            format!(
                "# Written by kiro-aws for one strict session: credentials come from its broker,\n\
                 # outside this sandbox. Removed when the session ends.\n\
                 \n[profile kiro-dev]\ncredential_process = /usr/bin/kiro-aws __credential-process --socket {socket} --secret-file {secret} --profile kiro-dev\nregion = eu-west-1\n\
                 \n[profile kiro-prod-write]\ncredential_process = /usr/bin/kiro-aws __credential-process --socket {socket} --secret-file {secret} --profile kiro-prod-write\noutput = json\n"
            )
        );
        assert!(sandbox_config(&set, Path::new("/opt/my tools/kiro-aws"), &run).is_err());
        let path = run.path.clone();
        drop(run);
        assert!(!path.exists(), "the run directory is removed");
    }

    #[test]
    fn secrets_compare_in_full() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
