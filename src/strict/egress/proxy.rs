//! The egress proxy, outside the sandbox: an HTTP proxy on a Unix socket in the
//! session's run directory. It takes `CONNECT host:port` (every TLS client) and
//! absolute-form plain HTTP requests (`GET http://host/...`), judges the host by
//! [`Rules`], resolves it, and connects only to an address the rules allow, the one it
//! judged. Refusals are HTTP answers whose body says why, so the agent's client prints
//! the reason. When the user's network has a proxy of its own ([`Upstream`]), the
//! connection goes through it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::stream::splice;
use super::upstream::Upstream;
use crate::network::{normalize, ByName, Rules};

/// Connections carried at once; more are answered 503.
pub const MAX_CONNECTIONS: usize = 256;
/// A request head is far smaller than this.
const MAX_HEAD: usize = 64 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Proxy {
    rules: Rules,
    upstream: Option<Upstream>,
    active: AtomicUsize,
}

/// Why a request was not carried: the status and a line for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `CONNECT host:port`.
    Tunnel { host: String, port: u16 },
    /// `METHOD http://host:port/path VERSION`, sent on as `METHOD /path VERSION`.
    Plain {
        host: String,
        port: u16,
        method: String,
        path: String,
        version: String,
    },
}

impl Target {
    fn host_port(&self) -> (&str, u16) {
        match self {
            Target::Tunnel { host, port } | Target::Plain { host, port, .. } => (host, *port),
        }
    }
}

/// Split `host:port` (`[v6]:port`), with `default` when the port is absent.
fn authority(text: &str, default: Option<u16>) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, tail) = rest.split_once(']')?;
        match tail.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if tail.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        Some(p) => p.parse().ok().filter(|p| *p != 0)?,
        None => default?,
    };
    let host = normalize(host);
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b));
    valid.then_some((host, port))
}

/// The request line's target.
pub fn parse_request_line(line: &str) -> Result<Target, Refusal> {
    let bad = || Refusal::new(400, format!("not a proxy request: {line:?}"));
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad());
    }
    if method == "CONNECT" {
        let (host, port) = authority(target, None).ok_or_else(bad)?;
        return Ok(Target::Tunnel { host, port });
    }
    let rest = target
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .map(|_| &target[7..])
        .ok_or_else(|| {
            Refusal::new(
                400,
                format!("only CONNECT and http:// requests go through this proxy: {line:?}"),
            )
        })?;
    let (auth, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if auth.contains('@') {
        return Err(bad());
    }
    let (host, port) = authority(auth, Some(80)).ok_or_else(bad)?;
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    Ok(Target::Plain {
        host,
        port,
        method: method.to_owned(),
        path,
        version: version.to_owned(),
    })
}

impl Proxy {
    pub fn new(rules: Rules, upstream: Option<Upstream>) -> Arc<Proxy> {
        Arc::new(Proxy {
            rules,
            upstream,
            active: AtomicUsize::new(0),
        })
    }

