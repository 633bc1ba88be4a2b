//! Properties: every valid profile set renders to a file that kiro-aws, the Rust SDK and
//! botocore all read back to the same set; no input makes `verify` panic.

use std::collections::BTreeMap;

use kiro_aws::testing::{
    config_file, sdk_view, Env, FileKind, Paths, Profile, ProfileSet, SsoSession,
    DEFAULT_REGISTRATION_SCOPES,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use crate::harness::venv_bin;

/// Regions of the shape `profile::check_region` admits, not only real ones.
fn region() -> impl Strategy<Value = String> {
    "[a-z]{2}(-[a-z]{1,8}){1,2}-[1-9][0-9]{0,2}".prop_filter("a region number is below 256", |r| {
        r.rsplit('-').next().unwrap().parse::<u32>().unwrap() < 256
    })
}

/// Every sso-session that validation admits: names of up to 64 characters, any host of
/// the allowed characters with any printable ASCII after it, any list of scopes. The
/// canonical text of such sets is what `verify` trusts without the SDK's own reading,
/// so these tests are that trust's ground.
fn session() -> impl Strategy<Value = SsoSession> {
    (
        "[a-zA-Z0-9_-]{1,64}",
        "[A-Za-z0-9.:-]{1,24}",
        prop::option::of("[/?#][!-~]{0,32}"),
        region(),
        prop::option::of("[A-Za-z0-9:_.-]{1,16}(,[A-Za-z0-9:_.-]{1,16}){0,2}"),
    )
        .prop_map(|(name, host, rest, region, scopes)| SsoSession {
            name,
            start_url: format!("https://{host}{}", rest.unwrap_or_default()),
            region,
            registration_scopes: Some(scopes.unwrap_or_else(|| DEFAULT_REGISTRATION_SCOPES.into())),
        })
}

fn profile(sessions: Vec<String>) -> impl Strategy<Value = Profile> {
    (
        "kiro-[a-z0-9][a-z0-9-]{0,20}",
        prop::sample::select(sessions),
        "[0-9]{12}",
        "[A-Za-z0-9+=,.@_-]{1,64}",
        prop::option::of(region()),
        prop::option::of(prop::sample::select(
            &["json", "text", "table", "yaml", "yaml-stream"][..],
        )),
    )
        .prop_map(
            |(name, sso_session, account_id, role_name, region, output)| Profile {
                name,
                sso_session,
                account_id,
                role_name,
                region,
                output: output.map(Into::into),
            },
        )
}

fn profile_set() -> impl Strategy<Value = ProfileSet> {
    prop::collection::vec(session(), 1..4)
        .prop_map(|mut sessions| {
            let mut seen = Vec::new();
            sessions.retain(|s| {
                let fresh = !seen.contains(&s.name);
                seen.push(s.name.clone());
                fresh
            });
            sessions
        })
        .prop_flat_map(|sessions| {
            let names: Vec<String> = sessions.iter().map(|s| s.name.clone()).collect();
            (
                Just(sessions),
                prop::collection::vec(profile(names), 1..10),
                any::<prop::sample::Index>(),
                any::<bool>(),
                any::<bool>(),
            )
        })
        .prop_map(|(sessions, mut profiles, pick, strict, write_tool)| {
            let mut seen = Vec::new();
            profiles.retain(|p| {
                let fresh = !seen.contains(&p.name);
                seen.push(p.name.clone());
                fresh
            });
            let default = pick.get(&profiles).name.clone();
            // A random role may happen to spell `admin`: such a set is whole only with
            // that role accepted, as `init --allow-role` records it.
            let mut allowed_roles: Vec<String> = profiles
                .iter()
                .map(|p| p.role_name.clone())
                .filter(|r| {
                    let r = r.to_ascii_lowercase();
                    ["admin", "poweruser", "fullaccess"]
                        .iter()
                        .any(|w| r.contains(w))
                })
                .collect();
            allowed_roles.sort();
            allowed_roles.dedup();
            ProfileSet {
                strict,
                write_tool,
                allowed_roles,
                ..ProfileSet::new(sessions, profiles, Some(&default)).unwrap()
            }
        })
}

/// Sets at the edges of what validation admits, checked with both real parsers beside the
/// random ones: every printable character where a value allows it, and long values.
fn edge_sets() -> Vec<ProfileSet> {
    let printable: String = ('!'..='~').collect();
    let role_chars = "ABCXYZabcxyz0189+=,.@_-";
    let scope_chars = "ABZabz09:_.-";
    let session = |name: &str, start_url: String, scopes: &str| SsoSession {
        name: name.into(),
        start_url,
        region: "us-gov-west-1".into(),
        registration_scopes: Some(scopes.into()),
    };
    let profile = |name: String, session: &str, role: &str| Profile {
        name,
        sso_session: session.into(),
        account_id: "000000000000".into(),
        role_name: role.into(),
        region: Some("ab-cdefghijklmnop-qrs-255".into()),
        output: Some("yaml-stream".into()),
    };
    let sessions = vec![
        session("a", format!("https://h/{printable}"), scope_chars),
        session(
            &"S_-9".repeat(16),
            format!(
                "https://{}:443?{}#{}",
                "x.".repeat(100),
                printable,
                "#;=".repeat(300)
            ),
            &format!("{scope_chars},{scope_chars},sso:account:access"),
        ),
    ];
    let profiles = vec![
        profile("kiro-0".into(), "a", role_chars),
        profile(
            format!("kiro-{}", "a-9".repeat(70)),
            &sessions[1].name,
            &"R".repeat(64),
        ),
        profile("kiro-readonly".into(), "a", "=,.@"),
    ];
    vec![
        ProfileSet::new(sessions.clone(), profiles.clone(), None).unwrap(),
        ProfileSet {
            strict: true,
            write_tool: true,
            allowed_roles: vec!["=,.@".into(), "ReadOnlyAdmin".into()],
            ..ProfileSet::new(sessions, profiles, Some("kiro-0")).unwrap()
        },
    ]
}

#[test]
fn edge_sets_read_back_identically_in_kiro_aws_and_the_rust_sdk() {
    for set in edge_sets() {
        let text = config_file::render(&set);
        assert_eq!(config_file::parse(text.as_bytes()).into_set().unwrap(), set);
        let view = sdk_view::load(&text, FileKind::Config).unwrap();
        assert_eq!(
            serde_json::to_value(&view.profiles).unwrap(),
            expected_profiles(&set)
        );
        assert_eq!(
            serde_json::to_value(&view.sso_sessions).unwrap(),
            expected_sessions(&set)
        );
    }
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn rendered_sets_read_back_identically_in_kiro_aws_and_the_rust_sdk(set in profile_set()) {
        let text = config_file::render(&set);
        prop_assert_eq!(config_file::parse(text.as_bytes()).into_set().unwrap(), set.clone());
        let view = sdk_view::load(&text, FileKind::Config).unwrap();
        // Names and every value, against the expectation this file builds by hand.
        prop_assert_eq!(serde_json::to_value(&view.profiles).unwrap(), expected_profiles(&set));
        prop_assert_eq!(serde_json::to_value(&view.sso_sessions).unwrap(), expected_sessions(&set));
    }

    #[test]
    fn arbitrary_bytes_never_panic_verify(
        config in prop::collection::vec(any::<u8>(), 0..600),
        ini_like in "([\\[\\] \\tA-Za-z0-9_=#;:\"'.-]|\n|profile |sso-session |kiro-){0,60}",
    ) {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::new(home.path());
        std::fs::create_dir_all(&paths.kiro_dir).unwrap();
        for (c, k) in [(&config[..], ini_like.as_bytes()), (ini_like.as_bytes(), &config[..])] {
            std::fs::write(&paths.config, c).unwrap();
            std::fs::write(&paths.credentials, k).unwrap();
            let report = kiro_aws::testing::verify(&paths, &Env::default());
            // Whatever the verdict, an accepted file holds only kiro profiles.
            if report.ok {
                prop_assert!(report.profiles.iter().all(|p| p.starts_with("kiro-")));
            }
        }
    }
}

/// botocore reads every rendered set back to the same profiles, keys and values. Many
/// sets are checked with one Python process, to keep the run short.
#[test]
fn rendered_sets_read_back_identically_in_botocore() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let strategy = profile_set();
    let mut sets = Vec::new();
    let random = (0..256).map(|_| strategy.new_tree(&mut runner).unwrap().current());
    for (i, set) in edge_sets().into_iter().chain(random).enumerate() {
        let path = dir.path().join(format!("config-{i}"));
        std::fs::write(&path, config_file::render(&set)).unwrap();
        sets.push((path, set));
    }
    let empty = dir.path().join("credentials");
    std::fs::write(&empty, "").unwrap();
    let script = r#"
import json, sys, botocore.session
out = {}
for path in sys.argv[2:]:
    s = botocore.session.Session()
    s.set_config_variable("config_file", path)
    s.set_config_variable("credentials_file", sys.argv[1])
    full = s.full_config
    out[path] = {
        "available": s.available_profiles,
        "profiles": full.get("profiles", {}),
        "sso_sessions": full.get("sso_sessions", {}),
    }
print(json.dumps(out))
"#;
    let args = std::iter::once(&empty).chain(sets.iter().map(|(p, _)| p));
    let seen: BTreeMap<String, serde_json::Value> =
        serde_json::from_value(botocore(script, args, dir.path())).unwrap();
    for (path, set) in &sets {
        let got = &seen[&path.display().to_string()];
        assert_eq!(
            got["available"],
            serde_json::json!(set.names()),
            "{}",
            path.display()
        );
        assert_eq!(
            got["profiles"],
            expected_profiles(set),
            "{}",
            path.display()
        );
        assert_eq!(
            got["sso_sessions"],
            expected_sessions(set),
            "{}",
            path.display()
        );
    }
}

