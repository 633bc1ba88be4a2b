//! The Kiro CLI that will run: its version, the engine the session gets, and whether that
//! engine loads kiro-aws's agent. A session without our agent runs Kiro's default agent
//! (every tool, none of our rules), so a launch that cannot prove the agent loads is
//! refused with `kiro_agent_not_loadable`.

pub mod engine;
pub mod version;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::code::Code;
use crate::error::Error;
use crate::install::agent;
use crate::install::agent::Format;
use crate::kiro::engine::Engine;
use crate::paths::Paths;

/// What `verify` reports and the launch checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// What `kiro-cli --version` printed, trimmed.
    pub version: Option<String>,
    pub engine: Option<Engine>,
    pub agent_file: Option<String>,
    pub loads: bool,
    /// Why the agent would not load.
    #[serde(skip)]
    pub problem: Option<String>,
}

impl Report {
    /// The refusal a launch gives when the agent would not load.
    pub fn refusal(&self) -> Option<Error> {
        self.problem.as_ref().map(|problem| {
            Error::new(
                Code::KiroAgentNotLoadable,
                format!("{problem}; Kiro would run its default agent, so nothing was launched"),
            )
        })
    }
}

/// The cache file of Kiro CLI versions.
pub fn cache_file(paths: &Paths) -> PathBuf {
    paths.cache_dir.join("kiro-cli-version.json")
}

/// What `program --version` printed (from the cache when the binary is the same one).
pub fn ask(program: &Path, paths: &Paths) -> Result<String, String> {
    version::detect(program, &cache_file(paths))
}

/// The engine a session would run, when it can be told (for the JSON dialect to write).
pub fn engine_of(asked: &Result<String, String>, args: &[OsString]) -> Option<Engine> {
    let output = asked.as_ref().ok()?;
    engine::engine(version::parse(output)?, args).ok()
}

/// When the agent files are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// Before a launch (`verify`): the launch rewrites kiro-aws's own files, so only a
    /// file that is not kiro-aws's stands in the way.
    BeforeLaunch,
    /// Just after the launch wrote them: the file must be there and loadable.
    Written,
}

/// Check the session `program chat --agent aws-readonly ARGS` would run from `cwd`;
/// `asked` is what [`ask`] answered for `program`.
pub fn inspect(
    program: &Path,
    asked: Result<String, String>,
    args: &[OsString],
    paths: &Paths,
    cwd: &Path,
    moment: Moment,
) -> Report {
    let mut report = Report {
        version: None,
        engine: None,
        agent_file: None,
        loads: false,
        problem: None,
    };
    let output = match asked {
        Ok(output) => output,
        Err(why) => {
            report.problem = Some(why);
            return report;
        }
    };
    report.version = Some(output.clone());
    let Some(version) = version::parse(&output) else {
        report.problem = Some(format!(
            "{} --version printed `{output}`, which names no version kiro-aws can read",
            program.display()
        ));
        return report;
    };
    let engine = match engine::engine(version, args) {
        Ok(engine) => engine,
        Err(why) => {
            report.problem = Some(why);
            return report;
        }
    };
    report.engine = Some(engine);
    let format = engine.format();
    let file = match format {
        Format::Classic | Format::V2 => &paths.agent,
        Format::Markdown => &paths.agent_markdown,
    };
    report.agent_file = Some(file.display().to_string());
    report.problem = problem(file, format, engine, args, paths, cwd, moment);
    report.loads = report.problem.is_none();
    report
}

fn problem(
    file: &Path,
    format: Format,
    engine: Engine,
    args: &[OsString],
    paths: &Paths,
    cwd: &Path,
    moment: Moment,
) -> Option<String> {
    if args
        .iter()
        .any(|a| a == "--agent" || a.to_string_lossy().starts_with("--agent="))
    {
        return Some("the arguments passed to kiro-cli choose another agent (--agent)".into());
    }
    if let Some(shadow) = workspace_agent(cwd, &paths.home) {
        return Some(format!(
            "{} is a workspace agent of the same name, which Kiro loads instead of kiro-aws's",
            shadow.display()
        ));
    }
    let bytes = match crate::install::atomic_file::read_no_follow(file) {
        Ok(bytes) => bytes,
        Err(e) if moment == Moment::BeforeLaunch && e.kind() == std::io::ErrorKind::NotFound => {
            return None
        }
        Err(e) => {
            return Some(format!(
                "{}: {e} (the {engine:?} engine loads this file)",
                file.display()
            ))
        }
    };
    if moment == Moment::BeforeLaunch && agent::is_managed(&bytes) {
        return None;
    }
    agent::loadable(format, &bytes).err().map(|why| {
        format!(
            "{}: {why}, so the {engine:?} engine would drop it",
            file.display()
        )
    })
}

/// Another agent Kiro would load under our agent's name: in the working directory's
/// `.kiro/agents/` (or the legacy `.amazonq/cli-agents/`), which wins over the global
/// one, or beside ours in `~/.kiro/agents/`. JSON agents are chosen by their `name`
/// field, whatever the file is called; Markdown agents by their file name.
fn workspace_agent(cwd: &Path, home: &Path) -> Option<PathBuf> {
    let global = home.join(".kiro/agents");
    let mut dirs = vec![global.clone()];
    if cwd != home {
        dirs.push(cwd.join(".kiro/agents"));
        dirs.push(cwd.join(".amazonq/cli-agents"));
    }
    for dir in dirs {
        let ours =
            |name: &str| dir == global && name.starts_with(&format!("{}.", agent::AGENT_NAME));
        let markdown = dir.join(format!("{}.md", agent::AGENT_NAME));
        if dir != global && std::fs::symlink_metadata(&markdown).is_ok() {
            return Some(markdown);
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten().take(1000) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") || ours(&name) {
                continue;
            }
            let path = entry.path();
            let named_ours = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|v| v["name"] == agent::AGENT_NAME);
            if named_ours || name == format!("{}.json", agent::AGENT_NAME) {
                return Some(path);
            }
        }
    }
    None
}
