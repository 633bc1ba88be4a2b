//! The custom agent, in each format Kiro reads: `~/.kiro/agents/aws-readonly.json` for
//! Kiro CLI's classic (V1) and V2 engines, `~/.kiro/agents/aws-readonly.md` (YAML
//! frontmatter, the prompt as the body) for the V3 engine and the Kiro IDE.
//!
//! Both are rendered from the templates in `agents/`, the profile set and what `init`
//! recorded (the write tool), never from what an agent file says now: an agent that edits
//! its own definition gets it back as kiro-aws wrote it on the next launch. Every format
//! names `kiro-aws hook` as its `preToolUse` hook.

use std::path::Path;

use serde_json::{json, Value};

use crate::config::profile::ProfileSet;
use crate::hook::aws_call::DENIED_SERVICES;
use crate::paths::Paths;

const JSON_TEMPLATE: &str = include_str!("../../agents/aws-readonly.json");
const MARKDOWN_TEMPLATE: &str = include_str!("../../agents/aws-readonly.md");
const PROMPT: &str = include_str!("../../agents/prompt.md");
/// Start of the agent's `description`; how kiro-aws knows the file is its own.
pub const MANAGED_PREFIX: &str = "Managed by kiro-aws.";
pub const AGENT_NAME: &str = "aws-readonly";

/// The format of an agent file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON as the classic engine reads it: legacy tool names, no field it does not know.
    Classic,
    /// JSON as the V2 engine reads it: current tool names.
    V2,
    /// Markdown with YAML frontmatter, as the V3 engine and the IDE read it.
    Markdown,
}

/// Tools by their current name and the classic engine's; the classic engine has no
/// separate glob and grep tools (its read tool searches).
const CLASSIC_NAMES: [(&str, Option<&str>); 9] = [
    ("read", Some("fs_read")),
    ("write", Some("fs_write")),
    ("shell", Some("execute_bash")),
    ("aws", Some("use_aws")),
    ("todo", Some("todo_list")),
    ("introspect", Some("introspect")),
    ("glob", None),
    ("grep", None),
    ("thinking", None),
];

/// Where the host's AWS credentials and sign-in state live: no tool reads them.
const HOST_PATHS: [&str; 4] = [
    "~/.aws/config",
    "~/.aws/credentials",
    "~/.aws/sso/**",
    "~/.aws/cli/**",
];

/// Where no tool writes, even with the write tool.
const PROTECTED_TREES: [&str; 2] = ["~/.aws/**", "~/.kiro/**"];

/// Shell commands denied by Kiro's own rules in V3 (globs; `*` stands for any text).
/// The hook is the rule that holds; these only keep the model from trying.
const SHELL_DENIED: [&str; 12] = [
    "*.aws/config*",
    "*.aws/credentials*",
    "*.aws/sso*",
    "*.aws/cli*",
    "*AWS_CONFIG_FILE*",
    "*AWS_SHARED_CREDENTIALS_FILE*",
    "*AWS_PROFILE=*",
    "*unset AWS_*",
    "*aws configure*",
    "*aws sso*",
    "*aws login*",
    "*kiro-aws init*",
];

/// Each path under `~`, and with the home directory written out (Kiro may see either).
fn both_spellings(paths: &[&str], home: &Path) -> Vec<String> {
    let home = home.display().to_string();
    paths
        .iter()
        .flat_map(|p| [p.to_string(), p.replacen('~', &home, 1)])
        .collect()
}

/// The command line the agent files give Kiro for the hook: this binary, quoted for the
/// shell Kiro runs hooks with.
pub fn hook_command(exe: &Path) -> String {
    let text = exe.display().to_string();
    format!("'{}' hook", text.replace('\'', r"'\''"))
}

fn prompt(set: &ProfileSet, paths: &Paths) -> String {
    PROMPT
        .trim_end()
        .replace("{{CONFIG_FILE}}", &paths.config.display().to_string())
        .replace("{{STEERING_FILE}}", &paths.steering.display().to_string())
        .replace("{{DEFAULT_PROFILE}}", &set.default_profile)
        .replace("{{PROFILE_LIST}}", &set.names().join(", "))
}

/// The agent file in `format`, for this profile set; `hook` is the hook's command line.
pub fn render(format: Format, set: &ProfileSet, paths: &Paths, hook: &str) -> String {
    match format {
        Format::Classic | Format::V2 => render_json(format == Format::Classic, set, paths, hook),
        Format::Markdown => render_markdown(set, paths, hook),
    }
}