/// Run a Python script with the real botocore; its stdout is JSON.
fn botocore<I, S>(script: &str, args: I, home: &std::path::Path) -> serde_json::Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = std::process::Command::new(venv_bin("python"))
        .arg("-c")
        .arg(script)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn expected_profiles(set: &ProfileSet) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for p in &set.profiles {
        let mut keys = serde_json::json!({
            "sso_session": p.sso_session,
            "sso_account_id": p.account_id,
            "sso_role_name": p.role_name,
        });
        if let Some(region) = &p.region {
            keys["region"] = region.clone().into();
        }
        if let Some(output) = &p.output {
            keys["output"] = output.clone().into();
        }
        map.insert(p.name.clone(), keys);
    }
    map.into()
}

fn expected_sessions(set: &ProfileSet) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for s in &set.sessions {
        map.insert(
            s.name.clone(),
            serde_json::json!({
                "sso_start_url": s.start_url,
                "sso_region": s.region,
                "sso_registration_scopes": s.registration_scopes.as_deref().unwrap_or(DEFAULT_REGISTRATION_SCOPES),
            }),
        );
    }
    map.into()
}

/// Fragments that make the two parsers disagree when dropped into a file.
const FRAGMENTS: [&str; 30] = [
    "\r",
    "\n",
    "\r\n",
    " ",
    "\t",
    "#",
    ";",
    " # c",
    "[",
    "]",
    "=",
    ":",
    "%",
    "\"",
    "'",
    "\u{a0}",
    "\u{b}",
    "\u{c}",
    "\u{85}",
    "\u{2028}",
    "\u{feff}",
    "\u{1c}",
    "[profile prod]\n",
    "[default]\n",
    "[DEFAULT]\ncredential_process = x\n",
    "region = us-east-1\n",
    "  sub = x\n",
    "profile ",
    "kiro-",
    "[sso-session kiro]\n",
];

