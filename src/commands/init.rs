//! `kiro-aws init`: write the isolated config, the empty credentials file, the agent and
//! the steering block (the plan and the writes are `install::plan`'s), and say what
//! changed, as text or JSON. With `--discover`, the profiles come from IAM Identity
//! Center: the portal is read in the online child, `sso::discover` plans the profiles,
//! and the same checks and writes follow.

use std::io::Write;

use crate::code::Code;
use crate::config::profile::{ProfileSet, SsoSession};
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::install::plan::{
    apply, assemble, existing_set, gather, managed_config, plan, recorded_strict,
    session_from_flags, Action, AgentSpec, Planned, Sources,
};
use crate::online::identity::{FailureKind, Observation};
use crate::online::probe::{self, Discovered, Request as ProbeRequest, Response};
use crate::paths::Paths;
use crate::sso::discover::{self, Outcome, Rules};
use crate::sso::token;
use crate::text::printable;

/// `--discover` and its options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discover {
    pub role_patterns: Vec<String>,
    pub account_patterns: Vec<String>,
    pub name_template: String,
    pub prune: bool,
    pub max_rps: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub sources: Sources,
    pub dry_run: bool,
    /// Replace files kiro-aws did not write, keeping backups.
    pub force: bool,
    pub json: bool,
    pub discover: Option<Discover>,
}

/// The set to write. `--strict` is refused up front where strict mode cannot run (a
/// strict default that a team file carries is written: the launches refuse instead).
fn gather_checked(args: &Request, paths: &Paths) -> Result<crate::config::profile::ProfileSet> {
    if args.sources.strict == Some(true) {
        crate::strict::check_platform()?;
    }
    gather(&args.sources, paths)
}

