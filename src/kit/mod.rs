//! The role kit (`kiro-aws policy`): from the roles and accounts of the isolated config,
//! the Identity Center permission sets an administrator deploys for the agent, as JSON
//! documents or as one CloudFormation template. Pure: values in, values out; the command
//! proves the config and prints.
//!
//! - `actions`: the generated deny lists (`data/`); `compact`: proven wildcards for them.
//! - `documents`: the inline policies and the boundary, within IAM's size limits.
//! - `permission_set`: one set per role, read or write, with its accounts.
//! - `enterprise`: the optional Kiro administrator policy, KMS key statements and the
//!   usage-reports role.
//! - `cloudformation`: the template. `inputs`: the shapes of the flags.

pub mod actions;
pub mod cloudformation;
pub mod compact;
pub mod documents;
pub mod enterprise;
pub mod inputs;
pub mod permission_set;

use serde_json::{json, Value};

use crate::code::Code;
use crate::config::profile::Profile;
use crate::error::{Error, Result};

pub use permission_set::PermissionSet;

/// The managed policies of the two kinds of set.
pub const READ_ONLY_ACCESS: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
pub const VIEW_ONLY_ACCESS: &str = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess";
pub const POWER_USER_ACCESS: &str = "arn:aws:iam::aws:policy/PowerUserAccess";
pub const DEFAULT_PASS_ROLE_PATH: &str = "/kiro-agent/";

/// The customer-managed boundary `--boundary` adds, by name and path in every account.
pub const BOUNDARY_NAME: &str = "KiroAgentBoundary";
pub const BOUNDARY_PATH: &str = "/";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    Group,
    User,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Group => "GROUP",
            PrincipalType::User => "USER",
        }
    }
}

/// The flags as given (the command line's values, unchecked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub view_only: bool,
    pub write_policy: Option<String>,
    pub pass_role_path: Option<String>,
    pub boundary: bool,
    pub target_ous: Vec<String>,
    pub session_duration: Option<String>,
    pub instance_arn: Option<String>,
    pub principal_type: Option<PrincipalType>,
    pub principal_id: Option<String>,
    pub kiro_admin_policy: bool,
    pub kms_key_policy: bool,
    pub identity_store_id: Option<String>,
    pub sso_region: Option<String>,
    pub identity_store_account: Option<String>,
    pub usage_reports_role: bool,
    pub reports_bucket: Option<String>,
    pub external_id: Option<String>,
    pub analytics_principal: Option<String>,
}

/// Who the template assigns the sets to; each a template parameter, these its defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    pub instance_arn: Option<String>,
    pub principal_type: Option<PrincipalType>,
    pub principal_id: Option<String>,
}

/// The flags, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub view_only: bool,
    pub write_policy: Option<String>,
    pub pass_role_path: String,
    pub boundary: bool,
    pub target_ous: Vec<String>,
    /// ISO 8601 (`PT8H`).
    pub session_duration: Option<String>,
    pub assignment: Assignment,
    pub extras: enterprise::Extras,
}

fn missing(flag: &str, because: &str) -> Error {
    Error::new(Code::KitFlagMissing, format!("{because} needs {flag}"))
        .with_fix(format!("add {flag}"))
}

