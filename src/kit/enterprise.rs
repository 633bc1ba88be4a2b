//! The optional documents for rolling Kiro out in an organisation, each behind its own
//! flag: the policy of the person who manages Kiro subscriptions, the two key-policy
//! statements an Identity Center instance encrypted with a customer-managed KMS key needs,
//! and the role a usage-analytics connector assumes to read Kiro's usage reports.

use serde_json::{json, Value};

use crate::kit::documents::VERSION;

pub const ADMIN_POLICY_NAME: &str = "KiroSubscriptionAdmin";
pub const USAGE_REPORTS_ROLE_NAME: &str = "KiroUsageReportsReader";
/// The analytics vendor's (DX's) role that assumes the usage-reports role.
pub const DX_PRINCIPAL: &str = "arn:aws:iam::703671904508:role/dx-datacloud";
/// The service-linked role Kiro creates for Amazon Q Developer on subscription.
pub const Q_SERVICE_LINKED_ROLE: &str =
    "arn:aws:iam::*:role/aws-service-role/q.amazonaws.com/AWSServiceRoleForAmazonQDeveloper";

/// Which extras were asked for, with their checked parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub kiro_admin_policy: bool,
    pub kms_key_policy: Option<KmsKey>,
    pub usage_reports_role: Option<UsageReports>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKey {
    pub instance_arn: String,
    pub identity_store_id: String,
    pub sso_region: String,
    pub identity_store_account: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReports {
    pub bucket: String,
    pub external_id: String,
    pub analytics_principal: String,
}

fn prefixed(service: &str, names: &[&str]) -> Vec<String> {
    names.iter().map(|n| format!("{service}:{n}")).collect()
}

/// What the console needs to set Kiro up and subscribe users, and the one service-linked
/// role it may create.
pub fn admin_policy() -> Value {
    let mut actions = Vec::new();
    for (service, names) in [
        (
            "sso",
            &[
                "ListInstances",
                "CreateInstance",
                "CreateApplication",
                "PutApplicationAuthenticationMethod",
                "PutApplicationGrant",
                "PutApplicationAssignmentConfiguration",
                "ListApplications",
                "GetSharedSsoConfiguration",
                "DescribeInstance",
                "PutApplicationAccessScope",
                "DescribeApplication",
                "DeleteApplication",
                "CreateApplicationAssignment",
                "DeleteApplicationAssignment",
                "UpdateApplication",
                "DescribeRegisteredRegions",
                "GetSSOStatus",
            ][..],
        ),
        ("iam", &["ListRoles"][..]),
        ("identitystore", &["DescribeUser"][..]),
        (
            "sso-directory",
            &[
                "GetUserPoolInfo",
                "DescribeUsers",
                "DescribeGroups",
                "SearchGroups",
                "SearchUsers",
                "DescribeDirectory",
            ][..],
        ),
        (
            "signin",
            &[
                "ListTrustedIdentityPropagationApplicationsForConsole",
                "CreateTrustedIdentityPropagationApplicationForConsole",
            ][..],
        ),
        (
            "user-subscriptions",
            &[
                "ListClaims",
                "ListApplicationClaims",
                "ListUserSubscriptions",
                "CreateClaim",
                "DeleteClaim",
                "UpdateClaim",
                "SetOverageConfig",
            ][..],
        ),
        (
            "organizations",
            &[
                "DescribeAccount",
                "DescribeOrganization",
                "ListAWSServiceAccessForOrganization",
                "DisableAWSServiceAccess",
                "EnableAWSServiceAccess",
            ][..],
        ),
        (
            "kms",
            &[
                "ListAliases",
                "CreateGrant",
                "Encrypt",
                "Decrypt",
                "GenerateDataKey*",
                "RetireGrant",
                "DescribeKey",
            ][..],
        ),
        ("codeguru-security", &["UpdateAccountConfiguration"][..]),
        (
            "codewhisperer",
            &[
                "UpdateProfile",
                "ListProfiles",
                "TagResource",
                "UnTagResource",
                "ListTagsForResource",
                "CreateProfile",
            ][..],
        ),
        (
            "q",
            &[
                "ListDashboardMetrics",
                "CreateAssignment",
                "DeleteAssignment",
                "UpdateAssignment",
            ][..],
        ),
        ("cloudwatch", &["GetMetricData", "ListMetrics"][..]),
    ] {
        actions.extend(prefixed(service, names));
    }
    json!({
        "Version": VERSION,
        "Statement": [
            {"Sid": "ManageKiroSubscriptions", "Effect": "Allow", "Action": actions, "Resource": "*"},
            {
                "Sid": "CreateQDeveloperServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": Q_SERVICE_LINKED_ROLE,
            },
        ],
    })
}

/// The two statements to merge into the key policy: Kiro (`q.amazonaws.com`) may decrypt
/// Identity Center's and the identity store's data, through those services only.
pub fn kms_key_statements(key: &KmsKey) -> Vec<Value> {
    let identity_store_arn = format!(
        "arn:aws:identitystore::{}:identitystore/{}",
        key.identity_store_account, key.identity_store_id
    );
    vec![
        json!({
            "Sid": "KiroDecryptIdentityCenterData",
            "Effect": "Allow",
            "Principal": {"Service": "q.amazonaws.com"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:EncryptionContext:aws:sso:instance-arn": key.instance_arn,
                "kms:ViaService": format!("sso.{}.amazonaws.com", key.sso_region),
            }},
        }),
        json!({
            "Sid": "KiroDecryptIdentityStoreData",
            "Effect": "Allow",
            "Principal": {"Service": "q.amazonaws.com"},
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"StringEquals": {
                "kms:EncryptionContext:aws:identitystore:identitystore-arn": identity_store_arn,
                "kms:ViaService": format!("identitystore.{}.amazonaws.com", key.sso_region),
            }},
        }),
    ]
}

