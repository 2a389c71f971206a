//! `callproof serve` and `callproof check-config`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use server::config::Config;
use server::node::Node;

use crate::args::ServeArgs;

/// How long a stopping node may take to finish the requests it holds.
const GRACE: Duration = Duration::from_secs(10);

fn load(args: &ServeArgs) -> anyhow::Result<Config> {
    Config::load(args.config.as_deref(), std::env::vars()).context("configuration")
}

pub(crate) fn check(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = load(args)?;
    let origin = args.config.as_ref().map_or_else(
        || "embedded defaults".to_owned(),
        |p| p.display().to_string(),
    );
    super::print_line(&format!(
        "configuration OK ({origin}): REST {}, storage {:?}, replay cache {:?}{}",
        config.http.listen,
        config.storage.kind,
        config.replay.kind,
        if config.development() {
            ", development mode (loopback only)"
        } else {
            ""
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = load(args)?;
    init_logging(&config.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    runtime.block_on(async move {
        let node = Node::start(config).await.context("cannot start")?;
        for note in node.notes() {
            tracing::warn!("{note}");
        }
        tracing::info!(http = %node.http_addr(), "callproof serving");
        let stop = node.shutdown_token();
        wait_for_signal().await;
        tracing::info!("stopping: draining for up to {} s", GRACE.as_secs());
        stop.cancel();
        if tokio::time::timeout(GRACE, node.wait()).await.is_err() {
            tracing::warn!("grace period over; exiting with requests still open");
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn init_logging(log: &server::config::LogConfig) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&log.level).context("log.level")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| anyhow::anyhow!("logging: {e}"))
}
