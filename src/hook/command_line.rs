//! The rules for a shell command line: split it as bash would, see through wrappers
//! (`env`, `sudo`, `bash -c`, `eval` ...), then judge every simple command: `aws` calls,
//! the variables the launch set, kiro-aws's own set-up commands, and every path a word
//! could name.

use std::collections::HashMap;

use crate::hook::expand::{self, Scope};
use crate::hook::guard::{self, Access, Pat, Pattern, Refusal};
use crate::hook::shell::{self, Command, Redirect, Word};
use crate::hook::{aws_call, Context, Decision};
use crate::launch::environment;

/// How deep `bash -c` and `eval` may nest before the line counts as unreadable.
const MAX_NESTING: usize = 8;

/// Commands that only read the paths they are given (options considered below).
const READERS: [&str; 39] = [
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "ls",
    "stat",
    "file",
    "wc",
    "grep",
    "egrep",
    "fgrep",
    "rg",
    "ag",
    "ack",
    "diff",
    "cmp",
    "jq",
    "bat",
    "batcat",
    "sort",
    "cut",
    "md5sum",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "shasum",
    "test",
    "[",
    "[[",
    "readlink",
    "realpath",
    "basename",
    "dirname",
    "du",
    "find",
    "echo",
    "printf",
    "cd",
];

/// Commands that walk into the directories they are given.
const WALKERS: [&str; 12] = [
    "find", "rg", "ag", "ack", "tree", "tar", "zip", "7z", "rsync", "cpio", "bsdtar", "fd",
];

/// Commands that only run the rest of their arguments, and the options of theirs that take
/// a value.
const WRAPPERS: [(&str, &[&str]); 20] = [
    ("command", &[]),
    ("builtin", &[]),
    ("exec", &["-a"]),
    ("nohup", &[]),
    ("setsid", &[]),
    ("time", &["-f", "-o"]),
    ("nice", &["-n"]),
    ("ionice", &["-c", "-n", "-p"]),
    ("stdbuf", &["-i", "-o", "-e"]),
    ("chronic", &[]),
    ("unbuffer", &[]),
    (
        "sudo",
        &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-R"],
    ),
    ("doas", &["-u", "-C"]),
    ("timeout", &["-s", "-k", "--signal", "--kill-after"]),
    (
        "xargs",
        &[
            "-I",
            "-n",
            "-P",
            "-d",
            "-E",
            "-L",
            "-s",
            "-a",
            "--max-args",
            "--max-procs",
        ],
    ),
    ("flock", &["-w", "-E", "--timeout"]),
    ("caffeinate", &["-t", "-w"]),
    ("strace", &["-o", "-e", "-p", "-s"]),
    ("ltrace", &["-o", "-e"]),
    ("systemd-run", &["-p", "-u", "--unit"]),
];

/// Programs whose output is their input transformed: piped into a shell, they run text
/// no reading of the line shows.
const DECODERS: [&str; 16] = [
    "base64", "base32", "rev", "tr", "xxd", "od", "openssl", "gzip", "gunzip", "zcat", "bzip2",
    "xz", "perl", "ruby", "awk", "sed",
];

const SHELLS: [&str; 9] = [
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox",
];

pub fn judge(line: &str, ctx: &Context) -> Decision {
    judge_nested(line, ctx, 0, false)
}

/// Longer lines are refused unread (a shell tool's commands are far shorter).
const MAX_LINE: usize = 256 << 10;

/// How many directories a line may be judged in before any directory counts.
const MAX_CWDS: usize = 16;

