//! The profile model: kiro-* SSO profiles and the sso-session blocks they use. Every rule
//! about what a valid profile is lives here, whether it arrives from flags, a team file or
//! the isolated config on disk.

use std::collections::{BTreeMap, HashSet};

use crate::code::Code;
use crate::config::ini::{Document, Issue, SectionKind};

pub const DEFAULT_SESSION: &str = "kiro";
pub const PREFERRED_DEFAULT_PROFILE: &str = "kiro-readonly";
pub const DEFAULT_REGISTRATION_SCOPES: &str = "sso:account:access";

/// The only keys a kiro profile may carry. Anything else can redirect credentials
/// (`credential_process`, `source_profile`, `role_arn`, static keys, ...) or endpoints.
pub const PROFILE_KEYS: [&str; 5] = [
    "sso_session",
    "sso_account_id",
    "sso_role_name",
    "region",
    "output",
];
pub const SESSION_KEYS: [&str; 3] = ["sso_start_url", "sso_region", "sso_registration_scopes"];
const OUTPUTS: [&str; 5] = ["json", "text", "table", "yaml", "yaml-stream"];

/// A rule that a name or value breaks: its code, the key it concerns (`None`: the whole
/// section), and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub key: Option<&'static str>,
    pub message: String,
}

impl Problem {
    fn new(code: Code, key: Option<&'static str>, message: String) -> Self {
        Problem { code, key, message }
    }
}

type Checked = Result<(), Problem>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSession {
    pub name: String,
    pub start_url: String,
    pub region: String,
    pub registration_scopes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub sso_session: String,
    pub account_id: String,
    pub role_name: String,
    pub region: Option<String>,
    pub output: Option<String>,
}

impl SsoSession {
    /// The block's keys and values as an AWS config file holds them.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::from([
            ("sso_start_url".to_owned(), self.start_url.clone()),
            ("sso_region".to_owned(), self.region.clone()),
        ]);
        if let Some(scopes) = &self.registration_scopes {
            values.insert("sso_registration_scopes".into(), scopes.clone());
        }
        values
    }
}

impl Profile {
    /// The profile's keys and values as an AWS config file holds them.
    pub fn values(&self) -> BTreeMap<String, String> {
        let mut values = BTreeMap::from([
            ("sso_session".to_owned(), self.sso_session.clone()),
            ("sso_account_id".to_owned(), self.account_id.clone()),
            ("sso_role_name".to_owned(), self.role_name.clone()),
        ]);
        if let Some(region) = &self.region {
            values.insert("region".into(), region.clone());
        }
        if let Some(output) = &self.output {
            values.insert("output".into(), output.clone());
        }
        values
    }

    /// Only profiles whose name ends in `-write` may be used for changes.
    pub fn is_write(&self) -> bool {
        self.name.ends_with("-write")
    }

    pub fn is_production(&self) -> bool {
        self.name.contains("prod")
    }
}

/// A complete, valid set: what `init` writes and what launches use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSet {
    pub sessions: Vec<SsoSession>,
    pub profiles: Vec<Profile>,
    pub default_profile: String,
    /// Launches run in the strict sandbox unless told otherwise (`init --strict`).
    pub strict: bool,
    /// The agent gets the file-writing tool (`init --allow-write-tool`).
    pub write_tool: bool,
    /// Roles that look like an administrator's but that `init --allow-role` accepted.
    pub allowed_roles: Vec<String>,
    /// The profiles `init --discover` made (only those may `--prune` remove), by name.
    pub discovered: Vec<String>,
}

impl ProfileSet {
    /// Resolve the default profile (explicit, else `kiro-readonly` when present, else the
    /// first) and check the set is whole. Errors are `(code, message)`.
    pub fn new(
        sessions: Vec<SsoSession>,
        profiles: Vec<Profile>,
        default_profile: Option<&str>,
    ) -> Result<Self, Problem> {
        let default_profile = Self::default_of(&profiles, default_profile)?;
        Ok(ProfileSet {
            sessions,
            profiles,
            default_profile,
            strict: false,
            write_tool: false,
            allowed_roles: Vec::new(),
            discovered: Vec::new(),
        })
    }

