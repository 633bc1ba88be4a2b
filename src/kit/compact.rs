//! Shorter deny lists: a run of listed actions becomes one wildcard (`s3:GetObject*`)
//! only where the table of IAM action names (`data/iam-action-names.txt`, from the same
//! database) proves that the wildcard matches listed actions and nothing else. IAM
//! matches action names without regard to case, and so does this.
//!
//! A wildcard keeps at least the action's first word (`Get`, `Batch`), which is why the
//! table holds only the names that begin, in any case, with the first word of a listed
//! action: every name such a wildcard can match is in it. A wildcard may stand for a
//! single action when it is shorter (`account:Close*`). An action AWS adds later under a
//! wildcard's prefix is denied too: for a deny, the safe side.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const NAMES: &str = include_str!("../../data/iam-action-names.txt");

/// Every known action name (lower-case) of each service in the table.
fn universe() -> &'static BTreeMap<String, Vec<String>> {
    static TABLE: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(|| parse(NAMES))
}

fn parse(text: &str) -> BTreeMap<String, Vec<String>> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let service = words.next()?;
            Some((
                service.to_owned(),
                words.map(str::to_ascii_lowercase).collect(),
            ))
        })
        .collect()
}

/// The first word of an action name: its first letter and the lower-case letters and
/// digits after it.
fn first_word_len(name: &str) -> usize {
    1 + name
        .chars()
        .skip(1)
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        .count()
}

/// `actions` (each `service:Name`) as the fewest patterns the table proves: exact names
/// where no wildcard is safe, sorted.
pub fn compact(actions: &[&str]) -> Vec<String> {
    compact_with(actions, universe())
}

fn compact_with(actions: &[&str], universe: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut listed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for action in actions {
        let (service, name) = action.split_once(':').expect("service:Action");
        listed
            .entry(service)
            .or_default()
            .insert(name.to_ascii_lowercase());
    }
    let mut patterns = BTreeSet::new();
    for action in actions {
        let (service, name) = action.split_once(':').expect("service:Action");
        let mine = &listed[service];
        let known = universe.get(service);
        let chosen = known
            .filter(|known| known.contains(&name.to_ascii_lowercase()))
            .and_then(|known| {
                (first_word_len(name)..=name.len()).find_map(|len| {
                    let prefix = name[..len].to_ascii_lowercase();
                    let matched: Vec<&String> =
                        known.iter().filter(|k| k.starts_with(&prefix)).collect();
                    let safe = matched.iter().all(|k| mine.contains(*k));
                    // One wildcard for several actions, or for one when it is shorter.
                    let worth = matched.len() > 1 || len + 1 < name.len();
                    (safe && worth).then(|| format!("{service}:{}*", &name[..len]))
                })
            });
        patterns.insert(chosen.unwrap_or_else(|| action.to_string()));
    }
    // Drop what a shorter wildcard of the same service already matches.
    let all: Vec<String> = patterns.into_iter().collect();
    all.iter()
        .filter(|p| {
            !all.iter().any(|other| {
                other != *p
                    && other.strip_suffix('*').is_some_and(|stem| {
                        p.to_ascii_lowercase()
                            .starts_with(&stem.to_ascii_lowercase())
                    })
            })
        })
        .cloned()
        .collect()
}

/// Whether IAM would match `action` against `pattern` (`*` at the end only, as here).
pub fn matches(pattern: &str, action: &str) -> bool {
    let (pattern, action) = (pattern.to_ascii_lowercase(), action.to_ascii_lowercase());
    match pattern.strip_suffix('*') {
        Some(stem) => action.starts_with(stem),
        None => pattern == action,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::actions;

    fn table(text: &str) -> BTreeMap<String, Vec<String>> {
        parse(text)
    }

    #[test]
    fn kit_compaction_uses_a_wildcard_only_where_every_match_is_listed() {
        let known = table("s3 GetObject GetObjectAcl GetObjectVersion GetObjectVersionAcl GetBucketPolicy\nlogs GetLogEvents GetLogGroupFields\n");
        assert_eq!(
            compact_with(&["s3:GetObject", "s3:GetObjectVersion"], &known),
            ["s3:GetObject", "s3:GetObjectVersion"],
            "GetObject* would match GetObjectAcl"
        );
        assert_eq!(
            compact_with(
                &[
                    "s3:GetObject",
                    "s3:GetObjectAcl",
                    "s3:GetObjectVersion",
                    "s3:GetObjectVersionAcl"
                ],
                &known
            ),
            ["s3:GetO*"]
        );
        assert_eq!(
            compact_with(&["logs:GetLogEvents"], &known),
            ["logs:GetLogE*"],
            "one action, shorter as a wildcard"
        );
        assert_eq!(
            compact_with(&["s3:GetBucketPolicy"], &known),
            ["s3:GetB*"],
            "the shortest prefix that matches only it"
        );
        assert_eq!(
            compact_with(&["sqs:ReceiveMessage"], &known),
            ["sqs:ReceiveMessage"],
            "a service the table does not know stays exact"
        );
    }

    /// The real lists: each wildcard matches only listed actions among every name the
    /// table knows, and every listed action is matched.
    #[test]
    fn kit_compacted_lists_match_exactly_the_listed_actions() {
        for list in [actions::data_reads(), actions::escalation()] {
            let names = list.names();
            let patterns = compact(&names);
            assert!(patterns.len() < names.len(), "compaction shortens the list");
            for name in &names {
                assert!(
                    patterns.iter().any(|p| matches(p, name)),
                    "{name} not matched"
                );
            }
            for pattern in &patterns {
                let (service, _) = pattern.split_once(':').unwrap();
                for known in universe().get(service).into_iter().flatten() {
                    let action = format!("{service}:{known}");
                    if matches(pattern, &action) {
                        assert!(
                            names.iter().any(|n| n.eq_ignore_ascii_case(&action)),
                            "{pattern} also matches {action}, which is not listed"
                        );
                    }
                }
            }
        }
    }
}
