//! One strict session, start to end: its private run directory (the broker's socket and
//! secret, the sandbox's AWS config), the sandbox planned for it, the fail-closed check
//! that bwrap can build it (or the reason, exit 3: nothing launched), the broker, the
//! program inside, and its exit status.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::code::Code;
use crate::config::profile::ProfileSet;
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::finding::Finding;
use crate::install::atomic_file;
use crate::launch::environment::LaunchEnv;
use crate::network::{Network, Rules};
use crate::online::identity::{FailureKind, Observation};
use crate::online::probe::{self, Request, Response, RoleCredentials};
use crate::paths::Paths;
use crate::policy::Policy;
use crate::strict::broker::Broker;
use crate::strict::bwrap::{self, Streams};
use crate::strict::egress::{self, proxy::Proxy, upstream::Upstream};
use crate::strict::names::{CLIENT, CONNECT};
use crate::strict::plan::{self, Spec};
use crate::strict::pty::Pty;
use crate::strict::{supervisor, view, Containment};

/// This session's private directory: the socket, the secret, the sandbox's AWS config
/// and an empty credentials file. Removed when dropped.
pub struct RunDir {
    pub path: PathBuf,
    pub socket: PathBuf,
    /// The egress proxy's socket.
    pub proxy_socket: PathBuf,
    pub secret_file: PathBuf,
    pub config: PathBuf,
    pub credentials: PathBuf,
    pub empty: PathBuf,
    pub secret: String,
}

impl RunDir {
    /// Create a fresh 0700 directory below `runtime_dir` (itself 0700 and ours).
    pub fn create(runtime_dir: &Path) -> Result<RunDir> {
        // Someone else's directory (or a link) at this name, planted in a shared /tmp
        // before the first session, must be neither used nor touched.
        let unsafe_dir = |why: &str| {
            Error::new(
                Code::StrictRunDirUnsafe,
                format!("{} {why}", runtime_dir.display()),
            )
            .at(runtime_dir)
        };
        let me = nix::unistd::getuid().as_raw();
        if let Ok(meta) = std::fs::symlink_metadata(runtime_dir) {
            if meta.file_type().is_symlink() || !meta.is_dir() {
                return Err(unsafe_dir(
                    "is not a directory of its own (a link, or a file)",
                ));
            }
            if meta.uid() != me {
                return Err(unsafe_dir(&format!(
                    "belongs to uid {}, not to you",
                    meta.uid()
                )));
            }
        }
        atomic_file::ensure_dir(runtime_dir, 0o700)
            .map_err(|e| unsafe_dir(&format!("cannot be made private: {}", e.message)))?;
        let meta = std::fs::symlink_metadata(runtime_dir)
            .map_err(|e| Error::io(runtime_dir, "inspect", e))?;
        if meta.uid() != me {
            return Err(unsafe_dir(&format!(
                "belongs to uid {}, not to you",
                meta.uid()
            )));
        }
        remove_stale(runtime_dir);
        let secret = random_hex(32)?;
        let path = runtime_dir.join(format!("run-{}-{}", std::process::id(), &secret[..8]));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io(&path, "create the broker directory", e))?;
        let run = RunDir {
            socket: path.join("broker.sock"),
            proxy_socket: path.join("proxy.sock"),
            secret_file: path.join("secret"),
            config: path.join("config"),
            credentials: path.join("credentials"),
            empty: path.join("empty"),
            path,
            secret,
        };
        run.write(&run.secret_file, run.secret.as_bytes())?;
        run.write(&run.credentials, b"")?;
        run.write(&run.empty, b"")?;
        Ok(run)
    }

    /// Write a new private file (never through a link: the directory is new and ours).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| Error::io(path, "create", e))?;
        file.write_all(bytes)
            .map_err(|e| Error::io(path, "write", e))
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Remove the directories of sessions whose kiro-aws is gone (killed before cleaning up).
fn remove_stale(runtime_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(runtime_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix("run-"))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| Error::io("/dev/urandom", "read", e))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The AWS config the sandbox sees: every kiro profile, its region and output, and a
/// `credential_process` that asks the broker. No SSO settings, no token.
pub fn sandbox_config(set: &ProfileSet, exe: &Path, run: &RunDir) -> Result<String> {
    let safe = |p: &Path| {
        let text = p.to_str().unwrap_or("");
        if !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-+@%:,=".contains(&b))
        {
            Ok(text.to_owned())
        } else {
            Err(Error::new(
                Code::IsolationNotProven,
                format!(
                    "{} has characters that a credential_process line cannot carry safely",
                    p.display()
                ),
            )
            .with_fix(
                "install kiro-aws (and set XDG_RUNTIME_DIR) under paths without spaces or quotes",
            )
            .at(p))
        }
    };
    let (exe, socket, secret) = (safe(exe)?, safe(&run.socket)?, safe(&run.secret_file)?);
    let mut out = String::from(
        "# Written by kiro-aws for one strict session: credentials come from its broker,\n\
         # outside this sandbox. Removed when the session ends.\n",
    );
    for p in &set.profiles {
        out.push_str(&format!(
            "\n[profile {0}]\ncredential_process = {exe} {CLIENT} --socket {socket} --secret-file {secret} --profile {0}\n",
            p.name
        ));
        if let Some(region) = &p.region {
            out.push_str(&format!("region = {region}\n"));
        }
        if let Some(output) = &p.output {
            out.push_str(&format!("output = {output}\n"));
        }
    }
    Ok(out)
}