    /// The default profile of `profiles`: `wanted` when it is one of them, else
    /// `kiro-readonly` when present, else the first read-only one. A `-write` profile is
    /// the default only when named: `AWS_PROFILE` is what the agent's calls use unasked.
    pub fn default_of(profiles: &[Profile], wanted: Option<&str>) -> Result<String, Problem> {
        if profiles.is_empty() {
            return Err(Problem::new(
                Code::NoProfiles,
                None,
                "there is no kiro-* profile".into(),
            ));
        }
        match wanted {
            Some(name) if profiles.iter().any(|p| p.name == name) => Ok(name.to_owned()),
            Some(name) => Err(Problem::new(
                Code::DefaultProfileMissing,
                None,
                format!("the default profile `{name}` is not among the profiles"),
            )),
            None => profiles
                .iter()
                .find(|p| p.name == PREFERRED_DEFAULT_PROFILE)
                .or_else(|| profiles.iter().find(|p| !p.is_write()))
                .map(|p| p.name.clone())
                .ok_or_else(|| {
                    Problem::new(
                        Code::DefaultProfileMissing,
                        None,
                        "every profile is a -write profile, and none is named the default".into(),
                    )
                }),
        }
    }

    /// The sso-session of the default profile.
    pub fn default_session(&self) -> &str {
        self.profile(&self.default_profile)
            .map_or("", |p| p.sso_session.as_str())
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    pub fn names(&self) -> Vec<String> {
        self.profiles.iter().map(|p| p.name.clone()).collect()
    }
}

pub fn check_profile_name(name: &str) -> Checked {
    let ok = name.strip_prefix("kiro-").is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            Code::ProfileNotKiro,
            None,
            format!("profile `{name}` is not a kiro profile (kiro-[a-z0-9][a-z0-9-]*)"),
        ))
    }
}

pub fn check_session_name(name: &str) -> Checked {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            Code::InvalidSessionName,
            None,
            format!("sso-session name `{name}` must be letters, digits, `-` or `_`"),
        ))
    }
}

pub fn check_account_id(id: &str) -> Checked {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Problem::new(
            Code::InvalidAccountId,
            Some("sso_account_id"),
            format!("account id `{id}` is not 12 digits"),
        ))
    }
}

/// IAM role names: 1 to 64 of letters, digits and `+=,.@_-`.
pub fn check_role_name(role: &str) -> Checked {
    let ok = (1..=64).contains(&role.len())
        && role
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            Code::InvalidRoleName,
            Some("sso_role_name"),
            format!("role name `{role}` is not an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)"),
        ))
    }
}

/// Regions look like `us-east-1`, `eu-central-2`, `us-gov-west-1`.
pub fn check_region(region: &str) -> Checked {
    check_region_of(region, Some("region"))
}

fn check_region_of(region: &str, key: Option<&'static str>) -> Checked {
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let ok = match region.rsplit_once('-') {
        Some((words, number)) => {
            // `us-gov-west` of `us-gov-west-1`: two letters, then one or more words.
            let mut words = words.split('-');
            let first = words.next().is_some_and(|w| w.len() == 2 && lower(w));
            let mut more = 0;
            let rest = words.all(|w| {
                more += 1;
                lower(w)
            });
            first
                && rest
                && more > 0
                && number.bytes().all(|b| b.is_ascii_digit())
                && !number.starts_with('0')
                && number.parse::<u8>().is_ok_and(|n| n > 0)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            Code::InvalidRegion,
            key,
            format!("`{region}` does not look like a region such as us-east-1"),
        ))
    }
}

pub fn check_start_url(url: &str) -> Checked {
    let host = url.strip_prefix("https://").unwrap_or("");
    let host = host.split(['/', '?', '#']).next().unwrap_or("");
    let ok = !host.is_empty()
        && url.chars().all(|c| c.is_ascii_graphic())
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            Code::SsoSessionIncomplete,
            Some("sso_start_url"),
            format!("start URL `{url}` is not an https:// URL"),
        ))
    }
}

fn check_output(output: &str) -> Checked {
    if OUTPUTS.contains(&output) {
        Ok(())
    } else {
        Err(Problem::new(
            Code::InvalidOutput,
            Some("output"),
            format!("output `{output}` is not one of {}", OUTPUTS.join(", ")),
        ))
    }
}

/// Every rule a single profile must satisfy.
/// Words in a role name that say it can do more than read: an administrator's role
/// renamed as a kiro profile would hand the agent everything.
pub const POWERFUL_ROLE_WORDS: [&str; 3] = ["admin", "poweruser", "fullaccess"];

