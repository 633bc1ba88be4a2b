//! The proof that only kiro-* profiles resolve: every check on the isolated files, their
//! directory, and the inherited environment. Pure reads; nothing is written.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use crate::code::Code;
use crate::config::ini::{self, FileKind};
use crate::config::profile::{self, Profile, ProfileSet, SsoSession};
use crate::config::{config_file, sdk_view};
use crate::env::Env;
use crate::finding::Finding;
use crate::install::atomic_file::{self, BACKUP_INFIX};
use crate::launch::environment;
use crate::paths::Paths;
use crate::trust;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub profiles: Vec<String>,
    pub findings: Vec<Finding>,
    /// Launches are strict by default (`init --strict`).
    pub strict_default: bool,
    /// With `verify --strict`: whether this machine can run strict mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// The Kiro CLI on `PATH`: its version, engine and whether it loads the agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kiro: Option<crate::kiro::Report>,
    #[serde(skip)]
    pub set: Option<ProfileSet>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }

    /// Add findings made after the first verdict (strict mode's machine check), and judge
    /// again.
    pub fn add(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
        self.ok = !self.findings.iter().any(Finding::is_error);
    }
}

pub fn verify(paths: &Paths, inherited: &Env) -> Report {
    let mut findings = Vec::new();
    check_directories(paths, &mut findings);
    let host_files: Vec<(u64, u64)> = [&paths.host_config, &paths.host_credentials]
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let config = read_checked(
        &paths.config,
        Code::ConfigMissing,
        &host_files,
        &mut findings,
    );
    let credentials = read_checked(
        &paths.credentials,
        Code::CredentialsMissing,
        &host_files,
        &mut findings,
    );
    let set = config.and_then(|bytes| check_config(&paths.config, &bytes, &mut findings));
    if let Some(bytes) = credentials {
        check_credentials(&paths.credentials, &bytes, &mut findings);
    }
    check_fixed_host_paths(paths, &mut findings);
    if let Some(set) = &set {
        check_policy(paths, set, &mut findings);
    }
    check_environment(inherited, &mut findings);
    let ok = !findings.iter().any(Finding::is_error);
    Report {
        ok,
        profiles: set.as_ref().map(ProfileSet::names).unwrap_or_default(),
        strict_default: set.as_ref().is_some_and(|s| s.strict),
        strict: None,
        kiro: None,
        findings,
        set: if ok { set } else { None },
    }
}

/// The managed policy, when there is one: unusable is an error, and so is each thing it
/// forbids.
fn check_policy(paths: &Paths, set: &ProfileSet, findings: &mut Vec<Finding>) {
    let at = display(&paths.policy_file);
    match crate::policy::load(&paths.policy_file) {
        crate::policy::Loaded::Absent => {}
        crate::policy::Loaded::Invalid(why) => {
            findings.push(Finding::error(Code::PolicyViolation, at, why));
        }
        crate::policy::Loaded::Valid(policy) => {
            for violation in crate::policy::violations(&policy, set) {
                findings.push(Finding::error(Code::PolicyViolation, at.clone(), violation));
            }
        }
    }
}

/// The system-wide boto config.
const SYSTEM_BOTO_CONFIG: &str = "/etc/boto.cfg";