/// `--hide` paths and those the managed policy hides (the ones that exist now).
fn hidden(hide: &[PathBuf], policy: &Policy) -> Vec<PathBuf> {
    let mut all = hide.to_vec();
    all.extend(
        policy
            .hidden_paths
            .iter()
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .cloned(),
    );
    all
}

/// What the egress proxy lets out: the launch's flags within the managed policy's
/// bounds (its hosts added; `--network allowlist` when it says so).
fn network_rules(containment: &Containment, policy: &Policy) -> Result<Rules> {
    let network = match (containment.network, policy.require_network_allowlist) {
        (Some(Network::Public), true) => {
            return Err(Error::new(
                Code::PolicyViolation,
                "--network public: the managed policy requires --network allowlist",
            ))
        }
        (_, true) => Network::Allowlist,
        (chosen, false) => chosen.unwrap_or_default(),
    };
    let mut allowed = containment.allow_hosts.clone();
    allowed.extend(policy.allowed_hosts.iter().cloned());
    allowed.sort();
    allowed.dedup();
    Ok(Rules { network, allowed })
}

/// Where the brokers' directories live: `$XDG_RUNTIME_DIR/kiro-aws`, else
/// `/tmp/kiro-aws-<uid>`.
fn runtime_dir(inherited: &Env) -> PathBuf {
    match inherited.get("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && dir.is_dir() => dir.join("kiro-aws"),
        _ => PathBuf::from(format!("/tmp/kiro-aws-{}", nix::unistd::getuid())),
    }
}

/// Everything a strict launch needs but the program: the run directory (its files
/// written), the sandbox, the environment inside and the bwrap that builds it.
pub struct Prepared {
    /// The real home directory.
    pub home: PathBuf,
    pub run: RunDir,
    pub spec: Spec,
    pub env: BTreeMap<OsString, OsString>,
    pub bwrap: PathBuf,
    /// What the egress proxy lets out, and the user's own proxy it goes through.
    pub rules: Rules,
    pub upstream: Option<Upstream>,
}

