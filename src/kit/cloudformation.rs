//! The one CloudFormation template for the management (or delegated administrator)
//! account: a permission set per role, an assignment per (account, set) to one principal,
//! with `--boundary` a service-managed StackSet that puts the boundary policy into every
//! account of the target OUs, and the extras asked for. JSON, deterministic.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::code::Code;
use crate::error::{Error, Result};
use crate::kit::{enterprise, Kit, PermissionSet, BOUNDARY_NAME, BOUNDARY_PATH};

/// CloudFormation's limit on resources in one template.
pub const MAX_RESOURCES: usize = 500;

pub const STACK_SET_ID: &str = "KiroAgentBoundaryStackSet";
pub const STACK_SET_NAME: &str = "kiro-agent-boundary";
pub const ADMIN_POLICY_ID: &str = "KiroAdminPolicy";
pub const USAGE_REPORTS_ROLE_ID: &str = "KiroUsageReportsRole";
/// Where the KMS key-policy statements go, in `Metadata` and `Outputs`.
pub const KMS_KEY: &str = "KiroKmsKeyPolicyStatements";

const INSTANCE_PATTERN: &str = "^arn:aws[a-z-]*:sso:::instance/ssoins-[a-zA-Z0-9]{16}$";
const PRINCIPAL_PATTERN: &str =
    "^([0-9a-f]{10}-)?[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$";

/// One logical id per name, `PermissionSet` and the name's letters and digits; a later
/// name that sanitises to an id already taken gets the first free number after it.
pub fn logical_ids(names: &[&str]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    names
        .iter()
        .map(|name| {
            let sanitised: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
            let base = format!("PermissionSet{sanitised}");
            let id = std::iter::once(base.clone())
                .chain((2..).map(|n| format!("{base}N{n}")))
                .find(|id| !taken.contains(id))
                .expect("a free id");
            taken.insert(id.clone());
            id
        })
        .collect()
}

fn parameter(description: &str, default: Option<&str>, rule: (&str, Value)) -> Value {
    let mut p = json!({"Type": "String", "Description": description});
    p[rule.0] = rule.1;
    if let Some(default) = default {
        p["Default"] = json!(default);
    }
    p
}

/// An AWS managed policy goes in `ManagedPolicies`; a customer-managed one (`--write-policy`
/// with an account) is referenced by name and path, and must exist in every account.
fn policy_properties(set: &PermissionSet, properties: &mut Value) {
    let mut aws = Vec::new();
    let mut customer = Vec::new();
    for arn in &set.managed_policies {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let (owner, resource) = (parts[4], parts[5]);
        if owner == "aws" {
            aws.push(json!(arn));
        } else {
            let path_and_name = resource.trim_start_matches("policy");
            let (path, name) = path_and_name.rsplit_once('/').expect("policy/NAME");
            customer.push(json!({"Name": name, "Path": format!("{path}/")}));
        }
    }
    if !aws.is_empty() {
        properties["ManagedPolicies"] = Value::Array(aws);
    }
    if !customer.is_empty() {
        properties["CustomerManagedPolicyReferences"] = Value::Array(customer);
    }
}

/// The template StackSet instances run: the boundary policy alone.
pub fn boundary_template(document: &Value) -> Value {
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kiro-aws role kit: the permissions boundary of the Kiro agent's permission sets",
        "Resources": {
            BOUNDARY_NAME: {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": BOUNDARY_NAME,
                    "Path": BOUNDARY_PATH,
                    "Description": "Caps the Kiro agent's permission sets: no privilege escalation, no reads of secrets, credentials or data",
                    "PolicyDocument": document,
                },
            },
        },
    })
}

