//! One permission set per distinct role of the isolated config, named after it (Identity
//! Center turns the set into the role `AWSReservedSSO_<name>_<hex>`, which is what the
//! profiles' `sso_role_name` matches). A set is for writing when any `-write` profile
//! uses its role.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::profile::Profile;
use crate::error::Result;
use crate::kit::{documents, inputs, Options};
use crate::kit::{POWER_USER_ACCESS, READ_ONLY_ACCESS, VIEW_ONLY_ACCESS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PermissionSet {
    pub name: String,
    pub access: Access,
    pub managed_policies: Vec<String>,
    pub inline_policy: Value,
    /// Sorted, distinct.
    pub accounts: Vec<String>,
}

impl PermissionSet {
    /// The set's description in Identity Center.
    pub fn description(&self) -> String {
        match self.access {
            Access::Read => "Kiro agent, read-only: the managed policy less the reads of secrets, credentials and data (kiro-aws policy)".to_owned(),
            Access::Write => "Kiro agent, writes: the managed policy less privilege escalation and the reads of secrets, credentials and data (kiro-aws policy)".to_owned(),
        }
    }
}

/// The sets, sorted by name.
pub fn from_profiles(profiles: &[Profile], options: &Options) -> Result<Vec<PermissionSet>> {
    let mut roles: BTreeMap<&str, (bool, Vec<String>)> = BTreeMap::new();
    for profile in profiles {
        let entry = roles.entry(profile.role_name.as_str()).or_default();
        entry.0 |= profile.is_write();
        entry.1.push(profile.account_id.clone());
    }
    roles
        .into_iter()
        .map(|(name, (write, mut accounts))| {
            inputs::permission_set_name(name)?;
            accounts.sort();
            accounts.dedup();
            let (access, managed, inline) = if write {
                (
                    Access::Write,
                    options
                        .write_policy
                        .clone()
                        .unwrap_or_else(|| POWER_USER_ACCESS.to_owned()),
                    documents::write_inline(&options.pass_role_path)?,
                )
            } else {
                let managed = if options.view_only {
                    VIEW_ONLY_ACCESS
                } else {
                    READ_ONLY_ACCESS
                };
                (Access::Read, managed.to_owned(), documents::read_inline()?)
            };
            Ok(PermissionSet {
                name: name.to_owned(),
                access,
                managed_policies: vec![managed],
                inline_policy: inline,
                accounts,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::{check, Flags};

    pub(crate) fn profile(name: &str, account: &str, role: &str) -> Profile {
        Profile {
            name: name.into(),
            sso_session: "kiro".into(),
            account_id: account.into(),
            role_name: role.into(),
            region: None,
            output: None,
        }
    }

    fn sets(profiles: &[Profile], flags: Flags) -> Vec<PermissionSet> {
        from_profiles(profiles, &check(flags, false).unwrap()).unwrap()
    }

    #[test]
    fn kit_one_set_per_role_write_when_a_write_profile_uses_it() {
        let profiles = [
            profile("kiro-dev", "222222222222", "KiroReadOnly"),
            profile("kiro-readonly", "111111111111", "KiroReadOnly"),
            profile("kiro-ops", "333333333333", "KiroOps"),
            profile("kiro-ops-write", "444444444444", "KiroOps"),
            profile("kiro-again", "111111111111", "KiroReadOnly"),
        ];
        let got = sets(&profiles, Flags::default());
        assert_eq!(
            got,
            [
                PermissionSet {
                    name: "KiroOps".into(),
                    access: Access::Write,
                    managed_policies: vec![POWER_USER_ACCESS.into()],
                    inline_policy: documents::write_inline("/kiro-agent/").unwrap(),
                    accounts: vec!["333333333333".into(), "444444444444".into()],
                },
                PermissionSet {
                    name: "KiroReadOnly".into(),
                    access: Access::Read,
                    managed_policies: vec![READ_ONLY_ACCESS.into()],
                    inline_policy: documents::read_inline().unwrap(),
                    accounts: vec!["111111111111".into(), "222222222222".into()],
                },
            ]
        );
    }

    #[test]
    fn kit_view_only_and_write_policy_replace_the_managed_policies() {
        let profiles = [
            profile("kiro-readonly", "111111111111", "KiroReadOnly"),
            profile("kiro-prod-write", "333333333333", "KiroWrite"),
        ];
        let got = sets(
            &profiles,
            Flags {
                view_only: true,
                write_policy: Some("arn:aws:iam::123456789012:policy/agents/KiroWrite".into()),
                pass_role_path: Some("/agents/".into()),
                ..Flags::default()
            },
        );
        assert_eq!(got[0].managed_policies, [VIEW_ONLY_ACCESS]);
        assert_eq!(
            got[1].managed_policies,
            ["arn:aws:iam::123456789012:policy/agents/KiroWrite"]
        );
        assert_eq!(
            got[1].inline_policy,
            documents::write_inline("/agents/").unwrap()
        );
    }

    #[test]
    fn kit_refuses_a_role_name_identity_center_cannot_take() {
        let long = "KiroReadOnlyForTheWholePlatformTeam";
        let options = check(Flags::default(), false).unwrap();
        let err = from_profiles(&[profile("kiro-x", "111111111111", long)], &options).unwrap_err();
        assert_eq!(err.code, crate::code::Code::KitNameInvalid);
        assert!(err.message.contains(long), "{}", err.message);
    }
}
