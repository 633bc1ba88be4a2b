//! Text from elsewhere (a server's answer, a name it lists) made safe to print on a
//! terminal: control characters, escape sequences and bidirectional overrides could
//! otherwise rewrite what the user sees, so each is shown as its `\u{..}` escape.

use std::borrow::Cow;

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
            | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control and bidirectional formatting character escaped.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn escapes_what_could_rewrite_the_terminal() {
        assert_eq!(printable("KiroReadOnly"), "KiroReadOnly");
        assert_eq!(printable("café"), "café");
        assert_eq!(
            printable("a\nkiro-aws: ok\x1b]0;x\x07"),
            "a\\u{a}kiro-aws: ok\\u{1b}]0;x\\u{7}"
        );
        assert_eq!(printable("abc\u{202e}fed"), "abc\\u{202e}fed");
    }
}
