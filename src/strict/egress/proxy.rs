//! The egress proxy, outside the sandbox: an HTTP proxy on a Unix socket in the
//! session's run directory. It takes `CONNECT host:port` (every TLS client) and
//! absolute-form plain HTTP requests (`GET http://host/...`), judges the host by
//! [`Rules`], resolves it, and connects only to an address the rules allow, the one it
//! judged. Refusals are HTTP answers whose body says why, so the agent's client prints
//! the reason. When the user's network has a proxy of its own ([`Upstream`]), the
//! connection goes through it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use super::stream::{self, splice, Slots};
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
        Arc::new(Proxy { rules, upstream })
    }

    /// Serve `listener` on a thread for as long as the process lives, at most
    /// [`MAX_CONNECTIONS`] at once (more are answered 503).
    pub fn serve(self: &Arc<Self>, listener: UnixListener) {
        let proxy = Arc::clone(self);
        std::thread::spawn(move || {
            let slots = Slots::new(MAX_CONNECTIONS);
            for mut client in listener.incoming().flatten() {
                let Some(slot) = slots.take() else {
                    let _ = answer(
                        &mut client,
                        &Refusal::new(503, "too many connections at once"),
                    );
                    continue;
                };
                let serving = Arc::clone(&proxy);
                stream::spawn(slot, move || serving.handle(client));
            }
        });
    }

    fn handle(&self, mut client: UnixStream) {
        let (head, early) = match read_head(&mut client) {
            Ok(read) => read,
            Err(refusal) => {
                let _ = answer(&mut client, &refusal);
                return;
            }
        };
        let target = match parse_request_line(&head[0]) {
            Ok(target) => target,
            Err(refusal) => {
                let _ = answer(&mut client, &refusal);
                return;
            }
        };
        // A plain request's body must be framed one way only (or a second request could
        // hide in it): refused before anything is connected.
        let framing = match &target {
            Target::Tunnel { .. } => Framing::None,
            Target::Plain { .. } => match framing(&head[1..]) {
                Ok(framing) => framing,
                Err(refusal) => {
                    let _ = answer(&mut client, &refusal);
                    return;
                }
            },
        };
        let (host, port) = target.host_port();
        let (mut server, upstream_address) = match self.open(host, port, &target) {
            Ok(opened) => opened,
            Err(refusal) => {
                let _ = answer(&mut client, &refusal);
                return;
            }
        };
        let _ = client.set_read_timeout(None);
        match &target {
            Target::Tunnel { .. } => {
                let opened = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .and_then(|()| server.write_all(&early));
                if opened.is_ok() {
                    splice(client, server);
                }
            }
            Target::Plain {
                method,
                path,
                version,
                port,
                ..
            } => {
                // One request a connection, sent whole, then only the answer comes back:
                // nothing after it reaches the server (or the upstream proxy, which would
                // take a second request to anywhere as its own).
                let line = match upstream_address {
                    Some(address) => {
                        let auth = self
                            .upstream
                            .as_ref()
                            .and_then(|u| u.authorization.as_ref())
                            .map(|a| format!("Proxy-Authorization: {a}\r\n"))
                            .unwrap_or_default();
                        let authority = crate::network::authority(&address, *port);
                        format!("{method} http://{authority}{path} {version}\r\n{auth}")
                    }
                    None => format!("{method} {path} {version}\r\n"),
                };
                let headers: String = head[1..]
                    .iter()
                    .filter(|h| {
                        let name = h.split(':').next().unwrap_or_default().trim();
                        ![
                            "proxy-connection",
                            "proxy-authorization",
                            "connection",
                            "keep-alive",
                        ]
                        .iter()
                        .any(|n| name.eq_ignore_ascii_case(n))
                    })
                    .map(|h| format!("{h}\r\n"))
                    .collect();
                let mut body = std::io::Cursor::new(early).chain(&client);
                let sent = server
                    .write_all(format!("{line}{headers}Connection: close\r\n\r\n").as_bytes())
                    .and_then(|()| relay_body(&framing, &mut body, &mut server));
                if sent.is_err() {
                    return;
                }
                let _ = io::copy(&mut server, &mut client);
            }
        }
    }

    /// A connection to `host:port`, if the rules allow one; through the upstream proxy,
    /// the address the upstream is given for it (the one judged here, never the name,
    /// which the upstream would resolve again).
    fn open(
        &self,
        host: &str,
        port: u16,
        target: &Target,
    ) -> Result<(TcpStream, Option<String>), Refusal> {
        let by_name = self.rules.by_name(host, port);
        if let ByName::Refused(why) = &by_name {
            return Err(Refusal::new(403, why.clone()));
        }
        let Ok(resolved) = (host, port).to_socket_addrs() else {
            return Err(Refusal::new(
                502,
                format!("{host} does not resolve on this machine"),
            ));
        };
        let resolved: Vec<SocketAddr> = resolved.collect();
        let permitted: Vec<SocketAddr> = resolved
            .iter()
            .copied()
            .filter(|a| Rules::address_allowed(&by_name, a.ip()))
            .collect();
        if permitted.is_empty() {
            let list: Vec<String> = resolved.iter().map(|a| a.ip().to_string()).collect();
            return Err(Refusal::new(
                403,
                format!(
                    "{host}:{port} resolves to {}, which strict mode never connects to (loopback, link-local, private, CGNAT and metadata addresses); let this exact host in with --allow-host {host}:{port}",
                    list.join(", ")
                ),
            ));
        }
        match self.upstream.as_ref().filter(|u| u.carries(host)) {
            None => connect_any(&permitted)
                .map(|s| (s, None))
                .map_err(|e| Refusal::new(502, format!("cannot connect to {host}:{port}: {e}"))),
            Some(up) => {
                let address = permitted[0].ip().to_string();
                self.through(up, &address, port, target)
                    .map(|s| (s, Some(address)))
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
        let authority = crate::network::authority(host, port);
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

/// The request head's lines (without their CRLF), the request line first, and what the
/// client sent after it; within [`HEAD_TIMEOUT`] in all, however slowly it trickles.
fn read_head(client: &mut UnixStream) -> Result<(Vec<String>, Vec<u8>), Refusal> {
    let deadline = std::time::Instant::now() + HEAD_TIMEOUT;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = find_end(&buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(Refusal::new(400, "the request head is too large"));
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() || client.set_read_timeout(Some(left)).is_err() {
            return Err(Refusal::new(408, "the request head did not arrive in time"));
        }
        match client.read(&mut chunk) {
            Ok(0) => return Err(Refusal::new(400, "the request head is incomplete")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Refusal::new(408, "the request head did not arrive in time")),
        }
    };
    let early = buf.split_off(end);
    let text =
        String::from_utf8(buf).map_err(|_| Refusal::new(400, "the request head is not text"))?;
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if lines.is_empty() || lines.iter().any(|l| l.contains('\r')) {
        return Err(Refusal::new(400, "the request head is malformed"));
    }
    Ok((lines, early))
}

/// Where the head ends (after its blank line), leading blank lines aside.
fn find_end(buf: &[u8]) -> Option<usize> {
    let start = buf.iter().position(|b| *b != b'\r' && *b != b'\n')?;
    let rest = &buf[start..];
    let crlf = rest
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = rest.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    [crlf, lf].into_iter().flatten().min().map(|i| start + i)
}

/// How a plain request's body is delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// The body's framing from the headers: one `Content-Length`, or `Transfer-Encoding:
/// chunked` alone; anything else could be read two ways and is refused.
pub fn framing(headers: &[String]) -> Result<Framing, Refusal> {
    let values = |name: &str| -> Vec<String> {
        headers
            .iter()
            .filter_map(|h| h.split_once(':'))
            .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .collect()
    };
    let ambiguous = || Refusal::new(400, "the request's body is framed ambiguously");
    // Header names are plain tokens, and no line continues another (an upstream could
    // read either differently).
    let token = |name: &str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    if headers
        .iter()
        .any(|h| h.starts_with([' ', '\t']) || !h.split_once(':').is_some_and(|(n, _)| token(n)))
    {
        return Err(Refusal::new(400, "a request header is malformed"));
    }
    let (lengths, encodings) = (values("content-length"), values("transfer-encoding"));
    match (lengths.as_slice(), encodings.as_slice()) {
        ([], []) => Ok(Framing::None),
        ([length], []) if !length.is_empty() && length.bytes().all(|b| b.is_ascii_digit()) => {
            length.parse().map(Framing::Length).map_err(|_| ambiguous())
        }
        ([], [chunked]) if chunked == "chunked" => Ok(Framing::Chunked),
        _ => Err(ambiguous()),
    }
}

/// Send exactly the body `framing` describes from `from` to `to`.
fn relay_body(framing: &Framing, from: &mut impl Read, to: &mut impl Write) -> io::Result<()> {
    let short = || io::Error::new(io::ErrorKind::UnexpectedEof, "the body ended early");
    match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => {
            let copied = io::copy(&mut from.take(*n), to)?;
            if copied == *n {
                Ok(())
            } else {
                Err(short())
            }
        }
        Framing::Chunked => {
            let mut reader = BufReader::new(from);
            loop {
                let mut line = String::new();
                if reader.by_ref().take(1024).read_line(&mut line)? == 0 {
                    return Err(short());
                }
                to.write_all(line.as_bytes())?;
                let size = line.trim_end().split(';').next().unwrap_or_default().trim();
                let size = u64::from_str_radix(size, 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
                if size == 0 {
                    // Trailers, up to the blank line.
                    loop {
                        let mut trailer = String::new();
                        if reader.by_ref().take(8192).read_line(&mut trailer)? == 0 {
                            return Err(short());
                        }
                        to.write_all(trailer.as_bytes())?;
                        if trailer.trim_end().is_empty() {
                            return Ok(());
                        }
                    }
                }
                // The chunk and its CRLF.
                let want = size + 2;
                if io::copy(&mut reader.by_ref().take(want), to)? != want {
                    return Err(short());
                }
            }
        }
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
    fn a_body_is_framed_one_way_only() {
        let h = |lines: &[&str]| -> Vec<String> { lines.iter().map(|l| l.to_string()).collect() };
        assert_eq!(framing(&h(&["Host: x"])), Ok(Framing::None));
        assert_eq!(
            framing(&h(&["Content-Length: 12"])),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            framing(&h(&["transfer-encoding: Chunked"])),
            Ok(Framing::Chunked)
        );
        for bad in [
            &["Content-Length: 3", "Transfer-Encoding: chunked"][..],
            &["Content-Length: 3", "Content-Length: 3"],
            &["Content-Length: +5"],
            &["Content-Length: -1"],
            &["Transfer-Encoding : chunked"],
            &["Transfer-Encoding: gzip, chunked"],
            &["X: a", " continued"],
            &["no colon"],
        ] {
            assert!(framing(&h(bad)).is_err(), "{bad:?}");
        }
    }

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
