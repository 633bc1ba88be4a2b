//! Every path kiro-aws reads or writes, derived from one home directory.

use std::path::{Path, PathBuf};

use crate::code::Code;
use crate::env::Env;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub home: PathBuf,
    /// `~/.aws/kiro`, 0700.
    pub kiro_dir: PathBuf,
    /// `~/.aws/kiro/config`, 0600: only kiro-* SSO profiles.
    pub config: PathBuf,
    /// `~/.aws/kiro/credentials`, 0600: empty.
    pub credentials: PathBuf,
    /// `~/.kiro/agents/aws-readonly.json`: the agent for Kiro CLI's classic and V2 engines.
    pub agent: PathBuf,
    /// `~/.kiro/agents/aws-readonly.md`: the same agent for the V3 engine and the IDE.
    pub agent_markdown: PathBuf,
    /// kiro-aws's cache (the Kiro CLI version): `$XDG_CACHE_HOME/kiro-aws` when set and
    /// absolute, else `~/.cache/kiro-aws` (`~/Library/Caches/kiro-aws` on macOS).
    pub cache_dir: PathBuf,
    /// The managed policy (root-owned; see `policy`).
    pub policy_file: PathBuf,
    /// `~/.kiro/steering/AGENTS.md`; kiro-aws owns only its marked block.
    pub steering: PathBuf,
    /// `~/.aws`, which holds the host files.
    pub aws_dir: PathBuf,
    /// The host files the isolated ones must never be (or link to).
    pub host_config: PathBuf,
    pub host_credentials: PathBuf,
    /// Read by botocore from these fixed places under `$HOME`, whatever the environment:
    /// service models (which carry endpoint rules) and AWS CLI command aliases.
    pub host_models: PathBuf,
    pub host_cli_alias: PathBuf,
}

impl Paths {
    pub fn new(home: &Path) -> Self {
        let aws = home.join(".aws");
        let kiro_dir = aws.join("kiro");
        Paths {
            home: home.to_owned(),
            config: kiro_dir.join("config"),
            credentials: kiro_dir.join("credentials"),
            kiro_dir,
            agent: home.join(".kiro/agents/aws-readonly.json"),
            agent_markdown: home.join(".kiro/agents/aws-readonly.md"),
            cache_dir: home.join(crate::platform::CACHE_DIR).join("kiro-aws"),
            policy_file: PathBuf::from(crate::platform::POLICY_FILE),
            steering: home.join(".kiro/steering/AGENTS.md"),
            host_config: aws.join("config"),
            host_credentials: aws.join("credentials"),
            host_models: aws.join("models"),
            host_cli_alias: aws.join("cli/alias"),
            aws_dir: aws,
        }
    }

    /// The paths below the environment's home directory.
    pub fn from_env(env: &Env) -> Result<Self> {
        match env.home() {
            Some(home) => {
                let mut paths = Self::new(home);
                if let Some(cache) = env
                    .get("XDG_CACHE_HOME")
                    .map(Path::new)
                    .filter(|p| p.is_absolute())
                {
                    paths.cache_dir = cache.join("kiro-aws");
                }
                // Test builds only: the tests install a policy of their own. A release
                // build reads the policy from its fixed place, whatever the environment.
                #[cfg(debug_assertions)]
                if let Some(file) = env.get("KIRO_AWS_TEST_POLICY_FILE") {
                    paths.policy_file = PathBuf::from(file);
                }
                Ok(paths)
            }
            None => Err(Error::new(
                Code::HomeNotFound,
                "HOME is unset, empty or not an absolute path; kiro-aws does not guess another home",
            )),
        }
    }
}
