//! Findings: what `verify` reports. Every code is stable (scripts match on it) and has a
//! one-line fix; this table is the single list of them.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Isolation is not proven; nothing is launched.
    Error,
    /// Handled by the launch, but worth knowing.
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub path: String,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn error(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
            fix: fix_for(code).to_owned(),
        }
    }

    pub fn warning(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, path, message)
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity}[{}] {}: {}\n  fix: {}",
            self.code, self.path, self.message, self.fix
        )
    }
}

/// Rewriting from the source of truth works for every content problem: `init` replaces
/// its own config without `--force`.
const REWRITE: &str =
    "rewrite it: `kiro-aws init` with your --profile flags or --from TEAM_FILE (add --force if kiro-aws did not write it)";

/// Every code kiro-aws reports, with its fix.
pub const CODES: &[(&str, &str)] = &[
    (
        "config_missing",
        "run `kiro-aws init` to create the isolated config",
    ),
    (
        "credentials_missing",
        "run `kiro-aws init` to create the empty credentials file",
    ),
    (
        "file_symlink",
        "replace the symlink with a real file: `rm` it, then `kiro-aws init`",
    ),
    ("file_not_regular", "remove it, then run `kiro-aws init`"),
    (
        "file_hardlink",
        "the file shares its inode with another path: `rm` it, then `kiro-aws init`",
    ),
    (
        "file_not_owned",
        "the file must belong to you: `rm` it, then `kiro-aws init`",
    ),
    ("file_mode", "make it private: `chmod 600` the file"),
    (
        "dir_symlink",
        "replace ~/.aws/kiro with a real directory: `rm` the link, then `kiro-aws init`",
    ),
    ("dir_mode", "make it private: `chmod 700 ~/.aws/kiro`"),
    (
        "dir_writable",
        "others can replace files below it: `chmod go-w` the directory, or move $HOME",
    ),
    ("read_failed", "check that you can read the file"),
    ("not_utf8", REWRITE),
    (
        "profile_not_kiro",
        "delete that section, or rewrite the file with `kiro-aws init`",
    ),
    (
        "credentials_not_empty",
        "kiro profiles use SSO: empty the file (`: > ~/.aws/kiro/credentials`)",
    ),
    ("duplicate_section", REWRITE),
    ("duplicate_key", REWRITE),
    (
        "inline_comment",
        "move the comment onto a line of its own starting with `#`",
    ),
    (
        "quoted_section",
        "write the section as `[profile kiro-name]` without quotes",
    ),
    (
        "section_whitespace",
        "write the section as `[profile kiro-name]` with single spaces",
    ),
    ("section_name_invalid", "use a name of a-z, 0-9 and `-`"),
    (
        "section_unknown",
        "only `[profile kiro-...]` and `[sso-session NAME]` sections are allowed",
    ),
    (
        "profile_prefix_in_credentials",
        "the credentials file must stay empty: remove the section",
    ),
    ("leading_whitespace", "remove the indentation"),
    ("unexpected_character", "use plain ASCII outside comments"),
    (
        "carriage_return",
        "save the file with \\n (or \\r\\n) line endings only",
    ),
    ("key_invalid", "keys are lower-case letters, digits and `_`"),
    (
        "key_outside_section",
        "move the key below its section header",
    ),
    (
        "malformed_line",
        "write `key = value`, `[section]` or a `#` comment",
    ),
    (
        "key_forbidden",
        "kiro profiles may hold only sso_session, sso_account_id, sso_role_name, region and output",
    ),
    (
        "key_missing",
        "give the profile sso_session, sso_account_id and sso_role_name",
    ),
    (
        "sso_session_missing",
        "add the [sso-session NAME] block the profile names",
    ),
    (
        "sso_session_incomplete",
        "give the block an https:// sso_start_url and an sso_region",
    ),
    ("invalid_session_name", "use letters, digits, `-` and `_`"),
    ("invalid_account_id", "an account id is 12 digits"),
    (
        "invalid_role_name",
        "use the IAM role (permission set) name",
    ),
    ("invalid_region", "use a region such as us-east-1"),
    (
        "invalid_output",
        "use json, text, table, yaml or yaml-stream",
    ),
    (
        "no_profiles",
        "run `kiro-aws init --profile kiro-NAME=ACCOUNT:ROLE ...`",
    ),
    (
        "default_profile_missing",
        "run `kiro-aws init --default-profile kiro-NAME`",
    ),
    ("sdk_parse_error", REWRITE),
    ("sdk_mismatch", REWRITE),
    (
        "host_models_present",
        "move ~/.aws/models out of ~/.aws (botocore needs no extra models)",
    ),
    (
        "host_cli_alias_present",
        "move ~/.aws/cli/alias away while Kiro runs",
    ),
    (
        "backup_present",
        "read the backup, keep what you need elsewhere, then delete it",
    ),
    (
        "env_inherited",
        "nothing to do: the launch removes it; unset it in your shell to be sure",
    ),
    (
        "env_reported",
        "nothing to do if you expect it: it is kept and changes where AWS traffic goes",
    ),
    (
        "sso_login_required",
        "run `kiro-aws login` (the message names the profile when it needs one)",
    ),
    (
        "identity_account_mismatch",
        "fix sso_account_id of the profile, or the account assignment in IAM Identity Center",
    ),
    (
        "identity_role_mismatch",
        "fix sso_role_name of the profile to the permission set's name",
    ),
    (
        "identity_not_sso",
        "check what sets credentials in the agent's environment (`kiro-aws env`)",
    ),
    (
        "identity_timeout",
        "check the network or VPN, or raise --timeout",
    ),
    (
        "identity_unreachable",
        "check the network, proxy (HTTPS_PROXY) and AWS_CA_BUNDLE",
    ),
    (
        "identity_error",
        "read the message; it is the AWS SDK's own",
    ),
    (
        "strict_bwrap_missing",
        "install bubblewrap (`sudo apt-get install bubblewrap`), or set KIRO_AWS_BWRAP to its path",
    ),
    (
        "strict_sandbox_failed",
        "read bwrap's message; user namespaces must be allowed for it",
    ),
    (
        "strict_bwrap_untrusted",
        "use the system's bwrap (/usr/bin/bwrap, owned by root)",
    ),
    (
        "strict_aws_dir_symlink",
        "replace the ~/.aws link with the directory it points to",
    ),
    (
        "strict_landlock_missing",
        "update the kernel to Linux 6.12 or later, with Landlock enabled (lsm=...,landlock)",
    ),
];

pub fn fix_for(code: &str) -> &'static str {
    match CODES.iter().find(|(c, _)| *c == code) {
        Some((_, fix)) => fix,
        None => {
            // A code without a fix is a bug: debug builds (every test) stop on it.
            debug_assert!(false, "finding code `{code}` has no fix in CODES");
            "see `kiro-aws verify --help`"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for (code, fix) in CODES {
            assert!(seen.insert(code), "{code} twice");
            assert!(code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
            assert!(!fix.is_empty() && !fix.contains('\n'));
        }
    }
}
