//! Command-line arguments, one struct per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// callproof: STIR/SHAKEN signing and verification, verified caller identity for brands.
#[derive(Debug, Parser)]
#[command(name = "callproof", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with STI certificates.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Sign a call: print the Identity header value(s) for it, one per line.
    Sign(SignArgs),
    /// Verify Identity header(s) and print the ATIS-1000082 verificationResponse.
    ///
    /// Exit status: 0 when TN-Validation-Passed, 1 otherwise, 2 on a usage error.
    Verify(VerifyArgs),
    /// Print the header and claims of a PASSporT or Identity header, without verifying it.
    Decode(DecodeArgs),
    /// Run the signing and verification services (REST, SIP) until SIGTERM or Ctrl-C.
    ///
    /// With no configuration it runs on embedded defaults under ./callproof-data: SQLite, a
    /// generated development PKI, REST on 127.0.0.1:8080, SIP signing on 127.0.0.1:5060 and
    /// verification on 127.0.0.1:5062.
    Serve(ServeArgs),
    /// Load and check a configuration file (and the CALLPROOF_* environment), then exit.
    CheckConfig(ServeArgs),
    /// Load the inventory, the Do-Not-Originate list or opt-outs from files, straight into
    /// the configured storage.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Manage brands (verified name, logo and call reasons; listed and inbound-only numbers;
    /// partners) straight in the configured storage, as the /v1/brands admin API does.
    ///
    /// Running nodes pick every change up within a second (they poll the brand policy).
    #[command(subcommand)]
    Brand(BrandCommand),
    /// Manage API keys directly in the configured storage (the way to create the first
    /// admin key of a production node).
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Drive load against a running server and report throughput, latency and the ratio to
    /// the raw ECDSA ceiling measured in this process.
    Bench(BenchArgs),
    /// Detect robocall and impersonation campaigns in a CSV of calls: score against reference
    /// labels, print the campaigns, or benchmark at scale.
    #[command(subcommand)]
    Campaigns(crate::commands::campaigns::CampaignsCommand),
}

/// `callproof api-key ...`.
#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (once: only its hash is stored).
    Create(ApiKeyCreateArgs),
    /// Revoke a key by id; nodes stop accepting it within their poll period.
    Revoke(ApiKeyRevokeArgs),
}

/// `callproof api-key create`.
#[derive(Debug, Args)]
pub struct ApiKeyCreateArgs {
    /// A label for the key (e.g. the SBC or the person it is for).
    #[arg(long)]
    pub name: String,
    /// The customer the key acts for; leave out for an operator (admin) key.
    #[arg(long)]
    pub customer: Option<String>,
    /// What the key may do: sign, verify, admin (repeat or comma-separate).
    #[arg(long = "scope", value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// The node's configuration (for its storage).
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `callproof api-key revoke`.
#[derive(Debug, Args)]
pub struct ApiKeyRevokeArgs {
    /// The key's id (as `create` printed it).
    pub id: i64,
    /// The node's configuration (for its storage).
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
}

/// What `callproof bench` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchMode {
    /// ATIS REST signing (`POST /stir/v1/signing`).
    RestSign,
    /// ATIS REST verification (`POST /stir/v1/verification`).
    RestVerify,
    /// SIP signing over UDP (INVITE -> 302 with Identity).
    SipSign,
    /// SIP verification over UDP (INVITE with Identity -> 302 with verstat).
    SipVerify,
    /// The same PASSporTs verified by Debian's secsipidx HTTP server (`secsipidx -http-srv`,
    /// `POST /v1/check`), for a side-by-side figure. `--target` is secsipidx; PASSporTs are
    /// signed through `--signer`.
    SecsipidxVerify,
    /// Customers' call checks (`POST /v1/check`) for `--brand`: a share of them
    /// (`--registered-share`) on calls the bench registered first, which must answer
    /// "calling-now", the rest on random called numbers, which must answer "not-us"; each
    /// from one of `--clients` addresses sent in `X-Forwarded-For` (start the server with
    /// `[check] trusted_proxies` holding the bench's address, e.g. 127.0.0.0/8). A 429 or a
    /// wrong answer is an error. The ratio is to the raw ES256 *sign* ceiling: a check signs
    /// nothing, so it says how many checks the CPU time of one signature buys.
    Check,
}

