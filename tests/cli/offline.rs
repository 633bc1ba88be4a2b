//! The offline path (`verify`, `env`, `run`, `chat` up to the exec) starts no thread, so
//! no async runtime, and opens no socket, so no network or TLS. Proven by tracing the
//! real binary's system calls with strace.

use std::process::Command;

use crate::harness::{Test, BIN};

const TRACED: &str = "clone,clone3,fork,vfork,socket,connect";

fn trace(t: &Test, args: &[&str]) -> String {
    let log = t.root().join("strace.log");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", &format!("trace={TRACED}"), "-o"])
        .arg(&log)
        .args(args)
        .env_clear()
        .envs(t.cmd(["verify"]).base_env())
        .current_dir(t.work())
        .output()
        .expect("strace is installed by scripts/test");
    assert!(
        status.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn offline_commands_start_no_thread_and_open_no_socket() {
    let t = Test::new();
    t.init();
    // The tracer sees a process that does fork.
    let control = trace(&t, &["sh", "-c", "/bin/true & wait"]);
    assert!(
        control.contains("clone") || control.contains("fork"),
        "{control}"
    );

    // A kiro-cli that forks nothing itself (the trace follows the exec into it).
    let fake = t.bin().join("kiro-cli");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'kiro-cli 2.21.3'; exit 0; fi\nexec /bin/true\n",
    )
    .unwrap();
    // The first verify asks kiro-cli its version (a process, not a thread); the answer is
    // cached for that binary, so the traced runs below start nothing at all.
    t.cmd(["verify"]).run().success();
    for args in [
        vec![BIN, "verify"],
        vec![BIN, "verify", "--json"],
        vec![BIN, "env", "--format", "json"],
        vec![BIN, "run", "--", "/bin/true"],
        vec![BIN, "chat"],
    ] {
        let log = trace(&t, &args);
        assert_eq!(log, "", "{args:?} made these calls");
    }
}
