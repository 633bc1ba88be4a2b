//! A strict reader for AWS config and credentials files.
//!
//! botocore (and so the AWS CLI) and the Rust SDK read the same file differently in a
//! handful of places (see the README). This reader accepts only the canonical subset both
//! agree on and reports every construct outside it as an [`Issue`] with its line, so that
//! callers reject the file instead of guessing which client is right.

use std::collections::HashSet;

use crate::code::Code;

/// Which of the two AWS files a text is; they name profile sections differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Credentials,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    Profile,
    SsoSession,
}

/// A `key = value` line; both are slices of the text read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub kind: SectionKind,
    pub name: &'a str,
    pub line: usize,
    pub entries: Vec<Entry<'a>>,
}

impl<'a> Section<'a> {
    pub fn get(&self, key: &str) -> Option<&Entry<'a>> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A construct outside the canonical subset; `line` is 1-based (0: the whole file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: Code,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document<'a> {
    pub sections: Vec<Section<'a>>,
    pub issues: Vec<Issue>,
}

/// Characters the Rust SDK accepts in a profile or sso-session name; botocore accepts
/// more, so anything else is a disagreement.
fn is_sdk_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// botocore keeps ` # text` as part of a value; the Rust SDK strips it as a comment.
fn has_inline_comment(value: &str) -> bool {
    value.starts_with(['#', ';'])
        || value
            .as_bytes()
            .windows(2)
            .any(|w| (w[0] == b' ' || w[0] == b'\t') && (w[1] == b'#' || w[1] == b';'))
}

pub fn parse(bytes: &[u8], kind: FileKind) -> Document<'_> {
    let mut doc = Document::default();
    let Ok(text) = std::str::from_utf8(bytes) else {
        doc.issues.push(Issue {
            code: Code::NotUtf8,
            line: 0,
            message: "the file is not UTF-8: the Rust SDK reads it as empty, botocore fails".into(),
        });
        return doc;
    };
    let mut seen_sections: HashSet<(SectionKind, &str)> = HashSet::new();
    // The keys of the section being read, so that a duplicate is found in one look.
    let mut section_keys: HashSet<&str> = HashSet::new();
    // Most files have none: then no line needs looking at for one.
    let any_carriage_return = text.contains('\r');
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let content = raw.strip_suffix('\r').unwrap_or(raw);
        let mut issue = |code: Code, message: String| {
            doc.issues.push(Issue {
                code,
                line,
                message,
            })
        };
        // Checked before anything else, comments included: botocore reads files with
        // universal newlines, so a lone `\r` starts a new line there (which may hold a
        // whole section) while the Rust SDK sees one line.
        if any_carriage_return && content.contains('\r') {
            issue(
                Code::CarriageReturn,
                "a carriage return inside a line: botocore starts a new line there, the Rust SDK \
                 does not"
                    .into(),
            );
            continue;
        }
        if content.trim().is_empty() || content.starts_with(['#', ';']) {
            continue;
        }
        // botocore strips Unicode white space and ASCII separators around keys and values;
        // the Rust SDK strips only spaces and tabs. Outside comments, only printable ASCII.
        if let Some(c) = content
            .chars()
            .find(|c| !(c.is_ascii_graphic() || *c == ' ' || *c == '\t'))
        {
            issue(
                Code::UnexpectedCharacter,
                format!(
                    "character {c:?} outside a comment: botocore and the Rust SDK trim it differently"
                ),
            );
            continue;
        }
        if content.starts_with([' ', '\t']) {
            issue(
                Code::LeadingWhitespace,
                "an indented line continues the previous value in botocore but is a sub-setting \
                 in the Rust SDK"
                    .into(),
            );
            continue;
        }
        if let Some(rest) = content.strip_prefix('[') {
            let trimmed = rest.trim_end();
            let Some(close) = trimmed.rfind(']') else {
                issue(Code::MalformedLine, "a section header without `]`".into());
                continue;
            };
            if close + 1 != trimmed.len() {
                issue(
                    Code::InlineComment,
                    "text after `]` of a section header is read differently by botocore and the \
                     Rust SDK"
                        .into(),
                );
                continue;
            }
            let inner = &trimmed[..close];
            section_keys.clear();
            match section_header(inner, kind) {
                Ok((section_kind, name)) => {
                    if !seen_sections.insert((section_kind, name)) {
                        issue(
                            Code::DuplicateSection,
                            format!(
                                "section `{name}` appears twice: botocore rejects the file, the \
                                 Rust SDK merges the two"
                            ),
                        );
                    }
                    doc.sections.push(Section {
                        kind: section_kind,
                        name,
                        line,
                        entries: Vec::new(),
                    });
                }
                Err((code, message)) => {
                    issue(code, message);
                    // Keys below an unusable header must not land in the previous section.
                    doc.sections.push(Section {
                        kind: SectionKind::Profile,
                        name: "",
                        line: 0,
                        entries: Vec::new(),
                    });
                }
            }
            continue;
        }
        let Some((key, value)) = content.split_once('=') else {
            issue(
                Code::MalformedLine,
                "expected `key = value`, a `[section]` or a `#` comment".into(),
            );
            continue;
        };
        let key = key.trim_end();
        let value = value.trim();
        if !is_key(key) {
            issue(
                Code::KeyInvalid,
                format!("`{key}` is not a lower-case key of letters, digits and `_`"),
            );
            continue;
        }
        if has_inline_comment(value) {
            issue(
                Code::InlineComment,
                format!(
                    "the value of `{key}` holds a comment: botocore keeps it, the Rust SDK drops it"
                ),
            );
            continue;
        }
        let Some(section) = doc.sections.last_mut() else {
            issue(
                Code::KeyOutsideSection,
                format!("`{key}` comes before any section"),
            );
            continue;
        };
        if section.line == 0 {
            continue;
        }
        if !section_keys.insert(key) {
            issue(
                Code::DuplicateKey,
                format!(
                    "`{key}` appears twice in `{}`: botocore rejects the file, the Rust SDK keeps \
                     the last",
                    section.name
                ),
            );
            continue;
        }
        section.entries.push(Entry { key, value, line });
    }
    doc.sections.retain(|s| s.line != 0);
    doc
}