/// Every file `verify` accepts means the same to botocore: exactly the profiles verify
/// reports, in the config, and none at all in the credentials file. Files are mutated
/// valid configs (and comment-only credentials files); one Python process reads them all.
#[test]
fn every_file_verify_accepts_means_the_same_to_botocore() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = TestRunner::deterministic();
    let sets = profile_set();
    let edits = prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            prop::sample::select(&FRAGMENTS[..]),
        ),
        1..4,
    );
    let mut accepted = Vec::new();
    let mut rejected = 0;
    for i in 0..800 {
        let set = sets.new_tree(&mut runner).unwrap().current();
        let credentials_case = i % 4 == 3;
        let mut text = if credentials_case {
            "# empty on purpose\n\n; nothing here\n".to_owned()
        } else {
            config_file::render(&set)
        };
        for (at, fragment) in edits.new_tree(&mut runner).unwrap().current() {
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|&b| text.is_char_boundary(b))
                .collect();
            text.insert_str(*at.get(&boundaries), fragment);
        }
        let home = dir.path().join(format!("home-{i}"));
        let paths = Paths::new(&home);
        std::fs::create_dir_all(&paths.kiro_dir).unwrap();
        let (config, credentials) = if credentials_case {
            (config_file::render(&set), text)
        } else {
            (text, String::new())
        };
        std::fs::write(&paths.config, &config).unwrap();
        std::fs::write(&paths.credentials, &credentials).unwrap();
        for (path, mode) in [
            (&paths.kiro_dir, 0o700),
            (&paths.config, 0o600),
            (&paths.credentials, 0o600),
        ] {
            std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .unwrap();
        }
        let report = kiro_aws::testing::verify(&paths, &Env::default());
        if report.ok {
            let mut profiles = report.profiles.clone();
            profiles.sort();
            accepted.push((paths, profiles));
        } else {
            rejected += 1;
        }
    }
    assert!(
        accepted.len() > 100 && rejected > 100,
        "accepted {} rejected {rejected}",
        accepted.len()
    );
    let script = r#"
import json, sys, botocore.session
out = []
for i in range(1, len(sys.argv), 2):
    s = botocore.session.Session()
    s.set_config_variable("config_file", sys.argv[i])
    s.set_config_variable("credentials_file", sys.argv[i + 1])
    try:
        out.append(sorted(s.available_profiles))
    except Exception as e:
        out.append("error: %s" % e)
print(json.dumps(out))
"#;
    let args = accepted
        .iter()
        .flat_map(|(p, _)| [&p.config, &p.credentials]);
    let seen: Vec<serde_json::Value> =
        serde_json::from_value(botocore(script, args, dir.path())).unwrap();
    for ((paths, profiles), botocore) in accepted.iter().zip(&seen) {
        assert_eq!(
            botocore,
            &serde_json::json!(profiles),
            "verify accepted {} ({:?}) but botocore reads it differently",
            paths.config.display(),
            std::fs::read_to_string(&paths.config).unwrap()
                + &std::fs::read_to_string(&paths.credentials).unwrap()
        );
    }
}
