//! Every stable code kiro-aws prints, in one table: the name scripts match on, the exit
//! status it gives when it stops a command, and its one-line fix. A finding of `verify`
//! uses the same codes; whatever its code, an error finding makes `verify` exit 3, so a
//! code that only `verify` reports has exit 3 here. A rule that bad input can break as
//! well (a flag, a team file) has exit 2: that is how it stops `init`.

use std::process::ExitCode;

/// Exit codes are a public contract: scripts depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success,
    Failure,
    Usage,
    NotIsolated,
    MissingProgram,
    /// `kiro-aws hook`: the tool call is blocked (Kiro reads status 2 as "blocked").
    Blocked,
    /// The exit status of a program kiro-aws ran and waited for (strict mode).
    Program(u8),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::NotIsolated => 3,
            Exit::MissingProgram => 4,
            Exit::Blocked => 2,
            Exit::Program(code) => code,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

macro_rules! codes {
    ($($variant:ident = $name:literal, $exit:ident, $fix:expr;)+) => {
        /// A stable code of the public contract (see the README's list).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($variant,)+
        }

        impl Code {
            /// Every code, in the order of the table.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The snake_case name scripts match on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)+
                }
            }

            /// The exit status when this code stops a command.
            pub fn exit(self) -> Exit {
                match self {
                    $(Code::$variant => Exit::$exit,)+
                }
            }

            /// What to do about it, in one line.
            pub fn fix(self) -> &'static str {
                match self {
                    $(Code::$variant => $fix,)+
                }
            }
        }
    };
}

/// Rewriting from the source of truth mends every content problem: `init` replaces its
/// own config without `--force`.
const REWRITE: &str =
    "rewrite it: `kiro-aws init` with your --profile flags or --from TEAM_FILE (add --force if kiro-aws did not write it)";

