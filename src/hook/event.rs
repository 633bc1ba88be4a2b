//! One hook event as Kiro writes it on the hook's standard input. V2's shape is
//! `{"hook_event_name","cwd","session_id","tool_name","tool_input"}`; V3's is not
//! published in full, so its camelCase spellings are read too.

use std::path::PathBuf;

use serde_json::Value;

/// The built-in tools the rules know, by every name Kiro has given them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Aws,
    Shell,
    Read,
    Write,
    Glob,
    Grep,
    /// Any other tool (MCP tools included): judged by the paths its input names.
    Other,
}

impl Tool {
    /// Any spelling: snake_case, camelCase, any letter case (`execute_bash`, `executeBash`).
    pub fn from_name(name: &str) -> Tool {
        let key: String = name
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match key.as_str() {
            "aws" | "useaws" => Tool::Aws,
            "shell" | "executebash" | "executecmd" | "executepwsh" | "runcommand" | "bash" => {
                Tool::Shell
            }
            "read" | "fsread" | "readfile" | "listdirectory" => Tool::Read,
            "write" | "fswrite" | "strreplace" | "fsappend" | "deletefile" => Tool::Write,
            "glob" | "filesearch" => Tool::Glob,
            "grep" | "grepsearch" => Tool::Grep,
            _ => Tool::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Not a `preToolUse` event: nothing to judge.
    pub other_event: bool,
    pub tool: Tool,
    pub tool_name: String,
    pub input: Value,
    pub cwd: Option<PathBuf>,
}

/// Hook input larger than this is refused unread.
pub const MAX_INPUT: usize = 4 << 20;

fn field<'a>(value: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| value.get(*n))
        .filter(|v| !v.is_null())
}

pub fn parse(bytes: &[u8]) -> Result<Event, String> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("the hook event is not JSON: {e}"))?;
    if !value.is_object() {
        return Err("the hook event is not a JSON object".into());
    }
    let event_name = field(
        &value,
        &["hook_event_name", "hookEventName", "event", "trigger"],
    )
    .and_then(Value::as_str);
    let other_event = event_name.is_some_and(|n| {
        let n: String = n.chars().filter(|c| *c != '_').collect();
        !n.eq_ignore_ascii_case("pretooluse")
    });
    let nested = value.get("tool").filter(|t| t.is_object());
    let tool_name = field(&value, &["tool_name", "toolName"])
        .or_else(|| nested.and_then(|t| field(t, &["name"])))
        .or_else(|| value.get("tool").filter(|t| t.is_string()))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let input = field(&value, &["tool_input", "toolInput", "input", "arguments"])
        .or_else(|| nested.and_then(|t| field(t, &["input", "arguments", "args"])))
        .cloned();
    let cwd = field(&value, &["cwd", "workingDirectory", "working_directory"])
        .and_then(Value::as_str)
        .map(PathBuf::from);
    if other_event {
        return Ok(Event {
            other_event,
            tool: Tool::Other,
            tool_name: tool_name.unwrap_or_default(),
            input: input.unwrap_or(Value::Null),
            cwd,
        });
    }
    let tool_name = tool_name.ok_or("the hook event names no tool")?;
    let input = input.ok_or("the hook event carries no tool input")?;
    // Some writers send the input as a JSON string.
    let input = match input {
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    };
    Ok(Event {
        other_event,
        tool: Tool::from_name(&tool_name),
        tool_name,
        input,
        cwd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_shapes_and_every_spelling() {
        let v2 = parse(
            br#"{"hook_event_name":"preToolUse","cwd":"/w","session_id":"s","tool_name":"execute_bash","tool_input":{"command":"ls"}}"#,
        )
        .unwrap();
        assert_eq!(
            (v2.tool, v2.input, v2.cwd, v2.other_event),
            (
                Tool::Shell,
                json!({"command":"ls"}),
                Some("/w".into()),
                false
            )
        );
        let v3 = parse(br#"{"hookEventName":"PreToolUse","toolName":"use_aws","toolInput":"{\"service_name\":\"s3\"}"}"#).unwrap();
        assert_eq!(
            (v3.tool, v3.input),
            (Tool::Aws, json!({"service_name":"s3"}))
        );
        let nested = parse(br#"{"tool":{"name":"fs_write","input":{"path":"/x"}}}"#).unwrap();
        assert_eq!(nested.tool, Tool::Write);
        let stop = parse(br#"{"hook_event_name":"stop"}"#).unwrap();
        assert!(stop.other_event);
        for name in ["aws", "shell", "read", "write", "glob", "grep", "@mcp/tool"] {
            let _ = Tool::from_name(name);
        }
        assert_eq!(Tool::from_name("FS_READ"), Tool::Read);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            &b""[..],
            b"[]",
            b"{",
            br#"{"hook_event_name":"preToolUse"}"#,
            br#"{"tool_name":"shell"}"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
