//! Strict mode's credential broker. The SSO token never enters the sandbox: kiro-aws,
//! outside, mints credentials for kiro profiles (through the online probe, from the
//! isolated config only) and hands them in over a Unix socket. Inside, each profile of
//! the sandbox's AWS config is a `credential_process` that asks the socket.
//!
//! A request must come from a process in the sandbox's PID namespace (checked with the
//! peer's credentials, so a secret copied out is useless outside), carry the session's
//! secret, and name a profile of the isolated config. Answers are cached and minted
//! again when fewer than [`REFRESH_MARGIN_SECS`] remain.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::code::Code;
use crate::config::profile::ProfileSet;
use crate::error::{Error, Exit, Result};
use crate::online::probe::RoleCredentials;

/// Credentials are minted again when fewer seconds than this remain (botocore itself
/// refreshes 15 minutes before expiry).
pub const REFRESH_MARGIN_SECS: i64 = 20 * 60;

/// Callers served at once.
pub const MAX_CONNECTIONS: usize = 32;

/// After a failed minting, callers get the same refusal for this long instead of each
/// starting another call to the SSO portal.
pub const FAILURE_BACKOFF_SECS: i64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct BrokerRequest {
    secret: String,
    profile: String,
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
                "Expiration": clock::rfc3339(c.expiration),
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
            if c.expiration - clock::now() > REFRESH_MARGIN_SECS {
                return Ok(c.clone());
            }
        }
        if let Some((message, at)) = &slot.failure {
            if clock::now() - at < FAILURE_BACKOFF_SECS {
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
                slot.failure = Some((message.clone(), clock::now()));
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
    let fail = |message: String| Error::new(Code::BrokerRefused, message);
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
    fn secrets_compare_in_full() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
