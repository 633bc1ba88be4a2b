use std::process::ExitCode;

fn main() -> ExitCode {
    match kiro_aws::run() {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("kiro-aws: {error}");
            error.exit.into()
        }
    }
}
