//! The README is part of the contract: it must name every code the binary can print.

use std::path::Path;

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)).unwrap()
}

/// Error codes, found where errors are made in the source.
fn error_codes() -> Vec<String> {
    let constructors =
        regex::Regex::new(r#"(?:Error::(?:input|other)|\bbad|with_code)\(\s*"([a-z][a-z0-9_]*)""#)
            .unwrap();
    let mut codes: Vec<String> = [
        "isolation_not_proven",
        "identity_not_proven",
        "program_not_found",
        "io_error",
    ]
    .map(String::from)
    .to_vec();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        codes.extend(constructors.captures_iter(&source).map(|c| c[1].to_owned()));
    }
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn readme_documents_every_finding_and_error_code() {
    let readme = read("README.md");
    let findings = kiro_aws::finding::CODES
        .iter()
        .map(|(code, _)| code.to_string());
    let errors = error_codes();
    assert!(
        errors.len() > 10,
        "the scan found the error constructors: {errors:?}"
    );
    let missing: Vec<String> = findings
        .chain(errors)
        .filter(|code| !readme.contains(&format!("`{code}`")))
        .collect();
    assert!(missing.is_empty(), "README does not mention: {missing:?}");
}
