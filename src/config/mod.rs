//! The profile model and the AWS-format files that hold it: the strict reader (`ini`),
//! the model and every validation rule (`profile`), the isolated config's canonical text
//! (`config_file`), and what the AWS SDK's own loader sees in the same bytes (`sdk_view`).

pub mod config_file;
pub mod ini;
pub mod profile;
pub mod sdk_view;
