//! The environment the agent gets, built as a pure value: what to set, what to remove.
//! Launching (exec) and `kiro-aws env` both print or apply exactly this value.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::code::Code;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::paths::Paths;

/// Variables that can bypass or redirect the isolated config, named: `kiro-aws env`
/// unsets each of them even when this shell does not carry it, and the tests check each
/// by name. Every launch removes far more: see [`is_removed`].
pub const REMOVED: [&str; 27] = [
    // static and session keys
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    // web identity
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    // container credentials
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    // instance metadata redirection
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    // profile selection that outranks AWS_PROFILE in botocore
    "AWS_DEFAULT_PROFILE",
    // legacy boto files
    "AWS_CREDENTIAL_FILE",
    "BOTO_CONFIG",
    // endpoint overrides (an SSO endpoint override would receive the SSO bearer token)
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    // botocore loads service models and endpoint rules from here first, so it can
    // redirect any service, SSO included
    "AWS_DATA_PATH",
    // client-side monitoring sends every call, access key id and session token
    // included, over UDP to a host of the variable's choosing
    "AWS_CSM_ENABLED",
    "AWS_CSM_HOST",
    "AWS_CSM_PORT",
    "AWS_CSM_CLIENT_ID",
    // where `aws login` keeps its refresh token
    "AWS_LOGIN_CACHE_DIRECTORY",
];

/// The name families AWS clients read their settings from: credentials, profiles, config
/// files, endpoints, plugins (`AWS_*` and `AWS_SDK_*`; `AMAZON_*`, which the JavaScript
/// SDK v2 reads keys from; `BOTO_*`; `BOTOCORE_*`, whose plugin variable loads code into
/// the AWS CLI). Every launch removes every variable of these families but [`KEPT`] and
/// the ones it sets itself.
pub const CLIENT_FAMILIES: [&str; 4] = ["AWS_", "AMAZON_", "BOTO_", "BOTOCORE_"];

/// The client variables a launch keeps: they choose a region, an output format, retry
/// behaviour or AWS's own endpoint variants, never credentials, a profile, a file or
/// another host; and `AWS_CA_BUNDLE`, which a corporate network may need (reported by
/// `verify`, like the other variables that change whom TLS trusts).
pub const KEPT: [&str; 12] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_DEFAULT_OUTPUT",
    "AWS_PAGER",
    "AWS_CLI_AUTO_PROMPT",
    "AWS_CLI_FILE_ENCODING",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_CA_BUNDLE",
];

/// Whether a launch removes `name` (the variables it sets are replaced, not listed here).
pub fn is_removed(name: &str) -> bool {
    CLIENT_FAMILIES.iter().any(|f| name.starts_with(f)) && !KEPT.contains(&name)
}

/// Variables that change where TLS goes or whom it trusts. Corporate networks need them,
/// so the default mode keeps them and `verify` says so; the proxy variables in any letter
/// case (clients differ in which spelling they read).
pub fn is_tls_setting(name: &str) -> bool {
    const TRUST: [&str; 6] = [
        "AWS_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
    ];
    is_proxy_setting(name) || TRUST.contains(&name)
}

/// A proxy variable, in any letter case (clients differ in which spelling they read).
pub fn is_proxy_setting(name: &str) -> bool {
    const PROXIES: [&str; 4] = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"];
    PROXIES.iter().any(|p| p.eq_ignore_ascii_case(name))
}

#[cfg(target_os = "linux")]
/// The proxy variables a strict session sets to its egress bridge: the spellings
/// clients read (curl, Python, Node, Go, git, the AWS SDKs). Every other spelling, and
/// `NO_PROXY` in any case, is removed.
pub const PROXY_SET: [&str; 6] = [
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
];

/// A variable the agent's own commands must leave as the launch made it: every client
/// variable but the region, output, pager and retry settings, and every TLS setting.
pub fn is_guarded(name: &str) -> bool {
    (CLIENT_FAMILIES.iter().any(|f| name.starts_with(f)) && !KEPT.contains(&name))
        || is_tls_setting(name)
}

