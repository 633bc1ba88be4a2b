//! A shell command line split the way bash would split it, far enough to judge it: words
//! with their quoting, variable and command substitutions, simple commands with their
//! assignments and redirections, and the commands inside `$(...)`, backquotes, process
//! substitutions and here-documents. Nothing is run and no file is read.
//!
//! What this cannot follow (a word built from a command's output, a script file) is kept
//! as an unknown part, so the judge can be cautious about it.

/// One part of a word, before expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Text; `quoted` when it came from quotes or a backslash (never a glob then).
    Text { text: String, quoted: bool },
    /// `~` or `~NAME` at the start of a word (or after `=` / `:`).
    Tilde(String),
    /// `$NAME` or `${NAME}`.
    Var(String),
    /// Anything whose value only running the shell can tell: `$(...)`, `$1`, `${X:-y}`.
    Unknown,
}

/// A word as written, parts in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    pub parts: Vec<Part>,
}

impl Word {
    /// The word's text when it is plain text (quoted or not) and nothing else.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text { text, .. } => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }

    fn push_text(&mut self, c: char, quoted: bool) {
        if let Some(Part::Text { text, quoted: q }) = self.parts.last_mut() {
            if *q == quoted {
                text.push(c);
                return;
            }
        }
        self.parts.push(Part::Text {
            text: c.to_string(),
            quoted,
        });
    }
}

/// How a redirection uses its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// `<`: the target is read.
    Read,
    /// `>`, `>>`, `>|`, `&>`, `<>`: the target is written.
    Write,
    /// `>&N`, `<&N`: a descriptor, not a path.
    Descriptor,
    /// `<<<`: the target is data, not a path.
    HereString,
}

/// One simple command: `NAME=VALUE... WORD... [REDIRECTION...]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    pub assignments: Vec<(String, Word)>,
    pub words: Vec<Word>,
    pub redirects: Vec<(Redirect, Word)>,
}

/// A whole command line: its simple commands in order, those inside substitutions and
/// here-documents included, and the variables loops or `read` set (values unknown).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
    /// `for NAME in WORDS`: the values the loop gives NAME.
    pub loops: Vec<(String, Vec<Word>)>,
    /// Variables an expansion assigns (`${NAME:=value}`, `${NAME=value}`).
    pub expansion_assignments: Vec<String>,
}

/// The command line cannot be split the way a shell would split it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// How deep substitutions may nest before the line counts as unreadable.
const MAX_DEPTH: usize = 16;

pub fn parse(source: &str) -> Result<Script, Unreadable> {
    let mut script = Script::default();
    Parser::new(source, 0, &mut script).run()?;
    Ok(script)
}

const KEYWORDS: [&str; 17] = [
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "case", "esac", "!", "{",
    "}", "[[", "time", "coproc",
];

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    script: &'a mut Script,
    /// Here-documents announced on this line: (delimiter, quoted, strip tabs).
    pending_heredocs: Vec<(String, bool, bool)>,
}

enum Token {
    Word(Word),
    /// `;`, `&`, `&&`, `||`, `|`, `|&`, `(`, `)`, `;;`, newline: ends a simple command.
    Separator,
    Redirect(Redirect),
    HereDoc {
        strip_tabs: bool,
    },
}

