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

/// `aws ARGS...`, each argument's value if it can be known. `None` when it may run.
pub fn judge_cli(args: &[Option<&str>], ctx: &Context) -> Option<Decision> {
    let mut profile: Option<Option<&str>> = None;
    let mut positional: Vec<Option<&str>> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            Some("--profile") => {
                profile = Some(args.get(i + 1).copied().flatten());
                i += 2;
                continue;
            }
            Some(a) if a.starts_with("--profile=") => {
                profile = Some(Some(&a["--profile=".len()..]));
            }
            Some(a) if VALUED.contains(&a) => {
                i += 2;
                continue;
            }
            Some(a) if a.starts_with('-') => {}
            other if positional.len() < 2 => positional.push(other),
            _ => {}
        }
        i += 1;
    }
    let service = positional.first().copied()?;
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
    match judge(service, operation, profile, ctx) {
        Decision::Allow => None,
        blocked => Some(blocked),
    }
}

/// Kiro's AWS tool: `{"service_name","operation_name","profile_name"?,...}`.
pub fn judge_tool(input: &Value, ctx: &Context) -> Decision {
    let text = |key: &str| input.get(key).and_then(Value::as_str);
    let Some(service) = text("service_name") else {
        return Decision::block("the AWS tool call names no service_name");
    };
    let Some(operation) = text("operation_name") else {
        return Decision::block("the AWS tool call names no operation_name");
    };
    let operation = operation.replace('_', "-").to_ascii_lowercase();
    judge(service, Some(&operation), text("profile_name"), ctx)
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