/// `callproof bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to drive.
    #[arg(long, value_enum)]
    pub mode: BenchMode,
    /// The server's REST base URL (also used to obtain PASSporTs for verification runs).
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub target: String,
    /// The callproof REST base URL that signs the PASSporTs of a secsipidx-verify run.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub signer: String,
    /// The SIP service address. Default: 127.0.0.1:5060 for sip-sign, 127.0.0.1:5062 for
    /// sip-verify.
    #[arg(long, value_name = "ADDR")]
    pub sip: Option<std::net::SocketAddr>,
    /// Concurrent connections (REST) or sockets (SIP), each with one request in flight.
    #[arg(long, short = 'c', default_value_t = 32)]
    pub connections: usize,
    /// Seconds to measure (after a one-second warm-up). At most 40: verification PASSporTs
    /// must stay fresh.
    #[arg(long, short = 'd', default_value_t = 10)]
    pub duration: u64,
    /// Total requests per second to offer (open loop: a request held back by a late answer
    /// counts its latency from when it was due). Default: as fast as the connections go
    /// (closed loop).
    #[arg(long)]
    pub rate: Option<u64>,
    /// REST requests each connection sends at once (HTTP/1.1 pipelining); 1: none.
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// API key for the REST API (development mode on loopback needs none).
    #[arg(long, env = "CALLPROOF_API_KEY")]
    pub api_key: Option<String>,
    /// Calling number used.
    #[arg(long, default_value = "12155551212")]
    pub orig: String,
    /// Called number used.
    #[arg(long, default_value = "12125551213")]
    pub dest: String,
    /// A brand's call reason (its code or text) sent with each REST signing (ATIS
    /// `callReason`): with `--orig` on a brand's listed numbers, calls are signed (and, for
    /// verification runs, verified) with Rich Call Data.
    #[arg(long)]
    pub call_reason: Option<String>,
    /// Cores the server uses, for the ceiling. Default: this machine's.
    #[arg(long)]
    pub server_cores: Option<usize>,
    /// The CPU the server runs on (as with `taskset -c`): the per-core ceiling is measured
    /// there, before and after the load, by a thread of this process pinned to it. Default:
    /// measured on the load generator's own CPU.
    #[arg(long, value_name = "CPU")]
    pub server_cpu: Option<usize>,
    /// The brand checked by `--mode check`. Created for the development customer if absent,
    /// with the listed numbers +12155559000..+12155559099.
    #[arg(long, default_value = "bench-bank", value_name = "SLUG")]
    pub brand: String,
    /// Calls `--mode check` registers before timing (`POST /v1/brands/{slug}/calls`), each
    /// to a fresh random number. The checks of registered pairs go round them evenly, so
    /// each pair is checked about rate x share x seconds / N times a run: more than the
    /// server's `[check] per_number_per_minute` turns into 429s (scripts/bench-check raises
    /// that limit; the counter is bumped all the same).
    #[arg(long, default_value_t = 2_000, value_name = "N")]
    pub registered: usize,
    /// The share of `--mode check` requests on registered pairs (answer "calling-now"); the
    /// rest ask about random called numbers (answer "not-us").
    #[arg(long, default_value_t = 0.2, value_name = "0..1")]
    pub registered_share: f64,
    /// Distinct client addresses (10.x.y.z) `--mode check` sends in `X-Forwarded-For`, as
    /// many customers reaching the server through a load balancer. Each stays under the
    /// server's `per_client_per_minute` while rate x 60 / N does.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub clients: u32,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `callproof serve` and `callproof check-config`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The TOML configuration (every key is documented in callproof.example.toml).
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `callproof import ...`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Give telephone numbers to customers from a CSV file: the numbers their calls are
    /// signed with attestation A for.
    ///
    /// Each row is `customer,number[,count]`: `count` consecutive numbers from `number`
    /// (default 1), e.g. `Acme,+12155550000,10000`. A first row `customer,number,count` is a
    /// header; blank lines and lines starting with `#` are skipped; a field holding a comma
    /// is written in double quotes.
    ///
    /// The whole file is checked first, and any problem (a bad row, rows overlapping each
    /// other, numbers another customer owns, an unknown customer) is reported with its line
    /// number before anything is written. Then each customer's numbers are added in one
    /// all-or-none step. Rows identical to numbers the customer owns already are skipped, so
    /// the same file can be imported again. Running nodes pick the change up within
    /// storage.inventory_poll_ms.
    Numbers(ImportNumbersArgs),
    /// Replace the national Do-Not-Originate list: numbers that never originate calls, so a
    /// call from one is refused when signing and flagged when verifying.
    ///
    /// Each row is `number[,count]` (or `number:count`): `count` consecutive numbers from
    /// `number` (default 1). A first row `number[,count]` is a header; blank lines and lines
    /// starting with `#` are skipped.
    ///
    /// The whole file is checked first and any bad row is reported with its line number
    /// before anything is written. Duplicate, overlapping and adjacent rows are merged, then
    /// the list is replaced in one all-or-none step. Running nodes pick it up within a second.
    Dno(ImportDnoArgs),
    /// Opt customers' numbers out of a brand's marketing calls (the brand's and its
    /// partners'), recorded with the source `import:<file name>`.
    ///
    /// One number per row; a first row `number` is a header; blank lines and lines starting
    /// with `#` are skipped. The whole file is checked first and any bad row is reported with
    /// its line number before anything is written; then every number is recorded in one
    /// transaction. Numbers already opted out (or repeated) count once; the command prints
    /// how many changed.
    OptOuts(ImportOptOutsArgs),
}

