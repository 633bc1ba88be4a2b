//! The command line: names, flags and help text (a public contract: scripts depend on
//! it), and their conversion into the commands' domain requests. clap stops here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::commands::{audit, env, init, launch, login, policy, shared, verify, whoami, Request};
use crate::config::profile::DEFAULT_SESSION;
use crate::install::plan::Sources;

const AFTER_HELP: &str = "\
Files (under $HOME):
  .aws/kiro/config              only kiro-* SSO profiles (0600, directory 0700)
  .aws/kiro/credentials         empty (0600)
  .kiro/agents/aws-readonly.json  the read-only agent (Kiro CLI classic and V2 engines)
  .kiro/agents/aws-readonly.md    the same agent (Kiro CLI V3 engine, Kiro IDE)
  .kiro/steering/AGENTS.md      your file; kiro-aws owns only its marked block

Exit codes:
  0 success   2 bad usage or input   4 a needed program was not found   1 anything else
  3 isolation or identity not proven, or the strict sandbox cannot be built (nothing launched)
  With --strict, kiro-aws waits for the program and returns its exit status.

Start here:
  kiro-aws init --sso-start-url https://my-org.awsapps.com/start --sso-region us-east-1 \\
                --profile kiro-readonly=123456789012:ReadOnly
  kiro-aws verify
  kiro-aws";

