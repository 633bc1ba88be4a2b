//! `kiro-aws policy`, the role kit: the real binary against a real isolated config. The
//! documents it prints are checked by shape, by equality, by cfn-lint (PyPI), and by real
//! client calls against moto on loopback with IAM enforcement on and AWS's managed
//! policies loaded (`tests/stubs/iam_check.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::harness::{venv_bin, Test, PROFILES};

const INSTANCE: &str = "arn:aws:sso:::instance/ssoins-0123456789abcdef";
const GROUP: &str = "906715c1-1f21-4d9c-9d3a-2b5f0e6a7c8d";
const OU: &str = "ou-ab12-cd34ef56";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// An action list of `data/`, read here on its own (not through the binary).
fn listed(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo(&format!("data/{file}"))).unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    list["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect()
}

fn kit() -> Test {
    let t = Test::new();
    t.init_with(&PROFILES);
    t
}

fn policy(t: &Test, args: &[&str]) -> Value {
    let mut argv = vec!["policy"];
    argv.extend(args);
    t.cmd(argv).run().success().json()
}

fn read_inline() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyDataReads", "Effect": "Deny", "Action": listed("iam-data-reads.json"), "Resource": "*"},
    ]})
}

/// The write set's inline policy as the README describes it: the listed escalations but
/// those of the services denied whole, those services, PassRole and other roles by path,
/// no root session, no existing role taken over, the guarded writes, the data reads. It
/// does not fit IAM's 10,240 characters with the lists spelled out, so the two generated
/// lists are in their proven wildcard form.
fn write_inline(path: &str) -> Value {
    use kiro_aws::testing::{compact, GUARDED_WRITES, TAKEOVER};
    let whole = ["organizations:", "sso-directory:", "sso:"];
    let escalation: Vec<String> = listed("iam-escalation.json")
        .into_iter()
        .filter(|a| !whole.iter().any(|w| a.starts_with(w)))
        .collect();
    let wildcards =
        |names: Vec<String>| compact(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let role = format!("arn:aws:iam::*:role{path}*");
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyPrivilegeEscalation", "Effect": "Deny", "Action": wildcards(escalation), "Resource": "*"},
        {"Sid": "DenyIdentityCenterAndOrganizations", "Effect": "Deny",
         "Action": ["organizations:*", "sso-directory:*", "sso:*"], "Resource": "*"},
        {"Sid": "DenyPassRoleOutsideAgentPath", "Effect": "Deny", "Action": "iam:PassRole",
         "NotResource": role},
        {"Sid": "DenyAssumingOtherRoles", "Effect": "Deny",
         "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"], "NotResource": role},
        {"Sid": "DenyAssumeRoot", "Effect": "Deny", "Action": ["sts:AssumeRoot"], "Resource": "*"},
        {"Sid": "DenyTakingOverExistingRoles", "Effect": "Deny", "Action": TAKEOVER.to_vec(), "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:ResourceTag/kiro-agent": "true"}}},
        {"Sid": "DenyAuditTamperingCommitmentsAndSharing", "Effect": "Deny", "Action": GUARDED_WRITES.to_vec(),
         "Resource": "*"},
        {"Sid": "DenyDataReads", "Effect": "Deny", "Action": wildcards(listed("iam-data-reads.json")),
         "Resource": "*"},
    ]})
}

#[test]
fn policy_json_is_exactly_the_permission_sets() {
    let t = kit();
    assert_eq!(
        policy(&t, &[]),
        json!({"permission_sets": [
            {
                "name": "KiroReadOnly",
                "access": "read",
                "managed_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "inline_policy": read_inline(),
                "boundary": null,
                "accounts": ["111111111111", "222222222222"],
            },
            {
                "name": "KiroWrite",
                "access": "write",
                "managed_policies": ["arn:aws:iam::aws:policy/PowerUserAccess"],
                "inline_policy": write_inline("/kiro-agent/"),
                "boundary": null,
                "accounts": ["333333333333"],
            },
        ]})
    );
    let out = policy(
        &t,
        &[
            "--format",
            "json",
            "--view-only",
            "--write-policy",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "--pass-role-path",
            "/agents/kiro/",
        ],
    );
    let sets = &out["permission_sets"];
    assert_eq!(
        sets[0]["managed_policies"],
        json!(["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"])
    );
    assert_eq!(
        sets[1]["managed_policies"],
        json!(["arn:aws:iam::aws:policy/AdministratorAccess"])
    );
    assert_eq!(sets[1]["inline_policy"], write_inline("/agents/kiro/"));
}

