//! The policy documents: the read set's inline deny, the write set's, and the boundary.
//! Each is rendered with the exact action lists when it fits its size limit, else with
//! the lists compacted into proven wildcards (`compact`), else refused.

use serde_json::{json, Value};

use crate::code::Code;
use crate::error::{Error, Result};
use crate::kit::actions;
use crate::kit::compact;

/// IAM Identity Center: a permission set's inline policy, in characters without
/// whitespace (it becomes an inline policy of the role in every account, whose total is
/// IAM's 10,240).
pub const PERMISSION_SET_INLINE_LIMIT: usize = 10_240;
/// IAM: a customer-managed policy, in characters without whitespace.
pub const CUSTOMER_MANAGED_LIMIT: usize = 6_144;

pub const VERSION: &str = "2012-10-17";

/// Services the write set and the boundary deny whole: Identity Center and Organizations.
pub const DENIED_SERVICES: [&str; 3] = ["organizations:*", "sso-directory:*", "sso:*"];

/// What IAM counts against a limit: the document's characters but whitespace.
pub fn size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

fn deny(sid: &str, actions: Vec<String>) -> Value {
    json!({"Sid": sid, "Effect": "Deny", "Action": actions, "Resource": "*"})
}

fn listed(names: &[&str], compacted: bool) -> Vec<String> {
    if compacted {
        compact::compact(names)
    } else {
        names.iter().map(|n| n.to_string()).collect()
    }
}

fn data_reads(compacted: bool) -> Value {
    deny(
        "DenyDataReads",
        listed(&actions::data_reads().names(), compacted),
    )
}

/// The escalation statements: the listed IAM, Identity Store and account changes (those of
/// a service denied whole are left to that wildcard), Identity Center and Organizations
/// whole, and `iam:PassRole` of any role outside `pass_role_path`.
fn escalation(pass_role_path: &str, compacted: bool) -> Vec<Value> {
    let names: Vec<&str> = actions::escalation()
        .names()
        .into_iter()
        .filter(|name| !DENIED_SERVICES.iter().any(|s| compact::matches(s, name)))
        .collect();
    vec![
        deny("DenyPrivilegeEscalation", listed(&names, compacted)),
        deny(
            "DenyIdentityCenterAndOrganizations",
            DENIED_SERVICES.map(String::from).to_vec(),
        ),
        json!({
            "Sid": "DenyPassRoleOutsideAgentPath",
            "Effect": "Deny",
            "Action": "iam:PassRole",
            "NotResource": pass_role_resource(pass_role_path),
        }),
    ]
}

/// Calls that make an existing resource run new code or commands as its own role, with
/// no `iam:PassRole`: denied unless the resource is the agent's own (tagged
/// `kiro-agent=true`). A call whose resource cannot carry the tag is denied outright.
pub const TAKEOVER: [&str; 20] = [
    "cloudformation:CreateChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:UpdateStack",
    "cloudformation:UpdateStackSet",
    "codebuild:StartBuild",
    "codebuild:StartBuildBatch",
    "codebuild:UpdateProject",
    "ec2:ModifyInstanceAttribute",
    "ecs:ExecuteCommand",
    "ecs:RunTask",
    "ecs:StartTask",
    "elasticmapreduce:AddJobFlowSteps",
    "glue:StartJobRun",
    "glue:UpdateDevEndpoint",
    "glue:UpdateJob",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "servicecatalog:ProvisionProduct",
    "ssm:SendCommand",
    "states:UpdateStateMachine",
];

