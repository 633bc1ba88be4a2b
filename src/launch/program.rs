//! Finding the program to launch, and asking a program its version.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};

/// Where a program is looked up: an explicit path (a flag), then an override variable,
/// then `name` on the `PATH` the child will get.
#[derive(Debug, Clone, Copy)]
pub struct ProgramSource<'a> {
    pub name: &'a OsStr,
    pub flag: Option<&'a Path>,
    pub override_var: Option<&'a str>,
    pub install_hint: &'a str,
}

pub fn resolve_program(source: ProgramSource, inherited: &Env) -> Result<PathBuf> {
    let wanted: &OsStr = match (
        source.flag,
        source.override_var.and_then(|v| inherited.get(v)),
    ) {
        (Some(flag), _) => flag.as_os_str(),
        (None, Some(value)) if !value.is_empty() => value,
        _ => source.name,
    };
    which::which_in(wanted, inherited.get("PATH"), inherited.cwd())
        .map_err(|_| Error::missing_program(&wanted.to_string_lossy(), source.install_hint))
}
