//! kiro-aws: give Kiro an isolated, verified, read-only AWS configuration.
//!
//! Where things live:
//! - `cli`: the command-line contract; `app`: what each command does.
//! - `profile`: the profile model and every validation rule; `ini`: the strict reader
//!   for AWS-format files; `config_file`: rendering and reading the isolated config.
//! - `verify`: the proof of isolation; `finding`: its stable codes and fixes;
//!   `sdk_view`: what the AWS SDK's own loader sees.
//! - `launch_env`: the environment the agent gets; `launch`: program, argv and exec.
//! - `init`: planning and applying the four files; `atomic_file`: the one way to write;
//!   `agent` and `steering`: the templated files; `paths`: every path.
//! - Online (whoami, audit --run, chat --check-identity): `probe` runs `online` in a child
//!   process with the agent's environment; `identity` judges what STS answered; `audit`
//!   builds the CloudTrail queries and the table (`clock` formats the times). Nothing
//!   else touches the network.
//! - Strict mode: `strict` runs it start to end; `sandbox` plans what to hide and the
//!   bwrap argv; `broker` hands kiro credentials in over a Unix socket; `supervisor` runs
//!   the sandbox, its terminal and its signals; `landlock` scopes it inside.

pub mod agent;
pub mod app;
pub mod atomic_file;
pub mod audit;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod config_file;
pub mod error;
pub mod finding;
pub mod identity;
pub mod ini;
pub mod init;
pub mod landlock;
pub mod launch;
pub mod launch_env;
pub mod online;
pub mod paths;
pub mod probe;
pub mod profile;
pub mod sandbox;
pub mod sdk_view;
pub mod steering;
pub mod strict;
pub mod supervisor;
pub mod verify;
