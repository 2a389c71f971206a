//! The `callproof` command line: `pki init`, `sign`, `verify`, `decode`.
//!
//! Each subcommand has one `Args` struct (clap derive) and one module under `commands`.
//! Errors are `anyhow` chains printed once by [`main`], which maps outcomes to exit codes:
//! 0 success, 1 verification failed, 2 usage or input error.

mod args;
mod commands;
mod files;

use std::process::ExitCode;

use clap::Parser as _;

pub use args::Cli;

/// Exit code when a verification ran and did not pass.
pub const EXIT_NOT_VERIFIED: u8 = 1;
/// Exit code for usage errors and unusable input (files, keys, URLs).
pub const EXIT_USAGE: u8 = 2;

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
