use std::fs;
use std::process::{Command, Stdio};

use crate::harness::{Test, BIN};

#[test]
fn sixteen_concurrent_inits_leave_complete_valid_files() {
    let t = Test::new();
    let user_text = "# my steering\n";
    t.write(".kiro/steering/AGENTS.md", user_text, 0o644);
    let base = t.cmd(["verify"]).base_env();
    let children: Vec<_> = (0..16)
        .map(|_| {
            Command::new(BIN)
                .args(t.init_args())
                .env_clear()
                .envs(&base)
                .current_dir(t.work())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    t.cmd(["verify"]).run().success();
    let reference = Test::new();
    reference.write(".kiro/steering/AGENTS.md", user_text, 0o644);
    reference.init();
    let rebase = |text: Vec<u8>, from: &Test| {
        String::from_utf8(text)
            .unwrap()
            .replace(&from.home().display().to_string(), "HOME")
    };
    for (ours, theirs) in [
        (t.config(), reference.config()),
        (t.credentials(), reference.credentials()),
        (t.agent(), reference.agent()),
        (t.steering(), reference.steering()),
    ] {
        assert_eq!(
            rebase(fs::read(&ours).unwrap(), &t),
            rebase(fs::read(&theirs).unwrap(), &reference),
            "{}",
            ours.display()
        );
    }
    // No temporary file is left behind.
    for dir in [
        t.home().join(".aws/kiro"),
        t.home().join(".kiro/agents"),
        t.home().join(".kiro/steering"),
    ] {
        for entry in fs::read_dir(&dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !name.starts_with('.'),
                "left behind: {}/{name}",
                dir.display()
            );
        }
    }
}