#[derive(Debug, Parser)]
#[command(
    name = "kiro-aws",
    version,
    about = "Launch Kiro with an isolated, verified, read-only AWS configuration",
    long_about = "Launch Kiro with an isolated, verified, read-only AWS configuration.\n\n\
        kiro-aws keeps a separate AWS config holding only kiro-* SSO profiles, proves that \
        nothing else resolves from it, removes every inherited variable that could bypass \
        it, and then replaces itself with `kiro-cli chat --agent aws-readonly`. With no \
        command it runs `chat`. With --strict it runs the agent in a bubblewrap sandbox \
        where the host's AWS files and the SSO token do not exist, stays outside as its \
        parent and hands kiro credentials in through a broker.",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub chat: ChatArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the isolated AWS config, the empty credentials file, the agent and the steering block
    #[command(
        long_about = "Write the isolated AWS config, the empty credentials file, the \
        read-only agent and the steering block.\n\nProfiles come from --profile flags, from a team \
        file (--from), from IAM Identity Center (--discover), or, when none is given, from the \
        isolated config already written. \
        Input is checked completely before any file is touched; bad input exits 2 and names \
        the flag or FILE:LINE. Running init twice with the same input changes no byte. A file \
        kiro-aws did not write is never replaced unless --force is given, and then the old \
        one is kept beside it as NAME.kiro-aws-backup-N.\n\n\
        --discover lists, with the cached sign-in of the sso-session (`kiro-aws login \
        --sso-session NAME`), every account and role the portal gives you, at most \
        --max-rps calls a second, and adds a profile for each role matching --role-pattern \
        (default Kiro*) in accounts matching --account-pattern. Roles that look like an \
        administrator's are left out and named. A role with a word starting with Write (KiroWrite, \
        Kiro-ReadWrite, KiroWriteAccess) gives a -write profile; every other role a read-only one. Profiles \
        you added yourself are never renamed or removed; --prune removes discovered \
        profiles whose role is gone. A failed run writes nothing.",
        after_help = "Examples:\n  kiro-aws init --sso-start-url https://my-org.awsapps.com/start --sso-region us-east-1 --profile kiro-readonly=123456789012:ReadOnly\n  kiro-aws init --from team.config\n  kiro-aws login --sso-session kiro --sso-start-url https://my-org.awsapps.com/start --sso-region us-east-1\n  kiro-aws init --discover --sso-start-url https://my-org.awsapps.com/start --sso-region us-east-1 --dry-run\n  kiro-aws init --discover --account-pattern 'prod-*' --prune"
    )]
    Init(InitArgs),
    /// Prove that only kiro-* profiles resolve from the isolated files (exit 3 if not)
    #[command(
        long_about = "Prove that only kiro-* profiles resolve from the isolated files.\n\n\
        Checks the files with kiro-aws's strict reader and with the AWS SDK's own profile \
        loader, rejects anything botocore and the SDK would read differently, checks modes, \
        owners, links and the directories on the way, and reports inherited variables that \
        the launch removes. Each finding has a stable code, the path and a one-line fix. \
        Exits 3 when any finding is an error."
    )]
    Verify(VerifyArgs),
    /// Verify, then exec `kiro-cli chat --agent aws-readonly` in the isolated environment (the default)
    Chat(ChatArgs),
    /// Verify, then exec any command in the isolated environment
    #[command(
        after_help = "Examples:\n  kiro-aws run -- aws sts get-caller-identity\n  kiro-aws run --strict --hide ~/.ssh -- aws s3 ls"
    )]
    Run(RunArgs),
    /// Verify, then print the isolated environment for a wrapper to eval or read
    #[command(
        after_help = "Examples:\n  eval \"$(kiro-aws env)\"\n  kiro-aws env --format fish | source\n  kiro-aws env --format json"
    )]
    Env(EnvArgs),
    /// Verify, then exec the Kiro IDE launcher in the isolated environment
    Ide(IdeArgs),
    /// Ask AWS who each kiro profile really is (account, role, source); exit 3 if not as configured
    #[command(
        long_about = "Ask AWS who each kiro profile really is.\n\n\
        Resolves credentials with the AWS SDK in a child process that has exactly the \
        environment `kiro-aws run` gives the agent, and calls STS GetCallerIdentity for every \
        selected profile at once. Exits 3 when an account differs from sso_account_id, when \
        the role is neither sso_role_name nor AWSReservedSSO_<sso_role_name>_<hex>, when the \
        credentials did not come from IAM Identity Center, or when the SSO sign-in is \
        missing or expired (the message names the `kiro-aws login` command to run).\n\n\
        AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_STS, _SSO, _SSO_OIDC and _CLOUDTRAIL in your \
        shell are honoured here (for VPC endpoints); the agent never gets them.",
        after_help = "Examples:\n  kiro-aws whoami\n  kiro-aws whoami --all --json"
    )]
    Whoami(WhoamiArgs),
    /// Sign in to IAM Identity Center (device flow) and cache the token as AWS CLI v2 does
    #[command(
        long_about = "Sign in to IAM Identity Center and cache the token as AWS CLI v2 does.\n\n\
        Runs the OIDC device flow itself (no AWS CLI needed): registers a client, shows a \
        URL and a code, opens the browser (unless --no-browser), and waits until you \
        approve. The token is written to ~/.aws/sso/cache/<sha1 of the sso-session \
        name>.json (0600), with its refresh fields, where botocore, the AWS CLI, the SDKs \
        and the agent find it.\n\n\
        The sso-session is --sso-session NAME, or that of --profile, or that of the default \
        profile, from the verified isolated config; before any profile exists, give \
        --sso-start-url and --sso-region (with --sso-session NAME, default kiro). \
        AWS_ENDPOINT_URL_SSO_OIDC in your shell is honoured here (for VPC endpoints).",
        after_help = "Examples:\n  kiro-aws login\n  kiro-aws login --sso-session kiro --sso-start-url https://my-org.awsapps.com/start --sso-region eu-west-1\n  kiro-aws login --no-browser"
    )]
    Login(LoginArgs),
    /// Print (or run) the CloudTrail queries that find what the agent did
    #[command(
        long_about = "Print, or run, the CloudTrail queries that find what the agent did.\n\n\
        IAM Identity Center names a permission set's role AWSReservedSSO_<set>_<hex>; the \
        queries match the configured roles in exactly that shape, in their accounts, and \
        mark calls whose user agent carries the kiro-aws tag that the launch puts in \
        AWS_EXECUTION_ENV. Without --run, prints a CloudTrail Lake SQL query (--format sql) \
        and the equivalent `aws cloudtrail lookup-events` commands (--format cli); both by \
        default. With --run, calls LookupEvents with --profile (in that profile's account \
        and region) and prints a table, or JSON with --format json.",
        after_help = "Examples:\n  kiro-aws audit --since 7d --format sql --event-data-store EDS_ID\n  kiro-aws audit --run --since 2h\n  kiro-aws audit --run --profile kiro-dev --format json"
    )]
    Audit(AuditArgs),
    /// Print the role kit: the Identity Center permission sets the kiro roles need, as JSON or a CloudFormation template
    #[command(long_about = POLICY_ABOUT, after_help = POLICY_EXAMPLES)]
    Policy(Box<PolicyArgs>),
    /// Judge one Kiro tool call (the agent's preToolUse hook): exit 0 allows, 2 blocks
    #[command(
        long_about = "Judge one Kiro tool call: the preToolUse hook every kiro-aws agent \
        file names (only that agent's sessions run it).\n\n\
        Reads one hook event as JSON on stdin, in Kiro CLI V2's shape \
        ({\"hook_event_name\":\"preToolUse\",\"cwd\",\"tool_name\",\"tool_input\"}) or V3's, \
        and exits 0 to let the call go on or 2 to block it, with one line on stderr that \
        tells the model what to do instead. Never any other status: Kiro runs the tool when \
        a hook fails, so an event it cannot read is blocked.\n\n\
        Blocks: an AWS call with a profile that is not a kiro profile of the isolated \
        config, to a denied service, that hands out secrets or credentials, or that changes \
        something with a profile whose name does not end in -write; `aws configure`, `aws \
        sso`, `aws login`, `kiro-aws init`; setting or unsetting AWS_* variables the launch \
        chose; reading anything under ~/.aws but ~/.aws/kiro; writing under ~/.aws or \
        ~/.kiro. Shell lines are split as bash would split them, through quoting, `~`, \
        $HOME, globs, `bash -c` and `eval`. No network; a few milliseconds.",
        after_help = "Example:\n  echo '{\"hook_event_name\":\"preToolUse\",\"cwd\":\"/tmp\",\"tool_name\":\"shell\",\"tool_input\":{\"command\":\"cat ~/.aws/credentials\"}}' | kiro-aws hook"
    )]
    Hook,
    /// The online side of whoami and audit --run (internal)
    #[command(name = crate::online::probe::COMMAND, hide = true)]
    Probe,
    /// Inside the strict sandbox: restore signals, then exec the program (internal)
    #[command(name = crate::strict::SHIM, hide = true)]
    SandboxExec {
        /// The egress proxy's socket, for the network bridge inside
        #[arg(long)]
        bridge: Option<PathBuf>,
        /// A socket outside the program may connect to (the broker, --allow-socket)
        #[arg(long = "reach")]
        reach: Vec<PathBuf>,
        #[arg(last = true, required = true)]
        argv: Vec<OsString>,
    },
    /// Inside the strict sandbox: a tunnel to HOST PORT through the proxy on stdin and
    /// stdout, for ssh's ProxyCommand (internal)
    #[command(name = crate::strict::CONNECT, hide = true)]
    Connect { host: String, port: u16 },
    /// Inside the strict sandbox: a credential_process that asks the broker (internal)
    #[command(name = crate::strict::CLIENT, hide = true)]
    CredentialProcess {
        #[arg(long)]
        socket: PathBuf,
        #[arg(long)]
        secret_file: PathBuf,
        #[arg(long)]
        profile: String,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// IAM Identity Center start URL (https://...), for the sso-session block
    #[arg(long, value_name = "URL", requires = "sso_region")]
    pub sso_start_url: Option<String>,
    /// Region of IAM Identity Center, for the sso-session block
    #[arg(long, value_name = "REGION", requires = "sso_start_url")]
    pub sso_region: Option<String>,
    /// Name of the sso-session the --profile flags use
    #[arg(long, value_name = "NAME", default_value = DEFAULT_SESSION)]
    pub sso_session: String,
    /// A profile, as kiro-NAME=ACCOUNT_ID:ROLE_NAME (repeatable)
    #[arg(long = "profile", value_name = "NAME=ACCOUNT_ID:ROLE_NAME")]
    pub profiles: Vec<String>,
    /// Region for profiles that do not name one
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// The profile AWS_PROFILE names at launch [default: kiro-readonly if present, else the first read-only profile]
    #[arg(long, value_name = "NAME")]
    pub default_profile: Option<String>,
    /// Read profiles and sso-sessions from a team file in AWS config format
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Give the agent the file-writing tool (never for ~/.aws or ~/.kiro)
    #[arg(long)]
    pub allow_write_tool: bool,
    /// Accept this role although its name looks like an administrator's (admin,
    /// poweruser, fullaccess); recorded in the isolated config (repeatable)
    #[arg(long = "allow-role", value_name = "ROLE_NAME")]
    pub allow_roles: Vec<String>,
    /// Make strict containment the default for every launch (recorded in the isolated config)
    #[arg(long, conflicts_with = "no_strict")]
    pub strict: bool,
    /// Make the default mode the default again
    #[arg(long)]
    pub no_strict: bool,
    /// Print what would change (diffs for text files) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Replace files kiro-aws did not write, keeping each as a backup
    #[arg(long)]
    pub force: bool,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Find the profiles in IAM Identity Center: every account and role the signed-in
    /// user has (`kiro-aws login --sso-session NAME` first)
    #[arg(long, conflicts_with_all = ["profiles", "from"], help_heading = "Discovery")]
    pub discover: bool,
    /// With --discover: keep roles whose name matches this glob (repeatable) [default: Kiro*]
    #[arg(
        long = "role-pattern",
        value_name = "GLOB",
        requires = "discover",
        help_heading = "Discovery"
    )]
    pub role_patterns: Vec<String>,
    /// With --discover: keep accounts whose name or id matches this glob (repeatable) [default: all]
    #[arg(
        long = "account-pattern",
        value_name = "GLOB",
        requires = "discover",
        help_heading = "Discovery"
    )]
    pub account_patterns: Vec<String>,
    /// With --discover: how profiles are named, from {account_id}, {account_name} and {role_name}
    #[arg(long, value_name = "TEMPLATE", default_value = crate::sso::discover::DEFAULT_TEMPLATE, help_heading = "Discovery")]
    pub name_template: String,
    /// With --discover: remove discovered profiles whose role IAM Identity Center no longer lists
    #[arg(long, requires = "discover", help_heading = "Discovery")]
    pub prune: bool,
    /// With --discover: at most this many portal calls a second (its limit is shared, about 20)
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Discovery")]
    pub max_rps: u32,
}

