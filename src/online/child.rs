//! The child side of [`crate::online::probe`]: the only code that starts an async runtime, opens
//! sockets or speaks TLS. It runs in a process whose environment is the agent's, and
//! uses the SDK's default loaders, so it finds credentials exactly as an SDK inside the
//! agent would.

use std::error::Error as StdError;
use std::io::{Read, Write};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::DateTime;

use crate::online::identity::{FailureKind, Identity, Observation};
use crate::online::probe::{ProfileObservation, RawEvent, Request, Response, RoleCredentials};
use crate::online::sso;

/// Read one request from stdin, answer it on stdout.
pub fn serve() -> std::io::Result<()> {
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let request: Request = serde_json::from_slice(&input)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let response = runtime.block_on(answer(request));
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &response)?;
    out.flush()
}

async fn answer(request: Request) -> Response {
    match request {
        Request::Whoami {
            profiles,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            let mut tasks = tokio::task::JoinSet::new();
            for (index, profile) in profiles.into_iter().enumerate() {
                tasks.spawn(async move {
                    let observation = bounded(timeout, whoami(&profile)).await;
                    (
                        index,
                        ProfileObservation {
                            profile,
                            observation,
                        },
                    )
                });
            }
            let mut answers = Vec::new();
            while let Some(joined) = tasks.join_next().await {
                answers.push(joined.expect("a probe task never panics"));
            }
            answers.sort_by_key(|(index, _)| *index);
            Response::Whoami(answers.into_iter().map(|(_, a)| a).collect())
        }
        Request::Credentials {
            profile,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            let work = async {
                let config = sdk_config(&profile).await;
                resolve(&config).await
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(Ok(c)) => Response::Credentials(RoleCredentials {
                    access_key_id: c.access_key_id().to_owned(),
                    secret_access_key: c.secret_access_key().to_owned(),
                    session_token: c.session_token().unwrap_or_default().to_owned(),
                    expiration: c
                        .expiry()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs() as i64),
                }),
                Ok(Err(observation)) => Response::Failed(observation),
                Err(_) => Response::Failed(timed_out(timeout)),
            }
        }
        Request::StartSignIn {
            region,
            start_url,
            scopes,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            let work = sso::start_sign_in(&region, &start_url, &scopes);
            match tokio::time::timeout(timeout, work).await {
                Ok(Ok(authorization)) => Response::DeviceAuthorization(authorization),
                Ok(Err(observation)) => Response::Failed(observation),
                Err(_) => Response::Failed(timed_out(timeout)),
            }
        }
        Request::FinishSignIn {
            region,
            authorization,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            match tokio::time::timeout(timeout, sso::finish_sign_in(&region, &authorization)).await
            {
                Ok(Ok(token)) => Response::Token(token),
                Ok(Err(observation)) => Response::Failed(observation),
                Err(_) => Response::Failed(timed_out(timeout)),
            }
        }
        Request::Discover {
            region,
            access_token,
            max_rps,
            request_timeout_ms,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            let work = sso::discover(
                &region,
                &access_token,
                max_rps,
                Duration::from_millis(request_timeout_ms),
            );
            match tokio::time::timeout(timeout, work).await {
                Ok(Ok(found)) => Response::Discovered(found),
                Ok(Err(observation)) => Response::Failed(observation),
                Err(_) => Response::Failed(timed_out(timeout)),
            }
        }
        Request::LookupEvents {
            profile,
            start,
            end,
            max_events,
            timeout_ms,
        } => {
            let timeout = Duration::from_millis(timeout_ms);
            match tokio::time::timeout(timeout, lookup_events(&profile, start, end, max_events))
                .await
            {
                Ok(Ok((events, truncated))) => Response::Events { events, truncated },
                Ok(Err(observation)) => Response::Failed(observation),
                Err(_) => Response::Failed(timed_out(timeout)),
            }
        }
    }
}

async fn bounded(
    timeout: Duration,
    work: impl std::future::Future<Output = Observation>,
) -> Observation {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| timed_out(timeout))
}

fn timed_out(timeout: Duration) -> Observation {
    Observation::Failed {
        kind: FailureKind::Timeout,
        message: format!(
            "no answer from AWS within {} s (raise it with --timeout)",
            timeout.as_secs_f32()
        ),
    }
}

/// The proxy this child uses: the HTTPS proxy its parent passed (`HTTPS_PROXY`, either
/// case, with `NO_PROXY`), nothing else (`ALL_PROXY` is never read, and `HTTP_PROXY`
/// only when it names the same proxy: kiro-aws removes it from the child it starts;
/// inside a strict sandbox both name the egress bridge).
fn proxy_config() -> aws_smithy_http_client::proxy::ProxyConfig {
    use aws_smithy_http_client::proxy::ProxyConfig;
    let var = |name: &str| {
        std::env::var(name)
            .or_else(|_| std::env::var(name.to_ascii_lowercase()))
            .ok()
            .filter(|v| !v.is_empty())
    };
    let Some(url) = var("HTTPS_PROXY") else {
        return ProxyConfig::disabled();
    };
    let both = var("HTTP_PROXY").is_some_and(|http| http == url);
    let config = if both {
        ProxyConfig::all(url)
    } else {
        ProxyConfig::https(url)
    };
    match config {
        Ok(proxy) => match var("NO_PROXY") {
            Some(rules) => proxy.no_proxy(rules),
            None => proxy,
        },
        // Not a proxy URL this client can use (`socks5://`): none.
        Err(_) => ProxyConfig::disabled(),
    }
}