/// `as_data`: the text is some command's data that a shell may run (a pipe into `sh`):
/// judged as a command line, without looking for shells fed on stdin again.
fn judge_nested(line: &str, ctx: &Context, depth: usize, as_data: bool) -> Decision {
    if line.contains('\0') {
        return Decision::block("the command line holds a NUL byte; write it out plainly");
    }
    if line.len() > MAX_LINE {
        return Decision::block(
            "the command line is too long to check; put it in a script file and run that",
        );
    }
    if depth > MAX_NESTING {
        return Decision::block(
            "the command nests `bash -c` or `eval` too deep to check; write it out plainly",
        );
    }
    let script = match shell::parse(line) {
        Ok(script) => script,
        Err(shell::Unreadable(why)) => {
            return Decision::block(format!(
                "kiro-aws cannot read this command line ({why}); write it out plainly"
            ))
        }
    };
    let env = |name: &str| ctx.env_var(name);
    let home = ctx.home.to_string_lossy().into_owned();
    let cwd = ctx.cwds[0].to_string_lossy().into_owned();
    let mut scope = Scope {
        home: &home,
        cwd: &cwd,
        user: ctx.user.as_deref(),
        env: &env,
        assigned: HashMap::new(),
        ifs: Vec::new(),
    };
    // `IFS=...` anywhere: its characters split unquoted values too (unknown: all).
    for command in &script.commands {
        for (name, value) in &command.assignments {
            if name == "IFS" {
                match value.literal() {
                    Some(chars) => scope.ifs.extend(chars.chars()),
                    None => scope.ifs.extend("/:,=.-_".chars()),
                }
            }
        }
    }
    let mut judge = Judge {
        ctx,
        depth,
        guard: ctx.guard.clone(),
        cwds: ctx
            .cwds
            .iter()
            .map(|c| guard::literal(&c.to_string_lossy()))
            .collect(),
        stdin_shell: false,
        via_xargs: false,
    };
    for command in &script.commands {
        judge.learn_options(command, &scope);
    }
    // Variables set by a loop or an expansion (`for AWS_PROFILE in ...`,
    // `${HTTPS_PROXY:=...}`) are changes like any other.
    for name in script
        .loops
        .iter()
        .map(|(n, _)| n)
        .chain(&script.expansion_assignments)
    {
        if environment::is_guarded(name) {
            return Decision::block(format!(
                "do not set or unset {name}: the launch chose the AWS settings (the isolated files and the kiro profile); use `--profile kiro-...` on the aws command instead"
            ));
        }
    }
    // First every variable the line sets, with every value it could have, and every
    // directory it could change to.
    for (name, words) in &script.loops {
        let values = words
            .iter()
            .flat_map(|w| expand::expand(w, &scope))
            .collect();
        add(&mut scope.assigned, name, values);
    }
    for command in &script.commands {
        for (name, value) in &command.assignments {
            let values = expand::expand(value, &scope);
            add(&mut scope.assigned, name, values);
        }
        judge.learn(command, &mut scope);
    }
    if judge.cwds.len() > 1 {
        // After a `cd`, `$PWD` and `~+` are wherever the line went.
        let pwd = judge.cwds.clone();
        scope.assigned.insert("PWD".into(), pwd);
        scope.assigned.insert("OLDPWD".into(), vec![vec![Pat::Any]]);
    }
    for command in &script.commands {
        if let Some(refusal) = judge.command(command, &scope) {
            return refusal;
        }
    }
    if judge.stdin_shell && !as_data {
        // A shell reading its commands from a pipe or here-document: what it runs is
        // some other command's text. Judge every word as if it were a command line.
        for command in &script.commands {
            for word in command
                .words
                .iter()
                .chain(command.redirects.iter().map(|r| &r.1))
            {
                if let Some(text) = expand::plain(word, &scope) {
                    if let d @ Decision::Block(_) = judge_nested(&text, ctx, depth + 1, true) {
                        return d;
                    }
                }
            }
        }
        for body in heredoc_bodies(line) {
            if let d @ Decision::Block(_) = judge_nested(&body, ctx, depth + 1, true) {
                return d;
            }
        }
        // Pieces a command joins (`printf '%s' 'cat ~/.a' 'ws/x' | bash`), and text a
        // command transforms first, which no reading of the line can see.
        for command in &script.commands {
            let plain: Vec<String> = command
                .words
                .iter()
                .skip(1)
                .filter_map(|w| expand::plain(w, &scope))
                .collect();
            for joined in [plain.concat(), plain.join(" ")] {
                if let d @ Decision::Block(_) = judge_nested(&joined, ctx, depth + 1, true) {
                    return d;
                }
            }
            let name = command
                .words
                .first()
                .and_then(|w| expand::plain(w, &scope))
                .unwrap_or_default();
            if DECODERS.contains(&basename(&name)) {
                return Decision::block(format!(
                    "a shell runs what `{}` makes of its input, which kiro-aws cannot see; run the commands themselves",
                    basename(&name)
                ));
            }
        }
    }
    Decision::Allow
}

fn add(assigned: &mut HashMap<String, Vec<Pattern>>, name: &str, values: Vec<Pattern>) {
    let entry = assigned.entry(name.to_owned()).or_default();
    entry.extend(values);
    if entry.len() > 64 {
        *entry = vec![vec![Pat::Any]];
    }
}

/// The text between each `<<WORD` line and its end, for a shell that reads its stdin.
fn heredoc_bodies(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = line.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if let Some(at) = lines[i].find("<<") {
            let rest = lines[i][at + 2..]
                .trim_start_matches(['-', '<'])
                .trim_start();
            let delimiter: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && !";&|)".contains(*c))
                .filter(|c| !"'\"\\".contains(*c))
                .collect();
            if !delimiter.is_empty() {
                let mut body = String::new();
                i += 1;
                while i < lines.len() && lines[i].trim_start_matches('\t') != delimiter {
                    body.push_str(lines[i]);
                    body.push('\n');
                    i += 1;
                }
                out.push(body);
            }
        }
        i += 1;
    }
    out
}

struct Judge<'a> {
    ctx: &'a Context,
    depth: usize,
    guard: guard::Guard,
    /// Every directory a relative path could be relative to.
    cwds: Vec<Pattern>,
    stdin_shell: bool,
    /// The program gets arguments from `xargs`, which kiro-aws cannot see.
    via_xargs: bool,
}

fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