#[derive(Debug, Args)]
pub struct StrictArgs {
    /// Run inside the strict sandbox: host AWS files and the SSO token are unreachable,
    /// kiro credentials come from a broker outside [default: as `init --strict` recorded]
    #[arg(long)]
    pub strict: bool,
    /// With --strict: also hide this file or directory from the agent (repeatable)
    #[arg(long, value_name = "PATH")]
    pub hide: Vec<PathBuf>,
    /// With --strict: let the agent connect to this Unix socket outside, such as
    /// "$SSH_AUTH_SOCK" for git over ssh (repeatable; none by default)
    #[arg(long = "allow-socket", value_name = "PATH")]
    pub allow_sockets: Vec<PathBuf>,
    /// With --strict: let the agent reach this exact host and port even where strict mode
    /// never connects by itself (loopback, private, link-local, metadata addresses) and
    /// beyond --network allowlist (repeatable)
    #[arg(long = "allow-host", value_name = "HOST:PORT")]
    pub allow_hosts: Vec<String>,
    /// With --strict: which hosts the sandbox's proxy lets out: `public` (any name that
    /// resolves to public addresses) or `allowlist` (AWS endpoints and Kiro's own hosts,
    /// on 443, plus --allow-host) [default: public, or as the managed policy requires]
    #[arg(long, value_enum, value_name = "WHICH")]
    pub network: Option<NetworkArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NetworkArg {
    Public,
    Allowlist,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also check that this machine can run strict mode (bwrap, user namespaces)
    #[arg(long)]
    pub strict: bool,
    /// Print {"ok", "profiles", "findings": [{"code","severity","path","message","fix"}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileArg {
    /// A kiro-* profile of the isolated config [default: the configured default]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Before launching, ask AWS who the profile is (as `whoami`); exit 3 if not as configured
    #[arg(long)]
    pub check_identity: bool,
    #[command(flatten)]
    pub strict: StrictArgs,
    /// The kiro-cli binary [default: $KIRO_AWS_KIRO_CLI, else kiro-cli on PATH]
    #[arg(long, value_name = "PATH")]
    pub kiro_cli: Option<PathBuf>,
    /// Passed to `kiro-cli chat` unchanged
    #[arg(last = true, value_name = "KIRO_CLI_ARGS")]
    pub args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    #[command(flatten)]
    pub strict: StrictArgs,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    Sh,
    Fish,
    Json,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// sh and fish print commands to eval; json prints {"set": {...}, "unset": [...]}
    #[arg(long, value_enum, default_value = "sh")]
    pub format: EnvFormat,
}

#[derive(Debug, Args)]
pub struct IdeArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The Kiro IDE launcher [default: $KIRO_AWS_KIRO_IDE, else kiro on PATH]
    #[arg(long, value_name = "PATH")]
    pub kiro_ide: Option<PathBuf>,
    /// Passed to the launcher unchanged
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// A kiro-* profile of the isolated config [default: the configured default]
    #[arg(long, value_name = "NAME", conflicts_with = "all")]
    pub profile: Option<String>,
    /// Every profile of the isolated config, all at once
    #[arg(long)]
    pub all: bool,
    /// Seconds to wait for AWS
    #[arg(long, value_name = "SECONDS", default_value_t = shared::DEFAULT_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
    /// Print {"ok", "profiles": [{"profile", "ok", "account", "arn", "role", "user", "source", "findings"}]}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Sign in for this profile's sso-session [default: the default profile's]
    #[arg(long, value_name = "NAME", conflicts_with = "sso_session")]
    pub profile: Option<String>,
    /// Sign in for this sso-session (of the isolated config, or of --sso-start-url)
    #[arg(long, value_name = "NAME")]
    pub sso_session: Option<String>,
    /// IAM Identity Center start URL, to sign in before any profile exists
    #[arg(
        long,
        value_name = "URL",
        requires = "sso_region",
        conflicts_with = "profile"
    )]
    pub sso_start_url: Option<String>,
    /// Region of IAM Identity Center, with --sso-start-url
    #[arg(long, value_name = "REGION", requires = "sso_start_url")]
    pub sso_region: Option<String>,
    /// Show the URL and code only; do not open a browser
    #[arg(long)]
    pub no_browser: bool,
    /// Print {"ok", "sso_session", "start_url", "region", "cache_file", "expires_at"}
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// The CloudTrail Lake SQL query
    Sql,
    /// The `aws cloudtrail lookup-events` commands
    Cli,
    /// With --run: a table
    Table,
    /// The queries, or with --run the events, as JSON
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Start of the window: a duration back from --until (30m, 24h, 7d, 2w) or a UTC time
    #[arg(long, value_name = "DURATION|TIME", default_value = "24h")]
    pub since: String,
    /// End of the window, a UTC time like 2026-11-21T09:00:00Z [default: now]
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Output [default: sql and cli; with --run: table]
    #[arg(long, value_enum)]
    pub format: Option<AuditFormat>,
    /// Call CloudTrail LookupEvents now and print the agent's events
    #[arg(long)]
    pub run: bool,
    /// With --run: the profile to call CloudTrail with [default: the configured default]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The CloudTrail Lake event data store ID for the SQL query's FROM
    #[arg(long, value_name = "ID", default_value = "EVENT_DATA_STORE_ID")]
    pub event_data_store: String,
    /// With --run: stop after this many events (newest first)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_events: usize,
    /// With --run: seconds to wait for AWS
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
}

