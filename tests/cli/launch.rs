use std::fs;

use crate::harness::Test;

/// Every variable that must never reach the agent, set to a hostile value: named ones,
/// and names of the client families that no list in the binary names.
const HOSTILE_ENV: [(&str, &str); 22] = [
    ("AMAZON_ACCESS_KEY_ID", "AKIAHOSTLEAK00000000"),
    ("AMAZON_SECRET_ACCESS_KEY", "leak"),
    ("AWS_ACCESS_KEY", "AKIAHOSTLEAK00000000"),
    ("AWS_SECRET_KEY", "leak"),
    ("BOTOCORE_EXPERIMENTAL__PLUGINS", "evil=evil_plugin"),
    ("AWS_CREDENTIAL_PROFILES_FILE", "/home/u/.aws/credentials"),
    ("AWS_NOBODY_NAMED_THIS", "leak"),
    ("AWS_ACCESS_KEY_ID", "AKIAHOSTLEAK00000000"),
    ("AWS_SECRET_ACCESS_KEY", "leak"),
    ("AWS_SESSION_TOKEN", "leak"),
    ("AWS_DEFAULT_PROFILE", "prod-admin"),
    ("AWS_PROFILE", "prod-admin"),
    ("AWS_CONFIG_FILE", "/somewhere/else"),
    (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://127.0.0.1:9/creds",
    ),
    ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "leak"),
    ("AWS_ENDPOINT_URL_SSO", "https://attacker.example"),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", "/tmp/token"),
    ("AWS_DATA_PATH", "/tmp/evil-models"),
    ("AWS_CSM_ENABLED", "true"),
    ("AWS_CSM_HOST", "127.0.0.1"),
    ("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key"),
    ("AWS_LOGIN_CACHE_DIRECTORY", "/home/other/.aws/login/cache"),
];

