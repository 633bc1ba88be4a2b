//! The custom agent definition, `~/.kiro/agents/aws-readonly.json`, filled from the
//! template in `agents/` and the configured profiles.

use serde_json::Value;

use crate::config::profile::ProfileSet;
use crate::paths::Paths;

const TEMPLATE: &str = include_str!("../../agents/aws-readonly.json");
/// Start of the agent's `description`; how `init` knows the file is its own.
pub const MANAGED_PREFIX: &str = "Managed by kiro-aws.";
pub const AGENT_NAME: &str = "aws-readonly";

/// Tools whose settings are also written under their legacy names, since which spelling
/// a given Kiro version reads inside `toolsSettings` is not documented.
const LEGACY_NAMES: [(&str, &str); 4] = [
    ("aws", "use_aws"),
    ("shell", "execute_bash"),
    ("read", "fs_read"),
    ("write", "fs_write"),
];

pub fn render(set: &ProfileSet, paths: &Paths, allow_write_tool: bool) -> String {
    let mut agent: Value = serde_json::from_str(TEMPLATE).expect("the agent template is JSON");
    if allow_write_tool {
        agent["tools"]
            .as_array_mut()
            .expect("tools is a list")
            .insert(1, "write".into());
        agent["toolsSettings"]["write"] = serde_json::json!({
            "deniedPaths": ["~/.aws/**", "~/.kiro/**", "{{HOME}}/.aws/**", "{{HOME}}/.kiro/**"]
        });
    }
    let settings = agent["toolsSettings"]
        .as_object_mut()
        .expect("toolsSettings is an object");
    for (short, legacy) in LEGACY_NAMES {
        if let Some(value) = settings.get(short).cloned() {
            settings.insert(legacy.to_owned(), value);
        }
    }
    let profile_list = set.names().join(", ");
    let fill = |text: &str| {
        text.replace("{{CONFIG_FILE}}", &paths.config.display().to_string())
            .replace("{{STEERING_FILE}}", &paths.steering.display().to_string())
            .replace("{{HOME}}", &paths.home.display().to_string())
            .replace("{{DEFAULT_PROFILE}}", &set.default_profile)
            .replace("{{PROFILE_LIST}}", &profile_list)
    };
    fill_strings(&mut agent, &fill);
    let mut text = serde_json::to_string_pretty(&agent).expect("JSON serialises");
    text.push('\n');
    text
}

fn fill_strings(value: &mut Value, fill: &dyn Fn(&str) -> String) {
    match value {
        Value::String(s) => *s = fill(s),
        Value::Array(items) => items.iter_mut().for_each(|v| fill_strings(v, fill)),
        Value::Object(map) => map.values_mut().for_each(|v| fill_strings(v, fill)),
        _ => {}
    }
}

/// An agent file kiro-aws wrote: JSON whose name and description are ours.
pub fn is_managed(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|v| {
        v["name"] == AGENT_NAME
            && v["description"]
                .as_str()
                .is_some_and(|d| d.starts_with(MANAGED_PREFIX))
    })
}

/// Whether an existing agent file was written with `--allow-write-tool`.
pub fn allows_write_tool(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|v| {
        v["tools"]
            .as_array()
            .is_some_and(|t| t.contains(&"write".into()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::config_file::tests::sample;
    use std::path::Path;

    const FIELDS: [&str; 15] = [
        "$schema",
        "name",
        "description",
        "prompt",
        "mcpServers",
        "tools",
        "toolAliases",
        "allowedTools",
        "toolsSettings",
        "resources",
        "hooks",
        "includeMcpJson",
        "model",
        "keyboardShortcut",
        "welcomeMessage",
    ];

    #[test]
    fn agent_is_read_only_and_uses_only_documented_fields() {
        let paths = Paths::new(Path::new("/home/u"));
        let text = render(&sample(), &paths, false);
        assert!(!text.contains("{{"), "every placeholder is filled");
        let agent: Value = serde_json::from_str(&text).unwrap();
        for key in agent.as_object().unwrap().keys() {
            assert!(FIELDS.contains(&key.as_str()), "{key}");
        }
        assert_eq!(agent["name"], "aws-readonly");
        let tools = agent["tools"].as_array().unwrap();
        assert!(!tools.contains(&"write".into()) && !tools.contains(&"fs_write".into()));
        for tool in ["aws", "shell", "read", "use_aws", "execute_bash", "fs_read"] {
            assert!(agent["toolsSettings"][tool].is_object(), "{tool}");
        }
        let denied = agent["toolsSettings"]["aws"]["deniedServices"]
            .as_array()
            .unwrap();
        assert!(denied.contains(&"secretsmanager".into()));
        let paths_denied = agent["toolsSettings"]["read"]["deniedPaths"]
            .as_array()
            .unwrap();
        for p in [
            "~/.aws/config",
            "~/.aws/credentials",
            "~/.aws/sso/**",
            "~/.aws/cli/**",
            "/home/u/.aws/sso/**",
        ] {
            assert!(paths_denied.contains(&p.into()), "{p}");
        }
        assert!(agent["prompt"]
            .as_str()
            .unwrap()
            .contains("kiro-dev, kiro-prod-write"));
        assert_eq!(agent["resources"][0], "file://~/.kiro/steering/AGENTS.md");
        assert!(is_managed(text.as_bytes()));
        assert!(!allows_write_tool(text.as_bytes()));

        let writable = render(&sample(), &paths, true);
        assert!(allows_write_tool(writable.as_bytes()));
        let agent: Value = serde_json::from_str(&writable).unwrap();
        assert!(agent["toolsSettings"]["write"]["deniedPaths"]
            .as_array()
            .unwrap()
            .contains(&"/home/u/.kiro/**".into()));
    }

    #[test]
    fn shell_denials_cover_host_credentials_and_escapes() {
        let agent: Value = serde_json::from_str(TEMPLATE).unwrap();
        assert_eq!(agent["toolsSettings"]["shell"]["autoAllowReadonly"], false);
        let denied: Vec<regex::Regex> = agent["toolsSettings"]["shell"]["deniedCommands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| regex::Regex::new(&format!("^(?:{})$", p.as_str().unwrap())).unwrap())
            .collect();
        let is_denied = |cmd: &str| denied.iter().any(|r| r.is_match(cmd));
        for cmd in [
            "cat ~/.aws/credentials",
            "cat /home/u/.aws/config",
            "ls ~/.aws/sso/cache",
            "ls -la ~/.aws/cli/cache/",
            "head -n 3 \"$HOME/.aws/config\"",
            "env -u AWS_CONFIG_FILE aws sts get-caller-identity --profile prod",
            "AWS_PROFILE=prod-admin aws s3 ls",
            "unset AWS_SHARED_CREDENTIALS_FILE",
            "aws sso login --profile kiro-dev",
            "aws --profile x configure set region us-east-1",
            "kiro-aws init --from /tmp/evil",
            // spellings that a path-by-path pattern would miss
            "cat ~/.aws//config",
            "cat ~/.aws/./credentials",
            "cat ~/.aws/config*",
            "cat ~/.aws/sso*/cache/*",
            "find ~/.aws -name *.json",
            "grep -r accessToken ~/.aws",
            "cat ~/.aws/kiro/config",
            "ls ../.aws",
        ] {
            assert!(is_denied(cmd), "{cmd}");
        }
        for cmd in [
            "aws s3 ls --profile kiro-dev --output json",
            "aws sts get-caller-identity",
            "grep -r config src/",
            "curl https://s3.amazonaws.com/",
        ] {
            assert!(!is_denied(cmd), "{cmd}");
        }
    }
}
