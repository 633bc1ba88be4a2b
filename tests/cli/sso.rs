//! Sign-in and discovery against IAM Identity Center on 127.0.0.1: the OIDC device flow
//! and the portal's lists are `tests/stubs/aws_stub.py`'s, STS is moto's; the token file
//! `login` caches is then used by real botocore and by the Rust SDK.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::harness::{snapshot, venv_bin, AwsStub, Test, SSO_TOKEN, START_URL};

const FUTURE: &str = "2099-01-01T00:00:00Z";

fn sha1(text: &str) -> String {
    sha1_smol::Sha1::from(text).digest().to_string()
}

fn oidc_times(stub: &AwsStub) -> Vec<(String, f64)> {
    stub.requests()
        .iter()
        .filter_map(|r| {
            let target = r["target"].as_str()?;
            (target.starts_with("CreateToken")
                || target == "RegisterClient"
                || target.starts_with("StartDeviceAuthorization"))
            .then(|| (target.to_owned(), r["time"].as_f64().unwrap()))
        })
        .collect()
}

#[test]
fn login_runs_the_device_flow_and_caches_the_token_where_every_client_reads_it() {
    let t = Test::new();
    // A browser opener that records the page it was asked to open.
    let opener = t.bin().join("xdg-open");
    std::fs::write(&opener, "#!/bin/sh\nprintf '%s' \"$1\" > \"$0.url\"\n").unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    // 600 s: inside botocore's refresh window, so that it refreshes below.
    let stub = AwsStub::start(&t, &["--token-expires-in", "600"]);

    // Before any profile exists: the session comes from the flags.
    let started = Instant::now();
    let run = t
        .cmd([
            "login",
            "--sso-session",
            "kiro",
            "--sso-start-url",
            START_URL,
            "--sso-region",
            "eu-west-1",
            "--json",
        ])
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &stub.url)
        .run()
        .success();
    let took = started.elapsed();
    run.stderr_has("https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH")
        .stderr_has("ABCD-EFGH");
    let json = run.json();
    let cache = t
        .home()
        .join(format!(".aws/sso/cache/{}.json", sha1("kiro")));
    assert_eq!(json["ok"], true);
    assert_eq!(json["cache_file"], cache.to_str().unwrap());

    // The flow as the service asked: pending, then slow_down (5 s more), then the token.
    let calls = oidc_times(&stub);
    let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "RegisterClient",
            &format!("StartDeviceAuthorization:{START_URL}"),
            "CreateToken:authorization_pending",
            "CreateToken:slow_down",
            "CreateToken:token",
        ]
    );
    let gap = |a: usize, b: usize| calls[b].1 - calls[a].1;
    assert!(gap(2, 3) >= 0.9, "polled again after {:.2} s", gap(2, 3));
    assert!(
        gap(3, 4) >= 5.9,
        "slow_down was not honoured: {:.2} s",
        gap(3, 4)
    );
    assert!(took < Duration::from_secs(20), "login took {took:?}");

    // The token file, as AWS CLI v2 writes it: private, with the refresh fields.
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o600);
    assert_eq!(mode(cache.parent().unwrap()), 0o700);
    let token: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    let keys: Vec<&str> = token
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "startUrl",
            "region",
            "accessToken",
            "expiresAt",
            "clientId",
            "clientSecret",
            "registrationExpiresAt",
            "refreshToken"
        ]
    );
    assert_eq!(token["startUrl"], START_URL);
    assert_eq!(token["region"], "eu-west-1");
    assert_eq!(token["accessToken"], SSO_TOKEN);
    assert_eq!(token["clientId"], "stub-client-id");
    assert_eq!(token["refreshToken"], "stub-refresh-token");
    assert_eq!(json["expires_at"], token["expiresAt"]);

    // The browser was asked to open the page with the code in it.
    let recorded = t.bin().join("xdg-open.url");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !recorded.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_to_string(&recorded).unwrap(),
        "https://device.sso.eu-west-1.amazonaws.com/?user_code=ABCD-EFGH"
    );

    // Now the profiles; the Rust SDK (whoami) signs in with the cached token.
    t.init_with(&["kiro-readonly=111111111111:KiroReadOnly"]);
    let who = t
        .cmd(["whoami", "--json"])
        .aws(&stub)
        .run()
        .success()
        .json();
    assert_eq!(who["profiles"][0]["account"], "111111111111");
    assert_eq!(who["profiles"][0]["source"], "sso");

    // Real botocore uses the same file, and its refresh fields: 600 s is inside its
    // 15-minute window, so it refreshes the token first (and writes the new one back).
    let script = "import botocore.session, json\n\
        s = botocore.session.Session()\n\
        print(json.dumps(s.create_client('sts').get_caller_identity()['Arn']))";
    let output = std::process::Command::new(venv_bin("python"))
        .args(["-c", script])
        .env_clear()
        .env("HOME", t.home())
        .env("AWS_CONFIG_FILE", t.config())
        .env("AWS_SHARED_CREDENTIALS_FILE", t.credentials())
        .env("AWS_PROFILE", "kiro-readonly")
        .env("AWS_ENDPOINT_URL_STS", &stub.url)
        .env("AWS_ENDPOINT_URL_SSO", &stub.url)
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &stub.url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "\"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_KiroReadOnly_0123456789abcdef/dev@example.com\""
    );
    let refreshed = oidc_times(&stub);
    assert_eq!(refreshed.last().unwrap().0, "CreateToken:refresh_token");
    let token: serde_json::Value = serde_json::from_slice(&std::fs::read(&cache).unwrap()).unwrap();
    assert_eq!(token["accessToken"], "refreshed-token-1");
}

