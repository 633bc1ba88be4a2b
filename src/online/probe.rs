//! The one door to the network. Online work (asking STS who a profile is, reading
//! CloudTrail) runs in a child process: this same binary, started with the hidden
//! `__probe` command under exactly the environment `run` gives the agent. The SDK in the
//! child therefore reads exactly the isolated files, through exactly the agent's
//! variables, and the parent (every other command) never starts an async runtime.
//!
//! The parent writes one [`Request`] as JSON to the child's stdin and reads one
//! [`Response`] from its stdout; [`child`](crate::online::child) is the child's side.

use std::ffi::{OsStr, OsString};
use std::io::{IsTerminal, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::code::Code;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::launch::environment::{self, LaunchEnv};
use crate::online::identity::{FailureKind, Observation};
pub use crate::online::sso::{DeviceAuthorization, Discovered, NewToken};
use crate::paths::Paths;

/// The hidden command that runs the child's side.
pub const COMMAND: &str = "__probe";

/// The `AWS_PROFILE` of a child that signs in or lists the portal: those calls use no
/// profile (and may run before any exists), so it names none of the isolated config.
pub const NO_PROFILE: &str = "kiro-aws-no-profile";

/// Endpoint overrides the child keeps from the caller's environment, although the agent's
/// environment removes them: they let whoami and audit reach VPC endpoints (or a test's
/// loopback server). Only the services the probe calls, each by name (not the catch-all
/// `AWS_ENDPOINT_URL`), and only `https://` or loopback `http://`: the SSO endpoints
/// receive the bearer token.
pub const ENDPOINT_OVERRIDES: [&str; 4] = [
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSO",
    "AWS_ENDPOINT_URL_SSO_OIDC",
    "AWS_ENDPOINT_URL_CLOUDTRAIL",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// `GetCallerIdentity` for each profile, all at once.
    Whoami {
        profiles: Vec<String>,
        timeout_ms: u64,
    },
    /// Role credentials for one profile, for the strict-mode broker.
    Credentials { profile: String, timeout_ms: u64 },
    /// IAM Identity Center sign-in, first half: register a client and start the device
    /// authorization (the parent shows the code and opens the browser).
    StartSignIn {
        region: String,
        start_url: String,
        scopes: Vec<String>,
        timeout_ms: u64,
    },
    /// Second half: poll for the token until the user approves.
    FinishSignIn {
        region: String,
        authorization: DeviceAuthorization,
        timeout_ms: u64,
    },
    /// Every account and role the token's user has, from the portal, rate-limited.
    Discover {
        region: String,
        access_token: String,
        max_rps: u32,
        request_timeout_ms: u64,
        timeout_ms: u64,
    },
    /// CloudTrail `LookupEvents` with one profile, between two instants (Unix seconds).
    LookupEvents {
        profile: String,
        start: i64,
        end: i64,
        max_events: usize,
        timeout_ms: u64,
    },
}

/// Short-lived role credentials, as the SSO portal hands them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub expiration: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileObservation {
    pub profile: String,
    pub observation: Observation,
}

/// One CloudTrail event as `LookupEvents` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEvent {
    /// Unix seconds.
    pub time: i64,
    pub name: String,
    pub username: Option<String>,
    /// The whole event record, a JSON document in a string.
    pub record: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    Whoami(Vec<ProfileObservation>),
    Events {
        events: Vec<RawEvent>,
        /// True when `max_events` stopped the lookup before the start of the window.
        truncated: bool,
    },
    Credentials(RoleCredentials),
    DeviceAuthorization(DeviceAuthorization),
    Token(NewToken),
    Discovered(Discovered),
    Failed(Observation),
}

/// An endpoint the probe may send credentials or the SSO token to.
fn endpoint_allowed(url: &str) -> bool {
    let loopback = |rest: &str| {
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        let host = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => authority,
        };
        matches!(host, "127.0.0.1" | "localhost" | "[::1]")
    };
    url.starts_with("https://") || url.strip_prefix("http://").is_some_and(loopback)
}

/// The child's whole environment: the agent's (for `profile`) plus the caller's
/// endpoint overrides, and without the agent's user-agent tag, so that kiro-aws's own
/// calls are not counted as the agent's.
/// The TLS settings the online child keeps (any letter case for the proxy ones).
const KEPT_TLS: [&str; 3] = ["HTTPS_PROXY", "NO_PROXY", "AWS_CA_BUNDLE"];

pub fn child_env(
    paths: &Paths,
    profile: &str,
    inherited: &Env,
) -> Result<Vec<(OsString, OsString)>> {
    let mut env = LaunchEnv::new(paths, profile, inherited)?.apply(inherited);
    // Where TLS goes and whom it trusts is kiro-aws's choice here, not the shell's: an
    // HTTPS proxy (`HTTPS_PROXY`, `NO_PROXY`) and `AWS_CA_BUNDLE`, as the AWS SDKs honour
    // them; never `ALL_PROXY`, `HTTP_PROXY`, `SSL_CERT_FILE` or `SSL_CERT_DIR`, which
    // would hand the credentials this child fetches to whoever they name.
    env.retain(|name, _| {
        let name = name.to_string_lossy();
        !environment::is_tls_setting(&name)
            || KEPT_TLS.iter().any(|k| k.eq_ignore_ascii_case(&name))
    });
    env.remove(OsStr::new("AWS_EXECUTION_ENV"));
    if let Some(value) = inherited.get("AWS_EXECUTION_ENV") {
        env.insert("AWS_EXECUTION_ENV".into(), value.to_owned());
    }
    for (name, value) in inherited.vars() {
        if !ENDPOINT_OVERRIDES.iter().any(|o| name == o) {
            continue;
        }
        let url = value.to_string_lossy();
        if !endpoint_allowed(&url) {
            return Err(Error::new(Code::EndpointRefused, format!(
                    "{}={url}: only https:// endpoints (or http:// on loopback) may receive AWS credentials",
                    name.to_string_lossy()
                )));
        }
        env.insert(name.clone(), value.clone());
    }
    Ok(env.into_iter().collect())
}

