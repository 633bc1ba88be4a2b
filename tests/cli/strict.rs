//! Strict mode against an agent that tries to leave the kiro roles on purpose: every
//! attempt runs inside `kiro-aws run --strict` (real bwrap) on a laptop whose host
//! `~/.aws` holds `prod-admin`, static keys, a cached SSO token and cached CLI
//! credentials, and each must fail in the way asserted. The legitimate path (every kiro
//! profile through the broker, against moto on loopback) must work.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{venv_bin, AwsStub, Run, Test, BIN, START_URL};

const FUTURE: &str = "2099-01-01T00:00:00Z";
const HEX: &str = "0123456789abcdef";
/// In kiro-aws's own environment only: must never be readable inside.
pub const MARKER: &str = "AKIAOUTSIDEMARKER000";

pub struct Laptop {
    pub t: Test,
    pub stub: AwsStub,
}

/// A developer's laptop: the isolated config (two profiles in two accounts), and host
/// files that reach other roles.
pub fn laptop() -> Laptop {
    let t = Test::new();
    t.init_with(&[
        "kiro-readonly=111111111111:KiroReadOnly",
        "kiro-dev=222222222222:KiroReadOnly",
    ]);
    t.write(
        ".aws/config",
        format!(
            "[sso-session corp]\nsso_start_url = {START_URL}\nsso_region = eu-west-1\n\n\
             [profile prod-admin]\nsso_session = corp\nsso_account_id = 999999999999\n\
             sso_role_name = AdministratorAccess\nregion = eu-west-1\n"
        ),
        0o600,
    );
    t.write(
        ".aws/credentials",
        format!("[default]\naws_access_key_id = {MARKER}\naws_secret_access_key = hostsecret\n"),
        0o600,
    );
    t.sign_in("kiro", FUTURE);
    t.sign_in("corp", FUTURE);
    t.write(
        ".aws/cli/cache/0123.json",
        format!(r#"{{"Credentials": {{"AccessKeyId": "{MARKER}"}}}}"#),
        0o600,
    );
    let stub = AwsStub::start(&t, &[]);
    Laptop { t, stub }
}

impl Laptop {
    /// `kiro-aws run --strict [extra] -- sh -c SCRIPT`, with the stub's URL as `$URL`
    /// inside and the endpoints set for kiro-aws's own broker outside.
    pub fn strict(&self, extra: &[&str], script: &str) -> Run {
        self.invocation(extra, script).run()
    }

    pub fn invocation(&self, extra: &[&str], script: &str) -> crate::harness::Invocation<'_> {
        // The stub listens on the host's loopback, which strict mode reaches only when
        // let in by name.
        let mut args = vec!["run", "--strict", "--allow-host", self.stub.authority()];
        args.extend(extra);
        let script = format!("URL={}\n{script}", self.stub.url);
        args.extend(["--", "sh", "-c"]);
        let mut args: Vec<String> = args.into_iter().map(String::from).collect();
        args.push(script);
        self.t
            .cmd(&args)
            .aws(&self.stub)
            .env("AWS_SECRET_ACCESS_KEY", MARKER)
            .env(
                "PATH",
                format!("{}:{}", venv_dir().display(), self.t.path_var()),
            )
    }
}

pub fn venv_dir() -> PathBuf {
    venv_bin("aws").parent().unwrap().to_path_buf()
}

