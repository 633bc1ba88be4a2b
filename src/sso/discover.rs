//! Discovery's plan, pure: from what the IAM Identity Center portal lists (accounts and
//! the roles the user may take in each) and the profiles already configured, the profiles
//! to write. The same input always gives the same names; a role that looks like an
//! administrator's is left out by the rule `verify` applies; profiles that were not
//! discovered are never renamed or removed.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use crate::code::Code;
use crate::config::profile::{self, Profile};
use crate::glob;

/// One account as the portal lists it, with the roles the signed-in user has there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub account_name: String,
    pub roles: Vec<String>,
}

pub const DEFAULT_ROLE_PATTERN: &str = "Kiro*";
pub const DEFAULT_TEMPLATE: &str = "kiro-{account_name}-{role_name}";
const PLACEHOLDERS: [&str; 3] = ["account_id", "account_name", "role_name"];
/// The longest name a template gives, before `-write` and collision suffixes.
const MAX_NAME: usize = 96;

/// What to keep and how to name it (the command line, in domain terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub session: String,
    pub role_patterns: Vec<String>,
    /// Matched against the account's name and its id; empty: every account.
    pub account_patterns: Vec<String>,
    pub template: String,
    /// Roles `--allow-role` accepts although their names look like an administrator's.
    pub allowed_roles: Vec<String>,
    /// Region for the discovered profiles.
    pub region: Option<String>,
    /// Remove discovered profiles whose role the portal no longer lists.
    pub prune: bool,
}

/// A role discovery did not turn into a profile, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub account_id: String,
    pub account_name: String,
    pub role_name: String,
    pub code: Code,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Every profile to write: those not discovered first, as they were, then the
    /// discovered ones by name.
    pub profiles: Vec<Profile>,
    /// The names of the discovered profiles (the config records them for `--prune`).
    pub discovered: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Discovered earlier, no longer listed, kept because `--prune` was not given.
    pub gone: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// A template that names a placeholder discovery does not have.
pub fn check_template(template: &str) -> Result<(), String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("`{template}` has a `{{` without its `}}`"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "`{{{name}}}` is not a placeholder (use {})",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`{template}` has a `}}` without its `{{`"));
    }
    Ok(())
}