pub fn prepare(
    paths: &Paths,
    inherited: &Env,
    set: &ProfileSet,
    profile: &str,
    containment: &Containment,
) -> Result<Prepared> {
    let policy = match crate::policy::load(&paths.policy_file) {
        crate::policy::Loaded::Valid(policy) => policy,
        _ => Policy::default(),
    };
    let rules = network_rules(containment, &policy)?;
    let upstream = Upstream::from_env(inherited)?;
    let bwrap = bwrap::find(inherited, &paths.home)?;
    // A symlinked ~/.aws could be renamed from inside (only its target is covered) and a
    // new ~/.aws planted for the host to read later.
    if std::fs::symlink_metadata(&paths.aws_dir).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(Error::new(
            Code::StrictAwsDirSymlink,
            "~/.aws is a symlink; strict mode needs it to be a real directory",
        )
        .with_fix("replace the link with the directory it points to (`mv`), then launch again")
        .at(&paths.aws_dir));
    }
    let exe = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("/proc/self/exe", "find kiro-aws itself", e))?;
    let real = |p: &Path| std::fs::canonicalize(p).map_err(|e| Error::io(p, "resolve", e));
    let aws_dir = real(&paths.aws_dir)?;
    let kiro_files = vec![real(&paths.config)?, real(&paths.credentials)?];
    let run = RunDir::create(&runtime_dir(inherited))?;
    run.write(&run.config, sandbox_config(set, &exe, &run)?.as_bytes())?;
    let mut launch_env = LaunchEnv::new(paths, profile, inherited)?;
    let text = |p: &Path| p.to_string_lossy().into_owned();
    launch_env
        .set
        .insert("AWS_CONFIG_FILE".into(), text(&run.config));
    launch_env
        .set
        .insert("AWS_SHARED_CREDENTIALS_FILE".into(), text(&run.credentials));
    // (The path is one `sandbox_config` accepted for a command line.)
    launch_env.route_through(
        &egress::bridge_url(),
        &format!("{} {CONNECT} %h %p", exe.display()),
        inherited,
    );
    let cwd = std::fs::canonicalize(inherited.cwd()).unwrap_or_else(|_| PathBuf::from("/"));
    let real_home = real(&paths.home)?;
    let run_path = real(&run.path)?;
    let needed: Vec<&Path> = [real_home.as_path(), &cwd, &exe, &run_path]
        .into_iter()
        .chain(kiro_files.iter().map(PathBuf::as_path))
        .collect();
    if let Some(why) = view::shared_cwd(&cwd) {
        return Err(Error::new(
            Code::StrictCwdShared,
            format!("{why}; a strict session there would reach what runs outside"),
        )
        .at(&cwd));
    }
    let mut allowed_sockets = Vec::new();
    for socket in &containment.allow_sockets {
        use std::os::unix::fs::FileTypeExt;
        let real = std::fs::canonicalize(socket)
            .ok()
            .filter(|r| std::fs::metadata(r).is_ok_and(|m| m.file_type().is_socket()));
        match real {
            Some(real) => allowed_sockets.push(real),
            None => {
                return Err(Error::new(
                    Code::AllowSocketInvalid,
                    format!("--allow-socket {}: not a Unix socket", socket.display()),
                ))
            }
        }
    }
    let private_tmp = view::private_tmp();
    let private_run = view::private_run();
    let private: Vec<PathBuf> = private_tmp.iter().chain(&private_run).cloned().collect();
    let writable = view::writable(&paths.home, &cwd);
    let spec = Spec {
        tmp_tools: view::tmp_tools(inherited.get("PATH"), &private, &writable),
        private_tmp,
        private_run,
        writable,
        ipc_masks: view::ipc_masks(
            nix::unistd::getuid().as_raw(),
            inherited,
            &[&paths.home, &cwd, &exe],
        ),
        // Found by `find_sockets`, which the launch runs beside the preflight.
        socket_masks: Vec::new(),
        allowed_sockets,
        masks: view::masks(
            &paths.home,
            &aws_dir,
            &hidden(&containment.hide, &policy),
            inherited,
            &needed,
        )?,
        aws_dir,
        kiro_files,
        runtime_dir: real(run.path.parent().expect("below the runtime directory"))?,
        // The run directory's own names, below its real path (the sockets do not exist
        // yet, so they cannot be resolved themselves).
        proxy_socket: run_path.join(run.proxy_socket.file_name().expect("a file name")),
        broker_socket: run_path.join(run.socket.file_name().expect("a file name")),
        run_dir: run_path.clone(),
        empty_file: real(&run.empty)?,
        cwd,
        exe,
    };
    plan::check(&spec)?;
    Ok(Prepared {
        home: real_home,
        env: launch_env.apply(inherited),
        run,
        spec,
        bwrap,
        rules,
        upstream,
    })
}

/// The sockets of programs outside to cover in `spec` (all that the sandbox would see
/// but the `--allow-socket` ones): the slowest part of preparing, a walk of several
/// trees, so the launch runs it beside the preflight.
pub fn find_sockets(home: &Path, spec: &Spec) -> Vec<PathBuf> {
    view::outside_sockets(home, &spec.cwd)
        .into_iter()
        .filter(|s| std::fs::canonicalize(s).is_ok_and(|r| !spec.allowed_sockets.contains(&r)))
        .collect()
}

/// Build the sandbox once around `true`, started exactly as the launch starts it: the
/// exact reason when bwrap cannot.
pub fn preflight(prepared: &Prepared) -> Result<()> {
    let (read, write) = supervisor::status_pipe()?;
    let args = plan::bwrap_args(&prepared.spec, write.as_raw_fd(), &["true".into()]);
    let streams = Streams {
        stdin: Stdio::null(),
        stdout: Stdio::null(),
        stderr: Stdio::piped(),
        terminal: false,
    };
    let output = bwrap::command(
        &prepared.bwrap,
        &args,
        &prepared.env,
        streams,
        write.as_raw_fd(),
    )
    .output()
    .map_err(|e| Error::io(&prepared.bwrap, "start bwrap", e))?;
    drop(write);
    drop(read);
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    Err(Error::new(
        Code::StrictSandboxFailed,
        format!(
            "bwrap could not build the sandbox ({}): {stderr}; nothing was launched",
            output.status
        ),
    )
    .with_fix(bwrap::failure_fix(&stderr))
    .at(&prepared.bwrap))
}