impl Judge<'_> {
    /// What a command tells about later ones: directories it changes to, variables it
    /// sets in ways only running it could tell, `dotglob`.
    fn learn(&mut self, command: &Command, scope: &mut Scope) {
        let words: Vec<Option<String>> = command
            .words
            .iter()
            .map(|w| expand::plain(w, scope))
            .collect();
        // `builtin cd`, `command cd`, `sudo -u x cd` ...
        let start = words
            .iter()
            .position(|w| {
                w.as_deref().is_none_or(|w| {
                    !matches!(
                        basename(w),
                        "builtin" | "command" | "exec" | "nohup" | "time"
                    )
                })
            })
            .unwrap_or(0);
        let name = words.get(start).cloned().flatten();
        let name = name.as_deref().map(basename);
        for w in words.iter().flatten() {
            if w.contains("dotglob") || w.contains("GLOBIGNORE") || w.contains("globstar") {
                self.guard.dotglob = true;
            }
            if w.contains("nocaseglob") || w.contains("nocasematch") {
                self.guard.nocase = true;
            }
        }
        if command.assignments.iter().any(|(n, _)| n == "GLOBIGNORE") {
            self.guard.dotglob = true;
        }
        if command.assignments.iter().any(|(n, _)| n == "CDPATH")
            || words
                .iter()
                .flatten()
                .any(|w| w.contains("CDPATH") || w.contains("cdable_vars"))
        {
            self.cwds.push(vec![Pat::Any]);
        }
        match name {
            Some("cd" | "pushd") => {
                let target = command.words.iter().skip(start + 1).find(|w| {
                    expand::plain(w, scope).is_none_or(|t| !t.starts_with('-') || t == "-")
                });
                match target {
                    Some(word) if expand::plain(word, scope).as_deref() == Some("-") => {
                        self.cwds.push(vec![Pat::Any]);
                    }
                    Some(word) => {
                        for pattern in expand::expand(word, scope) {
                            let absolute = self.absolute(&pattern);
                            self.cwds.extend(absolute);
                        }
                    }
                    None => self.cwds.push(guard::literal(scope.home)),
                }
            }
            // Directory changes kiro-aws does not follow: anything may be the directory.
            Some("popd" | "eval" | "source" | ".") => self.cwds.push(vec![Pat::Any]),
            Some(
                "read" | "mapfile" | "readarray" | "getopts" | "let" | "printf" | "declare"
                | "typeset" | "local" | "export" | "readonly",
            ) => {
                for word in &words[1..] {
                    let Some(word) = word else { continue };
                    let name = word.split('=').next().unwrap_or(word);
                    if !name.starts_with('-') && shell::is_name(name) {
                        scope
                            .assigned
                            .entry(name.to_owned())
                            .or_default()
                            .push(vec![Pat::Any]);
                    }
                }
            }
            _ => {}
        }
        self.cwds.sort_by_key(|p| format!("{p:?}"));
        self.cwds.dedup();
        if self.cwds.len() > MAX_CWDS {
            self.cwds = vec![vec![Pat::Any]];
        }
    }

    /// Options that run a command in another directory (`env -C`, `git -C`, `make -C`,
    /// `tar -C`): relative paths of the line may be relative to it.
    fn learn_options(&mut self, command: &Command, scope: &Scope) {
        for pair in command.words.windows(2) {
            let flag = expand::plain(&pair[0], scope);
            let flag = flag.as_deref().unwrap_or("");
            if matches!(
                flag,
                "-C" | "--chdir" | "--directory" | "--cwd" | "--work-tree" | "--git-dir"
            ) {
                for pattern in expand::expand(&pair[1], scope) {
                    let absolute = self.absolute(&pattern);
                    self.cwds.extend(absolute);
                }
            }
        }
        for word in &command.words {
            let text = expand::plain(word, scope).unwrap_or_default();
            for prefix in ["--chdir=", "--directory=", "--cwd="] {
                if let Some(dir) = text.strip_prefix(prefix) {
                    let absolute = self.absolute(&guard::literal(dir));
                    self.cwds.extend(absolute);
                }
            }
        }
        if self.cwds.len() > MAX_CWDS {
            self.cwds = vec![vec![Pat::Any]];
        }
    }

    /// Every absolute pattern a pattern could be, from every directory the line may be in.
    fn absolute(&self, pattern: &Pattern) -> Vec<Pattern> {
        // `/proc/self/cwd/...`, `/proc/1/root/...`: another name for a directory.
        if pattern.starts_with(&guard::literal("/proc/")) {
            let slashes: Vec<usize> = pattern
                .iter()
                .enumerate()
                .filter(|(_, p)| **p == Pat::Char('/'))
                .map(|(i, _)| i)
                .collect();
            let mut out = vec![Pat::Any];
            if let Some(&at) = slashes.get(3) {
                out.extend(pattern[at..].iter().cloned());
            }
            return vec![out];
        }
        match pattern.first() {
            Some(Pat::Char('/')) | Some(Pat::Any) => vec![pattern.clone()],
            _ => self
                .cwds
                .iter()
                .map(|cwd| {
                    let mut p = cwd.clone();
                    p.push(Pat::Char('/'));
                    p.extend(pattern.iter().cloned());
                    p
                })
                .collect(),
        }
    }

    fn command(&mut self, command: &Command, scope: &Scope) -> Option<Decision> {
        // An unquoted word that expands to nothing is no word at all (`$UNSET aws ...`
        // runs `aws`).
        let mut command = command.clone();
        command.words.retain(|w| {
            let quoted = w
                .parts
                .iter()
                .any(|p| matches!(p, shell::Part::Text { quoted: true, .. }));
            quoted || expand::expand(w, scope) != [Vec::new()]
        });
        let command = &command;
        for (name, value) in &command.assignments {
            if let Some(d) = self.variable_change(name) {
                return Some(d);
            }
            if let Some(d) = self.word(value, scope, Access::Read) {
                return Some(d);
            }
        }
        for (kind, target) in &command.redirects {
            let access = match kind {
                Redirect::Read => Access::Read,
                Redirect::Write => Access::Write,
                Redirect::Descriptor => continue,
                // Data, which `xargs` or a shell may turn into paths or commands.
                Redirect::HereString => {
                    let names_aws = expand::expand(target, scope).iter().any(names_aws_dir);
                    if names_aws {
                        return Some(refused(Refusal::HostAws, &shown(target, scope)));
                    }
                    continue;
                }
            };
            if let Some(d) = self.word(target, scope, access) {
                return Some(d);
            }
        }
        let plain: Vec<Option<String>> = command
            .words
            .iter()
            .map(|w| expand::plain(w, scope))
            .collect();
        let start = match self.unwrap(command, &plain, scope) {
            Ok((start, via_xargs)) => {
                self.via_xargs = via_xargs;
                start
            }
            Err(d) => return Some(d),
        };
        let name = plain.get(start).cloned().flatten();
        let name = name.as_deref().map(basename);
        let args = &plain[(start + 1).min(plain.len())..];
        if let Some(d) = self.program(name, start, args, command, scope) {
            return Some(d);
        }
        self.paths(name, start, command, scope)
    }

    /// Skip `env`, `sudo`, `nohup` and the like; judge `env`'s own changes. Returns where
    /// the real command starts.
    fn unwrap(
        &self,
        command: &Command,
        plain: &[Option<String>],
        scope: &Scope,
    ) -> Result<(usize, bool), Decision> {
        let mut i = 0;
        let mut via_xargs = false;
        while let Some(Some(word)) = plain.get(i) {
            let name = basename(word);
            if name == "env" {
                i += 1;
                while let Some(arg) = plain.get(i) {
                    let Some(arg) = arg else {
                        return Err(Decision::block(
                            "`env` gets an argument kiro-aws cannot see; write it out plainly",
                        ));
                    };
                    let clears = Err(Decision::block(
                        "`env -i` would remove AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE, which the launch set; run the command without it",
                    ));
                    // Long options by any prefix, as getopt reads them.
                    let long = |full: &str| {
                        let name = arg.split('=').next().unwrap_or(arg);
                        name.len() >= 3 && full.starts_with(name)
                    };
                    match arg.as_str() {
                        "-" => return clears,
                        a if a.starts_with("--") && long("--ignore-environment") => return clears,
                        a if a.starts_with("--") && long("--unset") => {
                            let name = match a.split_once('=') {
                                Some((_, n)) => Some(n.to_owned()),
                                None => {
                                    i += 1;
                                    plain.get(i).cloned().flatten()
                                }
                            };
                            if let Some(d) = self.variable_change(name.as_deref().unwrap_or("AWS_"))
                            {
                                return Err(d);
                            }
                            i += 1;
                        }
                        a if a.starts_with("--") && (long("--split-string")) => {
                            let text = match a.split_once('=') {
                                Some((_, t)) => Some(t.to_owned()),
                                None => {
                                    i += 1;
                                    plain.get(i).cloned().flatten()
                                }
                            };
                            if let d @ Decision::Block(_) = judge_nested(
                                &text.unwrap_or_default(),
                                self.ctx,
                                self.depth + 1,
                                false,
                            ) {
                                return Err(d);
                            }
                            i += 1;
                        }
                        a if a.starts_with("--") && (long("--chdir") || long("--argv0")) => {
                            i += if a.contains('=') { 1 } else { 2 };
                        }
                        a if a.starts_with("--") => i += 1,
                        // A cluster of short options: `-vi`, `-0i`, `-uNAME`, `-C DIR`.
                        a if a.starts_with('-') => {
                            let cluster: Vec<char> = a[1..].chars().collect();
                            let mut consumed_next = false;
                            for (k, c) in cluster.iter().enumerate() {
                                let rest: String = cluster[k + 1..].iter().collect();
                                match c {
                                    'i' => return clears,
                                    'u' | 'S' | 'C' | 'a' => {
                                        let value = if rest.is_empty() {
                                            consumed_next = true;
                                            plain.get(i + 1).cloned().flatten()
                                        } else {
                                            Some(rest)
                                        };
                                        if *c == 'u' {
                                            if let Some(d) = self
                                                .variable_change(value.as_deref().unwrap_or("AWS_"))
                                            {
                                                return Err(d);
                                            }
                                        }
                                        if *c == 'S' {
                                            if let d @ Decision::Block(_) = judge_nested(
                                                &value.unwrap_or_default(),
                                                self.ctx,
                                                self.depth + 1,
                                                false,
                                            ) {
                                                return Err(d);
                                            }
                                        }
                                        break;
                                    }
                                    _ => {}
                                }
                            }
                            i += if consumed_next { 2 } else { 1 };
                        }
                        a if shell::assignment(&command.words[i]).is_some() => {
                            let name = a.split('=').next().unwrap_or(a);
                            if let Some(d) = self.variable_change(name) {
                                return Err(d);
                            }
                            if let Some(d) = self.word(&command.words[i], scope, Access::Read) {
                                return Err(d);
                            }
                            i += 1;
                        }
                        _ => break,
                    }
                }
                continue;
            }
            let Some((_, valued)) = WRAPPERS.iter().find(|(w, _)| *w == name) else {
                break;
            };
            // Both hand the program arguments or an environment kiro-aws cannot see:
            // xargs from its input, sudo and doas a reset environment.
            via_xargs |= matches!(name, "xargs" | "sudo" | "doas");
            i += 1;
            while let Some(Some(arg)) = plain.get(i) {
                if !arg.starts_with('-') || arg == "-" {
                    break;
                }
                if name == "exec" && arg.starts_with('-') && arg.contains('c') {
                    return Err(Decision::block(
                        "`exec -c` would clear the environment the launch set; run the command without it",
                    ));
                }
                i += if valued.contains(&arg.as_str()) { 2 } else { 1 };
            }
            if name == "timeout" {
                // The duration.
                i += 1;
            }
            // `sudo NAME=VALUE cmd`: variables set for the command.
            while let Some(word) = command.words.get(i) {
                let Some((var, _)) = shell::assignment(word) else {
                    break;
                };
                if let Some(d) = self.variable_change(&var) {
                    return Err(d);
                }
                i += 1;
            }
        }
        Ok((i, via_xargs))
    }

    /// The rules that depend on which program runs.
    fn program(
        &mut self,
        name: Option<&str>,
        start: usize,
        args: &[Option<String>],
        command: &Command,
        scope: &Scope,
    ) -> Option<Decision> {
        let Some(name) = name else {
            // The program's name is only known by running the line: the `aws` rules
            // cannot tell whether they apply.
            let profile_flag = args
                .iter()
                .any(|a| a.as_deref().is_none_or(|a| a.starts_with("--profile")));
            return profile_flag.then(|| {
                Decision::block(
                    "kiro-aws cannot tell which program this runs; name it plainly (for example `aws ... --profile kiro-...`)",
                )
            });
        };
        let strs = || args.iter().map(|a| a.as_deref()).collect::<Vec<_>>();
        let runs_commands = matches!(name, "aws" | "aws.cmd" | "eval" | "kiro-aws")
            || SHELLS.contains(&name)
            || name.starts_with("python");
        if self.via_xargs && runs_commands {
            return Some(Decision::block(format!(
                "`{name}` under xargs, sudo or doas gets arguments or an environment kiro-aws cannot see; write the command out plainly"
            )));
        }
        match name {
            "aws" | "aws.cmd" => return aws_call::judge_cli(&strs(), self.ctx),
            n if n.starts_with("python") => {
                let module = args
                    .iter()
                    .enumerate()
                    .find_map(|(i, a)| match a.as_deref() {
                        Some("-m") => Some((i + 2, args.get(i + 1).cloned().flatten())),
                        Some(a) if a.starts_with("-m") && a.len() > 2 => {
                            Some((i + 1, Some(a[2..].to_owned())))
                        }
                        _ => None,
                    });
                if let Some((at, Some(m))) = module {
                    if m == "awscli" {
                        return aws_call::judge_cli(&strs()[at.min(args.len())..], self.ctx);
                    }
                }
            }
            "alias" => {
                for arg in args {
                    let Some(arg) = arg else {
                        return Some(Decision::block(
                            "`alias` gets a value kiro-aws cannot see; write it out plainly",
                        ));
                    };
                    if let Some((alias, body)) = arg.split_once('=') {
                        let judged = alias == "aws"
                            || alias == "kiro-aws"
                            || alias.starts_with("python")
                            || WRAPPERS.iter().any(|(w, _)| *w == alias)
                            || SHELLS.contains(&alias)
                            || matches!(
                                alias,
                                "env" | "cd" | "unset" | "export" | "declare" | "eval" | "source"
                            );
                        if judged {
                            return Some(Decision::block(format!(
                                "an alias named `{alias}` would change what kiro-aws judges; call the command itself"
                            )));
                        }
                        if let Some(d) = self.nested_line(&[Some(body.to_owned())], "alias") {
                            return Some(d);
                        }
                    }
                }
            }
            "find" => {
                let mut i = 0;
                while i < args.len() {
                    if matches!(
                        args[i].as_deref(),
                        Some("-exec" | "-execdir" | "-ok" | "-okdir")
                    ) {
                        let end = args[i + 1..]
                            .iter()
                            .position(|a| matches!(a.as_deref(), Some(";" | "+")))
                            .map_or(args.len(), |e| i + 1 + e);
                        if let Some(d) = self.nested_line(&args[i + 1..end], "find -exec") {
                            return Some(d);
                        }
                        i = end;
                    }
                    i += 1;
                }
            }
            "kiro-aws" => {
                let first = args.iter().flatten().find(|a| !a.starts_with('-'));
                if let Some(sub @ ("init" | "login")) = first.map(String::as_str) {
                    return Some(Decision::block(format!(
                        "`kiro-aws {sub}` changes the AWS set-up; only the user runs it: ask them"
                    )));
                }
            }
            "unset" => {
                for arg in args {
                    match arg {
                        None => {
                            return Some(Decision::block(
                                "`unset` gets a name kiro-aws cannot see; write it out plainly",
                            ))
                        }
                        Some(a) if a.starts_with('-') => {}
                        Some(a) => {
                            if let Some(d) = self.variable_change(a) {
                                return Some(d);
                            }
                        }
                    }
                }
            }
            "export" | "declare" | "typeset" | "local" | "readonly" | "read" | "mapfile"
            | "readarray" | "printf" | "getopts" => {
                for (i, arg) in args.iter().enumerate() {
                    let word = &command.words[start + 1 + i];
                    // `printf -vNAME`, `printf -v NAME`, `declare -n ref=NAME`: names too.
                    if let Some(a) = arg {
                        let named = a
                            .strip_prefix("-v")
                            .filter(|n| !n.is_empty())
                            .map(str::to_owned)
                            .or_else(|| {
                                (a == "-v")
                                    .then(|| args.get(i + 1).cloned().flatten())
                                    .flatten()
                            })
                            .into_iter()
                            .chain(a.split_once('=').map(|(_, v)| v.to_owned()));
                        for n in named {
                            if environment::is_guarded(&n) {
                                if let Some(d) = self.variable_change(&n) {
                                    return Some(d);
                                }
                            }
                        }
                    }
                    // `export NAME=VALUE`: the name is plain even when the value is not.
                    let target = match (shell::assignment(word), arg) {
                        (Some((target, _)), _) => target,
                        (None, Some(a)) => a.trim_start_matches(['-', '+']).to_owned(),
                        (None, None) => {
                            return Some(Decision::block(format!(
                                "`{name}` gets a name kiro-aws cannot see; write it out plainly"
                            )))
                        }
                    };
                    if let Some(d) = self.variable_change(&target) {
                        return Some(d);
                    }
                    if let Some(d) = self.word(word, scope, Access::Read) {
                        return Some(d);
                    }
                }
            }
            "eval" => return self.nested_line(args, "eval"),
            "watch" => {
                let rest: Vec<Option<String>> = args
                    .iter()
                    .skip_while(|a| a.as_deref().is_some_and(|a| a.starts_with('-')))
                    .cloned()
                    .collect();
                return self.nested_line(&rest, "watch");
            }
            n if SHELLS.contains(&n) || matches!(n, "source" | ".") => {
                let mut i = 0;
                let mut reads_stdin = true;
                while let Some(arg) = args.get(i) {
                    let Some(a) = arg.as_deref() else {
                        return Some(Decision::block(format!(
                            "`{n}` gets an argument kiro-aws cannot see; write it out plainly"
                        )));
                    };
                    let cluster = a.len() > 1 && !a.starts_with("--") && a.starts_with(['-', '+']);
                    if cluster && a[1..].contains('c') && SHELLS.contains(&n) {
                        return match args.get(i + 1) {
                            Some(Some(script)) => self.nested_line(&[Some(script.clone())], n),
                            _ => Some(Decision::block(format!(
                                "`{n} -c` runs a command kiro-aws cannot see; write it out plainly"
                            ))),
                        };
                    }
                    match a {
                        "-o" | "+o" | "-O" | "+O" | "--rcfile" | "--init-file" => i += 2,
                        "-s" => break,
                        "--" => {
                            reads_stdin = args.get(i + 1).is_none_or(|f| is_stdin(f.as_deref()));
                            break;
                        }
                        _ if cluster || a.starts_with("--") => i += 1,
                        file => {
                            reads_stdin = is_stdin(Some(file));
                            break;
                        }
                    }
                }
                if reads_stdin {
                    self.stdin_shell = true;
                }
            }
            _ => {}
        }
        None
    }

    fn nested_line(&self, args: &[Option<String>], name: &str) -> Option<Decision> {
        let parts: Option<Vec<&str>> = args.iter().map(|a| a.as_deref()).collect();
        let Some(parts) = parts else {
            return Some(Decision::block(format!(
                "`{name}` runs text kiro-aws cannot see; write the command out plainly"
            )));
        };
        match judge_nested(&parts.join(" "), self.ctx, self.depth + 1, false) {
            Decision::Allow => None,
            blocked => Some(blocked),
        }
    }

    fn variable_change(&self, name: &str) -> Option<Decision> {
        environment::is_guarded(name).then(|| {
            Decision::block(format!(
                "do not set or unset {name}: the launch chose the AWS settings (the isolated files and the kiro profile); use `--profile kiro-...` on the aws command instead"
            ))
        })
    }

    /// Every path the command's words could name, judged by what the command does with it.
    fn paths(
        &self,
        name: Option<&str>,
        start: usize,
        command: &Command,
        scope: &Scope,
    ) -> Option<Decision> {
        let words: Vec<&Word> = command.words.iter().collect();
        let plain: Vec<Option<String>> = words.iter().map(|w| expand::plain(w, scope)).collect();
        let flags: Vec<&str> = plain[start.min(plain.len())..]
            .iter()
            .flatten()
            .filter(|a| a.starts_with('-'))
            .map(String::as_str)
            .collect();
        // What counts as recursive depends on the command: `ls -a` lists, `cp -a` copies
        // a tree.
        let recursive_letters: &str = match name {
            Some("ls" | "chmod" | "chown" | "chgrp") => "R",
            Some("cp" | "scp") => "rRa",
            _ => "rR",
        };
        let recursive = flags.iter().any(|f| {
            *f == "--recursive"
                || *f == "--dereference-recursive"
                || (!f.starts_with("--") && f[1..].chars().any(|c| recursive_letters.contains(c)))
        });
        let writes_in_place = match name {
            Some("sed") => flags
                .iter()
                .any(|f| f.starts_with("-i") || *f == "--in-place"),
            Some("sort") => flags.iter().any(|f| {
                (!f.starts_with("--") && f.contains('o'))
                    || (f.starts_with("--o")
                        && "--output".starts_with(f.split('=').next().unwrap_or(f)))
            }),
            Some("find") => flags.iter().any(|f| {
                matches!(
                    *f,
                    "-delete"
                        | "-exec"
                        | "-execdir"
                        | "-ok"
                        | "-okdir"
                        | "-fprint"
                        | "-fprint0"
                        | "-fprintf"
                        | "-fls"
                )
            }),
            _ => false,
        };
        let reader = name.is_some_and(|n| READERS.contains(&n)) && !writes_in_place;

        let recursive = recursive
            || flags.iter().any(|f| f.starts_with("--directories=recurse"))
            || plain.windows(2).any(|w| {
                matches!(w[0].as_deref(), Some("-d" | "--directories"))
                    && w[1].as_deref() == Some("recurse")
            });
        let git_grep =
            name == Some("git") && plain.get(start + 1).and_then(|a| a.as_deref()) == Some("grep");
        let walks = name.is_some_and(|n| WALKERS.contains(&n) || n == "aws" || n == "ln")
            || git_grep
            || (recursive
                && matches!(
                    name,
                    Some(
                        "grep"
                            | "egrep"
                            | "fgrep"
                            | "ls"
                            | "cp"
                            | "scp"
                            | "zip"
                            | "chmod"
                            | "chown"
                            | "rm"
                            | "diff"
                    )
                ));
        // A walk with no directory named walks the working directory.
        let rest = &plain[(start + 1).min(plain.len())..];
        let not_option = |a: &&Option<String>| a.as_deref().is_none_or(|a| !a.starts_with('-'));
        // find's directories come before its first expression; others' anywhere.
        let named_dirs = if name == Some("find") {
            rest.iter().take_while(not_option).count()
        } else {
            rest.iter().filter(not_option).count()
        };
        let pattern_first =
            matches!(name, Some("grep" | "egrep" | "fgrep" | "rg" | "ag" | "ack")) || git_grep;
        if walks
            && named_dirs <= usize::from(pattern_first)
            && name != Some("aws")
            && self.cwds.iter().any(|p| self.guard.covers(p))
        {
            return Some(Decision::block(
                "this walks the working directory, which holds ~/.aws (the host's credentials); search or copy inside the project directory instead",
            ));
        }
        for (i, word) in words.iter().enumerate() {
            // A command that is not a known reader may write any path it is given
            // (`cp -t DIR`, `uniq IN OUT`, `ln -s ~/.kiro k`).
            let access = if i <= start || reader {
                Access::Read
            } else {
                Access::Write
            };
            if name == Some("aws") {
                if let Some(d) = self.aws_file_argument(word, scope) {
                    return Some(d);
                }
            }
            if let Some(d) = self.word(word, scope, access) {
                return Some(d);
            }
            if walks && i > start {
                let covered = expand::expand(word, scope)
                    .iter()
                    .flat_map(|p| self.absolute(&self.strip(p)))
                    .filter(|p| {
                        !p.contains(&Pat::Any)
                            || names_protected_dir(p)
                            || self.home_prefix_then_unknown(p)
                    })
                    .any(|p| self.guard.covers(&p));
                if covered {
                    return Some(Decision::block(format!(
                        "`{}` walks a directory that holds ~/.aws (the host's credentials); search or copy inside the project directory instead",
                        shown(word, scope)
                    )));
                }
            }
        }
        None
    }

    /// The refusal for one word used as a path, if any.
    fn word(&self, word: &Word, scope: &Scope, access: Access) -> Option<Decision> {
        for pattern in expand::expand(word, scope) {
            // `.aws` written as a directory anywhere in a word, whatever comes before it
            // (`%s/.aws/credentials` for printf, a prefix only running the line tells);
            // and for a write, `.kiro` or `.aws` anywhere.
            if names_aws_dir(&pattern) {
                return Some(refused(Refusal::HostAws, &shown(word, scope)));
            }
            if access == Access::Write && names_dir(&pattern, &[".kiro", ".aws"]) {
                return Some(refused(Refusal::KiroWrite, &shown(word, scope)));
            }
            let mut candidates = vec![self.strip(&pattern)];
            if let Some(eq) = pattern.iter().position(|p| *p == Pat::Char('=')) {
                candidates.push(self.strip(&pattern[eq + 1..].to_vec()));
            }
            for candidate in candidates {
                for absolute in self.absolute(&candidate) {
                    if let Some(refusal) = self.judge_path(&absolute, access) {
                        return Some(refused(refusal, &shown(word, scope)));
                    }
                }
            }
        }
        None
    }

    /// An unknown part right below a directory that holds `~/.aws` or `~/.kiro` (`~/$(x)`,
    /// `~/.aw@(s)`): it could be one of them.
    fn home_prefix_then_unknown(&self, pattern: &Pattern) -> bool {
        let Some(first) = pattern.iter().position(|p| *p == Pat::Any) else {
            return false;
        };
        let Some(slash) = pattern[..first].iter().rposition(|p| *p == Pat::Char('/')) else {
            return false;
        };
        let prefix: Pattern = if slash == 0 {
            vec![Pat::Char('/')]
        } else {
            pattern[..slash].to_vec()
        };
        !prefix.is_empty() && self.guard.covers(&prefix)
    }

    /// The AWS CLI expands `~` and `$NAME` inside `file://` and `fileb://` arguments
    /// itself: such an argument is judged as if the shell had expanded it.
    fn aws_file_argument(&self, word: &Word, scope: &Scope) -> Option<Decision> {
        let text = expand::plain(word, scope)?;
        let rest = text
            .strip_prefix("fileb://")
            .or_else(|| text.strip_prefix("file://"))?;
        if !rest.contains('$') && !rest.starts_with('~') {
            return None;
        }
        let script = shell::parse(&format!("cat {rest}")).ok()?;
        let command = script.commands.last()?;
        command
            .words
            .get(1)
            .and_then(|w| self.word(w, scope, Access::Read))
    }

    /// `file://`, `fileb://` and a leading `@` name a file too, and the AWS CLI expands
    /// a `~` after them.
    fn strip(&self, pattern: &Pattern) -> Pattern {
        let mut out = pattern.clone();
        for prefix in ["fileb://", "file://", "@"] {
            let p = guard::literal(prefix);
            if pattern.starts_with(&p) {
                out = pattern[p.len()..].to_vec();
                break;
            }
        }
        if out.first() == Some(&Pat::Char('~')) && matches!(out.get(1), None | Some(Pat::Char('/')))
        {
            let mut home = guard::literal(&self.ctx.home.to_string_lossy());
            home.extend(out.drain(1..));
            out = home;
        }
        out
    }

    fn judge_path(&self, pattern: &Pattern, access: Access) -> Option<Refusal> {
        // A part only running the line could tell may stand for anything; it is judged
        // only beside text that names one of the protected directories (`$(x)/.aws`),
        // not on its own (`"$(cat msg)"`).
        if pattern.contains(&Pat::Any)
            && !names_protected_dir(pattern)
            && !self.home_prefix_then_unknown(pattern)
        {
            return None;
        }
        if let Some(refusal) = self.guard.judge(pattern, access) {
            return Some(refusal);
        }
        let real = guard::as_path(&guard::normalise(pattern)).and_then(|p| guard::resolved(&p))?;
        self.guard
            .judge(&guard::literal(&real.to_string_lossy()), access)
    }
}

