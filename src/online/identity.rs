//! Who a kiro profile really is in AWS: the checks on what `GetCallerIdentity` answered.
//! Pure: the answers come from [`crate::online::probe`]; this module only judges them.

use serde::{Deserialize, Serialize};

use crate::code::Code;
use crate::config::profile::Profile;
use crate::finding::Finding;

/// What STS said about one profile's credentials, and where the SDK found them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    /// The SDK's credential features, short names (`sso`, `profile`, `environment`, ...).
    pub sources: Vec<String>,
}

/// Why a profile could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No SSO token, an expired one, or one the portal refused.
    LoginRequired,
    /// No answer in time.
    Timeout,
    /// Could not connect, or the answer was not understood.
    Network,
    /// Anything else the SDK reported.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    Identity(Identity),
    Failed { kind: FailureKind, message: String },
}

/// One profile, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    pub profile: String,
    pub ok: bool,
    pub expected_account: String,
    pub expected_role: String,
    pub account: Option<String>,
    pub arn: Option<String>,
    /// The IAM role of the session (`AWSReservedSSO_<PermissionSet>_<hex>` for Identity Center).
    pub role: Option<String>,
    /// The session name: the Identity Center user.
    pub user: Option<String>,
    pub source: Option<String>,
    pub findings: Vec<Finding>,
}

/// `arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/SESSION` → (account, role, session).
pub fn parse_assumed_role(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sts"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let rest = resource.strip_prefix("assumed-role/")?;
    let (role, session) = rest.split_once('/')?;
    Some((account, role, session))
}

