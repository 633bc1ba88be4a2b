//! The shapes the kit's flags must have: ARNs, Identity Center and Organizations ids,
//! the session duration. Each check names its flag in the error.

use crate::code::Code;
use crate::config::profile;
use crate::error::{Error, Result};

/// The longest session Identity Center grants, and the shortest, in minutes.
const MIN_SESSION_MINUTES: u32 = 60;
const MAX_SESSION_MINUTES: u32 = 12 * 60;

fn invalid(code: Code, flag: &str, value: &str, shape: &str) -> Error {
    Error::new(code, format!("{flag}: `{value}` is not {shape}"))
}

fn all(value: &str, allowed: impl Fn(char) -> bool) -> bool {
    value.chars().all(allowed)
}

fn is_lower_hex(c: char) -> bool {
    c.is_ascii_digit() || ('a'..='f').contains(&c)
}

/// A permission set name: 1-32 characters of `[\w+=,.@-]`.
pub fn permission_set_name(name: &str) -> Result<()> {
    let ok = (1..=32).contains(&name.len())
        && all(name, |c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::KitNameInvalid,
            format!(
                "role `{name}` cannot be a permission set's name (1-32 of A-Z a-z 0-9 _+=,.@-); \
                 Identity Center names the role after its permission set"
            ),
        ))
    }
}

/// A managed policy's ARN: `arn:PARTITION:iam::aws|ACCOUNT:policy/[PATH/]NAME`.
pub fn managed_policy_arn(flag: &str, arn: &str) -> Result<()> {
    let shape = "a managed policy ARN (arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/NAME)";
    let bad = || invalid(Code::KitArnInvalid, flag, arn, shape);
    let rest = ["arn:aws:iam::", "arn:aws-cn:iam::", "arn:aws-us-gov:iam::"]
        .iter()
        .find_map(|p| arn.strip_prefix(p))
        .ok_or_else(bad)?;
    let (owner, resource) = rest.split_once(':').ok_or_else(bad)?;
    let owner_ok = owner == "aws" || profile::check_account_id(owner).is_ok();
    let path_and_name = resource.strip_prefix("policy/").ok_or_else(bad)?;
    let name = path_and_name.rsplit('/').next().unwrap_or_default();
    let name_ok = (1..=128).contains(&name.len())
        && all(name, |c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    let path_ok = all(path_and_name, |c| ('\u{21}'..='\u{7e}').contains(&c));
    if owner_ok && name_ok && path_ok && arn.len() <= 2048 {
        Ok(())
    } else {
        Err(bad())
    }
}

/// An IAM Identity Center instance: `arn:aws:sso:::instance/ssoins-` and 16 characters.
pub fn instance_arn(arn: &str) -> Result<()> {
    let id = arn
        .strip_prefix("arn:aws:sso:::instance/ssoins-")
        .or_else(|| arn.strip_prefix("arn:aws-cn:sso:::instance/ssoins-"))
        .or_else(|| arn.strip_prefix("arn:aws-us-gov:sso:::instance/ssoins-"));
    match id {
        Some(id) if id.len() == 16 && all(id, |c| c.is_ascii_alphanumeric()) => Ok(()),
        _ => Err(invalid(
            Code::KitArnInvalid,
            "--instance-arn",
            arn,
            "an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-0123456789abcdef)",
        )),
    }
}

fn is_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && all(g, |c| c.is_ascii_hexdigit()))
}

/// An Identity Store user or group id: a UUID, or ten hex digits, `-` and a UUID.
pub fn principal_id(id: &str) -> Result<()> {
    let ok = is_uuid(id)
        || id.split_once('-').is_some_and(|(head, uuid)| {
            head.len() == 10 && all(head, is_lower_hex) && is_uuid(uuid)
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            Code::KitValueInvalid,
            "--principal-id",
            id,
            "an Identity Store user or group id (a UUID, or 10 hex digits, `-` and a UUID)",
        ))
    }
}

/// An Organizations target: an OU (`ou-` 4-32 lower-case characters `-` 8-32) or the root
/// (`r-` 4-32).
pub fn target_ou(id: &str) -> Result<()> {
    let lower = |s: &str| all(s, |c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = if let Some(rest) = id.strip_prefix("ou-") {
        rest.split_once('-').is_some_and(|(root, ou)| {
            (4..=32).contains(&root.len())
                && (8..=32).contains(&ou.len())
                && lower(root)
                && lower(ou)
        })
    } else if let Some(root) = id.strip_prefix("r-") {
        (4..=32).contains(&root.len()) && lower(root)
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(
            Code::KitValueInvalid,
            "--target-ou",
            id,
            "an organizational unit id (ou-ab12-cd34ef56) or a root id (r-ab12)",
        ))
    }
}