/// The storage a `brand` command works on.
#[derive(Debug, Args)]
pub struct StorageArgs {
    /// The TOML configuration naming the storage (as for `serve`). Default: embedded
    /// defaults, i.e. SQLite under ./callproof-data.
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
}

/// `callproof brand ...`.
#[derive(Debug, Subcommand)]
pub enum BrandCommand {
    /// Register a brand for a customer account (the account that signs its calls).
    Create(BrandCreateArgs),
    /// Replace a brand's names, call reasons and never-ask list with the ones given (give
    /// every reason again: those left out are dropped). Its slug, customer and logo stay.
    Update(BrandUpdateArgs),
    /// Show a brand with its numbers.
    Show(BrandShowArgs),
    /// List the brands.
    List(BrandListArgs),
    /// Set a brand's logo (shown on phones through rcd, with an rcdi digest over its bytes).
    ///
    /// The type comes from the file's extension: .png, .jpg/.jpeg, .webp or .svg; the file
    /// must hold such an image and be at most 256 KiB.
    Logo(BrandLogoArgs),
    /// Add or remove a brand's listed (outbound) or inbound-only (Do-Not-Originate) numbers.
    #[command(subcommand)]
    Numbers(BrandNumbersCommand),
    /// Authorise call centres and resellers to call in a brand's name.
    #[command(subcommand)]
    Partner(BrandPartnerCommand),
    /// Show what a brand's security team sees, newest first: refused signings,
    /// Do-Not-Originate hits, spoofing evidence.
    Events(BrandEventsArgs),
}

