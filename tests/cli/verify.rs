use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::Test;

fn error_codes(t: &Test) -> Vec<String> {
    let run = t.cmd(["verify", "--json"]).run();
    let json = run.json();
    assert_eq!(run.status == 0, json["ok"] == true, "{}", run.stdout);
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn verify_json_contract() {
    let t = Test::new();
    t.init();
    t.host_aws_files();
    let run = t.cmd(["verify", "--json"]).run().success();
    assert_eq!(
        run.json(),
        serde_json::json!({"ok": true, "profiles": ["kiro-readonly", "kiro-dev", "kiro-prod-write"], "findings": [], "strict_default": false,
            "kiro": {"version": "kiro-cli 2.21.3", "engine": "v2", "agent_file": t.agent().display().to_string(), "loads": true}})
    );
    let run = t.cmd(["verify"]).run().success();
    assert_eq!(
        run.stdout,
        format!("kiro: kiro-cli 2.21.3, engine v2, agent {}: loads\n\
                 ok: only kiro-* profiles resolve: kiro-readonly, kiro-dev, kiro-prod-write (default kiro-readonly)\n", t.agent().display())
    );
    // Without kiro-cli there is no session to check: verify says nothing of Kiro.
    fs::remove_file(t.bin().join("kiro-cli")).unwrap();
    let run = t.cmd(["verify", "--json"]).run().success();
    assert!(run.json().get("kiro").is_none());
}

const REMOVED_FIX: &str = "nothing to do: the launch removes it; unset it in your shell to be sure";

#[test]
fn inherited_variables_are_warnings_not_errors() {
    let t = Test::new();
    t.init();
    let mut invocation = t
        .cmd(["verify", "--json"])
        .env("AWS_ACCESS_KEY_ID", "AKIA")
        .env("AWS_ENDPOINT_URL_STS", "http://x")
        .env("AWS_REGION", "eu-west-1");
    let tls = [
        "HTTPS_PROXY",
        "Https_Proxy",
        "all_proxy",
        "no_proxy",
        "AWS_CA_BUNDLE",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "CURL_CA_BUNDLE",
        "NODE_EXTRA_CA_CERTS",
    ];
    for name in tls {
        invocation = invocation.env(name, "x");
    }
    let findings = invocation.run().success().json()["findings"].clone();
    let removed = |name: &str| {
        serde_json::json!({"code": "env_inherited", "severity": "warning", "path": format!("${name}"),
             "message": "is set in this environment; the launch removes it (or sets its own value)",
             "fix": REMOVED_FIX})
    };
    let mut reported: Vec<&str> = tls.to_vec();
    reported.sort_unstable();
    let mut expected = vec![
        removed("AWS_ACCESS_KEY_ID"),
        removed("AWS_ENDPOINT_URL_STS"),
    ];
    expected.extend(reported.iter().map(|name| {
        serde_json::json!({"code": "env_reported", "severity": "warning", "path": format!("${name}"),
             "message": "is set and kept in the default mode: it changes where TLS goes or whom it trusts, so whoever it names can read the agent's AWS traffic, the SSO token included",
             "fix": "nothing to do if you expect it: it is kept and changes where AWS traffic goes"})
    }));
    expected.sort_by_key(|f| f["path"].as_str().unwrap().to_owned());
    assert_eq!(findings, serde_json::Value::from(expected));
}

#[test]
fn file_safety_findings() {
    // Missing files.
    let t = Test::new();
    assert_eq!(error_codes(&t), ["config_missing", "credentials_missing"]);

    // Modes of the files and of the private directory.
    let t = Test::new();
    t.init();
    fs::set_permissions(t.config(), fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(t.credentials(), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(
        t.home().join(".aws/kiro"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    assert_eq!(error_codes(&t), ["dir_mode", "file_mode", "file_mode"]);
    t.init();
    assert_eq!(error_codes(&t), Vec::<String>::new(), "init repairs modes");

    // A symlink, to the host config or anywhere else.
    let t = Test::new();
    t.init();
    t.host_aws_files();
    fs::remove_file(t.config()).unwrap();
    std::os::unix::fs::symlink(t.home().join(".aws/config"), t.config()).unwrap();
    assert_eq!(error_codes(&t), ["file_symlink"]);

    // A hard link to the host file, and a hard link elsewhere.
    let t = Test::new();
    t.init();
    t.write(".aws/credentials", "", 0o600);
    fs::remove_file(t.credentials()).unwrap();
    fs::hard_link(t.home().join(".aws/credentials"), t.credentials()).unwrap();
    let run = t.cmd(["verify"]).run().exit(3);
    assert!(
        run.stdout.contains("error[file_hardlink]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("same file as ~/.aws/config or ~/.aws/credentials"),
        "{}",
        run.stdout
    );
    let t = Test::new();
    t.init();
    fs::hard_link(t.config(), t.root().join("other-name")).unwrap();
    assert_eq!(error_codes(&t), ["file_hardlink"]);

    // A directory on the way that others can write; a sticky one is fine.
    let t = Test::new();
    t.init();
    fs::set_permissions(t.home(), fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(error_codes(&t), ["dir_writable"]);
    fs::set_permissions(t.home(), fs::Permissions::from_mode(0o1777)).unwrap();
    assert_eq!(error_codes(&t), Vec::<String>::new());

    // A symlinked private directory, and a FIFO where the config should be.
    let t = Test::new();
    t.init();
    let moved = t.root().join("moved");
    fs::rename(t.home().join(".aws/kiro"), &moved).unwrap();
    std::os::unix::fs::symlink(&moved, t.home().join(".aws/kiro")).unwrap();
    assert_eq!(error_codes(&t), ["dir_symlink"]);
    let t = Test::new();
    t.init();
    fs::remove_file(t.config()).unwrap();
    nix::unistd::mkfifo(&t.config(), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert_eq!(error_codes(&t), ["file_not_regular"]);
}

#[test]
fn fixed_host_paths_that_redirect_botocore_are_refused() {
    let t = Test::new();
    t.init();
    t.write(
        ".aws/models/sso/2019-06-10/endpoint-rule-set-1.json",
        "{}",
        0o644,
    );
    assert_eq!(error_codes(&t), ["host_models_present"]);
    fs::remove_dir_all(t.home().join(".aws/models")).unwrap();
    t.write(
        ".aws/cli/alias",
        "[toplevel]\nsts = !f() { echo hijacked; }; f\n",
        0o600,
    );
    assert_eq!(error_codes(&t), ["host_cli_alias_present"]);
    let run = t.cmd(["run", "--", "true"]).run().exit(3);
    assert!(
        run.stderr.contains("error[host_cli_alias_present]"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_backup_left_by_force_is_a_warning() {
    let t = Test::new();
    t.write(
        ".aws/kiro/credentials",
        "[default]\naws_access_key_id = AKIA\n",
        0o600,
    );
    let mut args = t.init_args();
    args.push("--force".into());
    t.cmd(&args).run().success();
    let run = t.cmd(["verify", "--json"]).run().success();
    let findings = run.json()["findings"].clone();
    assert_eq!(findings[0]["code"], "backup_present", "{findings}");
    assert_eq!(findings[0]["severity"], "warning");
    assert!(findings[0]["path"]
        .as_str()
        .unwrap()
        .ends_with(".aws/kiro/credentials.kiro-aws-backup-1"));
}

#[test]
fn files_owned_by_someone_else_are_refused() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test gives a file to another user and so needs root (CI runs as root)"
    );
    let t = Test::new();
    t.init();
    let nobody = Some(nix::unistd::Uid::from_raw(65534));
    nix::unistd::chown(&t.credentials(), nobody, None).unwrap();
    assert_eq!(error_codes(&t), ["file_not_owned"]);
    nix::unistd::chown(&t.home(), nobody, None).unwrap();
    assert_eq!(error_codes(&t), ["dir_writable", "file_not_owned"]);
}

/// A team file of `n` kiro profiles, as a large organisation keeps it.
fn team_file(n: usize) -> String {
    let mut text = format!(
        "[sso-session kiro]\nsso_start_url = {}\nsso_region = us-east-1\n",
        crate::harness::START_URL
    );
    for i in 0..n {
        text.push_str(&format!(
            "\n[profile kiro-p{i:05}]\nsso_session = kiro\nsso_account_id = {}\nsso_role_name = KiroReadOnly\n",
            100_000_000_000u64 + i as u64
        ));
    }
    text
}

/// The fastest of three runs of `verify`, which must succeed.
fn verify_time(t: &Test) -> std::time::Duration {
    (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            t.cmd(["verify"]).run().success();
            started.elapsed()
        })
        .min()
        .unwrap()
}

/// Ten times the profiles cost about ten times the time, not a hundred: for the
/// canonical text `init` writes, and for a config in another form, which the SDK's own
/// loader reads as well.
#[test]
fn verify_is_linear_in_the_number_of_profiles() {
    let mut ratios = Vec::new();
    for edited in [false, true] {
        let times: Vec<std::time::Duration> = [2_000, 20_000]
            .iter()
            .map(|&n| {
                let t = Test::new();
                let team = t.root().join("team.aws-config");
                fs::write(&team, team_file(n)).unwrap();
                t.cmd(["init", "--from", team.to_str().unwrap()])
                    .run()
                    .success();
                if edited {
                    let mut text = fs::read_to_string(t.config()).unwrap();
                    text.push_str("# edited by hand\n");
                    fs::write(t.config(), text).unwrap();
                }
                verify_time(&t)
            })
            .collect();
        ratios.push(times[1].as_secs_f64() / times[0].as_secs_f64());
    }
    // Linear is 10 (less, with the fixed start-up cost); quadratic would be 100.
    assert!(
        ratios.iter().all(|r| *r < 30.0),
        "verify time for 20,000 profiles over 2,000 (canonical, edited): {ratios:?}"
    );
}

/// botocore expands `$NAME` in AWS_CONFIG_FILE: a `$` in HOME would make the AWS CLI read
/// a config nobody proved (`$AWS_PROFILE` is always set). Found by an attack on verify.
#[test]
fn a_home_whose_path_holds_a_variable_is_refused() {
    let t = Test::new();
    let home = t.root().join("$AWS_PROFILE");
    fs::create_dir(&home).unwrap();
    let mut init = t.init_args();
    init.extend(["--default-profile".into(), "kiro-readonly".into()]);
    t.cmd(init).env("HOME", &home).run().success();
    // What botocore would read instead: a planted config with a host profile.
    let expanded = t.root().join("kiro-readonly/.aws/kiro");
    fs::create_dir_all(&expanded).unwrap();
    fs::write(
        expanded.join("config"),
        "[profile kiro-readonly]\ncredential_process = /bin/echo pwned\n",
    )
    .unwrap();
    let run = t.cmd(["verify", "--json"]).env("HOME", &home).run().exit(3);
    let json = run.json();
    let codes: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["path_expands"], "{}", run.stdout);
    t.cmd(["run", "--", "true"])
        .env("HOME", &home)
        .run()
        .exit(3)
        .stderr_has("error[path_expands]");
    assert!(!t.was_launched("kiro-cli"));
    t.cmd(["env"]).env("HOME", &home).run().exit(3);
}

/// The managed policy an administrator installs (a test build reads it from
/// `KIRO_AWS_TEST_POLICY_FILE`; a release build only from its fixed place): its rules
/// are enforced by verify and so by every launch, and a policy file anyone but root could
/// have written is an error itself. Run as root, which owns the policy, and as an
/// ordinary user, whose isolated files are checked against it.
#[test]
fn the_managed_policy_is_enforced() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test installs a root-owned policy: run the suite as root, as CI does");
    }
    let t = Test::new();
    t.init();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let policy = dir.path().join("policy.json");
    let verify = |t: &Test| {
        t.cmd(["verify", "--json"])
            .env("KIRO_AWS_TEST_POLICY_FILE", &policy)
            .run()
    };
    let codes = |run: &crate::harness::Run| -> Vec<String> {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| {
                format!(
                    "{}: {}",
                    f["code"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
            })
            .collect()
    };
    // No policy, and a policy the profiles keep.
    verify(&t).success();
    fs::write(&policy, r#"{"allowed_accounts": ["111111111111", "222222222222", "333333333333"], "allowed_roles": ["Kiro*"]}"#).unwrap();
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o644)).unwrap();
    verify(&t).success();
    // An account and a role the policy does not allow, and strict mode required.
    fs::write(&policy, r#"{"allowed_accounts": ["111111111111"], "allowed_roles": ["KiroRead*"], "require_strict": true}"#).unwrap();
    let run = verify(&t).exit(3);
    let found = codes(&run);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(
        found.iter().all(|f| f.starts_with("policy_violation")),
        "{found:?}"
    );
    t.cmd(["run", "--", "true"])
        .env("KIRO_AWS_TEST_POLICY_FILE", &policy)
        .run()
        .exit(3);
    // A policy file someone but root could have written, or one that is not JSON.
    fs::write(&policy, "{}").unwrap();
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o666)).unwrap();
    assert!(codes(&verify(&t).exit(3))[0].contains("only a file owned by root"));
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o644)).unwrap();
    nix::unistd::chown(&policy, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
    assert!(codes(&verify(&t).exit(3))[0].contains("uid 65534"));
    nix::unistd::chown(&policy, Some(nix::unistd::Uid::from_raw(0)), None).unwrap();
    fs::write(&policy, r#"{"allowed_hostz": []}"#).unwrap();
    assert!(codes(&verify(&t).exit(3))[0].contains("not a valid policy"));

    // An ordinary user: the same policy, the user's own files.
    fs::write(&policy, r#"{"allowed_accounts": ["111111111111"]}"#).unwrap();
    let user = Test::new();
    let nobody = nix::unistd::Uid::from_raw(65534);
    let nogroup = nix::unistd::Gid::from_raw(65534);
    std::fs::set_permissions(user.root(), fs::Permissions::from_mode(0o755)).unwrap();
    for dir in [user.home(), user.work(), user.bin()] {
        nix::unistd::chown(&dir, Some(nobody), Some(nogroup)).unwrap();
    }
    let as_user = |args: Vec<String>| {
        let mut command = user
            .cmd(args)
            .env("KIRO_AWS_TEST_POLICY_FILE", &policy)
            .command();
        std::os::unix::process::CommandExt::uid(&mut command, 65534);
        std::os::unix::process::CommandExt::gid(&mut command, 65534);
        command.output().unwrap()
    };
    let mut init = user.init_args();
    init.truncate(5);
    init.extend([
        "--profile".into(),
        "kiro-a=111111111111:KiroReadOnly".into(),
    ]);
    let out = as_user(init.clone());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_user(vec!["verify".into()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    init.extend([
        "--profile".into(),
        "kiro-b=999999999999:KiroReadOnly".into(),
    ]);
    assert!(as_user(init).status.success());
    let out = as_user(vec!["verify".into()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("policy_violation"));
}
