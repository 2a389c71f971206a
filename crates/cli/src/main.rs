//! The `callproof` binary: parses the command line and hands over to the library.

/// mimalloc: the SIP and HTTP paths allocate per request, and glibc's malloc showed as a
/// sixth of the CPU time of SIP signing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