/// A brand's fields, as `create` and `update` take them.
#[derive(Debug, Args)]
pub struct BrandFieldArgs {
    /// The registered legal name.
    #[arg(long, value_name = "NAME")]
    pub legal_name: String,
    /// The name shown on the phone: 1 to 32 printable characters.
    #[arg(long, value_name = "NAME")]
    pub display_name: String,
    /// A reason the brand calls for, shown on the phone: a code of 1 to 32 of a-z, 0-9 and
    /// '-', the text shown (at most 64 characters), and `:marketing` for marketing calls
    /// (refused to numbers that opted out). Repeat for several, e.g.
    /// `--reason "fraud-alert:Card fraud alert" --reason "offers:Our offers:marketing"`.
    #[arg(long = "reason", value_name = "CODE:TEXT[:marketing]")]
    pub reasons: Vec<String>,
    /// Something the brand never asks for on a call, e.g. "your PIN". Repeat for several.
    #[arg(long = "never-ask", value_name = "TEXT")]
    pub never_ask: Vec<String>,
    /// The number customers should call back on, shown when a call check says "not us",
    /// e.g. +18005550199.
    #[arg(long, value_name = "NUMBER")]
    pub callback: Option<String>,
}

/// `callproof brand create`.
#[derive(Debug, Args)]
pub struct BrandCreateArgs {
    /// The brand's slug in URLs: 1 to 48 of a-z, 0-9 and '-', e.g. acme-bank.
    #[arg(long, value_name = "SLUG")]
    pub slug: String,
    /// The customer account the brand belongs to (it must exist).
    #[arg(long, value_name = "NAME")]
    pub customer: String,
    /// The brand's fields.
    #[command(flatten)]
    pub fields: BrandFieldArgs,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand update`.
#[derive(Debug, Args)]
pub struct BrandUpdateArgs {
    /// The brand's slug.
    #[arg(long, value_name = "SLUG")]
    pub slug: String,
    /// The brand's new fields.
    #[command(flatten)]
    pub fields: BrandFieldArgs,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand show`.
#[derive(Debug, Args)]
pub struct BrandShowArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// Print JSON (as `GET /v1/brands/{slug}` shows it, with the customer and times).
    #[arg(long)]
    pub json: bool,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand list`.
#[derive(Debug, Args)]
pub struct BrandListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand logo`.
#[derive(Debug, Args)]
pub struct BrandLogoArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// The image: .png, .jpg/.jpeg, .webp or .svg, at most 256 KiB.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Which of a brand's number lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BrandNumberKindArg {
    /// Numbers the brand calls from (published; a call from one is signed with its name).
    Listed,
    /// Numbers that only receive calls: a call from one is refused and flagged.
    #[value(alias = "inbound_only")]
    InboundOnly,
}

/// `callproof brand numbers ...`.
#[derive(Debug, Subcommand)]
pub enum BrandNumbersCommand {
    /// Add blocks to a list, all or none. A block overlapping any brand's numbers is refused;
    /// one already on this list is skipped, so the same command can run again.
    Add(BrandNumbersArgs),
    /// Remove blocks from a list, each exactly as it was added; all or none.
    Remove(BrandNumbersArgs),
}

/// `callproof brand numbers add|remove`.
#[derive(Debug, Args)]
pub struct BrandNumbersArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// Which list.
    #[arg(long, value_enum)]
    pub kind: BrandNumberKindArg,
    /// Blocks: `NUMBER:COUNT` (COUNT consecutive numbers from NUMBER, e.g.
    /// +12155550000:100) or a single NUMBER.
    #[arg(value_name = "BLOCK", required = true)]
    pub blocks: Vec<String>,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand partner ...`.
#[derive(Debug, Subcommand)]
pub enum BrandPartnerCommand {
    /// Authorise a customer account (a call centre, a reseller) to call in the brand's name
    /// from some of its listed numbers, for some of its reasons, for a while. Prints the
    /// partner's id.
    Add(PartnerAddArgs),
    /// Revoke a partner: every node refuses its calls for the brand within 5 s.
    Revoke(PartnerRevokeArgs),
    /// List a brand's partners, revoked and expired ones too.
    List(PartnerListArgs),
}

/// `callproof brand partner add`.
#[derive(Debug, Args)]
pub struct PartnerAddArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// The partner's own customer account (not the brand's).
    #[arg(long, value_name = "NAME")]
    pub customer: String,
    /// The brand's listed numbers it may call from: `NUMBER:COUNT` blocks or single numbers
    /// (space- or comma-separated, or repeat the option).
    #[arg(
        long,
        value_name = "BLOCK",
        num_args = 1..,
        value_delimiter = ',',
        required = true
    )]
    pub numbers: Vec<String>,
    /// A call reason code of the brand it may use (repeat for several). Default: any.
    #[arg(long = "reason", value_name = "CODE")]
    pub reasons: Vec<String>,
    /// When the authorisation starts: RFC 3339 (2025-01-31T09:00:00Z) or Unix seconds.
    /// Default: now.
    #[arg(long, value_name = "RFC3339|UNIX")]
    pub valid_from: Option<String>,
    /// When it ends (exclusive): RFC 3339 or Unix seconds. Default: never.
    #[arg(long, value_name = "RFC3339|UNIX")]
    pub valid_until: Option<String>,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand partner revoke`.