/// Whom this child's TLS trusts: `AWS_CA_BUNDLE` alone when set (as the AWS SDKs use
/// it), else the system's roots (its parent removed `SSL_CERT_FILE` and `SSL_CERT_DIR`).
fn tls_context() -> tls::TlsContext {
    let store = match std::env::var_os("AWS_CA_BUNDLE").filter(|v| !v.is_empty()) {
        Some(path) => match std::fs::read(&path) {
            Ok(pem) => tls::TrustStore::empty().with_pem_certificate(pem),
            // An unreadable bundle trusts nothing, rather than everything the system does.
            Err(_) => tls::TrustStore::empty(),
        },
        None => tls::TrustStore::default(),
    };
    tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_else(|_| {
            tls::TlsContext::builder()
                .with_trust_store(tls::TrustStore::empty())
                .build()
                .expect("an empty trust store is a valid TLS context")
        })
}

/// The HTTP client of every call this child makes: a TLS stack that needs no C toolchain,
/// with only the proxy and CA bundle kiro-aws passed.
pub(super) fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            aws_smithy_http_client::Connector::builder().proxy_config(proxy_config());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls_context())
            .build()
    })
}

/// The SDK configuration an SDK in the agent would load for `profile`.
async fn sdk_config(profile: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .profile_name(profile)
        .load()
        .await
}

/// Resolve `profile`'s credentials as the default chain does, note where they came from,
/// then ask STS who they are.
async fn whoami(profile: &str) -> Observation {
    let config = sdk_config(profile).await;
    let credentials = match resolve(&config).await {
        Ok(credentials) => credentials,
        Err(observation) => return observation,
    };
    let sources = sources(&credentials);
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(&config)
            .credentials_provider(credentials)
            .build(),
    );
    match sts.get_caller_identity().send().await {
        Ok(answer) => Observation::Identity(Identity {
            account: answer.account().unwrap_or_default().to_owned(),
            arn: answer.arn().unwrap_or_default().to_owned(),
            user_id: answer.user_id().unwrap_or_default().to_owned(),
            sources,
        }),
        Err(error) => classify(&error),
    }
}

async fn resolve(config: &aws_config::SdkConfig) -> Result<Credentials, Observation> {
    let Some(provider) = config.credentials_provider() else {
        return Err(Observation::Failed {
            kind: FailureKind::Other,
            message: "the SDK found no credentials provider".into(),
        });
    };
    provider
        .provide_credentials()
        .await
        .map_err(|error| classify(&error))
}

/// Short names for where the SDK found the credentials; the first is the most specific.
fn sources(credentials: &Credentials) -> Vec<String> {
    let mut names: Vec<String> = credentials
        .get_property::<Vec<AwsCredentialFeature>>()
        .into_iter()
        .flatten()
        .map(|feature| {
            match feature {
                AwsCredentialFeature::CredentialsSso
                | AwsCredentialFeature::CredentialsProfileSso => "sso",
                AwsCredentialFeature::CredentialsEnvVars
                | AwsCredentialFeature::CredentialsEnvVarsStsWebIdToken => "environment",
                AwsCredentialFeature::CredentialsProfile => "profile",
                AwsCredentialFeature::CredentialsProfileProcess
                | AwsCredentialFeature::CredentialsProcess => "process",
                AwsCredentialFeature::CredentialsImds => "imds",
                AwsCredentialFeature::CredentialsHttp => "container",
                other => return format!("{other:?}"),
            }
            .to_owned()
        })
        .collect();
    names.dedup();
    names
}

/// Sort an SDK error into what the user can do about it: a token error anywhere in the
/// chain means the sign-in is missing or expired. The SDK's SSO error types are private,
/// so the messages of the chain are read as well (the portal's 401 is only text).
fn classify(error: &(dyn StdError + 'static)) -> Observation {
    let mut chain = Vec::new();
    let mut token_error = false;
    let mut next = Some(error);
    while let Some(e) = next {
        token_error |= e.is::<aws_credential_types::provider::error::TokenError>();
        chain.push(e.to_string());
        next = e.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    let kind = if token_error
        || [
            "sso token has expired",
            "failed to load the cached sso token",
            "unauthorizedexception",
        ]
        .iter()
        .any(|needle| lower.contains(needle))
    {
        FailureKind::LoginRequired
    } else if lower.contains("timeout") || lower.contains("timed out") {
        FailureKind::Timeout
    } else if lower.contains("dispatch failure")
        || lower.contains("io error")
        || lower.contains("connection")
        || lower.contains("response error")
    {
        FailureKind::Network
    } else {
        FailureKind::Other
    };
    Observation::Failed {
        kind,
        message: text,
    }
}

/// `LookupEvents` pages between `start` and `end`, newest first, up to `max_events`.
async fn lookup_events(
    profile: &str,
    start: i64,
    end: i64,
    max_events: usize,
) -> Result<(Vec<RawEvent>, bool), Observation> {
    let config = sdk_config(profile).await;
    let client = aws_sdk_cloudtrail::Client::new(&config);
    let mut pages = client
        .lookup_events()
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .into_paginator()
        .send();
    let mut events = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| classify(&error))?;
        for event in page.events() {
            if events.len() == max_events {
                return Ok((events, true));
            }
            events.push(RawEvent {
                time: event.event_time().map_or(0, |t| t.secs()),
                name: event.event_name().unwrap_or_default().to_owned(),
                username: event.username().map(str::to_owned),
                record: event.cloud_trail_event().unwrap_or_default().to_owned(),
            });
        }
    }
    Ok((events, false))
}
