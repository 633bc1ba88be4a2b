//! The places the agent must not touch, and whether a path it names (written as a shell
//! would see it: globs, unknown parts, `..`, symlinks) could be one of them.
//!
//! A pattern is judged by every path it could match, not by its spelling: `~/.a*s`,
//! `~/.[a]ws/../.aws` and `$X/.aws` all reach `~/.aws`. An unknown part (a command's
//! output) may stand for anything, slashes included.

use std::path::{Path, PathBuf};

/// One character position of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pat {
    Char(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `[...]`: one character of the set (or not of it), never `/`.
    Class {
        set: Vec<(char, char)>,
        negated: bool,
    },
    /// A part only running the command could tell: anything, `/` included.
    Any,
}

pub type Pattern = Vec<Pat>;

/// What a word asks of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The protected places of one home directory.
#[derive(Debug, Clone)]
pub struct Guard {
    /// `~/.aws` under every name it has (as given, home resolved, link resolved).
    aws: Vec<String>,
    /// `~/.kiro` likewise: readable, never writable.
    kiro: Vec<String>,
    /// Whether `*` may match a leading dot (the script turned on `dotglob`).
    pub dotglob: bool,
    /// Whether globs ignore letter case (the script turned on `nocaseglob`).
    pub nocase: bool,
}

/// Why a path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Under `~/.aws` but not `~/.aws/kiro/`: the host's credentials and SSO token.
    HostAws,
    /// A write under `~/.aws` or `~/.kiro`: the isolated files, the agent, the steering.
    KiroWrite,
}

fn text(path: &Path) -> String {
    path.to_string_lossy().trim_end_matches('/').to_owned()
}

impl Guard {
    pub fn new(home: &Path) -> Guard {
        let mut homes = vec![home.to_owned()];
        if let Ok(real) = std::fs::canonicalize(home) {
            homes.push(real);
        }
        let mut aws = Vec::new();
        let mut kiro = Vec::new();
        for home in &homes {
            for (list, name) in [(&mut aws, ".aws"), (&mut kiro, ".kiro")] {
                let path = home.join(name);
                if let Ok(real) = std::fs::canonicalize(&path) {
                    list.push(text(&real));
                }
                list.push(text(&path));
            }
        }
        aws.sort();
        aws.dedup();
        kiro.sort();
        kiro.dedup();
        Guard {
            aws,
            kiro,
            dotglob: false,
            nocase: false,
        }
    }

    /// The refusal for an absolute pattern, if any path it could match is protected.
    pub fn judge(&self, pattern: &Pattern, access: Access) -> Option<Refusal> {
        // Most words are plain text: judged as a path, without the matcher.
        if let Some(path) = as_path(pattern) {
            return self.judge_plain(&lexical(&path.to_string_lossy()), access);
        }
        let pattern = normalise(pattern);
        if self.aws.iter().any(|root| self.host_aws(&pattern, root)) {
            return Some(Refusal::HostAws);
        }
        if access == Access::Write
            && self
                .aws
                .iter()
                .chain(&self.kiro)
                .any(|root| self.inside(&pattern, root))
        {
            return Some(Refusal::KiroWrite);
        }
        None
    }

