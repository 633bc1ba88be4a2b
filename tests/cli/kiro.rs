//! The agent Kiro really loads: fake `kiro-cli` binaries that print real version strings
//! and load agents the way each engine is documented to, the agent files read back by
//! real parsers and checked against Kiro's own schema, and the `preToolUse` hook run the
//! way Kiro's hook runner runs it.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::harness::{venv_bin, Test, BIN};

/// Launch `chat ARGS` against a fake of `version`; the agent file it loaded.
fn launch(t: &Test, version: &str, args: &[&str]) -> String {
    t.kiro_version(version);
    let mut argv = vec!["chat", "--"];
    argv.extend(args);
    t.cmd(argv).run().success();
    t.loaded_agent()
}

#[test]
fn every_kiro_version_loads_the_agent_written_for_its_engine() {
    let t = Test::new();
    t.init();
    let json = t.agent().display().to_string();
    let markdown = t.agent_markdown().display().to_string();
    for (version, args, loaded) in [
        ("1.28.1", &[][..], &json),
        ("2.2.1", &[], &json),
        ("2.21.3", &[], &json),
        ("2.21.3", &["--v3"], &markdown),
        ("2.21.3", &["--agent-engine", "v3"], &markdown),
        ("2.21.3", &["--no-interactive"], &json),
        ("3.2.0", &[], &markdown),
        ("3.2.0", &["--v2"], &json),
        ("3.2.0", &["--no-interactive"], &json),
    ] {
        assert_eq!(&launch(&t, version, args), loaded, "{version} {args:?}");
        // The JSON the launch left is the dialect of the engine that read it.
        let agent: serde_json::Value =
            serde_json::from_slice(&fs::read(t.agent()).unwrap()).unwrap();
        let classic = version.starts_with('1')
            || (version.starts_with('2') && args.contains(&"--no-interactive"));
        let shell = if classic { "execute_bash" } else { "shell" };
        assert!(
            agent["tools"].as_array().unwrap().contains(&shell.into()),
            "{version}"
        );
        let verify = t.cmd(["verify", "--json"]).run().success().json();
        assert_eq!(verify["kiro"]["version"], format!("kiro-cli {version}"));
        assert_eq!(verify["kiro"]["loads"], true);
    }
    let verify = t.cmd(["verify", "--json"]).run().success().json();
    assert_eq!(
        verify["kiro"],
        json!({"version": "kiro-cli 3.2.0", "engine": "v3", "agent_file": markdown, "loads": true})
    );
}

