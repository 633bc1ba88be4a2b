//! `kiro-aws hook`: the agent's `preToolUse` hook. Kiro runs it before every tool call
//! with the call on stdin; it answers allow (exit 0) or block (exit 2, one line on stderr
//! that the model reads). The rules of the steering file, enforced where a model cannot
//! talk its way past them: the AWS tool's profile, service and operation, the shell's
//! command lines, and the paths every tool names.
//!
//! It reads one event and the isolated config, nothing else: no network, no SDK.

pub mod aws_call;
pub mod command_line;
pub mod event;
pub mod expand;
pub mod guard;
pub mod operations;
pub mod shell;

use std::cell::OnceCell;
use std::path::PathBuf;

use serde_json::Value;

use crate::config::config_file;
use crate::env::Env;
use crate::hook::event::{Event, Tool};
use crate::hook::guard::{Access, Guard};
use crate::paths::Paths;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Blocked; the line tells the model what to do instead.
    Block(String),
}

impl Decision {
    pub fn block(why: impl Into<String>) -> Decision {
        Decision::Block(why.into())
    }
}

/// What `init` recorded in the isolated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub profiles: Vec<String>,
    pub write_tool: bool,
}

/// What the rules judge against: the home, the session's directory, the tool's
/// environment and the isolated config (read only when a rule needs it).
pub struct Context {
    pub home: PathBuf,
    /// The session's working directory first, then any other the tool call names (a
    /// shell call's `working_dir` or `cwd`): relative paths are judged from each.
    pub cwds: Vec<PathBuf>,
    pub user: Option<String>,
    pub guard: Guard,
    vars: Vec<(String, String)>,
    config: PathBuf,
    recorded: OnceCell<Result<Recorded, String>>,
}

impl Context {
    pub fn new(paths: &Paths, env: &Env, cwds: Vec<PathBuf>) -> Context {
        let mut cwds: Vec<PathBuf> = cwds.into_iter().filter(|c| c.is_absolute()).collect();
        if cwds.is_empty() {
            cwds.push(env.cwd().to_owned());
        }
        cwds.dedup();
        Context {
            guard: Guard::new(&paths.home),
            home: paths.home.clone(),
            cwds,
            user: env
                .get_str("USER")
                .or_else(|| env.get_str("LOGNAME"))
                .map(str::to_owned),
            vars: env
                .vars()
                .iter()
                .filter_map(|(k, v)| Some((k.to_str()?.to_owned(), v.to_str()?.to_owned())))
                .collect(),
            config: paths.config.clone(),
            recorded: OnceCell::new(),
        }
    }

    /// With the isolated config's record given (tests).
    #[cfg(test)]
    pub fn with_recorded(mut self, recorded: Recorded) -> Context {
        self.recorded = OnceCell::from(Ok(recorded));
        self
    }