fn shown(word: &Word, scope: &Scope) -> String {
    expand::plain(word, scope).unwrap_or_else(|| "(a computed path)".into())
}

pub fn refused(refusal: Refusal, what: &str) -> Decision {
    match refusal {
        Refusal::HostAws => Decision::block(format!(
            "`{what}` reaches ~/.aws outside ~/.aws/kiro, where the host's credentials and SSO token are; everything you need is in the kiro profiles (`aws --profile kiro-...`)"
        )),
        Refusal::KiroWrite => Decision::block(format!(
            "`{what}` would change kiro-aws's or Kiro's own files under ~/.aws or ~/.kiro; they are read-only to you: write inside the project instead"
        )),
    }
}

/// `/dev/stdin` and the like: a script read from standard input.
fn is_stdin(file: Option<&str>) -> bool {
    matches!(
        file,
        None | Some("-" | "/dev/stdin" | "/dev/fd/0" | "/proc/self/fd/0")
    )
}

/// The components of a pattern, split at its literal slashes.
fn components(pattern: &Pattern) -> Vec<&[Pat]> {
    pattern.split(|p| *p == Pat::Char('/')).collect()
}

/// A literal directory of these names anywhere in the word but its last component.
fn names_dir(pattern: &Pattern, names: &[&str]) -> bool {
    let parts = components(pattern);
    parts.len() > 1
        && parts[..parts.len() - 1]
            .iter()
            .any(|c| names.iter().any(|n| *c == guard::literal(n).as_slice()))
}

/// A literal `.aws` directory in the word whose next component is not `kiro`.
fn names_aws_dir(pattern: &Pattern) -> bool {
    let parts = components(pattern);
    let dot_aws = guard::literal(".aws");
    let kiro = guard::literal("kiro");
    parts.iter().enumerate().any(|(i, c)| {
        *c == dot_aws.as_slice() && parts.get(i + 1).is_none_or(|next| *next != kiro.as_slice())
    })
}

/// Whether a component without an unknown part could be `.aws` or `.kiro`.
fn names_protected_dir(pattern: &Pattern) -> bool {
    let probe = guard::Guard::probe();
    components(pattern)
        .iter()
        .filter(|c| !c.contains(&Pat::Any) && !c.is_empty())
        .any(|c| probe.component_matches(c, ".aws") || probe.component_matches(c, ".kiro"))
}