codes! {
    // The isolated files and their directory.
    ConfigMissing = "config_missing", NotIsolated, "run `kiro-aws init` to create the isolated config";
    CredentialsMissing = "credentials_missing", NotIsolated, "run `kiro-aws init` to create the empty credentials file";
    FileSymlink = "file_symlink", NotIsolated, "replace the symlink with a real file: `rm` it, then `kiro-aws init`";
    FileNotRegular = "file_not_regular", NotIsolated, "remove it, then run `kiro-aws init`";
    FileHardlink = "file_hardlink", NotIsolated, "the file shares its inode with another path: `rm` it, then `kiro-aws init`";
    FileNotOwned = "file_not_owned", NotIsolated, "the file must belong to you: `rm` it, then `kiro-aws init`";
    FileMode = "file_mode", NotIsolated, "make it private: `chmod 600` the file";
    DirSymlink = "dir_symlink", NotIsolated, "replace ~/.aws/kiro with a real directory: `rm` the link, then `kiro-aws init`";
    DirMode = "dir_mode", NotIsolated, "make it private: `chmod 700 ~/.aws/kiro`";
    PathExpands = "path_expands", NotIsolated, "use a HOME whose path has no `$`: botocore and the AWS CLI expand it as a variable and would read other files";
    DirWritable = "dir_writable", NotIsolated, "others can replace files below it: `chmod go-w` the directory, or move $HOME";
    ReadFailed = "read_failed", NotIsolated, "check that you can read the file";
    NotUtf8 = "not_utf8", NotIsolated, REWRITE;
    // What the files hold; those with exit 2 are also rules for flags and team files.
    ProfileNotKiro = "profile_not_kiro", Usage, "delete that section, or rewrite the file with `kiro-aws init`";
    CredentialsNotEmpty = "credentials_not_empty", NotIsolated, "kiro profiles use SSO: empty the file (`: > ~/.aws/kiro/credentials`)";
    DuplicateSection = "duplicate_section", NotIsolated, REWRITE;
    DuplicateKey = "duplicate_key", NotIsolated, REWRITE;
    InlineComment = "inline_comment", NotIsolated, "move the comment onto a line of its own starting with `#`";
    QuotedSection = "quoted_section", NotIsolated, "write the section as `[profile kiro-name]` without quotes";
    SectionWhitespace = "section_whitespace", NotIsolated, "write the section as `[profile kiro-name]` with single spaces";
    SectionNameInvalid = "section_name_invalid", NotIsolated, "use a name of a-z, 0-9 and `-`";
    SectionUnknown = "section_unknown", NotIsolated, "only `[profile kiro-...]` and `[sso-session NAME]` sections are allowed";
    ProfilePrefixInCredentials = "profile_prefix_in_credentials", NotIsolated, "the credentials file must stay empty: remove the section";
    LeadingWhitespace = "leading_whitespace", NotIsolated, "remove the indentation";
    UnexpectedCharacter = "unexpected_character", NotIsolated, "use plain ASCII outside comments";
    CarriageReturn = "carriage_return", NotIsolated, "save the file with \\n (or \\r\\n) line endings only";
    KeyInvalid = "key_invalid", NotIsolated, "keys are lower-case letters, digits and `_`";
    KeyOutsideSection = "key_outside_section", NotIsolated, "move the key below its section header";
    MalformedLine = "malformed_line", NotIsolated, "write `key = value`, `[section]` or a `#` comment";
    KeyForbidden = "key_forbidden", NotIsolated, "kiro profiles may hold only sso_session, sso_account_id, sso_role_name, region and output";
    KeyMissing = "key_missing", NotIsolated, "give the profile sso_session, sso_account_id and sso_role_name";
    SsoSessionMissing = "sso_session_missing", Usage, "add the [sso-session NAME] block the profile names";
    SsoSessionIncomplete = "sso_session_incomplete", Usage, "give the block an https:// sso_start_url and an sso_region";
    InvalidSessionName = "invalid_session_name", Usage, "use letters, digits, `-` and `_`";
    InvalidAccountId = "invalid_account_id", Usage, "an account id is 12 digits";
    InvalidRoleName = "invalid_role_name", Usage, "use the IAM role (permission set) name";
    InvalidRegion = "invalid_region", Usage, "use a region such as us-east-1";
    RoleTooPowerful = "role_too_powerful", Usage, "use a read-only role (a permission set like ReadOnlyAccess), or accept this very role with `kiro-aws init --allow-role NAME`";
    InvalidOutput = "invalid_output", Usage, "use json, text, table, yaml or yaml-stream";
    NoProfiles = "no_profiles", Usage, "run `kiro-aws init --profile kiro-NAME=ACCOUNT:ROLE ...`";
    DefaultProfileMissing = "default_profile_missing", Usage, "run `kiro-aws init --default-profile kiro-NAME`";
    SdkParseError = "sdk_parse_error", NotIsolated, REWRITE;
    SdkMismatch = "sdk_mismatch", NotIsolated, REWRITE;
    // Around the isolated files.
    HostModelsPresent = "host_models_present", NotIsolated, "move ~/.aws/models out of ~/.aws (botocore needs no extra models)";
    HostCliAliasPresent = "host_cli_alias_present", NotIsolated, "move ~/.aws/cli/alias away while Kiro runs";
    SystemBotoConfig = "system_boto_config", NotIsolated, "move the keys out of /etc/boto.cfg (an IAM role or your own ~/.aws/credentials is the place for them)";
    PolicyViolation = "policy_violation", NotIsolated, "ask your administrator, or change the profiles (`kiro-aws init`) to what the policy allows";
    TempFileLeft = "temp_file_left", NotIsolated, "run `kiro-aws init`, which removes it";
    BackupPresent = "backup_present", NotIsolated, "read the backup, keep what you need elsewhere, then delete it";
    EnvInherited = "env_inherited", NotIsolated, "nothing to do: the launch removes it; unset it in your shell to be sure";
    EnvReported = "env_reported", NotIsolated, "nothing to do if you expect it: it is kept and changes where AWS traffic goes";
    IsolationNotProven = "isolation_not_proven", NotIsolated, "fix the findings above (`kiro-aws verify` lists them), or run `kiro-aws init`";
    // Who the profiles are in AWS.
    SsoLoginRequired = "sso_login_required", NotIsolated, "run `kiro-aws login` (the message names the profile when it needs one)";
    SsoLoginFailed = "sso_login_failed", Failure, "run `kiro-aws login` again and approve the code in the browser within its time";
    DiscoveryFailed = "discovery_failed", Failure, "read the message, which names the account; run again (with a lower --max-rps if the portal throttled)";
    NameTemplateInvalid = "name_template_invalid", Usage, "use only {account_id}, {account_name} and {role_name}, e.g. --name-template 'kiro-{account_name}-{role_name}'";
    IdentityAccountMismatch = "identity_account_mismatch", NotIsolated, "fix sso_account_id of the profile, or the account assignment in IAM Identity Center";
    IdentityRoleMismatch = "identity_role_mismatch", NotIsolated, "fix sso_role_name of the profile to the permission set's name";
    IdentityNotSso = "identity_not_sso", NotIsolated, "check what sets credentials in the agent's environment (`kiro-aws env`)";
    IdentityTimeout = "identity_timeout", NotIsolated, "check the network or VPN, or raise --timeout";
    IdentityUnreachable = "identity_unreachable", NotIsolated, "check the network, proxy (HTTPS_PROXY) and AWS_CA_BUNDLE";
    IdentityError = "identity_error", NotIsolated, "read the message; it is the AWS SDK's own";
    IdentityNotProven = "identity_not_proven", NotIsolated, "fix the findings above (`kiro-aws whoami` shows them)";
    EndpointRefused = "endpoint_refused", Usage, "use an https:// endpoint, or unset the variable";
    ProbeFailed = "probe_failed", Failure, "report this as a bug, with the message";
    AuditFailed = "audit_failed", Failure, "fix the finding above, then run the audit again";
    AuditOptionNeedsRun = "audit_option_needs_run", Usage, "add --run, or drop the option";
    BadTime = "bad_time", Usage, "use a duration (30m, 24h, 7d, 2w) or a UTC time like 2026-11-21T09:00:00Z";
    BadEventDataStore = "bad_event_data_store", Usage, "pass the event data store's ID (or its ARN)";
    // Strict mode.
    StrictBwrapMissing = "strict_bwrap_missing", NotIsolated, "install bubblewrap (`sudo apt-get install bubblewrap`), or set KIRO_AWS_BWRAP to its path";
    StrictSandboxFailed = "strict_sandbox_failed", NotIsolated, "read bwrap's message; user namespaces must be allowed for it";
    StrictBwrapUntrusted = "strict_bwrap_untrusted", NotIsolated, "use the system's bwrap (/usr/bin/bwrap, owned by root)";
    StrictCwdShared = "strict_cwd_shared", NotIsolated, "start the session in your project directory (a directory of its own below /tmp works too)";
    StrictRunDirUnsafe = "strict_run_dir_unsafe", NotIsolated, "remove that directory (another user made it), or set XDG_RUNTIME_DIR to a private directory of your own";
    StrictAwsDirSymlink = "strict_aws_dir_symlink", NotIsolated, "replace the ~/.aws link with the directory it points to";
    StrictLandlockMissing = "strict_landlock_missing", NotIsolated, "update the kernel to Linux 6.12 or later, with Landlock enabled (lsm=...,landlock)";
    StrictUnsupported = "strict_unsupported", NotIsolated, "use `kiro-aws` (kiro-cli chat) in a terminal, or run `kiro-aws init --no-strict`";
    StrictUnsupportedPlatform = "strict_unsupported_platform", NotIsolated, "strict mode needs Linux (bubblewrap); here the default mode works: drop --strict, or run `kiro-aws init --no-strict`";
    KiroAgentNotLoadable = "kiro_agent_not_loadable", NotIsolated, "run `kiro-aws init` (or launch again) to write the agent, move the workspace .kiro/agents/aws-readonly.* away, or choose a known engine with --v2 or --v3";
    StrictRequired = "strict_required", NotIsolated, "launch through kiro-aws instead (`kiro-aws`, `kiro-aws run -- COMMAND`), or run `kiro-aws init --no-strict`";
    AllowSocketInvalid = "allow_socket_invalid", Usage, "name the socket itself (for ssh: --allow-socket \"$SSH_AUTH_SOCK\")";
    AllowHostInvalid = "allow_host_invalid", Usage, "write one exact host and port: --allow-host git.example.com:443 or --allow-host [::1]:8080";
    EgressRefused = "egress_refused", Failure, "if you trust that host, let it in: kiro-aws run --strict --allow-host HOST:PORT";
    UpstreamProxyInvalid = "upstream_proxy_invalid", Usage, "set HTTPS_PROXY to your network's http:// proxy (http://[user:password@]host:port), or unset it";
    HideNeedsStrict = "hide_needs_strict", Usage, "add --strict";
    HidePathMissing = "hide_path_missing", Usage, "create it first, or hide the directory that will hold it";
    HideCoversNeededPath = "hide_covers_needed_path", Usage, "hide a narrower path";
    BrokerRefused = "broker_refused", Failure, "run AWS commands through the profiles of the isolated config (`aws configure list-profiles`)";
    NoCommand = "no_command", Usage, "report this as a bug";
    SystemCallFailed = "system_call_failed", Failure, "report this as a bug";
    // The role kit (`kiro-aws policy`).
    KitNameInvalid = "kit_name_invalid", Usage, "permission set names are 1-32 of A-Z a-z 0-9 +=,.@_-: rename the role in IAM Identity Center and in the profiles (`kiro-aws init`)";
    KitArnInvalid = "kit_arn_invalid", Usage, "pass the whole ARN, as the message shows it";
    KitValueInvalid = "kit_value_invalid", Usage, "correct the flag's value to the shape the message names";
    KitDurationInvalid = "kit_duration_invalid", Usage, "use 1 to 12 hours: PT8H, PT90M, 8h or 90m";
    KitFlagMissing = "kit_flag_missing", Usage, "add the flag the message names";
    KitTooManyResources = "kit_too_many_resources", Usage, "a template holds at most 500 resources: run `kiro-aws policy` with fewer profiles (accounts) per template";
    KitPolicyTooLarge = "kit_policy_too_large", Failure, "report this as a bug: the generated policy does not fit IAM's size limit";
    // Usage, input and the rest.
    ProfileUnknown = "profile_unknown", Usage, "pass one of those, or add it with `kiro-aws init`";
    InvalidProfileFlag = "invalid_profile_flag", Usage, "write it as --profile kiro-readonly=123456789012:ReadOnly";
    DuplicateProfile = "duplicate_profile", Usage, "give each profile once (flags and team file together)";
    DuplicateSession = "duplicate_session", Usage, "define the sso-session once: in the team file or with flags";
    TeamFileUnreadable = "team_file_unreadable", Usage, "pass the path of a readable team file";
    TeamFileInvalid = "team_file_invalid", Usage, "correct each line named above; nothing was written";
    FileNotManaged = "file_not_managed", Failure, "move it away, or run `kiro-aws init --force` to replace it and keep it as a backup";
    NotAFile = "not_a_file", Failure, "move it away, then run `kiro-aws init` again";
    SymlinkRefused = "symlink_refused", Failure, "remove the link and run `kiro-aws init` again";
    SteeringMarkersBroken = "steering_markers_broken", Failure, "keep exactly one `<!-- kiro-aws:begin` line and one `<!-- kiro-aws:end` line after it, or delete both";
    HomeNotFound = "home_not_found", Failure, "set HOME to your absolute home directory";
    PathNotUtf8 = "path_not_utf8", Failure, "use a home directory whose path is UTF-8";
    ProgramNotFound = "program_not_found", MissingProgram, "check the command name and PATH";
    NulInArgument = "nul_in_argument", Failure, "remove the NUL byte";
    ExecFailed = "exec_failed", Failure, "check that the program is executable";
    IoError = "io_error", Failure, "check that the path exists and that you own it";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_a_one_line_fix() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()));
            assert!(
                !code.fix().is_empty() && !code.fix().contains('\n'),
                "{name}"
            );
        }
    }
}
