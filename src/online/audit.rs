//! Finding the agent's calls in CloudTrail. Pure: the queries are text built from the
//! profile set and a time window; the table is built from events the probe fetched.
//!
//! IAM Identity Center names a permission set's role `AWSReservedSSO_<set>_<16 hex>` in
//! each account, and that is the name CloudTrail records as the session issuer, so the
//! queries match that shape exactly (a plain role of the configured name matches too).
//! The launch tags the agent's calls with `kiro-aws/<version>` in `AWS_EXECUTION_ENV`,
//! which clients copy into the user agent; [`TAG`] tells those calls apart from the
//! user's own calls in the same role ([`crate::launch::environment::execution_env`]).

use std::collections::BTreeMap;

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::Serialize;

use crate::clock::rfc3339;
use crate::code::Code;
use crate::config::profile::ProfileSet;
use crate::error::{Error, Result};
use crate::launch::environment::TAG;
use crate::online::identity::role_matches;

/// One permission set (role name) in one account, and the profiles that use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KiroRole {
    pub account: String,
    pub role: String,
    pub profiles: Vec<String>,
}

/// The configured roles, sorted by account then role.
pub fn roles(set: &ProfileSet) -> Vec<KiroRole> {
    let mut by_key: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for p in &set.profiles {
        by_key
            .entry((p.account_id.clone(), p.role_name.clone()))
            .or_default()
            .push(p.name.clone());
    }
    by_key
        .into_iter()
        .map(|((account, role), profiles)| KiroRole {
            account,
            role,
            profiles,
        })
        .collect()
}

/// A time window, Unix seconds, `start` < `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

impl Window {
    /// `since` is a duration back from `end` (`90m`, `24h`, `7d`, `2w`) or an instant
    /// (`2026-11-21T09:00:00Z`); `until` is an instant, default `now`.
    pub fn parse(since: &str, until: Option<&str>, now: i64) -> Result<Self> {
        let end = match until {
            Some(until) => instant(until).ok_or_else(|| {
                Error::new(
                    Code::BadTime,
                    format!("--until: `{until}` is not a time like 2026-11-21T09:00:00Z"),
                )
                .with_fix("give a UTC time as YYYY-MM-DDTHH:MM:SSZ")
            })?,
            None => now,
        };
        let start = match duration(since) {
            Some(seconds) => end - seconds,
            None => instant(since).ok_or_else(|| {
                Error::new(
                    Code::BadTime,
                    format!(
                        "--since: `{since}` is neither a duration (30m, 24h, 7d, 2w) nor a time"
                    ),
                )
                .with_fix("give a duration like 24h or a UTC time like 2026-11-21T09:00:00Z")
            })?,
        };
        if start >= end {
            return Err(Error::new(Code::BadTime, "--since is not before --until")
                .with_fix("give a start earlier than the end"));
        }
        Ok(Window { start, end })
    }
}

fn duration(text: &str) -> Option<i64> {
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    let number = &text[..text.len() - 1];
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    n.checked_mul(unit)
        .filter(|s| *s > 0 && *s <= 10 * 366 * 86_400)
}

fn instant(text: &str) -> Option<i64> {
    DateTime::from_str(text, Format::DateTime)
        .ok()
        .map(|t| t.secs())
}

/// `2026-11-21 09:00:00`, as CloudTrail Lake compares `eventTime`.
fn lake_time(secs: i64) -> String {
    rfc3339(secs).trim_end_matches('Z').replacen('T', " ", 1)
}

/// The event data store goes into the query's `FROM` as it is: an ID or an ARN only.
pub fn check_event_data_store(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_:/.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::BadEventDataStore,
            format!("--event-data-store `{id}` is not an event data store ID or ARN"),
        )
        .with_fix("give the ID (or ARN) from `aws cloudtrail list-event-data-stores`"))
    }
}

/// The regular expression for the session-issuer names of `role`.
fn issuer_pattern(role: &str) -> String {
    // Role names may hold `.` and `+`, which a regular expression would read as operators.
    let role = role.replace('.', "\\.").replace('+', "\\+");
    format!("^(AWSReservedSSO_{role}_[0-9a-f]{{16}}|{role})$")
}

/// The CloudTrail Lake query for the agent's events in `window`.
pub fn sql(roles: &[KiroRole], window: Window, event_data_store: &str) -> String {
    let issuer = "userIdentity.sessionContext.sessionIssuer.userName";
    let conditions: Vec<String> = roles
        .iter()
        .map(|r| {
            format!(
                "(userIdentity.accountId = '{}' AND regexp_like({issuer}, '{}'))",
                r.account,
                issuer_pattern(&r.role)
            )
        })
        .collect();
    format!(
        "SELECT eventTime, eventSource, eventName, userIdentity.accountId AS account,\n\
         \x20      {issuer} AS role,\n\
         \x20      userIdentity.principalId AS principal, sourceIPAddress, readOnly,\n\
         \x20      userAgent LIKE '%{TAG}%' AS viaKiroAws, userAgent\n\
         FROM {event_data_store}\n\
         WHERE eventTime >= '{}' AND eventTime < '{}'\n\
         \x20 AND userIdentity.type = 'AssumedRole'\n\
         \x20 AND (\n\
         \x20   {}\n\
         \x20 )\n\
         ORDER BY eventTime DESC\n",
        lake_time(window.start),
        lake_time(window.end),
        conditions.join("\n    OR "),
    )
}

