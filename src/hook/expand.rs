//! A word as the shell would expand it, or every way it could: braces, `~`, variables
//! (from the environment the tool inherits, or assigned earlier in the same line),
//! globs. What only running the line could tell becomes an unknown part.

use std::collections::HashMap;

use crate::hook::guard::{Pat, Pattern};
use crate::hook::shell::{Part, Word};

/// More ways than this, and a word counts as unknown.
const MAX_CANDIDATES: usize = 64;

/// What a word's variables and `~` stand for.
pub struct Scope<'a> {
    pub home: &'a str,
    pub cwd: &'a str,
    /// The account's name, for `~NAME`.
    pub user: Option<&'a str>,
    /// The tool's environment.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Variables the line itself assigns: every value it could have.
    pub assigned: HashMap<String, Vec<Pattern>>,
    /// Characters the line makes word separators (`IFS=...`), beside whitespace.
    pub ifs: Vec<char>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Char(char, bool),
    Tilde(String),
    Var(String),
    Unknown,
}

/// Every pattern the word could expand to (at least one).
pub fn expand(word: &Word, scope: &Scope) -> Vec<Pattern> {
    let toks: Vec<Tok> = word
        .parts
        .iter()
        .flat_map(|part| match part {
            Part::Text { text, quoted } => text.chars().map(|c| Tok::Char(c, *quoted)).collect(),
            Part::Tilde(name) => vec![Tok::Tilde(name.clone())],
            Part::Var(name) => vec![Tok::Var(name.clone())],
            Part::Unknown => vec![Tok::Unknown],
        })
        .collect();
    let mut out: Vec<Pattern> = Vec::new();
    for alternative in braces(toks) {
        let mut partial: Vec<Pattern> = vec![Vec::new()];
        let mut chars: Vec<(char, bool)> = Vec::new();
        let flush = |partial: &mut Vec<Pattern>, chars: &mut Vec<(char, bool)>| {
            let glob = globbed(chars);
            for p in partial.iter_mut() {
                p.extend(glob.iter().cloned());
            }
            chars.clear();
        };
        for tok in alternative {
            match tok {
                Tok::Char(c, quoted) => chars.push((c, quoted)),
                other => {
                    flush(&mut partial, &mut chars);
                    let values = match other {
                        Tok::Tilde(name) => vec![tilde(&name, scope)],
                        Tok::Var(name) => variable(&name, scope),
                        _ => vec![vec![Pat::Any]],
                    };
                    partial = product(&partial, &values);
                }
            }
        }
        flush(&mut partial, &mut chars);
        out.extend(partial);
        if out.len() > MAX_CANDIDATES {
            return vec![vec![Pat::Any]];
        }
    }
    out
}

/// The word's single plain value, when it can only be one string.
pub fn plain(word: &Word, scope: &Scope) -> Option<String> {
    match &expand(word, scope)[..] {
        [one] => crate::hook::guard::as_path(one).map(|p| p.to_string_lossy().into_owned()),
        _ => None,
    }
}

fn product(partial: &[Pattern], values: &[Pattern]) -> Vec<Pattern> {
    let mut out = Vec::new();
    for p in partial {
        for v in values {
            let mut joined = p.clone();
            joined.extend(v.iter().cloned());
            out.push(joined);
            if out.len() > MAX_CANDIDATES {
                return vec![vec![Pat::Any]];
            }
        }
    }
    out
}

fn tilde(name: &str, scope: &Scope) -> Pattern {
    let literal = |s: &str| s.chars().map(Pat::Char).collect();
    match name {
        "" => literal(scope.home),
        "+" => literal(scope.cwd),
        name if Some(name) == scope.user => literal(scope.home),
        _ => vec![Pat::Any],
    }
}

/// Each value, and each of its fields: an unquoted expansion is split into several words
/// at whitespace and at what `IFS=` named (`X="a $HOME/.aws/x"; cat $X`).
fn with_fields(values: Vec<Pattern>, ifs: &[char]) -> Vec<Pattern> {
    let mut out = values.clone();
    for value in values {
        let fields: Vec<&[Pat]> = value
            .split(|p| match p {
                Pat::Char(c) => c.is_whitespace() || ifs.contains(c),
                _ => false,
            })
            .filter(|f| !f.is_empty())
            .collect();
        if fields.len() > 1 {
            out.extend(fields.into_iter().map(<[Pat]>::to_vec));
        }
    }
    out
}

