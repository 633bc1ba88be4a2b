//! The environment kiro-aws was started in, read once in `main` and passed down: the
//! inherited variables, the working directory and the home directory. Nothing below
//! reads the process's environment behind this value's back.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    home: Option<PathBuf>,
}

impl Env {
    /// This process's variables, working directory and home directory (`$HOME`, only
    /// when set and absolute: a missing home is an error for the commands that need one,
    /// never a silent guess at another directory).
    pub fn from_process() -> Env {
        let vars: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let cwd = std::env::current_dir().ok();
        let home = Self::absolute_home(&vars);
        Env { vars, cwd, home }
    }

    /// An environment given whole (tests, and the values a caller builds itself).
    pub fn new(vars: Vec<(OsString, OsString)>, cwd: Option<PathBuf>) -> Env {
        let home = Self::absolute_home(&vars);
        Env { vars, cwd, home }
    }

    fn absolute_home(vars: &[(OsString, OsString)]) -> Option<PathBuf> {
        vars.iter()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| PathBuf::from(v))
            .filter(|h| h.is_absolute())
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_os_str())
    }

    /// The value of `name`, if set and UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(OsStr::to_str)
    }

    /// Every inherited variable, in the order the process got them.
    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.vars
    }

    /// The names of the inherited variables that are UTF-8.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().filter_map(|(k, _)| k.to_str())
    }

    /// The working directory; `/` when it cannot be told (it was removed).
    pub fn cwd(&self) -> &Path {
        self.cwd.as_deref().unwrap_or(Path::new("/"))
    }

    /// The home directory: `$HOME` when set and absolute.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }
}

#[cfg(test)]
impl Env {
    /// Variables from string pairs, working directory `/`.
    pub fn of(pairs: &[(&str, &str)]) -> Env {
        Env::new(
            pairs.iter().map(|(k, v)| (k.into(), v.into())).collect(),
            Some("/".into()),
        )
    }
}
