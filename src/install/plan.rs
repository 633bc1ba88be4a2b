//! What `init` writes: gather the profile set from flags, a team file or the existing
//! config, plan all four files, refuse anything unsafe before writing, then write each
//! atomically. The launch re-installs the agent and the steering block the same way.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::code::Code;
use crate::config::config_file;
use crate::config::profile::{self, Problem, Profile, ProfileSet, SsoSession};
use crate::error::{Error, Result};
use crate::install::atomic_file::{self, Existing};
use crate::install::{agent, steering};
use crate::paths::Paths;

/// Where `init` takes the profile set from (the command line, in domain terms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources {
    /// `--sso-start-url` and `--sso-region`, for the sso-session block.
    pub sso: Option<(String, String)>,
    /// The sso-session the `--profile` flags use.
    pub sso_session: String,
    /// `--profile` values, `NAME=ACCOUNT_ID:ROLE_NAME`.
    pub profiles: Vec<String>,
    /// `--region`, for profiles that name none.
    pub region: Option<String>,
    pub default_profile: Option<String>,
    /// `--from`: a team file.
    pub from: Option<PathBuf>,
    /// `--strict` (`Some(true)`), `--no-strict` (`Some(false)`), or as recorded (`None`).
    pub strict: Option<bool>,
    /// `--allow-write-tool`: recorded in the isolated config; without it the agent has no
    /// file-writing tool (a team file cannot give it one).
    pub write_tool: bool,
    /// `--allow-role NAME`s: roles accepted although their names look like an
    /// administrator's; recorded in the isolated config (a team file cannot add one).
    pub allow_roles: Vec<String>,
}

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

/// The first name that comes again.
fn first_duplicate<'a>(names: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = HashSet::new();
    names.into_iter().find(|name| !seen.insert(*name))
}

fn bad(code: Code, message: String, fix: &str) -> Error {
    Error::new(code, message).with_fix(fix)
}

fn bad_problem(problem: Problem, context: &str, fix: &str) -> Error {
    bad(problem.code, format!("{context}: {}", problem.message), fix)
}

