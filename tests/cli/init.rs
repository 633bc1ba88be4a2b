use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{snapshot, Test, START_URL};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn init_from_flags_writes_the_four_files() {
    let t = Test::new();
    let run = t.cmd(t.init_args()).run().success();
    assert!(run.stdout.contains("created"), "{}", run.stdout);
    let config = fs::read_to_string(t.config()).unwrap();
    assert_eq!(
        config,
        format!(
            "# Managed by kiro-aws. `kiro-aws init` rewrites this file; change the team file or flags instead.\n\
             # Only kiro-* SSO profiles belong here: `kiro-aws verify` refuses anything else.\n\
             # kiro-aws:default-profile = kiro-readonly\n\
             \n[sso-session kiro]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n\
             \n[profile kiro-readonly]\nsso_session = kiro\nsso_account_id = 111111111111\nsso_role_name = KiroReadOnly\n\
             \n[profile kiro-dev]\nsso_session = kiro\nsso_account_id = 222222222222\nsso_role_name = KiroReadOnly\n\
             \n[profile kiro-prod-write]\nsso_session = kiro\nsso_account_id = 333333333333\nsso_role_name = KiroWrite\n"
        )
    );
    assert_eq!(fs::read(t.credentials()).unwrap(), b"");
    assert_eq!(mode(&t.home().join(".aws/kiro")), 0o700);
    assert_eq!(mode(&t.config()), 0o600);
    assert_eq!(mode(&t.credentials()), 0o600);
    let agent: serde_json::Value = serde_json::from_slice(&fs::read(t.agent()).unwrap()).unwrap();
    assert_eq!(agent["name"], "aws-readonly");
    let steering = fs::read_to_string(t.steering()).unwrap();
    assert!(
        steering.contains("| `kiro-prod-write` | 333333333333 | KiroWrite | write, production |")
    );
    assert!(steering
        .contains("| `kiro-readonly` | 111111111111 | KiroReadOnly | read-only (default) |"));
    // Nothing outside the four paths (and their directories) was written.
    let written: Vec<String> = snapshot(&t.home())
        .keys()
        .map(|p| p.strip_prefix(t.home()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        written,
        [
            ".aws",
            ".aws/kiro",
            ".aws/kiro/config",
            ".aws/kiro/credentials",
            ".kiro",
            ".kiro/agents",
            ".kiro/agents/aws-readonly.json",
            ".kiro/agents/aws-readonly.md",
            ".kiro/steering",
            ".kiro/steering/AGENTS.md"
        ]
    );
}

#[test]
fn init_twice_changes_no_byte() {
    let t = Test::new();
    t.init();
    let before = snapshot(&t.home());
    let mtimes: Vec<_> = [t.config(), t.credentials(), t.agent(), t.steering()]
        .iter()
        .map(|p| fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    let run = t.cmd(t.init_args()).with_arg("--json").run().success();
    let files = run.json()["files"].as_array().unwrap().clone();
    assert!(
        files.iter().all(|f| f["action"] == "unchanged"),
        "{files:?}"
    );
    assert_eq!(snapshot(&t.home()), before);
    let after: Vec<_> = [t.config(), t.credentials(), t.agent(), t.steering()]
        .iter()
        .map(|p| fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(mtimes, after, "unchanged files are not rewritten");
}

#[test]
fn init_from_a_team_file() {
    let t = Test::new();
    let team = t.root().join("team.aws-config");
    fs::write(
        &team,
        format!(
            "# our team's kiro profiles\n[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n\n\
             [profile kiro-a]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-west-2\n\n\
             [profile kiro-b-prod]\nsso_session = corp\nsso_account_id = 444444444444\nsso_role_name = ReadOnly\noutput = json\n"
        ),
    )
    .unwrap();
    let run = t
        .cmd([
            "init",
            "--from",
            team.to_str().unwrap(),
            "--region",
            "eu-central-1",
            "--json",
        ])
        .run()
        .success();
    assert_eq!(
        run.json()["profiles"],
        serde_json::json!(["kiro-a", "kiro-b-prod"])
    );
    assert_eq!(run.json()["default_profile"], "kiro-a");
    let config = fs::read_to_string(t.config()).unwrap();
    assert!(config.contains("[profile kiro-a]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\nregion = us-west-2\n"));
    assert!(config.contains("[profile kiro-b-prod]\nsso_session = corp\nsso_account_id = 444444444444\nsso_role_name = ReadOnly\nregion = eu-central-1\noutput = json\n"));
    t.cmd(["verify"]).run().success();
    // --profile flags join the team file's profiles, on its session.
    let run = t
        .cmd([
            "init",
            "--from",
            team.to_str().unwrap(),
            "--sso-session",
            "corp",
            "--profile",
            "kiro-readonly=555555555555:ReadOnly",
            "--json",
        ])
        .run()
        .success();
    assert_eq!(run.json()["default_profile"], "kiro-readonly");
}

#[test]
fn bad_input_exits_2_names_the_problem_and_touches_nothing() {
    let t = Test::new();
    t.init();
    let team = t.root().join("team");
    fs::write(
        &team,
        "[sso-session s]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\n\
         [profile kiro-a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n\
         credential_process = /usr/bin/steal\n[profile prod-admin]\nsso_session = s\n",
    )
    .unwrap();
    let before = snapshot(&t.home());
    let team_arg = team.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--profile", "kiro-x=123:Role"],
            "--profile `kiro-x=123:Role`: account id `123` is not 12 digits",
        ),
        (
            vec!["--profile", "prod=111111111111:Role"],
            "--profile `prod=111111111111:Role`: profile `prod` is not a kiro profile",
        ),
        (
            vec!["--profile", "kiro-x"],
            "--profile `kiro-x`: expected NAME=ACCOUNT_ID:ROLE_NAME",
        ),
        (
            vec!["--profile", "kiro-x=111111111111:Bad Role"],
            "is not an IAM role name",
        ),
        (
            vec![
                "--sso-start-url",
                "http://x",
                "--sso-region",
                "us-east-1",
                "--profile",
                "kiro-x=111111111111:R",
            ],
            "is not an https:// URL",
        ),
        (
            vec![
                "--sso-start-url",
                START_URL,
                "--sso-region",
                "useast1",
                "--profile",
                "kiro-x=111111111111:R",
            ],
            "does not look like a region",
        ),
        (
            vec!["--region", "moon-1", "--profile", "kiro-x=111111111111:R"],
            "--region: `moon-1`",
        ),
        (
            vec!["--from", team_arg],
            ":8: `credential_process` is not allowed",
        ),
        (
            vec!["--from", team_arg],
            ":9: profile `prod-admin` is not a kiro profile",
        ),
        (
            vec!["--from", "/nonexistent/team"],
            "--from /nonexistent/team",
        ),
        (
            vec!["--profile", "kiro-x=111111111111:R"],
            "uses sso-session `kiro`, which is not defined",
        ),
        (
            vec!["--default-profile", "kiro-nope"],
            "the default profile `kiro-nope` is not among the profiles",
        ),
        (vec!["--sso-start-url", START_URL], "--sso-region"),
        (
            vec!["--sso-start-url", START_URL, "--sso-region", "us-east-1"],
            "error[no_profiles]: there is no kiro-* profile",
        ),
    ];
    for (args, expected) in cases {
        let mut argv = vec!["init"];
        argv.extend(&args);
        let run = t.cmd(&argv).run().exit(2);
        assert!(run.stderr.contains(expected), "{argv:?}: {}", run.stderr);
        assert_eq!(snapshot(&t.home()), before, "{argv:?} touched a file");
    }
    let run = t
        .cmd(["init", "--profile", "kiro-x=1:R", "--json"])
        .run()
        .exit(2);
    assert_eq!(run.json()["ok"], false);
    assert_eq!(run.json()["error"]["code"], "invalid_account_id");
}

#[test]
fn dry_run_prints_diffs_and_writes_nothing() {
    let t = Test::new();
    let run = t
        .cmd(t.init_args().into_iter().chain(["--dry-run".into()]))
        .run()
        .success();
    assert!(run.stdout.contains("would create"), "{}", run.stdout);
    assert!(run.stdout.contains("+[profile kiro-dev]"), "{}", run.stdout);
    assert!(run.stdout.contains("--- /dev/null"), "{}", run.stdout);
    assert!(snapshot(&t.home()).is_empty());
    t.init();
    let before = snapshot(&t.home());
    let mut args = t.init_args();
    args.extend(["--region".into(), "eu-west-1".into(), "--dry-run".into()]);
    let run = t.cmd(&args).run().success();
    assert!(run.stdout.contains("would update"), "{}", run.stdout);
    assert!(run.stdout.contains("+region = eu-west-1"), "{}", run.stdout);
    assert_eq!(snapshot(&t.home()), before);
}

#[test]
fn foreign_files_are_refused_and_kept_as_backup_with_force() {
    for (relative, foreign) in [
        (
            ".aws/kiro/config",
            "[profile kiro-mine]\nregion = us-east-1\n",
        ),
        (
            ".aws/kiro/credentials",
            "[default]\naws_access_key_id = AKIA\n",
        ),
        (
            ".kiro/agents/aws-readonly.json",
            "{\"name\": \"aws-readonly\", \"description\": \"my own\"}",
        ),
    ] {
        let t = Test::new();
        let path = t.write(relative, foreign, 0o600);
        let before = snapshot(&t.home());
        let run = t.cmd(t.init_args()).run().exit(1);
        assert!(
            run.stderr.contains("error[file_not_managed]"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains(relative), "{}", run.stderr);
        assert_eq!(snapshot(&t.home()), before, "refusal writes nothing at all");

        let mut args = t.init_args();
        args.push("--force".into());
        let run = t.cmd(&args).run().success();
        let backup = format!("{}.kiro-aws-backup-1", path.display());
        assert!(run.stdout.contains(&backup), "{}", run.stdout);
        assert_eq!(fs::read_to_string(&backup).unwrap(), foreign);
        assert_ne!(fs::read_to_string(&path).unwrap(), foreign);
    }
}

#[test]
fn planted_symlinks_are_refused() {
    for relative in [
        ".aws/kiro/config",
        ".aws/kiro/credentials",
        ".kiro/agents/aws-readonly.json",
        ".kiro/steering/AGENTS.md",
    ] {
        let t = Test::new();
        let target = t.write(".aws/config", "[profile prod-admin]\n", 0o600);
        let link = t.home().join(relative);
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut args = t.init_args();
        args.push("--force".into());
        let run = t.cmd(&args).run().exit(1);
        assert!(
            run.stderr.contains("error[symlink_refused]"),
            "{relative}: {}",
            run.stderr
        );
        assert_eq!(
            fs::read_to_string(&target).unwrap(),
            "[profile prod-admin]\n"
        );
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    // A symlinked private directory is refused too.
    let t = Test::new();
    let elsewhere = t.root().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::create_dir(t.home().join(".aws")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, t.home().join(".aws/kiro")).unwrap();
    let run = t.cmd(t.init_args()).run().exit(1);
    assert!(run.stderr.contains("symlink_refused"), "{}", run.stderr);
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn user_text_around_the_steering_block_survives_byte_for_byte() {
    let t = Test::new();
    let head = "# My rules\r\nAlways be brief.\n\n";
    let tail = "\n## More of mine\nno trailing newline";
    t.write(".kiro/steering/AGENTS.md", head, 0o640);
    t.init();
    let first = fs::read_to_string(t.steering()).unwrap();
    assert!(first.starts_with(head), "{first}");
    assert_eq!(
        fs::metadata(t.steering()).unwrap().permissions().mode() & 0o777,
        0o640
    );
    fs::write(t.steering(), format!("{first}{tail}")).unwrap();
    // A different profile set rewrites only the block.
    t.cmd([
        "init",
        "--sso-start-url",
        START_URL,
        "--sso-region",
        "eu-west-1",
        "--profile",
        "kiro-other=999999999999:R",
    ])
    .run()
    .success();
    let second = fs::read_to_string(t.steering()).unwrap();
    assert!(
        second.starts_with(head) && second.ends_with(tail),
        "{second}"
    );
    assert!(second.contains("kiro-other") && !second.contains("kiro-dev"));
    assert_eq!(second.matches("<!-- kiro-aws:begin").count(), 1);

    fs::write(t.steering(), "<!-- kiro-aws:begin -->\nstray\n").unwrap();
    let run = t.cmd(t.init_args()).run().exit(1);
    assert!(
        run.stderr.contains("steering_markers_broken"),
        "{}",
        run.stderr
    );
    assert_eq!(
        fs::read_to_string(t.steering()).unwrap(),
        "<!-- kiro-aws:begin -->\nstray\n"
    );
}

#[test]
fn init_without_profiles_reuses_the_isolated_config() {
    let t = Test::new();
    let run = t.cmd(["init"]).run().exit(2);
    assert!(run.stderr.contains("error[no_profiles]"), "{}", run.stderr);
    t.init();
    let run = t
        .cmd([
            "init",
            "--default-profile",
            "kiro-dev",
            "--allow-write-tool",
            "--json",
        ])
        .run()
        .success();
    assert_eq!(run.json()["default_profile"], "kiro-dev");
    assert_eq!(
        run.json()["profiles"],
        serde_json::json!(["kiro-readonly", "kiro-dev", "kiro-prod-write"])
    );
    let agent: serde_json::Value = serde_json::from_slice(&fs::read(t.agent()).unwrap()).unwrap();
    assert!(agent["tools"].as_array().unwrap().contains(&"write".into()));
}

#[test]
fn team_file_errors_name_the_file_and_line() {
    let t = Test::new();
    let write = |name: &str, text: &[u8]| {
        let path = t.root().join(name);
        fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let session = format!("[sso-session s]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n");
    let cases = [
        (write("binary", b"\xff\xfe"), "binary: the file is not UTF-8"),
        (write("empty", session.as_bytes()), "empty: there is no kiro-* profile"),
        (
            write(
                "default",
                format!("# kiro-aws:default-profile = kiro-gone\n{session}[profile kiro-a]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = R\n").as_bytes(),
            ),
            "default:1: the default profile `kiro-gone` is not among the profiles",
        ),
    ];
    for (path, expected) in cases {
        let run = t.cmd(["init", "--from", &path]).run().exit(2);
        assert!(run.stderr.contains(expected), "{path}: {}", run.stderr);
        assert!(!run.stderr.contains(":0:"), "{}", run.stderr);
    }
    assert!(snapshot(&t.home()).is_empty());
}

#[test]
fn a_team_file_and_session_flags_combine() {
    let t = Test::new();
    let team = t.root().join("team");
    fs::write(
        &team,
        format!("[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = us-east-1\n\n[profile kiro-corp]\nsso_session = corp\nsso_account_id = 111111111111\nsso_role_name = R\n"),
    )
    .unwrap();
    let team = team.to_str().unwrap();
    let run = t
        .cmd([
            "init",
            "--from",
            team,
            "--sso-session",
            "lab",
            "--sso-start-url",
            "https://lab.awsapps.com/start",
            "--sso-region",
            "eu-west-1",
            "--profile",
            "kiro-lab=222222222222:R",
            "--json",
        ])
        .run()
        .success();
    assert_eq!(
        run.json()["profiles"],
        serde_json::json!(["kiro-corp", "kiro-lab"])
    );
    let config = fs::read_to_string(t.config()).unwrap();
    assert!(
        config.contains("[sso-session corp]") && config.contains("[sso-session lab]"),
        "{config}"
    );
    t.cmd(["verify"]).run().success();
    let run = t
        .cmd([
            "init",
            "--from",
            team,
            "--sso-session",
            "corp",
            "--sso-start-url",
            START_URL,
            "--sso-region",
            "us-east-1",
        ])
        .run()
        .exit(2);
    assert!(
        run.stderr.contains("error[duplicate_session]"),
        "{}",
        run.stderr
    );
}

/// A kiro profile pointing at an administrator's role passes the prefix rule, so the role
/// name is judged too: refused by init (exit 2) and by verify (exit 3) unless init
/// recorded that exact role with --allow-role; a team file cannot accept one.
#[test]
fn a_role_that_looks_like_an_administrators_is_refused() {
    let t = Test::new();
    for role in [
        "AdministratorAccess",
        "PowerUserAccess",
        "S3FullAccess",
        "my-ADMIN-role",
    ] {
        let run = t
            .cmd([
                "init",
                "--sso-start-url",
                crate::harness::START_URL,
                "--sso-region",
                "eu-west-1",
                "--profile",
                &format!("kiro-x=111111111111:{role}"),
            ])
            .run()
            .exit(2);
        assert!(
            run.stderr.contains("role_too_powerful"),
            "{role}: {}",
            run.stderr
        );
    }
    assert!(!t.config().exists());
    let accept = |extra: &[&str]| {
        let mut args = vec![
            "init",
            "--sso-start-url",
            crate::harness::START_URL,
            "--sso-region",
            "eu-west-1",
            "--profile",
            "kiro-x=111111111111:AdministratorAccess",
        ];
        args.extend(extra);
        t.cmd(args).run()
    };
    accept(&["--allow-role", "AdministratorAccess"]).success();
    assert!(fs::read_to_string(t.config())
        .unwrap()
        .contains("\n# kiro-aws:allow-role = AdministratorAccess\n"));
    t.cmd(["verify"]).run().success();
    // Another spelling of the role is not the role that was accepted.
    accept(&["--allow-role", "administratoraccess"]).exit(2);

    // A renamed admin role written into the config by hand: verify refuses it.
    let text = fs::read_to_string(t.config())
        .unwrap()
        .replace("# kiro-aws:allow-role = AdministratorAccess\n", "");
    fs::write(t.config(), &text).unwrap();
    let json = t.cmd(["verify", "--json"]).run().exit(3).json();
    assert_eq!(json["findings"][0]["code"], "role_too_powerful", "{json}");
    t.cmd(["run", "--", "true"]).run().exit(3);

    // A team file that carries the marker itself does not accept the role.
    let team = t.root().join("team.config");
    fs::write(
        &team,
        text + "# kiro-aws:allow-role = AdministratorAccess\n",
    )
    .unwrap();
    let run = t
        .cmd(["init", "--from", team.to_str().unwrap()])
        .run()
        .exit(2);
    assert!(run.stderr.contains("role_too_powerful"), "{}", run.stderr);
}
