//! The thin last step: replace this process with a [`LaunchPlan`].

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;

use crate::code::Code;
use crate::env::Env;
use crate::error::Error;
use crate::launch::plan::LaunchPlan;

/// Replace this process with the plan. Returns only on failure.
pub fn exec(plan: &LaunchPlan, inherited: &Env) -> Error {
    let c = |s: &OsStr| CString::new(s.as_bytes());
    let program = c(plan.program.as_os_str());
    let argv: std::result::Result<Vec<CString>, _> = plan.argv.iter().map(|a| c(a)).collect();
    let env: std::result::Result<Vec<CString>, _> = plan
        .env
        .apply(inherited)
        .into_iter()
        .map(|(k, v)| {
            let mut pair = k;
            pair.push("=");
            pair.push(v);
            c(&pair)
        })
        .collect();
    let (Ok(program), Ok(argv), Ok(env)) = (program, argv, env) else {
        return Error::new(
            Code::NulInArgument,
            "an argument or variable holds a NUL byte",
        );
    };
    let errno = match nix::unistd::execve(&program, &argv, &env) {
        Err(errno) => errno,
        Ok(never) => match never {},
    };
    let program = plan.program.display().to_string();
    if errno == nix::errno::Errno::ENOENT {
        Error::missing_program(&program, "check that the program exists")
    } else {
        Error::new(
            Code::ExecFailed,
            format!("could not start {program}: {errno}"),
        )
    }
}
