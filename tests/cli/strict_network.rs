//! Strict mode's network, attacked from inside: the sandbox has only its own loopback,
//! and the egress proxy outside never connects to a credential server (loopback,
//! link-local, private, CGNAT, metadata addresses), judged on the address a name
//! resolves to, unless that exact host and port was let in. Every packet of these tests
//! stays on this machine's loopback: the metadata and private addresses are tested
//! through the refusal, which comes before any connection.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::harness::{venv_bin, Run, BIN};
use crate::strict::{fails_with, laptop, Laptop, MARKER};

/// A fetch inside, through whatever proxy the environment names (or none with
/// `direct`), printing one line: `OK status body`, `HTTP status body` or `ERROR why`.
const FETCH: &str = r#"
import sys, urllib.request, urllib.error
url = sys.argv[1]
handlers = [urllib.request.ProxyHandler({})] if sys.argv[2:] == ["direct"] else []
try:
    with urllib.request.build_opener(*handlers).open(url, timeout=10) as r:
        print("OK", r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print("HTTP", e.code, e.read().decode().strip())
except Exception as e:
    print("ERROR", e)
"#;

/// A loopback server outside that hands out container credentials (as `aws-vault
/// --ecs-server` or a cloud desktop's metadata service would), logging each request.
const CREDENTIAL_SERVER: &str = r#"
import http.server, json, sys
log, marker = sys.argv[1], sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.requestline + "\n")
        body = json.dumps({"AccessKeyId": marker, "SecretAccessKey": "s", "Token": "t",
                           "Expiration": "2099-01-01T00:00:00Z"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The user's own network proxy: logs each request line; answers a plain request
/// itself and a tunnel with a greeting, so the test sees which way the traffic went.
const UPSTREAM_PROXY: &str = r#"
import socketserver, sys
log = sys.argv[1]
class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode().strip()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        with open(log, "a") as f:
            f.write(line + "\n")
        if line.startswith("CONNECT "):
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\nvia-upstream-tunnel\n")
        else:
            body = b"via-upstream"
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// A Python server of the test's on loopback, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(l: &Laptop, name: &str, script: &str) -> Server {
        let log = l.t.root().join(format!("{name}.log"));
        std::fs::write(&log, "").unwrap();
        let mut child = Command::new(venv_bin("python"))
            .args(["-c", script])
            .arg(&log)
            .arg(MARKER)
            .env_clear()
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server {
            child,
            port: line.trim().parse().unwrap(),
            log,
        }
    }

    fn authority(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The fetch script in the work directory (visible inside), and a shell line for it.
fn fetch(l: &Laptop, url: &str, direct: bool) -> String {
    let script = l.t.work().join("fetch.py");
    if !script.exists() {
        std::fs::create_dir_all(l.t.work()).unwrap();
        std::fs::write(&script, FETCH).unwrap();
    }
    format!(
        "python {} '{url}'{}",
        script.display(),
        if direct { " direct" } else { "" }
    )
}

/// The lines of a strict session that runs `lines` one after another.
fn session(l: &Laptop, extra: &[&str], lines: &[String]) -> Vec<String> {
    let run = l.strict(extra, &lines.join("\n"));
    assert_eq!(run.status, 0, "{}\n{}", run.stdout, run.stderr);
    let out: Vec<String> = run.stdout.lines().map(str::to_owned).collect();
    assert_eq!(out.len(), lines.len(), "{}\n{}", run.stdout, run.stderr);
    out
}

#[test]
fn credential_servers_outside_are_out_of_reach() {
    let l = laptop();
    let server = Server::start(&l, "credentials", CREDENTIAL_SERVER);
    let port = server.port;
    // Control: outside, the server hands out its credentials.
    let outside = Command::new(venv_bin("python"))
        .args([
            "-c",
            FETCH,
            &format!("http://127.0.0.1:{port}/creds"),
            "direct",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&outside.stdout).contains(MARKER));
    let before = server.requests().len();

    let never = "which strict mode never connects to";
    let cases: Vec<(String, String)> = vec![
        // Through the proxy: refused by address, whatever the spelling of the name.
        (fetch(&l, &format!("http://127.0.0.1:{port}/creds"), false), format!("HTTP 403 kiro-aws strict mode: 127.0.0.1:{port} resolves to 127.0.0.1, {never}")),
        (fetch(&l, &format!("http://localhost:{port}/creds"), false), "resolves to 127.0.0.1".into()),
        (fetch(&l, &format!("http://[::ffff:127.0.0.1]:{port}/"), false), "HTTP 403".into()),
        (fetch(&l, &format!("http://0.0.0.0:{port}/"), false), "HTTP 403".into()),
        (fetch(&l, &format!("http://2130706433:{port}/"), false), "HTTP 403".into()),
        // The cloud metadata services, link-local, private and CGNAT addresses.
        (fetch(&l, "http://169.254.169.254/latest/meta-data/iam/", false), format!("HTTP 403 kiro-aws strict mode: 169.254.169.254:80 resolves to 169.254.169.254, {never}")),
        (fetch(&l, "http://169.254.170.2/v2/credentials/x", false), "HTTP 403".into()),
        (fetch(&l, "http://[fd00:ec2::254]/latest/", false), "HTTP 403".into()),
        (fetch(&l, "http://100.100.100.200/latest/meta-data/", false), "HTTP 403".into()),
        (fetch(&l, "http://10.255.255.1/", false), "HTTP 403".into()),
        (fetch(&l, "http://192.168.255.1:8080/", false), "HTTP 403".into()),
        (fetch(&l, "https://169.254.169.254/", false), "ERROR <urlopen error Tunnel connection failed: 403 Forbidden>".into()),
        // Around the proxy there is no network: only the sandbox's own loopback.
        (fetch(&l, &format!("http://127.0.0.1:{port}/creds"), true), "ERROR <urlopen error [Errno 111] Connection refused>".into()),
        (fetch(&l, "http://169.254.169.254/latest/", true), "ERROR <urlopen error [Errno 101] Network is unreachable>".into()),
        // botocore's container provider, pointed at the server by the agent itself.
        (
            format!(
                "env -u AWS_PROFILE AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
                 AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:{port}/creds \
                 aws sts get-caller-identity 2>&1 | tail -n 1"
            ),
            format!("Could not connect to the endpoint URL: \"http://127.0.0.1:{port}/creds\""),
        ),
    ];
    let lines: Vec<String> = cases.iter().map(|(line, _)| line.clone()).collect();
    for ((line, expected), got) in cases.iter().zip(session(&l, &[], &lines)) {
        assert!(
            got.contains(expected.as_str()),
            "{line}\n  expected {expected:?}\n  got {got:?}"
        );
        assert!(!got.contains(MARKER), "{line}: {got}");
    }
    assert_eq!(server.requests().len(), before, "{:?}", server.requests());

    // Let in by exact host and port, it answers; another spelling of it does not.
    let allow = server.authority();
    let got = session(
        &l,
        &["--allow-host", &allow],
        &[
            fetch(&l, &format!("http://127.0.0.1:{port}/creds"), false),
            fetch(&l, &format!("http://localhost:{port}/creds"), false),
        ],
    );
    assert!(
        got[0].starts_with("OK 200") && got[0].contains(MARKER),
        "{got:?}"
    );
    assert!(got[1].starts_with("HTTP 403"), "{got:?}");
    assert_eq!(server.requests().len(), before + 1);
}

#[test]
fn the_allowlist_flags_and_the_managed_policy() {
    let l = laptop();
    let server = Server::start(&l, "service", CREDENTIAL_SERVER);
    let allow = server.authority();
    // Names off the list are refused before they are resolved (no DNS, no packet).
    let got = session(
        &l,
        &["--network", "allowlist", "--allow-host", &allow],
        &[
            fetch(&l, "http://github.com/", false),
            fetch(&l, "https://registry.npmjs.org/", false),
            fetch(&l, &format!("http://{allow}/"), false),
            "AWS_ENDPOINT_URL_STS=$URL aws sts get-caller-identity --query Account --output text"
                .into(),
        ],
    );
    assert_eq!(
        got[0],
        "HTTP 403 kiro-aws strict mode: github.com:80 is not on strict mode's network allow-list (AWS endpoints and Kiro's hosts on 443); let it in with --allow-host github.com:80"
    );
    assert!(
        got[1] == "ERROR <urlopen error Tunnel connection failed: 403 Forbidden>",
        "{got:?}"
    );
    assert!(got[2].starts_with("OK 200"), "{got:?}");
    assert_eq!(got[3], "111111111111");

    // Bad flags: nothing launched.
    let bad =
        l.t.cmd([
            "run",
            "--strict",
            "--allow-host",
            "github.com",
            "--",
            "true",
        ])
        .run();
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    bad.stderr_has("error[allow_host_invalid]");
    let bad =
        l.t.cmd(["run", "--strict", "--network", "open", "--", "true"])
            .run();
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    let bad =
        l.t.cmd(["run", "--allow-host", "a.example:443", "--", "true"])
            .run();
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    bad.stderr_has("hide_needs_strict");

    // A managed policy requires the allow-list and lets the service in by itself.
    if !nix::unistd::geteuid().is_root() {
        return; // (it must be root-owned: the suite's root run covers it)
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = dir.path().join("policy.json");
    std::fs::write(
        &policy,
        format!(r#"{{"require_network_allowlist": true, "allowed_hosts": ["{allow}"]}}"#),
    )
    .unwrap();
    let with_policy = |extra: &[&str], line: String| {
        l.invocation(extra, &line)
            .env("KIRO_AWS_TEST_POLICY_FILE", &policy)
            .run()
    };
    let run = with_policy(&[], fetch(&l, "http://github.com/", false));
    assert!(
        run.stdout
            .contains("not on strict mode's network allow-list"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = with_policy(&[], fetch(&l, &format!("http://{allow}/"), false));
    assert!(
        run.stdout.starts_with("OK 200"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = with_policy(&["--network", "public"], "true".into());
    assert_eq!(run.status, 3, "{}", run.stderr);
    run.stderr_has("error[policy_violation]");
    run.stderr_has("requires --network allowlist");
}

#[test]
fn the_users_own_proxy_carries_the_sandboxs_traffic() {
    let l = laptop();
    let service = Server::start(&l, "service", CREDENTIAL_SERVER);
    let upstream = Server::start(&l, "upstream", UPSTREAM_PROXY);
    let allow = service.authority();
    let by_name = format!("localhost:{}", service.port);
    // A raw client that sends two requests at once (the second to the metadata service)
    // and one whose body could be read two ways; it prints each answer's status line.
    let raw = l.t.work().join("raw.py");
    std::fs::write(
        &raw,
        r#"
import socket, sys
def send(data):
    s = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    s.sendall(data.replace("|", "\r\n").encode())
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    print(" | ".join(l for l in answer.decode().splitlines() if l.startswith("HTTP/1.1")))
target = sys.argv[1]
send(f"GET http://{target}/one HTTP/1.1|Host: x||GET http://169.254.169.254/ HTTP/1.1|Host: y||")
send(f"POST http://{target}/two HTTP/1.1|Content-Length: 3|Transfer-Encoding: chunked||0||")
"#,
    )
    .unwrap();
    let lines = [
        fetch(&l, &format!("http://{allow}/plain"), false),
        fetch(&l, &format!("http://{by_name}/plain"), false),
        format!("{BIN} __connect 127.0.0.1 {}", service.port),
        format!("{BIN} __connect localhost {}", service.port),
        fetch(&l, "http://169.254.169.254/latest/", false),
        format!("python {} {allow}", raw.display()),
    ];
    let through = |vars: &[(&str, String)]| {
        let mut invocation = l.invocation(
            &["--allow-host", &allow, "--allow-host", &by_name],
            &lines.join("\n"),
        );
        for (name, value) in vars {
            invocation = invocation.env(name, value);
        }
        invocation.run()
    };
    let run = through(&[(
        "https_proxy",
        format!("http://user:pw@127.0.0.1:{}", upstream.port),
    )]);
    let got: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        got,
        [
            "OK 200 via-upstream",
            "OK 200 via-upstream",
            "via-upstream-tunnel",
            "via-upstream-tunnel",
            "HTTP 403 kiro-aws strict mode: 169.254.169.254:80 resolves to 169.254.169.254, which strict mode never connects to (loopback, link-local, private, CGNAT and metadata addresses); let this exact host in with --allow-host 169.254.169.254:80",
            // One request a connection: the second never reaches the upstream.
            "HTTP/1.1 200 OK",
            "HTTP/1.1 400 Bad Request",
        ],
        "{}",
        run.stderr
    );
    // The upstream is given the address judged here, never the name to resolve again.
    assert_eq!(
        upstream.requests(),
        [
            format!("GET http://{allow}/plain HTTP/1.1"),
            format!("GET http://{allow}/plain HTTP/1.1"),
            format!("CONNECT {allow} HTTP/1.1"),
            format!("CONNECT {allow} HTTP/1.1"),
            format!("GET http://{allow}/one HTTP/1.1"),
        ]
    );
    assert!(service.requests().is_empty());
    // NO_PROXY outside sends the host direct; the interceptor's variables reach no one
    // inside (the sandbox's proxy variables are the bridge's).
    let run = through(&[
        ("HTTPS_PROXY", format!("http://127.0.0.1:{}", upstream.port)),
        ("NO_PROXY", "127.0.0.1".into()),
    ]);
    assert!(
        run.stdout.starts_with("OK 200") && run.stdout.contains(MARKER),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let run = l
        .invocation(&[], "env | grep -i _proxy= | sort")
        .env("Https_Proxy", "http://127.0.0.1:9/")
        .env("no_proxy", "*")
        .run();
    assert_eq!(
        run.stdout,
        "ALL_PROXY=http://127.0.0.1:3128\nHTTPS_PROXY=http://127.0.0.1:3128\nHTTP_PROXY=http://127.0.0.1:3128\n\
         all_proxy=http://127.0.0.1:3128\nhttp_proxy=http://127.0.0.1:3128\nhttps_proxy=http://127.0.0.1:3128\n",
        "{}",
        run.stderr
    );
    let run = l
        .invocation(&[], "true")
        .env("HTTPS_PROXY", "socks5://127.0.0.1:1080")
        .run();
    assert_eq!(run.status, 2, "{}", run.stderr);
    run.stderr_has("error[upstream_proxy_invalid]");
}

/// git over ssh, the way a developer's agent pushes: ssh goes through the proxy (kiro-aws
/// sets git's ssh `ProxyCommand`), to an sshd on loopback let in with `--allow-host`,
/// and signs with the user's ssh agent, let in with `--allow-socket`.
#[test]
fn git_over_ssh_with_the_agent_socket_let_in() {
    let l = laptop();
    let root = l.t.root();
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (host_key, user_key) = (root.join("host_key"), root.join("user_key"));
    for key in [&host_key, &user_key] {
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()],
        );
    }
    let authorized = root.join("authorized_keys");
    std::fs::copy(user_key.with_extension("pub"), &authorized).unwrap();
    let repo = root.join("repo.git");
    run(
        "git",
        &["init", "-q", "--bare", "-b", "main", repo.to_str().unwrap()],
    );
    let seed = root.join("seed");
    run("git", &["init", "-q", "-b", "main", seed.to_str().unwrap()]);
    let git = |args: &[&str]| {
        let mut all = vec![
            "-C",
            seed.to_str().unwrap(),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
        ];
        all.extend(args);
        run("git", &all)
    };
    std::fs::write(seed.join("README"), "hello over ssh\n").unwrap();
    git(&["add", "README"]);
    git(&["commit", "-q", "-m", "first"]);
    git(&["push", "-q", repo.to_str().unwrap(), "main"]);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = root.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1\nPort {port}\nHostKey {}\nAuthorizedKeysFile {}\nPidFile none\n\
             UsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PermitRootLogin prohibit-password\n",
            host_key.display(),
            authorized.display()
        ),
    )
    .unwrap();
    if nix::unistd::geteuid().is_root() {
        std::fs::create_dir_all("/run/sshd").unwrap();
    }
    let sshd = Path::new("/usr/sbin/sshd");
    assert!(
        sshd.exists(),
        "sshd is missing: scripts/test installs openssh-server"
    );
    let mut daemon = Killed(
        Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let agent_socket = l.t.home().join(".ssh/agent.sock");
    std::fs::create_dir_all(agent_socket.parent().unwrap()).unwrap();
    let agent = Killed(
        Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&agent_socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if up && agent_socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let added = Command::new("ssh-add")
        .arg(&user_key)
        .env("SSH_AUTH_SOCK", &agent_socket)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let clone = format!(
        "GIT_SSH_COMMAND=\"$GIT_SSH_COMMAND -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=no -o LogLevel=ERROR\" \
         git clone -q ssh://{user}@127.0.0.1:{port}{} copy 2>&1 && cat copy/README",
        repo.display()
    );
    let socket = agent_socket.to_str().unwrap();
    let attempt = |extra: &[&str]| -> Run {
        l.invocation(extra, &format!("rm -rf copy\n{clone}"))
            .env("SSH_AUTH_SOCK", socket)
            .run()
    };
    let allow = format!("127.0.0.1:{port}");
    let run = attempt(&["--allow-host", &allow, "--allow-socket", socket]);
    assert_eq!(run.stdout, "hello over ssh\n", "{}", run.stderr);
    // Without the agent socket the key is out of reach; without the host, the server.
    fails_with(&attempt(&["--allow-host", &allow]), "Permission denied");
    fails_with(
        &attempt(&["--allow-socket", socket]),
        &format!("error[egress_refused]: no tunnel to 127.0.0.1:{port}: 127.0.0.1:{port} resolves to 127.0.0.1, which strict mode never connects to"),
    );
    drop(agent);
    let _ = daemon.0.kill();
}

/// A child process of the test's, killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Unix socket of a program outside, wherever the sandbox could see it at launch: the
/// working directory, `/dev/shm`, and (as root, who may create them) `/run` and
/// `/var/lib`. Each answers outside and is out of reach inside.
#[test]
fn sockets_of_programs_outside_stay_outside_wherever_they_are() {
    let l = laptop();
    let id = std::process::id();
    let mut places = vec![
        l.t.work().join("web/devserver.sock"),
        l.t.work().join(".cache/lsp/server.sock"),
        PathBuf::from(format!("/dev/shm/kiro-aws-test-{id}.sock")),
    ];
    if nix::unistd::geteuid().is_root() {
        places.push(format!("/run/kiro-aws-test-{id}.sock").into());
        places.push(format!("/var/lib/kiro-aws-test-{id}/service.sock").into());
    }
    let mut listeners = Vec::new();
    for place in &places {
        std::fs::create_dir_all(place.parent().unwrap()).unwrap();
        let _ = std::fs::remove_file(place);
        listeners.push(std::os::unix::net::UnixListener::bind(place).unwrap());
        // Control: it answers outside.
        assert!(std::os::unix::net::UnixStream::connect(place).is_ok());
    }
    let probe = l.t.work().join("probe.py");
    std::fs::write(
        &probe,
        "import socket, sys\nfor p in sys.argv[1:]:\n    s = socket.socket(socket.AF_UNIX)\n    try:\n        s.connect(p)\n        print('CONNECTED', p)\n    except OSError as e:\n        print('refused', e.strerror)\n",
    )
    .unwrap();
    let paths: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
    let run = l.strict(
        &[],
        &format!("python {} {}", probe.display(), paths.join(" ")),
    );
    assert_eq!(
        run.stdout.lines().count(),
        places.len(),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert!(!run.stdout.contains("CONNECTED"), "{}", run.stdout);
    drop(listeners);
    for place in &places {
        let _ = std::fs::remove_file(place);
    }
    if nix::unistd::geteuid().is_root() {
        let _ = std::fs::remove_dir(format!("/var/lib/kiro-aws-test-{id}"));
    }
}

/// Sockets are judged when connected to, not only found at launch: one that a program
/// outside makes after the session started (an ssh `ControlMaster`, a gpg agent started
/// later), reached by its path, a relative path or a link, is refused; one a program
/// inside makes is reachable; the broker stays reachable (its `credential_process`).
#[test]
fn a_socket_made_outside_after_launch_is_refused_one_made_inside_is_not() {
    let l = laptop();
    let late = l.t.home().join(".ssh/cm-late.sock");
    std::fs::create_dir_all(late.parent().unwrap()).unwrap();
    let script = format!(
        r#"for i in $(seq 200); do [ -S {late} ] && break; sleep 0.05; done
ln -s {late} link.sock
python - <<'PY'
import os, socket, threading
def attempt(path, label):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        print(label, "CONNECTED", s.recv(100))
    except OSError as e:
        print(label, "refused", e.strerror)
attempt("{late}", "late")
attempt("link.sock", "link")
os.chdir(os.path.dirname("{late}"))
attempt("cm-late.sock", "relative")
inside = os.path.expanduser("~/inside.sock")
l = socket.socket(socket.AF_UNIX)
l.bind(inside)
l.listen()
def serve():
    c, _ = l.accept()
    c.sendall(b"inside-ok")
    c.close()
threading.Thread(target=serve).start()
attempt(inside, "inside")
# The socket handed over blocks on writes as the program's own would (no timeout left).
import struct
threading.Thread(target=serve).start()
s = socket.socket(socket.AF_UNIX)
s.connect(inside)
print("send timeout", struct.unpack("qq", s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16)))
# From a thread of its own (a runtime's worker), as from the main one.
done = []
def worker():
    s = socket.create_connection(("127.0.0.1", 3128), timeout=5)
    done.append("thread connected")
    s.close()
t = threading.Thread(target=worker)
t.start()
t.join()
print(done[0] if done else "thread failed")
# A datagram socket would send to any path without connecting, even one of a pair, and
# SOCK_RAW is one too: none is made. A stream pair works.
for label, make in [
    ("datagram", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)),
    ("raw", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_RAW)),
    ("datagram pair", lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)),
]:
    try:
        make()
        print(label, "made")
    except OSError as e:
        print(label, e.strerror)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
a.send(b"x")
print("pair", b.recv(1))
PY
aws sts get-caller-identity --query Account --output text"#,
        late = late.display()
    );
    let session = l
        .invocation(
            &[],
            &format!("AWS_ENDPOINT_URL_STS=$URL\nexport AWS_ENDPOINT_URL_STS\n{script}"),
        )
        .spawn();
    // Made outside once the session runs.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let listener = std::os::unix::net::UnixListener::bind(&late).unwrap();
    listener.set_nonblocking(true).unwrap();
    let run = Run::from(session.wait_with_output().unwrap());
    assert_eq!(
        run.stdout,
        "late refused Connection refused\nlink refused Connection refused\n\
         relative refused Connection refused\ninside CONNECTED b'inside-ok'\n\
         send timeout (0, 0)\nthread connected\ndatagram Permission denied\nraw Permission denied\n\
         datagram pair Permission denied\npair b'x'\n111111111111\n",
        "{}",
        run.stderr
    );
    // The program outside got connections it could answer to nobody: nothing was read.
    let mut accepted = 0;
    while let Ok((mut peer, _)) = listener.accept() {
        use std::io::Read;
        accepted += 1;
        peer.set_nonblocking(false).unwrap();
        let mut sent = Vec::new();
        let _ = peer.read_to_end(&mut sent);
        assert!(sent.is_empty(), "{sent:?}");
    }
    assert!(accepted <= 3);
}
