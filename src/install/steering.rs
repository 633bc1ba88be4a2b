//! The steering block in `~/.kiro/steering/AGENTS.md`. The file belongs to the user:
//! kiro-aws owns only the lines from its begin marker to its end marker and leaves every
//! other byte as it was.

use crate::config::profile::ProfileSet;
use crate::paths::Paths;

const TEMPLATE: &str = include_str!("../../steering/AGENTS.md");
pub const BEGIN: &[u8] = b"<!-- kiro-aws:begin";
pub const END: &[u8] = b"<!-- kiro-aws:end";

/// The block, markers included, ending in a newline.
pub fn render_block(set: &ProfileSet, paths: &Paths) -> String {
    let mut table = String::from("| Profile | Account | Role | Access |\n|---|---|---|---|\n");
    for p in &set.profiles {
        let mut access = if p.is_write() { "write" } else { "read-only" }.to_owned();
        if p.is_production() {
            access.push_str(", production");
        }
        if p.name == set.default_profile {
            access.push_str(" (default)");
        }
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            p.name, p.account_id, p.role_name, access
        ));
    }
    TEMPLATE
        .replace("{{CONFIG_FILE}}", &paths.config.display().to_string())
        .replace("{{DEFAULT_PROFILE}}", &set.default_profile)
        .replace("{{PROFILE_TABLE}}", table.trim_end())
}

/// Why an existing file's markers cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenMarkers(pub String);

/// The file with `block` in place: replacing the old block, or appended when there is
/// none. Bytes outside the block are kept exactly.
pub fn splice(existing: Option<&[u8]>, block: &str) -> Result<Vec<u8>, BrokenMarkers> {
    let Some(existing) = existing else {
        return Ok(block.as_bytes().to_vec());
    };
    // (start, end) byte offsets of each line, end including its newline.
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, b) in existing.iter().enumerate() {
        if *b == b'\n' {
            lines.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < existing.len() {
        lines.push((start, existing.len()));
    }
    let find = |marker: &[u8]| -> Vec<(usize, usize)> {
        lines
            .iter()
            .copied()
            .filter(|&(s, e)| existing[s..e].starts_with(marker))
            .collect()
    };
    let (begins, ends) = (find(BEGIN), find(END));
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => {
            let mut out = existing.to_vec();
            if !out.is_empty() {
                if !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.push(b'\n');
            }
            out.extend_from_slice(block.as_bytes());
            Ok(out)
        }
        ([(begin, _)], [(_, end)]) if begin < end => {
            let mut out = existing[..*begin].to_vec();
            let at_eof_without_newline = *end == existing.len() && !existing.ends_with(b"\n");
            let block = if at_eof_without_newline {
                block.strip_suffix('\n').unwrap_or(block)
            } else {
                block
            };
            out.extend_from_slice(block.as_bytes());
            out.extend_from_slice(&existing[*end..]);
            Ok(out)
        }
        _ => Err(BrokenMarkers(format!(
            "found {} begin and {} end marker lines; expected one of each, begin first",
            begins.len(),
            ends.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::config_file::tests::sample;
    use std::path::Path;

    #[test]
    fn block_has_table_and_markers() {
        let block = render_block(&sample(), &Paths::new(Path::new("/home/u")));
        assert!(block.starts_with("<!-- kiro-aws:begin"));
        assert!(block.ends_with("<!-- kiro-aws:end -->\n"));
        assert!(
            block.contains("| `kiro-dev` | 111111111111 | KiroReadOnly | read-only (default) |\n")
        );
        assert!(block
            .contains("| `kiro-prod-write` | 222222222222 | KiroWrite | write, production |\n"));
        assert!(block.contains("`/home/u/.aws/kiro/config`"));
        assert!(!block.contains("{{"));
    }

    #[test]
    fn splice_keeps_user_bytes() {
        let block = "<!-- kiro-aws:begin x -->\nNEW\n<!-- kiro-aws:end -->\n";
        assert_eq!(splice(None, block).unwrap(), block.as_bytes());
        assert_eq!(splice(Some(b""), block).unwrap(), block.as_bytes());
        assert_eq!(
            splice(Some(b"mine"), block).unwrap(),
            format!("mine\n\n{block}").as_bytes()
        );
        let user =
            b"top\r\n\xff binary\n<!-- kiro-aws:begin old -->\nOLD\n<!-- kiro-aws:end -->\ntail";
        let once = splice(Some(user), block).unwrap();
        assert_eq!(
            once,
            [&b"top\r\n\xff binary\n"[..], block.as_bytes(), b"tail"].concat()
        );
        assert_eq!(splice(Some(&once), block).unwrap(), once, "idempotent");
        let no_newline = b"a\n<!-- kiro-aws:begin -->\n<!-- kiro-aws:end -->";
        assert_eq!(
            splice(Some(no_newline), block).unwrap(),
            [&b"a\n"[..], block.trim_end().as_bytes()].concat()
        );
    }

    #[test]
    fn broken_markers_are_refused() {
        let block = "<!-- kiro-aws:begin -->\n<!-- kiro-aws:end -->\n";
        for bad in [
            &b"<!-- kiro-aws:begin -->\n"[..],
            b"<!-- kiro-aws:end -->\n<!-- kiro-aws:begin -->\n",
            b"<!-- kiro-aws:begin -->\n<!-- kiro-aws:begin -->\n<!-- kiro-aws:end -->\n",
        ] {
            assert!(splice(Some(bad), block).is_err());
        }
    }
}