#[test]
fn a_session_that_would_run_without_the_agent_is_refused() {
    let t = Test::new();
    t.init();
    // A major version whose agent format kiro-aws does not know.
    t.kiro_version("9.0.0");
    let run = t.cmd(["chat"]).run().exit(3);
    assert!(
        run.stderr.contains("kiro_agent_not_loadable"),
        "{}",
        run.stderr
    );
    assert!(!t.was_launched("kiro-cli"));
    let verify = t.cmd(["verify", "--json"]).run().exit(3).json();
    assert_eq!(verify["kiro"]["loads"], false);
    assert_eq!(verify["kiro"]["engine"], serde_json::Value::Null);
    assert_eq!(verify["findings"][0]["code"], "kiro_agent_not_loadable");

    // An engine that version does not have, and another agent chosen by the arguments.
    t.kiro_version("2.2.1");
    t.cmd(["chat", "--", "--v3"]).run().exit(3);
    t.cmd(["chat", "--", "--agent", "default"]).run().exit(3);
    assert!(!t.was_launched("kiro-cli"));

    // A workspace agent of the same name wins over ours in Kiro: refused, in either format.
    for ext in ["json", "md"] {
        let shadow = t
            .work()
            .join(format!("project/.kiro/agents/aws-readonly.{ext}"));
        fs::create_dir_all(shadow.parent().unwrap()).unwrap();
        fs::write(&shadow, "{}").unwrap();
        let run = t
            .cmd(["verify", "--json"])
            .cwd(&t.work().join("project"))
            .run()
            .exit(3);
        assert!(
            run.stdout.contains(&shadow.display().to_string()),
            "{}",
            run.stdout
        );
        t.cmd(["chat"]).cwd(&t.work().join("project")).run().exit(3);
        assert!(!t.was_launched("kiro-cli"));
        fs::remove_file(&shadow).unwrap();
    }
    // A JSON agent is chosen by its `name`, whatever its file is called: one beside ours
    // or in the workspace under another file name shadows it too.
    for dir in [
        t.home().join(".kiro/agents"),
        t.work().join("project/.kiro/agents"),
    ] {
        let other = dir.join("renamed.json");
        fs::write(&other, r#"{"name": "aws-readonly", "tools": ["*"]}"#).unwrap();
        let run = t
            .cmd(["verify", "--json"])
            .cwd(&t.work().join("project"))
            .run()
            .exit(3);
        assert!(run.stdout.contains("renamed.json"), "{}", run.stdout);
        fs::write(&other, r#"{"name": "something-else"}"#).unwrap();
        t.cmd(["verify"])
            .cwd(&t.work().join("project"))
            .run()
            .success();
        fs::remove_file(&other).unwrap();
    }

    // Our Markdown agent replaced by the user's own: the V3 engine would load that one.
    t.kiro_version("3.2.0");
    fs::write(t.agent_markdown(), "---\ndescription: mine\n---\nhello\n").unwrap();
    let run = t.cmd(["chat"]).run().exit(1);
    assert!(run.stderr.contains("file_not_managed"), "{}", run.stderr);
    let verify = t.cmd(["verify", "--json"]).run().exit(3).json();
    assert_eq!(verify["kiro"]["loads"], false);
}

#[test]
fn a_tampered_agent_is_rewritten_and_the_write_tool_comes_only_from_init() {
    let t = Test::new();
    t.init();
    t.cmd(["chat"]).run().success();
    let json = fs::read(t.agent()).unwrap();
    let markdown = fs::read(t.agent_markdown()).unwrap();
    // What an agent with a shell would do to its own definition.
    let mut agent: serde_json::Value = serde_json::from_slice(&json).unwrap();
    agent["tools"].as_array_mut().unwrap().push("write".into());
    agent["hooks"] = json!({});
    fs::write(t.agent(), serde_json::to_vec(&agent).unwrap()).unwrap();
    let tampered = String::from_utf8(markdown.clone())
        .unwrap()
        .replace("tools: [\"read\",\"shell\"]", "tools: [\"*\"]");
    fs::write(t.agent_markdown(), tampered).unwrap();
    t.cmd(["chat"]).run().success();
    assert_eq!(fs::read(t.agent()).unwrap(), json);
    assert_eq!(fs::read(t.agent_markdown()).unwrap(), markdown);

    // With --allow-write-tool recorded by init, the write tool stays through launches;
    // `init` without it takes it away again.
    let mut args = t.init_args();
    args.push("--allow-write-tool".into());
    t.cmd(args).run().success();
    assert!(fs::read_to_string(t.config())
        .unwrap()
        .contains("# kiro-aws:allow-write-tool = true\n"));
    for _ in 0..2 {
        t.cmd(["chat"]).run().success();
        let agent: serde_json::Value =
            serde_json::from_slice(&fs::read(t.agent()).unwrap()).unwrap();
        assert_eq!(agent["tools"][1], "write");
        assert!(fs::read_to_string(t.agent_markdown())
            .unwrap()
            .contains("tools: [\"read\",\"write\",\"shell\"]"));
    }
    t.init();
    t.cmd(["chat"]).run().success();
    assert_eq!(fs::read(t.agent()).unwrap(), json);
    // A team file cannot hand the agent the write tool.
    let team = t.root().join("team.config");
    fs::write(
        &team,
        fs::read_to_string(t.config()).unwrap() + "# kiro-aws:allow-write-tool = true\n",
    )
    .unwrap();
    t.cmd(["init", "--from", team.to_str().unwrap()])
        .run()
        .success();
    assert!(!fs::read_to_string(t.config())
        .unwrap()
        .contains("allow-write-tool"));
}

/// The JSON agent against a JSON Schema of the V2 agent definition (written from Kiro's
/// `agent_config/definitions.rs`), and the Markdown agent's frontmatter through PyYAML,
/// both with the real parsers of the test environment.
#[test]
fn the_agent_files_parse_with_real_parsers_against_kiros_schema() {
    let t = Test::new();
    for write_tool in [false, true] {
        let mut args = t.init_args();
        if write_tool {
            args.push("--allow-write-tool".into());
        }
        t.cmd(args).run().success();
        for version in ["1.28.1", "2.21.3"] {
            t.kiro_version(version);
            t.cmd(["chat"]).run().success();
            let schema = if version.starts_with('1') {
                "kiro-agent-v1"
            } else {
                "kiro-agent-v2"
            };
            check_python(
                "import json, jsonschema, sys\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.validate(json.load(open(sys.argv[2])), schema)",
                &[&schema_path(schema), &t.agent()],
            );
        }
        check_python(
            "import json, jsonschema, re, sys, yaml\n\
             text = open(sys.argv[2]).read()\n\
             front, body = re.match(r'\\A---\\n(.*?)\\n---\\n(.*)\\Z', text, re.S).groups()\n\
             jsonschema.validate(yaml.safe_load(front), json.load(open(sys.argv[1])))\n\
             assert 'kiro-dev' in body and 'hook' in body, body",
            &[&schema_path("kiro-agent-v3"), &t.agent_markdown()],
        );
    }
}

fn schema_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/schemas/{name}.schema.json"))
}

fn check_python(script: &str, args: &[&Path]) {
    let out = Command::new(venv_bin("python3"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The calls of a session, each blocked or not by the hook Kiro ran.
fn through_hooks(
    t: &Test,
    version: &str,
    args: &[&str],
    calls: &[serde_json::Value],
) -> Vec<Option<String>> {
    t.tool_calls(calls);
    launch(t, version, args);
    t.hook_outcomes()
}

#[test]
fn kiro_runs_the_hook_and_it_blocks_what_the_rules_forbid() {
    let t = Test::new();
    t.init();
    let shell = |command: &str| json!({"tool_name": "shell", "tool_input": {"command": command}});
    let aws = |service: &str, op: &str, profile: &str| {
        json!({"tool_name": "aws", "tool_input": {"service_name": service, "operation_name": op,
               "profile_name": profile, "region": "eu-west-1", "label": "x", "parameters": {}}})
    };
    let calls = [
        shell("aws s3 ls --profile kiro-dev"),
        shell("cat ~/.a\\ws/credentials"),
        shell("AWS_PROFILE=prod aws s3 ls"),
        aws("ec2", "describe-instances", "kiro-dev"),
        aws("ec2", "describe-instances", "default"),
        aws("ec2", "terminate-instances", "kiro-dev"),
        aws("sts", "get-session-token", "kiro-prod-write"),
        json!({"tool_name": "read", "tool_input": {"operations": [{"mode": "Line", "path": "~/.aws/sso/cache/x.json"}]}}),
        json!({"tool_name": "read", "tool_input": {"operations": [{"mode": "Line", "path": "README.md"}]}}),
        json!({"tool_name": "write", "tool_input": {"command": "create", "path": "x.txt", "file_text": "x"}}),
    ];
    let expected_blocked = [
        false, true, true, false, true, true, true, true, false, true,
    ];
    for (version, args) in [
        ("1.28.1", &[][..]),
        ("2.21.3", &[]),
        ("3.2.0", &[]),
        ("3.2.0", &["--v2"]),
    ] {
        let outcomes = through_hooks(&t, version, args, &calls);
        let blocked: Vec<bool> = outcomes.iter().map(Option::is_some).collect();
        assert_eq!(
            blocked, expected_blocked,
            "{version} {args:?}: {outcomes:?}"
        );
        for why in outcomes.iter().flatten() {
            assert!(why.starts_with("kiro-aws blocked this call: "), "{why}");
            assert_eq!(why.lines().count(), 1, "{why}");
        }
    }
}

fn hook(t: &Test, stdin: &[u8]) -> (i32, String) {
    let mut child = t
        .cmd(["hook"])
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_hook_answers_zero_or_two_and_nothing_else() {
    let t = Test::new();
    t.init();
    let event = |command: &str| {
        json!({"hook_event_name": "preToolUse", "cwd": t.work(), "session_id": "s",
               "tool_name": "execute_bash", "tool_input": {"command": command}})
        .to_string()
    };
    assert_eq!(hook(&t, event("ls -la").as_bytes()), (0, String::new()));
    let (code, stderr) = hook(&t, event("cat ~/.aws/config").as_bytes());
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("kiro-aws blocked this call: `"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1);
    // Whatever it cannot read is blocked, never let through on an error status.
    let huge = vec![b' '; 5 << 20];
    for bad in [
        &b""[..],
        b"not json",
        b"[1]",
        b"{\"tool_name\":\"shell\"}",
        &huge,
    ] {
        assert_eq!(
            hook(&t, bad).0,
            2,
            "{}",
            String::from_utf8_lossy(&bad[..bad.len().min(40)])
        );
    }
    // No isolated config to tell the kiro profiles: AWS calls are blocked, others pass.
    fs::remove_file(t.config()).unwrap();
    assert_eq!(
        hook(&t, event("aws s3 ls --profile kiro-dev").as_bytes()).0,
        2
    );
    assert_eq!(hook(&t, event("make test").as_bytes()).0, 0);
    // No home at all: blocked, not an error status.
    let mut no_home = t.cmd(["hook"]).command();
    no_home
        .env_remove("HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = no_home.spawn().unwrap();
    use std::io::Write;
    let _ = child
        .stdin
        .take()
        .unwrap()
        .write_all(event("ls").as_bytes());
    let code = child.wait().unwrap().code().unwrap();
    assert!(code == 0 || code == 2, "{code}");
    // The hook's help is listed.
    let help = t.cmd(["--help"]).run().success().stdout;
    assert!(help.contains("hook"), "{help}");
    let _ = BIN;
}

/// Lines built to make the judgement slow are answered (blocked, or allowed when they are
/// harmless) well inside Kiro's 10 s: Kiro runs the tool when a hook times out.
#[test]
fn the_hook_answers_in_time_whatever_the_line() {
    let t = Test::new();
    t.init();
    let cds: String = (b'a'..=b'p')
        .map(|c| format!("cd {}; ", c as char))
        .collect();
    let lines = [
        format!("{cds}cat ~/.aws/credentials"),
        format!("cat {}", "[".repeat(50_000)),
        format!("echo {}x{}", "${x:-".repeat(20_000), "}".repeat(20_000)),
        format!("cat {}", "$(x)/".repeat(50_000)),
        "a;".repeat(500_000),
        format!("echo {}", "a ".repeat(500_000)),
        format!("echo {}", "{a,b}".repeat(100_000)),
        format!("cat ~/{}", "*".repeat(200_000)),
    ];
    for line in lines {
        let event = json!({"hook_event_name": "preToolUse", "cwd": t.work(), "tool_name": "shell",
                           "tool_input": {"command": line}})
        .to_string();
        let started = std::time::Instant::now();
        let (code, _) = hook(&t, event.as_bytes());
        let took = started.elapsed();
        assert!(code == 0 || code == 2, "{code}");
        assert!(
            took < std::time::Duration::from_secs(5),
            "{took:?} for {}",
            &line[..40]
        );
    }
    let event = json!({"hook_event_name": "preToolUse", "cwd": t.work(), "tool_name": "shell",
                       "tool_input": {"command": format!("{cds}cat ~/.aws/credentials")}})
    .to_string();
    assert_eq!(hook(&t, event.as_bytes()).0, 2);
}
