//! The proxy of the user's own network, when it needs one: strict mode's egress proxy
//! goes through it. Read from the environment kiro-aws was started with
//! (`HTTPS_PROXY`, else `HTTP_PROXY`, each in upper or lower case, as the AWS SDKs and
//! curl read them; `NO_PROXY` for the names reached directly). Only an `http://` proxy
//! (optionally with `user:password@`) can carry both tunnels and plain requests.

use crate::code::Code;
use crate::env::Env;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    /// The `Proxy-Authorization` value, from the URL's user information.
    pub authorization: Option<String>,
    /// `NO_PROXY` entries, normalized (`*`, a name and its subdomains, an address).
    pub no_proxy: Vec<String>,
}

impl Upstream {
    /// The upstream the environment names, if any.
    pub fn from_env(env: &Env) -> Result<Option<Upstream>> {
        let var = |name: &str| {
            [name.to_owned(), name.to_ascii_lowercase()]
                .into_iter()
                .find_map(|n| env.get_str(&n).filter(|v| !v.is_empty()).map(str::to_owned))
        };
        let Some((name, url)) = ["HTTPS_PROXY", "HTTP_PROXY"]
            .into_iter()
            .find_map(|n| var(n).map(|v| (n, v)))
        else {
            return Ok(None);
        };
        let invalid = |why: &str| {
            Error::new(
                Code::UpstreamProxyInvalid,
                format!("{name}={url}: {why}; strict mode's proxy cannot go through it"),
            )
        };
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(invalid("only an http:// proxy is supported")),
            None => url.as_str(),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((user, host)) => (Some(user), host),
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || hostport.starts_with('[') => {
                match port.parse::<u16>() {
                    Ok(port) if port != 0 => (host, port),
                    _ => return Err(invalid("the port is not a number from 1 to 65535")),
                }
            }
            _ => (hostport, 80),
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let no_proxy = var("NO_PROXY")
            .map(|v| {
                v.split(',')
                    .map(|e| {
                        crate::network::normalize(
                            e.trim().trim_start_matches("*.").trim_start_matches('.'),
                        )
                    })
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(Upstream {
            host: crate::network::normalize(host),
            port,
            authorization: userinfo.map(|u| format!("Basic {}", base64(u.as_bytes()))),
            no_proxy,
        }))
    }

    /// Whether `host` (normalized) is reached through this proxy (not on `NO_PROXY`).
    pub fn carries(&self, host: &str) -> bool {
        !self.no_proxy.iter().any(|entry| {
            entry == "*"
                || host == entry
                || host
                    .strip_suffix(entry.as_str())
                    .is_some_and(|label| label.ends_with('.'))
        })
    }
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::of(vars)
    }

    #[test]
    fn the_users_proxy_in_its_spellings() {
        assert_eq!(Upstream::from_env(&env(&[])).unwrap(), None);
        let up = Upstream::from_env(&env(&[
            ("https_proxy", "http://alice:s3cret@Proxy.Corp:8080/"),
            ("HTTP_PROXY", "http://other:1"),
            ("NO_PROXY", "localhost, .internal.corp,*.git.corp"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            up,
            Upstream {
                host: "proxy.corp".into(),
                port: 8080,
                authorization: Some("Basic YWxpY2U6czNjcmV0".into()),
                no_proxy: vec![
                    "localhost".into(),
                    "internal.corp".into(),
                    "git.corp".into()
                ],
            }
        );
        assert!(up.carries("github.com"));
        assert!(!up.carries("a.internal.corp"));
        assert!(!up.carries("internal.corp"));
        assert!(up.carries("notinternal.corp"));
        let bare = Upstream::from_env(&env(&[("HTTP_PROXY", "10.0.0.1:3128")]))
            .unwrap()
            .unwrap();
        assert_eq!((bare.host.as_str(), bare.port), ("10.0.0.1", 3128));
        for bad in [
            "socks5://127.0.0.1:1080",
            "https://proxy:443",
            "http://:8080",
            "http://p:x",
        ] {
            let error = Upstream::from_env(&env(&[("HTTPS_PROXY", bad)])).unwrap_err();
            assert_eq!(error.code, Code::UpstreamProxyInvalid, "{bad}");
        }
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
