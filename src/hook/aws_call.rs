//! The rules for one AWS call, from Kiro's AWS tool or an `aws` command line: the profile
//! must be a kiro profile of the isolated config, the service one the agent may use, and
//! the operation a read unless the profile's name ends in `-write`; an operation that
//! hands out secrets or credentials is refused whatever the profile.

use serde_json::Value;

use crate::hook::operations::{self, Class};
use crate::hook::{Context, Decision};

/// Services the agent never calls: secrets, sign-in, registry and database credentials.
pub const DENIED_SERVICES: [&str; 14] = [
    "secretsmanager",
    "ssm",
    "sso",
    "sso-oidc",
    "ecr",
    "ecr-public",
    "codeartifact",
    "redshift",
    "redshift-serverless",
    "cognito-identity",
    "lightsail",
    "datazone",
    "glue",
    "eks",
];

/// AWS CLI commands that sign in or change the AWS set-up.
const SET_UP: [&str; 4] = ["configure", "sso", "login", "logout"];

/// Global options of the AWS CLI that take a value.
const VALUED: [&str; 10] = [
    "--profile",
    "--region",
    "--output",
    "--query",
    "--endpoint-url",
    "--cli-read-timeout",
    "--cli-connect-timeout",
    "--ca-bundle",
    "--color",
    "--cli-binary-format",
];

/// Read-only subcommands of `aws configure`: they show the isolated config.
const CONFIGURE_READS: [&str; 3] = ["list", "get", "list-profiles"];

/// Which global option an argument is. The AWS CLI's parser accepts any unambiguous
/// prefix (`--prof` for `--profile`, `--qu` for `--query`), so a prefix counts as the
/// option it could abbreviate.
fn option_of(arg: &str) -> Option<(&'static str, Option<&str>)> {
    let (name, value) = match arg.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (arg, None),
    };
    if name.len() < 3 || !name.starts_with("--") {
        return None;
    }
    VALUED
        .iter()
        .find(|o| **o == name)
        .or_else(|| VALUED.iter().find(|o| o.starts_with(name)))
        .map(|o| (*o, value))
}

/// `aws ARGS...`, each argument's value if it can be known. `None` when it may run.
pub fn judge_cli(args: &[Option<&str>], ctx: &Context) -> Option<Decision> {
    let mut profile: Option<Option<&str>> = None;
    let mut positional: Vec<Option<&str>> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            Some(a) if a.starts_with("--") => {
                if let Some((option, inline)) = option_of(a) {
                    let value = match inline {
                        Some(v) => Some(v),
                        None => {
                            i += 1;
                            args.get(i).copied().flatten()
                        }
                    };
                    if option == "--profile" {
                        profile = Some(value);
                    }
                }
            }
            // `-` (standard input or output) is an argument, not an option.
            Some(a) if a.starts_with('-') && a != "-" => {}
            other => positional.push(other),
        }
        i += 1;
    }
    let Some(service) = positional.first().copied() else {
        // No command (`aws --version`, `aws --profile x`): only the profile to judge.
        return match profile {
            Some(Some(p)) => match judge("sts", Some("get-caller-identity"), Some(p), ctx) {
                Decision::Allow => None,
                blocked => Some(blocked),
            },
            Some(None) => Some(Decision::block(
                "kiro-aws cannot see which profile this uses; write `--profile kiro-...` plainly",
            )),
            None => None,
        };
    };
    let Some(service) = service else {
        return Some(Decision::block(
            "kiro-aws cannot see which AWS service this calls; write the service and operation out plainly",
        ));
    };
    let operation = match positional.get(1) {
        None => None,
        Some(Some(op)) => Some(*op),
        Some(None) => {
            return Some(Decision::block(
                "kiro-aws cannot see which AWS operation this calls; write it out plainly",
            ))
        }
    };
    let profile =
        match profile {
            Some(None) => return Some(Decision::block(
                "kiro-aws cannot see which profile this uses; write `--profile kiro-...` plainly",
            )),
            Some(Some(p)) => Some(p),
            None => None,
        };
    if service == "configure" && operation.is_some_and(|op| CONFIGURE_READS.contains(&op)) {
        return None;
    }
    // `aws s3 cp s3://... LOCAL` and `sync` the same way only read from S3.
    let download = service == "s3"
        && matches!(operation, Some("cp" | "sync"))
        && positional.len() >= 4
        && positional[2..positional.len() - 1]
            .iter()
            .all(|p| p.is_some_and(|p| p.starts_with("s3://")))
        && positional
            .last()
            .copied()
            .flatten()
            .is_some_and(|dest| !dest.starts_with("s3://"));
    if download {
        return match judge(service, Some("ls"), profile, ctx) {
            Decision::Allow => None,
            blocked => Some(blocked),
        };
    }
    match judge(service, operation, profile, ctx) {
        Decision::Allow => None,
        blocked => Some(blocked),
    }
}

