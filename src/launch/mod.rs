//! Launching a program for the agent: the environment it gets (`environment`), where the
//! program is found (`program`), the whole launch as one value (`plan`), and the thin
//! last step that replaces kiro-aws with it (`exec`).

pub mod environment;
pub mod exec;
pub mod plan;
pub mod program;
