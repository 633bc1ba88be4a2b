//! Strict mode, start to end: plan the sandbox, prove bwrap can build it (or refuse with
//! the reason: exit 3, nothing launched), start the broker, run the program inside and
//! return its exit status. The pieces: [`sandbox`], [`broker`], [`supervisor`].

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::broker::{self, Broker, RoleCredentials, RunDir};
use crate::error::{Error, Exit, Result};
use crate::identity::{FailureKind, Observation};
use crate::launch::{self, ProgramSource};
use crate::launch_env::LaunchEnv;
use crate::paths::Paths;
use crate::probe::{self, Request, Response};
use crate::profile::ProfileSet;
use crate::sandbox::{self, Spec};
use crate::supervisor;

const BWRAP_HINT: &str =
    "install bubblewrap (`sudo apt-get install bubblewrap`), or set KIRO_AWS_BWRAP to its path";

/// The strict sandbox could not be built: nothing is launched (exit 3).
fn sandbox_failed(message: impl Into<String>, fix: impl Into<String>) -> Error {
    Error::not_isolated(message, fix).with_code("strict_sandbox_failed")
}

/// `bwrap`: `$KIRO_AWS_BWRAP`, else on `PATH`. Missing is exit 3 here, not 4: strict
/// mode never falls back to launching without its sandbox.
pub fn find_bwrap(inherited: &[(OsString, OsString)]) -> Result<PathBuf> {
    let source = ProgramSource {
        name: "bwrap",
        flag: None,
        override_var: Some("KIRO_AWS_BWRAP"),
        install_hint: BWRAP_HINT,
    };
    launch::resolve_program(source, inherited).map_err(|_| {
        sandbox_failed(
            "strict mode needs bwrap (bubblewrap), which was not found; nothing was launched",
            BWRAP_HINT,
        )
        .with_code("strict_bwrap_missing")
    })
}

/// Where the brokers' directories live: `$XDG_RUNTIME_DIR/kiro-aws`, else
/// `/tmp/kiro-aws-<uid>`.
fn runtime_dir(inherited: &[(OsString, OsString)]) -> PathBuf {
    match launch::var(inherited, "XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && dir.is_dir() => dir.join("kiro-aws"),
        _ => PathBuf::from(format!("/tmp/kiro-aws-{}", nix::unistd::getuid())),
    }
}

/// Everything a strict launch needs but the program: the run directory (its files
/// written), the spec with `argv` still empty, and the environment inside.
pub struct Prepared {
    pub run: RunDir,
    pub spec: Spec,
    pub env: BTreeMap<OsString, OsString>,
    pub bwrap: PathBuf,
}

pub fn prepare(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    set: &ProfileSet,
    profile: &str,
    hide: &[PathBuf],
) -> Result<Prepared> {
    // The checked file is the one executed (not a link that could be swapped after).
    let bwrap = std::fs::canonicalize(find_bwrap(inherited)?)
        .map_err(|e| Error::io("bwrap", "resolve bwrap", e))?;
    sandbox::check_trusted(&bwrap, &paths.home).map_err(|reason| {
        sandbox_failed(
            format!("refusing to build the sandbox with this bwrap: {reason}"),
            "use the system's bwrap (`sudo apt-get install bubblewrap`, /usr/bin/bwrap); unset KIRO_AWS_BWRAP or point it at a root-owned one",
        )
        .with_code("strict_bwrap_untrusted")
        .at(&bwrap)
    })?;
    // A symlinked ~/.aws could be renamed from inside (only its target is covered) and a
    // new ~/.aws planted for the host to read later.
    let aws_link = paths.home.join(".aws");
    if std::fs::symlink_metadata(&aws_link).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(sandbox_failed(
            "~/.aws is a symlink; strict mode needs it to be a real directory",
            "replace the link with the directory it points to (`mv`), then launch again",
        )
        .with_code("strict_aws_dir_symlink")
        .at(aws_link));
    }
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("/proc/self/exe", "find kiro-aws itself", e))?;
    let real = |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(p, "resolve", e));
    let aws_dir = real(&paths.home.join(".aws"))?;
    let kiro_files = vec![real(&paths.config)?, real(&paths.credentials)?];
    let run = RunDir::create(&runtime_dir(inherited))?;
    run.write(
        &run.config,
        broker::sandbox_config(set, &exe, &run)?.as_bytes(),
    )?;
    let mut launch_env = LaunchEnv::new(paths, profile, inherited)?;
    let text = |p: &Path| p.to_string_lossy().into_owned();
    launch_env
        .set
        .insert("AWS_CONFIG_FILE".into(), text(&run.config));
    launch_env
        .set
        .insert("AWS_SHARED_CREDENTIALS_FILE".into(), text(&run.credentials));
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .unwrap_or_else(|_| PathBuf::from("/"));
    let spec = Spec {
        tmp_tools: sandbox::tmp_tools(
            crate::launch::var(inherited, "PATH"),
            &sandbox::private_tmp(),
            &sandbox::writable(&paths.home, &cwd),
        ),
        private_tmp: sandbox::private_tmp(),
        writable: sandbox::writable(&paths.home, &cwd),
        ipc_masks: sandbox::ipc_masks(
            nix::unistd::getuid().as_raw(),
            inherited,
            &[&paths.home, &cwd, &exe],
        ),
        masks: sandbox::masks(&paths.home, &aws_dir, hide, inherited)?,
        aws_dir,
        kiro_files,
        runtime_dir: real(run.path.parent().expect("below the runtime directory"))?,
        run_dir: real(&run.path)?,
        empty_file: real(&run.empty)?,
        cwd,
        status_fd: -1,
        exe,
        argv: Vec::new(),
    };
    sandbox::check(&spec)?;
    Ok(Prepared {
        env: crate::launch_env::strict_only(launch_env.apply(inherited)),
        run,
        spec,
        bwrap,
    })
}

