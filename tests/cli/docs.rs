//! The README is part of the contract: it must name every code the binary can print.

use std::path::Path;

use kiro_aws::testing::Code;

#[test]
fn readme_documents_every_code() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(Code::ALL.len() > 80, "the table holds every code");
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|code| code.as_str())
        .filter(|code| !readme.contains(&format!("`{code}`")))
        .collect();
    assert!(missing.is_empty(), "README does not mention: {missing:?}");
}