pub fn run(args: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let discovery = match &args.discover {
        Some(options) => match discover_set(args, options, paths, inherited) {
            Ok(found) => Some(found),
            Err(e) if args.json => {
                println!("{}", serde_json::json!({"ok": false, "error": e.to_json()}));
                return Ok(e.exit);
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let outcome = match discovery.as_ref() {
        Some((set, _, _)) => Ok(set.clone()),
        None => gather_checked(args, paths),
    };
    let outcome = outcome.and_then(|set| {
        let plan = plan(&set, paths, &AgentSpec::current()?, args.force)?;
        let backups = if args.dry_run {
            vec![None; plan.len()]
        } else {
            apply(&plan, paths)?
        };
        Ok((set, plan, backups))
    });
    let (set, plan, backups) = match outcome {
        Ok(done) => done,
        Err(e) if args.json => {
            println!("{}", serde_json::json!({"ok": false, "error": e.to_json()}));
            return Ok(e.exit);
        }
        Err(e) => return Err(e),
    };
    if args.json {
        let files: Vec<_> = plan
            .iter()
            .zip(&backups)
            .map(|(p, backup)| {
                let mut file = serde_json::json!({
                    "path": p.path.display().to_string(),
                    "action": p.action,
                    "backup": backup.as_ref().map(|b| b.display().to_string()),
                });
                if args.dry_run {
                    file["diff"] = diff(p).into();
                }
                file
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "ok": true,
                "dry_run": args.dry_run,
                "profiles": set.names(),
                "default_profile": set.default_profile,
                "strict": set.strict,
                "write_tool": set.write_tool,
                "files": files,
                "discovery": discovery.as_ref().map(|(_, o, d)| discovery_json(o, d)),
            })
        );
        return Ok(Exit::Success);
    }
    if let Some((_, outcome, found)) = &discovery {
        print_discovery(outcome, found);
    }
    for (p, backup) in plan.iter().zip(&backups) {
        let verb = match (args.dry_run, p.action) {
            (_, Action::Unchanged) => "unchanged",
            (true, Action::Create) => "would create",
            (true, Action::Update) => "would update",
            (true, Action::Replace) => "would replace (backup kept)",
            (false, Action::Create) => "created",
            (false, Action::Update) => "updated",
            (false, Action::Replace) => "replaced",
        };
        println!("{verb:>12}  {}", p.path.display());
        if let Some(backup) = backup {
            println!("{:>12}  {}", "backup", backup.display());
        }
        if args.dry_run && p.action != Action::Unchanged {
            print!("{}", diff(p));
        }
    }
    println!(
        "{} profile(s): {} (default {}{}).{}",
        set.profiles.len(),
        set.names().join(", "),
        set.default_profile,
        if set.strict {
            "; launches are strict"
        } else {
            ""
        },
        if args.dry_run {
            " Nothing was written."
        } else {
            " Next: `kiro-aws verify`, then `kiro-aws`."
        }
    );
    Ok(Exit::Success)
}

fn diff(p: &Planned) -> String {
    let old = String::from_utf8_lossy(p.old.as_deref().unwrap_or_default()).into_owned();
    let new = String::from_utf8_lossy(&p.content).into_owned();
    let path = p.path.display().to_string();
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .header(
            &if p.old.is_some() {
                path.clone()
            } else {
                "/dev/null".into()
            },
            &path,
        )
        .to_string()
}

/// The session discovery reads: from the flags, else the isolated config's of that name.
fn discovery_session(args: &Request, existing: Option<&ProfileSet>) -> Result<SsoSession> {
    let name = &args.sources.sso_session;
    if let Some((url, region)) = &args.sources.sso {
        let session = SsoSession {
            name: name.clone(),
            start_url: url.clone(),
            region: region.clone(),
            registration_scopes: existing
                .and_then(|set| set.sessions.iter().find(|s| &s.name == name))
                .and_then(|s| s.registration_scopes.clone()),
        };
        return session_from_flags(session);
    }
    existing
        .and_then(|set| set.sessions.iter().find(|s| &s.name == name))
        .cloned()
        .ok_or_else(|| {
            Error::new(
                Code::SsoSessionMissing,
                format!("--discover: no sso-session `{name}` to sign in with"),
            )
            .with_fix("pass --sso-start-url and --sso-region (and --sso-session NAME)")
        })
}

/// List the portal, plan the profiles, and check the whole set as every `init` does.
fn discover_set(
    args: &Request,
    options: &Discover,
    paths: &Paths,
    inherited: &Env,
) -> Result<(ProfileSet, Outcome, Discovered)> {
    discover::check_template(&options.name_template)
        .map_err(|why| Error::new(Code::NameTemplateInvalid, format!("--name-template: {why}")))?;
    if args.sources.strict == Some(true) {
        crate::strict::check_platform()?;
    }
    let existing = existing_set(paths);
    // A config of ours that no longer reads as a whole set holds profiles discovery
    // would silently drop: it is mended first.
    if existing.is_none() && managed_config(paths).is_some() {
        return Err(Error::new(
            Code::IsolationNotProven,
            "the isolated config has problems, and discovery would drop its profiles; nothing was written",
        )
        .with_fix("run `kiro-aws verify` and fix what it lists (or rewrite the config with `kiro-aws init`), then discover again")
        .at(&paths.config));
    }
    let session = discovery_session(args, existing.as_ref())?;
    let cached = token::read_valid(
        &paths.home,
        &session.name,
        &session.start_url,
        &session.region,
    )
    .map_err(|why| token::login_required(&session.name, &why))?;
    let request = ProbeRequest::Discover {
        region: session.region.clone(),
        access_token: cached.access_token,
        max_rps: options.max_rps,
        request_timeout_ms: 15_000,
        timeout_ms: 3_600_000,
    };
    let label = format!("listing IAM Identity Center ({})", session.start_url);
    let found = match probe::call(paths, probe::NO_PROFILE, inherited, &request, &label)? {
        Response::Discovered(found) => found,
        Response::Failed(Observation::Failed { kind, message }) => {
            return Err(match kind {
                FailureKind::LoginRequired => {
                    token::login_required(&session.name, &token::Unusable::Refused(message))
                }
                _ => Error::new(
                    Code::DiscoveryFailed,
                    format!("discovery failed; nothing was written: {message}"),
                ),
            })
        }
        _ => {
            return Err(Error::new(
                Code::ProbeFailed,
                "the online probe gave an unexpected answer",
            ))
        }
    };
    // A portal that lists nothing (a sign-in with no assignment left, a broken answer)
    // would prune every discovered profile: it is refused instead.
    if found.accounts.iter().all(|a| a.roles.is_empty()) {
        return Err(Error::new(
            Code::DiscoveryFailed,
            format!(
                "IAM Identity Center lists no account or role for this sign-in ({}); nothing was written",
                session.start_url
            ),
        ));
    }
    let (base_profiles, base_discovered) = existing
        .as_ref()
        .map(|set| (set.profiles.clone(), set.discovered.clone()))
        .unwrap_or_default();
    let rules = Rules {
        session: session.name.clone(),
        role_patterns: options.role_patterns.clone(),
        account_patterns: options.account_patterns.clone(),
        template: options.name_template.clone(),
        allowed_roles: args.sources.allow_roles.clone(),
        region: Some(
            args.sources
                .region
                .clone()
                .unwrap_or_else(|| session.region.clone()),
        ),
        prune: options.prune,
    };
    let outcome = discover::plan(&base_profiles, &base_discovered, &found.accounts, &rules);
    let mut sessions: Vec<SsoSession> = existing
        .as_ref()
        .map(|set| set.sessions.clone())
        .unwrap_or_default();
    match sessions.iter_mut().find(|s| s.name == session.name) {
        Some(old) => *old = session.clone(),
        None => sessions.push(session.clone()),
    }
    if outcome.profiles.is_empty() {
        return Err(Error::new(
            Code::NoProfiles,
            format!(
                "discovery found no role matching {} in {} account(s); nothing was written",
                options.role_patterns.join(", "),
                found.accounts.len()
            ),
        )
        .with_fix(
            "check --role-pattern and --account-pattern, or the assignments in IAM Identity Center",
        ));
    }
    let recorded_default = existing
        .as_ref()
        .filter(|set| {
            outcome
                .profiles
                .iter()
                .any(|p| p.name == set.default_profile)
        })
        .map(|set| {
            (
                set.default_profile.clone(),
                paths.config.display().to_string(),
            )
        });
    let strict = existing
        .as_ref()
        .map_or_else(|| recorded_strict(paths), |s| s.strict);
    let set = assemble(
        &args.sources,
        sessions,
        outcome.profiles.clone(),
        recorded_default,
        strict,
        outcome.discovered.clone(),
    )?;
    Ok((set, outcome, found))
}

fn discovery_json(outcome: &Outcome, found: &Discovered) -> serde_json::Value {
    serde_json::json!({
        "accounts": found.accounts.len(),
        "roles": found.accounts.iter().map(|a| a.roles.len()).sum::<usize>(),
        "requests": found.requests,
        "throttled": found.throttled,
        "discovered": outcome.discovered,
        "added": outcome.added,
        "removed": outcome.removed,
        "gone": outcome.gone,
        "skipped": outcome.skipped,
    })
}

fn print_discovery(outcome: &Outcome, found: &Discovered) {
    let mut err = std::io::stderr().lock();
    for s in &outcome.skipped {
        let _ = writeln!(
            err,
            "kiro-aws: warning: left out role {} in account {} ({}): {} [{}]",
            printable(&s.role_name),
            printable(&s.account_id),
            printable(&s.account_name),
            printable(&s.message),
            s.code
        );
    }
    for name in &outcome.gone {
        let _ = writeln!(
            err,
            "kiro-aws: warning: {name}'s role is no longer listed; kept (--prune removes it)"
        );
    }
    drop(err);
    println!(
        "Discovered {} role(s) in {} account(s) with {} portal call(s){}: {} added, {} removed.",
        found.accounts.iter().map(|a| a.roles.len()).sum::<usize>(),
        found.accounts.len(),
        found.requests,
        if found.throttled > 0 {
            format!(" ({} throttled and retried)", found.throttled)
        } else {
            String::new()
        },
        outcome.added.len(),
        outcome.removed.len()
    );
}