#[track_caller]
pub fn fails_with(run: &Run, fragment: &str) {
    assert_ne!(
        run.status, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains(fragment) || run.stdout.contains(fragment),
        "expected {fragment:?}\nstdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
}

#[test]
fn host_files_tokens_and_caches_are_not_readable_inside() {
    let l = laptop();
    for path in [
        "~/.aws/config",
        "~/.aws/credentials",
        "~/.aws/cli/cache/0123.json",
    ] {
        let run = l.strict(&[], &format!("cat {path}"));
        fails_with(&run, "No such file or directory");
    }
    let run = l.strict(&[], "ls ~/.aws/sso/cache");
    fails_with(&run, "No such file or directory");
    // Beside the isolated files: a backup `init --force` kept, and another tool's store.
    l.t.write(".aws/kiro/config.kiro-aws-backup-1", MARKER, 0o600);
    l.t.write(".awsvault/keys/prod-admin", MARKER, 0o600);
    // boto's config, from which botocore reads keys, and Leapp's sessions.
    l.t.write(
        ".boto",
        format!("[Credentials]\naws_access_key_id = {MARKER}\n"),
        0o600,
    );
    l.t.write(".Leapp/Leapp-lock.json", MARKER, 0o600);
    for path in [
        "~/.aws/kiro/config.kiro-aws-backup-1",
        "~/.awsvault/keys/prod-admin",
        "~/.Leapp/Leapp-lock.json",
    ] {
        let run = l.strict(&[], &format!("cat {path}"));
        fails_with(&run, "No such file or directory");
    }
    // A hidden file is an empty one.
    let run = l.strict(&[], "cat ~/.boto");
    assert!(
        run.status == 0 && run.stdout.is_empty(),
        "{}{}",
        run.stdout,
        run.stderr
    );
    std::fs::remove_file(l.t.home().join(".aws/kiro/config.kiro-aws-backup-1")).unwrap();
    // Only the isolated directory is there, and it is read-only.
    let run = l.strict(
        &[],
        "ls -A ~/.aws ~/.aws/kiro; cat ~/.aws/kiro/config >/dev/null && echo readable",
    );
    let home = l.t.home().display().to_string();
    assert_eq!(
        run.stdout,
        format!("{home}/.aws:\nkiro\n\n{home}/.aws/kiro:\nconfig\ncredentials\nreadable\n"),
        "{}",
        run.stderr
    );
    // No descriptor gets in but the three streams: not bwrap's status pipe, and not one
    // the caller passed (a descriptor of $HOME would reach through every mask).
    let home = std::fs::File::open(l.t.home()).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&home);
    let mut command = l
        .invocation(
            &[],
            "ls /proc/self/fd; cat /proc/self/fd/9/.aws/credentials",
        )
        .command();
    unsafe {
        command.pre_exec(move || {
            nix::libc::dup2(fd, 9);
            Ok(())
        });
    }
    let run = Run::from(command.stdin(Stdio::null()).output().unwrap());
    assert_eq!(
        run.stdout, "0\n1\n2\n3\n",
        "only ls's own directory handle besides"
    );
    assert!(!run.stdout.contains(MARKER), "{}", run.stdout);
    fails_with(&run, "No such file or directory");
    let run = l.strict(
        &[],
        "printf '[profile prod-admin]\\n' >> ~/.aws/kiro/config",
    );
    fails_with(&run, "Read-only file system");
    let run = l.strict(&[], "mkdir ~/.aws/sso");
    fails_with(&run, "Read-only file system");
    // The isolated file on the host is untouched.
    let config = std::fs::read_to_string(l.t.config()).unwrap();
    assert!(!config.contains("prod-admin"));
    // Nothing anywhere in the sandbox's environment or files holds a credential.
    let run = l.strict(
        &[],
        "env; cat $AWS_CONFIG_FILE $AWS_SHARED_CREDENTIALS_FILE",
    );
    assert!(
        run.status == 0 && !run.stdout.contains(MARKER),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(crate::harness::SSO_TOKEN));
    assert!(!run.stdout.contains("sso_start_url"));
}

#[test]
fn other_profiles_cannot_be_reached_even_on_purpose() {
    let l = laptop();
    // Unset the isolation and name the host profile.
    let run = l.strict(
        &[],
        "env -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE AWS_ENDPOINT_URL_STS=$URL \
         AWS_ENDPOINT_URL_SSO=$URL aws --profile prod-admin sts get-caller-identity",
    );
    fails_with(&run, "The config profile (prod-admin) could not be found");

    // Write a config inside that names prod-admin through the kiro sso-session.
    let own_config = "cat > /tmp/own-config <<EOF
[sso-session kiro]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = eu-west-1
[profile prod-admin]
sso_session = kiro
sso_account_id = 999999999999
sso_role_name = AdministratorAccess
region = eu-west-1
EOF
AWS_CONFIG_FILE=/tmp/own-config AWS_ENDPOINT_URL_STS=$URL AWS_ENDPOINT_URL_SSO=$URL \
  aws --profile prod-admin sts get-caller-identity";
    let run = l.strict(&[], own_config);
    fails_with(&run, "Error loading SSO Token");
    // Control: the same attempt outside the sandbox does reach the admin role.
    let outside = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("URL={}\n{own_config}", l.stub.url))
        .env_clear()
        .env("HOME", l.t.home())
        .env("PATH", format!("{}:/usr/bin:/bin", venv_dir().display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&outside.stdout);
    assert!(
        stdout.contains("999999999999"),
        "the control attempt should work outside: {stdout} {}",
        String::from_utf8_lossy(&outside.stderr)
    );

    // Ask the broker itself for a profile that is not in the isolated config.
    for profile in ["prod-admin", "kiro-other"] {
        let run = l.strict(
            &[],
            &format!(
                "d=$(dirname $AWS_CONFIG_FILE); {BIN} __credential-process \
                 --socket $d/broker.sock --secret-file $d/secret --profile {profile}"
            ),
        );
        fails_with(&run, "is not a profile of the isolated config");
    }
}

