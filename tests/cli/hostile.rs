//! A table of hostile isolated files: each must be refused by `verify` (exit 3) with
//! exactly the listed error codes.

use std::collections::BTreeSet;

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