#[derive(Debug, Args)]
pub struct PartnerRevokeArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// The partner's id (as `partner add` and `partner list` print it).
    #[arg(value_name = "ID")]
    pub id: i64,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand partner list`.
#[derive(Debug, Args)]
pub struct PartnerListArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof brand events`.
#[derive(Debug, Args)]
pub struct BrandEventsArgs {
    /// The brand's slug.
    #[arg(value_name = "SLUG")]
    pub slug: String,
    /// How many events at most (1 to 1000).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Only events older than this sequence number (for paging: the last `seq` shown).
    #[arg(long, value_name = "SEQ")]
    pub before: Option<i64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// The storage.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// `callproof import dno`.
#[derive(Debug, Args)]
pub struct ImportDnoArgs {
    /// The CSV file (`-` for standard input).
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// The TOML configuration naming the storage (as for `serve`). Default: embedded
    /// defaults, i.e. SQLite under ./callproof-data.
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Accept a file with no numbers: it empties the list.
    #[arg(long)]
    pub allow_empty: bool,
}

/// `callproof import opt-outs`.
#[derive(Debug, Args)]
pub struct ImportOptOutsArgs {
    /// The brand whose marketing calls the numbers opt out of (its slug).
    #[arg(long, value_name = "SLUG")]
    pub brand: String,
    /// The CSV file (`-` for standard input).
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// The TOML configuration naming the storage (as for `serve`). Default: embedded
    /// defaults, i.e. SQLite under ./callproof-data.
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Opt the numbers back in instead.
    #[arg(long)]
    pub opt_in: bool,
}

/// `callproof import numbers`.
#[derive(Debug, Args)]
pub struct ImportNumbersArgs {
    /// The CSV file (`-` for standard input).
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// The TOML configuration naming the storage (as for `serve`). Default: embedded
    /// defaults, i.e. SQLite under ./callproof-data.
    #[arg(long, short, value_name = "FILE", env = "CALLPROOF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Create the customers the file names that do not exist yet (with a new origid).
    #[arg(long)]
    pub create_customers: bool,
    /// Check the file against the storage and print what would be imported; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `callproof pki ...`.
#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a development PKI: a root, an intermediate and a service-provider certificate
    /// with its key. For tests and demos only; production certificates come from an STI-CA.
    Init(PkiInitArgs),
}

/// `callproof pki init`.
#[derive(Debug, Args)]
pub struct PkiInitArgs {
    /// Directory to write root.pem, intermediate.pem, sp.pem, sp-key.pem (mode 0600) and
    /// chain.pem (leaf + intermediate, as served at an x5u URL). Created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Service Provider Code for the TNAuthList (ATIS-1000080), e.g. 709J.
    /// Default: 1234, unless --tn-range is given.
    #[arg(long, value_name = "CODE")]
    pub spc: Option<String>,
    /// A telephone-number range for the TNAuthList, as START:COUNT (e.g. 12155550000:10000).
    /// Repeat for several ranges; combine with --spc for both.
    #[arg(long = "tn-range", value_name = "START:COUNT")]
    pub tn_ranges: Vec<String>,
    /// Days the certificates are valid for.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    pub days: u32,
    /// Overwrite existing files in DIR.
    #[arg(long)]
    pub force: bool,
}

/// `callproof sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signing key: PKCS#8 or SEC1 PEM, readable by its owner only.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// URL where verifiers fetch the certificate chain (x5u and info).
    #[arg(long, value_name = "URL")]
    pub x5u: String,
    /// Calling number, e.g. +12155551212.
    #[arg(long, value_name = "TN")]
    pub orig: String,
    /// Called number(s), comma-separated.
    #[arg(
        long,
        value_name = "TN[,TN...]",
        value_delimiter = ',',
        required = true
    )]
    pub dest: Vec<String>,
    /// Attestation level: A (full), B (partial) or C (gateway).
    #[arg(long, value_name = "A|B|C")]
    pub attest: passport::claims::Attestation,
    /// Origination identifier (UUID). Default: a random UUID.
    #[arg(long, value_name = "UUID")]
    pub origid: Option<String>,
    /// Issued-at time, Unix seconds. Default: now.
    #[arg(long, value_name = "UNIX")]
    pub iat: Option<i64>,
    /// Rich Call Data: the caller's display name (rcd nam).
    #[arg(long, value_name = "NAME")]
    pub rcd_name: Option<String>,
    /// Rich Call Data: URL of the caller's logo (rcd icn). Needs --rcd-name: an rcd claim
    /// always names the caller.
    #[arg(long, value_name = "URL", requires = "rcd_name")]
    pub rcd_logo: Option<String>,
    /// Rich Call Data: the logo's bytes, to add an rcdi integrity digest over it.
    #[arg(long, value_name = "FILE", requires = "rcd_logo")]
    pub rcd_logo_file: Option<PathBuf>,
    /// Rich Call Data: the call reason (crn).
    #[arg(long, value_name = "TEXT")]
    pub rcd_reason: Option<String>,
}