    /// Serve `listener` on a thread for as long as the process lives.
    pub fn serve(self: &Arc<Self>, listener: UnixListener) {
        let proxy = Arc::clone(self);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if proxy.active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    proxy.active.fetch_sub(1, Ordering::SeqCst);
                    let mut client = client;
                    let _ = answer(
                        &mut client,
                        &Refusal::new(503, "too many connections at once"),
                    );
                    continue;
                }
                let serving = Arc::clone(&proxy);
                let spawned = std::thread::Builder::new().spawn(move || {
                    serving.handle(client);
                    serving.active.fetch_sub(1, Ordering::SeqCst);
                });
                if spawned.is_err() {
                    proxy.active.fetch_sub(1, Ordering::SeqCst);
                }
            }
        });
    }

    fn handle(&self, client: UnixStream) {
        let _ = client.set_read_timeout(Some(HEAD_TIMEOUT));
        let Ok(reader_side) = client.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(reader_side);
        let mut writer = client;
        let head = match read_head(&mut reader) {
            Ok(head) => head,
            Err(refusal) => {
                let _ = answer(&mut writer, &refusal);
                return;
            }
        };
        let target = match parse_request_line(&head[0]) {
            Ok(target) => target,
            Err(refusal) => {
                let _ = answer(&mut writer, &refusal);
                return;
            }
        };
        let (host, port) = target.host_port();
        let (mut server, through_upstream) = match self.open(host, port, &target) {
            Ok(opened) => opened,
            Err(refusal) => {
                let _ = answer(&mut writer, &refusal);
                return;
            }
        };
        let sent = match &target {
            Target::Tunnel { .. } => writer
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .is_ok(),
            Target::Plain {
                method,
                path,
                version,
                host,
                port,
            } => {
                let line = if through_upstream {
                    // The upstream wants the absolute form, and its own credentials.
                    let auth = self
                        .upstream
                        .as_ref()
                        .and_then(|u| u.authorization.as_ref())
                        .map(|a| format!("Proxy-Authorization: {a}\r\n"))
                        .unwrap_or_default();
                    let host = if host.contains(':') {
                        format!("[{host}]")
                    } else {
                        host.clone()
                    };
                    format!("{method} http://{host}:{port}{path} {version}\r\n{auth}")
                } else {
                    format!("{method} {path} {version}\r\n")
                };
                let headers: String = head[1..]
                    .iter()
                    .filter(|h| {
                        let name = h.split(':').next().unwrap_or_default();
                        !name.eq_ignore_ascii_case("proxy-connection")
                            && !name.eq_ignore_ascii_case("proxy-authorization")
                    })
                    .map(|h| format!("{h}\r\n"))
                    .collect();
                server
                    .write_all(format!("{line}{headers}\r\n").as_bytes())
                    .is_ok()
            }
        };
        if !sent {
            return;
        }
        // What the client sent after its head goes on first.
        let early = reader.buffer().to_vec();
        if !early.is_empty() && server.write_all(&early).is_err() {
            return;
        }
        let _ = writer.set_read_timeout(None);
        splice(writer, server);
    }

    /// A connection to `host:port`, if the rules allow one, and whether it goes through
    /// the upstream proxy.
    fn open(&self, host: &str, port: u16, target: &Target) -> Result<(TcpStream, bool), Refusal> {
        let by_name = self.rules.by_name(host, port);
        if let ByName::Refused(why) = &by_name {
            return Err(Refusal::new(403, why.clone()));
        }
        let resolved: Option<Vec<SocketAddr>> = (host, port)
            .to_socket_addrs()
            .ok()
            .map(|addrs| addrs.collect());
        let upstream = self.upstream.as_ref().filter(|u| u.carries(host));
        let permitted: Vec<SocketAddr> = resolved
            .iter()
            .flatten()
            .copied()
            .filter(|a| Rules::address_allowed(&by_name, a.ip()))
            .collect();
        let refused = |addrs: &[SocketAddr]| {
            let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            Refusal::new(
                403,
                format!(
                    "{host}:{port} resolves to {}, which strict mode never connects to (loopback, link-local, private, CGNAT and metadata addresses); let this exact host in with --allow-host {host}:{port}",
                    list.join(", ")
                ),
            )
        };
        match (upstream, resolved) {
            (None, None) => Err(Refusal::new(502, format!("{host} does not resolve"))),
            (None, Some(addrs)) => {
                if permitted.is_empty() {
                    return Err(refused(&addrs));
                }
                connect_any(&permitted)
                    .map(|s| (s, false))
                    .map_err(|e| Refusal::new(502, format!("cannot connect to {host}:{port}: {e}")))
            }
            (Some(up), resolved) => {
                if let Some(addrs) = &resolved {
                    if permitted.is_empty() {
                        return Err(refused(addrs));
                    }
                }
                // A proxy on this machine resolves names here, where the credential
                // servers are: it is given the address judged, not the name again.
                let local = up
                    .host
                    .parse::<IpAddr>()
                    .map(|ip| ip.is_loopback())
                    .unwrap_or(up.host == "localhost");
                let name = match permitted.first() {
                    Some(addr) if local => addr.ip().to_string(),
                    _ => host.to_owned(),
                };
                self.through(up, &name, port, target).map(|s| (s, true))
            }
        }
    }

    /// A connection to `host:port` through the upstream proxy: a tunnel for `CONNECT`,
    /// or the upstream itself for a plain request (sent in absolute form).
    fn through(
        &self,
        up: &Upstream,
        host: &str,
        port: u16,
        target: &Target,
    ) -> Result<TcpStream, Refusal> {
        let fail = |e: String| {
            Refusal::new(
                502,
                format!("the upstream proxy {}:{}: {e}", up.host, up.port),
            )
        };
        let addrs: Vec<SocketAddr> = (up.host.as_str(), up.port)
            .to_socket_addrs()
            .map_err(|e| fail(e.to_string()))?
            .collect();
        let mut stream = connect_any(&addrs).map_err(|e| fail(e.to_string()))?;
        if matches!(target, Target::Plain { .. }) {
            return Ok(stream);
        }
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let auth = up
            .authorization
            .as_ref()
            .map(|a| format!("Proxy-Authorization: {a}\r\n"))
            .unwrap_or_default();
        stream
            .write_all(
                format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n")
                    .as_bytes(),
            )
            .map_err(|e| fail(e.to_string()))?;
        let _ = stream.set_read_timeout(Some(HEAD_TIMEOUT));
        // Read the answer byte by byte: what follows it belongs to the tunnel.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > MAX_HEAD
                || stream.read(&mut byte).map_err(|e| fail(e.to_string()))? == 0
            {
                return Err(fail("closed the connection".into()));
            }
            head.push(byte[0]);
        }
        let status = String::from_utf8_lossy(&head);
        let status = status.lines().next().unwrap_or_default();
        if status
            .split(' ')
            .nth(1)
            .is_some_and(|code| code.starts_with('2'))
        {
            let _ = stream.set_read_timeout(None);
            Ok(stream)
        } else {
            Err(fail(format!("refused {authority}: {status}")))
        }
    }
}