#[test]
fn login_takes_the_session_from_the_config_and_reports_a_refused_sign_in() {
    let t = Test::new();
    t.init_with(&["kiro-readonly=111111111111:KiroReadOnly"]);
    // A refusal in the browser ends the wait at once, with its code; nothing is cached.
    let stub = AwsStub::start(&t, &["--oidc-script", "access_denied"]);
    let run = t
        .cmd(["login", "--no-browser"])
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &stub.url)
        .run()
        .exit(1);
    run.stderr_has("sso_login_failed").stderr_has("refused");
    // With --json, the failure is JSON on stdout too.
    let stub = AwsStub::start(&t, &["--oidc-script", "access_denied"]);
    let json = t
        .cmd(["login", "--no-browser", "--json"])
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &stub.url)
        .run()
        .exit(1)
        .json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["code"], "sso_login_failed");
    assert!(!t
        .home()
        .join(format!(".aws/sso/cache/{}.json", sha1("kiro")))
        .exists());
    // The session came from the config: its start URL went to the service.
    let calls = oidc_times(&stub);
    assert_eq!(calls[1].0, format!("StartDeviceAuthorization:{START_URL}"));

    // A token that is no token (one that lasts 0 s) is not cached over a good one.
    let stub = AwsStub::start(
        &t,
        &[
            "--oidc-script",
            "token",
            "--oidc-interval",
            "1",
            "--token-expires-in",
            "0",
        ],
    );
    t.cmd(["login", "--no-browser"])
        .env("AWS_ENDPOINT_URL_SSO_OIDC", &stub.url)
        .run()
        .exit(1)
        .stderr_has("lasts 0 s");
    assert!(!t
        .home()
        .join(format!(".aws/sso/cache/{}.json", sha1("kiro")))
        .exists());

    // An unknown session, and a plain-http endpoint that would receive the token.
    t.cmd(["login", "--sso-session", "other"])
        .run()
        .exit(2)
        .stderr_has("sso_session_missing");
    t.cmd(["login"])
        .env("AWS_ENDPOINT_URL_SSO_OIDC", "http://oidc.example.com")
        .run()
        .exit(2)
        .stderr_has("endpoint_refused");
}

/// A small organisation with everything discovery must handle: pagination (one item a
/// page), an administrator's role, two accounts of the same name, a hand-made profile.
fn organisation(t: &Test, accounts: serde_json::Value) -> std::path::PathBuf {
    let file = t
        .root()
        .join(format!("accounts-{}.json", sha1(&accounts.to_string())));
    std::fs::write(&file, accounts.to_string()).unwrap();
    file
}

