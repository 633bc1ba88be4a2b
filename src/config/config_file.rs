//! The isolated AWS config: rendering the canonical form and reading it (or a team file,
//! which has the same format) back into the profile model.

use std::collections::HashSet;

use crate::code::Code;
use crate::config::ini::{self, FileKind, Issue, SectionKind};
use crate::config::profile::{self, ProfileSet, DEFAULT_REGISTRATION_SCOPES};

/// First line of every config kiro-aws writes; how `init` knows a file is its own.
pub const MANAGED_HEADER: &str = "# Managed by kiro-aws.";
/// Comment line that records the default profile (both AWS parsers skip comments).
const DEFAULT_MARKER: &str = "# kiro-aws:default-profile = ";
/// Comment line that makes strict mode the default (`init --strict`); a team file may
/// carry it too.
const STRICT_MARKER: &str = "# kiro-aws:strict = true";
/// Comment line that gives the agent the file-writing tool (`init --allow-write-tool`).
/// Only `init`'s flag writes it: from a team file it is ignored.
const WRITE_TOOL_MARKER: &str = "# kiro-aws:allow-write-tool = true";
/// Comment line that accepts one role whose name looks like an administrator's
/// (`init --allow-role NAME`); only `init`'s flag writes it.
const ALLOW_ROLE_MARKER: &str = "# kiro-aws:allow-role = ";
/// Comment line that records one profile `init --discover` made, so that `--prune` may
/// remove it and never one made otherwise; a team file cannot carry it.
const DISCOVERED_MARKER: &str = "# kiro-aws:discovered = ";

pub fn is_managed(bytes: &[u8]) -> bool {
    bytes.starts_with(MANAGED_HEADER.as_bytes())
}

/// The canonical text: no duplicates, no inline comments, no quotes, lower-case keys, and
/// only allow-listed keys, so botocore and the Rust SDK read exactly the same profiles.
pub fn render(set: &ProfileSet) -> String {
    use std::fmt::Write;
    // Writing to a String cannot fail.
    let mut out = String::with_capacity(256 + 128 * set.profiles.len());
    let _ = write!(
        out,
        "{MANAGED_HEADER} `kiro-aws init` rewrites this file; change the team file or flags instead.\n\
         # Only kiro-* SSO profiles belong here: `kiro-aws verify` refuses anything else.\n\
         {DEFAULT_MARKER}{}\n",
        set.default_profile
    );
    if set.strict {
        out.push_str(STRICT_MARKER);
        out.push('\n');
    }
    if set.write_tool {
        out.push_str(WRITE_TOOL_MARKER);
        out.push('\n');
    }
    for role in &set.allowed_roles {
        let _ = writeln!(out, "{ALLOW_ROLE_MARKER}{role}");
    }
    for name in &set.discovered {
        let _ = writeln!(out, "{DISCOVERED_MARKER}{name}");
    }
    for session in &set.sessions {
        let _ = write!(
            out,
            "\n[sso-session {}]\nsso_start_url = {}\nsso_region = {}\nsso_registration_scopes = {}\n",
            session.name,
            session.start_url,
            session.region,
            session
                .registration_scopes
                .as_deref()
                .unwrap_or(DEFAULT_REGISTRATION_SCOPES)
        );
    }
    for p in &set.profiles {
        let _ = write!(
            out,
            "\n[profile {}]\nsso_session = {}\nsso_account_id = {}\nsso_role_name = {}\n",
            p.name, p.sso_session, p.account_id, p.role_name
        );
        if let Some(region) = &p.region {
            let _ = writeln!(out, "region = {region}");
        }
        if let Some(output) = &p.output {
            let _ = writeln!(out, "output = {output}");
        }
    }
    out
}

/// A config-format text read into the model, with every issue found on the way.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub sessions: Vec<profile::SsoSession>,
    pub profiles: Vec<profile::Profile>,
    /// The recorded default profile and its line.
    pub default_profile: Option<(String, usize)>,
    /// The profile sections the strict reader saw that are not kiro profiles (each is
    /// an issue already).
    pub non_kiro_sections: HashSet<String>,
    /// The file carries the strict marker.
    pub strict: bool,
    /// The file carries the write-tool marker.
    pub write_tool: bool,
    /// The roles its allow-role markers accept.
    pub allowed_roles: Vec<String>,
    /// The profiles its discovered markers name (only those that exist).
    pub discovered: Vec<String>,
    pub issues: Vec<Issue>,
}

impl Parsed {
    /// Why the profiles, valid one by one, make no whole set: none at all, or a recorded
    /// default profile that is not among them.
    pub fn set_issue(&self) -> Option<Issue> {
        let wanted = self.default_profile.as_ref();
        ProfileSet::default_of(&self.profiles, wanted.map(|d| d.0.as_str()))
            .err()
            .map(|problem| Issue {
                code: problem.code,
                line: match problem.code {
                    Code::NoProfiles => 0,
                    _ => wanted.map_or(0, |d| d.1),
                },
                message: problem.message,
            })
    }

    /// The set, when the text broke no rule at all.
    pub fn into_set(self) -> Result<ProfileSet, Vec<Issue>> {
        if !self.issues.is_empty() {
            return Err(self.issues);
        }
        if let Some(issue) = self.set_issue() {
            return Err(vec![issue]);
        }
        let default = self.default_profile.as_ref().map(|d| d.0.as_str());
        let set = ProfileSet::new(self.sessions, self.profiles, default)
            .expect("set_issue found no problem");
        Ok(ProfileSet {
            strict: self.strict,
            write_tool: self.write_tool,
            allowed_roles: self.allowed_roles,
            discovered: self.discovered,
            ..set
        })
    }
}