pub fn template(kit: &Kit) -> Result<Value> {
    let options = &kit.options;
    let assignment = &options.assignment;
    let mut parameters = Map::new();
    parameters.insert(
        "InstanceArn".into(),
        parameter(
            "The ARN of the IAM Identity Center instance",
            assignment.instance_arn.as_deref(),
            ("AllowedPattern", json!(INSTANCE_PATTERN)),
        ),
    );
    parameters.insert(
        "PrincipalType".into(),
        parameter(
            "Whom the permission sets are assigned to: a GROUP or a USER of the identity store",
            assignment.principal_type.map(|t| t.as_str()),
            ("AllowedValues", json!(["GROUP", "USER"])),
        ),
    );
    parameters.insert(
        "PrincipalId".into(),
        parameter(
            "The identity store id of that group or user",
            assignment.principal_id.as_deref(),
            ("AllowedPattern", json!(PRINCIPAL_PATTERN)),
        ),
    );
    let mut resources = Map::new();
    let mut outputs = Map::new();
    if let Some(document) = &kit.boundary {
        parameters.insert(
            "StackSetCallAs".into(),
            parameter(
                "SELF in the management account, DELEGATED_ADMIN in a delegated administrator account",
                Some("SELF"),
                ("AllowedValues", json!(["SELF", "DELEGATED_ADMIN"])),
            ),
        );
        resources.insert(
            STACK_SET_ID.into(),
            json!({
                "Type": "AWS::CloudFormation::StackSet",
                "Properties": {
                    "StackSetName": STACK_SET_NAME,
                    "Description": "The KiroAgentBoundary policy in every account of the target OUs (kiro-aws policy)",
                    "PermissionModel": "SERVICE_MANAGED",
                    "CallAs": {"Ref": "StackSetCallAs"},
                    "AutoDeployment": {"Enabled": true, "RetainStacksOnAccountRemoval": false},
                    "Capabilities": ["CAPABILITY_NAMED_IAM"],
                    "ManagedExecution": {"Active": true},
                    "StackInstancesGroup": [{
                        "DeploymentTargets": {"OrganizationalUnitIds": options.target_ous},
                        "Regions": [{"Ref": "AWS::Region"}],
                    }],
                    "TemplateBody": boundary_template(document).to_string(),
                },
            }),
        );
    }
    let names: Vec<&str> = kit
        .permission_sets
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    for (set, id) in kit.permission_sets.iter().zip(logical_ids(&names)) {
        let mut properties = json!({
            "InstanceArn": {"Ref": "InstanceArn"},
            "Name": set.name,
            "Description": set.description(),
        });
        policy_properties(set, &mut properties);
        properties["InlinePolicy"] = set.inline_policy.clone();
        if kit.boundary.is_some() {
            properties["PermissionsBoundary"] = json!({
                "CustomerManagedPolicyReference": {"Name": BOUNDARY_NAME, "Path": BOUNDARY_PATH},
            });
        }
        if let Some(duration) = &options.session_duration {
            properties["SessionDuration"] = json!(duration);
        }
        let mut resource = json!({"Type": "AWS::SSO::PermissionSet", "Properties": properties});
        if kit.boundary.is_some() {
            resource["DependsOn"] = json!(STACK_SET_ID);
        }
        resources.insert(id.clone(), resource);
        let short = id.trim_start_matches("PermissionSet");
        for account in &set.accounts {
            resources.insert(
                format!("Assignment{short}{account}"),
                json!({
                    "Type": "AWS::SSO::Assignment",
                    "Properties": {
                        "InstanceArn": {"Ref": "InstanceArn"},
                        "PermissionSetArn": {"Fn::GetAtt": [id, "PermissionSetArn"]},
                        "PrincipalId": {"Ref": "PrincipalId"},
                        "PrincipalType": {"Ref": "PrincipalType"},
                        "TargetId": account,
                        "TargetType": "AWS_ACCOUNT",
                    },
                }),
            );
        }
        outputs.insert(
            format!("{id}Arn"),
            json!({
                "Description": format!("The ARN of the permission set {}", set.name),
                "Value": {"Fn::GetAtt": [id, "PermissionSetArn"]},
            }),
        );
    }
    let extras = &options.extras;
    if extras.kiro_admin_policy {
        resources.insert(
            ADMIN_POLICY_ID.into(),
            json!({
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": enterprise::ADMIN_POLICY_NAME,
                    "Description": "Configure Kiro and manage its subscriptions (kiro-aws policy --kiro-admin-policy)",
                    "PolicyDocument": enterprise::admin_policy(),
                },
            }),
        );
        outputs.insert(
            "KiroAdminPolicyArn".into(),
            json!({"Description": "Attach to whoever manages Kiro subscriptions", "Value": {"Ref": ADMIN_POLICY_ID}}),
        );
    }
    if let Some(role) = &extras.usage_reports_role {
        resources.insert(
            USAGE_REPORTS_ROLE_ID.into(),
            json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": enterprise::USAGE_REPORTS_ROLE_NAME,
                    "Description": "Read Kiro's usage reports for the analytics connector (kiro-aws policy --usage-reports-role)",
                    "AssumeRolePolicyDocument": enterprise::usage_reports_trust(role),
                    "Policies": [{
                        "PolicyName": "ReadKiroUsageReports",
                        "PolicyDocument": enterprise::usage_reports_permissions(role),
                    }],
                },
            }),
        );
        outputs.insert(
            "KiroUsageReportsRoleArn".into(),
            json!({"Description": "The role ARN to give the analytics connector", "Value": {"Fn::GetAtt": [USAGE_REPORTS_ROLE_ID, "Arn"]}}),
        );
    }
    let mut template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kiro-aws role kit: IAM Identity Center permission sets and assignments for the Kiro agent",
    });
    if let Some(key) = &extras.kms_key_policy {
        let statements = enterprise::kms_key_statements(key);
        template["Metadata"] = json!({KMS_KEY: {
            "Description": "Merge these statements into the key policy of the Identity Center instance's KMS key",
            "Statements": statements,
        }});
        outputs.insert(
            KMS_KEY.into(),
            json!({
                "Description": "Key-policy statements to merge into the Identity Center KMS key's policy",
                "Value": Value::Array(statements).to_string(),
            }),
        );
    }
    if resources.len() > MAX_RESOURCES {
        return Err(Error::new(
            Code::KitTooManyResources,
            format!(
                "the template would hold {} resources; CloudFormation takes at most {MAX_RESOURCES}",
                resources.len()
            ),
        ));
    }
    template["Parameters"] = Value::Object(parameters);
    template["Resources"] = Value::Object(resources);
    template["Outputs"] = Value::Object(outputs);
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kit_logical_ids_are_alphanumeric_and_unique() {
        assert_eq!(
            logical_ids(&[
                "Kiro.Read",
                "Kiro-Read",
                "KiroRead",
                "KiroReadN2",
                "Kiro_Write"
            ]),
            [
                "PermissionSetKiroRead",
                "PermissionSetKiroReadN2",
                "PermissionSetKiroReadN3",
                "PermissionSetKiroReadN2N2",
                "PermissionSetKiroWrite",
            ]
        );
    }
}