fn small_org() -> serde_json::Value {
    serde_json::json!([
        {"accountId": "111111111111", "accountName": "Prod EU",
         "roles": ["KiroReadOnly", "KiroWrite", "KiroAdmin", "AdministratorAccess"]},
        {"accountId": "222222222222", "accountName": "Prod EU", "roles": ["KiroReadOnly"]},
        {"accountId": "333333333333", "accountName": "sandbox", "roles": ["KiroReadOnly", "ViewOnly"]},
    ])
}

const DISCOVER: [&str; 6] = [
    "init",
    "--discover",
    "--sso-start-url",
    START_URL,
    "--sso-region",
    "eu-west-1",
];

#[test]
fn discovery_writes_the_kiro_roles_as_profiles_and_prunes_only_what_it_made() {
    let t = Test::new();
    // A profile made by hand, in another account, before discovery.
    t.init_with(&["kiro-mine=444444444444:KiroReadOnly"]);
    t.sign_in("kiro", FUTURE);
    let org = organisation(&t, small_org());
    let stub = AwsStub::start(
        &t,
        &["--accounts", org.to_str().unwrap(), "--page-cap", "1"],
    );

    let mut args = DISCOVER.to_vec();
    args.push("--json");
    let run = t.cmd(&args).aws(&stub).run().success();
    let json = run.json();
    assert_eq!(
        json["profiles"],
        serde_json::json!([
            "kiro-mine",
            "kiro-prod-eu-kiro-read-only-111111111111",
            "kiro-prod-eu-kiro-read-only-222222222222",
            "kiro-prod-eu-kiro-write",
            "kiro-sandbox-kiro-read-only",
        ])
    );
    let d = &json["discovery"];
    assert_eq!(d["accounts"], 3);
    // 3 account pages, then 4 + 1 + 2 role pages.
    assert_eq!(d["requests"], 3 + 7);
    assert_eq!(d["skipped"][0]["role_name"], "KiroAdmin");
    assert_eq!(d["skipped"][0]["code"], "role_too_powerful");
    assert_eq!(d["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(d["added"].as_array().unwrap().len(), 4);
    // The isolated config is verified, and the write role is the only -write profile.
    t.cmd(["verify"]).run().success();
    let config = std::fs::read_to_string(t.config()).unwrap();
    assert!(
        config.contains("# kiro-aws:discovered = kiro-prod-eu-kiro-write\n"),
        "{config}"
    );
    assert!(
        !config.contains("# kiro-aws:discovered = kiro-mine"),
        "{config}"
    );
    assert!(config.contains(
        "[profile kiro-prod-eu-kiro-write]\nsso_session = kiro\nsso_account_id = 111111111111\nsso_role_name = KiroWrite\nregion = eu-west-1\n"
    ), "{config}");

    // Again, with the same organisation: not a byte changes.
    let before = snapshot(&t.home());
    let again = t.cmd(&args).aws(&stub).run().success().json();
    assert_eq!(snapshot(&t.home()), before);
    assert!(again["files"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["action"] == "unchanged"));
    drop(stub);

    // The sandbox account is gone from IAM Identity Center.
    let mut fewer = small_org();
    fewer.as_array_mut().unwrap().pop();
    let org = organisation(&t, fewer);
    let stub = AwsStub::start(&t, &["--accounts", org.to_str().unwrap()]);
    // --dry-run shows the diff and writes nothing; without --prune it is kept (and named).
    let mut dry = DISCOVER.to_vec();
    dry.extend(["--prune", "--dry-run"]);
    let run = t.cmd(&dry).aws(&stub).run().success();
    run.stdout_has("-[profile kiro-sandbox-kiro-read-only]");
    assert_eq!(snapshot(&t.home()), before);
    let run = t.cmd(DISCOVER).aws(&stub).run().success();
    run.stderr_has("kiro-sandbox-kiro-read-only's role is no longer listed; kept");
    assert_eq!(snapshot(&t.home()), before);
    // --prune removes it, and only it: the hand-made profile stays.
    let mut prune = DISCOVER.to_vec();
    prune.extend(["--prune", "--json"]);
    let json = t.cmd(&prune).aws(&stub).run().success().json();
    assert_eq!(
        json["discovery"]["removed"],
        serde_json::json!(["kiro-sandbox-kiro-read-only"])
    );
    assert_eq!(
        json["profiles"],
        serde_json::json!([
            "kiro-mine",
            "kiro-prod-eu-kiro-read-only-111111111111",
            "kiro-prod-eu-kiro-read-only-222222222222",
            "kiro-prod-eu-kiro-write",
        ])
    );
    t.cmd(["verify"]).run().success();
}

#[test]
fn discovery_needs_a_valid_sign_in_and_writes_nothing_when_an_account_fails() {
    let t = Test::new();
    let org = organisation(&t, small_org());
    let stub = AwsStub::start(&t, &["--accounts", org.to_str().unwrap()]);
    let before = snapshot(&t.home());
    // No token, then an expired one: exit 3, and the login that mends it.
    let run = t.cmd(DISCOVER).aws(&stub).run().exit(3);
    run.stderr_has("sso_login_required")
        .stderr_has("kiro-aws login --sso-session kiro");
    t.sign_in("kiro", "2020-01-01T00:00:00Z");
    let mut json_args = DISCOVER.to_vec();
    json_args.push("--json");
    let json = t.cmd(&json_args).aws(&stub).run().exit(3).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["code"], "sso_login_required");
    // A token the portal refuses (revoked): the same.
    let cache = t.sign_in("kiro", FUTURE);
    let revoked = std::fs::read_to_string(&cache)
        .unwrap()
        .replace(SSO_TOKEN, "revoked");
    std::fs::write(&cache, revoked).unwrap();
    t.cmd(DISCOVER)
        .aws(&stub)
        .run()
        .exit(3)
        .stderr_has("sso_login_required");
    drop(stub);

    // An account whose roles cannot be listed, even after retries: named; nothing written.
    t.sign_in("kiro", FUTURE);
    let before_fail = snapshot(&t.home());
    let stub = AwsStub::start(
        &t,
        &[
            "--accounts",
            org.to_str().unwrap(),
            "--fail-account",
            "222222222222",
        ],
    );
    let run = t.cmd(DISCOVER).aws(&stub).run().exit(1);
    run.stderr_has("discovery_failed")
        .stderr_has("account 222222222222 (Prod EU)");
    assert_eq!(snapshot(&t.home()), before_fail);
    assert_ne!(before, before_fail);

    // A config of ours that no longer reads whole (a hand edit) is not overwritten: its
    // profiles would be lost.
    t.init_with(&["kiro-mine=444444444444:KiroReadOnly"]);
    let mut config = std::fs::read_to_string(t.config()).unwrap();
    config.push_str("[profile kiro-broken]\ncredential_process = /bin/true\n");
    std::fs::write(t.config(), &config).unwrap();
    let before_broken = snapshot(&t.home());
    let stub = AwsStub::start(&t, &["--accounts", org.to_str().unwrap()]);
    t.cmd(DISCOVER)
        .aws(&stub)
        .run()
        .exit(3)
        .stderr_has("isolation_not_proven");
    assert_eq!(snapshot(&t.home()), before_broken);

    // A portal whose pages never end, and one that lists nothing (which would prune
    // every discovered profile): refused, nothing written.
    let stub = AwsStub::start(&t, &["--accounts", org.to_str().unwrap(), "--loop-pages"]);
    std::fs::remove_file(t.config()).unwrap();
    let before_loop = snapshot(&t.home());
    t.cmd(DISCOVER)
        .aws(&stub)
        .run()
        .exit(1)
        .stderr_has("discovery_failed")
        .stderr_has("came twice");
    let empty = organisation(&t, serde_json::json!([]));
    let stub = AwsStub::start(&t, &["--accounts", empty.to_str().unwrap()]);
    t.cmd(DISCOVER)
        .aws(&stub)
        .run()
        .exit(1)
        .stderr_has("lists no account or role");
    // Accounts, but not one role in them: the same (a prune would empty the config).
    let roleless = organisation(
        &t,
        serde_json::json!([{"accountId": "111111111111", "accountName": "Prod", "roles": []}]),
    );
    let stub = AwsStub::start(&t, &["--accounts", roleless.to_str().unwrap()]);
    t.cmd(DISCOVER)
        .aws(&stub)
        .run()
        .exit(1)
        .stderr_has("lists no account or role");
    assert_eq!(snapshot(&t.home()), before_loop);

    // A FIFO where the config belongs is never waited on.
    nix::unistd::mkfifo(&t.config(), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = t.cmd(DISCOVER).aws(&stub).spawn();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "init --discover waits on a FIFO config"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(t.config()).unwrap();

    // Bad templates and patterns are usage errors.
    let mut bad = DISCOVER.to_vec();
    bad.extend(["--name-template", "kiro-{account}"]);
    t.cmd(&bad)
        .run()
        .exit(2)
        .stderr_has("name_template_invalid");
    t.cmd(["init", "--discover", "--profile", "kiro-a=111111111111:R"])
        .run()
        .exit(2);
    t.cmd(["init", "--prune"]).run().exit(2);
}

/// The portal's limit is shared by the organisation: 20 calls a second. 500 accounts
/// with 2 roles each take 505 calls; at the limit that is 25.25 s, and discovery must
/// come within 1.2 times that, with no failure.
#[test]
fn discovery_of_500_accounts_keeps_under_the_portals_rate_limit() {
    let t = Test::new();
    t.sign_in("kiro", FUTURE);
    let stub = AwsStub::start(&t, &["--generate", "500", "--rate-limit", "20"]);
    let mut args = DISCOVER.to_vec();
    args.push("--json");
    let started = Instant::now();
    let json = t.cmd(&args).aws(&stub).run().success().json();
    let took = started.elapsed().as_secs_f64();
    let d = &json["discovery"];
    assert_eq!(d["accounts"], 500);
    assert_eq!(d["roles"], 1000);
    assert_eq!(json["profiles"].as_array().unwrap().len(), 1000);
    let answered = stub
        .requests()
        .iter()
        .filter(|r| {
            r["target"].is_null() && r["path"].as_str().unwrap().starts_with("/assignment/")
        })
        .count();
    assert_eq!(answered, 505);
    let allowed = 505.0 / 20.0;
    eprintln!(
        "discovery: {took:.2} s for 505 calls; the limit allows {allowed:.2} s (x{:.3}); {} throttled",
        took / allowed,
        d["throttled"]
    );
    assert!(
        took <= 1.2 * allowed,
        "discovery took {took:.2} s, more than 1.2 x {allowed:.2} s"
    );
    // The default is a read-only profile, never a -write one unless named.
    assert!(
        !json["default_profile"]
            .as_str()
            .unwrap()
            .ends_with("-write"),
        "{}",
        json["default_profile"]
    );
    // Half the profiles are -write, from the KiroWrite roles.
    let writes = json["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p.as_str().unwrap().ends_with("-write"))
        .count();
    assert_eq!(writes, 500);
}

/// Asked to go five times faster than the portal allows (or sharing its limit with
/// others), discovery is throttled (HTTP 429), backs off with jitter, slows its own pace
/// and still finishes with every account.
#[test]
fn discovery_backs_off_and_retries_when_throttled() {
    let t = Test::new();
    t.sign_in("kiro", FUTURE);
    let stub = AwsStub::start(&t, &["--generate", "60", "--rate-limit", "10"]);
    let mut args = DISCOVER.to_vec();
    args.extend(["--json", "--max-rps", "50"]);
    let json = t.cmd(&args).aws(&stub).run().success().json();
    assert_eq!(json["discovery"]["accounts"], 60);
    assert_eq!(json["profiles"].as_array().unwrap().len(), 120);
    let throttled = json["discovery"]["throttled"].as_u64().unwrap();
    let seen = stub
        .requests()
        .iter()
        .filter(|r| r["target"] == "throttled")
        .count() as u64;
    assert!(throttled > 0, "never throttled");
    assert_eq!(throttled, seen);
}

/// Sign-in and discovery send the SSO token to IAM Identity Center or to the endpoint
/// override the shell gives, never to an endpoint an AWS config or credentials file names
/// (`endpoint_url`, a `services` section): those files are not read for these calls. Run
/// in a network namespace of its own, where only loopback exists, so that the default
/// AWS endpoints fail at once and no packet leaves this machine.
#[cfg(target_os = "linux")]
#[test]
fn sign_in_and_discovery_never_take_an_endpoint_from_the_aws_files() {
    let t = Test::new();
    t.sign_in("kiro", FUTURE);
    let log = t.root().join("hostile.log");
    let files = "[default]\nendpoint_url = http://127.0.0.1:PORT\n\n\
        [profile kiro-aws-no-profile]\nendpoint_url = http://127.0.0.1:PORT\nservices = evil\n\n\
        [services evil]\nsso =\n  endpoint_url = http://127.0.0.1:PORT\n\
        sso_oidc =\n  endpoint_url = http://127.0.0.1:PORT\n";
    let script = format!(
        r#"set -u
"$PYTHON" -c '
import socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
while True:
    c, _ = s.accept()
    open(sys.argv[1], "a").write("connection\n"); c.close()
' "{log}" &
server=$!
while [ ! -s "{log}.port" ]; do sleep 0.05; done
port=$(cat "{log}.port")
mkdir -p "$HOME/.aws/kiro"
printf '%s' '{files}' | sed "s/PORT/$port/g" > "$HOME/.aws/kiro/config"
cp "$HOME/.aws/kiro/config" "$HOME/.aws/kiro/credentials"
"$BIN" login --no-browser --sso-session kiro --sso-start-url {START_URL} --sso-region eu-west-1
echo "login=$?"
"$BIN" init --discover --sso-start-url {START_URL} --sso-region eu-west-1 --dry-run
echo "discover=$?"
kill "$server"
"#,
        log = log.display(),
    );
    let output = std::process::Command::new("timeout")
        .args([
            "120",
            "bwrap",
            "--dev-bind",
            "/",
            "/",
            "--unshare-net",
            "--die-with-parent",
        ])
        .args(["--", "sh", "-c", &script])
        .env_clear()
        .envs(t.cmd(["verify"]).base_env())
        .env("PYTHON", venv_bin("python"))
        .env("BIN", crate::harness::BIN)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Both fail (IAM Identity Center is out of reach here), and nothing reached the
    // endpoint the files name.
    assert!(stdout.contains("login=1"), "{stdout}\n{stderr}");
    assert!(stdout.contains("discover=1"), "{stdout}\n{stderr}");
    assert!(stderr.contains("sso_login_failed"), "{stderr}");
    assert!(stderr.contains("discovery_failed"), "{stderr}");
    assert!(
        !log.exists(),
        "the endpoint in the AWS files was contacted: {stderr}"
    );
}

/// On a terminal, a slow discovery shows a progress line that counts the accounts (run
/// under `script`, which gives it a pseudo-terminal); without one, no progress at all.
#[test]
fn discovery_shows_its_progress_on_a_terminal_only() {
    let t = Test::new();
    t.sign_in("kiro", FUTURE);
    let stub = AwsStub::start(&t, &["--generate", "40", "--rate-limit", "20"]);
    let line = DISCOVER.join(" ");
    let output = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} {line} --dry-run", crate::harness::BIN),
            "/dev/null",
        ])
        .env_clear()
        .envs(t.cmd(["verify"]).aws(&stub).base_env())
        .env("AWS_ENDPOINT_URL_SSO", &stub.url)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(
        shown.contains("kiro-aws: listing IAM Identity Center") && shown.contains("/40 accounts"),
        "no progress line: {shown}"
    );
    let plain = t
        .cmd(DISCOVER)
        .aws(&stub)
        .with_arg("--dry-run")
        .run()
        .success();
    assert!(!plain.stderr.contains("accounts ("), "{}", plain.stderr);
}