pub fn parse(bytes: &[u8]) -> Parsed {
    parse_as(bytes, None)
}

/// A team file: read like the isolated config, but the settings only `init`'s flags may
/// give (the write tool, accepted roles) are not taken from it; `allowed_roles` are the
/// roles `--allow-role` accepts.
pub fn parse_team_file(bytes: &[u8], allowed_roles: &[String]) -> Parsed {
    parse_as(bytes, Some(allowed_roles))
}

fn parse_as(bytes: &[u8], team_allowed_roles: Option<&[String]>) -> Parsed {
    // kiro-aws's own settings are comment lines, which both AWS parsers skip; they are
    // looked for on every line, even in a file with issues (`init` keeps the strict
    // default of a config it rewrites).
    let mut default_profile = None;
    let mut strict = false;
    let mut write_tool = false;
    let mut allowed_roles: Vec<String> = Vec::new();
    let mut discovered: Vec<String> = Vec::new();
    if let Ok(text) = std::str::from_utf8(bytes) {
        for (i, line) in text.lines().enumerate() {
            if let Some(name) = line.strip_prefix(DEFAULT_MARKER) {
                default_profile.get_or_insert_with(|| (name.trim().to_owned(), i + 1));
            } else if let Some(role) = line.strip_prefix(ALLOW_ROLE_MARKER) {
                allowed_roles.push(role.trim().to_owned());
            } else if let Some(name) = line.strip_prefix(DISCOVERED_MARKER) {
                discovered.push(name.trim().to_owned());
            } else if line.trim_end() == STRICT_MARKER {
                strict = true;
            } else if line.trim_end() == WRITE_TOOL_MARKER {
                write_tool = true;
            }
        }
    }
    if let Some(allowed) = team_allowed_roles {
        write_tool = false;
        allowed_roles = allowed.to_vec();
        discovered.clear();
    }
    allowed_roles.sort();
    allowed_roles.dedup();
    let doc = ini::parse(bytes, FileKind::Config);
    let (sessions, profiles, model_issues) = profile::from_document(&doc, &allowed_roles);
    let non_kiro_sections = doc
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::Profile && profile::check_profile_name(s.name).is_err())
        .map(|s| s.name.to_owned())
        .collect();
    discovered.retain(|name| profiles.iter().any(|p| &p.name == name));
    discovered.sort();
    discovered.dedup();
    let mut issues = doc.issues;
    issues.extend(model_issues);
    issues.sort_by_key(|i| i.line);
    Parsed {
        sessions,
        profiles,
        default_profile,
        non_kiro_sections,
        strict,
        write_tool,
        allowed_roles,
        discovered,
        issues,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::profile::{Profile, SsoSession};

    pub(crate) fn sample() -> ProfileSet {
        ProfileSet::new(
            vec![SsoSession {
                name: "kiro".into(),
                start_url: "https://d-1234567890.awsapps.com/start".into(),
                region: "eu-west-1".into(),
                registration_scopes: None,
            }],
            vec![
                Profile {
                    name: "kiro-dev".into(),
                    sso_session: "kiro".into(),
                    account_id: "111111111111".into(),
                    role_name: "KiroReadOnly".into(),
                    region: Some("eu-west-1".into()),
                    output: None,
                },
                Profile {
                    name: "kiro-prod-write".into(),
                    sso_session: "kiro".into(),
                    account_id: "222222222222".into(),
                    role_name: "KiroWrite".into(),
                    region: None,
                    output: Some("json".into()),
                },
            ],
            Some("kiro-dev"),
        )
        .unwrap()
    }

    #[test]
    fn render_is_canonical_and_reads_back() {
        let set = sample();
        let text = render(&set);
        assert!(is_managed(text.as_bytes()));
        let mut expected = set.clone();
        expected.sessions[0].registration_scopes = Some(DEFAULT_REGISTRATION_SCOPES.into());
        assert_eq!(parse(text.as_bytes()).into_set().unwrap(), expected);
        assert_eq!(render(&expected), text, "rendering is a fixed point");

        let strict = ProfileSet {
            strict: true,
            ..expected
        };
        let text = render(&strict);
        assert!(text.contains("\n# kiro-aws:strict = true\n"));
        assert_eq!(parse(text.as_bytes()).into_set().unwrap(), strict);
    }

    #[test]
    fn forbidden_and_missing_pieces_are_reported_by_line() {
        let text = "[profile kiro-a]\nsso_session = kiro\nsso_account_id = 111111111111\n\
                    sso_role_name = R\ncredential_process = /bin/steal\n\
                    [profile kiro-b]\nsso_session = nope\nsso_account_id = 1\nsso_role_name = R\n\
                    [sso-session kiro]\nsso_start_url = http://x\n[default]\nregion = us-east-1\n";
        let issues: Vec<_> = parse(text.as_bytes())
            .issues
            .iter()
            .map(|i| (i.code.as_str(), i.line))
            .collect();
        assert_eq!(
            issues,
            vec![
                ("key_forbidden", 5),
                ("invalid_account_id", 8),
                ("sso_session_incomplete", 10),
                ("sso_session_incomplete", 11),
                ("profile_not_kiro", 12),
            ]
        );
    }

    #[test]
    fn reference_to_an_undeclared_session() {
        let text = "[profile kiro-a]\nsso_session = other\nsso_account_id = 111111111111\nsso_role_name = R\n";
        let parsed = parse(text.as_bytes());
        assert_eq!(parsed.issues[0].code, Code::SsoSessionMissing);
        assert_eq!(parsed.issues[0].line, 2);
        assert!(parsed.profiles.is_empty());
    }
}