/// Writes that blind the audit (CloudTrail, GuardDuty, Config, Security Hub, Access
/// Analyzer, log retention), commit money for years, or share data out of the account
/// (snapshot and image sharing, resource policies, public access, grants, exports).
pub const GUARDED_WRITES: [&str; 56] = [
    "access-analyzer:DeleteAnalyzer",
    "aws-marketplace:Subscribe",
    "cloudtrail:DeleteEventDataStore",
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:StopEventDataStoreIngestion",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateEventDataStore",
    "cloudtrail:UpdateTrail",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:StopConfigurationRecorder",
    "dynamodb:ExportTableToPointInTime",
    "dynamodb:PutResourcePolicy",
    "ec2:ModifyImageAttribute",
    "ec2:ModifySnapshotAttribute",
    "ec2:PurchaseCapacityBlock",
    "ec2:PurchaseHostReservation",
    "ec2:PurchaseReservedInstancesOffering",
    "ec2:PurchaseScheduledInstances",
    "ecr:SetRepositoryPolicy",
    "elasticache:PurchaseReservedCacheNodesOffering",
    "guardduty:CreateFilter",
    "guardduty:DeleteDetector",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:UpdateDetector",
    "guardduty:UpdateFilter",
    "kms:CreateGrant",
    "kms:PutKeyPolicy",
    "lambda:AddLayerVersionPermission",
    "lambda:AddPermission",
    "logs:DeleteLogGroup",
    "logs:DeleteLogStream",
    "logs:PutRetentionPolicy",
    "ram:AssociateResourceShare",
    "ram:CreateResourceShare",
    "rds:ModifyDBClusterSnapshotAttribute",
    "rds:ModifyDBSnapshotAttribute",
    "rds:PurchaseReservedDBInstancesOffering",
    "redshift:PurchaseReservedNodeOffering",
    "route53domains:RegisterDomain",
    "route53domains:TransferDomain",
    "s3:DeleteBucketPolicy",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutObjectAcl",
    "savingsplans:CreateSavingsPlan",
    "secretsmanager:PutResourcePolicy",
    "securityhub:BatchDisableStandards",
    "securityhub:DisableSecurityHub",
    "shield:CreateSubscription",
    "sns:AddPermission",
    "sqs:AddPermission",
];

/// The privilege guards beyond IAM: no other role assumed (but the agent's own, under
/// `path`), no root session, no existing role taken over.
fn privilege_guards(path: &str) -> Vec<Value> {
    vec![
        json!({
            "Sid": "DenyAssumingOtherRoles",
            "Effect": "Deny",
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
            "NotResource": pass_role_resource(path),
        }),
        deny("DenyAssumeRoot", vec!["sts:AssumeRoot".into()]),
        json!({
            "Sid": "DenyTakingOverExistingRoles",
            "Effect": "Deny",
            "Action": TAKEOVER,
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:ResourceTag/kiro-agent": "true"}},
        }),
    ]
}

/// The write set's guards on what it may change: no audit blinded, no money committed,
/// no data shared out.
fn write_guards() -> Value {
    deny(
        "DenyAuditTamperingCommitmentsAndSharing",
        GUARDED_WRITES.map(String::from).to_vec(),
    )
}

/// The roles the agent may pass: those under `path` in any account.
pub fn pass_role_resource(path: &str) -> String {
    format!("arn:aws:iam::*:role{path}*")
}

fn document(statements: Vec<Value>) -> Value {
    json!({"Version": VERSION, "Statement": statements})
}

/// Render with exact lists, or compacted when that does not fit, or refuse.
fn fitted(what: &str, limit: usize, build: impl Fn(bool) -> Value) -> Result<Value> {
    [false, true]
        .into_iter()
        .map(&build)
        .find(|doc| size(doc) <= limit)
        .ok_or_else(|| {
            Error::new(
                Code::KitPolicyTooLarge,
                format!(
                    "the {what} takes {} characters, over IAM's {limit}",
                    size(&build(true))
                ),
            )
        })
}

/// The read set's inline policy: deny the data-plane reads.
pub fn read_inline() -> Result<Value> {
    fitted(
        "read set's inline policy",
        PERMISSION_SET_INLINE_LIMIT,
        |c| document(vec![data_reads(c)]),
    )
}

/// The write set's inline policy: deny privilege escalation and the data-plane reads.
pub fn write_inline(pass_role_path: &str) -> Result<Value> {
    fitted(
        "write set's inline policy",
        PERMISSION_SET_INLINE_LIMIT,
        |c| {
            let mut statements = escalation(pass_role_path, c);
            statements.extend(privilege_guards(pass_role_path));
            statements.push(write_guards());
            statements.push(data_reads(c));
            document(statements)
        },
    )
}