const POLICY_ABOUT: &str = "\
Print the role kit: the IAM Identity Center permission sets the roles of the isolated \
config need, for an administrator to deploy.

One permission set per distinct sso_role_name, named after it (Identity Center makes it \
the role AWSReservedSSO_<name>_<hex> in each account the profiles name). A set is for \
writing when a -write profile uses its role, else read-only.
  read-only: ReadOnlyAccess (ViewOnlyAccess with --view-only), and an inline deny of the \
data-plane reads that hand out secrets, credentials or customer data (data/iam-data-reads.json).
  write: PowerUserAccess (or --write-policy), and an inline deny of privilege escalation \
(IAM principals, policies, keys and trust; iam:PassRole outside --pass-role-path; Identity \
Center, Organizations, account settings) and of the same data reads.
--boundary adds the customer-managed policy KiroAgentBoundary (path /) as both sets' \
permissions boundary; the template deploys it to every account of --target-ou with a \
service-managed StackSet.

--format json (the default) prints {\"permission_sets\": [{\"name\", \"access\", \
\"managed_policies\", \"inline_policy\", \"boundary\", \"accounts\"}]}. --format cloudformation \
prints one template for the management (or delegated administrator) account: the \
permission sets, an assignment per account to one principal (the parameters InstanceArn, \
PrincipalType, PrincipalId, whose defaults the flags set), the StackSet and the extras. \
Deploy it with:
  aws cloudformation deploy --template-file kiro-kit.json --stack-name kiro-agent-roles \\
    --capabilities CAPABILITY_NAMED_IAM \\
    --parameter-overrides InstanceArn=arn:aws:sso:::instance/ssoins-... \\
      PrincipalType=GROUP PrincipalId=...
(the parameter overrides only where the flags did not set the defaults)";

const POLICY_EXAMPLES: &str = "\
Examples:
  kiro-aws policy
  kiro-aws policy --format cloudformation --boundary --target-ou ou-ab12-cd34ef56 \\
    --instance-arn arn:aws:sso:::instance/ssoins-0123456789abcdef \\
    --principal-type GROUP --principal-id 906715c1-1f21-4d9c-9d3a-2b5f0e6a7c8d \\
    --session-duration 8h > kiro-kit.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Json,
    #[value(name = "cloudformation")]
    CloudFormation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrincipalTypeArg {
    #[value(name = "GROUP")]
    Group,
    #[value(name = "USER")]
    User,
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// json: the documents; cloudformation: one template for the management account
    #[arg(long, value_enum, default_value = "json")]
    pub format: PolicyFormat,
    /// Read-only sets get ViewOnlyAccess (metadata only) in place of ReadOnlyAccess
    #[arg(long)]
    pub view_only: bool,
    /// The managed policy of write sets [default: arn:aws:iam::aws:policy/PowerUserAccess]
    #[arg(long, value_name = "ARN")]
    pub write_policy: Option<String>,
    /// Write sets may pass only the roles under this IAM path
    #[arg(long, value_name = "PATH", default_value = crate::kit::DEFAULT_PASS_ROLE_PATH)]
    pub pass_role_path: String,
    /// The IAM Identity Center instance (the template's InstanceArn default)
    #[arg(long, value_name = "ARN")]
    pub instance_arn: Option<String>,
    /// Assign the sets to a GROUP or a USER (the template's PrincipalType default)
    #[arg(long, value_enum, value_name = "GROUP|USER")]
    pub principal_type: Option<PrincipalTypeArg>,
    /// The identity store id of that group or user (the template's PrincipalId default)
    #[arg(long, value_name = "ID")]
    pub principal_id: Option<String>,
    /// Cap both sets with the customer-managed policy KiroAgentBoundary
    #[arg(long)]
    pub boundary: bool,
    /// With --boundary: an OU (or root) the StackSet deploys the boundary to (repeatable)
    #[arg(long = "target-ou", value_name = "OU_ID", requires = "boundary")]
    pub target_ous: Vec<String>,
    /// How long a session lasts, 1 to 12 hours: PT8H, PT90M, 8h, 90m [default: Identity Center's, 1 h]
    #[arg(long, value_name = "DURATION")]
    pub session_duration: Option<String>,
    /// Also the policy of the person who sets Kiro up and manages its subscriptions
    #[arg(long)]
    pub kiro_admin_policy: bool,
    /// Also the two KMS key-policy statements for an Identity Center instance encrypted with
    /// a customer-managed key (needs --instance-arn, --identity-store-id, --sso-region,
    /// --identity-store-account)
    #[arg(long)]
    pub kms_key_policy: bool,
    /// With --kms-key-policy: the identity store (d-xxxxxxxxxx)
    #[arg(long, value_name = "ID", requires = "kms_key_policy")]
    pub identity_store_id: Option<String>,
    /// With --kms-key-policy: the region of IAM Identity Center
    #[arg(long, value_name = "REGION", requires = "kms_key_policy")]
    pub sso_region: Option<String>,
    /// With --kms-key-policy: the account that holds the identity store
    #[arg(long, value_name = "ACCOUNT_ID", requires = "kms_key_policy")]
    pub identity_store_account: Option<String>,
    /// Also a role a usage-analytics connector assumes to read Kiro's usage reports
    /// (needs --reports-bucket and --external-id)
    #[arg(long)]
    pub usage_reports_role: bool,
    /// With --usage-reports-role: the bucket Kiro exports its usage reports to
    #[arg(long, value_name = "NAME", requires = "usage_reports_role")]
    pub reports_bucket: Option<String>,
    /// With --usage-reports-role: the external id the connector shows
    #[arg(long, value_name = "ID", requires = "usage_reports_role")]
    pub external_id: Option<String>,
    /// With --usage-reports-role: who assumes the role [default: DX's arn:aws:iam::703671904508:role/dx-datacloud]
    #[arg(long, value_name = "ARN", requires = "usage_reports_role")]
    pub analytics_principal: Option<String>,
}

impl From<PolicyArgs> for policy::Request {
    fn from(args: PolicyArgs) -> Self {
        policy::Request {
            format: match args.format {
                PolicyFormat::Json => policy::Format::Json,
                PolicyFormat::CloudFormation => policy::Format::CloudFormation,
            },
            flags: crate::kit::Flags {
                view_only: args.view_only,
                write_policy: args.write_policy,
                pass_role_path: Some(args.pass_role_path),
                boundary: args.boundary,
                target_ous: args.target_ous,
                session_duration: args.session_duration,
                instance_arn: args.instance_arn,
                principal_type: args.principal_type.map(|t| match t {
                    PrincipalTypeArg::Group => crate::kit::PrincipalType::Group,
                    PrincipalTypeArg::User => crate::kit::PrincipalType::User,
                }),
                principal_id: args.principal_id,
                kiro_admin_policy: args.kiro_admin_policy,
                kms_key_policy: args.kms_key_policy,
                identity_store_id: args.identity_store_id,
                sso_region: args.sso_region,
                identity_store_account: args.identity_store_account,
                usage_reports_role: args.usage_reports_role,
                reports_bucket: args.reports_bucket,
                external_id: args.external_id,
                analytics_principal: args.analytics_principal,
            },
        }
    }
}

/// What the command line asks for: a command's request, or the completion script (which
/// clap itself writes).
pub enum Parsed {
    Command(Box<Request>),
    Completions(clap_complete::Shell),
}

/// Parse the process's arguments (clap prints help, versions and usage errors itself).
pub fn parse() -> Parsed {
    Cli::parse().into_parsed()
}

/// Write the completion script for `shell` to stdout.
pub fn write_completions(shell: clap_complete::Shell) {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "kiro-aws",
        &mut std::io::stdout(),
    );
}