/// A role whose name looks like an administrator's is refused, unless it is one of
/// `allowed` (exactly as `init --allow-role` recorded it).
pub fn check_role_power(role: &str, allowed: &[String]) -> Checked {
    let lower = role.to_ascii_lowercase();
    match POWERFUL_ROLE_WORDS.iter().find(|w| lower.contains(*w)) {
        Some(word) if !allowed.iter().any(|a| a == role) => Err(Problem::new(
            Code::RoleTooPowerful,
            Some("sso_role_name"),
            format!("role `{role}` looks like it can do more than read (its name holds `{word}`)"),
        )),
        _ => Ok(()),
    }
}

pub fn check_profile(profile: &Profile) -> Vec<Problem> {
    let mut results = vec![
        check_profile_name(&profile.name),
        check_account_id(&profile.account_id),
        check_role_name(&profile.role_name),
    ];
    results.extend(profile.region.as_deref().map(check_region));
    results.extend(profile.output.as_deref().map(check_output));
    results.into_iter().filter_map(Result::err).collect()
}

pub fn check_session(session: &SsoSession) -> Vec<Problem> {
    let mut problems = Vec::new();
    problems.extend(check_session_name(&session.name).err());
    problems.extend(check_start_url(&session.start_url).err());
    if let Some(scopes) = &session.registration_scopes {
        let scope_ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":_.-".contains(c))
        };
        if !scopes.split(',').all(scope_ok) {
            problems.push(Problem::new(
                Code::SsoSessionIncomplete,
                None,
                format!(
                    "sso_registration_scopes `{scopes}` is not a comma-separated list of scopes"
                ),
            ));
        }
    }
    if session.region.is_empty() {
        problems.push(Problem::new(
            Code::SsoSessionIncomplete,
            None,
            format!("sso-session `{}` has no sso_region", session.name),
        ));
    } else {
        problems.extend(check_region_of(&session.region, Some("sso_region")).err());
    }
    problems
}

