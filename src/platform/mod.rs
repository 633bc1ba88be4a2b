//! What differs between Linux and macOS, outside strict mode (whose sandbox is Linux-only
//! and gated in [`crate::strict`]).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;

#[cfg(not(target_os = "linux"))]
mod macos;
#[cfg(not(target_os = "linux"))]
pub use macos::*;