impl<'a> Parser<'a> {
    fn new(source: &str, depth: usize, script: &'a mut Script) -> Self {
        Parser {
            chars: source.chars().collect(),
            pos: 0,
            depth,
            script,
            pending_heredocs: Vec::new(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn run(mut self) -> Result<(), Unreadable> {
        if self.depth > MAX_DEPTH {
            return Err(Unreadable("substitutions nest too deep"));
        }
        let mut current = Command::default();
        // A `for`/`select` header in progress: the loop variable and its words.
        let mut header: Option<(String, Vec<Word>, bool)> = None;
        // The word after `case` and the patterns of a `case` list are not commands.
        let mut expect_redirect: Option<Redirect> = None;
        let mut heredoc_next: Option<bool> = None;
        let mut after_function = false;
        while let Some(token) = self.next_token()? {
            if let Some(strip) = heredoc_next.take() {
                let Token::Word(word) = token else {
                    return Err(Unreadable("a here-document needs a delimiter"));
                };
                let quoted = word
                    .parts
                    .iter()
                    .any(|p| matches!(p, Part::Text { quoted: true, .. }));
                let delimiter = word
                    .parts
                    .iter()
                    .map(|p| match p {
                        Part::Text { text, .. } => text.clone(),
                        _ => String::new(),
                    })
                    .collect();
                self.pending_heredocs.push((delimiter, quoted, strip));
                continue;
            }
            if let Some(kind) = expect_redirect.take() {
                let Token::Word(word) = token else {
                    return Err(Unreadable("a redirection needs a target"));
                };
                current.redirects.push((kind, word));
                continue;
            }
            match token {
                Token::Separator => {
                    if let Some((name, words, _)) = header.take() {
                        self.script.loops.push((name, words));
                    }
                    self.finish(&mut current);
                    after_function = false;
                }
                Token::Redirect(kind) => expect_redirect = Some(kind),
                Token::HereDoc { strip_tabs } => heredoc_next = Some(strip_tabs),
                Token::Word(word) => {
                    if let Some((name, words, seen_in)) = header.as_mut() {
                        match word.literal().as_deref() {
                            _ if name.is_empty() => {
                                *name = word.literal().unwrap_or_default();
                            }
                            Some("in") if !*seen_in => *seen_in = true,
                            Some("do") => {
                                let (name, words, _) = header.take().expect("in a header");
                                self.script.loops.push((name, words));
                            }
                            _ => words.push(word),
                        }
                        continue;
                    }
                    let at_start = current.words.is_empty();
                    if at_start {
                        match word.literal().as_deref() {
                            Some("for" | "select") if current.assignments.is_empty() => {
                                header = Some((String::new(), Vec::new(), false));
                                continue;
                            }
                            Some("function") => {
                                after_function = true;
                                continue;
                            }
                            Some(k) if KEYWORDS.contains(&k) && current.assignments.is_empty() => {
                                continue
                            }
                            _ => {}
                        }
                        if after_function {
                            // The function's name.
                            after_function = false;
                            continue;
                        }
                        if let Some((name, value)) = assignment(&word) {
                            current.assignments.push((name, value));
                            continue;
                        }
                    }
                    current.words.push(word);
                }
            }
        }
        if heredoc_next.is_some() || expect_redirect.is_some() {
            return Err(Unreadable("the line ends inside a redirection"));
        }
        if !self.pending_heredocs.is_empty() {
            return Err(Unreadable("a here-document has no end"));
        }
        if let Some((name, words, _)) = header.take() {
            self.script.loops.push((name, words));
        }
        self.finish(&mut current);
        Ok(())
    }

    fn finish(&mut self, current: &mut Command) {
        let command = std::mem::take(current);
        if command != Command::default() {
            self.script.commands.push(command);
        }
    }

    fn sub(&mut self, source: &str) -> Result<(), Unreadable> {
        Parser::new(source, self.depth + 1, self.script).run()
    }

    fn next_token(&mut self) -> Result<Option<Token>, Unreadable> {
        loop {
            let Some(c) = self.peek() else {
                return Ok(None);
            };
            match c {
                ' ' | '\t' => self.pos += 1,
                '\\' if self.peek_at(1) == Some('\n') => self.pos += 2,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                '\n' => {
                    self.pos += 1;
                    self.read_heredoc_bodies()?;
                    return Ok(Some(Token::Separator));
                }
                ';' | '&' | '|' | '(' | ')' => {
                    // `&>` and `&>>` are redirections.
                    if c == '&' && self.peek_at(1) == Some('>') {
                        self.pos += 2;
                        if self.peek() == Some('>') {
                            self.pos += 1;
                        }
                        return Ok(Some(Token::Redirect(Redirect::Write)));
                    }
                    self.pos += 1;
                    if matches!(
                        (c, self.peek()),
                        (';', Some(';' | '&')) | ('&', Some('&')) | ('|', Some('|' | '&'))
                    ) {
                        self.pos += 1;
                    }
                    return Ok(Some(Token::Separator));
                }
                '<' | '>' => return self.redirect(None).map(Some),
                _ => {
                    if c.is_ascii_digit() {
                        // `2>file`: a descriptor number directly before the operator.
                        let mut end = self.pos;
                        while self.chars.get(end).is_some_and(char::is_ascii_digit) {
                            end += 1;
                        }
                        if matches!(self.chars.get(end), Some('<' | '>'))
                            && self.chars.get(end + 1) != Some(&'(')
                        {
                            self.pos = end;
                            return self.redirect(Some(())).map(Some);
                        }
                    }
                    return self.word().map(|w| Some(Token::Word(w)));
                }
            }
        }
    }

    fn redirect(&mut self, _fd: Option<()>) -> Result<Token, Unreadable> {
        let c = self.peek().expect("at an operator");
        if self.peek_at(1) == Some('(') {
            // Process substitution: a command whose path is the word.
            return self.word().map(Token::Word);
        }
        self.pos += 1;
        let token = match (c, self.peek()) {
            ('<', Some('<')) => {
                self.pos += 1;
                match self.peek() {
                    Some('<') => {
                        self.pos += 1;
                        Token::Redirect(Redirect::HereString)
                    }
                    Some('-') => {
                        self.pos += 1;
                        Token::HereDoc { strip_tabs: true }
                    }
                    _ => Token::HereDoc { strip_tabs: false },
                }
            }
            ('<', Some('&')) | ('>', Some('&')) => {
                self.pos += 1;
                // `>&file` (not a number) writes the file.
                let digits = self.peek().is_some_and(|c| c.is_ascii_digit() || c == '-');
                Token::Redirect(if digits {
                    Redirect::Descriptor
                } else {
                    Redirect::Write
                })
            }
            ('<', Some('>')) => {
                self.pos += 1;
                Token::Redirect(Redirect::Write)
            }
            ('<', _) => Token::Redirect(Redirect::Read),
            (_, Some('>' | '|')) => {
                self.pos += 1;
                Token::Redirect(Redirect::Write)
            }
            _ => Token::Redirect(Redirect::Write),
        };
        Ok(token)
    }

    /// After a newline: the bodies of the here-documents announced on the line before.
    fn read_heredoc_bodies(&mut self) -> Result<(), Unreadable> {
        for (delimiter, quoted, strip) in std::mem::take(&mut self.pending_heredocs) {
            let mut body = String::new();
            loop {
                if self.pos >= self.chars.len() {
                    return Err(Unreadable("a here-document has no end"));
                }
                let start = self.pos;
                while self.peek().is_some_and(|c| c != '\n') {
                    self.pos += 1;
                }
                let line: String = self.chars[start..self.pos].iter().collect();
                self.pos = (self.pos + 1).min(self.chars.len());
                let line = if strip {
                    line.trim_start_matches('\t')
                } else {
                    &line
                };
                if line == delimiter {
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            if !quoted {
                // An unquoted delimiter expands the body: its substitutions run.
                let mut inner = Parser::new(&body, self.depth + 1, self.script);
                let mut word = Word::default();
                while inner.pos < inner.chars.len() {
                    let c = inner.chars[inner.pos];
                    inner.pos += 1;
                    match c {
                        '\\' => inner.pos += 1,
                        '$' => inner.dollar(&mut word, true)?,
                        '`' => inner.backquote(&mut word)?,
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    fn word(&mut self) -> Result<Word, Unreadable> {
        let mut word = Word::default();
        let start = self.pos;
        while let Some(c) = self.peek() {
            let tilde_here = self.pos == start
                || matches!(self.chars.get(self.pos.wrapping_sub(1)), Some('=' | ':'));
            match c {
                ' ' | '\t' | '\n' | ';' | '&' | '|' | ')' => break,
                '(' if word.parts.is_empty() => break,
                '<' | '>' if self.peek_at(1) == Some('(') => {
                    // Process substitution `<(cmd)`, `>(cmd)`.
                    self.pos += 2;
                    let inner = self.balanced(')')?;
                    self.sub(&inner)?;
                    word.parts.push(Part::Unknown);
                }
                '<' | '>' => break,
                '(' => {
                    self.pos += 1;
                    let inner = self.balanced(')')?;
                    // `NAME=(a b c)`: an array, whose words are judged like a command's;
                    // otherwise an extended glob such as `@(a|b)`. Either way the text
                    // stands for anything in this word.
                    if word.literal().is_some_and(|w| w.ends_with('=')) {
                        self.sub(&format!("__array__ {inner}"))?;
                    } else if let Some(Part::Text {
                        text,
                        quoted: false,
                    }) = word.parts.last_mut()
                    {
                        // The extended glob's operator (`@(`, `?(`, `*(`, `+(`, `!(`) is
                        // part of what stands for anything.
                        if text.ends_with(['@', '?', '*', '+', '!']) {
                            text.pop();
                        }
                    }
                    word.parts.push(Part::Unknown);
                }
                '\'' => {
                    self.pos += 1;
                    let mut text = String::new();
                    loop {
                        match self.peek() {
                            None => return Err(Unreadable("a single quote is not closed")),
                            Some('\'') => break,
                            Some(c) => text.push(c),
                        }
                        self.pos += 1;
                    }
                    self.pos += 1;
                    word.parts.push(Part::Text { text, quoted: true });
                }
                '"' => {
                    self.pos += 1;
                    self.double_quoted(&mut word)?;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        None => {}
                        Some('\n') => self.pos += 1,
                        Some(c) => {
                            self.pos += 1;
                            word.push_text(c, true);
                        }
                    }
                }
                '$' => {
                    self.pos += 1;
                    self.dollar(&mut word, false)?;
                }
                '`' => {
                    self.pos += 1;
                    self.backquote(&mut word)?;
                }
                '~' if tilde_here => {
                    self.pos += 1;
                    let mut name = String::new();
                    while let Some(c) = self.peek() {
                        if c.is_ascii_alphanumeric() || "._-+".contains(c) {
                            name.push(c);
                            self.pos += 1;
                        } else {
                            break;
                        }
                    }
                    if matches!(
                        self.peek(),
                        None | Some('/' | ':' | ' ' | '\t' | '\n' | ';')
                    ) || matches!(self.peek(), Some('&' | '|' | ')'))
                    {
                        word.parts.push(Part::Tilde(name));
                    } else {
                        // `~x"y"`: not a tilde prefix, just text.
                        word.push_text('~', false);
                        for c in name.chars() {
                            word.push_text(c, false);
                        }
                    }
                }
                c => {
                    self.pos += 1;
                    word.push_text(c, false);
                }
            }
        }
        Ok(word)
    }

    fn double_quoted(&mut self, word: &mut Word) -> Result<(), Unreadable> {
        // An empty "" still makes a word.
        word.parts.push(Part::Text {
            text: String::new(),
            quoted: true,
        });
        loop {
            let Some(c) = self.peek() else {
                return Err(Unreadable("a double quote is not closed"));
            };
            self.pos += 1;
            match c {
                '"' => return Ok(()),
                '\\' => match self.peek() {
                    Some(n @ ('$' | '`' | '"' | '\\')) => {
                        self.pos += 1;
                        word.push_text(n, true);
                    }
                    Some('\n') => self.pos += 1,
                    _ => word.push_text('\\', true),
                },
                '$' => self.dollar(word, true)?,
                '`' => self.backquote(word)?,
                c => word.push_text(c, true),
            }
        }
    }

    /// After a `$`.
    fn dollar(&mut self, word: &mut Word, quoted: bool) -> Result<(), Unreadable> {
        match self.peek() {
            Some('(') if self.peek_at(1) == Some('(') => {
                self.pos += 2;
                let inner = self.balanced(')')?;
                // Arithmetic may hold command substitutions too; and `$((cmd) )` is a
                // command substitution of a subshell: its words are judged as commands.
                self.scan_substitutions(&inner)?;
                // (Real arithmetic such as `a << 2` is no command line: errors aside.)
                let _ = self.sub(&inner);
                if self.peek() == Some(')') {
                    self.pos += 1;
                }
                word.parts.push(Part::Unknown);
            }
            Some('(') => {
                self.pos += 1;
                let inner = self.balanced(')')?;
                self.sub(&inner)?;
                word.parts.push(Part::Unknown);
            }
            Some('{') => {
                self.pos += 1;
                let inner = self.balanced('}')?;
                if is_name(&inner) {
                    word.parts.push(Part::Var(inner));
                } else {
                    let name: String = inner
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let rest = &inner[name.len()..];
                    if is_name(&name) && (rest.starts_with(":=") || rest.starts_with('=')) {
                        self.script.expansion_assignments.push(name);
                    }
                    self.scan_substitutions(&inner)?;
                    word.parts.push(Part::Unknown);
                }
            }
            Some('\'') if !quoted => {
                self.pos += 1;
                let text = self.ansi_c()?;
                word.parts.push(Part::Text { text, quoted: true });
            }
            Some('"') if !quoted => {
                // `$"..."`: a translated string, otherwise a double-quoted one.
                self.pos += 1;
                self.double_quoted(word)?;
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(c) = self
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    name.push(c);
                    self.pos += 1;
                }
                word.parts.push(Part::Var(name));
            }
            Some(c) if c.is_ascii_digit() || "@*#?$!-".contains(c) => {
                self.pos += 1;
                word.parts.push(Part::Unknown);
            }
            _ => word.push_text('$', quoted),
        }
        Ok(())
    }

    fn backquote(&mut self, word: &mut Word) -> Result<(), Unreadable> {
        let mut inner = String::new();
        loop {
            match self.peek() {
                None => return Err(Unreadable("a backquote is not closed")),
                Some('`') => break,
                Some('\\') if matches!(self.peek_at(1), Some('`' | '\\' | '$')) => {
                    inner.push(self.peek_at(1).expect("peeked"));
                    self.pos += 1;
                }
                Some(c) => inner.push(c),
            }
            self.pos += 1;
        }
        self.pos += 1;
        self.sub(&inner)?;
        word.parts.push(Part::Unknown);
        Ok(())
    }

    /// The commands inside `${...}` or `$((...))`: only their substitutions run.
    fn scan_substitutions(&mut self, text: &str) -> Result<(), Unreadable> {
        if self.depth >= MAX_DEPTH {
            return Err(Unreadable("substitutions nest too deep"));
        }
        let mut inner = Parser::new(text, self.depth + 1, self.script);
        let mut scratch = Word::default();
        while let Some(c) = inner.peek() {
            inner.pos += 1;
            match c {
                '$' => inner.dollar(&mut scratch, true)?,
                '`' => inner.backquote(&mut scratch)?,
                '\\' => inner.pos += 1,
                _ => {}
            }
        }
        Ok(())
    }

    /// The text up to the `close` that balances the one just opened, respecting quotes
    /// and nesting; the position ends after it.
    fn balanced(&mut self, close: char) -> Result<String, Unreadable> {
        let open = if close == ')' { '(' } else { '{' };
        let mut depth = 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.pos += 1;
            match c {
                '\\' => {
                    out.push(c);
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.pos += 1;
                    }
                    continue;
                }
                '\'' => {
                    out.push(c);
                    loop {
                        let Some(n) = self.peek() else {
                            return Err(Unreadable("a single quote is not closed"));
                        };
                        self.pos += 1;
                        out.push(n);
                        if n == '\'' {
                            break;
                        }
                    }
                    continue;
                }
                '"' => {
                    out.push(c);
                    loop {
                        let Some(n) = self.peek() else {
                            return Err(Unreadable("a double quote is not closed"));
                        };
                        self.pos += 1;
                        out.push(n);
                        if n == '\\' {
                            if let Some(m) = self.peek() {
                                out.push(m);
                                self.pos += 1;
                            }
                        } else if n == '"' {
                            break;
                        }
                    }
                    continue;
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                }
                _ => {}
            }
            out.push(c);
        }
        Err(Unreadable("a parenthesis or brace is not closed"))
    }

    /// `$'...'`, after the quote: the text with bash's escapes decoded.
    fn ansi_c(&mut self) -> Result<String, Unreadable> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(Unreadable("a $'...' quote is not closed"));
            };
            self.pos += 1;
            match c {
                '\'' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(Unreadable("a $'...' quote is not closed"));
                    };
                    self.pos += 1;
                    let simple = match e {
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        'a' => Some('\x07'),
                        'b' => Some('\x08'),
                        'e' | 'E' => Some('\x1b'),
                        'f' => Some('\x0c'),
                        'v' => Some('\x0b'),
                        '\\' | '\'' | '"' | '?' => Some(e),
                        _ => None,
                    };
                    if let Some(s) = simple {
                        out.push(s);
                        continue;
                    }
                    let (radix, max) = match e {
                        'x' => (16, 2),
                        'u' => (16, 4),
                        'U' => (16, 8),
                        '0'..='7' => {
                            self.pos -= 1;
                            (8, 3)
                        }
                        'c' => {
                            // A control character.
                            if let Some(n) = self.peek() {
                                self.pos += 1;
                                out.push(char::from((n as u32 & 0x1f) as u8));
                            }
                            continue;
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                            continue;
                        }
                    };
                    let mut digits = String::new();
                    while digits.len() < max && self.peek().is_some_and(|c| c.is_digit(radix)) {
                        digits.push(self.peek().expect("peeked"));
                        self.pos += 1;
                    }
                    match u32::from_str_radix(&digits, radix)
                        .ok()
                        .and_then(char::from_u32)
                    {
                        // bash ends the string at a NUL: the rest of the quote is dropped.
                        Some('\0') => {
                            while let Some(c) = self.peek() {
                                self.pos += 1;
                                if c == '\'' {
                                    return Ok(out);
                                }
                                if c == '\\' {
                                    self.pos += 1;
                                }
                            }
                            return Err(Unreadable("a $'...' quote is not closed"));
                        }
                        Some(decoded) => out.push(decoded),
                        None => return Err(Unreadable("a $'...' escape names no character")),
                    }
                }
                c => out.push(c),
            }
        }
    }
}

/// A shell variable name.
pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=value` or `NAME+=value` with NAME written plainly: an assignment.
pub fn assignment(word: &Word) -> Option<(String, Word)> {
    let Some(Part::Text {
        text,
        quoted: false,
    }) = word.parts.first()
    else {
        return None;
    };
    let eq = text.find('=')?;
    let name = text[..eq].trim_end_matches('+');
    let name = name.split('[').next().unwrap_or(name);
    if !is_name(name) {
        return None;
    }
    let mut value = Word::default();
    let rest = &text[eq + 1..];
    if let Some(tail) = rest.strip_prefix('~') {
        // `X=~/dir`: the tilde expands in an assignment.
        let end = tail.find('/').unwrap_or(tail.len());
        value.parts.push(Part::Tilde(tail[..end].to_owned()));
        if end < tail.len() {
            value.parts.push(Part::Text {
                text: tail[end..].to_owned(),
                quoted: false,
            });
        }
    } else if !rest.is_empty() {
        value.parts.push(Part::Text {
            text: rest.to_owned(),
            quoted: false,
        });
    }
    value.parts.extend(word.parts[1..].iter().cloned());
    Some((name.to_owned(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Part {
        Part::Text {
            text: t.into(),
            quoted: false,
        }
    }
    fn quoted(t: &str) -> Part {
        Part::Text {
            text: t.into(),
            quoted: true,
        }
    }
    fn words(line: &str) -> Vec<Vec<Option<String>>> {
        parse(line)
            .unwrap()
            .commands
            .iter()
            .map(|c| c.words.iter().map(Word::literal).collect())
            .collect()
    }
    fn lit(items: &[&str]) -> Vec<Option<String>> {
        items.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn splits_lists_pipes_and_groups() {
        assert_eq!(
            words("a b; c && d || e | f |& g & (h) { i; }"),
            vec![
                lit(&["a", "b"]),
                lit(&["c"]),
                lit(&["d"]),
                lit(&["e"]),
                lit(&["f"]),
                lit(&["g"]),
                lit(&["h"]),
                lit(&["i"]),
            ]
        );
        assert_eq!(
            words("if true; then x; fi\nwhile y; do z; done"),
            vec![lit(&["true"]), lit(&["x"]), lit(&["y"]), lit(&["z"])]
        );
    }

    #[test]
    fn removes_quotes_and_decodes_escapes() {
        assert_eq!(
            words(r#"cat ~/.a\ws "a b"'c' $'\x2eaws' $'\056x' "\$HOME""#)[0][1..],
            lit(&["~/.aws", "a bc", ".aws", ".x", "$HOME"])[..]
                .iter()
                .enumerate()
                .map(|(i, v)| if i == 0 { None } else { v.clone() })
                .collect::<Vec<_>>()[..]
        );
        let script = parse(r#"cat ~/.a\ws"#).unwrap();
        assert_eq!(
            script.commands[0].words[1].parts,
            vec![
                Part::Tilde(String::new()),
                text("/.a"),
                quoted("w"),
                text("s")
            ]
        );
    }

    #[test]
    fn substitutions_are_commands_and_unknown_parts() {
        let script = parse("echo $(cat ~/x) `id` <(ls /) ${HOME} $HOME ${X:-$(date)} $1").unwrap();
        let names: Vec<_> = script
            .commands
            .iter()
            .map(|c| c.words[0].literal().unwrap())
            .collect();
        assert_eq!(names, ["cat", "id", "ls", "date", "echo"]);
        let echo = &script.commands[4];
        assert_eq!(echo.words[1].parts, vec![Part::Unknown]);
        assert_eq!(echo.words[4].parts, vec![Part::Var("HOME".into())]);
        assert_eq!(echo.words[5].parts, vec![Part::Var("HOME".into())]);
        assert_eq!(echo.words[6].parts, vec![Part::Unknown]);
    }

    #[test]
    fn assignments_redirections_and_heredocs() {
        let script = parse(
            "A=1 B=~/x env -u AWS_PROFILE aws s3 ls >out 2>>err <in &>all >&2 <<<data\ncat <<EOF\n$(id)\nEOF\ncat <<'Q'\n$(no)\nQ",
        )
        .unwrap();
        let first = &script.commands[0];
        assert_eq!(first.assignments[0].0, "A");
        assert_eq!(
            first.assignments[1].1.parts,
            vec![Part::Tilde(String::new()), text("/x")]
        );
        let kinds: Vec<_> = first.redirects.iter().map(|r| r.0).collect();
        assert_eq!(
            kinds,
            [
                Redirect::Write,
                Redirect::Write,
                Redirect::Read,
                Redirect::Write,
                Redirect::Descriptor,
                Redirect::HereString
            ]
        );
        let names: Vec<_> = script
            .commands
            .iter()
            .map(|c| c.words[0].literal().unwrap())
            .collect();
        assert_eq!(names, ["env", "id", "cat", "cat"]);
    }

    #[test]
    fn loops_record_their_variable() {
        let script = parse("for f in ~/.aws/* b; do cat \"$f\"; done").unwrap();
        assert_eq!(script.loops.len(), 1);
        assert_eq!(script.loops[0].0, "f");
        assert_eq!(script.loops[0].1.len(), 2);
        assert_eq!(script.commands[0].words[0].literal().unwrap(), "cat");
    }

    #[test]
    fn unreadable_lines_are_errors() {
        for line in [
            "echo 'x",
            "echo \"x",
            "echo $(x",
            "echo `x",
            "cat <<EOF\nx",
            "cat >",
        ] {
            assert!(parse(line).is_err(), "{line}");
        }
        let deep = format!("{}x{}", "$(".repeat(40), ")".repeat(40));
        assert!(parse(&deep).is_err());
    }
}
