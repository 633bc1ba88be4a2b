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

/// The README's table of error codes gives each code the exit status the binary uses.
#[test]
fn readme_gives_each_error_code_its_exit_status() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme
        .split_once("The codes:\n")
        .expect("the README lists the error codes")
        .1;
    let code_re = regex::Regex::new(r"`([a-z][a-z0-9_]*)`").unwrap();
    let mut checked = 0;
    for row in table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let exit: u8 = cells[2]
            .split(|c: char| !c.is_ascii_digit())
            .find(|n| !n.is_empty())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no exit status in {row}"));
        for name in code_re.captures_iter(cells[1]).map(|c| c[1].to_owned()) {
            let code = Code::ALL
                .iter()
                .find(|c| c.as_str() == name)
                .unwrap_or_else(|| panic!("the README names `{name}`, which is no code"));
            assert_eq!(code.exit().code(), exit, "`{name}` in: {row}");
            checked += 1;
        }
    }
    assert!(checked > 40, "read the whole table ({checked} codes)");
}
