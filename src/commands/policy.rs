//! `kiro-aws policy`: the role kit. Proves the isolated config, then prints the
//! permission sets its roles need, as JSON documents or as one CloudFormation template
//! (the documents and the template are made in `kit`).

use crate::commands::shared;
use crate::env::Env;
use crate::error::{Exit, Result};
use crate::kit;
use crate::paths::Paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    CloudFormation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub format: Format,
    pub flags: kit::Flags,
}

pub fn run(request: Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    // The flags first: bad usage is exit 2 whatever the files hold.
    let options = kit::check(request.flags, request.format == Format::CloudFormation)?;
    let set = shared::prove(paths, inherited, &[])?;
    let kit = kit::build(&set.profiles, &options)?;
    let out = match request.format {
        Format::Json => kit.to_json(),
        Format::CloudFormation => kit::cloudformation::template(&kit)?,
    };
    shared::print_json(&out);
    Ok(Exit::Success)
}
