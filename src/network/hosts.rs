//! `--network allowlist`: the names the proxy lets out on port 443 without an
//! `--allow-host`. Two groups:
//! - AWS service endpoints, in every partition's DNS suffix (`*.amazonaws.com` covers
//!   the regional and global endpoints, S3 buckets, STS, SSO and OIDC, and Kiro's older
//!   `q.<region>.amazonaws.com` API; `*.api.aws` the dual-stack ones).
//! - What Kiro itself needs, from its page "Firewalls, proxies, and data perimeters"
//!   (kiro.dev/docs/privacy-and-security/firewalls/), which allows these wildcards in
//!   place of its individual hosts: `*.kiro.dev` (sign-in, the Kiro service, management,
//!   telemetry, downloads), `*.kiro.aws.dev`, `*.shortbread.aws.dev`, `*.signin.aws`,
//!   `*.amazonaws.com` (above). Identity Center's portal (`*.awsapps.com`) is for a
//!   browser, which runs outside the sandbox. (Taken from three copies of that page that
//!   agree; the Kiro CLI 2.x source reaches only hosts below `*.amazonaws.com` besides
//!   `*.kiro.dev`.)
//!
//! Wildcards match one or more labels before the suffix, never the suffix alone or a
//! name that merely ends in its text (`evilamazonaws.com`).

/// `*.SUFFIX` patterns, written as the suffix with its leading dot.
pub const LISTED: [&str; 7] = [
    ".amazonaws.com",
    ".amazonaws.com.cn",
    ".api.aws",
    ".kiro.dev",
    ".kiro.aws.dev",
    ".shortbread.aws.dev",
    ".signin.aws",
];

/// The only port listed names are reached on.
pub const LISTED_PORT: u16 = 443;

/// Whether `host` (normalized) on `port` is on the list.
pub fn listed(host: &str, port: u16) -> bool {
    port == LISTED_PORT
        && LISTED.iter().any(|suffix| {
            host.strip_suffix(suffix)
                .is_some_and(|label| !label.is_empty() && !label.ends_with('.'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_whole_labels() {
        for yes in [
            "sts.amazonaws.com",
            "s3.eu-west-1.amazonaws.com",
            "q.us-east-1.amazonaws.com",
            "sts.cn-north-1.amazonaws.com.cn",
            "ec2.eu-west-1.api.aws",
            "runtime.us-east-1.kiro.dev",
            "app.kiro.dev",
            "prod.us-east-1.telemetry.kiro.aws.dev",
            "eu-west-1.signin.aws",
        ] {
            assert!(listed(yes, 443), "{yes}");
            assert!(!listed(yes, 80), "{yes} on 80");
        }
        for no in [
            "amazonaws.com",
            "evilamazonaws.com",
            "kiro.dev",
            "kiro.dev.evil.com",
            "amazonaws.com.evil.com",
            "x..amazonaws.com",
            "github.com",
        ] {
            assert!(!listed(no, 443), "{no}");
        }
    }
}