/// `callproof verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// An Identity header value. Repeat for several (shaken, div, rcd).
    #[arg(long, value_name = "VALUE", required = true)]
    pub identity: Vec<String>,
    /// The calling number (From / P-Asserted-Identity).
    #[arg(long, value_name = "TN")]
    pub from: String,
    /// The called number(s), comma-separated.
    #[arg(
        long,
        value_name = "TN[,TN...]",
        value_delimiter = ',',
        required = true
    )]
    pub to: Vec<String>,
    /// STI-CA trust anchors: a PEM bundle, or a directory of PEM files.
    #[arg(long, value_name = "FILE|DIR")]
    pub trust_anchors: PathBuf,
    /// The verifier's "now", Unix seconds, for iat freshness and certificate validity.
    /// Default: the clock.
    #[arg(long, value_name = "UNIX")]
    pub at: Option<i64>,
    /// Use a local file for a certificate URL instead of fetching it (repeatable).
    #[arg(long = "cert", value_name = "URL=FILE")]
    pub certs: Vec<String>,
    /// A CRL (PEM or DER) to check the chain against (repeatable).
    #[arg(long = "crl", value_name = "FILE")]
    pub crls: Vec<PathBuf>,
    /// An extra TLS root (PEM) for fetching x5u over HTTPS.
    #[arg(long, value_name = "FILE")]
    pub x5u_tls_ca: Option<PathBuf>,
    /// Seconds an iat may be old (and ahead, for clock skew).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub max_age: i64,
    /// DANGER: fetch x5u over plain http.
    #[arg(long)]
    pub danger_allow_http_x5u: bool,
    /// DANGER: fetch x5u from loopback and private addresses.
    #[arg(long)]
    pub danger_allow_private_x5u: bool,
    /// Add a "detail" object: attest, origid, certificate subject, SPC, rcd, per identity.
    #[arg(long)]
    pub detail: bool,
}

/// `callproof decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// A PASSporT (compact JWS) or a whole Identity header value.
    #[arg(value_name = "VALUE")]
    pub value: String,
}
