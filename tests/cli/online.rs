//! whoami, audit and chat --check-identity against a real STS (moto) and an SSO
//! portal stub on 127.0.0.1, with a cached SSO token under the test HOME.

use std::time::{Duration, Instant};

use crate::harness::{venv_bin, AwsStub, Test};

const FUTURE: &str = "2099-01-01T00:00:00Z";
const PAST: &str = "2020-01-01T00:00:00Z";
const HEX: &str = "0123456789abcdef";

/// Three profiles in two accounts.
fn init(t: &Test) {
    t.init_with(&[
        "kiro-readonly=111111111111:KiroReadOnly",
        "kiro-audit=111111111111:KiroAudit",
        "kiro-dev=222222222222:KiroReadOnly",
    ]);
}

fn signed_in() -> Test {
    let t = Test::new();
    init(&t);
    t.sign_in("kiro", FUTURE);
    t
}

#[test]
fn whoami_all_proves_every_profile_in_one_concurrent_round() {
    let t = signed_in();
    // Each answer takes 300 ms: one profile after another would take 1.8 s or more.
    let stub = AwsStub::start(&t, &["--delay-ms", "300"]);
    let started = Instant::now();
    let run = t
        .cmd(["whoami", "--all", "--json"])
        .aws(&stub)
        .env("AWS_ACCESS_KEY_ID", "AKIALEAKEDFROMSHELL0")
        .env("AWS_SECRET_ACCESS_KEY", "leaked")
        .run()
        .success();
    let elapsed = started.elapsed();
    // The endpoint overrides serve whoami itself and are not reported as removed.
    run.stderr_has("AWS_ACCESS_KEY_ID");
    assert!(!run.stderr.contains("AWS_ENDPOINT_URL"), "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["ok"], true);
    let seen: Vec<(String, String, String, String, String)> = json["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
            (
                s("profile"),
                s("account"),
                s("role"),
                s("user"),
                s("source"),
            )
        })
        .collect();
    let expect = |profile: &str, account: &str, role: &str| {
        (
            profile.to_owned(),
            account.to_owned(),
            format!("AWSReservedSSO_{role}_{HEX}"),
            "dev@example.com".to_owned(),
            "sso".to_owned(),
        )
    };
    assert_eq!(
        seen,
        [
            expect("kiro-readonly", "111111111111", "KiroReadOnly"),
            expect("kiro-audit", "111111111111", "KiroAudit"),
            expect("kiro-dev", "222222222222", "KiroReadOnly"),
        ]
    );

    // Concurrency, from the server's side: the three portal calls arrived together.
    let requests = stub.requests();
    let portal: Vec<f64> = requests
        .iter()
        .filter(|r| r["path"] == "/federation/credentials")
        .map(|r| r["time"].as_f64().unwrap())
        .collect();
    assert_eq!(portal.len(), 3, "{requests:?}");
    let spread = portal.iter().cloned().fold(f64::MIN, f64::max)
        - portal.iter().cloned().fold(f64::MAX, f64::min);
    // One after another, they would be at least 0.6 s apart (portal and STS, 300 ms each).
    assert!(spread < 0.45, "portal calls were {spread:.3} s apart");
    assert!(
        elapsed < Duration::from_secs(5),
        "whoami --all took {elapsed:?}"
    );
    // kiro-aws's own calls do not carry the agent's tag, so audit does not count them.
    for r in requests.iter().filter(|r| r["method"] == "POST") {
        let ua = r["user_agent"].as_str().unwrap();
        assert!(ua.starts_with("aws-sdk-rust/"), "{ua}");
        assert!(!ua.contains("kiro-aws"), "{ua}");
    }
}

