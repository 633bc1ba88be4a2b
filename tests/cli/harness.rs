//! A small builder around the real binary: each test gets its own temporary `HOME`, a
//! fake `kiro-cli`/`kiro` that record their argv and environment, and a clean environment.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_kiro-aws");
/// The Kiro CLI version the fake reports unless a test says otherwise.
pub const DEFAULT_KIRO_VERSION: &str = "2.21.3";
pub const START_URL: &str = "https://d-1234567890.awsapps.com/start";

/// The profiles most tests use.
pub const PROFILES: [&str; 3] = [
    "kiro-readonly=111111111111:KiroReadOnly",
    "kiro-dev=222222222222:KiroReadOnly",
    "kiro-prod-write=333333333333:KiroWrite",
];

/// Variables that must never reach the agent, written out here independently of the
/// binary's own list (section 2 of the credentials reference), so that dropping one from
/// the code fails the tests.
pub const MUST_REMOVE: [&str; 27] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_ACCOUNT_ID",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CREDENTIAL_FILE",
    "BOTO_CONFIG",
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_DATA_PATH",
    "AWS_CSM_ENABLED",
    "AWS_CSM_HOST",
    "AWS_CSM_PORT",
    "AWS_CSM_CLIENT_ID",
    "AWS_LOGIN_CACHE_DIRECTORY",
];

/// Client variables a launch may keep (region, output, retries, AWS endpoint variants,
/// the CA bundle), written out here independently of the binary's list.
pub const MAY_KEEP: [&str; 12] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_DEFAULT_OUTPUT",
    "AWS_PAGER",
    "AWS_CLI_AUTO_PROMPT",
    "AWS_CLI_FILE_ENCODING",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_CA_BUNDLE",
];

/// Every variable of a family AWS clients read (`AWS_`, `AMAZON_`, `BOTO_`, `BOTOCORE_`)
/// but those a launch may keep: an allow-list, so a name nobody listed is removed too.
pub fn must_remove(name: &str) -> bool {
    MUST_REMOVE.contains(&name)
        || (["AWS_", "AMAZON_", "BOTO_", "BOTOCORE_"]
            .iter()
            .any(|f| name.starts_with(f))
            && !MAY_KEEP.contains(&name))
}

pub struct Test {
    dir: tempfile::TempDir,
}

/// One run of the binary inside a [`Test`]'s directory.
pub struct Invocation<'a> {
    test: &'a Test,
    args: Vec<OsString>,
    env: Vec<(String, OsString)>,
    /// The working directory [default: the test's work directory], created if missing.
    cwd: Option<PathBuf>,
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