/// `--pass-role-path`: an IAM path, `/` alone or `/NAME/.../`.
pub fn role_path(path: &str) -> Result<()> {
    let ok = path.starts_with('/')
        && path.ends_with('/')
        && path.len() <= 512
        && !path.contains("//")
        && all(path, |c| {
            ('\u{21}'..='\u{7e}').contains(&c) && c != '*' && c != '?'
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            Code::KitValueInvalid,
            "--pass-role-path",
            path,
            "an IAM path that starts and ends with `/` (such as /kiro-agent/)",
        ))
    }
}

/// `--identity-store-id`: `d-` and ten hex digits.
pub fn identity_store_id(id: &str) -> Result<()> {
    match id.strip_prefix("d-") {
        Some(hex) if hex.len() == 10 && all(hex, is_lower_hex) => Ok(()),
        _ => Err(invalid(
            Code::KitValueInvalid,
            "--identity-store-id",
            id,
            "an identity store id (d-0123456789)",
        )),
    }
}

pub fn account_id(flag: &str, id: &str) -> Result<()> {
    profile::check_account_id(id)
        .map_err(|_| invalid(Code::KitValueInvalid, flag, id, "a 12-digit account id"))
}

pub fn region(flag: &str, region: &str) -> Result<()> {
    profile::check_region(region).map_err(|_| {
        invalid(
            Code::KitValueInvalid,
            flag,
            region,
            "a region such as us-east-1",
        )
    })
}

/// `--reports-bucket`: an S3 bucket name (3-63 of a-z 0-9 . -, starting and ending with a
/// letter or digit).
pub fn bucket_name(name: &str) -> Result<()> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok = (3..=63).contains(&name.len())
        && all(name, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'
        })
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !name.contains("..");
    if ok {
        Ok(())
    } else {
        Err(invalid(
            Code::KitValueInvalid,
            "--reports-bucket",
            name,
            "an S3 bucket name (3-63 of a-z 0-9 . -)",
        ))
    }
}

/// `--external-id`: 2-1224 of `[\w+=,.@:/-]`, as STS accepts it.
pub fn external_id(id: &str) -> Result<()> {
    let ok = (2..=1224).contains(&id.len())
        && all(id, |c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            Code::KitValueInvalid,
            "--external-id",
            id,
            "an external id (2-1224 of A-Z a-z 0-9 _+=,.@:/-)",
        ))
    }
}