/// The role STS reports is the configured one: either its plain name, or the name IAM
/// Identity Center gives a permission set's role, `AWSReservedSSO_<name>_<16 hex>`.
pub fn role_matches(configured: &str, actual: &str) -> bool {
    if actual == configured {
        return true;
    }
    actual
        .strip_prefix("AWSReservedSSO_")
        .and_then(|rest| rest.strip_prefix(configured))
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hex| {
            hex.len() == 16
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// True when the SDK says the credentials came from IAM Identity Center.
fn from_sso(sources: &[String]) -> bool {
    sources.iter().any(|s| s == "sso")
}

/// Judge one profile's observation against its configuration. `login_command` is the
/// exact command that signs this profile's sso-session in.
pub fn check(profile: &Profile, observation: &Observation, login_command: &str) -> Checked {
    let mut checked = Checked {
        profile: profile.name.clone(),
        ok: false,
        expected_account: profile.account_id.clone(),
        expected_role: profile.role_name.clone(),
        account: None,
        arn: None,
        role: None,
        user: None,
        source: None,
        findings: Vec::new(),
    };
    let at = format!("profile {}", profile.name);
    let identity = match observation {
        Observation::Identity(identity) => identity,
        Observation::Failed { kind, message } => {
            let finding = match kind {
                FailureKind::LoginRequired => {
                    let mut f = Finding::error(
                        Code::SsoLoginRequired,
                        at,
                        format!(
                            "sso-session `{}` is not signed in: {message}",
                            profile.sso_session
                        ),
                    );
                    f.fix = format!("run `{login_command}`, then try again");
                    f
                }
                FailureKind::Timeout => Finding::error(Code::IdentityTimeout, at, message.clone()),
                FailureKind::Network => {
                    Finding::error(Code::IdentityUnreachable, at, message.clone())
                }
                FailureKind::Other => Finding::error(Code::IdentityError, at, message.clone()),
            };
            checked.findings.push(finding);
            return checked;
        }
    };
    checked.account = Some(identity.account.clone());
    checked.arn = Some(identity.arn.clone());
    checked.source = identity.sources.first().cloned();
    if identity.account != profile.account_id {
        checked.findings.push(Finding::error(
            Code::IdentityAccountMismatch,
            &at,
            format!(
                "credentials are for account {}, but the profile names {}",
                identity.account, profile.account_id
            ),
        ));
    }
    match parse_assumed_role(&identity.arn) {
        Some((_, role, user)) => {
            checked.role = Some(role.to_owned());
            checked.user = Some(user.to_owned());
            if !role_matches(&profile.role_name, role) {
                checked.findings.push(Finding::error(
                    Code::IdentityRoleMismatch,
                    &at,
                    format!(
                        "the session's role is {role}, expected {0} or AWSReservedSSO_{0}_<hex>",
                        profile.role_name
                    ),
                ));
            }
        }
        None => checked.findings.push(Finding::error(
            Code::IdentityRoleMismatch,
            &at,
            format!("{} is not an assumed-role session", identity.arn),
        )),
    }
    if !from_sso(&identity.sources) {
        checked.findings.push(Finding::error(
            Code::IdentityNotSso,
            &at,
            format!(
                "the SDK got these credentials from {}, not from IAM Identity Center",
                if identity.sources.is_empty() {
                    "an unknown source".to_owned()
                } else {
                    identity.sources.join(", ")
                }
            ),
        ));
    }
    checked.ok = checked.findings.is_empty();
    checked
}

/// The command that signs in the sso-session `profile` uses: `kiro-aws login`, naming the
/// profile only when the default profile (whose sso-session is `default_session`) uses
/// another session.
pub fn login_command(default_session: &str, profile: &Profile) -> String {
    if profile.sso_session == default_session {
        "kiro-aws login".to_owned()
    } else {
        format!("kiro-aws login --profile {}", profile.name)
    }
}

/// The text `whoami` prints: one line per profile, then each finding.
pub fn render(checked: &[Checked]) -> String {
    let mut out = String::new();
    for c in checked {
        let state = if c.ok { "ok" } else { "FAILED" };
        match (&c.account, &c.role) {
            (Some(account), Some(role)) => out.push_str(&format!(
                "{state:6} {}: account {account}, role {role}, user {}, from {}\n       {}\n",
                c.profile,
                c.user.as_deref().unwrap_or("?"),
                c.source.as_deref().unwrap_or("?"),
                c.arn.as_deref().unwrap_or(""),
            )),
            _ => out.push_str(&format!(
                "{state:6} {}: expected account {}, role {}\n",
                c.profile, c.expected_account, c.expected_role
            )),
        }
    }
    for finding in checked.iter().flat_map(|c| &c.findings) {
        out.push_str(&format!("{finding}\n"));
    }
    let failed = checked.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        out.push_str(&format!(
            "ok: AWS confirms {} profile(s) as configured\n",
            checked.len()
        ));
    } else {
        out.push_str(&format!(
            "identity NOT proven for {failed} of {} profile(s)\n",
            checked.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            name: "kiro-dev".into(),
            sso_session: "kiro".into(),
            account_id: "111111111111".into(),
            role_name: "KiroReadOnly".into(),
            region: None,
            output: None,
        }
    }

    fn seen(arn: &str, sources: &[&str]) -> Observation {
        Observation::Identity(Identity {
            account: parse_assumed_role(arn).map_or("", |p| p.0).to_owned(),
            arn: arn.to_owned(),
            user_id: "AROA:dev".into(),
            sources: sources.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn codes(checked: &Checked) -> Vec<&'static str> {
        checked.findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn identity_center_role_names_match_their_permission_set() {
        assert!(role_matches("KiroReadOnly", "KiroReadOnly"));
        assert!(role_matches(
            "KiroReadOnly",
            "AWSReservedSSO_KiroReadOnly_0123456789abcdef"
        ));
        for wrong in [
            "AWSReservedSSO_KiroReadOnlyX_0123456789abcdef",
            "AWSReservedSSO_KiroReadOnly_0123456789ABCDEF",
            "AWSReservedSSO_KiroReadOnly_0123456789abcde",
            "AWSReservedSSO_KiroReadOnly_Admin_0123456789abcdef",
            "AWSReservedSSO_AdministratorAccess_0123456789abcdef",
            "KiroReadOnlyAdmin",
        ] {
            assert!(!role_matches("KiroReadOnly", wrong), "{wrong}");
        }
    }

    #[test]
    fn a_matching_sso_session_passes() {
        let arn = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_KiroReadOnly_0123456789abcdef/dev@example.com";
        let checked = check(&profile(), &seen(arn, &["sso"]), "kiro-aws login");
        assert!(checked.ok, "{:?}", checked.findings);
        assert_eq!(checked.user.as_deref(), Some("dev@example.com"));
    }

    #[test]
    fn each_wrong_answer_has_its_code() {
        let other_account = "arn:aws:sts::999999999999:assumed-role/AWSReservedSSO_KiroReadOnly_0123456789abcdef/dev";
        let checked = check(&profile(), &seen(other_account, &["sso"]), "");
        assert_eq!(codes(&checked), ["identity_account_mismatch"]);

        let admin = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/dev";
        assert_eq!(
            codes(&check(&profile(), &seen(admin, &["sso"]), "")),
            ["identity_role_mismatch"]
        );

        let user = Observation::Identity(Identity {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/ci".into(),
            user_id: "AIDA".into(),
            sources: vec!["environment".into()],
        });
        assert_eq!(
            codes(&check(&profile(), &user, "")),
            ["identity_role_mismatch", "identity_not_sso"]
        );

        let expired = Observation::Failed {
            kind: FailureKind::LoginRequired,
            message: "the token has expired".into(),
        };
        let checked = check(&profile(), &expired, "kiro-aws login --profile kiro-dev");
        assert_eq!(codes(&checked), ["sso_login_required"]);
        assert_eq!(
            checked.findings[0].fix,
            "run `kiro-aws login --profile kiro-dev`, then try again"
        );
    }
}
