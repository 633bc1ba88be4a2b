//! Everything that talks to AWS. `probe` is the one door: it runs `child`, this same
//! binary in a child process with exactly the agent's environment, where the SDK, the
//! async runtime and TLS live; the parent never starts them. `identity` judges what STS
//! answered about each profile; `sso` is the child's side of sign-in and discovery;
//! `audit` builds the CloudTrail queries and the table.

pub mod audit;
pub mod child;
pub mod identity;
pub mod probe;
pub mod sso;
