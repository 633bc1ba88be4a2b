//! `kiro-aws env`: print the isolated environment for a wrapper to eval or read.

use crate::code::Code;
use crate::commands::shared;
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::launch::environment::LaunchEnv;
use crate::paths::Paths;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Sh,
    Fish,
    Json,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub profile: Option<String>,
    pub format: Format,
}

pub fn run(request: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let set = shared::prove(paths, inherited, &[])?;
    if set.strict {
        crate::strict::check_platform()?;
        // An environment to eval cannot carry a sandbox: that would be a way around it.
        return Err(Error::new(
            Code::StrictRequired,
            "strict mode is the default here (`init --strict`), and an environment alone cannot give the sandbox",
        ));
    }
    let profile = shared::select_profile(&set, request.profile.as_deref())?;
    let env = LaunchEnv::new(paths, &profile.name, inherited)?;
    print!("{}", render(&env, request.format));
    Ok(Exit::Success)
}

pub fn render(env: &LaunchEnv, format: Format) -> String {
    let quote = |value: &str, fish: bool| {
        if fish {
            format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
        } else {
            format!("'{}'", value.replace('\'', "'\\''"))
        }
    };
    match format {
        Format::Json => {
            let json = serde_json::json!({"set": env.set, "unset": env.unset});
            format!("{}\n", serde_json::to_string_pretty(&json).expect("JSON"))
        }
        Format::Sh => {
            let mut out = format!("unset {}\n", env.unset.join(" "));
            for (name, value) in &env.set {
                out.push_str(&format!("export {name}={}\n", quote(value, false)));
            }
            out
        }
        Format::Fish => {
            let mut out = String::new();
            for name in &env.unset {
                out.push_str(&format!("set -e {name};\n"));
            }
            for (name, value) in &env.set {
                out.push_str(&format!("set -gx {name} {};\n", quote(value, true)));
            }
            out
        }
    }
}
