//! What the AWS SDK for Rust itself sees in a file: its own profile parser (aws-config),
//! fed the exact bytes kiro-aws read, so the two views cannot drift apart between reads.
//!
//! The loader is an `async fn` but does no I/O of its own when given the contents, so it
//! is polled once with a no-op waker: no async runtime starts on this offline path.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};

use crate::config::ini::FileKind;
use crate::config::profile::{PROFILE_KEYS, SESSION_KEYS};

/// Keys and values of one section, as far as the allow-listed keys go (the SDK offers no
/// way to list a section's keys; anything else is refused by the strict reader).
pub type Values = BTreeMap<String, String>;

/// The profiles and sso-sessions the SDK found, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdkView {
    pub profiles: BTreeMap<String, Values>,
    pub sso_sessions: BTreeMap<String, Values>,
}

impl SdkView {
    pub fn profile_names(&self) -> Vec<String> {
        self.profiles.keys().cloned().collect()
    }
}

pub fn load(contents: &str, kind: FileKind) -> Result<SdkView, String> {
    let sdk_kind = match kind {
        FileKind::Config => EnvConfigFileKind::Config,
        FileKind::Credentials => EnvConfigFileKind::Credentials,
    };
    let files = EnvConfigFiles::builder()
        .with_contents(sdk_kind, contents)
        .build();
    let fs = Fs::from_map(HashMap::<String, Vec<u8>>::new());
    let env = Env::from_slice(&[]);
    let future = pin!(aws_config::profile::load(&fs, &env, &files, None));
    let set = match poll_once(future) {
        Some(result) => result.map_err(|e| e.to_string())?,
        None => return Err("the AWS SDK profile loader did not complete synchronously".into()),
    };
    let values = |get: &dyn Fn(&str) -> Option<String>, keys: &[&str]| -> Values {
        keys.iter()
            .filter_map(|k| get(k).map(|v| ((*k).to_owned(), v)))
            .collect()
    };
    let profiles = set
        .profiles()
        .map(|name| {
            let profile = set.get_profile(name).expect("listed profile");
            let get = |k: &str| profile.get(k).map(str::to_owned);
            (name.to_owned(), values(&get, &PROFILE_KEYS))
        })
        .collect();
    let sso_sessions = set
        .sso_sessions()
        .map(|name| {
            let session = set.sso_session(name).expect("listed session");
            let get = |k: &str| session.get(k).map(str::to_owned);
            (name.to_owned(), values(&get, &SESSION_KEYS))
        })
        .collect();
    Ok(SdkView {
        profiles,
        sso_sessions,
    })
}

fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match future.poll(&mut cx) {
        Poll::Ready(output) => Some(output),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_what_the_sdk_sees() {
        let view = load(
            "[profile b]\nregion = us-east-1\n[default]\nregion = x\n[sso-session s]\nsso_region = x\n[ profile c]\nregion=x\n",
            FileKind::Config,
        )
        .unwrap();
        assert_eq!(view.profile_names(), ["b", "c", "default"]);
        assert_eq!(view.profiles["b"]["region"], "us-east-1");
        assert_eq!(view.sso_sessions["s"]["sso_region"], "x");
        let creds = load(
            "[a]\naws_access_key_id = x\n[profile z]\nk = v\n",
            FileKind::Credentials,
        )
        .unwrap();
        assert_eq!(creds.profile_names(), ["a"]);
    }
}