/// What the user agent of every call the agent makes contains (CloudTrail's `userAgent`), however the client renders
/// `AWS_EXECUTION_ENV` (botocore turns the `/` into `-`; the Rust SDK keeps it).
pub const TAG: &str = "kiro-aws";

/// The value the launch gives `AWS_EXECUTION_ENV`: the tag, appended to what was there.
pub fn execution_env(inherited: Option<&str>) -> String {
    let tag = format!("{TAG}/{}", env!("CARGO_PKG_VERSION"));
    match inherited.map(str::trim) {
        Some(existing) if existing.split(' ').any(|part| part == tag) => existing.to_owned(),
        Some(existing) if !existing.is_empty() => format!("{existing} {tag}"),
        _ => tag,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchEnv {
    pub set: BTreeMap<String, String>,
    /// Sorted; the named list plus every inherited client variable a launch removes.
    pub unset: Vec<String>,
}

impl LaunchEnv {
    pub fn new(paths: &Paths, profile: &str, inherited: &Env) -> Result<Self> {
        let path = |p: &std::path::Path| {
            p.to_str().map(str::to_owned).ok_or_else(|| {
                Error::new(Code::PathNotUtf8, "the home directory is not valid UTF-8").at(p)
            })
        };
        let set = BTreeMap::from([
            ("AWS_CONFIG_FILE".to_owned(), path(&paths.config)?),
            (
                "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
                path(&paths.credentials)?,
            ),
            ("AWS_PROFILE".to_owned(), profile.to_owned()),
            ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
            ("AWS_SDK_LOAD_CONFIG".to_owned(), "1".to_owned()),
            (
                "AWS_EXECUTION_ENV".to_owned(),
                execution_env(inherited.get_str("AWS_EXECUTION_ENV")),
            ),
        ]);
        let mut unset: Vec<String> = REMOVED
            .iter()
            .map(|name| (*name).to_owned())
            .chain(
                inherited
                    .names()
                    .filter(|name| is_removed(name) && !set.contains_key(*name))
                    .map(str::to_owned),
            )
            .collect();
        unset.sort();
        unset.dedup();
        Ok(LaunchEnv { set, unset })
    }

    #[cfg(target_os = "linux")]
    /// Send every client through `proxy` (strict mode's egress bridge): the proxy
    /// variables of [`PROXY_SET`] name it, every other spelling and `NO_PROXY` go, and
    /// git's ssh goes through `ssh_proxy_command` (an ssh `ProxyCommand`) unless the user
    /// chose a `GIT_SSH_COMMAND` of their own.
    pub fn route_through(&mut self, proxy: &str, ssh_proxy_command: &str, inherited: &Env) {
        for name in inherited.names() {
            if is_proxy_setting(name) && !PROXY_SET.contains(&name) {
                self.unset.push(name.to_owned());
            }
        }
        self.unset.sort();
        self.unset.dedup();
        for name in PROXY_SET {
            self.set.insert(name.to_owned(), proxy.to_owned());
        }
        if inherited.get("GIT_SSH_COMMAND").is_none() {
            self.set.insert(
                "GIT_SSH_COMMAND".to_owned(),
                format!("ssh -o ProxyCommand='{ssh_proxy_command}'"),
            );
        }
    }

    /// The child's whole environment: inherited, minus what is removed, plus what is set.
    pub fn apply(&self, inherited: &Env) -> BTreeMap<OsString, OsString> {
        let mut env: BTreeMap<OsString, OsString> = inherited
            .vars()
            .iter()
            .filter(|(name, _)| {
                let name = name.to_string_lossy();
                !is_removed(&name)
                    && !self.set.contains_key(name.as_ref())
                    && self
                        .unset
                        .binary_search_by(|u| u.as_str().cmp(&name))
                        .is_err()
            })
            .cloned()
            .collect();
        for (name, value) in &self.set {
            env.insert(name.into(), value.into());
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn removes_every_leak_and_sets_the_isolated_files() {
        let paths = Paths::new(Path::new("/home/u"));
        let inherited = Env::of(&[
            ("PATH", "/usr/bin"),
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("AWS_DEFAULT_PROFILE", "prod-admin"),
            ("AWS_PROFILE", "prod-admin"),
            ("AWS_CONFIG_FILE", "/home/u/.aws/config"),
            ("AWS_ENDPOINT_URL_SSO", "https://evil"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://x"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let launch = LaunchEnv::new(&paths, "kiro-dev", &inherited).unwrap();
        assert!(launch.unset.contains(&"AWS_ENDPOINT_URL_SSO".to_owned()));
        assert_eq!(launch.unset.len(), REMOVED.len() + 1);
        let child = launch.apply(&inherited);
        let expected: BTreeMap<OsString, OsString> = [
            ("PATH", "/usr/bin"),
            ("AWS_REGION", "eu-west-1"),
            (
                "AWS_EXECUTION_ENV",
                &format!("kiro-aws/{}", env!("CARGO_PKG_VERSION")),
            ),
            ("AWS_CONFIG_FILE", "/home/u/.aws/kiro/config"),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                "/home/u/.aws/kiro/credentials",
            ),
            ("AWS_PROFILE", "kiro-dev"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_SDK_LOAD_CONFIG", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        assert_eq!(child, expected);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_strict_session_routes_every_spelling_through_its_bridge() {
        let paths = Paths::new(Path::new("/home/u"));
        let inherited = Env::of(&[
            ("PATH", "/usr/bin"),
            ("Https_Proxy", "http://interceptor:1"),
            ("no_proxy", "*"),
            ("NO_PROXY", "localhost"),
            ("http_proxy", "http://corp:8080"),
            ("REQUESTS_CA_BUNDLE", "/etc/corp.pem"),
        ]);
        let mut launch = LaunchEnv::new(&paths, "kiro-dev", &inherited).unwrap();
        launch.route_through(
            "http://127.0.0.1:3128",
            "/bin/kiro-aws __connect %h %p",
            &inherited,
        );
        let child = launch.apply(&inherited);
        let proxies: Vec<(String, String)> = child
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .filter(|(k, _)| is_proxy_setting(k))
            .collect();
        let mut expected: Vec<(String, String)> = PROXY_SET
            .iter()
            .map(|n| ((*n).to_owned(), "http://127.0.0.1:3128".to_owned()))
            .collect();
        expected.sort();
        assert_eq!(proxies, expected);
        assert_eq!(
            child.get(std::ffi::OsStr::new("GIT_SSH_COMMAND")).unwrap(),
            "ssh -o ProxyCommand='/bin/kiro-aws __connect %h %p'"
        );
        // Whom TLS trusts is the user's: a corporate proxy upstream may need its CA.
        assert_eq!(
            child
                .get(std::ffi::OsStr::new("REQUESTS_CA_BUNDLE"))
                .unwrap(),
            "/etc/corp.pem"
        );
        for gone in ["Https_Proxy", "no_proxy", "NO_PROXY"] {
            assert!(launch.unset.contains(&gone.to_owned()), "{gone}");
        }
        let own = Env::of(&[("GIT_SSH_COMMAND", "ssh -i key")]);
        let mut launch = LaunchEnv::new(&paths, "kiro-dev", &own).unwrap();
        launch.route_through("http://127.0.0.1:3128", "x", &own);
        assert_eq!(
            launch
                .apply(&own)
                .get(std::ffi::OsStr::new("GIT_SSH_COMMAND"))
                .unwrap(),
            "ssh -i key"
        );
    }

    #[test]
    fn the_execution_env_tag_is_appended_once() {
        let tag = format!("kiro-aws/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(execution_env(None), tag);
        assert_eq!(execution_env(Some("")), tag);
        assert_eq!(
            execution_env(Some("AWS_Lambda_python3.12")),
            format!("AWS_Lambda_python3.12 {tag}")
        );
        let twice = execution_env(Some(&execution_env(Some("X"))));
        assert_eq!(twice, format!("X {tag}"));
    }
}
