//! `kiro-aws audit`: print the CloudTrail queries that find what the agent did, or run
//! LookupEvents through the online probe and print the agent's events.

use crate::clock;
use crate::code::Code;
use crate::commands::shared;
use crate::env::Env;
use crate::error::{Error, Exit, Result};
use crate::online::audit;
use crate::online::identity;
use crate::online::probe::{self, Request as ProbeRequest, Response};
use crate::paths::Paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The CloudTrail Lake SQL query.
    Sql,
    /// The `aws cloudtrail lookup-events` commands.
    Cli,
    /// With --run: a table.
    Table,
    /// The queries, or with --run the events, as JSON.
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub since: String,
    pub until: Option<String>,
    pub format: Option<Format>,
    pub run: bool,
    pub profile: Option<String>,
    pub event_data_store: String,
    pub max_events: usize,
    pub timeout_secs: u64,
}

pub fn run(args: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let window = audit::Window::parse(&args.since, args.until.as_deref(), clock::now())?;
    audit::check_event_data_store(&args.event_data_store)?;
    let set = shared::prove(paths, inherited, &probe::ENDPOINT_OVERRIDES)?;
    let roles = audit::roles(&set);
    if !args.run {
        if args.profile.is_some() {
            return Err(Error::new(
                Code::AuditOptionNeedsRun,
                "--profile chooses whom --run calls CloudTrail as",
            )
            .with_fix("add --run, or drop --profile"));
        }
        let sql = audit::sql(&roles, window, &args.event_data_store);
        let commands = audit::lookup_commands(&set, &roles, window);
        match args.format {
            Some(Format::Sql) => print!("{sql}"),
            Some(Format::Cli) => println!("{}", commands.join("\n\n")),
            Some(Format::Json) => {
                let json = serde_json::json!({
                    "start": clock::rfc3339(window.start),
                    "end": clock::rfc3339(window.end),
                    "roles": roles,
                    "sql": sql,
                    "lookup_events": commands,
                });
                shared::print_json(&json);
            }
            Some(Format::Table) => {
                return Err(Error::new(
                    Code::AuditOptionNeedsRun,
                    "--format table prints events, which only --run fetches",
                )
                .with_fix("add --run, or use --format sql, cli or json"))
            }
            None => println!(
                "-- CloudTrail Lake (all accounts of an organization event data store):\n{sql}\n\
                 # CloudTrail LookupEvents (90 days, one account and region per call):\n{}",
                commands.join("\n\n")
            ),
        }
        return Ok(Exit::Success);
    }
    let format = match args.format {
        None | Some(Format::Table) => Format::Table,
        Some(Format::Json) => Format::Json,
        Some(other) => {
            return Err(Error::new(
                Code::AuditOptionNeedsRun,
                format!("--format {other:?} prints a query; --run prints events").to_lowercase(),
            )
            .with_fix("use --format table or json with --run, or drop --run"))
        }
    };
    let profile = shared::select_profile(&set, args.profile.as_deref())?;
    let request = ProbeRequest::LookupEvents {
        profile: profile.name.clone(),
        start: window.start,
        end: window.end,
        max_events: args.max_events,
        timeout_ms: args.timeout_secs * 1000,
    };
    let label = format!("reading CloudTrail as {}", profile.name);
    let (events, truncated) = match probe::call(paths, &profile.name, inherited, &request, &label)?
    {
        Response::Events { events, truncated } => (events, truncated),
        Response::Failed(observation) => {
            let checked = identity::check(
                profile,
                &observation,
                &identity::login_command(set.default_session(), profile),
            );
            for finding in &checked.findings {
                eprintln!("kiro-aws: {finding}");
            }
            let failed = Error::new(
                Code::AuditFailed,
                format!("CloudTrail LookupEvents as {} failed", profile.name),
            );
            // A missing or expired sign-in is exit 3, as for whoami.
            let login = checked
                .findings
                .iter()
                .any(|f| f.code == Code::SsoLoginRequired);
            return Err(if login {
                failed.with_exit(Exit::NotIsolated)
            } else {
                failed
            });
        }
        _ => {
            unreachable!("the probe answers the request it was given")
        }
    };
    let rows = audit::rows(&events, &roles);
    if format == Format::Json {
        let json = serde_json::json!({
            "profile": profile.name,
            "start": clock::rfc3339(window.start),
            "end": clock::rfc3339(window.end),
            "events_read": events.len(),
            "truncated": truncated,
            "events": rows,
        });
        shared::print_json(&json);
    } else {
        print!("{}", audit::table(&rows));
        eprintln!(
            "kiro-aws: {} of {} event(s) in {} .. {} are the kiro roles'{}",
            rows.len(),
            events.len(),
            clock::rfc3339(window.start),
            clock::rfc3339(window.end),
            if truncated {
                format!("; stopped at --max-events {}", args.max_events)
            } else {
                String::new()
            }
        );
    }
    Ok(Exit::Success)
}
