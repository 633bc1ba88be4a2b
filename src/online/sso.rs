//! The child's side of IAM Identity Center: the OIDC device flow (`kiro-aws login`) and
//! the portal's account and role lists (`init --discover`). Both are unsigned calls to a
//! region's `oidc.` and `portal.sso.` endpoints (or the `AWS_ENDPOINT_URL_SSO_OIDC` and
//! `_SSO` overrides the parent let through); the token they produce or use is handed back
//! to the parent, which alone writes files.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::Region;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::online::identity::{FailureKind, Observation};
use crate::sso::discover::Account;

/// What `StartDeviceAuthorization` gave, with the client registration it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAuthorization {
    pub client_id: String,
    pub client_secret: String,
    /// Unix seconds.
    pub registration_expires_at: i64,
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    /// Seconds the code is good for, and between two polls.
    pub expires_in: u64,
    pub interval: u64,
}

/// What `CreateToken` gave once the user approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<String>,
}

/// The portal's answer to a whole discovery, and what it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    pub accounts: Vec<Account>,
    pub requests: u64,
    pub throttled: u64,
}

/// Stderr lines of this shape carry progress to the parent, which shows them.
pub const PROGRESS: &str = "\u{1e}progress ";

fn failed(kind: FailureKind, message: String) -> Observation {
    Observation::Failed { kind, message }
}

/// An SDK error as one line: the service's code and message when it sent them.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> String {
    let mut text = match error.as_service_error() {
        Some(e) => format!(
            "{}: {}",
            e.code().unwrap_or("error"),
            e.message().unwrap_or_default()
        ),
        None => {
            let mut chain = vec![error.to_string()];
            let mut next = std::error::Error::source(error);
            while let Some(e) = next {
                chain.push(e.to_string());
                next = e.source();
            }
            chain.join(": ")
        }
    };
    if let Some(response) = error.raw_response() {
        text = format!("HTTP {}: {text}", response.status().as_u16());
    }
    crate::text::printable(&text).into_owned()
}

