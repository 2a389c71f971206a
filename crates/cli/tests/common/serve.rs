//! `callproof serve` as a child process, for the tests that kill a node and start it again:
//! a node on a configuration file, waited for until ready, killed with SIGKILL; and a
//! PostgreSQL database of a test's own (`CALLPROOF_TEST_POSTGRES_URL`, default the local
//! server), dropped at the end. An unreachable server fails the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Longest a node may take to become ready (a development PKI is generated on first start).
pub(crate) const READY_LIMIT: Duration = Duration::from_secs(60);

/// The PostgreSQL server the tests use.
pub(crate) fn pg_url() -> String {
    std::env::var("CALLPROOF_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A TCP port free on 127.0.0.1 right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Random hex, `bytes` bytes of it.
pub(crate) fn rand_hex(bytes: usize) -> String {
    use std::io::Read as _;
    let mut b = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A database of its own for one test, dropped when this is.
pub(crate) struct Database {
    name: String,
    runtime: tokio::runtime::Runtime,
}

impl Database {
    /// Creates `<prefix>_<random>` on [`pg_url`]'s server.
    pub(crate) fn create(prefix: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let name = format!("{prefix}_{}", rand_hex(6));
        runtime.block_on(async {
            let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL at {} is required for this test: {e}", pg_url())
                });
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            drop(client);
            let _ = task.await;
        });
        Self { name, runtime }
    }

    /// Its URL.
    pub(crate) fn url(&self) -> String {
        let base = pg_url();
        let (prefix, _) = base.rsplit_once('/').unwrap();
        format!("{prefix}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        self.runtime.block_on(async move {
            if let Ok((client, conn)) =
                tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
            {
                let task = tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                drop(client);
                let _ = task.await;
            }
        });
    }
}

/// A `callproof serve --config <file>` child process, killed (SIGKILL) when dropped.
pub(crate) struct ServeNode {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    log: PathBuf,
}

impl ServeNode {
    /// Starts the node on `config`, listening on `port`, its log (stderr) in `log`; returns
    /// once `/readyz` answers 200.
    pub(crate) fn start(config: &Path, port: u16, log: &Path) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let child = super::callproof_command()
            .args(["serve", "--config"])
            .arg(config)
            .env_remove("CALLPROOF_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut node = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&mut self) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .no_proxy()
            .build()
            .unwrap();
        let deadline = Instant::now() + READY_LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "node exited ({status}) before it was ready; log:\n{}",
                    self.log()
                );
            }
            if client
                .get(format!("{}/readyz", self.base))
                .send()
                .is_ok_and(|r| r.status() == 200)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "node {} not ready in {READY_LIMIT:?}; log:\n{}",
            self.base,
            self.log()
        );
    }

    /// What the node wrote to stderr so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, and waits for the process to be gone.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServeNode {
    fn drop(&mut self) {
        self.kill();
    }
}