fn variable(name: &str, scope: &Scope) -> Vec<Pattern> {
    with_fields(raw_variable(name, scope), &scope.ifs)
}

fn raw_variable(name: &str, scope: &Scope) -> Vec<Pattern> {
    if let Some(values) = scope.assigned.get(name) {
        return values.clone();
    }
    let literal = |s: &str| vec![s.chars().map(Pat::Char).collect()];
    match name {
        "HOME" => literal(scope.home),
        "PWD" => literal(scope.cwd),
        "OLDPWD" | "RANDOM" | "LINENO" | "SECONDS" | "BASHPID" | "REPLY" | "IFS" => {
            vec![vec![Pat::Any]]
        }
        _ => match (scope.env)(name) {
            Some(value) => vec![globbed(
                &value.chars().map(|c| (c, false)).collect::<Vec<_>>(),
            )],
            // Unset: the shell expands it to nothing.
            None => vec![Vec::new()],
        },
    }
}

/// A glob as a tool takes it (no quoting): `*`, `?` and `[...]` are globs.
pub fn glob_text(text: &str) -> Pattern {
    let mut out = globbed(&text.chars().map(|c| (c, false)).collect::<Vec<_>>());
    // A tool's `**` crosses directories.
    while let Some(i) = out.windows(2).position(|w| w == [Pat::Star, Pat::Star]) {
        out.splice(i..i + 2, [Pat::Any]);
    }
    out
}

/// Unquoted `*`, `?` and `[...]` become globs; everything else is literal.
fn globbed(chars: &[(char, bool)]) -> Pattern {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (c, quoted) = chars[i];
        i += 1;
        if quoted {
            out.push(Pat::Char(c));
            continue;
        }
        match c {
            '*' => out.push(Pat::Star),
            '?' => out.push(Pat::One),
            '[' => match class(&chars[i..]) {
                Some((pat, used)) => {
                    out.push(pat);
                    i += used;
                }
                None => out.push(Pat::Char('[')),
            },
            c => out.push(Pat::Char(c)),
        }
    }
    out
}

/// `[...]` after its `[`: the class and how many characters it used.
fn class(chars: &[(char, bool)]) -> Option<(Pat, usize)> {
    // A class is short; a `[` without its `]` nearby is a literal `[` (and no rescan of
    // the whole word for each one).
    let chars = &chars[..chars.len().min(256)];
    let mut i = 0;
    let negated = matches!(chars.first(), Some(('!' | '^', false)));
    if negated {
        i += 1;
    }
    let mut set = Vec::new();
    let mut first = true;
    while i < chars.len() {
        let (c, quoted) = chars[i];
        if c == ']' && !quoted && !first {
            return Some((Pat::Class { set, negated }, i + 1));
        }
        if c == '[' && !quoted && chars.get(i + 1).map(|x| x.0) == Some(':') {
            // A character class name such as [:alpha:]: any character at all.
            set.push(('\0', char::MAX));
            let end = chars[i..]
                .windows(2)
                .position(|w| w[0].0 == ':' && w[1].0 == ']')?;
            i += end + 2;
            first = false;
            continue;
        }
        if chars.get(i + 1).map(|x| x.0) == Some('-')
            && chars.get(i + 2).is_some_and(|x| x.0 != ']')
        {
            set.push((c, chars[i + 2].0));
            i += 3;
        } else {
            set.push((c, c));
            i += 1;
        }
        first = false;
    }
    None
}