impl Run {
    /// Stderr holds `needle`; else fail showing it.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "no {needle:?} in stderr:\n{}",
            self.stderr
        );
        self
    }

    /// Stdout holds `needle`; else fail showing it.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "no {needle:?} in stdout:\n{}",
            self.stdout
        );
        self
    }

    #[track_caller]
    pub fn success(self) -> Self {
        assert_eq!(
            self.status, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn exit(self, code: i32) -> Self {
        assert_eq!(
            self.status, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

const RECORDER: &str =
    "#!/bin/sh\nprintf '%s\\0' \"$@\" > \"$0.argv\"\nexec /usr/bin/env -0 > \"$0.env\"\n";

/// A fake `kiro-cli` of `version`: the shell records argv and the environment exactly as
/// they arrive and answers `--version`; `fake_kiro_cli.py` (Python adds LC_CTYPE to its
/// own environment, so it records nothing) loads the agent and runs its hooks.
pub fn fake_kiro_cli(version: &str) -> String {
    // Inside a strict sandbox a checkout below /tmp is out of sight, and with it the test
    // environment's Python: there the fake only records.
    let python = venv_bin("python3");
    let python = python.display();
    format!(
        "#!/bin/sh\nif [ \"$#\" = 1 ] && [ \"$1\" = --version ]; then echo 'kiro-cli {version}'; exit 0; fi\n\
         printf '%s\\0' \"$@\" > \"$0.argv\"\n/usr/bin/env -0 > \"$0.env\"\n\
         [ -x '{python}' ] || exit 0\n\
         exec '{python}' '{}/tests/cli/fake_kiro_cli.py' \"$0\" '{version}' \"$@\"\n",
        env!("CARGO_MANIFEST_DIR"),
    )
}

impl Test {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "bin", "work"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let fake = dir.path().join("bin/kiro");
        fs::write(&fake, RECORDER).unwrap();
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        let test = Test { dir };
        test.kiro_version(DEFAULT_KIRO_VERSION);
        test
    }

    /// Install a fake `kiro-cli` that reports `version` (and follows that version's
    /// engine), as a new file, the way an upgrade replaces the binary.
    pub fn kiro_version(&self, version: &str) -> &Self {
        fs::write(self.bin().join(".kiro-cli.new"), fake_kiro_cli(version)).unwrap();
        fs::set_permissions(
            self.bin().join(".kiro-cli.new"),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        fs::rename(
            self.bin().join(".kiro-cli.new"),
            self.bin().join("kiro-cli"),
        )
        .unwrap();
        self
    }

    /// The agent file the fake `kiro-cli` loaded, or `default`.
    pub fn loaded_agent(&self) -> String {
        fs::read_to_string(self.bin().join("kiro-cli.agent")).unwrap()
    }

    /// Tool calls for the fake `kiro-cli` to put through the agent's hooks.
    pub fn tool_calls(&self, calls: &[serde_json::Value]) -> &Self {
        let lines: Vec<String> = calls.iter().map(|c| c.to_string()).collect();
        fs::write(self.bin().join("kiro-cli.events"), lines.join("\n")).unwrap();
        self
    }

    /// What the hooks decided on each call: `None` allowed, `Some(why)` blocked.
    pub fn hook_outcomes(&self) -> Vec<Option<String>> {
        let text = fs::read_to_string(self.bin().join("kiro-cli.hooks")).unwrap();
        let outcomes: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        outcomes
            .iter()
            .map(|o| o["blocked"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn cmd<I, S>(&self, args: I) -> Invocation<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Invocation {
            test: self,
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            cwd: None,
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn path_var(&self) -> String {
        format!("{}:/usr/local/bin:/usr/bin:/bin", self.bin().display())
    }

    pub fn config(&self) -> PathBuf {
        self.home().join(".aws/kiro/config")
    }

    pub fn credentials(&self) -> PathBuf {
        self.home().join(".aws/kiro/credentials")
    }

    pub fn agent(&self) -> PathBuf {
        self.home().join(".kiro/agents/aws-readonly.json")
    }

    pub fn agent_markdown(&self) -> PathBuf {
        self.home().join(".kiro/agents/aws-readonly.md")
    }

    pub fn steering(&self) -> PathBuf {
        self.home().join(".kiro/steering/AGENTS.md")
    }

    /// The arguments of `init` with the standard session and profiles.
    pub fn init_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "init",
            "--sso-start-url",
            START_URL,
            "--sso-region",
            "eu-west-1",
        ]
        .map(String::from)
        .to_vec();
        for p in PROFILES {
            args.push("--profile".into());
            args.push(p.into());
        }
        args
    }

    /// `init` with the standard session, region eu-west-1 and these `--profile` values.
    pub fn init_with(&self, profiles: &[&str]) -> &Self {
        let mut args = vec![
            "init",
            "--sso-start-url",
            START_URL,
            "--sso-region",
            "eu-west-1",
            "--region",
            "eu-west-1",
        ];
        for p in profiles {
            args.extend(["--profile", p]);
        }
        self.cmd(args).run().success();
        self
    }

    pub fn init(&self) -> &Self {
        self.cmd(self.init_args()).run().success();
        self
    }

    /// What a fake program recorded when it was exec'd: argv (without argv[0]) and env.
    pub fn recorded(&self, program: &str) -> (Vec<String>, BTreeMap<String, String>) {
        let read = |suffix: &str| {
            let path = self.bin().join(format!("{program}{suffix}"));
            fs::read_to_string(path).unwrap_or_else(|e| panic!("{program} did not run: {e}"))
        };
        let argv = read(".argv")
            .split_terminator('\0')
            .map(str::to_owned)
            .collect();
        let env = read(".env")
            .split_terminator('\0')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect();
        (argv, env)
    }

    pub fn was_launched(&self, program: &str) -> bool {
        self.bin().join(format!("{program}.argv")).exists()
    }

    /// Write a file below HOME, creating directories.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>, mode: u32) -> PathBuf {
        let path = self.home().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// The host files of a developer's laptop: a production profile and static keys.
    pub fn host_aws_files(&self) -> &Self {
        self.write(
            ".aws/config",
            "[default]\nregion = us-east-1\n\n[profile prod-admin]\nregion = us-east-1\n",
            0o600,
        );
        self.write(
            ".aws/credentials",
            "[default]\naws_access_key_id = AKIAHOSTDEFAULT00000\naws_secret_access_key = hostsecret\n\n\
             [prod-admin]\naws_access_key_id = AKIAHOSTPRODADMIN000\naws_secret_access_key = prodsecret\n",
            0o600,
        );
        self
    }
}

impl Invocation<'_> {
    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.env.push((name.to_owned(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Self {
        fs::create_dir_all(dir).unwrap();
        self.cwd = Some(dir.to_owned());
        self
    }

    pub fn with_arg(mut self, arg: &str) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The environment the binary starts with: the minimum plus what the test added.
    pub fn base_env(&self) -> BTreeMap<String, OsString> {
        let mut env = BTreeMap::from([
            ("HOME".to_owned(), self.test.home().into_os_string()),
            ("PATH".to_owned(), self.test.path_var().into()),
            ("PWD".to_owned(), self.test.work().into_os_string()),
        ]);
        env.extend(self.env.iter().cloned());
        env
    }

    /// The environment the launched program must see: the starting one minus every
    /// leaking variable, plus the isolated files.
    pub fn expected_child_env(&self, profile: &str) -> BTreeMap<String, String> {
        let mut env: BTreeMap<String, String> = self
            .base_env()
            .into_iter()
            .map(|(k, v)| (k, v.into_string().unwrap()))
            .filter(|(k, _)| !must_remove(k))
            .collect();
        let home = self.test.home().display().to_string();
        // The agent's calls carry the kiro-aws tag in the user agent; what was there stays.
        let tag = format!("kiro-aws/{}", env!("CARGO_PKG_VERSION"));
        let execution_env = match env.get("AWS_EXECUTION_ENV") {
            Some(existing) => format!("{existing} {tag}"),
            None => tag,
        };
        for (k, v) in [
            ("AWS_EXECUTION_ENV", execution_env),
            ("AWS_CONFIG_FILE", format!("{home}/.aws/kiro/config")),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                format!("{home}/.aws/kiro/credentials"),
            ),
            ("AWS_PROFILE", profile.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_SDK_LOAD_CONFIG", "1".to_owned()),
        ] {
            env.insert(k.to_owned(), v);
        }
        env
    }

    /// The binary with these arguments and this environment, in the work directory, for a
    /// test that starts it itself (in the background, on a terminal).
    pub fn command(&self) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.base_env())
            .current_dir(self.cwd.as_deref().unwrap_or(&self.test.work()));
        command
    }

    /// Start it in the background, no input, output captured.
    pub fn spawn(&self) -> std::process::Child {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn run(&self) -> Run {
        Run::from(self.spawn().wait_with_output().unwrap())
    }
}

/// Every file below `dir` with its bytes and mode, for "nothing was touched" checks.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                out.insert(entry.path(), (Vec::new(), meta.permissions().mode()));
                stack.push(entry.path());
            } else if meta.is_file() {
                out.insert(
                    entry.path(),
                    (fs::read(entry.path()).unwrap(), meta.permissions().mode()),
                );
            } else {
                out.insert(
                    entry.path(),
                    (b"<link>".to_vec(), meta.permissions().mode()),
                );
            }
        }
    }
    out
}

/// The real AWS clients from PyPI, installed by `scripts/test`. Missing is a failure.
pub fn venv_bin(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".test-env/bin")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/test`, which installs the real AWS clients the tests need",
        path.display()
    );
    path
}

/// The loopback AWS of `tests/stubs/aws_stub.py`: moto's STS and an SSO portal stub on
/// 127.0.0.1. Stopped when dropped (and it exits by itself when its stdin closes).
pub struct AwsStub {
    child: std::process::Child,
    pub url: String,
    pub log: PathBuf,
}

/// The bearer token the stub portal accepts and [`Test::sign_in`] caches.
pub const SSO_TOKEN: &str = "test-sso-access-token";

impl AwsStub {
    /// `HOST:PORT` of the stub, for `--allow-host` (strict mode, Linux only).
    #[cfg(target_os = "linux")]
    pub fn authority(&self) -> &str {
        self.url.trim_start_matches("http://").trim_end_matches('/')
    }

    pub fn start(t: &Test, options: &[&str]) -> AwsStub {
        use std::io::BufRead;
        let log = t.root().join(format!("stub-{}.log", std::process::id()));
        let mut child = Command::new(venv_bin("python"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/stubs/aws_stub.py"))
            .args(["--token", SSO_TOKEN, "--log"])
            .arg(&log)
            .args(options)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", t.root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the AWS stub did not start: {line:?}"));
        AwsStub {
            url: ready["url"].as_str().unwrap().to_owned(),
            child,
            log,
        }
    }

    /// The requests the stub saw, oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for AwsStub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Invocation<'_> {
    /// Point the SDK's STS, SSO and CloudTrail clients at the stub.
    pub fn aws(self, stub: &AwsStub) -> Self {
        self.env("AWS_ENDPOINT_URL_STS", &stub.url)
            .env("AWS_ENDPOINT_URL_SSO", &stub.url)
            .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &stub.url)
    }
}

impl Test {
    /// Cache an SSO token for sso-session `session`, as `aws sso login` does, expiring
    /// `expires_at` (RFC 3339).
    pub fn sign_in(&self, session: &str, expires_at: &str) -> PathBuf {
        let name = sha1_smol::Sha1::from(session).digest().to_string();
        let token = serde_json::json!({
            "startUrl": START_URL,
            "region": "eu-west-1",
            "accessToken": SSO_TOKEN,
            "expiresAt": expires_at,
        });
        self.write(
            &format!(".aws/sso/cache/{name}.json"),
            token.to_string(),
            0o600,
        )
    }
}
