//! Where strict mode's network may go, as plain values: [`Rules`] judge a host and port
//! by name, then every address the name resolves to ([`address`]). Public addresses are
//! reachable by default; `--network allowlist` narrows that to [`hosts::LISTED`];
//! `--allow-host HOST:PORT` (and a managed policy's `allowed_hosts`) lets one exact host
//! and port in, whatever its address. The proxy that applies them is `strict::egress`.

// The rules apply in strict mode, which only Linux has; the flags and the policy's
// entries (`HostPort`, `Network`) are read everywhere.
#[cfg(target_os = "linux")]
pub mod address;
#[cfg(target_os = "linux")]
pub mod hosts;

use std::net::IpAddr;

use crate::code::Code;
use crate::error::{Error, Result};

/// `--network`: which names the proxy lets out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Network {
    /// Any name that resolves to public addresses (git, package registries, the model).
    #[default]
    Public,
    /// AWS service endpoints, the hosts Kiro needs, and `--allow-host` entries.
    Allowlist,
}

/// One `--allow-host HOST:PORT` (or a policy's `allowed_hosts` entry): the host
/// lowercased, without a trailing dot or an IPv6 address's brackets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl HostPort {
    pub fn parse(text: &str) -> Result<HostPort> {
        let invalid = |why: &str| {
            Error::new(
                Code::AllowHostInvalid,
                format!("--allow-host {text:?}: {why}"),
            )
        };
        let (host, port) = match text.strip_prefix('[') {
            Some(rest) => {
                let (host, port) = rest
                    .split_once("]:")
                    .ok_or_else(|| invalid("an IPv6 address is written [ADDRESS]:PORT"))?;
                host.parse::<std::net::Ipv6Addr>()
                    .map_err(|_| invalid("not an IPv6 address between the brackets"))?;
                (host, port)
            }
            None => match text.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => {
                    return Err(invalid("an IPv6 address is written [ADDRESS]:PORT"))
                }
                Some(pair) => pair,
                None => return Err(invalid("HOST:PORT, with the port")),
            },
        };
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| invalid("the port is a number from 1 to 65535"))?;
        let host = normalize(host);
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !(host.parse::<IpAddr>().is_ok() || (host.len() <= 253 && host.split('.').all(label_ok)))
        {
            return Err(invalid("not a host name or an IP address"));
        }
        Ok(HostPort { host, port })
    }
}

impl TryFrom<String> for HostPort {
    type Error = String;
    fn try_from(text: String) -> std::result::Result<HostPort, String> {
        HostPort::parse(&text).map_err(|e| e.message)
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&authority(&self.host, self.port))
    }
}

/// `host:port` as a request line writes it: an IPv6 address in brackets.
pub fn authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A host as the proxy compares it: lowercase, no trailing dot, no brackets.
pub fn normalize(host: &str) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// What the proxy lets out.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    pub network: Network,
    /// `--allow-host` entries and the managed policy's `allowed_hosts`.
    pub allowed: Vec<HostPort>,
}

/// The judgement on a name, before it is resolved.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByName {
    /// Allowed exactly (`--allow-host`): whatever it resolves to.
    Exact,
    /// Allowed if it resolves to public addresses.
    PublicOnly,
    /// Refused: why, for the agent's error message.
    Refused(String),
}

#[cfg(target_os = "linux")]
impl Rules {
    pub fn by_name(&self, host: &str, port: u16) -> ByName {
        let host = normalize(host);
        if self
            .allowed
            .iter()
            .any(|a| a.host == host && a.port == port)
        {
            return ByName::Exact;
        }
        if self.network == Network::Allowlist && !hosts::listed(&host, port) {
            return ByName::Refused(format!(
                "{host}:{port} is not on strict mode's network allow-list (AWS endpoints and Kiro's hosts on 443); let it in with --allow-host {host}:{port}"
            ));
        }
        ByName::PublicOnly
    }

    /// Whether the proxy may connect to `ip` for a name judged `by_name`.
    pub fn address_allowed(by_name: &ByName, ip: IpAddr) -> bool {
        match by_name {
            ByName::Exact => true,
            ByName::PublicOnly => address::is_public(ip),
            ByName::Refused(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_host_is_one_exact_host_and_port() {
        let parse = |t: &str| HostPort::parse(t).map(|h| h.to_string());
        assert_eq!(parse("127.0.0.1:5000").unwrap(), "127.0.0.1:5000");
        assert_eq!(parse("Git.Example.COM.:22").unwrap(), "git.example.com:22");
        assert_eq!(parse("[::1]:8080").unwrap(), "[::1]:8080");
        for bad in [
            "example.com",
            "example.com:0",
            "example.com:70000",
            ":80",
            "[::1]8080",
            "[nothost]:80",
            "exa mple.com:80",
            "::1:80",
            "*.example.com:443",
        ] {
            let error = HostPort::parse(bad).unwrap_err();
            assert_eq!(error.code, Code::AllowHostInvalid, "{bad}");
            assert_eq!(error.exit.code(), 2);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn names_then_addresses() {
        let rules = Rules {
            network: Network::Public,
            allowed: vec![HostPort::parse("localhost:5000").unwrap()],
        };
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let public: IpAddr = "52.94.76.1".parse().unwrap();
        assert_eq!(rules.by_name("LOCALHOST.", 5000), ByName::Exact);
        assert!(Rules::address_allowed(&ByName::Exact, loopback));
        // Another port, or another spelling of the same address, is not the exact host.
        let other = rules.by_name("localhost", 5001);
        assert_eq!(other, ByName::PublicOnly);
        assert!(!Rules::address_allowed(&other, loopback));
        assert!(Rules::address_allowed(&other, public));
        assert_eq!(rules.by_name("127.0.0.1", 5000), ByName::PublicOnly);

        let narrow = Rules {
            network: Network::Allowlist,
            ..rules
        };
        assert_eq!(
            narrow.by_name("sts.eu-west-1.amazonaws.com", 443),
            ByName::PublicOnly
        );
        assert!(
            matches!(narrow.by_name("github.com", 443), ByName::Refused(m) if m.contains("--allow-host github.com:443"))
        );
        assert!(matches!(
            narrow.by_name("sts.amazonaws.com", 80),
            ByName::Refused(_)
        ));
        assert_eq!(narrow.by_name("localhost", 5000), ByName::Exact);
    }
}