/// An endpoint override the parent let through (`https://`, or `http://` on loopback).
fn endpoint(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn timeouts(timeout: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(timeout)
        .build()
}

/// The OIDC client. Built from nothing but the region, the HTTP client and the override:
/// no AWS config or credentials file is read (they could name an endpoint of their own,
/// which would receive the sign-in), and no profile is loaded.
fn oidc_client(region: &str, timeout: Duration) -> aws_sdk_ssooidc::Client {
    let mut config = aws_sdk_ssooidc::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(super::child::http_client())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .timeout_config(timeouts(timeout))
        .retry_config(RetryConfig::standard());
    if let Some(url) = endpoint("AWS_ENDPOINT_URL_SSO_OIDC") {
        config = config.endpoint_url(url);
    }
    aws_sdk_ssooidc::Client::from_conf(config.build())
}

/// The portal client, built the same way; its retries are [`Portal::call`]'s own, so that
/// the client-side rate limit counts every attempt.
fn portal_client(region: &str, timeout: Duration) -> aws_sdk_sso::Client {
    let mut config = aws_sdk_sso::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .http_client(super::child::http_client())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .timeout_config(timeouts(timeout))
        .retry_config(RetryConfig::disabled());
    if let Some(url) = endpoint("AWS_ENDPOINT_URL_SSO") {
        config = config.endpoint_url(url);
    }
    aws_sdk_sso::Client::from_conf(config.build())
}

/// Register a public client and start the device authorization for `start_url`.
pub async fn start_sign_in(
    region: &str,
    start_url: &str,
    scopes: &[String],
) -> Result<DeviceAuthorization, Observation> {
    let client = oidc_client(region, Duration::from_secs(30));
    let network =
        |what: &str, message: String| failed(FailureKind::Network, format!("{what}: {message}"));
    let registration = client
        .register_client()
        .client_name("kiro-aws")
        .client_type("public")
        .set_scopes(Some(scopes.to_vec()))
        .send()
        .await
        .map_err(|e| network("RegisterClient", describe(&e)))?;
    let (Some(client_id), Some(client_secret)) =
        (registration.client_id(), registration.client_secret())
    else {
        return Err(network(
            "RegisterClient",
            "no client id in the answer".into(),
        ));
    };
    let authorization = client
        .start_device_authorization()
        .client_id(client_id)
        .client_secret(client_secret)
        .start_url(start_url)
        .send()
        .await
        .map_err(|e| network("StartDeviceAuthorization", describe(&e)))?;
    let (Some(device_code), Some(user_code), Some(uri)) = (
        authorization.device_code(),
        authorization.user_code(),
        authorization.verification_uri(),
    ) else {
        return Err(network(
            "StartDeviceAuthorization",
            "the answer lacks the device code, user code or URL".into(),
        ));
    };
    Ok(DeviceAuthorization {
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        registration_expires_at: registration.client_secret_expires_at(),
        device_code: device_code.to_owned(),
        user_code: user_code.to_owned(),
        verification_uri: uri.to_owned(),
        verification_uri_complete: authorization.verification_uri_complete().map(str::to_owned),
        // The service's own numbers, within bounds: a code lasts minutes (AWS: 10), a
        // poll waits seconds.
        expires_in: u64::try_from(authorization.expires_in())
            .unwrap_or(0)
            .clamp(1, MAX_CODE_LIFETIME.as_secs()),
        interval: u64::try_from(authorization.interval())
            .unwrap_or(0)
            .clamp(1, MAX_INTERVAL.as_secs()),
    })
}

/// How much longer `slow_down` makes every later wait (RFC 8628, section 3.5).
const SLOW_DOWN: Duration = Duration::from_secs(5);
/// The longest a sign-in code is waited for, and the longest wait between two polls.
const MAX_CODE_LIFETIME: Duration = Duration::from_secs(30 * 60);
const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// A token must last between these (AWS's last hours; at most 90 days with refreshes).
const TOKEN_LIFETIME: std::ops::RangeInclusive<i64> = 60..=90 * 24 * 3600;

/// Poll `CreateToken` every `interval` seconds (longer after each `slow_down`) until the
/// user approves, refuses, or the code expires.
pub async fn finish_sign_in(
    region: &str,
    authorization: &DeviceAuthorization,
) -> Result<NewToken, Observation> {
    let client = oidc_client(region, Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(authorization.expires_in);
    let mut interval = Duration::from_secs(authorization.interval);
    loop {
        if Instant::now() + interval > deadline {
            return Err(failed(
                FailureKind::Timeout,
                "the sign-in code expired before it was approved; run the login again".into(),
            ));
        }
        tokio::time::sleep(interval).await;
        interval = interval.min(MAX_INTERVAL);
        let answer = client
            .create_token()
            .client_id(&authorization.client_id)
            .client_secret(&authorization.client_secret)
            .grant_type("urn:ietf:params:oauth:grant-type:device_code")
            .device_code(&authorization.device_code)
            .send()
            .await;
        match answer {
            Ok(token) => {
                let Some(access_token) = token.access_token().filter(|t| !t.is_empty()) else {
                    return Err(failed(
                        FailureKind::Network,
                        "CreateToken answered without an access token".into(),
                    ));
                };
                if !TOKEN_LIFETIME.contains(&i64::from(token.expires_in())) {
                    return Err(failed(
                        FailureKind::Network,
                        format!(
                            "CreateToken answered a token that lasts {} s; nothing was cached",
                            token.expires_in()
                        ),
                    ));
                }
                return Ok(NewToken {
                    access_token: access_token.to_owned(),
                    expires_in: i64::from(token.expires_in()),
                    refresh_token: token.refresh_token().map(str::to_owned),
                });
            }
            Err(e) => match e.as_service_error() {
                Some(s) if s.is_authorization_pending_exception() => {}
                Some(s) if s.is_slow_down_exception() => interval += SLOW_DOWN,
                Some(s) if s.is_access_denied_exception() => {
                    return Err(failed(
                        FailureKind::LoginRequired,
                        "the sign-in was refused in the browser".into(),
                    ))
                }
                Some(s) if s.is_expired_token_exception() => {
                    return Err(failed(
                        FailureKind::Timeout,
                        "the sign-in code expired; run the login again".into(),
                    ))
                }
                _ => {
                    return Err(failed(
                        FailureKind::Network,
                        format!("CreateToken: {}", describe(&e)),
                    ))
                }
            },
        }
    }
}

/// Requests go out no faster than one per gap, across every task: a client-side limit
/// under the portal's shared one, so that a large organisation is listed without 429s.
/// The limit adapts, as the SDKs' adaptive retry mode does: a throttled answer doubles
/// the gap (others share the portal's limit, or `--max-rps` was too high), at most once
/// per [`SLOW_DOWN_EVERY`] since the calls in flight were all sent at the old pace; each
/// answer that was not throttled brings it back a tenth of the way toward `--max-rps`.
struct Pace {
    state: Mutex<PaceState>,
    /// The gap `--max-rps` asks for: the pace never goes faster.
    fastest: Duration,
}

struct PaceState {
    /// When the next call may go, the gap after it, and the last slow-down.
    next: Instant,
    gap: Duration,
    slowed: Option<Instant>,
}

/// The slowest the pace becomes (one call every two seconds), and how often it may halve.
const SLOWEST: Duration = Duration::from_secs(2);
const SLOW_DOWN_EVERY: Duration = Duration::from_millis(500);

impl Pace {
    fn new(max_rps: u32) -> Pace {
        let fastest = Duration::from_secs(1) / max_rps.max(1);
        Pace {
            state: Mutex::new(PaceState {
                next: Instant::now(),
                gap: fastest,
                slowed: None,
            }),
            fastest,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().expect("the pace lock is never poisoned")
    }

    async fn wait(&self) {
        let at = {
            let mut state = self.lock();
            let at = state.next.max(Instant::now());
            state.next = at + state.gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    fn throttled(&self) {
        let mut state = self.lock();
        let now = Instant::now();
        if state
            .slowed
            .is_none_or(|at| now.duration_since(at) >= SLOW_DOWN_EVERY)
        {
            state.gap = (state.gap * 2).min(SLOWEST);
            state.slowed = Some(now);
        }
    }

    fn answered(&self) {
        let mut state = self.lock();
        state.gap = state.gap.mul_f64(0.9).max(self.fastest);
    }
}

/// How often a throttled call is tried in all, a failed one (a 5xx, a timeout), and the
/// backoff's bounds.
const ATTEMPTS: u32 = 10;
const TRANSIENT_ATTEMPTS: u32 = 4;
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// At most this many calls in flight at once.
const IN_FLIGHT: usize = 32;
/// What a listing may hold: far beyond any organisation (AWS's own quotas are lower), so
/// that a portal that never stops paging ends the run instead of filling memory.
const MAX_ACCOUNTS: usize = 50_000;
const MAX_ROLES: usize = 1_000;

struct Portal {
    client: aws_sdk_sso::Client,
    token: String,
    pace: Pace,
    requests: AtomicU64,
    throttled: AtomicU64,
    random: RandomState,
}

/// What one failed attempt means.
enum Retry {
    /// Throttled (429, TooManyRequestsException): wait and try again.
    Throttled(String),
    /// A 5xx, a timeout, a broken connection: wait and try again.
    Transient(String),
    Fatal(Observation),
}

fn judge<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> Retry {
    use aws_smithy_runtime_api::client::result::SdkError;
    let text = describe(error);
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.as_service_error().and_then(|e| e.code());
    if status == Some(429) || code == Some("TooManyRequestsException") {
        return Retry::Throttled(text);
    }
    if status == Some(401) || code == Some("UnauthorizedException") {
        return Retry::Fatal(failed(FailureKind::LoginRequired, text));
    }
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Retry::Transient(text),
        _ if status.is_some_and(|s| s >= 500) => Retry::Transient(text),
        _ => Retry::Fatal(failed(FailureKind::Other, text)),
    }
}

impl Portal {
    /// Full jitter: a random wait up to the exponential bound.
    fn backoff(&self, attempt: u32) -> Duration {
        let bound = BACKOFF_CAP.min(BACKOFF_BASE * 2u32.saturating_pow(attempt));
        let roll = self.random.hash_one((attempt, Instant::now())) % 1000;
        bound
            .mul_f64(roll as f64 / 1000.0)
            .max(Duration::from_millis(20))
    }

    /// One paced call, tried again on throttling and transient failures.
    async fn call<T, E, F, Fut>(&self, what: &str, mut send: F) -> Result<T, Observation>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        F: FnMut() -> Fut,
        Fut: std::future::Future<
            Output = Result<
                T,
                aws_smithy_runtime_api::client::result::SdkError<
                    E,
                    aws_smithy_runtime_api::http::Response,
                >,
            >,
        >,
    {
        let mut last = String::new();
        let mut failures = 0;
        let mut attempt = 0;
        while attempt < ATTEMPTS {
            self.pace.wait().await;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let answer = send().await;
            let judged = answer.map_err(|e| judge(&e));
            match &judged {
                Err(Retry::Throttled(_)) => self.pace.throttled(),
                _ => self.pace.answered(),
            }
            match judged {
                Ok(answer) => return Ok(answer),
                Err(retry) => match retry {
                    Retry::Throttled(text) => {
                        self.throttled.fetch_add(1, Ordering::Relaxed);
                        last = text;
                    }
                    Retry::Transient(text) => {
                        failures += 1;
                        last = text;
                        if failures == TRANSIENT_ATTEMPTS {
                            break;
                        }
                    }
                    Retry::Fatal(Observation::Failed { kind, message }) => {
                        return Err(failed(kind, format!("{what}: {message}")))
                    }
                    Retry::Fatal(other) => return Err(other),
                },
            }
            tokio::time::sleep(self.backoff(attempt)).await;
            attempt += 1;
        }
        Err(failed(
            FailureKind::Network,
            format!(
                "{what}: still failing after {} attempts: {last}",
                attempt + 1
            ),
        ))
    }

    async fn accounts(&self) -> Result<Vec<Account>, Observation> {
        let mut accounts = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = Pages::new(ACCOUNT_PAGES);
        loop {
            let page = self
                .call("ListAccounts", || {
                    self.client
                        .list_accounts()
                        .access_token(&self.token)
                        .max_results(PAGE_SIZE)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            for a in page.account_list() {
                accounts.push(Account {
                    account_id: a.account_id().unwrap_or_default().to_owned(),
                    account_name: a.account_name().unwrap_or_default().to_owned(),
                    roles: Vec::new(),
                });
            }
            if accounts.len() > MAX_ACCOUNTS {
                return Err(unbounded(&format!(
                    "ListAccounts: more than {MAX_ACCOUNTS} accounts"
                )));
            }
            next = pages.next(page.next_token(), page.account_list().len(), "ListAccounts")?;
            if next.is_none() {
                return Ok(accounts);
            }
        }
    }

    async fn roles(&self, account: &Account) -> Result<Vec<String>, Observation> {
        let mut roles = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = Pages::new(ROLE_PAGES);
        let what = format!(
            "account {} ({}): ListAccountRoles",
            crate::text::printable(&account.account_id),
            crate::text::printable(&account.account_name)
        );
        loop {
            let page = self
                .call(&what, || {
                    self.client
                        .list_account_roles()
                        .access_token(&self.token)
                        .account_id(&account.account_id)
                        .max_results(PAGE_SIZE)
                        .set_next_token(next.clone())
                        .send()
                })
                .await?;
            roles.extend(
                page.role_list()
                    .iter()
                    .filter_map(|r| r.role_name().map(str::to_owned)),
            );
            if roles.len() > MAX_ROLES {
                return Err(unbounded(&format!("{what}: more than {MAX_ROLES} roles")));
            }
            next = pages.next(page.next_token(), page.role_list().len(), &what)?;
            if next.is_none() {
                return Ok(roles);
            }
        }
    }
}

/// Every account the token's user can see and the roles in each, at most `max_rps`
/// calls a second, with progress lines on stderr.
pub async fn discover(
    region: &str,
    token: &str,
    max_rps: u32,
    timeout: Duration,
) -> Result<Discovered, Observation> {
    let client = portal_client(region, timeout);
    let portal = Arc::new(Portal {
        client,
        token: token.to_owned(),
        pace: Pace::new(max_rps),
        requests: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        random: RandomState::new(),
    });
    let mut accounts = portal.accounts().await?;
    let total = accounts.len();
    progress(0, total);
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in accounts.iter().enumerate() {
        let (portal, slots, account) = (portal.clone(), slots.clone(), account.clone());
        tasks.spawn(async move {
            let _slot = slots
                .acquire_owned()
                .await
                .expect("the semaphore stays open");
            (index, portal.roles(&account).await)
        });
    }
    let mut done = 0;
    while let Some(joined) = tasks.join_next().await {
        let (index, roles) = joined.expect("a discovery task never panics");
        // The first account that still fails stops the whole run (the rest are dropped).
        accounts[index].roles = roles?;
        done += 1;
        progress(done, total);
    }
    Ok(Discovered {
        accounts,
        requests: portal.requests.load(Ordering::Relaxed),
        throttled: portal.throttled.load(Ordering::Relaxed),
    })
}

fn unbounded(what: &str) -> Observation {
    failed(
        FailureKind::Other,
        format!("{what}: the listing does not end; nothing was written"),
    )
}

/// What one listing has seen of its pages: a listing that repeats a token, runs past
/// its page budget, answers more items than a page holds, or sends tokens no portal
/// sends, is refused (a broken or hostile portal would otherwise page for ever).
struct Pages {
    seen: std::collections::HashSet<u64>,
    hasher: RandomState,
    budget: usize,
}

/// Items a page may hold (what the calls ask for), the longest page token, and the page
/// budgets: 50,000 accounts are 500 pages; an account's roles fit in a few.
const PAGE_SIZE: i32 = 100;
const MAX_TOKEN: usize = 4096;
const ACCOUNT_PAGES: usize = 1_000;
const ROLE_PAGES: usize = 20;

impl Pages {
    fn new(budget: usize) -> Pages {
        Pages {
            seen: std::collections::HashSet::new(),
            hasher: RandomState::new(),
            budget,
        }
    }

    /// The token of the next page, or none at the last.
    fn next(
        &mut self,
        token: Option<&str>,
        items: usize,
        what: &str,
    ) -> Result<Option<String>, Observation> {
        if items > PAGE_SIZE as usize {
            return Err(unbounded(&format!(
                "{what}: a page of {items} items, more than the {PAGE_SIZE} asked for"
            )));
        }
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if token.len() > MAX_TOKEN {
            return Err(unbounded(&format!(
                "{what}: a page token of {} bytes",
                token.len()
            )));
        }
        if !self.seen.insert(self.hasher.hash_one(token)) {
            return Err(unbounded(&format!(
                "{what}: the page token {:?} came twice",
                crate::text::printable(token)
            )));
        }
        if self.seen.len() >= self.budget {
            return Err(unbounded(&format!(
                "{what}: more than {} pages",
                self.budget
            )));
        }
        Ok(Some(token.to_owned()))
    }
}

fn progress(done: usize, total: usize) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{PROGRESS}{done}/{total} accounts");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(result: Result<Option<String>, Observation>) -> String {
        match result {
            Err(Observation::Failed { message, .. }) => message,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_listing_that_does_not_end_is_refused() {
        let mut pages = Pages::new(3);
        assert_eq!(pages.next(Some("a"), 100, "L").unwrap(), Some("a".into()));
        assert_eq!(pages.next(None, 5, "L").unwrap(), None);
        assert_eq!(pages.next(Some(""), 0, "L").unwrap(), None);
        assert!(refused(pages.next(Some("a"), 0, "L")).contains("came twice"));
        // Fresh tokens on empty pages end at the page budget.
        let mut pages = Pages::new(3);
        pages.next(Some("1"), 0, "L").unwrap();
        pages.next(Some("2"), 0, "L").unwrap();
        assert!(refused(pages.next(Some("3"), 0, "L")).contains("more than 3 pages"));
        let mut pages = Pages::new(3);
        assert!(refused(pages.next(None, 101, "L")).contains("101 items"));
        let long = "t".repeat(MAX_TOKEN + 1);
        assert!(refused(pages.next(Some(&long), 1, "L")).contains("page token of"));
    }

    #[test]
    fn the_pace_slows_when_throttled_and_recovers_to_max_rps() {
        let pace = Pace::new(20);
        let gap = |p: &Pace| p.lock().gap;
        assert_eq!(gap(&pace), Duration::from_millis(50));
        pace.throttled();
        assert_eq!(gap(&pace), Duration::from_millis(100));
        // At most one halving per half second: the calls in flight went at the old pace.
        pace.throttled();
        assert_eq!(gap(&pace), Duration::from_millis(100));
        for _ in 0..100 {
            pace.answered();
        }
        assert_eq!(gap(&pace), Duration::from_millis(50));
    }
}