#[cfg(test)]
mod limits {
    use super::*;
    use crate::kit::permission_set::Access;
    use crate::kit::{check, Flags};

    fn kit_with_accounts(accounts: usize) -> Kit {
        Kit {
            permission_sets: vec![PermissionSet {
                name: "KiroReadOnly".into(),
                access: Access::Read,
                managed_policies: vec![crate::kit::READ_ONLY_ACCESS.into()],
                inline_policy: json!({}),
                accounts: (0..accounts).map(|n| format!("{n:012}")).collect(),
            }],
            boundary: None,
            options: check(Flags::default(), true).unwrap(),
        }
    }

    #[test]
    fn kit_template_refuses_more_than_500_resources() {
        // One permission set and 499 assignments: 500 resources, the most there may be.
        assert_eq!(
            template(&kit_with_accounts(499)).unwrap()["Resources"]
                .as_object()
                .unwrap()
                .len(),
            500
        );
        let err = template(&kit_with_accounts(500)).unwrap_err();
        assert_eq!(err.code, Code::KitTooManyResources);
        assert!(err.message.contains("501"), "{}", err.message);
    }

    #[test]
    fn kit_customer_managed_write_policy_is_a_reference_by_name_and_path() {
        let mut kit = kit_with_accounts(1);
        kit.permission_sets[0].managed_policies = vec![
            "arn:aws:iam::aws:policy/PowerUserAccess".into(),
            "arn:aws:iam::123456789012:policy/team/KiroWrite".into(),
            "arn:aws:iam::123456789012:policy/Other".into(),
        ];
        let properties =
            &template(&kit).unwrap()["Resources"]["PermissionSetKiroReadOnly"]["Properties"];
        assert_eq!(
            properties["ManagedPolicies"],
            json!(["arn:aws:iam::aws:policy/PowerUserAccess"])
        );
        assert_eq!(
            properties["CustomerManagedPolicyReferences"],
            json!([{"Name": "KiroWrite", "Path": "/team/"}, {"Name": "Other", "Path": "/"}])
        );
    }
}