    pub fn env_var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn recorded(&self) -> Result<&Recorded, &str> {
        self.recorded
            .get_or_init(|| {
                let bytes = std::fs::read(&self.config).map_err(|e| {
                    format!(
                        "cannot read {} ({e}); ask the user to run `kiro-aws init`",
                        self.config.display()
                    )
                })?;
                let parsed = config_file::parse(&bytes);
                let write_tool = parsed.write_tool;
                let set = parsed.into_set().map_err(|_| {
                    format!(
                        "{} is not valid; ask the user to run `kiro-aws verify`",
                        self.config.display()
                    )
                })?;
                Ok(Recorded {
                    profiles: set.names(),
                    write_tool,
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// The judgement on one event.
pub fn decide(event: &Event, ctx: &Context) -> Decision {
    if event.other_event {
        return Decision::Allow;
    }
    let input = &event.input;
    match event.tool {
        Tool::Aws => aws_call::judge_tool(input, ctx),
        Tool::Shell => match input.get("command").and_then(Value::as_str) {
            Some(line) => command_line::judge(line, ctx),
            None => Decision::block("the shell call carries no command"),
        },
        Tool::Write => {
            let allowed = match ctx.recorded() {
                Ok(recorded) => recorded.write_tool,
                Err(why) => {
                    return Decision::block(format!("no file writes until this is fixed: {why}"))
                }
            };
            if !allowed {
                return Decision::block(
                    "this agent has no file-writing tool (`kiro-aws init --allow-write-tool` gives it one); show the user the change instead",
                );
            }
            judge_paths(input, ctx, Access::Write, false, false)
        }
        Tool::Glob | Tool::Grep => judge_paths(input, ctx, Access::Read, true, false),
        Tool::Read => judge_paths(input, ctx, Access::Read, false, false),
        Tool::Other => {
            // The AWS API MCP server's `call_aws` (an AWS CLI command line), or any tool
            // that takes a shell command.
            for key in ["cli_command", "command", "cmd"] {
                if let Some(line) = input.get(key).and_then(Value::as_str) {
                    if let d @ Decision::Block(_) = command_line::judge(line, ctx) {
                        return d;
                    }
                }
            }
            judge_paths(input, ctx, Access::Read, false, true)
        }
    }
}

/// Keys whose values name files or directories, in any tool's input.
fn is_path_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("path")
        || key.ends_with("paths")
        || key.ends_with("dir")
        || key.ends_with("file")
        || matches!(
            key.as_str(),
            "file"
                | "files"
                | "directory"
                | "cwd"
                | "source"
                | "destination"
                | "target"
                | "uri"
                | "url"
        )
}

/// The strings of a tool's input that name paths: every one under a path-like key, and,
/// for a tool whose input is not known (`loose`), any other that starts like one (`/`,
/// `~`, `file://`).
fn path_strings<'a>(value: &'a Value, under_path_key: bool, loose: bool, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s)
            if under_path_key
                || (loose
                    && (s.starts_with('/') || s.starts_with('~') || s.starts_with("file://"))) =>
        {
            out.push(s)
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| path_strings(v, under_path_key, loose, out)),
        Value::Object(map) => {
            for (key, v) in map {
                path_strings(v, is_path_key(key), loose, out);
            }
        }
        _ => {}
    }
}

/// A path as a tool takes it, made absolute: `file://` dropped, `~` expanded, relative
/// ones from each of the session's directories.
fn tool_paths(text: &str, ctx: &Context) -> Vec<String> {
    let text = text.strip_prefix("file://").unwrap_or(text);
    let expanded = match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", ctx.home.display())
        }
        _ => text.to_owned(),
    };
    if expanded.starts_with('/') {
        vec![expanded]
    } else {
        ctx.cwds
            .iter()
            .map(|cwd| format!("{}/{expanded}", cwd.display()))
            .collect()
    }
}

fn judge_paths(
    input: &Value,
    ctx: &Context,
    access: Access,
    search: bool,
    loose: bool,
) -> Decision {
    let mut paths = Vec::new();
    path_strings(input, false, loose, &mut paths);
    let pattern_text = ["pattern", "query", "includePattern", "include"]
        .iter()
        .find_map(|k| input.get(*k).and_then(Value::as_str));
    // A glob tool may take a whole path as its pattern.
    if let Some(glob) = pattern_text.filter(|g| g.starts_with('/') || g.starts_with('~')) {
        for absolute in tool_paths(glob, ctx) {
            if let Some(reason) = ctx.guard.judge(&expand::glob_text(&absolute), access) {
                return command_line::refused(reason, glob);
            }
        }
    }
    if search && input.get("path").is_none() {
        paths.push(".");
    }
    for text in paths {
        for absolute in tool_paths(text, ctx) {
            let mut pattern = guard::literal(&absolute);
            if let Some(reason) = ctx.guard.judge(&pattern, access) {
                return command_line::refused(reason, text);
            }
            if let Some(real) = guard::resolved(std::path::Path::new(&absolute)) {
                let real = guard::literal(&real.to_string_lossy());
                if let Some(reason) = ctx.guard.judge(&real, access) {
                    return command_line::refused(reason, text);
                }
            }
            if search {
                if ctx.guard.covers(&pattern) {
                    return Decision::block(format!(
                        "`{text}` holds ~/.aws (the host's credentials); search inside the project directory instead"
                    ));
                }
                if let Some(glob) = pattern_text {
                    pattern.push(guard::Pat::Char('/'));
                    pattern.extend(expand::glob_text(glob));
                    if let Some(reason) = ctx.guard.judge(&pattern, access) {
                        return command_line::refused(reason, glob);
                    }
                }
            }
        }
    }
    Decision::Allow
}

#[cfg(test)]
mod decisions;
