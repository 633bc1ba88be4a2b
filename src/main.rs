use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kiro_aws::cli::Cli::parse();
    let inherited: Vec<_> = std::env::vars_os().collect();
    match kiro_aws::app::run(cli, &inherited) {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("kiro-aws: {error}");
            error.exit.into()
        }
    }
}