fn render_json(classic: bool, set: &ProfileSet, paths: &Paths, hook: &str) -> String {
    let mut agent: Value = serde_json::from_str(JSON_TEMPLATE).expect("the agent template is JSON");
    agent["prompt"] = prompt(set, paths).into();
    agent["hooks"]["preToolUse"][0]["command"] = hook.into();
    let settings = &mut agent["toolsSettings"];
    settings["aws"]["deniedServices"] = json!(DENIED_SERVICES);
    let host = both_spellings(&HOST_PATHS, &paths.home);
    for tool in ["read", "glob", "grep"] {
        settings[tool]["deniedPaths"] = json!(host);
    }
    if set.write_tool {
        agent["tools"]
            .as_array_mut()
            .expect("tools is a list")
            .insert(1, "write".into());
        agent["toolsSettings"]["write"] =
            json!({ "deniedPaths": both_spellings(&PROTECTED_TREES, &paths.home) });
    }
    if classic {
        rename_for_classic(&mut agent);
    }
    let mut text = serde_json::to_string_pretty(&agent).expect("JSON serialises");
    text.push('\n');
    text
}

/// The classic engine's spelling of every tool, in `tools`, `allowedTools` and the keys
/// of `toolsSettings`; tools it does not have are left out.
fn rename_for_classic(agent: &mut Value) {
    let classic = |name: &str| {
        CLASSIC_NAMES
            .iter()
            .find(|(current, _)| *current == name)
            .map_or(Some(name), |(_, old)| *old)
            .map(str::to_owned)
    };
    for list in ["tools", "allowedTools"] {
        let renamed: Vec<Value> = agent[list]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|t| classic(t.as_str()?))
            .map(Value::from)
            .collect();
        agent[list] = renamed.into();
    }
    let settings = agent["toolsSettings"]
        .as_object_mut()
        .expect("toolsSettings is an object");
    let renamed: serde_json::Map<String, Value> = std::mem::take(settings)
        .into_iter()
        .filter_map(|(key, value)| Some((classic(&key)?, value)))
        .collect();
    *settings = renamed;
}

fn render_markdown(set: &ProfileSet, paths: &Paths, hook: &str) -> String {
    // Lists and strings are written in JSON's syntax, which YAML reads as flow style.
    let list = |items: &[String]| serde_json::to_string(items).expect("JSON serialises");
    let mut tools = vec!["read".to_owned(), "shell".to_owned()];
    let write_denied = if set.write_tool {
        tools.insert(1, "write".into());
        both_spellings(&PROTECTED_TREES, &paths.home)
    } else {
        vec!["**".to_owned()]
    };
    let shell: Vec<String> = SHELL_DENIED.iter().map(|s| s.to_string()).collect();
    let body = prompt(set, paths);
    MARKDOWN_TEMPLATE
        .replace("{{TOOLS}}", &list(&tools))
        .replace(
            "{{HOST_PATHS}}",
            &list(&both_spellings(&HOST_PATHS, &paths.home)),
        )
        .replace("{{WRITE_DENIED}}", &list(&write_denied))
        .replace("{{SHELL_DENIED}}", &list(&shell))
        .replace(
            "{{HOOK_COMMAND}}",
            &serde_json::to_string(hook).expect("JSON"),
        )
        .replace("{{PROMPT}}", &body)
}

/// An agent file kiro-aws wrote, in any format: its description starts with ours.
pub fn is_managed(bytes: &[u8]) -> bool {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return value["name"] == AGENT_NAME
            && value["description"]
                .as_str()
                .is_some_and(|d| d.starts_with(MANAGED_PREFIX));
    }
    frontmatter(bytes).is_some_and(|front| {
        front
            .lines()
            .any(|l| l.starts_with(&format!("description: \"{MANAGED_PREFIX}")))
    })
}

/// The YAML frontmatter of a Markdown agent, between its two `---` lines.
fn frontmatter(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some(&rest[..end])
}