/// Outside $HOME, readable by anyone, and read by botocore's credential chain: the
/// system boto config cannot be hidden from the agent, only reported.
fn check_system_boto(path: &Path, findings: &mut Vec<Finding>) {
    if fs::symlink_metadata(path).is_ok() {
        findings.push(Finding::warning(
            Code::SystemBotoConfig,
            display(path),
            "exists: boto and botocore read AWS keys from it, and every user and sandbox can read it",
        ));
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn check_directories(paths: &Paths, findings: &mut Vec<Finding>) {
    let dir = &paths.kiro_dir;
    // botocore expands `$NAME` and `${NAME}` in AWS_CONFIG_FILE and
    // AWS_SHARED_CREDENTIALS_FILE (the Rust SDK does not): with a `$` in the path, the
    // AWS CLI would read files other than the ones proven here.
    if dir.as_os_str().as_encoded_bytes().contains(&b'$') {
        findings.push(Finding::error(
            Code::PathExpands,
            display(dir),
            "holds `$`, which botocore expands as a variable in the paths the agent gets",
        ));
    }
    let me = nix::unistd::geteuid().as_raw();
    if let Ok(meta) = fs::symlink_metadata(dir) {
        if meta.file_type().is_symlink() {
            findings.push(Finding::error(
                Code::DirSymlink,
                display(dir),
                "is a symlink: the isolated files could be swapped from elsewhere",
            ));
        } else {
            let (owner, mode) = trust::private_problems(&meta, me, 0o700);
            findings.extend(owner.map(|m| Finding::error(Code::DirWritable, display(dir), m)));
            findings.extend(mode.map(|m| Finding::error(Code::DirMode, display(dir), m)));
        }
    }
    let Some(parent) = dir.parent() else {
        return;
    };
    // A ~/.aws (or a directory above it) that is a symlink is checked where it leads too.
    let mut walked = trust::unsafe_ancestors(parent, &[me, 0]);
    if let Ok(real) = fs::canonicalize(parent) {
        if real != parent {
            walked.extend(trust::unsafe_ancestors(&real, &[me, 0]));
        }
    }
    let mut seen = HashSet::new();
    for ancestor in walked {
        let (path, message) = match ancestor {
            trust::Ancestor::Replaceable { path, uid, mode } => (
                path,
                format!(
                    "mode {mode:o}, owner uid {uid}: someone else can replace what lies below it"
                ),
            ),
            // A directory that does not exist (yet) has nothing below it to replace.
            trust::Ancestor::Unreadable { error, .. }
                if error.kind() == std::io::ErrorKind::NotFound =>
            {
                continue
            }
            trust::Ancestor::Unreadable { path, error } => (
                path,
                format!(
                    "cannot be inspected ({error}): someone else may replace what lies below it"
                ),
            ),
        };
        if seen.insert(path.clone()) {
            findings.push(Finding::error(Code::DirWritable, display(&path), message));
        }
    }
}

/// Read an isolated file without following a symlink, and check what it is.
fn read_checked(
    path: &Path,
    missing_code: Code,
    host_files: &[(u64, u64)],
    findings: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    let opened = atomic_file::open_no_follow(path);
    let mut file: File = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            findings.push(Finding::error(
                missing_code,
                display(path),
                "does not exist",
            ));
            return None;
        }
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            findings.push(Finding::error(
                Code::FileSymlink,
                display(path),
                "is a symlink; kiro-aws reads only real files here",
            ));
            return None;
        }
        Err(e) => {
            findings.push(Finding::error(
                Code::ReadFailed,
                display(path),
                e.to_string(),
            ));
            return None;
        }
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => {
            findings.push(Finding::error(
                Code::ReadFailed,
                display(path),
                e.to_string(),
            ));
            return None;
        }
    };
    if !meta.is_file() {
        findings.push(Finding::error(
            Code::FileNotRegular,
            display(path),
            "is not a regular file",
        ));
        return None;
    }
    if meta.nlink() > 1 || host_files.contains(&(meta.dev(), meta.ino())) {
        findings.push(Finding::error(
            Code::FileHardlink,
            display(path),
            format!(
                "has {} links{}: writes elsewhere change what the agent reads",
                meta.nlink(),
                if host_files.contains(&(meta.dev(), meta.ino())) {
                    " and is the same file as ~/.aws/config or ~/.aws/credentials"
                } else {
                    ""
                }
            ),
        ));
    }
    let (owner, mode) = trust::private_problems(&meta, nix::unistd::geteuid().as_raw(), 0o600);
    findings.extend(owner.map(|m| Finding::error(Code::FileNotOwned, display(path), m)));
    findings.extend(mode.map(|m| Finding::error(Code::FileMode, display(path), m)));
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    if let Err(e) = file.read_to_end(&mut bytes) {
        findings.push(Finding::error(
            Code::ReadFailed,
            display(path),
            e.to_string(),
        ));
        return None;
    }
    // Contents are checked even when only the file's metadata is wrong.
    Some(bytes)
}

fn at_line(line: usize, message: &str) -> String {
    if line == 0 {
        message.to_owned()
    } else {
        format!("line {line}: {message}")
    }
}

fn issue_finding(path: &Path, issue: &ini::Issue) -> Finding {
    Finding::error(
        issue.code,
        display(path),
        at_line(issue.line, &issue.message),
    )
}

/// What the AWS SDK's own loader sees in a file: a finding when it cannot read it, and
/// one for each non-kiro profile it sees that the strict reader has not already named.
fn check_sdk_view(
    path: &Path,
    bytes: &[u8],
    kind: FileKind,
    already_reported: &HashSet<String>,
    findings: &mut Vec<Finding>,
) -> Option<sdk_view::SdkView> {
    let text = std::str::from_utf8(bytes).ok()?;
    match sdk_view::load(text, kind) {
        Ok(view) => {
            for name in view.profiles.keys() {
                if profile::check_profile_name(name).is_err() && !already_reported.contains(name) {
                    findings.push(Finding::error(
                        Code::ProfileNotKiro,
                        display(path),
                        format!("the AWS SDK sees profile `{name}`, which is not a kiro profile"),
                    ));
                }
            }
            Some(view)
        }
        Err(e) => {
            findings.push(Finding::error(
                Code::SdkParseError,
                display(path),
                format!("the AWS SDK cannot read it: {e}"),
            ));
            None
        }
    }
}

