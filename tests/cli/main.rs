//! The one integration-test binary: the real `kiro-aws` in a temporary HOME.

mod concurrency;
mod docs;
mod harness;
mod hostile;
mod init;
mod kiro;
mod launch;
mod offline;
mod online;
mod policy;
mod property;
mod real_clients;
mod sso;
// Strict mode exists on Linux only (elsewhere it is refused, which unit tests cover).
#[cfg(target_os = "linux")]
mod strict;
#[cfg(target_os = "linux")]
mod strict_network;
mod verify;
