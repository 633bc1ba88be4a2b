//! `kiro-aws init`: gather the profile set from flags, a team file or the existing config,
//! plan all four files, refuse anything unsafe before writing, then write atomically.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::agent;
use crate::atomic_file::{self, Existing};
use crate::cli::InitArgs;
use crate::config_file;
use crate::error::{Error, Exit, Result};
use crate::paths::Paths;
use crate::profile::{self, Profile, ProfileSet, SsoSession};
use crate::steering;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    /// Replace a file kiro-aws did not write (only with --force), keeping a backup.
    Replace,
    Unchanged,
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub path: PathBuf,
    pub content: Vec<u8>,
    pub old: Option<Vec<u8>>,
    pub mode: u32,
    pub action: Action,
}

pub fn run(args: &InitArgs, paths: &Paths) -> Result<Exit> {
    let outcome = gather(args, paths).and_then(|set| {
        let plan = plan(&set, paths, args.allow_write_tool, args.force)?;
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

fn bad(code: &'static str, message: String, fix: &str) -> Error {
    Error::input(code, message, fix)
}

/// The profile set to write, from flags, the team file, or the config already there.
pub fn gather(args: &InitArgs, paths: &Paths) -> Result<ProfileSet> {
    let mut sessions = Vec::new();
    let mut profiles = Vec::new();
    let mut recorded_default = None;
    // Strict mode, from --strict/--no-strict, else the team file, else the config already there.
    let mut recorded_strict = std::fs::read(&paths.config)
        .ok()
        .filter(|b| config_file::is_managed(b))
        .is_some_and(|b| config_file::parse(&b).strict);
    if let Some(file) = &args.from {
        let bytes = std::fs::read(file).map_err(|e| {
            bad(
                "team_file_unreadable",
                format!("--from {}: {e}", file.display()),
                "pass the path of a readable team file",
            )
        })?;
        let parsed = config_file::parse(&bytes);
        if !parsed.issues.is_empty() {
            let lines: Vec<String> = parsed
                .issues
                .iter()
                .map(|i| match i.line {
                    0 => format!("{}: {} [{}]", file.display(), i.message, i.code),
                    line => format!("{}:{line}: {} [{}]", file.display(), i.message, i.code),
                })
                .collect();
            return Err(bad(
                "team_file_invalid",
                format!(
                    "the team file has {} problem(s):\n{}",
                    lines.len(),
                    lines.join("\n")
                ),
                "correct each line named above; nothing was written",
            )
            .at(file));
        }
        sessions = parsed.sessions;
        profiles = parsed.profiles;
        recorded_strict |= parsed.strict;
        recorded_default = parsed
            .default_profile
            .map(|(name, line)| (name, format!("{}:{line}", file.display())));
    }
    if let (Some(url), Some(region)) = (&args.sso_start_url, &args.sso_region) {
        let session = SsoSession {
            name: args.sso_session.clone(),
            start_url: url.clone(),
            region: region.clone(),
            registration_scopes: None,
        };
        if let Some((code, message)) = profile::check_session(&session).into_iter().next() {
            return Err(bad(
                code,
                format!("--sso-start-url/--sso-region/--sso-session: {message}"),
                "pass an https:// start URL, a region such as us-east-1 and a simple session name",
            ));
        }
        sessions.push(session);
    }
    for flag in &args.profiles {
        profiles.push(parse_profile_flag(flag, &args.sso_session)?);
    }
    if sessions.is_empty() && profiles.is_empty() {
        let existing = std::fs::read(&paths.config)
            .ok()
            .filter(|b| config_file::is_managed(b));
        let set = existing.and_then(|b| config_file::parse(&b).into_set().ok());
        let Some(set) = set else {
            return Err(bad(
                "no_profiles",
                "no profiles given and no valid isolated config to reuse".into(),
                "pass --sso-start-url, --sso-region and --profile kiro-NAME=ACCOUNT_ID:ROLE_NAME, or --from FILE",
            ));
        };
        recorded_default = Some((set.default_profile, paths.config.display().to_string()));
        sessions = set.sessions;
        profiles = set.profiles;
    }
    if let Some(region) = &args.region {
        profile::check_region(region).map_err(|(code, m)| {
            bad(
                code,
                format!("--region: {m}"),
                "pass a region such as us-east-1",
            )
        })?;
        for p in profiles.iter_mut().filter(|p| p.region.is_none()) {
            p.region = Some(region.clone());
        }
    }
    for (i, p) in profiles.iter().enumerate() {
        if profiles[..i].iter().any(|q| q.name == p.name) {
            return Err(bad(
                "duplicate_profile",
                format!("profile `{}` is given twice", p.name),
                "give each profile once (flags and team file together)",
            ));
        }
        if !sessions.iter().any(|s| s.name == p.sso_session) {
            return Err(bad(
                "sso_session_missing",
                format!("profile `{}` uses sso-session `{}`, which is not defined", p.name, p.sso_session),
                "pass --sso-start-url and --sso-region, or a team file with that [sso-session] block",
            ));
        }
    }
    for (i, s) in sessions.iter().enumerate() {
        if sessions[..i].iter().any(|t| t.name == s.name) {
            return Err(bad(
                "duplicate_session",
                format!(
                    "sso-session `{}` is defined twice (team file and flags)",
                    s.name
                ),
                "define the sso-session once: in the team file or with flags",
            ));
        }
    }
    // Where the default comes from, so that an error names the flag or FILE:LINE.
    let (default, default_origin) = match (&args.default_profile, &recorded_default) {
        (Some(name), _) => (Some(name.as_str()), "--default-profile".to_owned()),
        (None, Some((name, origin))) => (Some(name.as_str()), origin.clone()),
        (None, None) => (None, String::new()),
    };
    if let Some(name) = &args.default_profile {
        profile::check_profile_name(name).map_err(|(code, m)| {
            bad(
                code,
                format!("--default-profile: {m}"),
                "name a kiro-* profile",
            )
        })?;
    }
    let strict = args.strict || (recorded_strict && !args.no_strict);
    ProfileSet::new(sessions, profiles, default)
        .map(|set| ProfileSet { strict, ..set })
        .map_err(|(code, m)| match code {
            "no_profiles" => bad(
                code,
                match &args.from {
                    Some(file) => format!("--from {}: {m}", file.display()),
                    None => m,
                },
                "add --profile kiro-NAME=ACCOUNT_ID:ROLE_NAME, or profiles to the team file",
            ),
            _ => bad(
                code,
                format!("{default_origin}: {m}"),
                "name one of the profiles",
            ),
        })
}

fn parse_profile_flag(flag: &str, session: &str) -> Result<Profile> {
    let usage = || {
        bad(
            "invalid_profile_flag",
            format!("--profile `{flag}`: expected NAME=ACCOUNT_ID:ROLE_NAME"),
            "write it as --profile kiro-readonly=123456789012:ReadOnly",
        )
    };
    let (name, rest) = flag.split_once('=').ok_or_else(usage)?;
    let (account, role) = rest.split_once(':').ok_or_else(usage)?;
    let profile = Profile {
        name: name.to_owned(),
        sso_session: session.to_owned(),
        account_id: account.to_owned(),
        role_name: role.to_owned(),
        region: None,
        output: None,
    };
    match profile::check_profile(&profile).into_iter().next() {
        Some((code, message)) => Err(bad(
            code,
            format!("--profile `{flag}`: {message}"),
            "write it as --profile kiro-readonly=123456789012:ReadOnly",
        )),
        None => Ok(profile),
    }
}

/// Plan all four files. Any refusal happens here, before a single byte is written.
pub fn plan(
    set: &ProfileSet,
    paths: &Paths,
    allow_write_tool: bool,
    force: bool,
) -> Result<Vec<Planned>> {
    let config = config_file::render(set).into_bytes();
    let agent = agent::render(set, paths, allow_write_tool).into_bytes();
    let block = steering::render_block(set, paths);
    Ok(vec![
        plan_file(
            &paths.config,
            config,
            Some(0o600),
            config_file::is_managed,
            force,
        )?,
        plan_file(
            &paths.credentials,
            Vec::new(),
            Some(0o600),
            <[u8]>::is_empty,
            force,
        )?,
        plan_file(&paths.agent, agent, None, agent::is_managed, force)?,
        plan_steering(&paths.steering, &block)?,
    ])
}

/// The agent and steering block as `chat` re-installs them when missing or stale: the
/// write tool stays as the last `init` left it.
pub fn plan_launch_files(set: &ProfileSet, paths: &Paths) -> Result<Vec<Planned>> {
    let allow_write = match atomic_file::read_existing(&paths.agent)? {
        Existing::File { bytes, .. } => agent::allows_write_tool(&bytes),
        _ => false,
    };
    let agent = agent::render(set, paths, allow_write).into_bytes();
    Ok(vec![
        plan_file(&paths.agent, agent, None, agent::is_managed, false)?,
        plan_steering(&paths.steering, &steering::render_block(set, paths))?,
    ])
}

const PUBLIC_MODE: u32 = 0o644;

fn plan_file(
    path: &Path,
    content: Vec<u8>,
    mode: Option<u32>,
    is_ours: fn(&[u8]) -> bool,
    force: bool,
) -> Result<Planned> {
    let planned = |old, mode, action| Planned {
        path: path.to_owned(),
        content: content.clone(),
        old,
        mode,
        action,
    };
    let Some((bytes, old_mode)) = existing_file(path)? else {
        return Ok(planned(None, mode.unwrap_or(PUBLIC_MODE), Action::Create));
    };
    let mode = mode.unwrap_or(old_mode);
    let action = if bytes == content && old_mode == mode {
        Action::Unchanged
    } else if is_ours(&bytes) {
        Action::Update
    } else if force {
        Action::Replace
    } else {
        return Err(Error::other(
            "file_not_managed",
            "exists and was not written by kiro-aws; it is left as it is",
            "move it away, or run `kiro-aws init --force` to replace it and keep it as a backup",
        )
        .at(path));
    };
    Ok(planned(Some(bytes), mode, action))
}

/// The regular file at `path` (its bytes and mode), if there is one. A symlink or anything
/// else that is not a regular file is refused: kiro-aws never writes through or over it.
fn existing_file(path: &Path) -> Result<Option<(Vec<u8>, u32)>> {
    match atomic_file::read_existing(path)? {
        Existing::Absent => Ok(None),
        Existing::File { bytes, mode } => Ok(Some((bytes, mode))),
        Existing::Symlink => Err(atomic_file::symlink_refused(path)),
        Existing::NotAFile => Err(Error::other(
            "not_a_file",
            "is not a regular file",
            "move it away, then run `kiro-aws init` again",
        )
        .at(path)),
    }
}

fn plan_steering(path: &Path, block: &str) -> Result<Planned> {
    let (old, mode) = match existing_file(path)? {
        Some((bytes, mode)) => (Some(bytes), mode),
        None => (None, PUBLIC_MODE),
    };
    let content = steering::splice(old.as_deref(), block).map_err(|broken| {
        Error::other(
            "steering_markers_broken",
            broken.0,
            "keep exactly one `<!-- kiro-aws:begin` line and one `<!-- kiro-aws:end` line after it, or delete both",
        )
        .at(path)
    })?;
    let action = match &old {
        None => Action::Create,
        Some(old) if *old == content => Action::Unchanged,
        Some(_) => Action::Update,
    };
    Ok(Planned {
        path: path.to_owned(),
        content,
        old,
        mode,
        action,
    })
}

/// Write every planned change; returns the backup kept for each file, if any.
pub fn apply(plan: &[Planned], paths: &Paths) -> Result<Vec<Option<PathBuf>>> {
    let mut backups = Vec::new();
    for p in plan {
        if p.action == Action::Unchanged {
            backups.push(None);
            continue;
        }
        let dir = p.path.parent().expect("below $HOME");
        let private = dir == paths.kiro_dir;
        atomic_file::ensure_dir(dir, if private { 0o700 } else { 0o755 })?;
        backups.push(atomic_file::write(
            &p.path,
            &p.content,
            p.mode,
            p.action == Action::Replace,
        )?);
    }
    Ok(backups)
}