/// Why an engine reading `format` would drop this file, if it would.
pub fn loadable(format: Format, bytes: &[u8]) -> Result<(), String> {
    if !is_managed(bytes) {
        return Err("it is not the agent kiro-aws writes".into());
    }
    match format {
        Format::Classic | Format::V2 => {
            let value: Value =
                serde_json::from_slice(bytes).map_err(|e| format!("it is not JSON ({e})"))?;
            if !value["hooks"]["preToolUse"].is_array() {
                return Err("it names no preToolUse hook".into());
            }
            Ok(())
        }
        Format::Markdown => {
            let front = frontmatter(bytes).ok_or("it has no YAML frontmatter")?;
            // V3 drops an agent without a `permissions` object holding `rules`.
            if !front.contains("\npermissions:\n  rules:\n") {
                return Err("its frontmatter has no permissions.rules".into());
            }
            if !front.contains("\n    trigger: PreToolUse\n") {
                return Err("it names no PreToolUse hook".into());
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::config_file::tests::sample;

    const HOOK: &str = "'/opt/kiro aws/kiro-aws' hook";

    #[test]
    fn the_hook_command_survives_any_path() {
        assert_eq!(
            hook_command(Path::new("/usr/bin/kiro-aws")),
            "'/usr/bin/kiro-aws' hook"
        );
        assert_eq!(
            hook_command(Path::new("/o'x/kiro-aws")),
            r"'/o'\''x/kiro-aws' hook"
        );
    }

    #[test]
    fn json_agents_speak_their_engine_and_name_each_setting_once() {
        let paths = Paths::new(Path::new("/home/u"));
        let v2: Value = serde_json::from_str(&render(Format::V2, &sample(), &paths, HOOK)).unwrap();
        assert_eq!(
            v2["tools"],
            json!(["read", "glob", "grep", "shell", "aws", "todo", "introspect"])
        );
        let keys: Vec<&String> = v2["toolsSettings"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["aws", "shell", "read", "glob", "grep"]);
        assert_eq!(v2["hooks"]["preToolUse"][0]["command"], HOOK);
        assert!(v2["prompt"]
            .as_str()
            .unwrap()
            .contains("kiro-dev, kiro-prod-write"));
        assert!(v2["toolsSettings"]["read"]["deniedPaths"]
            .as_array()
            .unwrap()
            .contains(&"/home/u/.aws/sso/**".into()));

        let classic: Value =
            serde_json::from_str(&render(Format::Classic, &sample(), &paths, HOOK)).unwrap();
        assert_eq!(
            classic["tools"],
            json!([
                "fs_read",
                "execute_bash",
                "use_aws",
                "todo_list",
                "introspect"
            ])
        );
        let keys: Vec<&String> = classic["toolsSettings"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["use_aws", "execute_bash", "fs_read"]);

        let writable = ProfileSet {
            write_tool: true,
            ..sample()
        };
        let v2: Value = serde_json::from_str(&render(Format::V2, &writable, &paths, HOOK)).unwrap();
        assert_eq!(v2["tools"][1], "write");
        assert!(v2["toolsSettings"]["write"]["deniedPaths"]
            .as_array()
            .unwrap()
            .contains(&"/home/u/.kiro/**".into()));
    }

    #[test]
    fn every_format_is_recognised_and_loadable() {
        let paths = Paths::new(Path::new("/home/u"));
        for format in [Format::Classic, Format::V2, Format::Markdown] {
            let text = render(format, &sample(), &paths, HOOK);
            assert!(
                !text.contains("{{"),
                "{format:?}: every placeholder is filled"
            );
            assert!(is_managed(text.as_bytes()), "{format:?}");
            assert_eq!(loadable(format, text.as_bytes()), Ok(()), "{format:?}");
        }
        assert!(loadable(Format::Markdown, b"---\ndescription: x\n---\n").is_err());
        assert!(loadable(Format::V2, b"{\"name\":\"aws-readonly\"}").is_err());
    }

    /// Kiro's V3 matches `permissions` globs; `*` standing for any text is the loosest
    /// reading, and each attempt must be denied under it.
    #[test]
    fn shell_globs_match_the_attempts() {
        fn glob(p: &[u8], s: &[u8]) -> bool {
            match (p.first(), s.first()) {
                (None, None) => true,
                (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
                (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
                _ => false,
            }
        }
        let denied = |cmd: &str| {
            SHELL_DENIED
                .iter()
                .any(|p| glob(p.as_bytes(), cmd.as_bytes()))
        };
        for cmd in [
            "cat ~/.aws/credentials",
            "cat /home/u/.aws/config",
            "ls -la ~/.aws/sso/cache",
            "AWS_PROFILE=prod aws s3 ls",
            "env -u AWS_CONFIG_FILE aws s3 ls",
            "unset AWS_SHARED_CREDENTIALS_FILE",
            "aws sso login --profile kiro-dev",
            "aws configure list",
            "kiro-aws init --from /tmp/x",
        ] {
            assert!(denied(cmd), "{cmd}");
        }
        for cmd in ["aws s3 ls --profile kiro-dev", "git status", "ls -la src"] {
            assert!(!denied(cmd), "{cmd}");
        }
    }
}