/// The words of a name: split at anything not a letter or digit and where a lower-case
/// letter or digit meets an upper-case one (`KiroReadOnly` is kiro, read, only).
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A role with a word that starts with `write` (`KiroWrite`, `Kiro-ReadWrite`,
/// `KiroWriteAccess`, `KiroWriter`) gives a `-write` profile: the only kind the hook lets
/// change anything. A role that can write but says so in no such word is not one (the
/// permission set's policy, from `kiro-aws policy`, is what keeps a read role read-only).
pub fn is_write_role(role: &str) -> bool {
    words(role).iter().any(|w| w.starts_with("write"))
}

/// The template filled in and made a profile name: lower-case words joined by `-`,
/// under the `kiro-` prefix, ending in `-write` exactly when the role is a write role.
fn base_name(template: &str, account: &Account, role: &str) -> String {
    let filled = template
        .replace("{account_id}", &account.account_id)
        .replace("{account_name}", &words(&account.account_name).join("-"))
        .replace("{role_name}", &words(role).join("-"));
    let mut name = words(&filled).join("-");
    // Names stay short enough to read (an account name is at most 50 characters in
    // AWS; a portal that answers more does not make a longer profile name).
    if name.len() > MAX_NAME {
        name.truncate(MAX_NAME);
        name = name.trim_end_matches('-').to_owned();
    }
    if name.is_empty() {
        name = account.account_id.clone();
    }
    if !name.starts_with("kiro-") {
        name = format!("kiro-{}", name.trim_start_matches("kiro"));
        name = name.replace("kiro--", "kiro-");
        if name == "kiro-" {
            name.push_str(&account.account_id);
        }
    }
    match (is_write_role(role), name.ends_with("-write")) {
        (true, false) => name.push_str("-write"),
        (false, true) => name.push_str("-read"),
        _ => {}
    }
    name
}

/// `name` with `suffix` before a final `-write`, so the name keeps what it allows.
fn with_suffix(name: &str, suffix: &str) -> String {
    match name.strip_suffix("-write") {
        Some(stem) => format!("{stem}-{suffix}-write"),
        None => format!("{name}-{suffix}"),
    }
}

fn key(p: &Profile) -> (String, String, String) {
    (
        p.sso_session.clone(),
        p.account_id.clone(),
        p.role_name.clone(),
    )
}

/// The profiles to write after a discovery that found `found`.
pub fn plan(
    existing: &[Profile],
    existing_discovered: &[String],
    found: &[Account],
    rules: &Rules,
) -> Outcome {
    let was_discovered: HashSet<&str> = existing_discovered.iter().map(String::as_str).collect();
    // This discovery's own earlier profiles: discovered, in this session.
    let (earlier, others): (Vec<&Profile>, Vec<&Profile>) = existing
        .iter()
        .partition(|p| was_discovered.contains(p.name.as_str()) && p.sso_session == rules.session);
    let by_hand: HashSet<(String, String, String)> = others.iter().map(|p| key(p)).collect();
    let listed: HashSet<(String, String)> = found
        .iter()
        .flat_map(|a| a.roles.iter().map(|r| (a.account_id.clone(), r.clone())))
        .collect();

    // An account listed twice is one account, with the roles of both listings.
    let mut merged: BTreeMap<&str, Account> = BTreeMap::new();
    for a in found {
        merged
            .entry(a.account_id.as_str())
            .and_modify(|m| m.roles.extend(a.roles.iter().cloned()))
            .or_insert_with(|| a.clone());
    }
    let accounts: Vec<&Account> = merged.values().collect();
    let mut skipped = Vec::new();
    let mut candidates: Vec<(String, Profile)> = Vec::new();
    let mut chosen: HashSet<(String, String)> = HashSet::new();
    for account in accounts {
        let account_wanted = rules.account_patterns.is_empty()
            || rules.account_patterns.iter().any(|g| {
                glob::matches(g, &account.account_name) || glob::matches(g, &account.account_id)
            });
        if !account_wanted {
            continue;
        }
        let mut roles: Vec<&String> = account.roles.iter().collect();
        roles.sort();
        roles.dedup();
        for role in roles {
            if !rules.role_patterns.iter().any(|g| glob::matches(g, role)) {
                continue;
            }
            let skip = |problem: profile::Problem| Skipped {
                account_id: account.account_id.clone(),
                account_name: account.account_name.clone(),
                role_name: role.clone(),
                code: problem.code,
                message: problem.message,
            };
            if let Err(problem) = profile::check_account_id(&account.account_id)
                .and_then(|()| profile::check_role_name(role))
                .and_then(|()| profile::check_role_power(role, &rules.allowed_roles))
            {
                skipped.push(skip(problem));
                continue;
            }
            let profile = Profile {
                name: String::new(),
                sso_session: rules.session.clone(),
                account_id: account.account_id.clone(),
                role_name: role.clone(),
                region: rules.region.clone(),
                output: None,
            };
            if by_hand.contains(&key(&profile)) {
                continue;
            }
            chosen.insert((account.account_id.clone(), role.clone()));
            candidates.push((base_name(&rules.template, account, role), profile));
        }
    }

    let mut kept: Vec<Profile> = Vec::new();
    let mut gone = Vec::new();
    let mut removed = Vec::new();
    for p in earlier {
        let pair = (p.account_id.clone(), p.role_name.clone());
        if chosen.contains(&pair) {
            continue; // named again below, from this discovery
        }
        if listed.contains(&pair) {
            kept.push(p.clone()); // still there, but outside this run's patterns
        } else if rules.prune {
            removed.push(p.name.clone());
        } else {
            gone.push(p.name.clone());
            kept.push(p.clone());
        }
    }

    let mut taken: HashSet<String> = others
        .iter()
        .map(|p| p.name.clone())
        .chain(kept.iter().map(|p| p.name.clone()))
        .collect();
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _) in &candidates {
        *count.entry(name.as_str()).or_default() += 1;
    }
    // A name two roles would share, or one already taken, gets the account id; what
    // still collides then (roles that differ only in punctuation) a number, in role order.
    let mut named: Vec<(String, Profile)> = candidates
        .iter()
        .map(|(name, p)| {
            let name = if count[name.as_str()] > 1 || taken.contains(name) {
                with_suffix(name, &p.account_id)
            } else {
                name.clone()
            };
            (name, p.clone())
        })
        .collect();
    named.sort_by(|a, b| (&a.0, &a.1.role_name).cmp(&(&b.0, &b.1.role_name)));
    let mut new_profiles = Vec::new();
    for (name, p) in named {
        let mut unique = name.clone();
        let mut n = 2;
        while taken.contains(&unique) {
            unique = with_suffix(&name, &n.to_string());
            n += 1;
        }
        taken.insert(unique.clone());
        new_profiles.push(Profile { name: unique, ..p });
    }

    let earlier_names: BTreeSet<&str> = existing
        .iter()
        .filter(|p| was_discovered.contains(p.name.as_str()) && p.sso_session == rules.session)
        .map(|p| p.name.as_str())
        .collect();
    let mut discovered: Vec<Profile> = kept.into_iter().chain(new_profiles).collect();
    discovered.sort_by(|a, b| a.name.cmp(&b.name));
    let added = discovered
        .iter()
        .filter(|p| !earlier_names.contains(p.name.as_str()))
        .map(|p| p.name.clone())
        .collect();
    let final_names: HashSet<&str> = discovered.iter().map(|p| p.name.as_str()).collect();
    let renamed: Vec<String> = earlier_names
        .iter()
        .filter(|n| !final_names.contains(**n) && !removed.iter().any(|r| r == **n))
        .map(|n| (*n).to_owned())
        .collect();
    removed.extend(renamed);
    removed.sort();
    // Discovered profiles of other sessions stay discovered.
    let mut discovered_names: Vec<String> = discovered.iter().map(|p| p.name.clone()).collect();
    discovered_names.extend(
        others
            .iter()
            .filter(|p| was_discovered.contains(p.name.as_str()))
            .map(|p| p.name.clone()),
    );
    discovered_names.sort();
    Outcome {
        profiles: others.into_iter().cloned().chain(discovered).collect(),
        discovered: discovered_names,
        added,
        removed,
        gone,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, name: &str, roles: &[&str]) -> Account {
        Account {
            account_id: id.into(),
            account_name: name.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn rules() -> Rules {
        Rules {
            session: "kiro".into(),
            role_patterns: vec![DEFAULT_ROLE_PATTERN.into()],
            account_patterns: vec![],
            template: DEFAULT_TEMPLATE.into(),
            allowed_roles: vec![],
            region: Some("eu-west-1".into()),
            prune: false,
        }
    }

    fn names(o: &Outcome) -> Vec<(String, String, String)> {
        o.profiles
            .iter()
            .map(|p| (p.name.clone(), p.account_id.clone(), p.role_name.clone()))
            .collect()
    }

    fn n(name: &str, id: &str, role: &str) -> (String, String, String) {
        (name.into(), id.into(), role.into())
    }

    #[test]
    fn names_follow_the_template_and_the_write_rule() {
        let found = [
            account(
                "111111111111",
                "Prod EU",
                &[
                    "KiroReadOnly",
                    "KiroWrite",
                    "AdministratorAccess",
                    "KiroAdmin",
                ],
            ),
            account("222222222222", "data-lake", &["KiroReadOnly", "Other"]),
        ];
        let o = plan(&[], &[], &found, &rules());
        assert_eq!(
            names(&o),
            [
                n(
                    "kiro-data-lake-kiro-read-only",
                    "222222222222",
                    "KiroReadOnly"
                ),
                n(
                    "kiro-prod-eu-kiro-read-only",
                    "111111111111",
                    "KiroReadOnly"
                ),
                n("kiro-prod-eu-kiro-write", "111111111111", "KiroWrite"),
            ]
        );
        // The administrator-looking role that matched the pattern is a warning.
        assert_eq!(
            o.skipped
                .iter()
                .map(|s| (s.role_name.as_str(), s.code))
                .collect::<Vec<_>>(),
            [("KiroAdmin", Code::RoleTooPowerful)]
        );
        assert_eq!(o.added.len(), 3);
        assert_eq!(o.discovered.len(), 3);
        for p in &o.profiles {
            assert_eq!(profile::check_profile(p), vec![], "{}", p.name);
            assert_eq!(p.is_write(), is_write_role(&p.role_name), "{}", p.name);
        }
        // The same input, in another order, gives the same names.
        let mut shuffled = found.clone();
        shuffled.reverse();
        shuffled[1].roles.reverse();
        assert_eq!(plan(&[], &[], &shuffled, &rules()), o);
    }

    #[test]
    fn the_write_suffix_cannot_be_had_by_naming() {
        let mut r = rules();
        r.template = "{account_name}".into();
        let found = [
            account("111111111111", "write", &["KiroReadOnly"]),
            account("222222222222", "Sandbox", &["KiroReadWrite"]),
        ];
        let o = plan(&[], &[], &found, &r);
        assert_eq!(
            names(&o),
            [
                n("kiro-sandbox-write", "222222222222", "KiroReadWrite"),
                n("kiro-write-read", "111111111111", "KiroReadOnly"),
            ]
        );
        assert!(is_write_role("Kiro-Write") && is_write_role("KiroWrite"));
        assert!(is_write_role("KiroWriteAccess") && is_write_role("KiroWriter"));
        assert!(!is_write_role("KiroRewrite") && !is_write_role("KIROWRITE"));
    }

    #[test]
    fn collisions_get_the_account_id_then_a_number() {
        let found = [
            account("111111111111", "Prod", &["KiroReadOnly"]),
            account("222222222222", "Prod", &["KiroReadOnly", "Kiro_Read_Only"]),
            account("333333333333", "Prod", &["KiroWrite"]),
        ];
        let o = plan(&[], &[], &found, &rules());
        assert_eq!(
            names(&o),
            [
                n(
                    "kiro-prod-kiro-read-only-111111111111",
                    "111111111111",
                    "KiroReadOnly"
                ),
                n(
                    "kiro-prod-kiro-read-only-222222222222",
                    "222222222222",
                    "KiroReadOnly"
                ),
                n(
                    "kiro-prod-kiro-read-only-222222222222-2",
                    "222222222222",
                    "Kiro_Read_Only"
                ),
                n("kiro-prod-kiro-write", "333333333333", "KiroWrite"),
            ]
        );
        // A name a profile made by hand holds is not taken from it.
        let hand = Profile {
            name: "kiro-prod-kiro-write".into(),
            sso_session: "kiro".into(),
            account_id: "999999999999".into(),
            role_name: "KiroWrite".into(),
            region: None,
            output: None,
        };
        let o = plan(std::slice::from_ref(&hand), &[], &found[2..], &rules());
        assert_eq!(
            names(&o),
            [
                n("kiro-prod-kiro-write", "999999999999", "KiroWrite"),
                n(
                    "kiro-prod-kiro-333333333333-write",
                    "333333333333",
                    "KiroWrite"
                ),
            ]
        );
        assert_eq!(o.discovered, ["kiro-prod-kiro-333333333333-write"]);
    }

    #[test]
    fn patterns_pick_accounts_by_name_or_id_and_roles_by_name() {
        let found = [
            account("111111111111", "Prod", &["KiroReadOnly", "ReadOnly"]),
            account("222222222222", "Dev", &["KiroReadOnly"]),
        ];
        let mut r = rules();
        r.account_patterns = vec!["De*".into()];
        assert_eq!(
            names(&plan(&[], &[], &found, &r)),
            [n("kiro-dev-kiro-read-only", "222222222222", "KiroReadOnly")]
        );
        r.account_patterns = vec!["1111*".into()];
        r.role_patterns = vec!["ReadOnly".into()];
        assert_eq!(
            names(&plan(&[], &[], &found, &r)),
            [n("kiro-prod-read-only", "111111111111", "ReadOnly")]
        );
    }

    #[test]
    fn prune_removes_only_discovered_profiles_whose_role_is_gone() {
        let found = [
            account("111111111111", "Prod", &["KiroReadOnly"]),
            account("222222222222", "Dev", &["KiroReadOnly"]),
        ];
        let first = plan(&[], &[], &found, &rules());
        let hand = Profile {
            name: "kiro-mine".into(),
            sso_session: "kiro".into(),
            account_id: "333333333333".into(),
            role_name: "KiroReadOnly".into(),
            region: None,
            output: None,
        };
        let mut existing = first.profiles.clone();
        existing.insert(0, hand.clone());
        // Nothing changed: the same profiles, nothing added.
        let again = plan(&existing, &first.discovered, &found, &rules());
        assert_eq!(again.profiles, existing);
        assert!(again.added.is_empty() && again.removed.is_empty());
        // Dev's role vanished; the hand-made profile's account is not listed at all.
        let fewer = &found[..1];
        let kept = plan(&existing, &first.discovered, fewer, &rules());
        assert_eq!(kept.profiles, existing);
        assert_eq!(kept.gone, ["kiro-dev-kiro-read-only"]);
        let mut r = rules();
        r.prune = true;
        let pruned = plan(&existing, &first.discovered, fewer, &r);
        assert_eq!(
            names(&pruned),
            [
                n("kiro-mine", "333333333333", "KiroReadOnly"),
                n("kiro-prod-kiro-read-only", "111111111111", "KiroReadOnly"),
            ]
        );
        assert_eq!(pruned.removed, ["kiro-dev-kiro-read-only"]);
        assert_eq!(pruned.discovered, ["kiro-prod-kiro-read-only"]);
    }

    #[test]
    fn an_account_listed_twice_is_one_and_names_stay_short() {
        let long = "x".repeat(100_000);
        let found = [
            account("111111111111", "Prod", &["KiroReadOnly"]),
            account("111111111111", "Prod", &["KiroReadOnly", "KiroWrite"]),
            account("222222222222", &long, &["KiroReadOnly"]),
        ];
        let o = plan(&[], &[], &found, &rules());
        assert_eq!(o.profiles.len(), 3, "{:?}", names(&o));
        assert!(o.profiles.iter().all(|p| p.name.len() <= MAX_NAME + 32));
        for p in &o.profiles {
            assert_eq!(profile::check_profile(p), vec![], "{}", p.name);
        }
    }

    #[test]
    fn templates_name_only_known_placeholders() {
        assert!(check_template(DEFAULT_TEMPLATE).is_ok());
        assert!(check_template("kiro-{account_id}").is_ok());
        assert!(check_template("kiro-{account}").is_err());
        assert!(check_template("kiro-{role_name").is_err());
        assert!(check_template("kiro-role_name}").is_err());
    }
}