#[test]
fn masks_cannot_be_undone_and_the_outside_is_out_of_reach() {
    let l = laptop();
    let run = l.strict(&[], "grep -E '^Cap(Eff|Bnd)' /proc/self/status");
    assert_eq!(
        run.stdout, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n",
        "{}",
        run.stderr
    );
    // (umount's message differs between root and an ordinary user; the masks stay.)
    for (target, then, failure) in [
        (
            "~/.aws",
            "cat ~/.aws/credentials",
            "No such file or directory",
        ),
        (
            "~/.aws/kiro/config",
            "echo x >> ~/.aws/kiro/config",
            "Read-only file system",
        ),
    ] {
        let run = l.strict(
            &[],
            &format!("umount {target} 2>/dev/null; umount -l {target} 2>/dev/null; {then}"),
        );
        fails_with(&run, failure);
    }
    let run = l.strict(&[], "unshare --user --map-root-user --mount true");
    assert_ne!(
        run.status, 0,
        "no new user namespace inside: {}",
        run.stderr
    );

    // The processes outside are not in the sandbox's /proc: read every environment that
    // is there, and try kiro-aws's own (its PID is handed in through the work directory).
    let script =
        "for f in /proc/[0-9]*/environ; do cat $f 2>/dev/null; done | tr '\\0' '\\n' > env-seen
for i in $(seq 200); do [ -s parent-pid ] && break; sleep 0.05; done
p=$(cat parent-pid); [ -n \"$p\" ] || exit 9
cat /proc/$p/environ > /dev/null 2> environ-error
ls /proc/$p/root$HOME/.aws > /dev/null 2> root-error
echo done";
    let mut child = l.invocation(&[], script).spawn();
    std::fs::write(l.t.work().join("parent-pid"), child.id().to_string()).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let read = |name: &str| std::fs::read_to_string(l.t.work().join(name)).unwrap();
    assert!(!read("env-seen").contains(MARKER));
    assert!(
        read("environ-error").contains("No such file"),
        "{}",
        read("environ-error")
    );
    assert!(
        read("root-error").contains("No such file"),
        "{}",
        read("root-error")
    );
}

#[test]
fn symlinks_hidden_paths_and_late_files_stay_hidden() {
    let l = laptop();
    let home = l.t.home();
    // Planted before launch: a link to the token cache, and host files that are links
    // to somewhere outside ~/.aws.
    std::os::unix::fs::symlink(home.join(".aws/sso/cache"), l.t.work().join("cache-link")).unwrap();
    l.t.write(
        "secrets/aws-credentials",
        format!("key = {MARKER}\n"),
        0o600,
    );
    std::fs::remove_file(home.join(".aws/credentials")).unwrap();
    std::os::unix::fs::symlink(
        home.join("secrets/aws-credentials"),
        home.join(".aws/credentials"),
    )
    .unwrap();
    l.t.write("elsewhere/sso/cache/x.json", MARKER, 0o600);
    std::os::unix::fs::symlink(home.join("elsewhere/sso"), home.join(".aws/sso-old")).unwrap();
    l.t.write("private/notes.txt", MARKER, 0o600);
    let hide = home.join("private");

    let run = l.strict(&[], "cat cache-link/*.json");
    fails_with(&run, "No such file or directory");
    let run = l.strict(&[], "cat ~/secrets/aws-credentials");
    assert!(!run.stdout.contains(MARKER), "{}", run.stdout);
    let run = l.strict(&[], "cat ~/elsewhere/sso/cache/x.json");
    fails_with(&run, "No such file or directory");
    let run = l.strict(
        &["--hide", hide.to_str().unwrap()],
        "cat ~/private/notes.txt",
    );
    fails_with(&run, "No such file or directory");
    // The rest of HOME and the project behave as usual.
    let run = l.strict(
        &[],
        "echo note > written-inside && cat ~/secrets/../private/notes.txt",
    );
    assert_eq!(run.stdout, MARKER, "{}", run.stderr);
    assert!(l.t.work().join("written-inside").exists());

    // A token written on the host after launch does not appear inside.
    let script = "touch sandbox-up
for i in $(seq 200); do [ -e late-written ] && break; sleep 0.05; done
cat ~/.aws/sso/cache/late.json";
    let child = l.invocation(&[], script).spawn();
    // Written only once the sandbox is up, so it really is created after launch.
    wait_for(&l.t.work().join("sandbox-up"));
    l.t.write(".aws/sso/cache/late.json", MARKER, 0o600);
    std::fs::write(l.t.work().join("late-written"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such file"));
}

#[test]
fn the_brokers_secret_is_useless_outside_the_sandbox() {
    let l = laptop();
    let script = "d=$(dirname $AWS_CONFIG_FILE)
cp $d/secret stolen-secret; echo $d/broker.sock > socket-path
for i in $(seq 200); do [ -e outside-done ] && break; sleep 0.05; done";
    let child = l.invocation(&[], script).spawn();
    let work = l.t.work();
    let started = Instant::now();
    while !work.join("socket-path").exists()
        || std::fs::read(work.join("socket-path")).unwrap().is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the sandbox did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let socket = std::fs::read_to_string(work.join("socket-path")).unwrap();
    let outside = std::process::Command::new(BIN)
        .args([
            "__credential-process",
            "--socket",
            socket.trim(),
            "--secret-file",
        ])
        .arg(work.join("stolen-secret"))
        .args(["--profile", "kiro-readonly"])
        .output()
        .unwrap();
    std::fs::write(work.join("outside-done"), "").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    assert_eq!(outside.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert!(
        stderr.contains("not inside this session's sandbox"),
        "{stderr}"
    );
    assert!(outside.stdout.is_empty());
}

#[test]
fn every_kiro_profile_works_through_the_broker() {
    let l = laptop();
    let expect = |account: &str| {
        format!(
            "arn:aws:sts::{account}:assumed-role/AWSReservedSSO_KiroReadOnly_{HEX}/dev@example.com"
        )
    };
    for (profile, account) in [
        ("kiro-readonly", "111111111111"),
        ("kiro-dev", "222222222222"),
    ] {
        // AWS CLI v1.
        let run = l.strict(
            &[],
            &format!(
                "AWS_ENDPOINT_URL_STS=$URL aws sts get-caller-identity --profile {profile} --query Arn --output text"
            ),
        );
        assert_eq!(run.stdout.trim(), expect(account), "{}", run.stderr);
        // botocore, as boto3 uses it.
        let run = l.strict(
            &["--profile", profile],
            "AWS_ENDPOINT_URL_STS=$URL python -c \"import botocore.session as s; \
             print(s.Session().create_client('sts').get_caller_identity()['Arn'])\"",
        );
        assert_eq!(run.stdout.trim(), expect(account), "{}", run.stderr);
    }
    // The Rust SDK (kiro-aws's own probe, run inside) reads the same profiles.
    let run = l.strict(
        &[],
        &format!(
            "echo '{{\"op\":\"whoami\",\"profiles\":[\"kiro-readonly\",\"kiro-dev\"],\"timeout_ms\":10000}}' \
             | AWS_ENDPOINT_URL_STS=$URL {BIN} __probe"
        ),
    );
    let json: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|_| panic!("{}", run.stderr));
    for (i, account) in ["111111111111", "222222222222"].iter().enumerate() {
        let identity = &json["whoami"][i]["observation"]["identity"];
        assert_eq!(identity["arn"], expect(account), "{json}");
        assert_eq!(identity["sources"][0], "process", "{json}");
    }
    // Within one session the broker mints a profile once; later calls use its cache.
    let minted = || {
        l.stub
            .requests()
            .iter()
            .filter(|r| r["path"] == "/federation/credentials")
            .count()
    };
    let before = minted();
    let run = l.strict(
        &["--profile", "kiro-dev"],
        "for i in 1 2 3; do AWS_ENDPOINT_URL_STS=$URL aws sts get-caller-identity >/dev/null || exit 1; done",
    );
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(minted() - before, 1);
}

#[test]
fn exit_status_signals_and_the_sandboxs_lifetime() {
    let l = laptop();
    assert_eq!(l.strict(&[], "exit 7").status, 7);

    // SIGTERM to kiro-aws reaches the program, whose exit status comes back.
    let mut child = l
        .invocation(
            &[],
            "trap 'exit 42' TERM; touch ready; while :; do sleep 0.05; done",
        )
        .command()
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&l.t.work().join("ready"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(42));

    // Killing kiro-aws outright takes the whole sandbox with it.
    let mut child = l
        .invocation(&[], "sleep 1000.5 & touch ready2; wait")
        .command()
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&l.t.work().join("ready2"));
    child.kill().unwrap();
    child.wait().unwrap();
    gone_within("1000.5", "the sandbox outlived kiro-aws");
}

/// No process with `arg` in its command line remains within 5 seconds.
#[track_caller]
fn gone_within(arg: &str, failure: &str) {
    let started = Instant::now();
    while processes_running(arg) {
        assert!(started.elapsed() < Duration::from_secs(5), "{failure}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_for(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn processes_running(arg: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| c.split(|b| *b == 0).any(|a| a == arg.as_bytes()))
            .unwrap_or(false)
    })
}

#[test]
fn a_real_interactive_program_answers_keys_and_resizes() {
    use std::os::fd::AsRawFd;
    let l = laptop();
    // Unbuffered writes: the resize may arrive while READY is still being written.
    let program = "import fcntl, os, signal, struct, sys, termios
def size():
    rows, cols = struct.unpack('hh', fcntl.ioctl(0, termios.TIOCGWINSZ, b'0000'))
    return f'{rows}x{cols}'
def say(*words):
    os.write(1, (' '.join(words) + '\\n').encode())
signal.signal(signal.SIGWINCH, lambda *_: say('SIZE', size()))
say('READY', size())
say('GOT', sys.stdin.readline().strip().upper())";
    let mut term = Terminal::start(
        l.t.cmd([
            "run",
            "--strict",
            "--",
            venv_bin("python").to_str().unwrap(),
            "-c",
            program,
        ])
        .aws(&l.stub),
    );
    term.read_until("READY 24x80");
    let bigger = nix::libc::winsize {
        ws_row: 40,
        ws_col: 132,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    unsafe { nix::libc::ioctl(term.master.as_raw_fd(), nix::libc::TIOCSWINSZ, &bigger) };
    term.read_until("SIZE 40x132");
    term.master.write_all(b"hello\r").unwrap();
    term.read_until("GOT HELLO");
    assert_eq!(term.child.wait().unwrap().code(), Some(0));
}

#[test]
fn without_a_sandbox_nothing_is_launched() {
    let t = Test::new();
    t.init();
    // No bwrap at all.
    let run = t
        .cmd(["--strict"])
        .env("KIRO_AWS_BWRAP", "/nonexistent/bwrap")
        .run()
        .exit(3);
    run.stderr_has("error[strict_bwrap_missing]");
    run.stderr_has("apt-get install bubblewrap");
    // bwrap refused by the system (as AppArmor does on Ubuntu).
    let fake = t.root().join("fake-bwrap");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let run = t
        .cmd(["--strict"])
        .env("KIRO_AWS_BWRAP", &fake)
        .run()
        .exit(3);
    if nix::unistd::geteuid().is_root() {
        run.stderr_has("error[strict_sandbox_failed]");
        run.stderr_has("setting up uid map");
        run.stderr_has("AppArmor");
    } else {
        // An ordinary user's file is never trusted as bwrap (the root run checks the
        // refusal's message).
        run.stderr_has("error[strict_bwrap_untrusted]");
    }
    // User namespaces switched off: kiro-aws itself inside a sandbox that forbids more.
    // (Root only: in an ordinary user's namespace root's files show as uid 65534, which
    // verify rightly refuses before strict mode is reached.)
    let run = Run::from(
        std::process::Command::new("bwrap")
            .args([
                "--unshare-user",
                "--disable-userns",
                "--bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--",
                BIN,
            ])
            .args(["run", "--strict", "--", "true"])
            .env_clear()
            .envs(t.cmd(["run"]).base_env())
            .current_dir(t.work())
            .output()
            .unwrap(),
    );
    assert_eq!(run.status, 3, "{}", run.stderr);
    if nix::unistd::geteuid().is_root() {
        run.stderr_has("error[strict_sandbox_failed]");
        run.stderr_has("user namespaces");
    } else {
        run.stderr_has("error[dir_writable]");
    }
    assert!(!t.was_launched("kiro-cli"));

    // verify --strict says the same, and a working machine passes.
    let json = t
        .cmd(["verify", "--strict", "--json"])
        .env("KIRO_AWS_BWRAP", "/nonexistent/bwrap")
        .run()
        .exit(3)
        .json();
    assert_eq!(json["strict"], false);
    assert_eq!(json["findings"][0]["code"], "strict_bwrap_missing");
    let json = t
        .cmd(["verify", "--strict", "--json"])
        .run()
        .success()
        .json();
    assert_eq!(json["strict"], true);
}

#[test]
fn init_strict_makes_every_launch_strict() {
    let l = laptop();
    l.t.cmd(["init", "--strict"]).run().success();
    let json = l.t.cmd(["verify", "--json"]).run().success().json();
    assert_eq!(json["strict_default"], true);
    let run =
        l.t.cmd(["run", "--", "sh", "-c", "cat ~/.aws/config"])
            .run();
    fails_with(&run, "No such file or directory");
    // kiro-cli is launched inside too. (/tmp is private inside, so this fake lives in the
    // project directory, which is shared, and records there.)
    let fake = l.t.work().join("kiro-cli");
    std::fs::copy(l.t.bin().join("kiro-cli"), &fake).unwrap();
    l.t.cmd([
        "--profile",
        "kiro-dev",
        "--kiro-cli",
        fake.to_str().unwrap(),
    ])
    .aws(&l.stub)
    .run()
    .success();
    let argv = std::fs::read_to_string(l.t.work().join("kiro-cli.argv")).unwrap();
    assert_eq!(argv, "chat\0--agent\0aws-readonly\0");
    let env = std::fs::read_to_string(l.t.work().join("kiro-cli.env")).unwrap();
    let config = env
        .split('\0')
        .find_map(|kv| kv.strip_prefix("AWS_CONFIG_FILE="))
        .unwrap();
    assert!(
        config.ends_with("/config") && !config.contains(".aws/kiro"),
        "{config}"
    );
    // The IDE cannot be contained (it may hand its window to an instance outside).
    let run = l.t.cmd(["ide"]).run().exit(3);
    run.stderr_has("error[strict_unsupported]");
    assert!(!l.t.was_launched("kiro"));
    // `env` cannot hand out a sandbox, so it refuses rather than offer a way around it.
    let run = l.t.cmd(["env"]).run().exit(3);
    run.stderr_has("error[strict_required]");
    // --no-strict takes it back.
    l.t.cmd(["init", "--no-strict"]).run().success();
    let json = l.t.cmd(["verify", "--json"]).run().success().json();
    assert_eq!(json["strict_default"], false);
}

#[test]
fn nothing_outside_acts_for_the_agent_and_nothing_is_planted_for_later() {
    let l = laptop();
    // The system is read-only inside (even for root): no bwrap, no preload, no binary
    // can be planted for a later launch outside. $HOME, /tmp and the project stay writable.
    for target in ["/usr/local/bin/bwrap", "/etc/ld.so.preload"] {
        let run = l.strict(&[], &format!("echo x >> {target}"));
        fails_with(&run, "Read-only file system");
    }
    // kiro-aws itself (which runs outside later) cannot be replaced or moved aside,
    // even installed in the writable $HOME.
    let installed = l.t.home().join(".local/bin/kiro-aws");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    std::fs::copy(BIN, &installed).unwrap();
    let before = std::fs::read(&installed).unwrap();
    let script = format!(
        "mv {0} {0}.moved; echo x > {0}; echo x >> {0}",
        installed.display()
    );
    let mut args: Vec<String> = ["run", "--strict", "--", "sh", "-c"]
        .map(String::from)
        .to_vec();
    args.push(script);
    let run = Run::from(
        std::process::Command::new(&installed)
            .args(&args)
            .env_clear()
            .envs(l.t.cmd(["run"]).base_env())
            .current_dir(l.t.work())
            .output()
            .unwrap(),
    );
    assert_ne!(run.status, 0, "{}", run.stderr);
    run.stderr_has("Device or resource busy");
    run.stderr_has("Read-only file system");
    assert_eq!(std::fs::read(&installed).unwrap(), before);
    let run = l.strict(
        &[],
        "echo x > ~/.note && echo x > /tmp/kiro-aws-note-$$ && echo x > here && echo ok",
    );
    assert_eq!(run.stdout, "ok\n", "{}", run.stderr);

    // A service outside listening on an abstract socket would read the hidden files for
    // the agent: the sandbox's own network namespace has none of the host's.
    let name = format!("kiro-aws-test-{}", std::process::id());
    let server = format!(
        "import socket\ns = socket.socket(socket.AF_UNIX)\ns.bind('\\0{name}')\ns.listen()\n\
         print('listening', flush=True)\nwhile True:\n    c, _ = s.accept()\n    c.sendall(b'{MARKER}')\n    c.close()\n"
    );
    let mut listener = std::process::Command::new(venv_bin("python"))
        .args(["-c", &server])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = [0u8; 10];
    listener
        .stdout
        .take()
        .unwrap()
        .read_exact(&mut line)
        .unwrap();
    let client = format!(
        "python -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect('\\0{name}'); print(s.recv(100))\""
    );
    let outside = std::process::Command::new("sh")
        .args(["-c", &client])
        .env("PATH", format!("{}:/usr/bin:/bin", venv_dir().display()))
        .output()
        .unwrap();
    let run = l.strict(&[], &client);
    let _ = listener.kill();
    let _ = listener.wait();
    assert!(
        String::from_utf8_lossy(&outside.stdout).contains(MARKER),
        "the control connects from outside"
    );
    assert!(!run.stdout.contains(MARKER), "{}", run.stdout);
    // Abstract sockets belong to a network namespace, and the sandbox has its own.
    fails_with(&run, "Connection refused");
}

#[test]
fn an_untrusted_bwrap_or_a_symlinked_aws_dir_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    t.init();
    // A bwrap that someone but root could have written.
    let dir = t.root().join("writable-by-all");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy("/usr/bin/bwrap", dir.join("bwrap")).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = t
        .cmd(["run", "--strict", "--", "true"])
        .env("KIRO_AWS_BWRAP", dir.join("bwrap"))
        .run()
        .exit(3);
    run.stderr_has("error[strict_bwrap_untrusted]");

    // ~/.aws as a link: its name could be swapped from inside.
    let home = t.home();
    std::fs::rename(home.join(".aws"), home.join("dotfiles-aws")).unwrap();
    std::os::unix::fs::symlink(home.join("dotfiles-aws"), home.join(".aws")).unwrap();
    let run = t.cmd(["run", "--strict", "--", "true"]).run().exit(3);
    run.stderr_has("error[strict_aws_dir_symlink]");
}

#[test]
fn closing_the_terminal_ends_the_session_even_for_a_job_control_shell() {
    let l = laptop();
    // An interactive shell puts its commands in process groups of their own, away from
    // bwrap's; it must still go when the terminal does.
    let mut term = Terminal::start(l.t.cmd([
        "run",
        "--strict",
        "--",
        "bash",
        "--norc",
        "--noprofile",
        "-i",
    ]));
    term.master
        .write_all(b"sleep 1000.25 &\r echo started-$((6*7))\r")
        .unwrap();
    term.read_until("started-42");
    let Terminal {
        mut child, master, ..
    } = term;
    // The terminal goes away.
    drop(master);
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "kiro-aws outlived its terminal"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    gone_within("1000.25", "a job outlived the session");
}

/// kiro-aws started on a pseudo-terminal of the test's, as from a terminal emulator.
struct Terminal {
    child: std::process::Child,
    master: std::fs::File,
    seen: String,
}

impl Terminal {
    fn start(invocation: crate::harness::Invocation<'_>) -> Terminal {
        use std::os::fd::AsRawFd;
        let size = nix::pty::Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&size, None).unwrap();
        // Only the child gets the terminal (its standard streams).
        for fd in [&pty.master, &pty.slave] {
            unsafe { nix::libc::fcntl(fd.as_raw_fd(), nix::libc::F_SETFD, nix::libc::FD_CLOEXEC) };
        }
        let slave = pty.slave.as_raw_fd();
        let mut command = invocation.command();
        command
            .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
            .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
            .stderr(Stdio::from(pty.slave.try_clone().unwrap()));
        unsafe {
            command.pre_exec(move || {
                nix::libc::setsid();
                nix::libc::ioctl(slave, nix::libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        // Only kiro-aws holds the terminal now: if it dies, reading the master ends.
        drop(command);
        drop(pty.slave);
        Terminal {
            child,
            master: std::fs::File::from(pty.master),
            seen: String::new(),
        }
    }

    /// Read until `needle` shows, polling so that a silent sandbox fails the test
    /// instead of hanging it.
    fn read_until(&mut self, needle: &str) {
        use std::os::fd::AsRawFd;
        let started = Instant::now();
        while !self.seen.contains(needle) {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "no {needle:?} in {:?}",
                self.seen
            );
            let mut fds = [nix::libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: nix::libc::POLLIN,
                revents: 0,
            }];
            if unsafe { nix::libc::poll(fds.as_mut_ptr(), 1, 100) } <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            let n = self.master.read(&mut buf).unwrap_or(0);
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

#[test]
fn a_large_paste_reaches_a_busy_program_whole() {
    let l = laptop();
    // The program writes output all the time and reads its input only after a while.
    let program = "import os, sys, threading, time
def chatter():
    while True:
        os.write(1, b'.' * 512 + b'\\n'); time.sleep(0.001)
threading.Thread(target=chatter, daemon=True).start()
time.sleep(1)
n = 0
for line in sys.stdin:
    if line.startswith('END'):
        break
    n += 1
os.write(1, f'LINES {n}\\n'.encode())";
    let mut term = Terminal::start(l.t.cmd([
        "run",
        "--strict",
        "--",
        venv_bin("python").to_str().unwrap(),
        "-c",
        program,
    ]));
    let mut paste = Vec::new();
    for i in 0..1500 {
        paste.extend_from_slice(format!("{i:0>99}\r").as_bytes());
    }
    paste.extend_from_slice(b"END\r");
    // Write from a thread: the test keeps reading the output meanwhile.
    let mut writer = term.master.try_clone().unwrap();
    let typing = std::thread::spawn(move || writer.write_all(&paste).unwrap());
    term.read_until("LINES 1500");
    typing.join().unwrap();
    assert_eq!(term.child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_program_that_ignores_the_hangup_is_ended_without_spinning() {
    let l = laptop();
    let mut term = Terminal::start(l.t.cmd([
        "run",
        "--strict",
        "--",
        "bash",
        "-c",
        "trap '' HUP; echo ready; sleep 30",
    ]));
    term.read_until("ready");
    let Terminal { child, master, .. } = term;
    drop(master);
    // kiro-aws waits 5 s for the session to end by itself, then kills it: 128 + SIGKILL.
    let mut status = 0;
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let started = Instant::now();
    let pid = unsafe { nix::libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(nix::libc::WEXITSTATUS(status), 137);
    // It waited on signals and the terminal, not in a busy loop.
    let cpu = usage.ru_utime.tv_sec as f64
        + usage.ru_utime.tv_usec as f64 / 1e6
        + usage.ru_stime.tv_sec as f64
        + usage.ru_stime.tv_usec as f64 / 1e6;
    assert!(cpu < 1.0, "kiro-aws used {cpu:.2} s of CPU while waiting");
}

/// Hostile leftovers that must not stop or weaken a launch: planted links among the
/// other credential tools' stores that point at the home directory or the system (they
/// are not masked, and the launch goes on), and a run directory someone else created
/// at kiro-aws's name (refused, exit 3, never used).
#[test]
fn planted_links_and_a_foreign_run_directory() {
    let l = laptop();
    let home = l.t.home();
    std::os::unix::fs::symlink(&home, home.join(".aws-sso")).unwrap();
    std::os::unix::fs::symlink("/usr", home.join(".granted")).unwrap();
    let run = l.strict(&[], "ls /usr/bin/env >/dev/null && cat ~/.aws/config");
    fails_with(&run, "No such file or directory");
    assert!(
        !run.stderr.contains("hide_covers_needed_path"),
        "{}",
        run.stderr
    );
    l.strict(&[], "test -x /usr/bin/env && test -d ~/.aws-sso/")
        .success();

    if nix::unistd::geteuid().is_root() {
        let runtime = l.t.root().join("runtime");
        let foreign = runtime.join("kiro-aws");
        std::fs::create_dir_all(&foreign).unwrap();
        nix::unistd::chown(&foreign, Some(nix::unistd::Uid::from_raw(65534)), None).unwrap();
        let run = l
            .invocation(&[], "true")
            .env("XDG_RUNTIME_DIR", &runtime)
            .run()
            .exit(3);
        run.stderr_has("error[strict_run_dir_unsafe]");
        assert!(std::fs::read_dir(&foreign).unwrap().next().is_none());
    }
}

/// The host's temporary and runtime directories never come back inside, whatever the
/// working directory or `PATH`: a socket of a program outside (tmux's, here a listener of
/// the test's) stays out of reach, a working directory that would bring it is refused
/// (exit 3), and a tool on `PATH` below `/tmp` (a virtualenv's `python`) still runs.
#[test]
fn the_hosts_tmp_and_its_sockets_stay_outside() {
    let l = laptop();
    let shared = tempfile::Builder::new()
        .prefix("kiro-aws-test-tmux-")
        .tempdir_in("/tmp")
        .unwrap();
    let socket = shared.path().join("default");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    listener.set_nonblocking(true).unwrap();
    let connect = format!(
        "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('{}')\n    print('CONNECTED')\nexcept OSError as e:\n    print('refused', e)\n",
        socket.display()
    );
    let python = venv_bin("python");
    let python = python.to_str().unwrap();
    let run_in = |cwd: &Path, path: Option<String>| {
        let mut invocation =
            l.t.cmd(["run", "--strict", "--", python, "-c", &connect])
                .aws(&l.stub)
                .cwd(cwd);
        if let Some(path) = path {
            invocation = invocation.env("PATH", path);
        }
        invocation.run()
    };
    // Control: outside the sandbox the socket answers.
    assert!(std::os::unix::net::UnixStream::connect(&socket).is_ok());
    // The host's shared directories themselves, and the one holding the socket (the
    // user's runtime directory /run/user/UID is below /run, refused the same way).
    for cwd in [
        Path::new("/tmp"),
        Path::new("/var/tmp"),
        Path::new("/run"),
        Path::new("/dev/shm"),
        shared.path(),
    ] {
        let run = run_in(cwd, None);
        assert_eq!(run.status, 3, "{}: {}", cwd.display(), run.stderr);
        run.stderr_has("error[strict_cwd_shared]");
    }
    for path in [
        format!("/tmp:{}", l.t.path_var()),
        format!("{}:{}", shared.path().display(), l.t.path_var()),
    ] {
        let run = run_in(&l.t.work(), Some(path.clone()));
        assert!(
            run.stdout.contains("refused"),
            "{path}: {}{}",
            run.stdout,
            run.stderr
        );
        assert!(!run.stdout.contains("CONNECTED"));
    }
    // A virtualenv below /tmp on PATH, its `python` a symlink: still runs inside.
    let venv = tempfile::Builder::new()
        .prefix("kiro-aws-test-venv-")
        .tempdir_in("/tmp")
        .unwrap();
    let made = std::process::Command::new(python)
        .args(["-m", "venv", "--without-pip"])
        .arg(venv.path().join("v"))
        .status()
        .unwrap();
    assert!(made.success());
    let bin = venv.path().join("v/bin");
    let run =
        l.t.cmd([
            "run",
            "--strict",
            "--",
            "python",
            "-c",
            "import sys; print(sys.prefix)",
        ])
        .aws(&l.stub)
        .env("PATH", format!("{}:{}", bin.display(), l.t.path_var()))
        .run();
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(run.stdout.contains("kiro-aws-test-venv-"), "{}", run.stdout);
    drop(listener);
}

/// A socket below `$HOME` (an ssh agent's, here a listener of the test's) is out of
/// reach inside unless `--allow-socket` lets it in on purpose.
#[test]
fn sockets_in_home_need_allow_socket() {
    let l = laptop();
    let dir = l.t.home().join(".ssh");
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("agent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let connect = format!(
        "import socket\ns=socket.socket(socket.AF_UNIX)\ntry:\n    s.connect('{}')\n    print('CONNECTED')\nexcept OSError as e:\n    print('refused', e)\n",
        socket.display()
    );
    let python = venv_bin("python");
    let python = python.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--strict"];
        args.extend(extra);
        args.extend(["--", python, "-c", &connect]);
        l.t.cmd(args).aws(&l.stub).run()
    };
    let blocked = run(&[]);
    assert!(
        blocked.stdout.contains("refused"),
        "{}{}",
        blocked.stdout,
        blocked.stderr
    );
    let socket_arg = socket.to_str().unwrap();
    let allowed = run(&["--allow-socket", socket_arg]);
    assert!(
        allowed.stdout.contains("CONNECTED"),
        "{}{}",
        allowed.stdout,
        allowed.stderr
    );
    let bad = run(&["--allow-socket", "/nonexistent.sock"]);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    bad.stderr_has("allow_socket_invalid");
    let outside =
        l.t.cmd(["run", "--allow-socket", socket_arg, "--", "true"])
            .run();
    assert_eq!(outside.status, 2);
    drop(listener);
}