#[test]
fn policy_json_boundary_and_extras_appear_only_when_asked() {
    let t = kit();
    let out = policy(&t, &["--boundary"]);
    assert_eq!(
        out.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["permission_sets"]
    );
    let boundary = &out["permission_sets"][0]["boundary"];
    assert_eq!(boundary["name"], "KiroAgentBoundary");
    assert_eq!(boundary["path"], "/");
    assert_eq!(
        out["permission_sets"][1]["boundary"], *boundary,
        "one boundary caps both sets"
    );
    let statements = boundary["document"]["Statement"].as_array().unwrap();
    assert_eq!(
        statements[0],
        json!({"Sid": "AllowWithinBoundary", "Effect": "Allow", "Action": "*", "Resource": "*"})
    );
    let sids: Vec<&str> = statements
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "AllowWithinBoundary",
            "DenyPrivilegeEscalation",
            "DenyIdentityCenterAndOrganizations",
            "DenyPassRoleOutsideAgentPath",
            "DenyAssumingOtherRoles",
            "DenyAssumeRoot",
            "DenyTakingOverExistingRoles",
        ]
    );
    let size = boundary["document"]
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    assert!(
        size <= 6144,
        "a customer-managed policy holds 6,144 characters, not {size}"
    );

    let out = policy(
        &t,
        &[
            "--kiro-admin-policy",
            "--kms-key-policy",
            "--instance-arn",
            INSTANCE,
            "--identity-store-id",
            "d-1234567890",
            "--sso-region",
            "eu-west-1",
            "--identity-store-account",
            "444455556666",
            "--usage-reports-role",
            "--reports-bucket",
            "kiro-reports",
            "--external-id",
            "dx-123",
        ],
    );
    let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "permission_sets",
            "kiro_admin_policy",
            "kms_key_policy_statements",
            "usage_reports_role"
        ]
    );
    assert_eq!(out["kiro_admin_policy"]["name"], "KiroSubscriptionAdmin");
    assert_eq!(
        out["kiro_admin_policy"]["document"]["Statement"][1],
        json!({"Sid": "CreateQDeveloperServiceLinkedRole", "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole",
               "Resource": "arn:aws:iam::*:role/aws-service-role/q.amazonaws.com/AWSServiceRoleForAmazonQDeveloper"})
    );
    assert_eq!(
        out["kms_key_policy_statements"][0],
        json!({"Sid": "KiroDecryptIdentityCenterData", "Effect": "Allow", "Principal": {"Service": "q.amazonaws.com"},
               "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sso:instance-arn": INSTANCE,
                                              "kms:ViaService": "sso.eu-west-1.amazonaws.com"}}})
    );
    assert_eq!(
        out["usage_reports_role"],
        json!({
            "name": "KiroUsageReportsReader",
            "trust_policy": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::703671904508:role/dx-datacloud"},
                "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "dx-123"}}}]},
            "permissions_policy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "ListReports", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::kiro-reports"},
                {"Sid": "ReadReports", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::kiro-reports/*"}]},
        })
    );
}

/// The template for a fixed input, whole, written out here.
/// The fixed input the whole template is compared for.
const FIXED: [&str; 10] = [
    "--format",
    "cloudformation",
    "--instance-arn",
    INSTANCE,
    "--principal-type",
    "GROUP",
    "--principal-id",
    GROUP,
    "--session-duration",
    "PT90M",
];

#[test]
fn policy_cloudformation_template_for_a_fixed_input() {
    let t = kit();
    let template = policy(&t, &FIXED);
    let assignment = |set: &str, account: &str| {
        json!({"Type": "AWS::SSO::Assignment", "Properties": {
            "InstanceArn": {"Ref": "InstanceArn"},
            "PermissionSetArn": {"Fn::GetAtt": [format!("PermissionSet{set}"), "PermissionSetArn"]},
            "PrincipalId": {"Ref": "PrincipalId"},
            "PrincipalType": {"Ref": "PrincipalType"},
            "TargetId": account,
            "TargetType": "AWS_ACCOUNT",
        }})
    };
    let expected = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kiro-aws role kit: IAM Identity Center permission sets and assignments for the Kiro agent",
        "Parameters": {
            "InstanceArn": {"Type": "String", "Description": "The ARN of the IAM Identity Center instance",
                "AllowedPattern": "^arn:aws[a-z-]*:sso:::instance/ssoins-[a-zA-Z0-9]{16}$", "Default": INSTANCE},
            "PrincipalType": {"Type": "String", "Description": "Whom the permission sets are assigned to: a GROUP or a USER of the identity store",
                "AllowedValues": ["GROUP", "USER"], "Default": "GROUP"},
            "PrincipalId": {"Type": "String", "Description": "The identity store id of that group or user",
                "AllowedPattern": "^([0-9a-f]{10}-)?[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$", "Default": GROUP},
        },
        "Resources": {
            "PermissionSetKiroReadOnly": {"Type": "AWS::SSO::PermissionSet", "Properties": {
                "InstanceArn": {"Ref": "InstanceArn"},
                "Name": "KiroReadOnly",
                "Description": "Kiro agent, read-only: the managed policy less the reads of secrets, credentials and data (kiro-aws policy)",
                "ManagedPolicies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                "InlinePolicy": read_inline(),
                "SessionDuration": "PT1H30M",
            }},
            "AssignmentKiroReadOnly111111111111": assignment("KiroReadOnly", "111111111111"),
            "AssignmentKiroReadOnly222222222222": assignment("KiroReadOnly", "222222222222"),
            "PermissionSetKiroWrite": {"Type": "AWS::SSO::PermissionSet", "Properties": {
                "InstanceArn": {"Ref": "InstanceArn"},
                "Name": "KiroWrite",
                "Description": "Kiro agent, writes: the managed policy less privilege escalation and the reads of secrets, credentials and data (kiro-aws policy)",
                "ManagedPolicies": ["arn:aws:iam::aws:policy/PowerUserAccess"],
                "InlinePolicy": write_inline("/kiro-agent/"),
                "SessionDuration": "PT1H30M",
            }},
            "AssignmentKiroWrite333333333333": assignment("KiroWrite", "333333333333"),
        },
        "Outputs": {
            "PermissionSetKiroReadOnlyArn": {"Description": "The ARN of the permission set KiroReadOnly",
                "Value": {"Fn::GetAtt": ["PermissionSetKiroReadOnly", "PermissionSetArn"]}},
            "PermissionSetKiroWriteArn": {"Description": "The ARN of the permission set KiroWrite",
                "Value": {"Fn::GetAtt": ["PermissionSetKiroWrite", "PermissionSetArn"]}},
        },
    });
    assert_eq!(template, expected);
    // Deterministic, byte for byte.
    let again = t.cmd(["policy"].iter().chain(&FIXED)).run().success();
    assert_eq!(
        again.stdout,
        serde_json::to_string_pretty(&expected).unwrap() + "\n"
    );
}

#[test]
fn policy_cloudformation_boundary_is_a_service_managed_stack_set() {
    let t = kit();
    let template = policy(
        &t,
        &[
            "--format",
            "cloudformation",
            "--boundary",
            "--target-ou",
            OU,
            "--target-ou",
            "r-ab12",
        ],
    );
    let boundary =
        policy(&t, &["--boundary"])["permission_sets"][0]["boundary"]["document"].clone();
    let stack_set = &template["Resources"]["KiroAgentBoundaryStackSet"];
    let body: Value =
        serde_json::from_str(stack_set["Properties"]["TemplateBody"].as_str().unwrap()).unwrap();
    let mut properties = stack_set["Properties"].clone();
    properties.as_object_mut().unwrap().remove("TemplateBody");
    assert_eq!(
        properties,
        json!({
            "StackSetName": "kiro-agent-boundary",
            "Description": "The KiroAgentBoundary policy in every account of the target OUs (kiro-aws policy)",
            "PermissionModel": "SERVICE_MANAGED",
            "CallAs": {"Ref": "StackSetCallAs"},
            "AutoDeployment": {"Enabled": true, "RetainStacksOnAccountRemoval": false},
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "ManagedExecution": {"Active": true},
            "StackInstancesGroup": [{"DeploymentTargets": {"OrganizationalUnitIds": [OU, "r-ab12"]},
                                     "Regions": [{"Ref": "AWS::Region"}]}],
        })
    );
    assert_eq!(
        body["Resources"]["KiroAgentBoundary"],
        json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": "KiroAgentBoundary", "Path": "/",
            "Description": "Caps the Kiro agent's permission sets: no privilege escalation, no reads of secrets, credentials or data",
            "PolicyDocument": boundary,
        }})
    );
    for set in ["PermissionSetKiroReadOnly", "PermissionSetKiroWrite"] {
        let resource = &template["Resources"][set];
        assert_eq!(resource["DependsOn"], "KiroAgentBoundaryStackSet");
        assert_eq!(
            resource["Properties"]["PermissionsBoundary"],
            json!({"CustomerManagedPolicyReference": {"Name": "KiroAgentBoundary", "Path": "/"}})
        );
    }
}

fn cfn_lint(dir: &Path, name: &str, template: &str) {
    let path = dir.join(name);
    std::fs::write(&path, template).unwrap();
    let out = Command::new(venv_bin("cfn-lint"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cfn-lint {name}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn policy_cloudformation_templates_pass_cfn_lint() {
    let t = kit();
    let kms = [
        "--kms-key-policy",
        "--instance-arn",
        INSTANCE,
        "--identity-store-id",
        "d-1234567890",
        "--sso-region",
        "eu-west-1",
        "--identity-store-account",
        "444455556666",
    ];
    let usage = [
        "--usage-reports-role",
        "--reports-bucket",
        "kiro-reports",
        "--external-id",
        "dx-123",
    ];
    let mut everything = vec![
        "--boundary",
        "--target-ou",
        OU,
        "--principal-type",
        "USER",
        "--principal-id",
        GROUP,
        "--session-duration",
        "12h",
        "--kiro-admin-policy",
        "--write-policy",
        "arn:aws:iam::123456789012:policy/team/KiroWrite",
    ];
    everything.extend(kms);
    everything.extend(usage);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("bare", vec![]),
        (
            "assigned",
            vec![
                "--instance-arn",
                INSTANCE,
                "--principal-type",
                "GROUP",
                "--principal-id",
                GROUP,
            ],
        ),
        (
            "view-only",
            vec!["--view-only", "--session-duration", "PT1H"],
        ),
        (
            "boundary",
            vec!["--boundary", "--target-ou", OU, "--target-ou", "r-ab12"],
        ),
        ("admin", vec!["--kiro-admin-policy"]),
        ("kms", kms.to_vec()),
        ("usage", usage.to_vec()),
        ("everything", everything),
    ];
    for (name, flags) in cases {
        let mut args = vec!["--format", "cloudformation"];
        args.extend(flags);
        let template = policy(&t, &args);
        cfn_lint(
            t.root(),
            &format!("{name}.json"),
            &serde_json::to_string_pretty(&template).unwrap(),
        );
        if let Some(stack_set) = template["Resources"].get("KiroAgentBoundaryStackSet") {
            let body = stack_set["Properties"]["TemplateBody"].as_str().unwrap();
            cfn_lint(t.root(), &format!("{name}-boundary.json"), body);
        }
        if name == "kms" {
            let statements = &template["Metadata"]["KiroKmsKeyPolicyStatements"]["Statements"];
            assert_eq!(statements.as_array().unwrap().len(), 2);
            let output = template["Outputs"]["KiroKmsKeyPolicyStatements"]["Value"]
                .as_str()
                .unwrap();
            assert_eq!(&serde_json::from_str::<Value>(output).unwrap(), statements);
        }
    }
}

#[test]
fn policy_usage_errors_exit_2_with_their_code() {
    let t = kit();
    for (args, code) in [
        (vec!["--session-duration", "13h"], "kit_duration_invalid"),
        (vec!["--session-duration", "PT30M"], "kit_duration_invalid"),
        (vec!["--session-duration", "eight"], "kit_duration_invalid"),
        (
            vec!["--format", "cloudformation", "--boundary"],
            "kit_flag_missing",
        ),
        (
            vec!["--boundary", "--target-ou", "ou-xyz"],
            "kit_value_invalid",
        ),
        (vec!["--write-policy", "PowerUserAccess"], "kit_arn_invalid"),
        (
            vec!["--instance-arn", "ssoins-0123456789abcdef"],
            "kit_arn_invalid",
        ),
        (vec!["--principal-id", "alice"], "kit_value_invalid"),
        (vec!["--pass-role-path", "kiro-agent"], "kit_value_invalid"),
        (
            vec![
                "--kms-key-policy",
                "--instance-arn",
                INSTANCE,
                "--sso-region",
                "eu-west-1",
                "--identity-store-account",
                "444455556666",
            ],
            "kit_flag_missing",
        ),
        (
            vec![
                "--kms-key-policy",
                "--instance-arn",
                INSTANCE,
                "--identity-store-id",
                "d-12",
                "--sso-region",
                "eu-west-1",
                "--identity-store-account",
                "444455556666",
            ],
            "kit_value_invalid",
        ),
        (
            vec!["--usage-reports-role", "--reports-bucket", "kiro-reports"],
            "kit_flag_missing",
        ),
        (
            vec![
                "--usage-reports-role",
                "--reports-bucket",
                "Kiro_Reports",
                "--external-id",
                "dx-1",
            ],
            "kit_value_invalid",
        ),
        (
            vec![
                "--usage-reports-role",
                "--reports-bucket",
                "kiro-reports",
                "--external-id",
                "dx-1",
                "--analytics-principal",
                "dx",
            ],
            "kit_arn_invalid",
        ),
    ] {
        let mut argv = vec!["policy"];
        argv.extend(&args);
        let run = t.cmd(argv).run().exit(2);
        run.stderr_has(&format!("error[{code}]"));
        assert!(run.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    let run = t
        .cmd([
            "policy",
            "--kms-key-policy",
            "--instance-arn",
            INSTANCE,
            "--sso-region",
            "eu-west-1",
            "--identity-store-account",
            "444455556666",
        ])
        .run()
        .exit(2);
    run.stderr_has("--identity-store-id");
    // A flag of an extra without its extra is the parser's usage error.
    t.cmd(["policy", "--reports-bucket", "kiro-reports"])
        .run()
        .exit(2)
        .stderr_has("--usage-reports-role");
    t.cmd(["policy", "--target-ou", OU])
        .run()
        .exit(2)
        .stderr_has("--boundary");
}

#[test]
fn policy_refuses_a_role_that_cannot_be_a_permission_set() {
    let t = Test::new();
    t.init_with(&["kiro-readonly=111111111111:KiroReadOnlyForTheWholePlatformTeam"]);
    t.cmd(["policy"])
        .run()
        .exit(2)
        .stderr_has("error[kit_name_invalid]");
}

#[test]
fn policy_needs_a_proven_config() {
    let t = Test::new();
    t.cmd(["policy"])
        .run()
        .exit(3)
        .stderr_has("error[isolation_not_proven]");
}

#[test]
fn policy_help_teaches_the_deploy_command() {
    let t = Test::new();
    let top = t.cmd(["--help"]).run().success().stdout;
    assert!(top.contains("policy"), "{top}");
    let run = t.cmd(["policy", "--help"]).run().success();
    for needle in [
        "aws cloudformation deploy --template-file kiro-kit.json",
        "--capabilities CAPABILITY_NAMED_IAM",
        "AWSReservedSSO_<name>_<hex>",
        "Examples:",
        "--target-ou",
    ] {
        assert!(
            run.stdout.contains(needle),
            "no {needle:?} in:\n{}",
            run.stdout
        );
    }
}

// Real enforcement: the printed documents on a role in moto, then real calls.

/// `(service, operation)` calls through `tests/stubs/iam_check.py`, as a role holding
/// `managed` and `inline` (and `extra` policies); the outcome of each, in order.
fn outcomes(
    managed: &Value,
    inline: &Value,
    extra: &[&Value],
    calls: &[(&str, &str)],
) -> Vec<(String, String)> {
    let spec = json!({
        "managed_policies": managed,
        "inline_policy": inline,
        "extra_policies": extra,
        "calls": calls.iter().map(|(s, o)| json!({"service": s, "operation": o})).collect::<Vec<_>>(),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let out = Command::new(venv_bin("python"))
        .arg(repo("tests/stubs/iam_check.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "iam_check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                format!(
                    "{}:{}",
                    r["service"].as_str().unwrap(),
                    r["operation"].as_str().unwrap()
                ),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[track_caller]
fn expect(got: &[(String, String)], calls: &[(&str, &str)], outcome: &str) {
    for (service, operation) in calls {
        let call = format!("{service}:{operation}");
        let found = got
            .iter()
            .find(|(c, _)| *c == call)
            .map(|(_, o)| o.as_str());
        assert_eq!(found, Some(outcome), "{call}: all outcomes {got:?}");
    }
}

/// The data-plane reads peers.md names for ReadOnlyAccess, as API calls moto checks.
/// Left out: lambda:GetFunction (moto serves Lambda without its IAM check) and DynamoDB's
/// ExecuteStatement (moto checks it as the action dynamodb:ExecuteStatement, AWS as
/// dynamodb:PartiQLSelect, which the unit tests find in the documents).
const DATA_READS: [(&str, &str); 24] = [
    ("ssm", "GetParameter"),
    ("ssm", "GetParameters"),
    ("ssm", "GetParametersByPath"),
    ("s3", "GetObject"),
    ("dynamodb", "GetItem"),
    ("dynamodb", "BatchGetItem"),
    ("dynamodb", "Query"),
    ("dynamodb", "Scan"),
    ("logs", "GetLogEvents"),
    ("logs", "FilterLogEvents"),
    ("logs", "StartQuery"),
    ("kinesis", "GetRecords"),
    ("sqs", "ReceiveMessage"),
    ("athena", "GetQueryResults"),
    ("ec2", "GetPasswordData"),
    ("ec2", "GetConsoleOutput"),
    ("ecr", "BatchGetImage"),
    ("ecr", "GetDownloadUrlForLayer"),
    ("codecommit", "GetBlob"),
    ("codecommit", "GetFile"),
    ("cloudformation", "GetTemplate"),
    ("sts", "GetSessionToken"),
    ("secretsmanager", "GetSecretValue"),
    ("kms", "Decrypt"),
];

const WRITES: [(&str, &str); 6] = [
    ("s3", "PutObject"),
    ("ssm", "PutParameter"),
    ("dynamodb", "PutItem"),
    ("sqs", "SendMessage"),
    ("ec2", "RunInstances"),
    ("iam", "CreateUser"),
];

const DESCRIBES: [(&str, &str); 11] = [
    ("ec2", "DescribeInstances"),
    ("ssm", "DescribeParameters"),
    ("dynamodb", "DescribeTable"),
    ("dynamodb", "ListTables"),
    ("logs", "DescribeLogGroups"),
    ("kinesis", "DescribeStream"),
    ("sqs", "ListQueues"),
    ("ecr", "DescribeRepositories"),
    ("cloudformation", "DescribeStacks"),
    ("iam", "ListRoles"),
    ("sts", "GetCallerIdentity"),
];

const ESCALATIONS: [(&str, &str); 13] = [
    ("iam", "CreateUser"),
    ("iam", "CreateRole"),
    ("iam", "AttachRolePolicy"),
    ("iam", "PutRolePolicy"),
    ("iam", "CreateAccessKey"),
    ("iam", "CreateLoginProfile"),
    ("iam", "UpdateAssumeRolePolicy"),
    ("iam", "CreatePolicyVersion"),
    ("iam", "DeleteRolePermissionsBoundary"),
    ("organizations", "ListAccounts"),
    ("organizations", "DescribeOrganization"),
    ("sso-admin", "ListInstances"),
    ("identitystore", "CreateUser"),
];

const SECRETS: [(&str, &str); 4] = [
    ("secretsmanager", "GetSecretValue"),
    ("ssm", "GetParameter"),
    ("s3", "GetObject"),
    ("kms", "Decrypt"),
];

/// Writes that blind the audit or share data out: PowerUserAccess allows them, the write
/// set does not.
const GUARDED: [(&str, &str); 4] = [
    ("cloudtrail", "StopLogging"),
    ("cloudtrail", "DeleteTrail"),
    ("s3", "PutBucketPolicy"),
    ("s3", "PutBucketAcl"),
];

const ORDINARY_WRITES: [(&str, &str); 4] = [
    ("s3", "PutObject"),
    ("ssm", "PutParameter"),
    ("dynamodb", "PutItem"),
    ("sqs", "SendMessage"),
];

#[test]
fn policy_read_set_denies_data_reads_and_writes_in_moto() {
    let t = kit();
    let set = policy(&t, &[])["permission_sets"][0].clone();
    assert_eq!(set["access"], "read");
    let calls: Vec<(&str, &str)> = DATA_READS
        .iter()
        .chain(&WRITES)
        .chain(&DESCRIBES)
        .copied()
        .collect();
    let got = outcomes(&set["managed_policies"], &set["inline_policy"], &[], &calls);
    expect(&got, &DATA_READS, "denied");
    expect(&got, &WRITES, "denied");
    expect(&got, &DESCRIBES, "allowed");
    // The control: ReadOnlyAccess alone hands out all of those but the two it never
    // allowed, so each denial above is the inline policy's.
    let leaks: Vec<(&str, &str)> = DATA_READS
        .iter()
        .filter(|(service, _)| !["secretsmanager", "kms"].contains(service))
        .copied()
        .collect();
    let got = outcomes(&set["managed_policies"], &Value::Null, &[], &leaks);
    expect(&got, &leaks, "allowed");
}

/// With AdministratorAccess as the write policy nothing but the kit's inline policy can
/// deny: each denial below is the kit's own. The default PowerUserAccess is run too.
#[test]
fn policy_write_set_denies_escalation_and_secrets_in_moto() {
    let t = kit();
    let calls: Vec<(&str, &str)> = ESCALATIONS
        .iter()
        .chain(&SECRETS)
        .chain(&GUARDED)
        .chain(&ORDINARY_WRITES)
        .chain(&DESCRIBES)
        .copied()
        .collect();
    // The control: PowerUserAccess alone lets the guarded writes through.
    let bare = outcomes(
        &json!(["arn:aws:iam::aws:policy/PowerUserAccess"]),
        &Value::Null,
        &[],
        &GUARDED,
    );
    expect(&bare, &GUARDED, "allowed");
    for write_policy in [
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
    ] {
        let set = policy(&t, &["--write-policy", write_policy])["permission_sets"][1].clone();
        assert_eq!(set["access"], "write");
        let got = outcomes(&set["managed_policies"], &set["inline_policy"], &[], &calls);
        expect(&got, &ESCALATIONS, "denied");
        expect(&got, &SECRETS, "denied");
        expect(&got, &GUARDED, "denied");
        expect(&got, &ORDINARY_WRITES, "allowed");
        expect(&got, &DESCRIBES, "allowed");
    }
}

/// moto does not apply permissions boundaries, so the boundary's document is attached as
/// one more identity policy to a role holding AdministratorAccess: for its deny
/// statements that is the same (an explicit deny wins either way; its `Allow *` caps
/// nothing an administrator lacks).
#[test]
fn policy_boundary_denies_hold_in_moto() {
    let t = kit();
    let boundary =
        policy(&t, &["--boundary"])["permission_sets"][0]["boundary"]["document"].clone();
    // The boundary caps privilege; the data reads are each set's own inline deny.
    let calls: Vec<(&str, &str)> = ESCALATIONS
        .iter()
        .chain(&ORDINARY_WRITES)
        .chain(&DESCRIBES)
        .copied()
        .collect();
    let got = outcomes(
        &json!(["arn:aws:iam::aws:policy/AdministratorAccess"]),
        &Value::Null,
        &[&boundary],
        &calls,
    );
    expect(&got, &ESCALATIONS, "denied");
    expect(&got, &ORDINARY_WRITES, "allowed");
    expect(&got, &DESCRIBES, "allowed");
}
