//! Shell-style globs over names (roles, accounts): the managed policy's role patterns and
//! discovery's `--role-pattern` and `--account-pattern` match the same way.

/// `*` any run of characters, `?` one character, everything else itself.
pub fn matches(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Positions in the pattern reachable after each character of the text.
    let mut states = vec![false; p.len() + 1];
    states[0] = true;
    let close = |states: &mut Vec<bool>| {
        for i in 0..p.len() {
            if states[i] && p[i] == '*' {
                states[i + 1] = true;
            }
        }
    };
    close(&mut states);
    for c in t {
        let mut next = vec![false; p.len() + 1];
        for i in 0..p.len() {
            if !states[i] {
                continue;
            }
            match p[i] {
                '*' => next[i] = true,
                '?' => next[i + 1] = true,
                x if x == c => next[i + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        states = next;
    }
    states[p.len()]
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("Kiro*", "KiroReadOnly"));
        assert!(matches("*Read*", "KiroReadOnly"));
        assert!(matches("Kiro?", "KiroW"));
        assert!(matches("*", ""));
        assert!(!matches("Kiro*", "AdministratorAccess"));
        assert!(!matches("Kiro", "KiroX"));
        assert!(!matches("kiro*", "KiroX"));
    }
}