fn section_header(inner: &str, kind: FileKind) -> Result<(SectionKind, &str), (Code, String)> {
    fn named(kind: SectionKind, name: &str) -> Result<(SectionKind, &str), (Code, String)> {
        if is_sdk_name(name) {
            Ok((kind, name))
        } else {
            Err((
                Code::SectionNameInvalid,
                format!("`{name}` has characters the Rust SDK does not accept in a name"),
            ))
        }
    }
    if inner.trim() != inner || inner.contains("  ") || inner.contains('\t') {
        return Err((
            Code::SectionWhitespace,
            format!(
                "`[{inner}]` has extra white space: botocore and the Rust SDK name it differently"
            ),
        ));
    }
    if inner.contains(['"', '\'']) {
        return Err((
            Code::QuotedSection,
            format!(
                "`[{inner}]` is quoted: botocore strips quotes, the Rust SDK ignores the section"
            ),
        ));
    }
    match kind {
        FileKind::Credentials => {
            if inner.starts_with("profile ") {
                return Err((
                    Code::ProfilePrefixInCredentials,
                    format!(
                        "`[{inner}]` in a credentials file is a profile literally named `{inner}` \
                         to botocore and ignored by the Rust SDK"
                    ),
                ));
            }
            named(SectionKind::Profile, inner)
        }
        FileKind::Config => {
            if inner == "default" {
                return Ok((SectionKind::Profile, "default"));
            }
            if let Some(name) = inner.strip_prefix("profile ") {
                return named(SectionKind::Profile, name);
            }
            if let Some(name) = inner.strip_prefix("sso-session ") {
                return named(SectionKind::SsoSession, name);
            }
            Err((
                Code::SectionUnknown,
                format!("`[{inner}]` is not a `[profile NAME]` or `[sso-session NAME]` section"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str, kind: FileKind) -> Vec<(&'static str, usize)> {
        parse(text.as_bytes(), kind)
            .issues
            .iter()
            .map(|i| (i.code.as_str(), i.line))
            .collect()
    }

    #[test]
    fn canonical_file_has_no_issues() {
        let doc = parse(
            b"# c\n\n[sso-session kiro]\nsso_region = us-east-1\n[profile kiro-a]\nsso_session = kiro\r\n",
            FileKind::Config,
        );
        assert_eq!(doc.issues, vec![]);
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[1].name, "kiro-a");
        assert_eq!(doc.sections[1].entries[0].value, "kiro");
        assert_eq!(doc.sections[1].entries[0].line, 6);
    }

    #[test]
    fn every_disagreement_is_reported_with_its_line() {
        let text = "[profile a]\nregion = x # c\n[profile a]\n[ profile b]\n[profile \"c\"]\n\
                    [profile c]\nregion = x\nRegion = y\nregion = z\n  more\nkey: value\n[PROFILE d]\n";
        assert_eq!(
            codes(text, FileKind::Config),
            vec![
                ("inline_comment", 2),
                ("duplicate_section", 3),
                ("section_whitespace", 4),
                ("quoted_section", 5),
                ("key_invalid", 8),
                ("duplicate_key", 9),
                ("leading_whitespace", 10),
                ("malformed_line", 11),
                ("section_unknown", 12),
            ]
        );
    }

    #[test]
    fn default_and_profile_default_are_the_same_section() {
        assert_eq!(
            codes("[default]\n[profile default]\n", FileKind::Config),
            vec![("duplicate_section", 2)]
        );
    }

    #[test]
    fn credentials_file_rules() {
        assert_eq!(
            codes("[profile x]\n[x]\n[a b]\n", FileKind::Credentials),
            vec![
                ("profile_prefix_in_credentials", 1),
                ("section_name_invalid", 3)
            ]
        );
    }

    #[test]
    fn keys_under_a_rejected_header_do_not_join_the_previous_section() {
        let doc = parse(b"[profile a]\n[weird]\nregion = x\n", FileKind::Config);
        assert_eq!(doc.sections.len(), 1);
        assert!(doc.sections[0].entries.is_empty());
    }

    #[test]
    fn url_fragments_are_not_comments() {
        let doc = parse(
            b"[sso-session s]\nsso_start_url = https://x/start#/\n",
            FileKind::Config,
        );
        assert_eq!(doc.issues, vec![]);
    }

    #[test]
    fn a_lone_carriage_return_is_refused_even_in_a_comment() {
        assert_eq!(
            codes(
                "# x\r[profile prod]\rregion = y\nregion = z\r\n",
                FileKind::Config
            ),
            vec![("carriage_return", 1), ("key_outside_section", 2)]
        );
    }

    #[test]
    fn only_printable_ascii_outside_comments() {
        assert_eq!(
            codes("# caf\u{e9} \u{0}\n[profile a]\nregion = x\u{a0}\nsso_session\u{a0}= s\noutput = j\u{1c}\n", FileKind::Config),
            vec![("unexpected_character", 3), ("unexpected_character", 4), ("unexpected_character", 5)]
        );
    }

    #[test]
    fn non_utf8_is_one_issue() {
        assert_eq!(
            codes("\u{0}", FileKind::Config),
            vec![("unexpected_character", 1)]
        );
        assert_eq!(
            parse(&[0xff, 0xfe], FileKind::Config).issues[0].code,
            Code::NotUtf8
        );
    }
}
