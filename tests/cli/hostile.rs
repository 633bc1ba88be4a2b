//! A table of hostile isolated files: each must be refused by `verify` (exit 3) with
//! exactly the listed error codes; and hostile input elsewhere: team files that are no
//! files, interrupted writes, a missing home, a symlinked ~/.aws.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::Test;

const SESSION: &str = "[sso-session kiro]\nsso_start_url = https://d-1234567890.awsapps.com/start\nsso_region = eu-west-1\n";
const PROFILE: &str = "[profile kiro-a]\nsso_session = kiro\nsso_account_id = 111111111111\nsso_role_name = ReadOnly\n";

fn with(extra: &str) -> String {
    format!("{SESSION}\n{PROFILE}{extra}")
}

#[test]
fn every_hostile_file_is_flagged_with_its_code() {
    let cases: Vec<(&str, String, &str, &[&str])> = vec![
        ("non-kiro profile", with("\n[profile prod-admin]\nregion = us-east-1\n"), "", &["profile_not_kiro"]),
        ("default profile", with("\n[default]\nregion = us-east-1\n"), "", &["profile_not_kiro"]),
        ("profile default", with("\n[profile default]\nregion = us-east-1\n"), "", &["profile_not_kiro"]),
        ("duplicate section", with(&format!("\n{PROFILE}")), "", &["duplicate_section"]),
        ("duplicate key", with("region = us-east-1\nregion = eu-west-1\n"), "", &["duplicate_key"]),
        ("inline comment", with("region = us-east-1 # ours\n"), "", &["inline_comment"]),
        ("inline comment on header", format!("{SESSION}[profile kiro-b] ; x\n"), "", &["inline_comment"]),
        ("quoted header", with("[profile \"kiro-b\"]\n"), "", &["quoted_section"]),
        ("space-led header", with("[ profile prod]\nregion = us-east-1\n"), "", &["section_whitespace", "profile_not_kiro"]),
        ("double space header", with("[profile  kiro-b]\n"), "", &["section_whitespace"]),
        ("credential_process", with("credential_process = /bin/sh -c steal\n"), "", &["key_forbidden"]),
        ("assume role", with("role_arn = arn:aws:iam::1:role/Admin\nsource_profile = prod\n"), "", &["key_forbidden"]),
        ("credential_source", with("credential_source = Environment\n"), "", &["key_forbidden"]),
        ("web identity", with("web_identity_token_file = /tmp/t\n"), "", &["key_forbidden"]),
        ("static keys", with("aws_access_key_id = AKIA\naws_secret_access_key = s\n"), "", &["key_forbidden"]),
        ("services", with("services = evil\n\n[services evil]\nsts =\n  endpoint_url = https://evil\n"), "", &["key_forbidden", "section_unknown", "leading_whitespace"]),
        ("endpoint_url", with("endpoint_url = https://evil\n"), "", &["key_forbidden"]),
        ("legacy sso keys", with("sso_start_url = https://x.awsapps.com/start\n"), "", &["key_forbidden"]),
        ("missing session block", PROFILE.to_owned(), "", &["sso_session_missing"]),
        ("session without https", format!("[sso-session kiro]\nsso_start_url = http://x\nsso_region = eu-west-1\n\n{PROFILE}"), "", &["sso_session_incomplete"]),
        ("session without region", format!("[sso-session kiro]\nsso_start_url = https://x.awsapps.com/start\n\n{PROFILE}"), "", &["sso_session_incomplete"]),
        ("carriage return hides a section from the SDK", with("# note\r[profile prod-admin]\rregion = us-east-1\n"), "", &["carriage_return"]),
        ("carriage return in credentials", with(""), "# note\r[default]\raws_access_key_id = AKIA\n", &["credentials_not_empty", "carriage_return"]),
        ("python DEFAULT section", with("\n[DEFAULT]\ncredential_process = /bin/steal\n"), "", &["section_unknown"]),
        ("continuation line", with("region = us-east-1\n  more\n"), "", &["leading_whitespace"]),
        ("colon delimiter", with("region: us-east-1\n"), "", &["malformed_line", "sdk_parse_error"]),
        ("upper-case header", with("[PROFILE x]\n"), "", &["section_unknown"]),
        ("bad account", format!("{SESSION}[profile kiro-a]\nsso_session = kiro\nsso_account_id = 12\nsso_role_name = R\n"), "", &["invalid_account_id"]),
        ("non-ascii name", with("\n[profile kiro-\u{e9}]\n"), "", &["unexpected_character"]),
        ("no-break space after a value", with("region = us-east-1\u{a0}\n"), "", &["unexpected_character"]),
        ("no-break space after a key", with("region\u{a0}= us-east-1\n"), "", &["unexpected_character"]),
        ("separator control character", with("output = json\u{1c}\n"), "", &["unexpected_character"]),
        ("scopes smuggling text", format!("[sso-session kiro]\nsso_start_url = https://x.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = a b\n\n{PROFILE}"), "", &["sso_session_incomplete"]),
        ("missing default", format!("# kiro-aws:default-profile = kiro-gone\n{}", with("")), "", &["default_profile_missing"]),
        ("empty config", String::new(), "", &["no_profiles"]),
        ("credentials default", with(""), "[default]\naws_access_key_id = AKIA\naws_secret_access_key = s\n", &["credentials_not_empty", "profile_not_kiro"]),
        ("credentials profile prefix", with(""), "[profile prod-admin]\naws_access_key_id = AKIA\n", &["credentials_not_empty", "profile_prefix_in_credentials"]),
        ("credentials kiro section", with(""), "[kiro-a]\naws_access_key_id = AKIA\n", &["credentials_not_empty"]),
        ("credentials bare key", with(""), "aws_access_key_id = AKIA\n", &["credentials_not_empty", "key_outside_section", "sdk_parse_error"]),
    ];
    for (name, config, credentials, expected) in cases {
        let t = Test::new();
        t.write(".aws/kiro/config", &config, 0o600);
        t.write(".aws/kiro/credentials", credentials, 0o600);
        std::fs::set_permissions(
            t.home().join(".aws/kiro"),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let run = t.cmd(["verify", "--json"]).run();
        assert_eq!(run.status, 3, "{name}: {}", run.stdout);
        let json = run.json();
        assert_eq!(json["ok"], false, "{name}");
        let codes: BTreeSet<String> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error")
            .map(|f| f["code"].as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = expected.iter().map(|c| c.to_string()).collect();
        assert_eq!(codes, expected, "{name}: {}", run.stdout);
    }
}

#[test]
fn non_utf8_config_is_refused() {
    let t = Test::new();
    t.init();
    std::fs::write(
        t.config(),
        [&b"[profile kiro-a]\n"[..], &[0xff, 0xfe], b"\n"].concat(),
    )
    .unwrap();
    let run = t.cmd(["verify", "--json"]).run().exit(3);
    let codes: Vec<String> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["not_utf8"]);
    assert_eq!(
        run.json()["findings"][0]["fix"],
        "rewrite it: `kiro-aws init` with your --profile flags or --from TEAM_FILE (add --force if kiro-aws did not write it)"
    );
}

/// A team file that is not a regular file is never read (a FIFO would hang, a device
/// never ends); one past the size bound or empty is bad input. Exit 2 each time, and
/// nothing is written.
#[test]
fn team_files_are_bounded_regular_files() {
    let t = Test::new();
    let fifo = t.root().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let big = t.root().join("big.config");
    std::fs::File::create(&big)
        .unwrap()
        .set_len((16 << 20) + 1)
        .unwrap();
    let empty = t.root().join("empty.config");
    std::fs::write(&empty, "\n \n").unwrap();
    for (file, code) in [
        (fifo.as_path(), "team_file_unreadable"),
        (Path::new("/dev/zero"), "team_file_unreadable"),
        (t.root(), "team_file_unreadable"),
        (big.as_path(), "team_file_unreadable"),
        (empty.as_path(), "team_file_invalid"),
    ] {
        let started = std::time::Instant::now();
        let run = t
            .cmd(["init", "--from", file.to_str().unwrap()])
            .run()
            .exit(2);
        assert!(
            run.stderr.contains(code),
            "{}: {}",
            file.display(),
            run.stderr
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    assert!(!t.home().join(".aws").exists());
}

/// A temporary file an interrupted write left is reported by verify and removed by the
/// next init; a fresh one (a concurrent write in progress) is left alone.
#[test]
fn temporary_files_left_by_an_interrupted_write() {
    let t = Test::new();
    t.init();
    let stale = t.home().join(".aws/kiro/.config.Ab12Cd.tmp");
    std::fs::write(&stale, "[profile prod]\n").unwrap();
    let status = std::process::Command::new("touch")
        .args(["-d", "1 hour ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(status.success());
    let fresh = t.home().join(".aws/kiro/.config.Xy98Zw.tmp");
    std::fs::write(&fresh, "x").unwrap();
    let json = t.cmd(["verify", "--json"]).run().success().json();
    let found: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "temp_file_left")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(found, [stale.to_str().unwrap()]);
    t.init();
    assert!(!stale.exists());
    assert!(fresh.exists());
}

/// HOME unset or empty is an error, not a silent fallback to the account's home.
#[test]
fn an_unset_or_empty_home_is_an_error() {
    let t = Test::new();
    for home in [None, Some(""), Some("relative/home")] {
        let mut cmd = t.cmd(["verify"]).command();
        match home {
            None => cmd.env_remove("HOME"),
            Some(h) => cmd.env("HOME", h),
        };
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{home:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("home_not_found"));
    }
}

/// A ~/.aws that is a symlink into a directory anyone can write is checked where it
/// leads: someone else could replace the isolated files there.
#[test]
fn a_symlinked_aws_directory_is_checked_where_it_leads() {
    let t = Test::new();
    t.init();
    let open = t.root().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::rename(t.home().join(".aws"), open.join(".aws")).unwrap();
    std::os::unix::fs::symlink(open.join(".aws"), t.home().join(".aws")).unwrap();
    let json = t.cmd(["verify", "--json"]).run().exit(3).json();
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "dir_writable" && f["path"] == open.to_str().unwrap()),
        "{json}"
    );
}