/// Only the analytics principal, and only with the external id it was given.
pub fn usage_reports_trust(role: &UsageReports) -> Value {
    json!({
        "Version": VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": role.analytics_principal},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": role.external_id}},
        }],
    })
}

/// List the reports bucket and read its objects; nothing else.
pub fn usage_reports_permissions(role: &UsageReports) -> Value {
    json!({
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ListReports",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{}", role.bucket),
            },
            {
                "Sid": "ReadReports",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{}/*", role.bucket),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kit_kms_statements_name_the_instance_and_store() {
        let key = KmsKey {
            instance_arn: "arn:aws:sso:::instance/ssoins-72230a1b2c3d4e5f".into(),
            identity_store_id: "d-1234567890".into(),
            sso_region: "eu-west-1".into(),
            identity_store_account: "444455556666".into(),
        };
        let statements = kms_key_statements(&key);
        assert_eq!(
            statements[1],
            json!({
                "Sid": "KiroDecryptIdentityStoreData",
                "Effect": "Allow",
                "Principal": {"Service": "q.amazonaws.com"},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:EncryptionContext:aws:identitystore:identitystore-arn": "arn:aws:identitystore::444455556666:identitystore/d-1234567890",
                    "kms:ViaService": "identitystore.eu-west-1.amazonaws.com",
                }},
            })
        );
        assert_eq!(
            statements[0]["Condition"]["StringEquals"],
            json!({
                "kms:EncryptionContext:aws:sso:instance-arn": "arn:aws:sso:::instance/ssoins-72230a1b2c3d4e5f",
                "kms:ViaService": "sso.eu-west-1.amazonaws.com",
            })
        );
    }

    #[test]
    fn kit_usage_reports_role_reads_one_bucket_for_one_principal() {
        let role = UsageReports {
            bucket: "kiro-reports".into(),
            external_id: "dx-123".into(),
            analytics_principal: DX_PRINCIPAL.into(),
        };
        assert_eq!(
            usage_reports_trust(&role),
            json!({"Version": VERSION, "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::703671904508:role/dx-datacloud"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "dx-123"}},
            }]})
        );
        let permissions = usage_reports_permissions(&role);
        assert_eq!(
            permissions["Statement"][0]["Resource"],
            "arn:aws:s3:::kiro-reports"
        );
        assert_eq!(
            permissions["Statement"][1]["Resource"],
            "arn:aws:s3:::kiro-reports/*"
        );
    }

    #[test]
    fn kit_admin_policy_creates_only_the_q_service_linked_role() {
        let policy = admin_policy();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
        let all: Vec<&str> = statements[0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(all.len(), 17 + 1 + 1 + 6 + 2 + 7 + 5 + 7 + 1 + 6 + 4 + 2);
        assert!(!all.iter().any(|a| a.starts_with("iam:Create")));
        assert_eq!(statements[1]["Resource"], Q_SERVICE_LINKED_ROLE);
        assert!(
            crate::kit::documents::size(&policy) <= crate::kit::documents::CUSTOMER_MANAGED_LIMIT
        );
    }
}
