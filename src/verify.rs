//! The proof that only kiro-* profiles resolve: every check on the isolated files, their
//! directory, and the inherited environment. Pure reads; nothing is written.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use serde::Serialize;

use crate::config_file;
use crate::finding::{Finding, Severity};
use crate::ini::{self, FileKind};
use crate::launch_env;
use crate::paths::Paths;
use crate::profile::{self, ProfileSet};
use crate::sdk_view;

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
    #[serde(skip)]
    pub set: Option<ProfileSet>,
}

impl Report {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

pub fn verify(paths: &Paths, inherited: &[(OsString, OsString)]) -> Report {
    let mut findings = Vec::new();
    check_directories(paths, &mut findings);
    let host_files: Vec<(u64, u64)> = [&paths.host_config, &paths.host_credentials]
        .iter()
        .filter_map(|p| fs::metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let config = read_checked(&paths.config, "config_missing", &host_files, &mut findings);
    let credentials = read_checked(
        &paths.credentials,
        "credentials_missing",
        &host_files,
        &mut findings,
    );
    let set = config.and_then(|bytes| check_config(&paths.config, &bytes, &mut findings));
    if let Some(bytes) = credentials {
        check_credentials(&paths.credentials, &bytes, &mut findings);
    }
    check_fixed_host_paths(paths, &mut findings);
    check_environment(inherited, &mut findings);
    let ok = !findings.iter().any(|f| f.severity == Severity::Error);
    Report {
        ok,
        profiles: set.as_ref().map(ProfileSet::names).unwrap_or_default(),
        strict_default: set.as_ref().is_some_and(|s| s.strict),
        strict: None,
        findings,
        set: if ok { set } else { None },
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn check_directories(paths: &Paths, findings: &mut Vec<Finding>) {
    let dir = &paths.kiro_dir;
    let me = nix::unistd::geteuid().as_raw();
    if let Ok(meta) = fs::symlink_metadata(dir) {
        if meta.file_type().is_symlink() {
            findings.push(Finding::error(
                "dir_symlink",
                display(dir),
                "is a symlink: the isolated files could be swapped from elsewhere",
            ));
        } else {
            if meta.uid() != me {
                findings.push(Finding::error(
                    "dir_writable",
                    display(dir),
                    format!("belongs to uid {}, not to you", meta.uid()),
                ));
            }
            if meta.mode() & 0o077 != 0 {
                findings.push(Finding::error(
                    "dir_mode",
                    display(dir),
                    format!("has mode {:o}; it must be 700", meta.mode() & 0o777),
                ));
            }
        }
    }
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        let sticky = meta.mode() & 0o1000 != 0;
        let foreign_owner = meta.uid() != me && meta.uid() != 0;
        if (meta.mode() & 0o022 != 0 && !sticky) || foreign_owner {
            findings.push(Finding::error(
                "dir_writable",
                display(ancestor),
                format!(
                    "mode {:o}, owner uid {}: someone else can replace what lies below it",
                    meta.mode() & 0o7777,
                    meta.uid()
                ),
            ));
        }
    }
}

/// Read an isolated file without following a symlink, and check what it is.
fn read_checked(
    path: &Path,
    missing_code: &'static str,
    host_files: &[(u64, u64)],
    findings: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path);
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
                "file_symlink",
                display(path),
                "is a symlink; kiro-aws reads only real files here",
            ));
            return None;
        }
        Err(e) => {
            findings.push(Finding::error("read_failed", display(path), e.to_string()));
            return None;
        }
    };
    let meta = match file.metadata() {
        Ok(meta) => meta,
        Err(e) => {
            findings.push(Finding::error("read_failed", display(path), e.to_string()));
            return None;
        }
    };
    if !meta.is_file() {
        findings.push(Finding::error(
            "file_not_regular",
            display(path),
            "is not a regular file",
        ));
        return None;
    }
    if meta.nlink() > 1 || host_files.contains(&(meta.dev(), meta.ino())) {
        findings.push(Finding::error(
            "file_hardlink",
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
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        findings.push(Finding::error(
            "file_not_owned",
            display(path),
            format!("belongs to uid {}, not to you (uid {me})", meta.uid()),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        findings.push(Finding::error(
            "file_mode",
            display(path),
            format!("has mode {:o}; it must be 600", meta.mode() & 0o777),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    if let Err(e) = file.read_to_end(&mut bytes) {
        findings.push(Finding::error("read_failed", display(path), e.to_string()));
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
    already_reported: &[String],
    findings: &mut Vec<Finding>,
) -> Option<sdk_view::SdkView> {
    let text = std::str::from_utf8(bytes).ok()?;
    match sdk_view::load(text, kind) {
        Ok(view) => {
            for name in view.profiles.keys() {
                if profile::check_profile_name(name).is_err() && !already_reported.contains(name) {
                    findings.push(Finding::error(
                        "profile_not_kiro",
                        display(path),
                        format!("the AWS SDK sees profile `{name}`, which is not a kiro profile"),
                    ));
                }
            }
            Some(view)
        }
        Err(e) => {
            findings.push(Finding::error(
                "sdk_parse_error",
                display(path),
                format!("the AWS SDK cannot read it: {e}"),
            ));
            None
        }
    }
}

fn check_config(path: &Path, bytes: &[u8], findings: &mut Vec<Finding>) -> Option<ProfileSet> {
    let parsed = config_file::parse(bytes);
    findings.extend(parsed.issues.iter().map(|i| issue_finding(path, i)));
    let view = check_sdk_view(
        path,
        bytes,
        FileKind::Config,
        &parsed.profile_sections,
        findings,
    );
    if !parsed.issues.is_empty() {
        return None;
    }
    if let Some(difference) = view.and_then(|view| sdk_disagreement(&view, &parsed)) {
        findings.push(Finding::error("sdk_mismatch", display(path), difference));
    }
    match parsed.into_set() {
        Ok(set) => Some(set),
        Err(issues) => {
            findings.extend(issues.iter().map(|i| issue_finding(path, i)));
            None
        }
    }
}

/// Where the SDK's reading of a clean config differs from kiro-aws's, if anywhere:
/// the same profiles and sso-sessions, with the same values for every allowed key.
pub fn sdk_disagreement(view: &sdk_view::SdkView, parsed: &config_file::Parsed) -> Option<String> {
    let ours: sdk_view::SdkView = sdk_view::SdkView {
        profiles: parsed
            .profiles
            .iter()
            .map(|p| (p.name.clone(), p.values()))
            .collect(),
        sso_sessions: parsed
            .sessions
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
        let names: Vec<&str> = doc.sections.iter().map(|s| s.name.as_str()).collect();
        findings.push(Finding::error(
            "credentials_not_empty",
            display(path),
            if names.is_empty() {
                "holds lines other than comments; it must stay empty".to_owned()
            } else {
                format!("holds [{}]; it must stay empty", names.join(", "))
            },
        ));
    }
    findings.extend(doc.issues.iter().map(|i| issue_finding(path, i)));
    check_sdk_view(path, bytes, FileKind::Credentials, &[], findings);
}

/// Files botocore reads from fixed places under `$HOME`, which no variable can move away
/// from the agent, and backups that `init --force` left beside the isolated files.
fn check_fixed_host_paths(paths: &Paths, findings: &mut Vec<Finding>) {
    if fs::symlink_metadata(&paths.host_models).is_ok() {
        findings.push(Finding::error(
            "host_models_present",
            display(&paths.host_models),
            "botocore loads service models and endpoint rules from here, so they can send any \
             call (the SSO token included) elsewhere",
        ));
    }
    if fs::symlink_metadata(&paths.host_cli_alias).is_ok() {
        findings.push(Finding::error(
            "host_cli_alias_present",
            display(&paths.host_cli_alias),
            "AWS CLI aliases can turn an auto-approved read-only `aws` call into any shell command",
        ));
    }
    let Ok(entries) = fs::read_dir(&paths.kiro_dir) else {
        return;
    };
    let mut backups: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".kiro-aws-backup-"))
        .collect();
    backups.sort();
    for name in backups {
        findings.push(Finding::warning(
            "backup_present",
            display(&paths.kiro_dir.join(name)),
            "a file `init --force` replaced, kept where the agent can read it",
        ));
    }
}

fn check_environment(inherited: &[(OsString, OsString)], findings: &mut Vec<Finding>) {
    let mut names: Vec<String> = inherited
        .iter()
        .filter_map(|(name, _)| name.to_str().map(str::to_owned))
        .collect();
    names.sort();
    for name in names {
        if launch_env::is_removed(&name) {
            findings.push(Finding::warning(
                "env_inherited",
                format!("${name}"),
                "is set in this environment; the launch removes it",
            ));
        } else if launch_env::REPORTED.contains(&name.as_str()) {
            findings.push(Finding::warning(
                "env_reported",
                format!("${name}"),
                "is set and kept: it changes how AWS traffic leaves this machine",
            ));
        }
    }
}

/// `verify --strict`: can this machine build the strict sandbox for these files? Builds
/// it once around `true`, exactly as a launch would, and reports why not.
pub fn check_strict(report: &mut Report, paths: &Paths, inherited: &[(OsString, OsString)]) {
    let Some(set) = report.set.as_ref() else {
        // Nothing to launch: strict mode cannot run either.
        report.strict = Some(false);
        return;
    };
    let outcome = crate::strict::prepare(paths, inherited, set, &set.default_profile, &[])
        .and_then(|prepared| crate::strict::preflight(&prepared));
    if let Err(error) = outcome {
        let code = match error.code {
            "strict_bwrap_missing" => "strict_bwrap_missing",
            "strict_bwrap_untrusted" => "strict_bwrap_untrusted",
            "strict_aws_dir_symlink" => "strict_aws_dir_symlink",
            _ => "strict_sandbox_failed",
        };
        let path = error
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "bwrap".into());
        let mut finding = Finding::error(code, path, error.message);
        finding.fix = error.fix;
        report.findings.push(finding);
        report.ok = false;
    }
    if !crate::landlock::can_scope() {
        report.findings.push(Finding::warning(
            "strict_landlock_missing",
            "landlock",
            format!(
                "Landlock ABI {} cannot keep the sandbox from abstract sockets outside (needs 6, Linux 6.12)",
                crate::landlock::abi()
            ),
        ));
    }
    report.strict = Some(report.ok);
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\n\
                         [profile kiro-a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n";

    #[test]
    fn sdk_and_kiro_aws_agree_on_a_clean_file() {
        let view = sdk_view::load(CLEAN, FileKind::Config).unwrap();
        assert_eq!(
            sdk_disagreement(&view, &config_file::parse(CLEAN.as_bytes())),
            None
        );
    }

    #[test]
    fn any_difference_in_names_or_values_is_reported() {
        let parsed = config_file::parse(CLEAN.as_bytes());
        let view = sdk_view::load(CLEAN, FileKind::Config).unwrap();
        let mut extra = view.clone();
        extra.profiles.insert("prod".into(), Default::default());
        assert!(sdk_disagreement(&extra, &parsed)
            .unwrap()
            .contains("[kiro-a, prod]"));
        let mut value = view.clone();
        value
            .profiles
            .get_mut("kiro-a")
            .unwrap()
            .insert("sso_account_id".into(), "111111111111\u{a0}".into());
        assert!(sdk_disagreement(&value, &parsed)
            .unwrap()
            .contains("profile `kiro-a`"));
        let mut session = view.clone();
        session
            .sso_sessions
            .get_mut("s")
            .unwrap()
            .remove("sso_region");
        assert!(sdk_disagreement(&session, &parsed)
            .unwrap()
            .contains("sso-session `s`"));
    }
}