/// Build the sandbox once around `true`: the exact reason when bwrap cannot.
pub fn preflight(prepared: &Prepared) -> Result<()> {
    let (read, write) = supervisor::status_pipe()?;
    let spec = Spec {
        status_fd: write.as_raw_fd(),
        argv: vec!["true".into()],
        ..prepared.spec.clone()
    };
    let fd = write.as_raw_fd();
    let mut command = Command::new(&prepared.bwrap);
    command
        .args(sandbox::bwrap_args(&spec))
        .env_clear()
        .envs(&prepared.env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            nix::libc::setsid();
            if nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command
        .output()
        .map_err(|e| Error::io(&prepared.bwrap, "start bwrap", e))?;
    drop(write);
    drop(read);
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(sandbox_failed(
        format!(
            "bwrap could not build the sandbox ({}): {stderr}; nothing was launched",
            output.status
        ),
        sandbox::failure_fix(&stderr),
    )
    .at(&prepared.bwrap))
}

/// Ask the probe (outside, with the isolated config) for `profile`'s credentials.
fn mint(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    profile: &str,
) -> std::result::Result<RoleCredentials, String> {
    let request = Request::Credentials {
        profile: profile.to_owned(),
        timeout_ms: 30_000,
    };
    match probe::call(paths, profile, inherited, &request, "") {
        Ok(Response::Credentials(c)) => Ok(c),
        Ok(Response::Failed(Observation::Failed { kind, message })) => Err(match kind {
            FailureKind::LoginRequired => format!(
                "the SSO sign-in for {profile} is missing or expired ({message}); run `kiro-aws login` outside the sandbox"
            ),
            _ => message,
        }),
        Ok(_) => Err("the probe gave an unexpected answer".into()),
        Err(e) => Err(e.message),
    }
}

/// Run `program argv...` in the strict sandbox and return its exit status.
pub fn launch(
    paths: &Paths,
    inherited: &[(OsString, OsString)],
    set: &ProfileSet,
    profile: &str,
    hide: &[PathBuf],
    program: PathBuf,
    argv: Vec<OsString>,
) -> Result<Exit> {
    // Before any thread starts, so that only the supervisor's loop takes these signals.
    let signals = supervisor::block_signals()?;
    let mut prepared = prepare(paths, inherited, set, profile, hide)?;
    preflight(&prepared)?;

    // Before the broker's threads, which start child processes.
    let pty = supervisor::Pty::open_if_terminal()?;
    let mint_paths = paths.clone();
    let mint_env = inherited.to_vec();
    let broker = Broker::new(
        set,
        prepared.run.secret.clone(),
        Box::new(move |profile| mint(&mint_paths, &mint_env, profile)),
    );
    let listener = std::os::unix::net::UnixListener::bind(&prepared.run.socket)
        .map_err(|e| Error::io(&prepared.run.socket, "listen on the broker socket", e))?;
    broker.serve(listener);
    broker.prefetch(profile);

    let pipe = supervisor::status_pipe()?;
    prepared.spec.status_fd = pipe.1.as_raw_fd();
    prepared.spec.argv = std::iter::once(program.into_os_string())
        .chain(argv.into_iter().skip(1))
        .collect();
    let outcome = supervisor::run(
        &prepared.bwrap,
        &sandbox::bwrap_args(&prepared.spec),
        &prepared.env,
        signals,
        pty,
        pipe,
        broker.sandbox_pid_ns.clone(),
    )?;
    if !outcome.ran {
        return Err(sandbox_failed(
            "the sandbox stopped before the program ran (bwrap's message is above)",
            "run `kiro-aws verify --strict`",
        ));
    }
    Ok(Exit::Program(outcome.status))
}
