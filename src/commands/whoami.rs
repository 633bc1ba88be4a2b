//! `kiro-aws whoami`: ask AWS who each kiro profile really is, all at once, through the
//! online probe; exit 3 when any profile is not as configured.

use crate::commands::shared;
use std::collections::HashMap;

use crate::config::profile::{Profile, ProfileSet};
use crate::env::Env;
use crate::error::{Exit, Result};
use crate::online::identity::{self, Checked, FailureKind, Observation};
use crate::online::probe::{self, ProfileObservation, Request as ProbeRequest, Response};
use crate::paths::Paths;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub profile: Option<String>,
    /// Every profile of the isolated config.
    pub all: bool,
    pub timeout_secs: u64,
    pub json: bool,
}

pub fn run(request: &Request, paths: &Paths, inherited: &Env) -> Result<Exit> {
    let set = shared::prove(paths, inherited, &probe::ENDPOINT_OVERRIDES)?;
    let profiles: Vec<Profile> = if request.all {
        set.profiles.clone()
    } else {
        vec![shared::select_profile(&set, request.profile.as_deref())?.clone()]
    };
    let checked = ask(paths, inherited, &set, &profiles, request.timeout_secs)?;
    let ok = checked.iter().all(|c| c.ok);
    if request.json {
        shared::print_json(&serde_json::json!({"ok": ok, "profiles": checked}));
    } else {
        print!("{}", identity::render(&checked));
    }
    Ok(if ok { Exit::Success } else { Exit::NotIsolated })
}

/// Ask STS about `profiles` (all at once, in the probe) and judge each answer.
pub fn ask(
    paths: &Paths,
    inherited: &Env,
    set: &ProfileSet,
    profiles: &[Profile],
    timeout_secs: u64,
) -> Result<Vec<Checked>> {
    let names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
    let request = ProbeRequest::Whoami {
        profiles: names.clone(),
        timeout_ms: timeout_secs * 1000,
    };
    let label = format!("asking AWS who {} is", names.join(", "));
    let response = probe::call(paths, &names[0], inherited, &request, &label)?;
    let answers = match response {
        Response::Whoami(answers) => answers,
        Response::Failed(observation) => names
            .iter()
            .map(|profile| ProfileObservation {
                profile: profile.clone(),
                observation: observation.clone(),
            })
            .collect(),
        _ => {
            unreachable!("the probe answers the request it was given")
        }
    };
    // Matched by name: a profile the probe did not answer for is not proven.
    let mut answers: HashMap<String, Observation> = answers
        .into_iter()
        .map(|a| (a.profile, a.observation))
        .collect();
    let default_session = set.default_session();
    Ok(profiles
        .iter()
        .map(|profile| {
            let observation = match answers.remove(&profile.name) {
                Some(observation) => observation,
                None => Observation::Failed {
                    kind: FailureKind::Other,
                    message: "the online probe gave no answer for this profile".into(),
                },
            };
            identity::check(
                profile,
                &observation,
                &identity::login_command(default_session, profile),
            )
        })
        .collect())
}