fn check_config(path: &Path, bytes: &[u8], findings: &mut Vec<Finding>) -> Option<ProfileSet> {
    let mut parsed = config_file::parse(bytes);
    findings.extend(parsed.issues.iter().map(|i| issue_finding(path, i)));
    let non_kiro = std::mem::take(&mut parsed.non_kiro_sections);
    // The SDK's own reading: what it cannot read or sees beyond the kiro profiles, and,
    // for a text the strict reader accepted, where its values differ.
    let sdk = |findings: &mut Vec<Finding>, ours: Option<(&[SsoSession], &[Profile])>| {
        let view = check_sdk_view(path, bytes, FileKind::Config, &non_kiro, findings);
        if let Some(difference) = view
            .zip(ours)
            .and_then(|(view, (sessions, profiles))| sdk_disagreement(&view, sessions, profiles))
        {
            findings.push(Finding::error(Code::SdkMismatch, display(path), difference));
        }
    };
    if !parsed.issues.is_empty() {
        sdk(findings, None);
        return None;
    }
    if let Some(issue) = parsed.set_issue() {
        sdk(findings, Some((&parsed.sessions, &parsed.profiles)));
        findings.push(issue_finding(path, &issue));
        return None;
    }
    let set = parsed.into_set().expect("no issues were found");
    // The bytes are exactly what kiro-aws renders for this set: the canonical text, which
    // the property tests read back with the Rust SDK and botocore, over random and edge
    // sets of every value the rules admit. Any other text is read by the SDK as well.
    if !is_canonical(&set, bytes) {
        sdk(findings, Some((&set.sessions, &set.profiles)));
    }
    Some(set)
}

/// Whether `bytes` are exactly the text kiro-aws renders for `set`.
fn is_canonical(set: &ProfileSet, bytes: &[u8]) -> bool {
    config_file::render(set).as_bytes() == bytes
}

/// Where the SDK's reading of a clean config differs from kiro-aws's, if anywhere:
/// the same profiles and sso-sessions, with the same values for every allowed key.
pub fn sdk_disagreement(
    view: &sdk_view::SdkView,
    sessions: &[SsoSession],
    profiles: &[Profile],
) -> Option<String> {
    let ours: sdk_view::SdkView = sdk_view::SdkView {
        profiles: profiles
            .iter()
            .map(|p| (p.name.clone(), p.values()))
            .collect(),
        sso_sessions: sessions
            .iter()
            .map(|s| (s.name.clone(), s.values()))
            .collect(),
    };
    if view.profile_names() != ours.profile_names() {
        return Some(format!(
            "the AWS SDK sees profiles [{}] where kiro-aws sees [{}]",
            view.profile_names().join(", "),
            ours.profile_names().join(", ")
        ));
    }
    let differs = |kind: &str,
                   theirs: &std::collections::BTreeMap<String, sdk_view::Values>,
                   mine: &std::collections::BTreeMap<String, sdk_view::Values>| {
        mine.iter().find_map(|(name, values)| {
            let sdk = theirs.get(name);
            (sdk != Some(values)).then(|| {
                format!(
                    "the AWS SDK reads {kind} `{name}` as {sdk:?} where kiro-aws reads {values:?}"
                )
            })
        })
    };
    differs("profile", &view.profiles, &ours.profiles)
        .or_else(|| differs("sso-session", &view.sso_sessions, &ours.sso_sessions))
}

fn check_credentials(path: &Path, bytes: &[u8], findings: &mut Vec<Finding>) {
    let doc = ini::parse(bytes, FileKind::Credentials);
    if !doc.sections.is_empty() || !doc.issues.is_empty() {
        let names: Vec<&str> = doc.sections.iter().map(|s| s.name).collect();
        findings.push(Finding::error(
            Code::CredentialsNotEmpty,
            display(path),
            if names.is_empty() {
                "holds lines other than comments; it must stay empty".to_owned()
            } else {
                format!("holds [{}]; it must stay empty", names.join(", "))
            },
        ));
    }
    findings.extend(doc.issues.iter().map(|i| issue_finding(path, i)));
    check_sdk_view(
        path,
        bytes,
        FileKind::Credentials,
        &HashSet::new(),
        findings,
    );
}