/// Check every flag; `cloudformation` when the output is the template (a boundary there
/// needs its target OUs).
pub fn check(flags: Flags, cloudformation: bool) -> Result<Options> {
    if let Some(arn) = &flags.write_policy {
        inputs::managed_policy_arn("--write-policy", arn)?;
    }
    let pass_role_path = flags
        .pass_role_path
        .unwrap_or_else(|| DEFAULT_PASS_ROLE_PATH.to_owned());
    inputs::role_path(&pass_role_path)?;
    for ou in &flags.target_ous {
        inputs::target_ou(ou)?;
    }
    if flags.boundary && cloudformation && flags.target_ous.is_empty() {
        return Err(missing(
            "--target-ou OU_ID",
            "--boundary with --format cloudformation (the StackSet deploys the boundary to those OUs)",
        ));
    }
    let session_duration = flags
        .session_duration
        .as_deref()
        .map(inputs::session_duration)
        .transpose()?;
    if let Some(arn) = &flags.instance_arn {
        inputs::instance_arn(arn)?;
    }
    if let Some(id) = &flags.principal_id {
        inputs::principal_id(id)?;
    }
    let kms_key_policy = if flags.kms_key_policy {
        let need = |value: &Option<String>, flag: &str| {
            value
                .clone()
                .ok_or_else(|| missing(flag, "--kms-key-policy"))
        };
        let key = enterprise::KmsKey {
            instance_arn: need(&flags.instance_arn, "--instance-arn ARN")?,
            identity_store_id: need(&flags.identity_store_id, "--identity-store-id ID")?,
            sso_region: need(&flags.sso_region, "--sso-region REGION")?,
            identity_store_account: need(
                &flags.identity_store_account,
                "--identity-store-account ID",
            )?,
        };
        inputs::identity_store_id(&key.identity_store_id)?;
        inputs::region("--sso-region", &key.sso_region)?;
        inputs::account_id("--identity-store-account", &key.identity_store_account)?;
        Some(key)
    } else {
        None
    };
    let usage_reports_role = if flags.usage_reports_role {
        let need = |value: &Option<String>, flag: &str| {
            value
                .clone()
                .ok_or_else(|| missing(flag, "--usage-reports-role"))
        };
        let role = enterprise::UsageReports {
            bucket: need(&flags.reports_bucket, "--reports-bucket NAME")?,
            external_id: need(&flags.external_id, "--external-id ID")?,
            analytics_principal: flags
                .analytics_principal
                .unwrap_or_else(|| enterprise::DX_PRINCIPAL.to_owned()),
        };
        inputs::bucket_name(&role.bucket)?;
        inputs::external_id(&role.external_id)?;
        inputs::principal_arn(&role.analytics_principal)?;
        Some(role)
    } else {
        None
    };
    Ok(Options {
        view_only: flags.view_only,
        write_policy: flags.write_policy,
        pass_role_path,
        boundary: flags.boundary,
        target_ous: flags.target_ous,
        session_duration,
        assignment: Assignment {
            instance_arn: flags.instance_arn,
            principal_type: flags.principal_type,
            principal_id: flags.principal_id,
        },
        extras: enterprise::Extras {
            kiro_admin_policy: flags.kiro_admin_policy,
            kms_key_policy,
            usage_reports_role,
        },
    })
}

/// Everything the kit makes for one config and one set of options.
#[derive(Debug, Clone, PartialEq)]
pub struct Kit {
    pub permission_sets: Vec<PermissionSet>,
    /// The boundary's document, with `--boundary`.
    pub boundary: Option<Value>,
    pub options: Options,
}

pub fn build(profiles: &[Profile], options: &Options) -> Result<Kit> {
    Ok(Kit {
        permission_sets: permission_set::from_profiles(profiles, options)?,
        boundary: options
            .boundary
            .then(|| documents::boundary(&options.pass_role_path))
            .transpose()?,
        options: options.clone(),
    })
}

impl Kit {
    /// `{"permission_sets": [...]}`, and each extra's key when its flag is given.
    pub fn to_json(&self) -> Value {
        let boundary = self.boundary.as_ref().map(
            |document| json!({"name": BOUNDARY_NAME, "path": BOUNDARY_PATH, "document": document}),
        );
        let sets: Vec<Value> = self
            .permission_sets
            .iter()
            .map(|set| {
                json!({
                    "name": set.name,
                    "access": set.access.as_str(),
                    "managed_policies": set.managed_policies,
                    "inline_policy": set.inline_policy,
                    "boundary": boundary,
                    "accounts": set.accounts,
                })
            })
            .collect();
        let mut out = json!({"permission_sets": sets});
        let extras = &self.options.extras;
        if extras.kiro_admin_policy {
            out["kiro_admin_policy"] = json!({
                "name": enterprise::ADMIN_POLICY_NAME,
                "document": enterprise::admin_policy(),
            });
        }
        if let Some(key) = &extras.kms_key_policy {
            out["kms_key_policy_statements"] = Value::Array(enterprise::kms_key_statements(key));
        }
        if let Some(role) = &extras.usage_reports_role {
            out["usage_reports_role"] = json!({
                "name": enterprise::USAGE_REPORTS_ROLE_NAME,
                "trust_policy": enterprise::usage_reports_trust(role),
                "permissions_policy": enterprise::usage_reports_permissions(role),
            });
        }
        out
    }
}