/// `verify --strict`: builds the sandbox once around `true` for the default profile, as
/// a launch would, and reports why it cannot.
pub fn check_machine(paths: &Paths, inherited: &Env, set: &ProfileSet) -> Vec<Finding> {
    let mut findings = Vec::new();
    let outcome = prepare(
        paths,
        inherited,
        set,
        &set.default_profile,
        &Containment::default(),
    )
    .and_then(|mut prepared| {
        prepared.spec.socket_masks = find_sockets(&prepared.home, &prepared.spec);
        preflight(&prepared)
    });
    if let Err(error) = outcome {
        // The strict codes keep their name; anything else is a sandbox that failed.
        let code = match error.code {
            Code::StrictBwrapMissing | Code::StrictBwrapUntrusted | Code::StrictAwsDirSymlink => {
                error.code
            }
            _ => Code::StrictSandboxFailed,
        };
        findings.push(Finding::from_error(code, "bwrap", error));
    }
    findings
}

/// Ask the probe (outside, with the isolated config) for `profile`'s credentials.
fn mint(
    paths: &Paths,
    inherited: &Env,
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
    inherited: &Env,
    set: &ProfileSet,
    profile: &str,
    containment: &Containment,
    program: PathBuf,
    argv: Vec<OsString>,
) -> Result<Exit> {
    // Before any thread starts, so that only the supervisor's loop takes these signals.
    let signals = supervisor::block_signals()?;
    let mut prepared = prepare(paths, inherited, set, profile, containment)?;
    // The preflight checks everything but the socket masks, which are found meanwhile;
    // they are mounts like the file masks it does check, and should one fail, bwrap
    // stops before the program (fail closed, reported below).
    let sockets = {
        let (home, spec) = (prepared.home.clone(), prepared.spec.clone());
        std::thread::spawn(move || find_sockets(&home, &spec))
    };
    let checked = preflight(&prepared);
    prepared.spec.socket_masks = sockets.join().map_err(|_| {
        Error::new(
            Code::SystemCallFailed,
            "the walk for sockets outside stopped",
        )
    })?;
    checked?;

    // Before the broker's threads, which start child processes.
    let pty = Pty::open_if_terminal()?;
    let mint_paths = paths.clone();
    let mint_env = inherited.clone();
    let broker = Broker::new(
        set,
        prepared.run.secret.clone(),
        Box::new(move |profile| mint(&mint_paths, &mint_env, profile)),
    );
    let listener = std::os::unix::net::UnixListener::bind(&prepared.run.socket)
        .map_err(|e| Error::io(&prepared.run.socket, "listen on the broker socket", e))?;
    broker.serve(listener);
    broker.prefetch(profile);
    let proxy_listener = std::os::unix::net::UnixListener::bind(&prepared.run.proxy_socket)
        .map_err(|e| Error::io(&prepared.run.proxy_socket, "listen on the proxy socket", e))?;
    Proxy::new(prepared.rules.clone(), prepared.upstream.clone()).serve(proxy_listener);

    let pipe = supervisor::status_pipe()?;
    let argv: Vec<OsString> = std::iter::once(program.into_os_string())
        .chain(argv.into_iter().skip(1))
        .collect();
    let args = plan::bwrap_args(&prepared.spec, pipe.1.as_raw_fd(), &argv);
    let outcome = supervisor::run(
        &prepared.bwrap,
        &args,
        &prepared.env,
        signals,
        pty,
        pipe,
        broker.sandbox_pid_ns.clone(),
    )?;
    if !outcome.ran {
        return Err(Error::new(
            Code::StrictSandboxFailed,
            "the sandbox stopped before the program ran (bwrap's message is above)",
        )
        .with_fix("run `kiro-aws verify --strict`"));
    }
    Ok(Exit::Program(outcome.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_config_has_no_sso_settings() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(&dir.path().join("rt")).unwrap();
        let set = crate::config::config_file::tests::sample();
        let text = sandbox_config(&set, Path::new("/usr/bin/kiro-aws"), &run).unwrap();
        let socket = run.socket.display();
        let secret = run.secret_file.display();
        assert_eq!(
            text,
            format!(
                "# Written by kiro-aws for one strict session: credentials come from its broker,\n\
                 # outside this sandbox. Removed when the session ends.\n\
                 \n[profile kiro-dev]\ncredential_process = /usr/bin/kiro-aws __credential-process --socket {socket} --secret-file {secret} --profile kiro-dev\nregion = eu-west-1\n\
                 \n[profile kiro-prod-write]\ncredential_process = /usr/bin/kiro-aws __credential-process --socket {socket} --secret-file {secret} --profile kiro-prod-write\noutput = json\n"
            )
        );
        assert!(sandbox_config(&set, Path::new("/opt/my tools/kiro-aws"), &run).is_err());
        let path = run.path.clone();
        drop(run);
        assert!(!path.exists(), "the run directory is removed");
    }
}
