//! `kiro-aws hook`: the agent's `preToolUse` hook. One event on stdin; exit 0 allows the
//! call, exit 2 blocks it with one line on stderr for the model. Never any other status:
//! Kiro runs the tool when a hook fails, so whatever cannot be read or judged is blocked.

use std::io::{Read, Write};

use crate::env::Env;
use crate::error::Exit;
use crate::hook::{self, event, Context, Decision};
use crate::paths::Paths;

pub fn run(env: &Env) -> Exit {
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
    let cwd = event
        .input
        .get("cwd")
        .and_then(serde_json::Value::as_str)
        .map(Into::into)
        .or_else(|| event.cwd.clone());
    let ctx = Context::new(&paths, env, cwd);
    hook::decide(&event, &ctx)
}
