//! What the AWS SDK for Rust itself sees in a file: its own profile parser (aws-config),
//! fed the exact bytes kiro-aws read, so the two views cannot drift apart between reads.
//!
//! The loader is an `async fn` but does no I/O of its own when given the contents, so it
//! is polled once with a no-op waker: no async runtime starts on this offline path.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_types::os_shim_internal::{Env, Fs};

use crate::ini::FileKind;

/// Profile and sso-session names the SDK found, in sorted order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdkView {
    pub profiles: Vec<String>,
    pub sso_sessions: Vec<String>,
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
    let mut profiles: Vec<String> = set.profiles().map(str::to_owned).collect();
    let mut sso_sessions: Vec<String> = set.sso_sessions().map(str::to_owned).collect();
    profiles.sort();
    sso_sessions.sort();
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
        assert_eq!(view.profiles, ["b", "c", "default"]);
        assert_eq!(view.sso_sessions, ["s"]);
        let creds = load(
            "[a]\naws_access_key_id = x\n[profile z]\nk = v\n",
            FileKind::Credentials,
        )
        .unwrap();
        assert_eq!(creds.profiles, ["a"]);
    }
}
