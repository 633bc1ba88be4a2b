//! The hidden commands of strict mode, on every platform (the command line names them).

/// Runs inside the sandbox before the program.
pub const SHIM: &str = "__sandbox-exec";
/// A sandboxed AWS client runs it as its `credential_process`.
pub const CLIENT: &str = "__credential-process";
/// ssh's `ProxyCommand` inside the sandbox: a tunnel through the egress proxy.
pub const CONNECT: &str = "__connect";
