//! `kiro-aws hook`: the agent's `preToolUse` hook. One event on stdin; exit 0 allows the
//! call, exit 2 blocks it with one line on stderr for the model. Never any other status:
//! Kiro runs the tool when a hook fails, so whatever cannot be read or judged is blocked.

use std::io::{Read, Write};

use crate::env::Env;
use crate::error::Exit;
use crate::hook::{self, event, Context, Decision};
use crate::paths::Paths;

/// How long a judgement may take. Kiro gives a hook 10 s and then runs the tool anyway,
/// so a line built to make the judgement slow is blocked well before that.
const DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

pub fn run(env: &Env) -> Exit {
    // A watchdog: when the deadline passes, the process answers "blocked" and ends,
    // whatever the judgement (on this thread) is doing.
    let _ = std::thread::Builder::new().spawn(|| {
        std::thread::sleep(DEADLINE);
        let _ = writeln!(
            std::io::stderr().lock(),
            "kiro-aws blocked this call: this command line is too involved to check in time; write it out plainly, in simpler steps"
        );
        std::process::exit(i32::from(Exit::Blocked.code()));
    });
    let decision = std::panic::catch_unwind(|| judge(env)).unwrap_or_else(|_| {
        Decision::block("kiro-aws hook failed on this call; report it as a bug")
    });
    match decision {
        Decision::Allow => Exit::Success,
        Decision::Block(why) => {
            let line = why.replace('\n', " ");
            let _ = writeln!(
                std::io::stderr().lock(),
                "kiro-aws blocked this call: {line}"
            );
            Exit::Blocked
        }
    }
}

fn judge(env: &Env) -> Decision {
    let mut bytes = Vec::new();
    let limit = event::MAX_INPUT as u64 + 1;
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut bytes) {
        return Decision::block(format!("the hook event could not be read: {e}"));
    }
    if bytes.len() > event::MAX_INPUT {
        return Decision::block("the hook event is larger than kiro-aws reads");
    }
    let event = match event::parse(&bytes) {
        Ok(event) => event,
        Err(why) => return Decision::block(why),
    };
    let paths = match Paths::from_env(env) {
        Ok(paths) => paths,
        Err(e) => return Decision::block(format!("{e}")),
    };
    // The session's directory, then any the call itself names (V2's `working_dir`, V3's
    // `cwd`): a relative path is judged from each.
    let mut cwds: Vec<std::path::PathBuf> = event.cwd.iter().cloned().collect();
    for key in ["working_dir", "cwd"] {
        if let Some(dir) = event.input.get(key).and_then(serde_json::Value::as_str) {
            cwds.push(dir.into());
        }
    }
    let ctx = Context::new(&paths, env, cwds);
    hook::decide(&event, &ctx)
}
