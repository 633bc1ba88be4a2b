//! The managed policy an administrator installs for every user of a machine, root-owned,
//! at `/etc/kiro-aws/policy.json` (`/Library/Application Support/kiro-aws/policy.json` on
//! macOS): which accounts and roles kiro profiles may use, whether strict mode is
//! required, extra paths strict mode hides, and what its network may reach (exact hosts
//! let in, as `--allow-host` does, and whether `--network allowlist` is required). Neither the user nor the agent can change
//! it; `verify` enforces it (`policy_violation`), and a policy file anyone but root could
//! have written is itself an error.
//!
//! ```json
//! {"allowed_accounts": ["111111111111"], "allowed_roles": ["Kiro*"],
//!  "require_strict": true, "hidden_paths": ["/srv/secrets"],
//!  "allowed_hosts": ["git.corp.example:443"], "require_network_allowlist": true}
//! ```

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::profile::ProfileSet;
use crate::trust;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Account ids kiro profiles may name; absent: any.
    #[serde(default)]
    pub allowed_accounts: Option<Vec<String>>,
    /// Globs (`*`, `?`) the role names must match; absent: any.
    #[serde(default)]
    pub allowed_roles: Option<Vec<String>>,
    /// Launches must be strict (`init --strict`).
    #[serde(default)]
    pub require_strict: bool,
    /// Paths strict mode hides besides its own list.
    #[serde(default)]
    pub hidden_paths: Vec<PathBuf>,
    /// `HOST:PORT`s strict mode's network lets in, as `--allow-host` does.
    #[serde(default)]
    pub allowed_hosts: Vec<crate::network::HostPort>,
    /// Strict launches use `--network allowlist`; `--network public` is refused.
    #[serde(default)]
    pub require_network_allowlist: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    Absent,
    Valid(Policy),
    /// Present but unusable: why.
    Invalid(String),
}

/// A policy is far smaller than this.
const MAX_POLICY: u64 = 1 << 20;

pub fn load(path: &Path) -> Loaded {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Loaded::Absent,
        Err(e) => return Loaded::Invalid(format!("cannot be inspected: {e}")),
        Ok(_) => {}
    }
    let real = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(e) => return Loaded::Invalid(format!("cannot be resolved: {e}")),
    };
    let meta = match std::fs::metadata(&real) {
        Ok(meta) => meta,
        Err(e) => return Loaded::Invalid(format!("cannot be inspected: {e}")),
    };
    if !meta.is_file() {
        return Loaded::Invalid("is not a regular file".into());
    }
    if meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return Loaded::Invalid(format!(
            "belongs to uid {} with mode {:o}: only a file owned by root that only root can write is a policy",
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    if let Some(parent) = real.parent() {
        if let Some(ancestor) = trust::unsafe_ancestors(parent, &[0]).into_iter().next() {
            let path = match ancestor {
                trust::Ancestor::Replaceable { path, .. }
                | trust::Ancestor::Unreadable { path, .. } => path,
            };
            return Loaded::Invalid(format!(
                "lies in {}, which someone but root could change",
                path.display()
            ));
        }
    }
    let mut text = String::new();
    let read =
        std::fs::File::open(&real).and_then(|f| f.take(MAX_POLICY + 1).read_to_string(&mut text));
    if let Err(e) = read {
        return Loaded::Invalid(format!("cannot be read: {e}"));
    }
    if text.len() as u64 > MAX_POLICY {
        return Loaded::Invalid("is larger than 1 MiB".into());
    }
    match serde_json::from_str(&text) {
        Ok(policy) => Loaded::Valid(policy),
        Err(e) => Loaded::Invalid(format!("is not a valid policy: {e}")),
    }
}

/// What in `set` the policy forbids, one line each.
pub fn violations(policy: &Policy, set: &ProfileSet) -> Vec<String> {
    let mut out = Vec::new();
    for p in &set.profiles {
        if let Some(accounts) = &policy.allowed_accounts {
            if !accounts.contains(&p.account_id) {
                out.push(format!(
                    "profile `{}` uses account {}, which the policy does not allow ({})",
                    p.name,
                    p.account_id,
                    accounts.join(", ")
                ));
            }
        }
        if let Some(roles) = &policy.allowed_roles {
            if !roles
                .iter()
                .any(|glob| crate::glob::matches(glob, &p.role_name))
            {
                out.push(format!(
                    "profile `{}` uses role {}, which matches none of the policy's roles ({})",
                    p.name,
                    p.role_name,
                    roles.join(", ")
                ));
            }
        }
    }
    if policy.require_strict && !set.strict {
        out.push(
            "the policy requires strict mode for every launch; it is not the default here".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::config_file::tests::sample;

    #[test]
    fn globs_and_violations() {
        let set = sample();
        assert!(violations(&Policy::default(), &set).is_empty());
        let strict = Policy {
            require_strict: true,
            allowed_accounts: Some(vec![set.profiles[0].account_id.clone()]),
            allowed_roles: Some(vec!["Nothing*".into()]),
            ..Policy::default()
        };
        let found = violations(&strict, &set);
        assert_eq!(
            found.len(),
            1 + set.profiles.len() + (set.profiles.len() - 1),
            "{found:?}"
        );
        assert!(serde_json::from_str::<Policy>(r#"{"allowed_domains": []}"#).is_err());
        let hosts: Policy = serde_json::from_str(
            r#"{"allowed_hosts": ["Git.Corp:443", "[::1]:8080"], "require_network_allowlist": true}"#,
        )
        .unwrap();
        assert_eq!(hosts.allowed_hosts[0].to_string(), "git.corp:443");
        assert!(hosts.require_network_allowlist);
        let bad = serde_json::from_str::<Policy>(r#"{"allowed_hosts": ["git.corp"]}"#);
        assert!(bad.unwrap_err().to_string().contains("git.corp"));
    }
}