    /// [`Guard::judge`] for a plain, normalised path.
    fn judge_plain(&self, path: &str, access: Access) -> Option<Refusal> {
        // With `nocaseglob`, letter case does not tell paths apart.
        let fold = |s: &str| {
            if self.nocase {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        };
        let within = |path: &str, root: &str| {
            path == root
                || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
        };
        let folded = fold(path);
        let below = |root: &str| within(&folded, &fold(root));
        for root in &self.aws {
            // The exception for the isolated files is exact, whatever the case rules.
            if below(root) && !within(path, &format!("{root}/kiro")) {
                return Some(Refusal::HostAws);
            }
        }
        if access == Access::Write && self.aws.iter().chain(&self.kiro).any(|r| below(r)) {
            return Some(Refusal::KiroWrite);
        }
        None
    }

    /// Whether the pattern could match a directory that holds `~/.aws` or `~/.kiro` (so
    /// that a recursive command walks into them).
    pub fn covers(&self, pattern: &Pattern) -> bool {
        if let Some(path) = as_path(pattern) {
            let path = lexical(&path.to_string_lossy());
            let dir = if path == "/" { String::new() } else { path };
            return self
                .aws
                .iter()
                .chain(&self.kiro)
                .any(|root| root.starts_with(&format!("{dir}/")));
        }
        let pattern = normalise(pattern);
        self.aws
            .iter()
            .chain(&self.kiro)
            .any(|root| self.ancestor(&pattern, root))
    }

    fn inside(&self, pattern: &Pattern, root: &str) -> bool {
        let states = self.feed(pattern, root);
        accepts(pattern, &states) || !self.step_all(pattern, &states, '/', false).is_empty()
    }

    fn host_aws(&self, pattern: &Pattern, root: &str) -> bool {
        let states = self.feed(pattern, root);
        if accepts(pattern, &states) {
            return true;
        }
        let below = self.step_all(pattern, &states, '/', false);
        below.iter().any(|&s| !only_kiro(&pattern[s..]))
    }

    fn ancestor(&self, pattern: &Pattern, root: &str) -> bool {
        let mut prefixes = vec!["/".to_owned()];
        for (i, c) in root.char_indices().skip(1) {
            if c == '/' {
                prefixes.push(root[..i].to_owned());
            }
        }
        prefixes.iter().any(|q| {
            let states = self.feed(pattern, q);
            accepts(pattern, &states)
                || accepts(pattern, &self.step_all(pattern, &states, '/', false))
        })
    }

    /// A guard for matching components only (no protected places).
    pub fn probe() -> Guard {
        Guard {
            aws: Vec::new(),
            kiro: Vec::new(),
            dotglob: true,
            nocase: true,
        }
    }

    /// Whether one path component's pattern could match `name`.
    pub fn component_matches(&self, component: &[Pat], name: &str) -> bool {
        let pattern: Pattern = component.to_vec();
        accepts(&pattern, &self.feed(&pattern, name))
    }

    fn feed(&self, pattern: &Pattern, text: &str) -> Vec<usize> {
        let mut states = closure(pattern, vec![0]);
        let mut previous = '/';
        for c in text.chars() {
            states = self.step_all(pattern, &states, c, previous == '/');
            previous = c;
            if states.is_empty() {
                break;
            }
        }
        states
    }

    fn step_all(&self, pattern: &Pattern, states: &[usize], c: char, start: bool) -> Vec<usize> {
        let hidden = c == '.' && start && !self.dotglob;
        let mut next = Vec::new();
        for &s in states {
            let Some(p) = pattern.get(s) else { continue };
            match p {
                Pat::Char(x) if *x == c || (self.nocase && x.eq_ignore_ascii_case(&c)) => {
                    next.push(s + 1)
                }
                Pat::Star if c != '/' && !hidden => next.push(s),
                Pat::One if c != '/' && !hidden => next.push(s + 1),
                Pat::Class { set, negated } if c != '/' && !hidden => {
                    let cases = [c, c.to_ascii_lowercase(), c.to_ascii_uppercase()];
                    let inside = cases[..if self.nocase { 3 } else { 1 }]
                        .iter()
                        .any(|c| set.iter().any(|(lo, hi)| (*lo..=*hi).contains(c)));
                    if inside != *negated {
                        next.push(s + 1);
                    }
                }
                Pat::Any => next.push(s),
                _ => {}
            }
        }
        closure(pattern, next)
    }
}

/// The states reachable without a character: past any `*` or unknown part.
fn closure(pattern: &Pattern, mut states: Vec<usize>) -> Vec<usize> {
    let mut i = 0;
    while i < states.len() {
        let s = states[i];
        if matches!(pattern.get(s), Some(Pat::Star | Pat::Any)) && !states.contains(&(s + 1)) {
            states.push(s + 1);
        }
        i += 1;
    }
    states.sort_unstable();
    states.dedup();
    states
}

fn accepts(pattern: &Pattern, states: &[usize]) -> bool {
    states
        .iter()
        .any(|&s| s == pattern.len() || (s + 1 == pattern.len() && pattern[s] == Pat::Char('/')))
}

/// A rest of pattern that can only name `kiro` or something inside it.
fn only_kiro(rest: &[Pat]) -> bool {
    let name: Vec<Pat> = "kiro".chars().map(Pat::Char).collect();
    rest.len() >= 4 && rest[..4] == name[..] && matches!(rest.get(4), None | Some(Pat::Char('/')))
}

/// `.` and `..` components resolved where the text allows it; `..` after a part that may
/// span directories becomes unknown itself.
pub fn normalise(pattern: &Pattern) -> Pattern {
    let mut components: Vec<Vec<Pat>> = vec![Vec::new()];
    for p in pattern {
        if *p == Pat::Char('/') {
            components.push(Vec::new());
        } else {
            components.last_mut().expect("one at least").push(p.clone());
        }
    }
    let dot = [Pat::Char('.')];
    let dotdot = [Pat::Char('.'), Pat::Char('.')];
    let mut out: Vec<Vec<Pat>> = Vec::new();
    for (i, component) in components.into_iter().enumerate() {
        if component[..] == dot[..] || (component.is_empty() && i > 0) {
            continue;
        }
        if component[..] == dotdot[..] {
            match out.last() {
                Some(last) if last.contains(&Pat::Any) => {
                    out.push(vec![Pat::Any]);
                }
                Some(last) if !last.is_empty() || out.len() > 1 => {
                    out.pop();
                }
                _ => {}
            }
            continue;
        }
        out.push(component);
    }
    let mut pattern = Vec::new();
    for (i, component) in out.iter().enumerate() {
        if i > 0 {
            pattern.push(Pat::Char('/'));
        }
        pattern.extend(component.iter().cloned());
    }
    if pattern.is_empty() {
        pattern.push(Pat::Char('/'));
    }
    pattern
}

/// A plain absolute path with `.`, `..` and repeated slashes resolved as text.
fn lexical(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// A literal absolute path as a pattern.
pub fn literal(path: &str) -> Pattern {
    path.chars().map(Pat::Char).collect()
}

/// The pattern as a plain path, when it has no glob and no unknown part.
pub fn as_path(pattern: &Pattern) -> Option<PathBuf> {
    pattern
        .iter()
        .map(|p| match p {
            Pat::Char(c) => Some(*c),
            _ => None,
        })
        .collect::<Option<String>>()
        .map(PathBuf::from)
}

/// Where a plain path really leads: its longest existing ancestor resolved through its
/// symlinks, the rest appended. (The ancestors are found with one `lstat` each; only the
/// one that exists is resolved.)
pub fn resolved(path: &Path) -> Option<PathBuf> {
    let mut existing = path.to_owned();
    let mut rest = Vec::new();
    while std::fs::symlink_metadata(&existing).is_err() {
        rest.push(existing.file_name()?.to_owned());
        if !existing.pop() || rest.len() > 256 {
            return None;
        }
    }
    // One judgement resolves the same directories (the working directory) many times.
    thread_local! {
        static RESOLVED: std::cell::RefCell<std::collections::HashMap<PathBuf, Option<PathBuf>>> =
            std::cell::RefCell::default();
    }
    let mut out = RESOLVED.with(|cache| {
        cache
            .borrow_mut()
            .entry(existing.clone())
            .or_insert_with(|| std::fs::canonicalize(&existing).ok())
            .clone()
    })?;
    for part in rest.iter().rev() {
        out.push(part);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(text: &str) -> Pattern {
        let mut out = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            out.push(match chars[i] {
                '*' => Pat::Star,
                '?' => Pat::One,
                '%' => Pat::Any,
                '[' => {
                    let end = chars[i..].iter().position(|&c| c == ']').unwrap() + i;
                    let set = chars[i + 1..end].iter().map(|&c| (c, c)).collect();
                    i = end;
                    Pat::Class {
                        set,
                        negated: false,
                    }
                }
                c => Pat::Char(c),
            });
            i += 1;
        }
        out
    }

    #[test]
    fn judges_every_path_a_pattern_could_match() {
        let guard = Guard::new(Path::new("/nonexistent/home/u"));
        let host = Some(Refusal::HostAws);
        let write = Some(Refusal::KiroWrite);
        for (pattern, read, written) in [
            ("/nonexistent/home/u/.aws/config", host, host),
            ("/nonexistent/home/u/.aws", host, host),
            ("/nonexistent/home/u/.aws/", host, host),
            ("/nonexistent/home/u/.aws/sso/cache/x.json", host, host),
            ("/nonexistent/home/u/.a*s/config", host, host),
            ("/nonexistent/home/u/.[a]ws/credentials", host, host),
            ("/nonexistent/home/u/.aw?", host, host),
            ("/nonexistent/home/u/.*", host, host),
            ("/nonexistent/home/u/%/config", host, host),
            ("%/.aws/config", host, host),
            ("/nonexistent/home/u/x/../.aws/config", host, host),
            ("/nonexistent/home/u/./.aws//config", host, host),
            ("/nonexistent/home/u/.aws/kiro/../config", host, host),
            ("/nonexistent/home/u/.aws/k*/config", host, host),
            ("/nonexistent/home/u/.aws/kiro/config", None, write),
            ("/nonexistent/home/u/.aws/kiro", None, write),
            (
                "/nonexistent/home/u/.kiro/agents/aws-readonly.json",
                None,
                write,
            ),
            ("/nonexistent/home/u/.k*/agents/x", None, write),
            ("/nonexistent/home/u/*", None, None),
            ("/nonexistent/home/u/project/.aws/config", None, None),
            ("/nonexistent/home/u/.awsx", None, None),
            ("/tmp/x", None, None),
            ("/nonexistent/home/u", None, None),
        ] {
            assert_eq!(guard.judge(&glob(pattern), Access::Read), read, "{pattern}");
            assert_eq!(
                guard.judge(&glob(pattern), Access::Write),
                written,
                "{pattern}"
            );
        }
        let dotted = Guard {
            dotglob: true,
            ..guard.clone()
        };
        assert_eq!(
            dotted.judge(&glob("/nonexistent/home/u/*"), Access::Read),
            host
        );
    }

    #[test]
    fn knows_which_directories_hold_the_protected_ones() {
        let guard = Guard::new(Path::new("/nonexistent/home/u"));
        for pattern in [
            "/",
            "/nonexistent",
            "/nonexistent/home/u",
            "/nonexistent/home/u/",
            "/n*",
            "%",
        ] {
            assert!(guard.covers(&glob(pattern)), "{pattern}");
        }
        for pattern in ["/tmp", "/nonexistent/home/u/src", "/nonexistent/home/v"] {
            assert!(!guard.covers(&glob(pattern)), "{pattern}");
        }
    }

    #[test]
    fn follows_symlinks_of_plain_paths() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        std::os::unix::fs::symlink(home.join(".aws"), dir.path().join("link")).unwrap();
        let guard = Guard::new(&home);
        let real = resolved(&dir.path().join("link/config")).unwrap();
        assert_eq!(
            guard.judge(&literal(&real.to_string_lossy()), Access::Read),
            Some(Refusal::HostAws)
        );
    }
}
