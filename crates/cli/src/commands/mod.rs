//! One module per subcommand.

mod api_key;
mod bench;
mod bench_http;
mod decode;
mod import;
mod pki_init;
mod serve;
mod sign;
mod verify;

use std::process::ExitCode;

use crate::args::{ApiKeyCommand, Cli, Command, ImportCommand, PkiCommand};

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
        Command::Bench(args) => bench::run(&args),
        Command::ApiKey(ApiKeyCommand::Create(args)) => api_key::create(&args),
        Command::ApiKey(ApiKeyCommand::Revoke(args)) => api_key::revoke(&args),
    }
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