/// Run `request` in the child; `label` is what the progress line says on a terminal
/// (empty: no progress line, as when the terminal belongs to the sandboxed agent).
/// The child enforces the request's timeout; this side kills it a little after that.
pub fn call(
    paths: &Paths,
    profile: &str,
    inherited: &Env,
    request: &Request,
    label: &str,
) -> Result<Response> {
    let timeout = Duration::from_millis(match request {
        Request::Whoami { timeout_ms, .. }
        | Request::Credentials { timeout_ms, .. }
        | Request::StartSignIn { timeout_ms, .. }
        | Request::FinishSignIn { timeout_ms, .. }
        | Request::Discover { timeout_ms, .. }
        | Request::LookupEvents { timeout_ms, .. } => *timeout_ms,
    });
    let exe = crate::platform::self_exe()
        .map_err(|e| Error::io("kiro-aws", "find kiro-aws itself", e))?;
    let mut child = Command::new(&exe)
        .arg(COMMAND)
        .env_clear()
        .envs(child_env(paths, profile, inherited)?)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(&exe, "start the online probe", e))?;
    let request = serde_json::to_vec(request).expect("JSON");
    if let Some(mut stdin) = child.stdin.take() {
        // A child that died at once shows up below, with its stderr.
        let _ = stdin.write_all(&request);
    }
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    // The child's progress lines update the spinner; everything else is its message.
    let status_line = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let err = {
        let status_line = status_line.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut buf = Vec::new();
            let mut reader = std::io::BufReader::new(&mut stderr);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                match std::str::from_utf8(&line)
                    .ok()
                    .and_then(|l| l.strip_prefix(crate::online::sso::PROGRESS))
                {
                    Some(text) => {
                        if let Ok(mut shown) = status_line.lock() {
                            *shown = text.trim_end().to_owned();
                        }
                    }
                    None => buf.extend_from_slice(&line),
                }
                line.clear();
            }
            buf
        })
    };

    let started = Instant::now();
    let deadline = started + timeout + Duration::from_secs(2);
    let mut progress = Progress::new(label);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::io(&exe, "wait for the online probe", e));
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            progress.finish();
            return Ok(Response::Failed(Observation::Failed {
                kind: FailureKind::Timeout,
                message: format!(
                    "the online probe did not finish within {} s and was stopped",
                    deadline.duration_since(started).as_secs_f32()
                ),
            }));
        }
        let detail = status_line.lock().map(|s| s.clone()).unwrap_or_default();
        progress.tick(started.elapsed(), &detail);
        std::thread::sleep(Duration::from_millis(10));
    };
    progress.finish();
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::new(
            Code::ProbeFailed,
            format!(
                "the online probe failed ({status}): {}",
                String::from_utf8_lossy(&err).trim()
            ),
        ));
    }
    serde_json::from_slice(&out).map_err(|e| {
        Error::new(
            Code::ProbeFailed,
            format!("the online probe answered something unreadable: {e}"),
        )
    })
}

/// A one-line spinner on stderr, shown only on a terminal and only once the work has
/// taken longer than a moment.
struct Progress<'a> {
    label: &'a str,
    shown: bool,
    enabled: bool,
    frame: usize,
}

impl<'a> Progress<'a> {
    const AFTER: Duration = Duration::from_millis(300);
    const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

    fn new(label: &'a str) -> Self {
        Progress {
            label,
            shown: false,
            enabled: !label.is_empty() && std::io::stderr().is_terminal(),
            frame: 0,
        }
    }

    fn tick(&mut self, elapsed: Duration, detail: &str) {
        if !self.enabled || elapsed < Self::AFTER {
            return;
        }
        self.frame += 1;
        if self.frame.is_multiple_of(10) || !self.shown {
            let spin = Self::FRAMES[(self.frame / 10) % Self::FRAMES.len()];
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            };
            eprint!(
                "\r\x1b[2K{spin} kiro-aws: {}{detail} ({:.1} s)",
                self.label,
                elapsed.as_secs_f32()
            );
            self.shown = true;
        }
    }

    fn finish(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn only_tls_or_loopback_endpoints_get_credentials() {
        for ok in [
            "https://sts.eu-west-1.amazonaws.com",
            "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com/",
            "http://127.0.0.1:4566",
            "http://localhost:8080/",
            "http://[::1]:9000",
        ] {
            assert!(endpoint_allowed(ok), "{ok}");
        }
        for bad in [
            "http://evil.example.com",
            "http://127.0.0.1.evil.example.com",
            "http://localhost.evil:80",
            "ftp://127.0.0.1",
            "",
        ] {
            assert!(!endpoint_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn the_probe_keeps_the_callers_execution_env_untagged() {
        let paths = Paths::new(std::path::Path::new("/home/u"));
        let inherited = Env::of(&[
            ("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE"),
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL", "https://elsewhere"),
        ]);
        let env: BTreeMap<OsString, OsString> = child_env(&paths, "kiro-a", &inherited)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(env[OsStr::new("AWS_EXECUTION_ENV")], "AWS_ECS_FARGATE");
        assert_eq!(
            env[OsStr::new("AWS_ENDPOINT_URL_STS")],
            "http://127.0.0.1:1"
        );
        assert!(!env.contains_key(OsStr::new("AWS_ENDPOINT_URL")));
    }
}