/// `--analytics-principal`: an IAM role, user or account root ARN.
pub fn principal_arn(arn: &str) -> Result<()> {
    let bad = || {
        invalid(
            Code::KitArnInvalid,
            "--analytics-principal",
            arn,
            "an IAM principal ARN (arn:aws:iam::123456789012:role/NAME)",
        )
    };
    let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(bad)?;
    let (account, resource) = rest.split_once(':').ok_or_else(bad)?;
    profile::check_account_id(account).map_err(|_| bad())?;
    let ok = resource == "root"
        || ["role/", "user/"].iter().any(|kind| {
            resource.strip_prefix(kind).is_some_and(|name| {
                !name.is_empty()
                    && !name.ends_with('/')
                    && all(name, |c| {
                        c.is_ascii_alphanumeric() || "_+=,.@-/".contains(c)
                    })
            })
        });
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// `--session-duration`, 1 to 12 hours: ISO 8601 (`PT8H`, `PT90M`, `PT1H30M`) or `8h`,
/// `90m`, `1h30m`. Rendered back as ISO 8601 with whole hours first (`PT1H30M`).
pub fn session_duration(text: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::new(
            Code::KitDurationInvalid,
            format!("--session-duration: `{text}` {why}"),
        )
    };
    let body = text
        .strip_prefix("PT")
        .map(|b| (b, true))
        .unwrap_or((text, false));
    let (body, iso) = body;
    let mut minutes: u32 = 0;
    let mut number = String::new();
    let mut units = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match (c, iso) {
            ('H', true) | ('h', false) => 'h',
            ('M', true) | ('m', false) => 'm',
            _ => return Err(bad("is not a duration such as PT8H, PT90M, 8h or 90m")),
        };
        if number.is_empty() || units.contains(unit) || (unit == 'h' && units.contains('m')) {
            return Err(bad("is not a duration such as PT8H, PT90M, 8h or 90m"));
        }
        let n: u32 = number
            .parse()
            .map_err(|_| bad("is out of range (1 to 12 hours)"))?;
        minutes = minutes.saturating_add(if unit == 'h' { n.saturating_mul(60) } else { n });
        units.push(unit);
        number.clear();
    }
    if !number.is_empty() || units.is_empty() {
        return Err(bad("is not a duration such as PT8H, PT90M, 8h or 90m"));
    }
    if !(MIN_SESSION_MINUTES..=MAX_SESSION_MINUTES).contains(&minutes) {
        return Err(bad(
            "is out of range: Identity Center sessions last 1 to 12 hours",
        ));
    }
    Ok(match (minutes / 60, minutes % 60) {
        (h, 0) => format!("PT{h}H"),
        (h, m) => format!("PT{h}H{m}M"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kit_session_durations_parse_to_iso_8601() {
        for (given, rendered) in [
            ("PT1H", "PT1H"),
            ("PT12H", "PT12H"),
            ("PT90M", "PT1H30M"),
            ("PT1H30M", "PT1H30M"),
            ("PT60M", "PT1H"),
            ("8h", "PT8H"),
            ("90m", "PT1H30M"),
            ("1h30m", "PT1H30M"),
            ("720m", "PT12H"),
        ] {
            assert_eq!(session_duration(given).unwrap(), rendered, "{given}");
        }
        for bad in [
            "",
            "PT",
            "PT59M",
            "59m",
            "PT13H",
            "13h",
            "PT12H1M",
            "8",
            "h",
            "PT8h",
            "8H",
            "P1D",
            "PT30M1H",
            "8h8h",
            "-1h",
            "PT99999999999H",
            "1.5h",
            " 8h",
        ] {
            let err = session_duration(bad).unwrap_err();
            assert_eq!(err.code, Code::KitDurationInvalid, "{bad}");
        }
    }

    #[test]
    fn kit_permission_set_names_follow_identity_center() {
        for ok in ["KiroReadOnly", "a", "Kiro_Read.Only+=,@-", &"x".repeat(32)] {
            permission_set_name(ok).unwrap();
        }
        for bad in ["", &"x".repeat(33), "Kiro/Read", "Kiro Read", "Kiro:Read"] {
            assert_eq!(
                permission_set_name(bad).unwrap_err().code,
                Code::KitNameInvalid,
                "{bad}"
            );
        }
    }

    #[test]
    fn kit_arns_and_ids_are_checked() {
        managed_policy_arn("--write-policy", "arn:aws:iam::aws:policy/PowerUserAccess").unwrap();
        managed_policy_arn(
            "--write-policy",
            "arn:aws:iam::123456789012:policy/team/KiroWrite",
        )
        .unwrap();
        managed_policy_arn(
            "--write-policy",
            "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess",
        )
        .unwrap();
        for bad in [
            "PowerUserAccess",
            "arn:aws:iam::aws:role/X",
            "arn:aws:iam::12345:policy/X",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::aws:policy/",
            "arn:aws:iam::aws:policy/bad name",
        ] {
            assert_eq!(
                managed_policy_arn("--write-policy", bad).unwrap_err().code,
                Code::KitArnInvalid,
                "{bad}"
            );
        }
        instance_arn("arn:aws:sso:::instance/ssoins-72230a1b2c3d4e5f").unwrap();
        for bad in [
            "ssoins-72230a1b2c3d4e5f",
            "arn:aws:sso:::instance/ssoins-123",
            "arn:aws:sso:::instance/ssoins-72230a1b2c3d4e5f/x",
        ] {
            assert_eq!(
                instance_arn(bad).unwrap_err().code,
                Code::KitArnInvalid,
                "{bad}"
            );
        }
        principal_id("906715c1-1f21-4d9c-9d3a-2b5f0e6a7c8d").unwrap();
        principal_id("9067a1b2c3-906715c1-1f21-4d9c-9d3a-2b5f0e6a7c8d").unwrap();
        for bad in [
            "alice",
            "906715c1-1f21-4d9c-9d3a",
            "9067-906715c1-1f21-4d9c-9d3a-2b5f0e6a7c8d",
        ] {
            assert_eq!(
                principal_id(bad).unwrap_err().code,
                Code::KitValueInvalid,
                "{bad}"
            );
        }
        target_ou("ou-ab12-cd34ef56").unwrap();
        target_ou("r-ab12").unwrap();
        for bad in [
            "ou-ab12",
            "ou-AB12-cd34ef56",
            "ou-ab12-cd34",
            "r-a",
            "123456789012",
            "o-ab12cd34ef",
        ] {
            assert_eq!(
                target_ou(bad).unwrap_err().code,
                Code::KitValueInvalid,
                "{bad}"
            );
        }
        role_path("/").unwrap();
        role_path("/kiro-agent/").unwrap();
        for bad in ["kiro-agent/", "/kiro-agent", "/a//b/", "/a*/"] {
            role_path(bad).unwrap_err();
        }
        identity_store_id("d-1234567890").unwrap();
        identity_store_id("d-12345").unwrap_err();
        bucket_name("kiro-usage.reports").unwrap();
        for bad in ["ab", "Kiro", "-kiro", "kiro..reports", "kiro_reports"] {
            bucket_name(bad).unwrap_err();
        }
        external_id("dx-3f2a9c").unwrap();
        external_id("x").unwrap_err();
        principal_arn("arn:aws:iam::703671904508:role/dx-datacloud").unwrap();
        principal_arn("arn:aws:iam::703671904508:root").unwrap();
        for bad in [
            "arn:aws:iam::703671904508:role/",
            "arn:aws:iam::7036:role/x",
            "arn:aws:sts::703671904508:role/x",
        ] {
            principal_arn(bad).unwrap_err();
        }
    }
}