/// Files botocore reads from fixed places under `$HOME`, which no variable can move away
/// from the agent, and backups that `init --force` left beside the isolated files.
fn check_fixed_host_paths(paths: &Paths, findings: &mut Vec<Finding>) {
    if fs::symlink_metadata(&paths.host_models).is_ok() {
        findings.push(Finding::error(
            Code::HostModelsPresent,
            display(&paths.host_models),
            "botocore loads service models and endpoint rules from here, so they can send any \
             call (the SSO token included) elsewhere",
        ));
    }
    check_system_boto(Path::new(SYSTEM_BOTO_CONFIG), findings);
    if fs::symlink_metadata(&paths.host_cli_alias).is_ok() {
        findings.push(Finding::error(
            Code::HostCliAliasPresent,
            display(&paths.host_cli_alias),
            "AWS CLI aliases can turn an auto-approved read-only `aws` call into any shell command",
        ));
    }
    for file in [&paths.config, &paths.credentials] {
        for leftover in atomic_file::leftovers(file) {
            findings.push(Finding::warning(
                Code::TempFileLeft,
                display(&leftover),
                "an interrupted write left this temporary file; the next `kiro-aws init` removes it",
            ));
        }
    }
    let Ok(entries) = fs::read_dir(&paths.kiro_dir) else {
        return;
    };
    let mut backups: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(BACKUP_INFIX))
        .collect();
    backups.sort();
    for name in backups {
        findings.push(Finding::warning(
            Code::BackupPresent,
            display(&paths.kiro_dir.join(name)),
            "a file `init --force` replaced, kept where the agent can read it",
        ));
    }
}

fn check_environment(inherited: &Env, findings: &mut Vec<Finding>) {
    let mut names: Vec<&str> = inherited.names().collect();
    names.sort_unstable();
    for name in names {
        if environment::is_removed(name) {
            findings.push(Finding::warning(
                Code::EnvInherited,
                format!("${name}"),
                "is set in this environment; the launch removes it (or sets its own value)",
            ));
        } else if environment::is_tls_setting(name) {
            findings.push(Finding::warning(
                Code::EnvReported,
                format!("${name}"),
                "is set and kept in the default mode: it changes where TLS goes or whom it trusts, so whoever it names can read the agent's AWS traffic, the SSO token included",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n\
                         [profile kiro-a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n";

    #[test]
    fn a_system_boto_config_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("boto.cfg");
        let mut findings = Vec::new();
        check_system_boto(&path, &mut findings);
        assert!(findings.is_empty());
        std::fs::write(&path, "[Credentials]\n").unwrap();
        check_system_boto(&path, &mut findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, Code::SystemBotoConfig);
        assert!(!findings[0].is_error());
    }

    #[test]
    fn sdk_and_kiro_aws_agree_on_a_clean_file() {
        let view = sdk_view::load(CLEAN, FileKind::Config).unwrap();
        let set = config_file::parse(CLEAN.as_bytes()).into_set().unwrap();
        assert_eq!(sdk_disagreement(&view, &set.sessions, &set.profiles), None);
    }

    #[test]
    fn only_the_canonical_text_skips_the_sdk_reading() {
        let set = config_file::tests::sample();
        let text = config_file::render(&set);
        let parsed = config_file::parse(text.as_bytes()).into_set().unwrap();
        assert!(is_canonical(&parsed, text.as_bytes()));
        // The same profiles, one byte away from the canonical text: the SDK reads it.
        for other in [
            text.replace("\n\n[profile", "\n# a note\n\n[profile"),
            text.replace("\n", "\r\n"),
            format!("{text}\n"),
        ] {
            let parsed = config_file::parse(other.as_bytes()).into_set().unwrap();
            assert_eq!(parsed.profiles, set.profiles);
            assert!(!is_canonical(&parsed, other.as_bytes()), "{other:?}");
        }
    }

    #[test]
    fn any_difference_in_names_or_values_is_reported() {
        let parsed = config_file::parse(CLEAN.as_bytes()).into_set().unwrap();
        let view = sdk_view::load(CLEAN, FileKind::Config).unwrap();
        let mut extra = view.clone();
        extra.profiles.insert("prod".into(), Default::default());
        assert!(sdk_disagreement(&extra, &parsed.sessions, &parsed.profiles)
            .unwrap()
            .contains("[kiro-a, prod]"));
        let mut value = view.clone();
        value
            .profiles
            .get_mut("kiro-a")
            .unwrap()
            .insert("sso_account_id".into(), "111111111111\u{a0}".into());
        assert!(sdk_disagreement(&value, &parsed.sessions, &parsed.profiles)
            .unwrap()
            .contains("profile `kiro-a`"));
        let mut session = view.clone();
        session
            .sso_sessions
            .get_mut("s")
            .unwrap()
            .remove("sso_region");
        assert!(
            sdk_disagreement(&session, &parsed.sessions, &parsed.profiles)
                .unwrap()
                .contains("sso-session `s`")
        );
    }
}