impl Cli {
    fn into_parsed(self) -> Parsed {
        let request = match self.command.unwrap_or(Command::Chat(self.chat)) {
            Command::Init(args) => Request::Init(args.into()),
            Command::Verify(args) => Request::Verify(verify::Request {
                json: args.json,
                strict: args.strict,
            }),
            Command::Chat(args) => Request::Launch(launch::Request {
                profile: args.profile.profile,
                strict: Some(args.strict.into()),
                target: launch::Target::Chat {
                    kiro_cli: args.kiro_cli,
                    args: args.args,
                    check_identity: args.check_identity,
                },
            }),
            Command::Run(args) => Request::Launch(launch::Request {
                profile: args.profile.profile,
                strict: Some(args.strict.into()),
                target: launch::Target::Run {
                    command: args.command,
                },
            }),
            Command::Ide(args) => Request::Launch(launch::Request {
                profile: args.profile.profile,
                strict: None,
                target: launch::Target::Ide {
                    kiro_ide: args.kiro_ide,
                    args: args.args,
                },
            }),
            Command::Env(args) => Request::Env(env::Request {
                profile: args.profile.profile,
                format: match args.format {
                    EnvFormat::Sh => env::Format::Sh,
                    EnvFormat::Fish => env::Format::Fish,
                    EnvFormat::Json => env::Format::Json,
                },
            }),
            Command::Whoami(args) => Request::Whoami(whoami::Request {
                profile: args.profile,
                all: args.all,
                timeout_secs: args.timeout,
                json: args.json,
            }),
            Command::Login(args) => Request::Login(login::Request {
                profile: args.profile,
                sso_session: args.sso_session,
                sso: args.sso_start_url.zip(args.sso_region),
                no_browser: args.no_browser,
                json: args.json,
            }),
            Command::Audit(args) => Request::Audit(audit::Request {
                since: args.since,
                until: args.until,
                format: args.format.map(|f| match f {
                    AuditFormat::Sql => audit::Format::Sql,
                    AuditFormat::Cli => audit::Format::Cli,
                    AuditFormat::Table => audit::Format::Table,
                    AuditFormat::Json => audit::Format::Json,
                }),
                run: args.run,
                profile: args.profile,
                event_data_store: args.event_data_store,
                max_events: args.max_events,
                timeout_secs: args.timeout,
            }),
            Command::Policy(args) => Request::Policy((*args).into()),
            Command::Hook => Request::Hook,
            Command::Probe => Request::Probe,
            Command::SandboxExec {
                bridge,
                reach,
                argv,
            } => Request::SandboxExec {
                bridge,
                reach,
                argv,
            },
            Command::Connect { host, port } => Request::Connect { host, port },
            Command::CredentialProcess {
                socket,
                secret_file,
                profile,
            } => Request::CredentialProcess {
                socket,
                secret_file,
                profile,
            },
            Command::Completions { shell } => return Parsed::Completions(shell),
        };
        Parsed::Command(Box::new(request))
    }
}

