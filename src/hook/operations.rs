//! Which AWS CLI operations only read, which hand out secrets or credentials, and (by
//! their absence) which change something. The table is data, generated from the AWS CLI's
//! command table and botocore's service models by `scripts/aws-operations`.

const TABLE: &str = include_str!("../../data/aws-operations.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Read,
    /// Changes something, or is not in the table (so nothing is assumed).
    Write,
    /// Hands out secrets or credentials, whatever its verb.
    Secret,
}

pub fn class(service: &str, operation: &str) -> Class {
    // `help`, and AWS CLI v2's own read-only commands, which v1's table lacks.
    if operation == "help" || matches!((service, operation), ("logs", "tail" | "start-live-tail")) {
        return Class::Read;
    }
    // A backstop for commands the table does not know (a service newer than the pinned
    // AWS CLI): a name that says it hands out a token, password or credentials is secret.
    let secret_name = (operation.contains("token")
        && ["generate", "get", "create"]
            .iter()
            .any(|v| operation.starts_with(v)))
        || operation.contains("password")
        || operation.contains("credential")
        || operation.contains("presign");
    let key = format!("{service} {operation} ");
    match find(&key) {
        Some("read") => Class::Read,
        Some("secret") => Class::Secret,
        Some(_) => Class::Write,
        None if secret_name => Class::Secret,
        None => Class::Write,
    }
}

/// The class of the line that starts with `key`, by binary search over the sorted lines
/// (a few dozen comparisons instead of a scan of the whole table).
fn find(key: &str) -> Option<&'static str> {
    let start = TABLE
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| !TABLE[i..].starts_with('#'))?;
    let data = &TABLE[start..];
    let bytes = data.as_bytes();
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let line_start = bytes[..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let line_end = bytes[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| line_start + p);
        let line = &data[line_start..line_end];
        if let Some(class) = line.strip_prefix(key) {
            return Some(class);
        }
        if line.as_bytes() < key.as_bytes() {
            lo = line_end + 1;
        } else {
            hi = line_start;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_reads_secrets_and_changes() {
        for (service, op, class_) in [
            ("ec2", "describe-instances", Class::Read),
            ("s3", "ls", Class::Read),
            ("s3api", "list-objects-v2", Class::Read),
            ("sts", "get-caller-identity", Class::Read),
            ("iam", "list-roles", Class::Read),
            ("ec2", "describe-instance", Class::Write),
            ("s3", "presign", Class::Secret),
            ("sts", "get-session-token", Class::Secret),
            ("sts", "assume-role", Class::Secret),
            ("ec2", "get-password-data", Class::Secret),
            ("lambda", "get-function", Class::Secret),
            ("ec2", "terminate-instances", Class::Write),
            ("s3", "cp", Class::Write),
            ("nosuch", "describe-x", Class::Write),
        ] {
            assert_eq!(class(service, op), class_, "{service} {op}");
        }
        let lines: Vec<&str> = TABLE.lines().filter(|l| !l.starts_with('#')).collect();
        // Every line is found by the search, and a near miss is not.
        for line in &lines {
            let (key, class) = line.rsplit_once(' ').unwrap();
            assert_eq!(find(&format!("{key} ")), Some(class), "{line}");
        }
        assert_eq!(find("ec2 describe-instance "), None);
        assert_eq!(find("zzz zzz "), None);
        assert_eq!(find("aaa aaa "), None);
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        assert_eq!(lines, sorted, "the table is sorted");
        for line in lines {
            let fields: Vec<&str> = line.split(' ').collect();
            assert!(
                fields.len() == 3 && ["read", "secret"].contains(&fields[2]),
                "{line}"
            );
        }
    }
}