/// One `aws cloudtrail lookup-events` command per account, run with a kiro profile of
/// that account. `LookupEvents` has no filter on the role, so the `--query` keeps the
/// events whose record names an Identity Center role of the kiro permission sets.
pub fn lookup_commands(set: &ProfileSet, roles: &[KiroRole], window: Window) -> Vec<String> {
    let mut by_account: BTreeMap<&str, Vec<&KiroRole>> = BTreeMap::new();
    for r in roles {
        by_account.entry(&r.account).or_default().push(r);
    }
    by_account
        .into_values()
        .map(|roles| {
            let profile = set
                .profile(&roles[0].profiles[0])
                .expect("roles come from the set");
            let filter: Vec<String> = roles
                .iter()
                .map(|r| format!("contains(CloudTrailEvent, 'AWSReservedSSO_{}_')", r.role))
                .collect();
            let region = profile
                .region
                .as_deref()
                .map(|r| format!(" --region {r}"))
                .unwrap_or_default();
            format!(
                "kiro-aws run --profile {0} -- aws cloudtrail lookup-events{region} \\\n  \
                 --start-time {1} --end-time {2} \\\n  \
                 --query \"Events[?{3}]\"",
                profile.name,
                rfc3339(window.start),
                rfc3339(window.end),
                filter.join(" || ")
            )
        })
        .collect()
}

/// One event of the agent's, for the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub time: String,
    /// `service:Action`, e.g. `s3:ListBuckets`.
    pub event: String,
    pub account: String,
    pub role: String,
    pub user: String,
    pub source_ip: String,
    pub read_only: Option<bool>,
    /// The user agent carries the kiro-aws tag.
    pub via_kiro_aws: bool,
}

/// Keep the events whose session issuer is a configured kiro role in its account.
pub fn rows(events: &[crate::online::probe::RawEvent], roles: &[KiroRole]) -> Vec<Row> {
    events
        .iter()
        .filter_map(|event| {
            let record: serde_json::Value = serde_json::from_str(&event.record).ok()?;
            let text = |pointer: &str| {
                record
                    .pointer(pointer)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let account = text("/userIdentity/accountId");
            let role = text("/userIdentity/sessionContext/sessionIssuer/userName");
            if !roles
                .iter()
                .any(|r| r.account == account && role_matches(&r.role, &role))
            {
                return None;
            }
            let principal = text("/userIdentity/principalId");
            let user = event.username.clone().unwrap_or_else(|| {
                principal
                    .split_once(':')
                    .map_or(principal.clone(), |(_, s)| s.to_owned())
            });
            let service = text("/eventSource");
            let service = service.strip_suffix(".amazonaws.com").unwrap_or(&service);
            let read_only = match record.pointer("/readOnly") {
                Some(serde_json::Value::Bool(b)) => Some(*b),
                Some(serde_json::Value::String(s)) => s.parse().ok(),
                _ => None,
            };
            Some(Row {
                time: rfc3339(event.time),
                event: format!("{service}:{}", event.name),
                account,
                role,
                user,
                source_ip: text("/sourceIPAddress"),
                read_only,
                via_kiro_aws: text("/userAgent").contains(TAG),
            })
        })
        .collect()
}

/// A plain-text table, columns padded to their widest cell.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "TIME",
        "EVENT",
        "ACCOUNT",
        "ROLE",
        "USER",
        "SOURCE IP",
        "READ-ONLY",
        "KIRO-AWS",
    ];
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.time.clone(),
                r.event.clone(),
                r.account.clone(),
                r.role.clone(),
                r.user.clone(),
                r.source_ip.clone(),
                r.read_only.map_or("?", yes_no).to_owned(),
                yes_no(r.via_kiro_aws).to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:w$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(&header);
    for row in &cells {
        out.push_str(&line(&row.each_ref().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_literal_in_the_pattern() {
        assert_eq!(
            issuer_pattern("Kiro.Read+Only"),
            r"^(AWSReservedSSO_Kiro\.Read\+Only_[0-9a-f]{16}|Kiro\.Read\+Only)$"
        );
    }

    #[test]
    fn durations_and_instants() {
        let now = 1_795_300_000;
        assert_eq!(
            Window::parse("24h", None, now).unwrap(),
            Window {
                start: now - 86_400,
                end: now
            }
        );
        assert_eq!(Window::parse("90m", None, now).unwrap().start, now - 5400);
        let w = Window::parse("2026-11-21T00:00:00Z", Some("2026-11-22T00:00:00Z"), now).unwrap();
        assert_eq!(w.end - w.start, 86_400);
        assert_eq!(rfc3339(w.start), "2026-11-21T00:00:00Z");
        for bad in ["", "h", "-1h", "1.5h", "24", "0h", "1y", "yesterday"] {
            assert_eq!(
                Window::parse(bad, None, now).unwrap_err().code,
                Code::BadTime,
                "{bad}"
            );
        }
        assert!(Window::parse("2026-11-22T00:00:00Z", Some("2026-11-21T00:00:00Z"), now).is_err());
    }
}