/// Build the model from a parsed config-format document (the isolated config or a team
/// file). Sections that break a rule are left out and reported as issues with their line.
pub fn from_document(
    doc: &Document,
    allowed_roles: &[String],
) -> (Vec<SsoSession>, Vec<Profile>, Vec<Issue>) {
    let mut issues = Vec::new();
    let mut sessions = Vec::new();
    let mut profiles = Vec::new();
    let mut report = |line: usize, problem: Problem| {
        issues.push(Issue {
            code: problem.code,
            line,
            message: problem.message,
        })
    };
    for section in &doc.sections {
        let allowed: &[&str] = match section.kind {
            SectionKind::Profile => &PROFILE_KEYS,
            SectionKind::SsoSession => &SESSION_KEYS,
        };
        let mut clean = true;
        for entry in &section.entries {
            if !allowed.contains(&entry.key) {
                clean = false;
                report(
                    entry.line,
                    Problem::new(
                        Code::KeyForbidden,
                        None,
                        format!(
                            "`{}` is not allowed in `{}` (allowed: {})",
                            entry.key,
                            section.name,
                            allowed.join(", ")
                        ),
                    ),
                );
            }
        }
        let value = |key: &str| section.get(key).map(|e| e.value.to_owned());
        // The line of the key a problem concerns, else the section's.
        let line_of = |problem: &Problem| {
            problem
                .key
                .and_then(|key| section.get(key))
                .map_or(section.line, |e| e.line)
        };
        match section.kind {
            SectionKind::SsoSession => {
                let session = SsoSession {
                    name: section.name.to_owned(),
                    start_url: value("sso_start_url").unwrap_or_default(),
                    region: value("sso_region").unwrap_or_default(),
                    registration_scopes: value("sso_registration_scopes"),
                };
                let problems = check_session(&session);
                clean &= problems.is_empty();
                for problem in problems {
                    report(line_of(&problem), problem);
                }
                if clean {
                    sessions.push(session);
                }
            }
            SectionKind::Profile => {
                if let Err(problem) = check_profile_name(section.name) {
                    report(section.line, problem);
                    continue;
                }
                let mut missing = Vec::new();
                let mut required = |key: &'static str| {
                    value(key).unwrap_or_else(|| {
                        missing.push(key);
                        String::new()
                    })
                };
                let profile = Profile {
                    name: section.name.to_owned(),
                    sso_session: required("sso_session"),
                    account_id: required("sso_account_id"),
                    role_name: required("sso_role_name"),
                    region: value("region"),
                    output: value("output"),
                };
                if !missing.is_empty() {
                    report(
                        section.line,
                        Problem::new(
                            Code::KeyMissing,
                            None,
                            format!("profile `{}` lacks {}", section.name, missing.join(", ")),
                        ),
                    );
                    continue;
                }
                let power = check_role_power(&profile.role_name, allowed_roles).err();
                for problem in check_profile(&profile).into_iter().chain(power) {
                    clean = false;
                    report(line_of(&problem), problem);
                }
                if clean {
                    profiles.push((profile, section));
                }
            }
        }
    }
    // References are checked against every block present, valid or not, so that one
    // broken block yields one issue and not one per profile.
    let declared: HashSet<&str> = doc
        .sections
        .iter()
        .filter(|s| s.kind == SectionKind::SsoSession)
        .map(|s| s.name)
        .collect();
    for (profile, section) in &profiles {
        if !declared.contains(profile.sso_session.as_str()) {
            issues.push(Issue {
                code: Code::SsoSessionMissing,
                line: section.get("sso_session").map_or(0, |e| e.line),
                message: format!(
                    "profile `{}` uses sso-session `{}`, which has no [sso-session {}] block",
                    profile.name, profile.sso_session, profile.sso_session
                ),
            });
        }
    }
    let known: HashSet<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    let profiles = profiles
        .into_iter()
        .filter(|(p, _)| known.contains(p.sso_session.as_str()))
        .map(|(p, _)| p)
        .collect();
    (sessions, profiles, issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["kiro-a", "kiro-0", "kiro-prod-write", "kiro-readonly"] {
            assert_eq!(check_profile_name(good), Ok(()), "{good}");
        }
        for bad in [
            "kiro-", "kiro--a", "Kiro-a", "kiro-A", "prod", "kiro_a", "default", "kiro-a b",
        ] {
            assert!(check_profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values() {
        assert!(check_account_id("123456789012").is_ok());
        assert!(check_account_id("12345678901").is_err());
        assert!(check_account_id("12345678901a").is_err());
        assert!(check_role_name("ReadOnly+x=,.@_-").is_ok());
        assert!(check_role_name("").is_err());
        assert!(check_role_name(&"a".repeat(65)).is_err());
        assert!(check_role_name("a b").is_err());
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-12",
        ] {
            assert!(check_region(good).is_ok(), "{good}");
        }
        for bad in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "us-east-0",
            "u-east-1",
            "us-east-1 ",
            "us-east-+1",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
        assert!(check_start_url("https://d-1234.awsapps.com/start#/").is_ok());
        for bad in [
            "http://x",
            "https://",
            "https://a b",
            "ftp://x",
            "https://x\"/",
        ] {
            assert!(check_start_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_profile_resolution() {
        let p = |name: &str| Profile {
            name: name.into(),
            sso_session: "kiro".into(),
            account_id: "123456789012".into(),
            role_name: "R".into(),
            region: None,
            output: None,
        };
        let set = |d| ProfileSet::new(vec![], vec![p("kiro-a"), p("kiro-readonly")], d);
        assert_eq!(set(None).unwrap().default_profile, "kiro-readonly");
        assert_eq!(set(Some("kiro-a")).unwrap().default_profile, "kiro-a");
        assert_eq!(
            set(Some("kiro-x")).unwrap_err().code,
            Code::DefaultProfileMissing
        );
        let first = ProfileSet::new(vec![], vec![p("kiro-b"), p("kiro-a")], None).unwrap();
        assert_eq!(first.default_profile, "kiro-b");
        // A -write profile is the default only when named.
        let reads = ProfileSet::new(vec![], vec![p("kiro-a-write"), p("kiro-b")], None).unwrap();
        assert_eq!(reads.default_profile, "kiro-b");
        let writes = vec![p("kiro-a-write"), p("kiro-b-write")];
        assert_eq!(
            ProfileSet::new(vec![], writes.clone(), None)
                .unwrap_err()
                .code,
            Code::DefaultProfileMissing
        );
        let named = ProfileSet::new(vec![], writes, Some("kiro-b-write")).unwrap();
        assert_eq!(named.default_profile, "kiro-b-write");
        assert_eq!(
            ProfileSet::new(vec![], vec![], None).unwrap_err().code,
            Code::NoProfiles
        );
    }
}