#[test]
fn chat_execs_kiro_cli_with_exact_argv_and_environment() {
    let t = Test::new();
    t.init();
    let mut invocation = t
        .cmd([
            "chat",
            "--profile",
            "kiro-dev",
            "--",
            "--model",
            "m",
            "--trust-tools=read",
            "first prompt",
        ])
        .env("TERM", "xterm-256color")
        .env("AWS_REGION", "eu-west-1");
    for (k, v) in HOSTILE_ENV {
        invocation = invocation.env(k, v);
    }
    let run = invocation.run().success();
    let (argv, env) = t.recorded("kiro-cli");
    assert_eq!(
        argv,
        [
            "chat",
            "--agent",
            "aws-readonly",
            "--model",
            "m",
            "--trust-tools=read",
            "first prompt"
        ]
    );
    assert_eq!(env, invocation.expected_child_env("kiro-dev"));
    assert!(env.contains_key("TERM") && env["AWS_REGION"] == "eu-west-1");
    // The user learns what their shell carried.
    assert!(run.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", run.stderr);
}

#[test]
fn bare_kiro_aws_is_chat_with_the_default_profile() {
    let t = Test::new();
    t.init();
    let invocation = t.cmd(Vec::<String>::new());
    invocation.run().success();
    let (argv, env) = t.recorded("kiro-cli");
    assert_eq!(argv, ["chat", "--agent", "aws-readonly"]);
    assert_eq!(env, invocation.expected_child_env("kiro-readonly"));
    let invocation = t.cmd(["--profile", "kiro-prod-write", "--", "-r"]);
    invocation.run().success();
    let (argv, env) = t.recorded("kiro-cli");
    assert_eq!(argv, ["chat", "--agent", "aws-readonly", "-r"]);
    assert_eq!(env["AWS_PROFILE"], "kiro-prod-write");
}

#[test]
fn kiro_cli_is_found_by_flag_then_variable_then_path() {
    let t = Test::new();
    t.init();
    let other = t.root().join("other-kiro");
    fs::copy(t.bin().join("kiro-cli"), &other).unwrap();
    t.cmd(["chat", "--kiro-cli", other.to_str().unwrap()])
        .run()
        .success();
    assert!(t.root().join("other-kiro.argv").exists());
    assert!(!t.was_launched("kiro-cli"));
    fs::remove_file(t.root().join("other-kiro.argv")).unwrap();
    t.cmd(["chat"])
        .env("KIRO_AWS_KIRO_CLI", &other)
        .run()
        .success();
    assert!(t.root().join("other-kiro.argv").exists());
    assert!(!t.was_launched("kiro-cli"));

    fs::remove_file(t.bin().join("kiro-cli")).unwrap();
    let run = t.cmd(["chat"]).run().exit(4);
    assert!(
        run.stderr.contains("error[program_not_found]") && run.stderr.contains("kiro-cli"),
        "{}",
        run.stderr
    );
    let run = t
        .cmd(["chat", "--kiro-cli", "/nonexistent/kiro-cli"])
        .run()
        .exit(4);
    assert!(
        run.stderr.contains("/nonexistent/kiro-cli"),
        "{}",
        run.stderr
    );
}

#[test]
fn run_and_ide_get_the_same_environment() {
    let t = Test::new();
    t.init();
    let recorder = t.bin().join("kiro");
    let mut invocation = t.cmd([
        "run",
        "--profile",
        "kiro-dev",
        "--",
        recorder.to_str().unwrap(),
        "a",
        "b c",
    ]);
    for (k, v) in HOSTILE_ENV {
        invocation = invocation.env(k, v);
    }
    invocation.run().success();
    let (argv, env) = t.recorded("kiro");
    assert_eq!(argv, ["a", "b c"]);
    assert_eq!(env, invocation.expected_child_env("kiro-dev"));
    fs::remove_file(t.bin().join("kiro.argv")).unwrap();

    let invocation = t.cmd(["ide", "--", "."]).env("AWS_SESSION_TOKEN", "leak");
    invocation.run().success();
    let (argv, env) = t.recorded("kiro");
    assert_eq!(argv, ["."]);
    assert_eq!(env, invocation.expected_child_env("kiro-readonly"));

    fs::remove_file(t.bin().join("kiro")).unwrap();
    let run = t.cmd(["ide"]).run().exit(4);
    assert!(run.stderr.contains("KIRO_AWS_KIRO_IDE"), "{}", run.stderr);
    let run = t.cmd(["run", "--", "no-such-command-here"]).run().exit(4);
    assert!(
        run.stderr.contains("no-such-command-here"),
        "{}",
        run.stderr
    );
}

#[test]
fn run_passes_the_exit_status_through_exec() {
    let t = Test::new();
    t.init();
    t.cmd(["run", "--", "sh", "-c", "exit 7"]).run().exit(7);
}

#[test]
fn env_prints_what_a_wrapper_evals_to_the_same_environment() {
    let t = Test::new();
    t.init();
    let mut invocation = t.cmd(["env", "--format", "json", "--profile", "kiro-dev"]);
    for (k, v) in HOSTILE_ENV {
        invocation = invocation.env(k, v);
    }
    let json = invocation.run().success().json();
    let home = t.home().display().to_string();
    assert_eq!(
        json["set"],
        serde_json::json!({
            "AWS_CONFIG_FILE": format!("{home}/.aws/kiro/config"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_EXECUTION_ENV": format!("kiro-aws/{}", env!("CARGO_PKG_VERSION")),
            "AWS_PROFILE": "kiro-dev",
            "AWS_SDK_LOAD_CONFIG": "1",
            "AWS_SHARED_CREDENTIALS_FILE": format!("{home}/.aws/kiro/credentials"),
        })
    );
    let unset: Vec<String> = serde_json::from_value(json["unset"].clone()).unwrap();
    let set_by_launch = json["set"].as_object().unwrap();
    let mut expected: Vec<String> = crate::harness::MUST_REMOVE
        .iter()
        .copied()
        .chain(
            HOSTILE_ENV
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| crate::harness::must_remove(k)),
        )
        .filter(|k| !set_by_launch.contains_key(*k))
        .map(str::to_owned)
        .collect();
    expected.sort();
    expected.dedup();
    assert_eq!(unset, expected);

    // `eval "$(kiro-aws env)"` in a real shell yields exactly the launch environment.
    let script = format!(
        r#"eval "$("{}" env --profile kiro-dev)" && exec /usr/bin/env -0"#,
        crate::harness::BIN
    );
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(&script)
        .env_clear()
        .current_dir(t.work());
    let base = t.cmd(["env"]).base_env();
    shell.envs(&base);
    for (k, v) in HOSTILE_ENV {
        shell.env(k, v);
    }
    let out = shell.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: std::collections::BTreeMap<String, String> = String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .filter(|(k, _)| k != "OLDPWD" && k != "_")
        .collect();
    let mut expected = t.cmd(["env"]).expected_child_env("kiro-dev");
    for (k, v) in HOSTILE_ENV {
        if !crate::harness::must_remove(k) && !expected.contains_key(k) {
            expected.insert(k.to_owned(), v.to_owned());
        }
    }
    assert_eq!(got, expected);

    let fish = t.cmd(["env", "--format", "fish"]).run().success().stdout;
    assert!(fish.contains("set -e AWS_ACCESS_KEY_ID;\n"), "{fish}");
    assert!(
        fish.contains("set -gx AWS_PROFILE 'kiro-readonly';\n"),
        "{fish}"
    );
}

#[test]
fn profile_must_be_an_existing_kiro_profile() {
    let t = Test::new();
    t.init();
    t.host_aws_files();
    for command in [vec!["chat"], vec!["env"], vec!["ide"], vec!["run"]] {
        for (profile, code) in [
            ("prod-admin", "profile_not_kiro"),
            ("kiro-missing", "profile_unknown"),
        ] {
            let mut args: Vec<&str> = command.clone();
            args.extend(["--profile", profile]);
            if command[0] == "run" {
                args.extend(["--", "true"]);
            }
            let run = t.cmd(&args).run().exit(2);
            assert!(
                run.stderr.contains(&format!("error[{code}]")),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    assert!(!t.was_launched("kiro-cli") && !t.was_launched("kiro"));
}

#[test]
fn nothing_is_launched_when_isolation_is_not_proven() {
    let t = Test::new();
    let run = t.cmd(["chat"]).run().exit(3);
    assert!(
        run.stderr.contains("error[config_missing]"),
        "{}",
        run.stderr
    );
    t.init();
    fs::write(t.credentials(), "[default]\naws_access_key_id = AKIA\n").unwrap();
    for args in [
        vec!["chat"],
        vec!["ide"],
        vec!["env"],
        vec!["run", "--", "true"],
    ] {
        let run = t.cmd(&args).run().exit(3);
        assert!(
            run.stderr.contains("error[credentials_not_empty]"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?} printed {}", run.stdout);
    }
    assert!(!t.was_launched("kiro-cli") && !t.was_launched("kiro"));
}

#[test]
fn chat_reinstalls_a_missing_or_stale_agent_and_steering() {
    let t = Test::new();
    t.init();
    let agent = fs::read(t.agent()).unwrap();
    let steering = fs::read(t.steering()).unwrap();
    fs::remove_file(t.agent()).unwrap();
    fs::write(t.steering(), "mine\n").unwrap();
    let run = t.cmd(["chat"]).run().success();
    assert!(run.stderr.contains("installed"), "{}", run.stderr);
    assert_eq!(fs::read(t.agent()).unwrap(), agent);
    assert_eq!(
        fs::read(t.steering()).unwrap(),
        [&b"mine\n\n"[..], &steering].concat()
    );
    // A stale agent of ours is refreshed; a foreign one is never replaced by a launch.
    let mut stale: serde_json::Value = serde_json::from_slice(&agent).unwrap();
    stale["prompt"] = "old".into();
    fs::write(t.agent(), serde_json::to_vec(&stale).unwrap()).unwrap();
    t.cmd(["chat"]).run().success();
    assert_eq!(fs::read(t.agent()).unwrap(), agent);
    fs::write(t.agent(), "{\"name\":\"aws-readonly\"}").unwrap();
    fs::remove_file(t.bin().join("kiro-cli.argv")).unwrap();
    let run = t.cmd(["chat"]).run().exit(1);
    assert!(run.stderr.contains("file_not_managed"), "{}", run.stderr);
    assert!(!t.was_launched("kiro-cli"));
}

#[test]
fn help_and_completions() {
    let t = Test::new();
    let help = t.cmd(["--help"]).run().success().stdout;
    for word in [
        "init",
        "verify",
        "chat",
        "run",
        "env",
        "ide",
        "completions",
        "Exit codes",
    ] {
        assert!(help.contains(word), "{word}: {help}");
    }
    let bash = t.cmd(["completions", "bash"]).run().success().stdout;
    assert!(bash.contains("kiro-aws"));
    t.cmd(["frobnicate"]).run().exit(2);
    t.cmd(["run"]).run().exit(2);
    t.cmd(["env", "--format", "xml"]).run().exit(2);
}
