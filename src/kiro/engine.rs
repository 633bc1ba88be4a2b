//! Which of Kiro's engines a session runs, from the Kiro CLI version and the flags passed
//! through, and which of kiro-aws's agent files that engine loads.
//!
//! 1.x runs the classic engine (V1); 2.x runs V2 unless `--v3` (2.8 and later) or
//! `--agent-engine v3`, and the classic engine for `--no-interactive` or `--legacy-ui`
//! (`--classic`); 3.x runs V3 for interactive chat unless `--v2`, and V2 for a
//! `--no-interactive` run that names no engine. Any other major version has an agent
//! format kiro-aws does not know. (A 2.x session whose standard input is not a terminal
//! runs the classic engine too; both engines read the same JSON file.)

use std::ffi::OsString;

use serde::Serialize;

use crate::install::agent::Format;
use crate::kiro::version::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    V1,
    V2,
    V3,
}

impl Engine {
    /// The format of the agent file this engine loads: JSON (`aws-readonly.json`) in the
    /// classic or the V2 dialect, or Markdown (`aws-readonly.md`).
    pub fn format(self) -> Format {
        match self {
            Engine::V1 => Format::Classic,
            Engine::V2 => Format::V2,
            Engine::V3 => Format::Markdown,
        }
    }
}

/// The engine the flags ask for, if any: `--v2`, `--v3`, `--agent-engine[=]v1|v2|v3|kas`.
fn asked(args: &[OsString]) -> Result<Option<Engine>, String> {
    let mut asked = None;
    let mut iter = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = iter.next() {
        let value = match arg.as_ref() {
            "--v2" => Some("v2".to_owned()),
            "--v3" => Some("v3".to_owned()),
            "--agent-engine" => Some(iter.next().map(|v| v.into_owned()).unwrap_or_default()),
            a => a.strip_prefix("--agent-engine=").map(str::to_owned),
        };
        if let Some(value) = value {
            asked = Some(match value.as_str() {
                "v1" => Engine::V1,
                "v2" => Engine::V2,
                "v3" | "kas" => Engine::V3,
                other => {
                    return Err(format!(
                        "--agent-engine `{other}` is not an engine kiro-aws knows"
                    ))
                }
            });
        }
    }
    Ok(asked)
}

/// The engine a `kiro-cli chat ARGS` session of this version runs, or why kiro-aws cannot
/// tell (then it cannot tell that the agent loads either).
pub fn engine(version: Version, args: &[OsString]) -> Result<Engine, String> {
    let asked = asked(args)?;
    let headless = args
        .iter()
        .any(|a| a == "--no-interactive" || a == "--non-interactive");
    let classic = args.iter().any(|a| a == "--legacy-ui" || a == "--classic");
    match (version.major, asked) {
        (1, None | Some(Engine::V1)) => Ok(Engine::V1),
        (1, Some(_)) => Err(format!(
            "Kiro CLI {version} has only the classic engine; drop --v2/--v3/--agent-engine"
        )),
        (2, Some(Engine::V3)) if version.minor < 8 => Err(format!(
            "Kiro CLI {version} has no V3 engine (it came with 2.8)"
        )),
        (2, Some(engine)) => Ok(engine),
        (2, None) if headless || classic => Ok(Engine::V1),
        (2, None) => Ok(Engine::V2),
        (3, Some(Engine::V1)) => Err(format!(
            "Kiro CLI {version} retired the classic engine; use --v2 or --v3"
        )),
        (3, Some(engine)) => Ok(engine),
        (3, None) if headless => Ok(Engine::V2),
        (3, None) => Ok(Engine::V3),
        _ => Err(format!(
            "Kiro CLI {version}: kiro-aws knows the agent formats of Kiro CLI 1.x, 2.x and 3.x only"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        crate::kiro::version::parse(text).unwrap()
    }

    #[test]
    fn each_version_and_flag_gives_its_engine() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        for (version, flags, expected) in [
            ("1.28.1", &[][..], Ok(Engine::V1)),
            ("1.28.1", &["--v3"][..], Err(())),
            ("2.2.1", &[], Ok(Engine::V2)),
            ("2.2.1", &["--v3"], Err(())),
            ("2.21.3", &["--v3"], Ok(Engine::V3)),
            ("2.21.3", &["--agent-engine", "v3"], Ok(Engine::V3)),
            ("2.21.3", &["--agent-engine=kas"], Ok(Engine::V3)),
            ("2.21.3", &["--agent-engine", "v1"], Ok(Engine::V1)),
            ("2.2.1", &["--no-interactive"], Ok(Engine::V1)),
            ("2.2.1", &["--classic"], Ok(Engine::V1)),
            ("2.21.3", &["--agent-engine", "v9"], Err(())),
            ("3.2.0", &[], Ok(Engine::V3)),
            ("3.2.0", &["--v2"], Ok(Engine::V2)),
            ("3.2.0", &["--no-interactive"], Ok(Engine::V2)),
            ("3.2.0", &["--no-interactive", "--v3"], Ok(Engine::V3)),
            ("3.2.0", &["--agent-engine", "v1"], Err(())),
            ("9.0.0", &[], Err(())),
            ("0.9.0", &[], Err(())),
        ] {
            let got = engine(v(version), &args(flags)).map_err(|_| ());
            assert_eq!(got, expected, "{version} {flags:?}");
        }
        assert_eq!(Engine::V1.format(), Format::Classic);
        assert_eq!(Engine::V2.format(), Format::V2);
        assert_eq!(Engine::V3.format(), Format::Markdown);
    }
}