#[test]
fn a_role_in_the_wrong_account_fails_with_its_code() {
    let t = signed_in();
    let map = t.root().join("map.json");
    std::fs::write(
        &map,
        format!(
            r#"{{"222222222222/KiroReadOnly": "arn:aws:iam::999999999999:role/AWSReservedSSO_KiroReadOnly_{HEX}",
                "111111111111/KiroAudit": "arn:aws:iam::111111111111:role/AWSReservedSSO_AdministratorAccess_{HEX}"}}"#
        ),
    )
    .unwrap();
    let stub = AwsStub::start(&t, &["--map", map.to_str().unwrap()]);
    let run = t
        .cmd(["whoami", "--all", "--json"])
        .aws(&stub)
        .run()
        .exit(3);
    let json = run.json();
    let codes: Vec<(String, Vec<String>)> = json["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let codes = p["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["code"].as_str().unwrap().to_owned())
                .collect();
            (p["profile"].as_str().unwrap().to_owned(), codes)
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("kiro-readonly".into(), vec![]),
            ("kiro-audit".into(), vec!["identity_role_mismatch".into()]),
            ("kiro-dev".into(), vec!["identity_account_mismatch".into()]),
        ]
    );
    let run = t
        .cmd(["whoami", "--profile", "kiro-dev"])
        .aws(&stub)
        .run()
        .exit(3);
    assert!(
        run.stdout.contains(
            "credentials are for account 999999999999, but the profile names 222222222222"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn an_expired_or_missing_sign_in_names_the_login_command() {
    let t = Test::new();
    init(&t);
    let stub = AwsStub::start(&t, &[]);
    for token in [None, Some(PAST)] {
        if let Some(expires) = token {
            t.sign_in("kiro", expires);
        }
        let run = t.cmd(["whoami"]).aws(&stub).run().exit(3);
        assert!(
            run.stdout.contains("error[sso_login_required]"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("fix: run `kiro-aws login`, then try again"),
            "{}",
            run.stdout
        );
    }
    // A token the portal refuses (revoked, or from another directory) is the same case.
    let token = t.sign_in("kiro", FUTURE);
    let text = std::fs::read_to_string(&token).unwrap();
    std::fs::write(
        &token,
        text.replace(crate::harness::SSO_TOKEN, "revoked-token"),
    )
    .unwrap();
    let run = t.cmd(["whoami"]).aws(&stub).run().exit(3);
    assert!(
        run.stdout.contains("error[sso_login_required]"),
        "{}",
        run.stdout
    );
    let mut audit = vec!["audit", "--run"];
    audit.extend(WINDOW);
    let run = t.cmd(&audit).aws(&stub).run().exit(3);
    run.stderr_has("sso_login_required");
    t.sign_in("kiro", PAST);

    // The launch refuses too, and nothing is started.
    let run = t.cmd(["chat", "--check-identity"]).aws(&stub).run().exit(3);
    run.stderr_has("identity_not_proven");
    assert!(!t.was_launched("kiro-cli"));
    // Only the revoked token reached the portal; the expired one was never sent.
    let portal = stub
        .requests()
        .iter()
        .filter(|r| r["path"] == "/federation/credentials")
        .count();
    assert_eq!(portal, 2, "whoami and audit with the revoked token");
}

#[test]
fn a_portal_that_never_answers_hits_the_timeout() {
    let t = signed_in();
    let stub = AwsStub::start(&t, &["--hang"]);
    let started = Instant::now();
    let run = t.cmd(["whoami", "--timeout", "1"]).aws(&stub).run().exit(3);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        run.stdout.contains("error[identity_timeout]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no answer from AWS within 1 s"),
        "{}",
        run.stdout
    );
}

#[test]
fn chat_check_identity_launches_only_after_aws_confirms() {
    let t = signed_in();
    let stub = AwsStub::start(&t, &[]);
    let invocation = t
        .cmd(["--check-identity", "--profile", "kiro-dev"])
        .aws(&stub);
    invocation.run().success();
    let (argv, env) = t.recorded("kiro-cli");
    assert_eq!(argv, ["chat", "--agent", "aws-readonly"]);
    assert_eq!(env, invocation.expected_child_env("kiro-dev"));
}

#[test]
fn real_clients_carry_the_tag_in_their_user_agent() {
    let t = signed_in();
    let stub = AwsStub::start(&t, &[]);
    // Inside the launch the endpoint overrides are gone, so the clients name the stub
    // themselves; static keys keep them off the real portal.
    let keys = [
        "AWS_ACCESS_KEY_ID=AKIATESTTESTTEST0000",
        "AWS_SECRET_ACCESS_KEY=x",
    ];
    let mut aws_cli: Vec<String> = ["run", "--", "env"].map(String::from).to_vec();
    aws_cli.extend(keys.map(String::from));
    aws_cli.extend([
        venv_bin("aws").display().to_string(),
        "--endpoint-url".into(),
        stub.url.clone(),
        "sts".into(),
        "get-caller-identity".into(),
    ]);
    t.cmd(&aws_cli).run().success();
    let script = format!(
        "import botocore.session as s; print(s.Session().create_client('sts', \
         endpoint_url='{}').get_caller_identity()['Account'])",
        stub.url
    );
    let mut botocore: Vec<String> = ["run", "--", "env"].map(String::from).to_vec();
    botocore.extend(keys.map(String::from));
    botocore.extend([
        venv_bin("python").display().to_string(),
        "-c".into(),
        script,
    ]);
    t.cmd(&botocore).run().success();

    let agents: Vec<String> = stub
        .requests()
        .iter()
        .map(|r| r["user_agent"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(agents.len(), 2, "{agents:?}");
    let version = env!("CARGO_PKG_VERSION");
    for ua in &agents {
        // What audit's queries match on, as these clients really send it.
        assert!(ua.contains(kiro_aws::testing::TAG), "{ua}");
        assert!(
            ua.contains(&format!("kiro-aws-{version}"))
                || ua.contains(&format!("kiro-aws/{version}")),
            "{ua}"
        );
    }
}

const WINDOW: [&str; 4] = [
    "--since",
    "2026-11-21T00:00:00Z",
    "--until",
    "2026-11-22T00:00:00Z",
];

#[test]
fn audit_prints_the_queries_for_the_configured_roles() {
    let t = Test::new();
    init(&t);
    let mut args = vec!["audit", "--format", "sql", "--event-data-store", "eds-1"];
    args.extend(WINDOW);
    let run = t.cmd(&args).run().success();
    let issuer = "userIdentity.sessionContext.sessionIssuer.userName";
    let expected = format!(
        "SELECT eventTime, eventSource, eventName, userIdentity.accountId AS account,
       {issuer} AS role,
       userIdentity.principalId AS principal, sourceIPAddress, readOnly,
       userAgent LIKE '%kiro-aws%' AS viaKiroAws, userAgent
FROM eds-1
WHERE eventTime >= '2026-11-21 00:00:00' AND eventTime < '2026-11-22 00:00:00'
  AND userIdentity.type = 'AssumedRole'
  AND (
    (userIdentity.accountId = '111111111111' AND regexp_like({issuer}, '^(AWSReservedSSO_KiroAudit_[0-9a-f]{{16}}|KiroAudit)$'))
    OR (userIdentity.accountId = '111111111111' AND regexp_like({issuer}, '^(AWSReservedSSO_KiroReadOnly_[0-9a-f]{{16}}|KiroReadOnly)$'))
    OR (userIdentity.accountId = '222222222222' AND regexp_like({issuer}, '^(AWSReservedSSO_KiroReadOnly_[0-9a-f]{{16}}|KiroReadOnly)$'))
  )
ORDER BY eventTime DESC
"
    );
    assert_eq!(run.stdout, expected);

    let mut args = vec!["audit", "--format", "cli"];
    args.extend(WINDOW);
    let run = t.cmd(&args).run().success();
    assert_eq!(
        run.stdout,
        "kiro-aws run --profile kiro-audit -- aws cloudtrail lookup-events --region eu-west-1 \\
  --start-time 2026-11-21T00:00:00Z --end-time 2026-11-22T00:00:00Z \\
  --query \"Events[?contains(CloudTrailEvent, 'AWSReservedSSO_KiroAudit_') || contains(CloudTrailEvent, 'AWSReservedSSO_KiroReadOnly_')]\"

kiro-aws run --profile kiro-dev -- aws cloudtrail lookup-events --region eu-west-1 \\
  --start-time 2026-11-21T00:00:00Z --end-time 2026-11-22T00:00:00Z \\
  --query \"Events[?contains(CloudTrailEvent, 'AWSReservedSSO_KiroReadOnly_')]\"
"
    );

    // The default window is the last 24 hours; bad input is a usage error.
    let json = t.cmd(["audit", "--format", "json"]).run().success().json();
    assert_eq!(json["roles"].as_array().unwrap().len(), 3);
    for bad in [
        vec!["audit", "--since", "yesterday"],
        vec!["audit", "--format", "table"],
        vec!["audit", "--run", "--format", "sql"],
        vec!["audit", "--profile", "kiro-dev"],
    ] {
        t.cmd(&bad).run().exit(2);
    }
}

#[test]
fn audit_run_reads_cloudtrail_and_keeps_the_kiro_roles_events() {
    let t = signed_in();
    let recorded = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/stubs/lookup_events.json"
    );
    let stub = AwsStub::start(&t, &["--recorded", recorded]);
    let mut args = vec!["audit", "--run"];
    args.extend(WINDOW);
    let run = t.cmd(&args).aws(&stub).run().success();
    assert_eq!(
        run.stdout,
        "\
TIME                  EVENT             ACCOUNT       ROLE                                          USER             SOURCE IP     READ-ONLY  KIRO-AWS
2026-11-21T10:00:00Z  s3:ListBuckets    111111111111  AWSReservedSSO_KiroReadOnly_0123456789abcdef  dev@example.com  203.0.113.7   yes        yes
2026-11-21T09:00:00Z  iam:GetRole       111111111111  AWSReservedSSO_KiroAudit_0123456789abcdef     dev@example.com  198.51.100.4  yes        no
2026-11-21T06:00:00Z  ssm:PutParameter  222222222222  AWSReservedSSO_KiroReadOnly_0123456789abcdef  dev@example.com  203.0.113.7   no         yes
"
    );
    run.stderr_has("3 of 5 event(s)");
    // The SDK called LookupEvents as the default profile, through the portal.
    let requests = stub.requests();
    let targets: Vec<&str> = requests
        .iter()
        .filter_map(|r| r["target"].as_str())
        .collect();
    assert_eq!(targets, ["CloudTrail_20131101.LookupEvents"]);

    let mut args = vec![
        "audit",
        "--run",
        "--format",
        "json",
        "--profile",
        "kiro-dev",
    ];
    args.extend(WINDOW);
    let json = t.cmd(&args).aws(&stub).run().success().json();
    assert_eq!(json["profile"], "kiro-dev");
    assert_eq!(json["events_read"], 5);
    assert_eq!(json["events"][2]["event"], "ssm:PutParameter");
    assert_eq!(json["events"][2]["read_only"], false);
    assert_eq!(json["events"][2]["via_kiro_aws"], true);

    // --max-events bounds what is read, and says so.
    let mut args = vec!["audit", "--run", "--max-events", "2"];
    args.extend(WINDOW);
    let run = t.cmd(&args).aws(&stub).run().success();
    assert_eq!(run.stdout.lines().count(), 1 + 2, "{}", run.stdout);
    run.stderr_has("2 of 2 event(s)");
    run.stderr_has("stopped at --max-events 2");
}

/// The online child uses only the proxy and CA bundle kiro-aws chose: an interceptor
/// named by `ALL_PROXY` or `HTTP_PROXY`, or a CA named by `SSL_CERT_FILE`, in the shell
/// never sees the SSO token or hands back credentials of its choice.
#[test]
fn the_online_child_ignores_the_shells_interceptors() {
    let t = signed_in();
    let stub = AwsStub::start(&t, &[]);
    let interceptor = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    interceptor.set_nonblocking(true).unwrap();
    let url = format!("http://{}", interceptor.local_addr().unwrap());
    let ca = t.root().join("interceptor-ca.pem");
    std::fs::write(&ca, "not a certificate\n").unwrap();
    let run = t
        .cmd(["whoami", "--json"])
        .aws(&stub)
        .env("ALL_PROXY", &url)
        .env("all_proxy", &url)
        .env("HTTP_PROXY", &url)
        .env("Http_Proxy", &url)
        .env("SSL_CERT_FILE", &ca)
        .env("SSL_CERT_DIR", t.root())
        .run()
        .success();
    assert_eq!(run.json()["ok"], true);
    assert!(
        interceptor.accept().is_err(),
        "the interceptor received a connection"
    );
}
