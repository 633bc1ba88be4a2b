//! Strict mode's network: the sandbox has its own network namespace with only loopback,
//! and its one way out is an HTTP proxy kiro-aws runs outside ([`proxy`]), reached
//! through a Unix socket bound into the sandbox. Inside, a bridge ([`bridge`]) listens
//! on [`BRIDGE_PORT`] of the sandbox's loopback, and every proxy variable names it.
//! What the proxy lets out is `crate::network`'s rules: it connects to the address it
//! judged, never resolving again, so a name that resolves to a credential server, or
//! one that changes its answer (DNS rebinding), gets nowhere.

pub mod bridge;
pub mod proxy;
mod stream;
pub mod upstream;

pub use stream::Slots;

/// The port the bridge listens on inside the sandbox (its loopback is its own).
pub const BRIDGE_PORT: u16 = 3128;

/// The proxy URL every client inside is given.
pub fn bridge_url() -> String {
    format!("http://127.0.0.1:{BRIDGE_PORT}")
}