impl From<InitArgs> for init::Request {
    fn from(args: InitArgs) -> Self {
        init::Request {
            sources: Sources {
                sso: args.sso_start_url.zip(args.sso_region),
                sso_session: args.sso_session,
                profiles: args.profiles,
                region: args.region,
                default_profile: args.default_profile,
                from: args.from,
                strict: if args.strict {
                    Some(true)
                } else if args.no_strict {
                    Some(false)
                } else {
                    None
                },
                write_tool: args.allow_write_tool,
                allow_roles: args.allow_roles,
            },
            discover: args.discover.then(|| init::Discover {
                role_patterns: if args.role_patterns.is_empty() {
                    vec![crate::sso::discover::DEFAULT_ROLE_PATTERN.to_owned()]
                } else {
                    args.role_patterns
                },
                account_patterns: args.account_patterns,
                name_template: args.name_template,
                prune: args.prune,
                max_rps: args.max_rps,
            }),
            dry_run: args.dry_run,
            force: args.force,
            json: args.json,
        }
    }
}

impl From<StrictArgs> for launch::Strict {
    fn from(args: StrictArgs) -> Self {
        launch::Strict {
            on: args.strict,
            hide: args.hide,
            allow_sockets: args.allow_sockets,
            allow_hosts: args.allow_hosts,
            network: args.network.map(|n| match n {
                NetworkArg::Public => crate::network::Network::Public,
                NetworkArg::Allowlist => crate::network::Network::Allowlist,
            }),
        }
    }
}