/// The boundary both sets get with `--boundary`: everything, less privilege: the
/// escalation, other roles, root sessions and existing roles' takeover. (The data-plane
/// reads and the guarded writes stay in each set's inline policy: with them the boundary
/// would not fit a customer-managed policy's 6,144 characters.)
pub fn boundary(pass_role_path: &str) -> Result<Value> {
    fitted("boundary policy", CUSTOMER_MANAGED_LIMIT, |c| {
        let mut statements = vec![
            json!({"Sid": "AllowWithinBoundary", "Effect": "Allow", "Action": "*", "Resource": "*"}),
        ];
        statements.extend(escalation(pass_role_path, c));
        statements.extend(privilege_guards(pass_role_path));
        document(statements)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions_of(doc: &Value, sid: &str) -> Vec<String> {
        let statement = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no {sid}"));
        match &statement["Action"] {
            Value::String(a) => vec![a.clone()],
            other => serde_json::from_value(other.clone()).unwrap(),
        }
    }

    fn denied(doc: &Value, action: &str) -> bool {
        doc["Statement"].as_array().unwrap().iter().any(|s| {
            s["Effect"] == "Deny"
                && s["Resource"] == "*"
                && match &s["Action"] {
                    Value::String(a) => compact::matches(a, action),
                    Value::Array(list) => list
                        .iter()
                        .any(|a| compact::matches(a.as_str().unwrap(), action)),
                    _ => false,
                }
        })
    }

    #[test]
    fn kit_documents_fit_their_limits() {
        let read = read_inline().unwrap();
        let write = write_inline("/kiro-agent/").unwrap();
        let boundary = boundary("/kiro-agent/").unwrap();
        assert!(
            size(&read) <= PERMISSION_SET_INLINE_LIMIT,
            "{}",
            size(&read)
        );
        assert!(
            size(&write) <= PERMISSION_SET_INLINE_LIMIT,
            "{}",
            size(&write)
        );
        assert!(
            size(&boundary) <= CUSTOMER_MANAGED_LIMIT,
            "{}",
            size(&boundary)
        );
    }

    #[test]
    fn kit_read_inline_is_the_exact_data_read_list() {
        let read = read_inline().unwrap();
        assert_eq!(
            read,
            json!({"Version": VERSION, "Statement": [{
                "Sid": "DenyDataReads",
                "Effect": "Deny",
                "Action": actions::data_reads().names(),
                "Resource": "*",
            }]})
        );
    }

    #[test]
    fn kit_write_and_boundary_deny_every_listed_action() {
        let write = write_inline("/kiro-agent/").unwrap();
        let boundary = boundary("/kiro-agent/").unwrap();
        // The write set denies the data reads and the guarded writes; the boundary caps
        // privilege only (both sets carry their data-read deny inline).
        for action in actions::data_reads()
            .names()
            .into_iter()
            .chain(GUARDED_WRITES)
        {
            assert!(denied(&write, action), "{action} is not denied");
        }
        for doc in [&write, &boundary] {
            for action in actions::escalation()
                .names()
                .into_iter()
                .chain(["sts:AssumeRoot"])
            {
                assert!(denied(doc, action), "{action} is not denied");
            }
            let statement = |sid: &str| {
                doc["Statement"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["Sid"] == sid)
                    .unwrap_or_else(|| panic!("no {sid}"))
                    .clone()
            };
            assert_eq!(
                statement("DenyAssumingOtherRoles"),
                json!({"Sid": "DenyAssumingOtherRoles", "Effect": "Deny",
                       "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"],
                       "NotResource": "arn:aws:iam::*:role/kiro-agent/*"})
            );
            let takeover = statement("DenyTakingOverExistingRoles");
            assert_eq!(
                takeover["Condition"],
                json!({"StringNotEquals": {"aws:ResourceTag/kiro-agent": "true"}})
            );
            assert_eq!(takeover["Action"], json!(TAKEOVER));
            assert!(!denied(doc, "s3:PutObject"));
            assert!(!denied(doc, "ec2:DescribeInstances"));
            assert!(
                !denied(doc, "iam:PassRole"),
                "PassRole is denied by path only"
            );
            let pass = doc["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == "DenyPassRoleOutsideAgentPath")
                .unwrap();
            assert_eq!(
                pass,
                &json!({"Sid": "DenyPassRoleOutsideAgentPath", "Effect": "Deny", "Action": "iam:PassRole", "NotResource": "arn:aws:iam::*:role/kiro-agent/*"})
            );
            assert_eq!(
                actions_of(doc, "DenyIdentityCenterAndOrganizations"),
                ["organizations:*", "sso-directory:*", "sso:*"]
            );
        }
        assert_eq!(actions_of(&boundary, "AllowWithinBoundary"), ["*"]);
        assert_eq!(boundary["Statement"][0]["Effect"], "Allow");
    }

    #[test]
    fn kit_pass_role_path_is_a_parameter() {
        assert_eq!(pass_role_resource("/"), "arn:aws:iam::*:role/*");
        assert_eq!(
            pass_role_resource("/agents/kiro/"),
            "arn:aws:iam::*:role/agents/kiro/*"
        );
    }
}
