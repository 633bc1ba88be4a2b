//! The SSO token cache: `~/.aws/sso/cache/<sha1(sso-session name)>.json`, in the shape
//! AWS CLI v2 writes after `aws sso login`, so that every client finds it. It sits under
//! `$HOME` whatever `AWS_CONFIG_FILE` says; no variable moves it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::code::Code;
use crate::error::{Error, Result};
use crate::install::atomic_file::{self, Existing};

/// A token file: the sign-in's bearer token, when it stops working, and what it takes to
/// refresh it without a browser (the client registration and the refresh token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedToken {
    pub start_url: String,
    pub region: String,
    pub access_token: String,
    /// RFC 3339 in UTC, `2026-12-01T18:00:00Z`.
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_expires_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// Where the token of sso-session `session` is cached below `home`.
pub fn cache_file(home: &Path, session: &str) -> PathBuf {
    let digest = sha1_smol::Sha1::from(session.as_bytes())
        .digest()
        .to_string();
    home.join(".aws/sso/cache").join(format!("{digest}.json"))
}

/// Unix seconds of an `expiresAt`: RFC 3339 as botocore and kiro-aws write it, or the
/// `...UTC` form older AWS CLI caches hold.
pub fn parse_time(text: &str) -> Option<i64> {
    use aws_smithy_types::date_time::Format;
    let text = text.trim();
    let normal = match text
        .strip_suffix("UTC")
        .or_else(|| text.strip_suffix("+00:00"))
    {
        Some(bare) => format!("{bare}Z"),
        None => text.to_owned(),
    };
    aws_smithy_types::DateTime::from_str(&normal, Format::DateTime)
        .ok()
        .map(|t| t.secs())
}

/// Why there is no usable token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    Missing,
    Expired(String),
    /// Signed in to another start URL under this session's name.
    OtherStartUrl(String),
    Unreadable(String),
    /// The portal refused it (revoked, or signed out elsewhere).
    Refused(String),
}

/// The cached token of `session`, if it is for `start_url` in `region` and still valid
/// for a minute.
pub fn read_valid(
    home: &Path,
    session: &str,
    start_url: &str,
    region: &str,
) -> std::result::Result<CachedToken, Unusable> {
    let path = cache_file(home, session);
    let bytes = match atomic_file::read_existing(&path) {
        Ok(Existing::File { bytes, .. }) => bytes,
        Ok(Existing::Absent) => return Err(Unusable::Missing),
        Ok(_) => return Err(Unusable::Unreadable("is not a regular file".into())),
        Err(e) => return Err(Unusable::Unreadable(e.to_string())),
    };
    let token: CachedToken =
        serde_json::from_slice(&bytes).map_err(|e| Unusable::Unreadable(e.to_string()))?;
    if token.start_url.trim_end_matches('/') != start_url.trim_end_matches('/')
        || token.region != region
    {
        return Err(Unusable::OtherStartUrl(format!(
            "{} in {}",
            token.start_url, token.region
        )));
    }
    match parse_time(&token.expires_at) {
        Some(at) if at > clock::now() + 60 => Ok(token),
        _ => Err(Unusable::Expired(token.expires_at)),
    }
}

/// The error for a missing or expired sign-in: exit 3, and the login that mends it.
pub fn login_required(session: &str, why: &Unusable) -> Error {
    let what = match why {
        Unusable::Missing => "there is no SSO sign-in".to_owned(),
        Unusable::Expired(at) => format!("the SSO sign-in expired ({at})"),
        Unusable::OtherStartUrl(what) => format!("the cached SSO sign-in is for {what}"),
        Unusable::Unreadable(why) => format!("the cached SSO token is unreadable ({why})"),
        Unusable::Refused(why) => format!("the portal refused the sign-in ({why})"),
    };
    Error::new(
        Code::SsoLoginRequired,
        format!("sso-session `{session}`: {what}"),
    )
    .with_fix(format!("kiro-aws login --sso-session {session}"))
}

/// Write the token file: 0600, in a 0700 directory, atomically, never through a link.
pub fn write(home: &Path, session: &str, token: &CachedToken) -> Result<PathBuf> {
    let path = cache_file(home, session);
    let dir = path.parent().expect("the cache file has a directory");
    atomic_file::ensure_dir(dir, 0o700)?;
    let mut bytes = serde_json::to_vec_pretty(token).expect("a token serialises");
    bytes.push(b'\n');
    atomic_file::write(&path, &bytes, 0o600, false)?;
    Ok(path)
}

/// An `expiresAt` `seconds` from now.
pub fn expires_in(seconds: i64) -> String {
    clock::rfc3339(clock::now() + seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_file_is_where_and_what_the_aws_cli_writes() {
        let home = Path::new("/home/u");
        // sha1("kiro"), as botocore computes it for an sso-session named kiro.
        assert_eq!(
            cache_file(home, "kiro"),
            Path::new("/home/u/.aws/sso/cache/68f916c2c9c6cb1f5ef59945a24e8882e57e335a.json")
        );
        assert_eq!(parse_time("2026-12-01T18:00:00Z"), Some(1_796_148_000));
        assert_eq!(parse_time("2026-12-01T18:00:00UTC"), Some(1_796_148_000));
        assert_eq!(parse_time("2026-12-01T18:00:00+00:00"), Some(1_796_148_000));
        assert_eq!(parse_time("tomorrow"), None);
        let token = CachedToken {
            start_url: "https://d-1.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            access_token: "at".into(),
            expires_at: "2026-12-01T18:00:00Z".into(),
            client_id: Some("cid".into()),
            client_secret: Some("cs".into()),
            registration_expires_at: Some("2027-03-01T18:00:00Z".into()),
            refresh_token: Some("rt".into()),
        };
        assert_eq!(
            serde_json::to_value(&token).unwrap(),
            serde_json::json!({
                "startUrl": "https://d-1.awsapps.com/start",
                "region": "eu-west-1",
                "accessToken": "at",
                "expiresAt": "2026-12-01T18:00:00Z",
                "clientId": "cid",
                "clientSecret": "cs",
                "registrationExpiresAt": "2027-03-01T18:00:00Z",
                "refreshToken": "rt",
            })
        );
    }

    #[test]
    fn writes_private_and_reads_back_only_while_valid() {
        let home = tempfile::tempdir().unwrap();
        let url = "https://d-1.awsapps.com/start";
        assert_eq!(
            read_valid(home.path(), "kiro", url, "us-east-1"),
            Err(Unusable::Missing)
        );
        let mut token = CachedToken {
            start_url: url.into(),
            region: "us-east-1".into(),
            access_token: "at".into(),
            expires_at: expires_in(3600),
            client_id: None,
            client_secret: None,
            registration_expires_at: None,
            refresh_token: None,
        };
        let path = write(home.path(), "kiro", &token).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(
            read_valid(home.path(), "kiro", url, "us-east-1"),
            Ok(token.clone())
        );
        assert_eq!(
            read_valid(
                home.path(),
                "kiro",
                "https://other.awsapps.com/start",
                "us-east-1"
            ),
            Err(Unusable::OtherStartUrl(format!("{url} in us-east-1")))
        );
        assert!(read_valid(home.path(), "kiro", url, "eu-west-1").is_err());
        token.expires_at = expires_in(30);
        write(home.path(), "kiro", &token).unwrap();
        assert!(matches!(
            read_valid(home.path(), "kiro", url, "us-east-1"),
            Err(Unusable::Expired(_))
        ));
        let err = login_required("kiro", &Unusable::Missing);
        assert_eq!(err.code, Code::SsoLoginRequired);
    }
}