/// Connect to the first address that answers.
fn connect_any(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The request head's lines (without their CRLF), the request line first.
fn read_head(reader: &mut BufReader<UnixStream>) -> Result<Vec<String>, Refusal> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take((MAX_HEAD - total + 1) as u64)
            .read_until(b'\n', &mut line)
            .map_err(|_| Refusal::new(408, "the request head did not arrive"))?;
        total += n;
        if n == 0 || total > MAX_HEAD {
            return Err(Refusal::new(
                400,
                "the request head is incomplete or too large",
            ));
        }
        let text = String::from_utf8(line)
            .map_err(|_| Refusal::new(400, "the request head is not text"))?;
        let text = text.trim_end_matches(['\r', '\n']).to_owned();
        if text.is_empty() {
            if lines.is_empty() {
                continue;
            }
            return Ok(lines);
        }
        lines.push(text);
    }
}

/// Answer a refusal: its status, and its reason as the body.
fn answer(client: &mut UnixStream, refusal: &Refusal) -> io::Result<()> {
    let reason = match refusal.status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        503 => "Service Unavailable",
        _ => "Bad Gateway",
    };
    let body = format!("kiro-aws strict mode: {}\n", refusal.message);
    client.write_all(
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            refusal.status,
            body.len()
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line("CONNECT sts.amazonaws.com:443 HTTP/1.1"),
            Ok(Target::Tunnel {
                host: "sts.amazonaws.com".into(),
                port: 443
            })
        );
        assert_eq!(
            parse_request_line("CONNECT [::1]:8443 HTTP/1.1"),
            Ok(Target::Tunnel {
                host: "::1".into(),
                port: 8443
            })
        );
        assert_eq!(
            parse_request_line("POST HTTP://127.0.0.1:5000?x=1 HTTP/1.1"),
            Ok(Target::Plain {
                host: "127.0.0.1".into(),
                port: 5000,
                method: "POST".into(),
                path: "/?x=1".into(),
                version: "HTTP/1.1".into()
            })
        );
        assert_eq!(
            parse_request_line("GET http://Example.com/a/b HTTP/1.0"),
            Ok(Target::Plain {
                host: "example.com".into(),
                port: 80,
                method: "GET".into(),
                path: "/a/b".into(),
                version: "HTTP/1.0".into()
            })
        );
        for bad in [
            "CONNECT example.com HTTP/1.1",
            "CONNECT example.com:0 HTTP/1.1",
            "GET /relative HTTP/1.1",
            "GET ftp://example.com/ HTTP/1.1",
            "GET http://user@169.254.169.254/ HTTP/1.1",
            "GET http://a b/ HTTP/1.1",
            "CONNECT a:1 SPDY/3",
            "",
        ] {
            assert!(parse_request_line(bad).is_err(), "{bad}");
        }
    }
}
