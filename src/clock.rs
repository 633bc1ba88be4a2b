//! Time as kiro-aws uses it: Unix seconds, shown as RFC 3339 in UTC.

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `2026-11-21T09:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    DateTime::from_secs(secs)
        .fmt(Format::DateTime)
        .expect("a time in range")
}