/// The profile set to write, from flags, the team file, or the config already there.
pub fn gather(args: &Sources, paths: &Paths) -> Result<ProfileSet> {
    let mut sessions = Vec::new();
    let mut profiles = Vec::new();
    let mut recorded_default = None;
    let mut recorded_discovered = Vec::new();
    // Strict mode, from --strict/--no-strict, else the team file, else the config already there.
    let mut recorded_strict = recorded_strict(paths);
    if let Some(file) = &args.from {
        let bytes = read_team_file(file)?;
        let parsed = config_file::parse_team_file(&bytes, &args.allow_roles);
        if !parsed.issues.is_empty() {
            let lines: Vec<String> = parsed
                .issues
                .iter()
                .map(|i| match i.line {
                    0 => format!("{}: {} [{}]", file.display(), i.message, i.code),
                    line => format!("{}:{line}: {} [{}]", file.display(), i.message, i.code),
                })
                .collect();
            return Err(Error::new(
                Code::TeamFileInvalid,
                format!(
                    "the team file has {} problem(s):\n{}",
                    lines.len(),
                    lines.join("\n")
                ),
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
    if let Some((url, region)) = &args.sso {
        let session = SsoSession {
            name: args.sso_session.clone(),
            start_url: url.clone(),
            region: region.clone(),
            registration_scopes: None,
        };
        sessions.push(session_from_flags(session)?);
    }
    for flag in &args.profiles {
        profiles.push(parse_profile_flag(flag, &args.sso_session)?);
    }
    if sessions.is_empty() && profiles.is_empty() {
        let Some(set) = existing_set(paths) else {
            return Err(bad(
                Code::NoProfiles,
                "no profiles given and no valid isolated config to reuse".into(),
                "pass --sso-start-url, --sso-region and --profile kiro-NAME=ACCOUNT_ID:ROLE_NAME, or --from FILE",
            ));
        };
        recorded_default = Some((set.default_profile, paths.config.display().to_string()));
        recorded_discovered = set.discovered;
        sessions = set.sessions;
        profiles = set.profiles;
    }
    assemble(
        args,
        sessions,
        profiles,
        recorded_default,
        recorded_strict,
        recorded_discovered,
    )
}

/// The bytes of the isolated config when it is a regular file kiro-aws wrote (read
/// without following a link or waiting on a FIFO).
pub fn managed_config(paths: &Paths) -> Option<Vec<u8>> {
    match atomic_file::read_existing(&paths.config) {
        Ok(Existing::File { bytes, .. }) if config_file::is_managed(&bytes) => Some(bytes),
        _ => None,
    }
}

/// An sso-session given by `--sso-start-url`, `--sso-region` and `--sso-session` (to
/// `init` or `login`), checked as every session is.
pub fn session_from_flags(session: SsoSession) -> Result<SsoSession> {
    match profile::check_session(&session).into_iter().next() {
        Some(problem) => Err(bad_problem(
            problem,
            "--sso-start-url/--sso-region/--sso-session",
            "pass an https:// start URL, a region such as us-east-1 and a simple session name",
        )),
        None => Ok(session),
    }
}

/// The valid isolated config already written, if there is one.
pub fn existing_set(paths: &Paths) -> Option<ProfileSet> {
    managed_config(paths).and_then(|b| config_file::parse(&b).into_set().ok())
}

/// The strict default the config already written records, valid or not.
pub fn recorded_strict(paths: &Paths) -> bool {
    managed_config(paths).is_some_and(|b| config_file::parse(&b).strict)
}

/// Every check a whole set must pass, whatever its profiles came from (flags, a team
/// file, the config already written, discovery), and the set. `recorded_default` is the
/// default profile the source recorded and where (for the error's FILE:LINE).
pub fn assemble(
    args: &Sources,
    sessions: Vec<SsoSession>,
    mut profiles: Vec<Profile>,
    recorded_default: Option<(String, String)>,
    recorded_strict: bool,
    discovered: Vec<String>,
) -> Result<ProfileSet> {
    if let Some(region) = &args.region {
        profile::check_region(region)
            .map_err(|p| bad_problem(p, "--region", "pass a region such as us-east-1"))?;
        for p in profiles.iter_mut().filter(|p| p.region.is_none()) {
            p.region = Some(region.clone());
        }
    }
    for role in &args.allow_roles {
        profile::check_role_name(role).map_err(|p| {
            bad_problem(p, "--allow-role", "pass the IAM role (permission set) name")
        })?;
    }
    for p in &profiles {
        profile::check_role_power(&p.role_name, &args.allow_roles).map_err(|problem| {
            bad_problem(
                problem,
                &format!("profile `{}`", p.name),
                "use a read-only role, or accept this very role with --allow-role NAME",
            )
        })?;
    }
    if let Some(name) = first_duplicate(profiles.iter().map(|p| p.name.as_str())) {
        return Err(Error::new(
            Code::DuplicateProfile,
            format!("profile `{name}` is given twice"),
        ));
    }
    let session_names: HashSet<&str> = sessions.iter().map(|s| s.name.as_str()).collect();
    if let Some(p) = profiles
        .iter()
        .find(|p| !session_names.contains(p.sso_session.as_str()))
    {
        return Err(bad(
            Code::SsoSessionMissing,
            format!(
                "profile `{}` uses sso-session `{}`, which is not defined",
                p.name, p.sso_session
            ),
            "pass --sso-start-url and --sso-region, or a team file with that [sso-session] block",
        ));
    }
    if let Some(name) = first_duplicate(sessions.iter().map(|s| s.name.as_str())) {
        return Err(Error::new(
            Code::DuplicateSession,
            format!("sso-session `{name}` is defined twice (team file and flags)"),
        ));
    }
    // Where the default comes from, so that an error names the flag or FILE:LINE.
    let (default, default_origin) = match (&args.default_profile, &recorded_default) {
        (Some(name), _) => (Some(name.as_str()), "--default-profile".to_owned()),
        (None, Some((name, origin))) => (Some(name.as_str()), origin.clone()),
        (None, None) => (None, String::new()),
    };
    if let Some(name) = &args.default_profile {
        profile::check_profile_name(name)
            .map_err(|p| bad_problem(p, "--default-profile", "name a kiro-* profile"))?;
    }
    let strict = args.strict.unwrap_or(recorded_strict);
    ProfileSet::new(sessions, profiles, default)
        .map(|set| {
            let mut allowed_roles = args.allow_roles.clone();
            allowed_roles.sort();
            allowed_roles.dedup();
            let mut discovered = discovered;
            discovered.retain(|name| set.profiles.iter().any(|p| &p.name == name));
            ProfileSet {
                strict,
                write_tool: args.write_tool,
                allowed_roles,
                discovered,
                ..set
            }
        })
        .map_err(|problem| match problem.code {
            Code::NoProfiles => bad(
                problem.code,
                match &args.from {
                    Some(file) => format!("--from {}: {}", file.display(), problem.message),
                    None => problem.message,
                },
                "add --profile kiro-NAME=ACCOUNT_ID:ROLE_NAME, or profiles to the team file",
            ),
            _ => bad_problem(problem, &default_origin, "name one of the profiles"),
        })
}

/// A team file is far smaller than this (10,000 profiles take about 1.2 MiB).
pub const MAX_TEAM_FILE: u64 = 16 << 20;

/// The bytes of `--from FILE`: a regular file (a FIFO or a device is refused, never read
/// and never waited on), not empty, at most [`MAX_TEAM_FILE`] bytes.
fn read_team_file(file: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let unreadable = |why: String| {
        Error::new(
            Code::TeamFileUnreadable,
            format!("--from {}: {why}", file.display()),
        )
        .at(file)
    };
    let mut opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(file)
        .map_err(|e| unreadable(e.to_string()))?;
    let meta = opened.metadata().map_err(|e| unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(unreadable("is not a regular file".into()));
    }
    if meta.len() > MAX_TEAM_FILE {
        return Err(unreadable(format!(
            "is {} bytes; a team file may hold at most {MAX_TEAM_FILE}",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    opened
        .by_ref()
        .take(MAX_TEAM_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_TEAM_FILE {
        return Err(unreadable(format!(
            "grew past {MAX_TEAM_FILE} bytes while being read"
        )));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(
            Code::TeamFileInvalid,
            format!("--from {}: the team file is empty", file.display()),
        )
        .at(file));
    }
    Ok(bytes)
}

fn parse_profile_flag(flag: &str, session: &str) -> Result<Profile> {
    let usage = || {
        Error::new(
            Code::InvalidProfileFlag,
            format!("--profile `{flag}`: expected NAME=ACCOUNT_ID:ROLE_NAME"),
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
        Some(problem) => Err(bad_problem(
            problem,
            &format!("--profile `{flag}`"),
            "write it as --profile kiro-readonly=123456789012:ReadOnly",
        )),
        None => Ok(profile),
    }
}

/// How the agent files are rendered: the JSON dialect (the classic engine's or V2's) and
/// the hook's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSpec {
    pub json: agent::Format,
    pub hook: String,
}

impl AgentSpec {
    /// For V2 (the JSON `init` writes; a launch on the classic engine rewrites it), with
    /// this binary as the hook.
    pub fn current() -> Result<AgentSpec> {
        Ok(AgentSpec {
            json: agent::Format::V2,
            hook: agent::hook_command(&this_binary()?),
        })
    }
}

/// Where this binary is installed, links resolved: what the agent files run as the hook.
pub fn this_binary() -> Result<PathBuf> {
    std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("kiro-aws", "find its own path", e))
}

fn plan_agents(
    set: &ProfileSet,
    paths: &Paths,
    spec: &AgentSpec,
    force: bool,
) -> Result<[Planned; 2]> {
    let json = agent::render(spec.json, set, paths, &spec.hook).into_bytes();
    let markdown = agent::render(agent::Format::Markdown, set, paths, &spec.hook).into_bytes();
    Ok([
        plan_file(&paths.agent, json, None, agent::is_managed, force)?,
        plan_file(
            &paths.agent_markdown,
            markdown,
            None,
            agent::is_managed,
            force,
        )?,
    ])
}

/// Plan all five files. Any refusal happens here, before a single byte is written.
pub fn plan(
    set: &ProfileSet,
    paths: &Paths,
    spec: &AgentSpec,
    force: bool,
) -> Result<Vec<Planned>> {
    let config = config_file::render(set).into_bytes();
    let [json, markdown] = plan_agents(set, paths, spec, force)?;
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
        json,
        markdown,
        plan_steering(&paths.steering, &block)?,
    ])
}

/// The agent and steering block as every Kiro launch re-installs them when missing,
/// stale or tampered with: rendered from the templates and what `init` recorded in the
/// isolated config (the write tool included), never from what the agent file says now.
pub fn plan_launch_files(
    set: &ProfileSet,
    paths: &Paths,
    spec: &AgentSpec,
) -> Result<Vec<Planned>> {
    let [json, markdown] = plan_agents(set, paths, spec, false)?;
    Ok(vec![
        json,
        markdown,
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
        return Err(Error::new(
            Code::FileNotManaged,
            "exists and was not written by kiro-aws; it is left as it is",
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
        Existing::NotAFile => Err(Error::new(Code::NotAFile, "is not a regular file").at(path)),
    }
}

fn plan_steering(path: &Path, block: &str) -> Result<Planned> {
    let (old, mode) = match existing_file(path)? {
        Some((bytes, mode)) => (Some(bytes), mode),
        None => (None, PUBLIC_MODE),
    };
    let content = steering::splice(old.as_deref(), block)
        .map_err(|broken| Error::new(Code::SteeringMarkersBroken, broken.0).at(path))?;
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
        // What an interrupted write of this file left (verify reports it meanwhile).
        for leftover in atomic_file::leftovers(&p.path) {
            std::fs::remove_file(&leftover)
                .map_err(|e| Error::io(&leftover, "remove a temporary file left behind", e))?;
        }
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
