//! IAM Identity Center as files and names, with no network: the SSO token cache that the
//! AWS CLI, botocore and the SDKs share (`token`), and discovery's pure plan, which turns
//! the portal's accounts and roles into kiro profiles (`discover`). The calls themselves
//! are `online`'s.

pub mod discover;
pub mod token;
