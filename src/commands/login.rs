//! `kiro-aws login`: sign in to IAM Identity Center with the OIDC device flow, and cache
//! the token where and how AWS CLI v2 does, so that botocore, the AWS CLI and the SDKs
//! (the agent's among them) use it. No AWS CLI is needed, and no profile: the start URL
//! and region come from the isolated config's sso-session or from the flags `init` takes.
//!
//! The calls run in the online child; this side shows the code, opens the browser and
//! writes the token file.

use std::io::Write;

use crate::clock;
use crate::code::Code;
use crate::commands::shared;
use crate::config::profile::{SsoSession, DEFAULT_REGISTRATION_SCOPES, DEFAULT_SESSION};
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::install::plan::session_from_flags;
use crate::online::identity::Observation;
use crate::online::probe::{
    self, DeviceAuthorization, NewToken, Request as ProbeRequest, Response,
};
use crate::paths::Paths;
use crate::sso::token::{self, CachedToken};
use crate::text::printable;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Sign in for this profile's sso-session.
    pub profile: Option<String>,
    /// Sign in for this sso-session.
    pub sso_session: Option<String>,
    /// `--sso-start-url` and `--sso-region`: a session the config need not hold yet.
    pub sso: Option<(String, String)>,
    pub no_browser: bool,
    pub json: bool,
}

/// The sso-session to sign in: from the flags, else from the proven isolated config.
pub fn session_for(
    request_session: Option<&str>,
    sso: Option<&(String, String)>,
    profile_name: Option<&str>,
    paths: &Paths,
    inherited: &Env,
) -> Result<SsoSession> {
    if let Some((url, region)) = sso {
        let session = SsoSession {
            name: request_session.unwrap_or(DEFAULT_SESSION).to_owned(),
            start_url: url.clone(),
            region: region.clone(),
            registration_scopes: None,
        };
        return session_from_flags(session);
    }
    let set = shared::prove(paths, inherited, &probe::ENDPOINT_OVERRIDES)?;
    let name = match request_session {
        Some(name) => name.to_owned(),
        None => shared::select_profile(&set, profile_name)?
            .sso_session
            .clone(),
    };
    set.sessions
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .ok_or_else(|| {
            Error::new(
                Code::SsoSessionMissing,
                format!(
                    "--sso-session: the isolated config has no [sso-session {name}] (have: {})",
                    set.sessions
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_fix("name one of those, or pass --sso-start-url and --sso-region")
        })
}

fn login_failed(observation: Observation, what: &str) -> Error {
    match observation {
        Observation::Failed { message, .. } => {
            Error::new(Code::SsoLoginFailed, format!("{what}: {message}"))
        }
        Observation::Identity(_) => Error::new(
            Code::ProbeFailed,
            "the online probe gave an unexpected answer",
        ),
    }
}

pub fn run(request: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    match sign_in(request, paths, inherited) {
        Err(e) if request.json => {
            println!("{}", serde_json::json!({"ok": false, "error": e.to_json()}));
            Ok(e.exit)
        }
        done => done,
    }
}

fn sign_in(request: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let session = session_for(
        request.sso_session.as_deref(),
        request.sso.as_ref(),
        request.profile.as_deref(),
        paths,
        inherited,
    )?;
    let scopes: Vec<String> = session
        .registration_scopes
        .as_deref()
        .unwrap_or(DEFAULT_REGISTRATION_SCOPES)
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let start = ProbeRequest::StartSignIn {
        region: session.region.clone(),
        start_url: session.start_url.clone(),
        scopes,
        timeout_ms: 60_000,
    };
    let label = format!("registering with IAM Identity Center ({})", session.region);
    let authorization = match probe::call(paths, probe::NO_PROFILE, inherited, &start, &label)? {
        Response::DeviceAuthorization(a) => a,
        Response::Failed(o) => return Err(login_failed(o, "starting the sign-in")),
        _ => {
            return Err(Error::new(
                Code::ProbeFailed,
                "the online probe gave an unexpected answer",
            ))
        }
    };
    show_code(&authorization, request.no_browser, inherited);

    let finish = ProbeRequest::FinishSignIn {
        region: session.region.clone(),
        authorization: authorization.clone(),
        timeout_ms: (authorization.expires_in + 30) * 1000,
    };
    let token = match probe::call(
        paths,
        probe::NO_PROFILE,
        inherited,
        &finish,
        "waiting for the sign-in to be approved in the browser",
    )? {
        Response::Token(t) => t,
        Response::Failed(o) => return Err(login_failed(o, "the sign-in")),
        _ => {
            return Err(Error::new(
                Code::ProbeFailed,
                "the online probe gave an unexpected answer",
            ))
        }
    };
    let cached = cached_token(&session, &authorization, &token);
    let path = token::write(&paths.home, &session.name, &cached)?;
    if request.json {
        shared::print_json(&serde_json::json!({
            "ok": true,
            "sso_session": session.name,
            "start_url": session.start_url,
            "region": session.region,
            "cache_file": path.display().to_string(),
            "expires_at": cached.expires_at,
        }));
    } else {
        println!(
            "Signed in: sso-session {} until {} (token in {}).",
            session.name,
            cached.expires_at,
            path.display()
        );
    }
    Ok(Exit::Success)
}

/// The token file, as AWS CLI v2 writes it after `aws sso login --sso-session NAME`.
fn cached_token(
    session: &SsoSession,
    authorization: &DeviceAuthorization,
    token: &NewToken,
) -> CachedToken {
    CachedToken {
        start_url: session.start_url.clone(),
        region: session.region.clone(),
        access_token: token.access_token.clone(),
        expires_at: token::expires_in(token.expires_in),
        client_id: Some(authorization.client_id.clone()),
        client_secret: Some(authorization.client_secret.clone()),
        registration_expires_at: (authorization.registration_expires_at > 0)
            .then(|| clock::rfc3339(authorization.registration_expires_at)),
        refresh_token: token.refresh_token.clone(),
    }
}

/// Tell the user where to approve the sign-in (on stderr: stdout is for the result), and
/// open that page unless told not to.
fn show_code(authorization: &DeviceAuthorization, no_browser: bool, inherited: &Env) {
    let url = authorization
        .verification_uri_complete
        .as_deref()
        .unwrap_or(&authorization.verification_uri);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "kiro-aws: to sign in, open {}\nkiro-aws: and check that it shows the code {}",
        printable(url),
        printable(&authorization.user_code)
    );
    // Only a plain web address is opened: https, no spaces or control characters, so the
    // opener can read it neither as an option nor as anything but a page.
    let plain = url.starts_with("https://") && url.chars().all(|c| c.is_ascii_graphic());
    if no_browser || !plain {
        return;
    }
    let opened = std::process::Command::new(crate::platform::URL_OPENER)
        .arg(url)
        .env_clear()
        .envs(inherited.vars().iter().map(|(k, v)| (k, v)))
        .current_dir(inherited.cwd())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = opened {
        let _ = writeln!(
            err,
            "kiro-aws: could not start {} ({e}); open the URL yourself",
            crate::platform::URL_OPENER
        );
    }
}