/// Kiro's AWS tool: `{"service_name","operation_name","profile_name"?,"parameters"?,
/// "positional_args"?,...}`. Kiro turns `parameters` into `--NAME VALUE` options and
/// appends `positional_args`, so both are judged too: a `profile` parameter is the
/// profile, and every value is a word of the command line.
pub fn judge_tool(input: &Value, ctx: &Context) -> Decision {
    let text = |key: &str| input.get(key).and_then(Value::as_str);
    let Some(service) = text("service_name") else {
        return Decision::block("the AWS tool call names no service_name");
    };
    let Some(operation) = text("operation_name") else {
        return Decision::block("the AWS tool call names no operation_name");
    };
    let operation = operation.replace('_', "-").to_ascii_lowercase();
    // As Kiro runs it: `aws [--profile P] SERVICE OPERATION [positional] [--k v]...`.
    let mut args: Vec<String> = Vec::new();
    if let Some(profile) = text("profile_name") {
        args.push("--profile".into());
        args.push(profile.to_owned());
    }
    args.push(service.to_owned());
    args.push(operation.clone());
    for arg in input
        .get("positional_args")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        args.push(arg.as_str().map_or_else(|| arg.to_string(), str::to_owned));
    }
    if let Some(params) = input.get("parameters").and_then(Value::as_object) {
        for (key, value) in params {
            // Kiro writes each key in kebab case (`InstanceIds`, `instance_ids` ->
            // `--instance-ids`; `Profile` -> `--profile`).
            let mut kebab = String::new();
            for (i, c) in key.trim_start_matches('-').chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 && !kebab.ends_with('-') {
                    kebab.push('-');
                }
                kebab.push(if c == '_' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                });
            }
            args.push(format!("--{kebab}"));
            match value {
                Value::String(s) => args.push(s.clone()),
                Value::Bool(_) => {}
                other => args.push(other.to_string()),
            }
        }
    }
    // The same rules as for the command line `aws ARGS...` (the words' paths included),
    // with a profile from the parameters winning as it does in the AWS CLI.
    let quoted: Vec<String> = args
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    crate::hook::command_line::judge(&format!("aws {}", quoted.join(" ")), ctx)
}

fn judge(service: &str, operation: Option<&str>, profile: Option<&str>, ctx: &Context) -> Decision {
    let service = service.to_ascii_lowercase();
    if SET_UP.contains(&service.as_str()) {
        return Decision::block(format!(
            "`aws {service}` signs in or changes the AWS set-up; only the user does that: ask them (`kiro-aws login`)"
        ));
    }
    if DENIED_SERVICES.contains(&service.as_str()) {
        return Decision::block(format!(
            "the {service} service is denied to this agent (it hands out secrets or credentials); tell the user what you wanted to find out"
        ));
    }
    let recorded = match ctx.recorded() {
        Ok(recorded) => recorded,
        Err(why) => return Decision::block(format!("no AWS calls until this is fixed: {why}")),
    };
    let names = || recorded.profiles.join(", ");
    let profile = match profile
        .map(str::to_owned)
        .or_else(|| ctx.env_var("AWS_PROFILE"))
    {
        Some(p) => p,
        None => {
            return Decision::block(format!(
                "name the profile: add `--profile` with one of {}",
                names()
            ))
        }
    };
    if !recorded.profiles.contains(&profile) {
        return Decision::block(format!(
            "`{profile}` is not a kiro profile of the isolated config; use one of {}",
            names()
        ));
    }
    let Some(operation) = operation else {
        return Decision::Allow;
    };
    match operations::class(&service, operation) {
        Class::Read => Decision::Allow,
        Class::Secret => Decision::block(format!(
            "`{service} {operation}` hands out secrets or credentials; it is denied to this agent whatever the profile"
        )),
        Class::Write if profile.ends_with("-write") => Decision::Allow,
        Class::Write => {
            let writers: Vec<&str> = recorded
                .profiles
                .iter()
                .filter(|p| p.ends_with("-write"))
                .map(String::as_str)
                .collect();
            let hint = if writers.is_empty() {
                "no -write profile is configured, so tell the user the change and let them make it".to_owned()
            } else {
                format!(
                    "tell the user what would change, and after they confirm use {}",
                    writers.join(" or ")
                )
            };
            Decision::block(format!(
                "`{service} {operation}` is not a known read-only operation and `{profile}` is read-only; {hint}"
            ))
        }
    }
}
