//! A launch as one pure value: which program, which argv, which environment.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::launch::environment::LaunchEnv;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchPlan {
    /// The resolved executable.
    pub program: PathBuf,
    /// The whole argument vector, argv[0] included.
    pub argv: Vec<OsString>,
    pub env: LaunchEnv,
}
