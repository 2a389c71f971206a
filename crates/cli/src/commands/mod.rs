//! One module per subcommand.

mod api_key;
mod bench;
mod bench_http;
mod brand;
pub(crate) mod campaigns;
mod decode;
mod import;
mod pki_init;
mod serve;
mod sign;
mod verify;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use server::config::{Config, StorageKind};
use store::Store;

use crate::args::{
    ApiKeyCommand, BrandCommand, BrandNumbersCommand, BrandPartnerCommand, Cli, Command,
    ImportCommand, PkiCommand,
};

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Pki(PkiCommand::Init(args)) => pki_init::run(&args),
        Command::Sign(args) => sign::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Decode(args) => decode::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::CheckConfig(args) => serve::check(&args),
        Command::Import(ImportCommand::Numbers(args)) => import::run(&args),
        Command::Import(ImportCommand::Dno(args)) => import::dno(&args),
        Command::Import(ImportCommand::OptOuts(args)) => import::opt_outs(&args),
        Command::Brand(command) => match command {
            BrandCommand::Create(args) => brand::create(&args),
            BrandCommand::Update(args) => brand::update(&args),
            BrandCommand::Show(args) => brand::show(&args),
            BrandCommand::List(args) => brand::list(&args),
            BrandCommand::Logo(args) => brand::logo(&args),
            BrandCommand::Numbers(BrandNumbersCommand::Add(args)) => brand::numbers(&args, true),
            BrandCommand::Numbers(BrandNumbersCommand::Remove(args)) => {
                brand::numbers(&args, false)
            }
            BrandCommand::Partner(BrandPartnerCommand::Add(args)) => brand::partner_add(&args),
            BrandCommand::Partner(BrandPartnerCommand::Revoke(args)) => {
                brand::partner_revoke(&args)
            }
            BrandCommand::Partner(BrandPartnerCommand::List(args)) => brand::partner_list(&args),
            BrandCommand::Events(args) => brand::events(&args),
        },
        Command::Bench(args) => bench::run(&args),
        Command::Campaigns(command) => campaigns::run(&command),
        Command::ApiKey(ApiKeyCommand::Create(args)) => api_key::create(&args),
        Command::ApiKey(ApiKeyCommand::Revoke(args)) => api_key::revoke(&args),
    }
}

/// The configuration (file and CALLPROOF_* environment) naming the storage.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    Config::load(path, std::env::vars()).context("configuration")
}

/// The runtime the storage commands run their few queries on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")
}

/// Opens the storage the configuration names, as `serve` does (creating the SQLite file's
/// directory if need be): running nodes see what is written by polling it.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    if config.storage.kind == StorageKind::Sqlite
        && let Some(dir) = config
            .sqlite_path()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    server::node::open_store(config)
        .await
        .context("cannot open the storage")
}

/// The current Unix time.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Writes one line to stdout; a closed pipe is not an error worth a panic.
pub(crate) fn print_line(line: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
