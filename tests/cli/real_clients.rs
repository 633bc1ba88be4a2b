//! The proof against real AWS clients from PyPI: botocore and AWS CLI v1 run under
//! `kiro-aws run` in a HOME whose host files hold a production profile and static keys.

use crate::harness::{venv_bin, Test};

/// What a laptop's shell may carry; all of it must be powerless inside the launch.
const LEAKY_ENV: [(&str, &str); 7] = [
    ("AWS_ACCESS_KEY_ID", "AKIAHOSTLEAK00000000"),
    ("AWS_SECRET_ACCESS_KEY", "hostsecret"),
    ("AWS_DEFAULT_PROFILE", "prod-admin"),
    (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://127.0.0.1:9/credentials",
    ),
    ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/credentials"),
    ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "leak"),
    ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9/"),
];

fn with_leaks<'a>(
    mut invocation: crate::harness::Invocation<'a>,
) -> crate::harness::Invocation<'a> {
    for (k, v) in LEAKY_ENV {
        invocation = invocation.env(k, v);
    }
    invocation
}

/// What botocore makes of its environment: the profiles it lists, the profile it selects,
/// and which provider its credential chain settles on (SSO is lazy: no token is needed
/// to learn that it was chosen).
const BOTOCORE_VIEW: &str = r#"
import botocore.session, json
s = botocore.session.Session()
try:
    c = s.get_credentials()
    cred = c.method if c else None
except Exception as e:
    cred = type(e).__name__
print(json.dumps({"profiles": s.available_profiles, "profile": s.profile, "credentials": cred}))
"#;

#[test]
fn botocore_sees_exactly_the_kiro_profiles_and_only_sso_credentials() {
    let t = Test::new();
    t.init();
    t.host_aws_files();
    let python = venv_bin("python");
    // Control: without kiro-aws, botocore in this HOME and this environment sees the
    // host's profiles and takes the leaked keys.
    let mut control = std::process::Command::new(&python);
    control
        .args(["-c", BOTOCORE_VIEW])
        .env_clear()
        .envs(t.cmd(["verify"]).base_env())
        .env("AWS_ACCESS_KEY_ID", "AKIAHOSTLEAK00000000")
        .env("AWS_SECRET_ACCESS_KEY", "hostsecret");
    let host: serde_json::Value =
        serde_json::from_slice(&control.output().unwrap().stdout).unwrap();
    assert_eq!(
        host["profiles"],
        serde_json::json!(["default", "prod-admin"])
    );
    assert_eq!(host["credentials"], "env");

    for leaky in [false, true] {
        let mut invocation = t.cmd(["run", "--", python.to_str().unwrap(), "-c", BOTOCORE_VIEW]);
        if leaky {
            invocation = with_leaks(invocation);
        }
        let run = invocation.run().success();
        let view: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(
            view,
            serde_json::json!({
                "profiles": ["kiro-readonly", "kiro-dev", "kiro-prod-write"],
                "profile": "kiro-readonly",
                "credentials": "sso",
            }),
            "leaky={leaky}"
        );
    }
}

#[test]
fn aws_cli_cannot_use_a_host_profile() {
    let t = Test::new();
    t.init();
    t.host_aws_files();
    let aws = venv_bin("aws");
    let aws = aws.to_str().unwrap();
    // Control: the host profile works without kiro-aws.
    let control = t.cmd(["verify"]).base_env();
    let out = std::process::Command::new(aws)
        .args(["configure", "get", "region", "--profile", "prod-admin"])
        .env_clear()
        .envs(&control)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "us-east-1");

    for leaky in [false, true] {
        let mut invocation = t.cmd([
            "run",
            "--",
            aws,
            "sts",
            "get-caller-identity",
            "--profile",
            "prod-admin",
        ]);
        if leaky {
            invocation = with_leaks(invocation);
        }
        let run = invocation.run();
        assert_ne!(run.status, 0);
        assert!(
            run.stderr
                .contains("The config profile (prod-admin) could not be found"),
            "leaky={leaky}: {}",
            run.stderr
        );
        // AWS_DEFAULT_PROFILE=prod-admin is gone: the profile in force is the kiro default.
        let mut invocation = t.cmd(["run", "--", aws, "configure", "get", "sso_account_id"]);
        if leaky {
            invocation = with_leaks(invocation);
        }
        assert_eq!(invocation.run().success().stdout.trim(), "111111111111");
    }
    // Without an SSO login the kiro profile fails on the missing token, never falling
    // back to the inherited keys or the container endpoint.
    let run = with_leaks(t.cmd(["run", "--", aws, "sts", "get-caller-identity"])).run();
    assert_ne!(run.status, 0);
    assert!(
        run.stderr.contains("SSO") || run.stderr.contains("sso"),
        "expected an SSO token error: {}",
        run.stderr
    );
    assert!(!run.stderr.contains("AKIAHOSTLEAK"), "{}", run.stderr);
}

/// A botocore plugin named by `BOTOCORE_EXPERIMENTAL__PLUGINS` is code botocore imports
/// into every client. No list in kiro-aws names the variable; its family is removed.
#[test]
fn a_botocore_plugin_variable_loads_nothing_under_a_launch() {
    let t = Test::new();
    t.init();
    let plugins = t.root().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(
        plugins.join("evilplug.py"),
        "import os\ndef initialize_client_plugin(client):\n    open(os.environ['MARKER'], 'w').write('loaded')\n",
    )
    .unwrap();
    let marker = t.root().join("marker");
    let script = "import botocore.session\nbotocore.session.Session().create_client('s3', region_name='us-east-1')\n";
    let python = venv_bin("python");
    let python = python.to_str().unwrap();
    fn with_plugin<'a>(
        invocation: crate::harness::Invocation<'a>,
        plugins: &std::path::Path,
        marker: &std::path::Path,
    ) -> crate::harness::Invocation<'a> {
        invocation
            .env("PYTHONPATH", plugins)
            .env("MARKER", marker)
            .env("BOTOCORE_EXPERIMENTAL__PLUGINS", "evil=evilplug")
    }
    // Control: without kiro-aws the plugin runs.
    let control = with_plugin(t.cmd(["verify"]), &plugins, &marker).base_env();
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .env_clear()
        .envs(&control)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "loaded");
    std::fs::remove_file(&marker).unwrap();
    with_plugin(
        t.cmd(["run", "--", python, "-c", script]),
        &plugins,
        &marker,
    )
    .run()
    .success();
    assert!(!marker.exists(), "the plugin ran under kiro-aws run");
}
