//! `kiro-aws init`: write the isolated config, the empty credentials file, the agent and
//! the steering block (the plan and the writes are `install::plan`'s), and say what
//! changed, as text or JSON.

use crate::error::{Exit, Result};
use crate::install::plan::{apply, gather, plan, Action, AgentSpec, Planned, Sources};
use crate::paths::Paths;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub sources: Sources,
    pub dry_run: bool,
    /// Replace files kiro-aws did not write, keeping backups.
    pub force: bool,
    pub json: bool,
}

/// The set to write. `--strict` is refused up front where strict mode cannot run (a
/// strict default that a team file carries is written: the launches refuse instead).
fn gather_checked(args: &Request, paths: &Paths) -> Result<crate::config::profile::ProfileSet> {
    if args.sources.strict == Some(true) {
        crate::strict::check_platform()?;
    }
    gather(&args.sources, paths)
}

pub fn run(args: &Request, paths: &Paths) -> Result<Exit> {
    let outcome = gather_checked(args, paths).and_then(|set| {
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
            })
        );
        return Ok(Exit::Success);
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