/// Brace expansion: `a{b,c}d` is `abd` and `acd`; a sequence `{1..9}` stands for anything.
fn braces(toks: Vec<Tok>) -> Vec<Vec<Tok>> {
    let mut done = Vec::new();
    let mut todo = vec![toks];
    while let Some(toks) = todo.pop() {
        if done.len() + todo.len() > MAX_CANDIDATES {
            return vec![vec![Tok::Unknown]];
        }
        match first_group(&toks) {
            None => done.push(toks),
            Some((open, close, commas)) => {
                let head = &toks[..open];
                let tail = &toks[close + 1..];
                if commas.is_empty() {
                    // `{a..z}`: a sequence; anything else is literal text (left as is).
                    let inner = &toks[open + 1..close];
                    let dots = inner
                        .windows(2)
                        .any(|w| w[0] == Tok::Char('.', false) && w[1] == Tok::Char('.', false));
                    let mut next = head.to_vec();
                    if dots {
                        next.push(Tok::Unknown);
                    } else {
                        next.push(Tok::Char('{', true));
                        next.extend(inner.iter().cloned());
                        next.push(Tok::Char('}', true));
                    }
                    next.extend(tail.iter().cloned());
                    todo.push(next);
                    continue;
                }
                let mut start = open + 1;
                for end in commas.iter().copied().chain([close]) {
                    let mut next = head.to_vec();
                    next.extend(toks[start..end].iter().cloned());
                    next.extend(tail.iter().cloned());
                    todo.push(next);
                    start = end + 1;
                }
            }
        }
    }
    done
}

/// The first unquoted `{...}` group: its braces and its top-level commas.
fn first_group(toks: &[Tok]) -> Option<(usize, usize, Vec<usize>)> {
    for (open, tok) in toks.iter().enumerate() {
        if *tok != Tok::Char('{', false) {
            continue;
        }
        let mut depth = 0;
        let mut commas = Vec::new();
        for (i, tok) in toks.iter().enumerate().skip(open) {
            match tok {
                Tok::Char('{', false) => depth += 1,
                Tok::Char('}', false) => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((open, i, commas));
                    }
                }
                Tok::Char(',', false) if depth == 1 => commas.push(i),
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::guard::as_path;
    use crate::hook::shell::parse;

    fn all(line: &str) -> Vec<String> {
        let env =
            |name: &str| (name == "AWS_CONFIG_FILE").then(|| "/h/.aws/kiro/config".to_owned());
        let scope = Scope {
            home: "/h",
            cwd: "/h/src",
            user: Some("dev"),
            env: &env,
            assigned: HashMap::new(),
            ifs: Vec::new(),
        };
        let script = parse(line).unwrap();
        let last = script.commands.last().unwrap();
        let mut out: Vec<String> = expand(&last.words[1], &scope)
            .iter()
            .map(|p| match as_path(p) {
                Some(p) => p.to_string_lossy().into_owned(),
                None => format!("{p:?}"),
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn expands_as_the_shell_would() {
        assert_eq!(all("cat ~/.aws"), ["/h/.aws"]);
        assert_eq!(all("cat ~dev/.aws"), ["/h/.aws"]);
        assert_eq!(all("cat \"$HOME\"/.a'w's"), ["/h/.aws"]);
        assert_eq!(all("cat ${HOME}/x"), ["/h/x"]);
        assert_eq!(all("cat $AWS_CONFIG_FILE"), ["/h/.aws/kiro/config"]);
        assert_eq!(all("cat $UNSET/x"), ["/x"]);
        assert_eq!(all("cat ~/.{aw,x}s"), ["/h/.aws", "/h/.xs"]);
        assert_eq!(all("cat ~/.{a{w,b},c}s"), ["/h/.abs", "/h/.aws", "/h/.cs"]);
        assert_eq!(all("cat '~/.aws'"), ["~/.aws"]);
        assert_eq!(all("cat ~+/x"), ["/h/src/x"]);
        assert_eq!(all("cat \"*\""), ["*"]);
        assert_eq!(
            all("cat ~/.a*"),
            ["[Char('/'), Char('h'), Char('/'), Char('.'), Char('a'), Star]"]
        );
        assert_eq!(all("cat ~other/x"), ["[Any, Char('/'), Char('x')]"]);
        assert_eq!(all("cat $(x)"), ["[Any]"]);
        assert_eq!(all("cat {1..3}"), ["[Any]"]);
    }
}
