//! What kiro-aws installs: the plan for the isolated config, the empty credentials file,
//! the agent and the steering block (`plan`), the two templated files (`agent`,
//! `steering`), and the one way every file is written (`atomic_file`).

pub mod agent;
pub mod atomic_file;
pub mod plan;
pub mod steering;
