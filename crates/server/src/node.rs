//! A running node: storage, the development setup when on embedded defaults, the inventory
//! poller, the signing and verification services, the certificate reloader, and the HTTP
//! listener with its connection limit and graceful shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use engine::brand::BrandCache;
use engine::inventory::InventoryCache;
use engine::replay::{MemoryReplayCache, RedisReplayCache, ReplayCache};
use engine::rich_call::LogoChecker;
use engine::signing::SigningService;
use engine::verification::VerificationService;
use engine::verifier::{Verifier, VerifierConfig};
use engine::x5u::FetchOptions;
use passport::key::SigningKey;
use passport::sign::Signer;
use passport::verify::Policy;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use engine::rate_limit::{MemoryRateLimiter, RateLimiter, RedisRateLimiter};

use crate::campaigns::CampaignTracker;
use crate::check::Checker;
use crate::config::{Config, ReplayKind, StorageKind};
use crate::metrics::Metrics;
use crate::registry::CallRecorder;
use crate::rest::{self, AppState, EventSink, certs};
use crate::sip_service::{Role, SipListener};
use crate::{dev, listener};

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Storage could not be opened.
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    /// The development setup failed.
    #[error("development setup: {0}")]
    Dev(#[from] dev::DevError),
    /// A key or certificate file is unusable.
    #[error("{path}: {reason}")]
    Credential {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The replay cache could not be reached.
    #[error("replay cache: {0}")]
    Replay(#[from] engine::replay::ReplayError),
    /// The verifier could not be built.
    #[error("verification: {0}")]
    Verifier(String),
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// Something else in the setup failed.
    #[error("{0}")]
    Setup(String),
}

/// A started node.
#[derive(Debug)]
pub struct Node {
    state: Arc<AppState>,
    http_addr: SocketAddr,
    sip_signing_addr: Option<SocketAddr>,
    sip_verification_addr: Option<SocketAddr>,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    notes: Vec<String>,
}

impl Node {
    /// Starts a node. Returns once every listener is bound.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let now = unix_now();
        let mut notes = Vec::new();
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartError::Setup(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let store = open_store(&config).await?;
        let dev_mode = config.development();

        // Signing credentials: configured files, or the development PKI.
        let mut delegation_files = config
            .signing
            .delegation_ca_chain
            .clone()
            .zip(config.signing.delegation_ca_key.clone());
        let (chain_path, key_path, dev_root) = match (
            &config.signing.certificate_chain,
            &config.signing.private_key,
        ) {
            (Some(chain), Some(key)) => (chain.clone(), key.clone(), None),
            _ => {
                let (pki, created) = dev::ensure_pki(
                    &config.data_dir.join("pki"),
                    &config.signing.development_numbers,
                    now,
                )?;
                notes.push(format!(
                    "{} the DEVELOPMENT PKI in {} (not for production: configure [signing] certificate_chain and private_key)",
                    if created { "generated" } else { "using" },
                    config.data_dir.join("pki").display()
                ));
                if delegation_files.is_none() {
                    delegation_files = dev::delegation_files(&config.data_dir.join("pki"));
                }
                (pki.chain, pki.key, Some(pki.root))
            }
        };
        let delegation = match &delegation_files {
            Some((chain, key)) => Some(Arc::new(
                pki::issue::DelegationCa::from_pem(&read_text(chain)?, &read_text(key)?)
                    .map_err(|e| StartError::Setup(format!("delegation CA: {e}")))?,
            )),
            None => None,
        };
        if dev_mode {
            dev::ensure_customer(store.as_ref(), &config.signing.development_numbers).await?;
            notes.push(format!(
                "development mode: every listener is on loopback, so loopback callers act as customer {:?} owning {}",
                dev::DEV_CUSTOMER,
                config.signing.development_numbers
            ));
        }
        let inventory = InventoryCache::load(store.as_ref()).await?;
        for problem in inventory.get().problems() {
            notes.push(format!("inventory: {problem}"));
        }

        // Bind HTTP first: with port 0 the URL of this node's certificate depends on it.
        let http = TcpListener::bind(config.http.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.http.listen,
                source,
            })?;
        let http_addr = http.local_addr().map_err(|source| StartError::Bind {
            addr: config.http.listen,
            source,
        })?;
        let public_url = config
            .http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{http_addr}"))
            .trim_end_matches('/')
            .to_owned();

        let certs = certs::CertStore::default();
        let (signer, chain_pem) =
            load_signer(&config, &public_url, &chain_path, &key_path, &certs)?;
        let x5u = signer.x5u().to_owned();
        if !dev_mode && !config.verification.danger_allow_http_x5u && !x5u.starts_with("https://") {
            return Err(StartError::Setup(format!(
                "outside development mode the certificate URL must be https, not {x5u}: set \
                 http.public_url to the https URL verifiers reach this node at, or signing.x5u"
            )));
        }
        let brands = Arc::new(BrandCache::load(store.as_ref(), &public_url).await?);
        let signing = Arc::new(
            SigningService::new(signer, inventory.clone(), Arc::clone(&brands))
                .with_rcd_mode(config.signing.rcd_mode),
        );

        let anchors_path = config.verification.trust_anchors.clone().or(dev_root);
        let anchors = match &anchors_path {
            Some(p) if p.is_dir() => pki::TrustAnchors::from_dir(p),
            Some(p) => pki::TrustAnchors::from_pem_bundle(&read(p)?),
            None => {
                return Err(StartError::Setup(
                    "verification.trust_anchors is required with a configured certificate".into(),
                ));
            }
        }
        .map_err(|e| StartError::Setup(format!("trust anchors: {e}")))?;
        let mut crls = Vec::new();
        for p in &config.verification.crls {
            let bytes = read(p)?;
            crls.push(
                pki::Crl::from_pem(&bytes)
                    .or_else(|_| pki::Crl::from_der(&bytes))
                    .map_err(|e| StartError::Credential {
                        path: p.clone(),
                        reason: e.to_string(),
                    })?,
            );
        }
        let fetch = FetchOptions {
            extra_tls_roots_pem: config
                .verification
                .x5u_tls_ca
                .iter()
                .map(|p| read(p))
                .collect::<Result<_, _>>()?,
            danger_allow_http: config.verification.danger_allow_http_x5u,
            danger_allow_private: config.verification.danger_allow_private_x5u,
            ..FetchOptions::default()
        };
        // Logos are fetched under the same rules as certificates.
        let logos = Arc::new(
            LogoChecker::new(fetch.clone()).map_err(|e| StartError::Verifier(e.to_string()))?,
        );
        let verifier = Verifier::new(VerifierConfig {
            policy: Policy {
                max_age_secs: config.verification.max_age_secs,
                max_future_secs: config.verification.max_age_secs,
                danger_allow_http_info: config.verification.danger_allow_http_x5u || dev_mode,
            },
            anchors,
            crls,
            fetch,
            local_certificates: HashMap::new(),
        })
        .map_err(|e| StartError::Verifier(e.to_string()))?;
        // This node's own PASSporTs verify without a fetch.
        verifier.add_local_certificate(&x5u, chain_pem.as_bytes());
        let window =
            u64::try_from(config.verification.max_age_secs.saturating_mul(2)).unwrap_or(120);
        let replay: Arc<dyn ReplayCache> = match config.replay.kind {
            ReplayKind::Memory => Arc::new(MemoryReplayCache::new(1_000_000)),
            ReplayKind::Redis => {
                let url = config.replay.redis_url.as_deref().unwrap_or_default();
                Arc::new(RedisReplayCache::connect(url, "callproof:").await?)
            }
        };
        let verification = Arc::new(
            VerificationService::new(verifier, replay, config.replay.reject, window)
                .with_rich_call(Arc::clone(&brands), Arc::clone(&logos)),
        );
        load_local_logos(store.as_ref(), &brands, &logos).await?;

        let mut sip = Vec::new();
        for (role, listen) in [
            (Role::Signing, config.sip.signing_listen),
            (Role::Verification, config.sip.verification_listen),
        ] {
            if let Some(addr) = listen {
                let listener = SipListener::bind(role, addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?;
                sip.push(listener);
            }
        }
        let sip_addr = |role: Role| {
            sip.iter()
                .find(|l| l.role() == role)
                .map(SipListener::local_addr)
        };
        let (sip_signing_addr, sip_verification_addr) =
            (sip_addr(Role::Signing), sip_addr(Role::Verification));

        let shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());
        let (recorder, recorder_task) =
            CallRecorder::new(Arc::clone(&store), Arc::clone(&metrics), shutdown.clone());
        let limiter: Arc<dyn RateLimiter> = match config.check.rate_limit {
            ReplayKind::Memory => Arc::new(MemoryRateLimiter::new(1_000_000)),
            ReplayKind::Redis => {
                let url = config.check.redis_url.as_deref().unwrap_or_default();
                Arc::new(
                    RedisRateLimiter::connect(url, "callproof:")
                        .await
                        .map_err(|e| StartError::Setup(format!("check rate limits: {e}")))?,
                )
            }
        };
        let checker = Checker::new(
            Arc::clone(&store),
            Arc::clone(&brands),
            limiter,
            config.check.clone(),
            Arc::clone(&metrics),
        );
        let campaigns = Arc::new(
            CampaignTracker::new().map_err(|e| StartError::Setup(format!("campaigns: {e}")))?,
        );
        let state = Arc::new(AppState {
            campaigns: Arc::clone(&campaigns),
            recorder,
            checker,
            config,
            store: Arc::clone(&store),
            inventory: inventory.clone(),
            brands: Arc::clone(&brands),
            events: EventSink::new(Arc::clone(&store), Arc::clone(&metrics)),
            delegation,
            signing: Arc::clone(&signing),
            verification,
            certs,
            dev_mode,
            metrics,
            ready: false.into(),
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(recorder_task);
        // Reports committed through any node join their campaign here within a poll period.
        {
            let store = Arc::clone(&store);
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let follow = async {
                    let mut tick = tokio::time::interval(CAMPAIGN_POLL);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        if let Err(e) = campaigns.catch_up(store.as_ref()).await {
                            tracing::warn!(error = %e, "reports could not be read for campaigns");
                        }
                    }
                };
                tokio::select! {
                    () = follow => {}
                    () = stop.cancelled() => {}
                }
            });
        }
        // The registry keeps calls for the recent window only.
        {
            let store = Arc::clone(&store);
            let keep = state.config.check.recent_window_secs;
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let purge = async {
                    let mut tick = tokio::time::interval(REGISTRY_PURGE);
                    loop {
                        tick.tick().await;
                        if let Err(e) = store.purge_calls(unix_now() - keep).await {
                            tracing::warn!(error = %e, "old calls could not be purged");
                        }
                    }
                };
                tokio::select! {
                    () = purge => {}
                    () = stop.cancelled() => {}
                }
            });
        }
        // Reports are kept for the retention period only.
        {
            let store = Arc::clone(&store);
            let keep = state.config.reports.retention_secs();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let purge = async {
                    let mut tick = tokio::time::interval(REPORT_PURGE);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        match store.purge_reports(unix_now() - keep).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(reports = n, "reports past retention deleted"),
                            Err(e) => tracing::warn!(error = %e, "old reports could not be purged"),
                        }
                    }
                };
                tokio::select! {
                    () = purge => {}
                    () = stop.cancelled() => {}
                }
            });
        }

        // Inventory changes made through any node reach this one within one poll period.
        {
            let inventory = inventory.clone();
            let store = Arc::clone(&store);
            let period = Duration::from_millis(state.config.storage.inventory_poll_ms.max(50));
            let stop = shutdown.clone();
            tasks.spawn(async move {
                inventory
                    .poll(
                        store,
                        period,
                        |e| tracing::warn!(error = %e, "inventory refresh failed"),
                        stop.cancelled_owned(),
                    )
                    .await;
            });
        }
        // Brand policy: a revoked partner is refused on every node within 5 s (one poll
        // period and a reload); opt-outs arrive through the same poll.
        {
            let (brands, logos, store) =
                (Arc::clone(&brands), Arc::clone(&logos), Arc::clone(&store));
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let poll = async {
                    let mut tick = tokio::time::interval(BRAND_POLL);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    // The policy version the local logos were loaded at (an admin write on
                    // this node refreshes the policy itself).
                    let mut logos_at = brands.get().version();
                    loop {
                        tick.tick().await;
                        if let Err(e) = brands.refresh(store.as_ref()).await {
                            tracing::warn!(error = %e, "brand policy refresh failed");
                        }
                        let version = brands.get().version();
                        if version != logos_at {
                            match load_local_logos(store.as_ref(), &brands, &logos).await {
                                Ok(()) => logos_at = version,
                                Err(e) => {
                                    tracing::warn!(error = %e, "brand logos could not be loaded")
                                }
                            }
                        }
                    }
                };
                tokio::select! {
                    () = poll => {}
                    () = stop.cancelled() => {}
                }
            });
        }
        // Key and chain files replaced on disk are picked up without a restart.
        {
            let state = Arc::clone(&state);
            let stop = shutdown.clone();
            let period = Duration::from_millis(state.config.signing.reload_ms.max(100));
            let public_url = public_url.clone();
            tasks.spawn(async move {
                reload_loop(state, public_url, chain_path, key_path, period, stop).await;
            });
        }
        // HTTP.
        {
            let app = rest::router(Arc::clone(&state));
            let permits = Arc::new(Semaphore::new(state.config.http.max_connections.max(1)));
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let listener = listener::Limited::new(http, permits);
                listener::serve_http(listener, app, stop).await;
            });
        }
        // SIP.
        for listener in sip {
            tasks.spawn(listener.serve(Arc::clone(&state), shutdown.clone()));
        }
        state.ready.store(true, Ordering::Release);
        Ok(Self {
            state,
            http_addr,
            sip_signing_addr,
            sip_verification_addr,
            shutdown,
            tasks,
            notes,
        })
    }

    /// The bound HTTP address (useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The bound address of the SIP signing service (UDP and TCP), when it is on.
    pub fn sip_signing_addr(&self) -> Option<SocketAddr> {
        self.sip_signing_addr
    }

    /// The bound address of the SIP verification service (UDP and TCP), when it is on.
    pub fn sip_verification_addr(&self) -> Option<SocketAddr> {
        self.sip_verification_addr
    }

    /// The shared state (tests and the SIP services use it).
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// What the node wants the operator to know (development mode, generated PKI).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The token that stops the node when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Adds a task that runs until shutdown (the SIP services).
    pub fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Waits until every task has stopped (after [`Node::shutdown_token`] is cancelled, or
    /// a grace period: the caller bounds it).
    pub async fn wait(mut self) {
        self.state.ready.store(false, Ordering::Release);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Opens the configured storage (applying migrations): the SQLite file under the data
/// directory, or the PostgreSQL database. `callproof import` uses it too.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, store::StoreError> {
    Ok(match config.storage.kind {
        StorageKind::Sqlite => {
            let path = config.sqlite_path();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| store::StoreError::Backend {
                    detail: format!("cannot create {}: {e}", dir.display()),
                })?;
            }
            Arc::new(store::sqlite::SqliteStore::open(&path).await?)
        }
        StorageKind::Postgres => {
            let url = config.storage.postgres_url.as_deref().unwrap_or_default();
            Arc::new(
                store::postgres::PgStore::connect(
                    url,
                    None,
                    config.storage.postgres_max_connections,
                )
                .await?,
            )
        }
    })
}

/// Reads the key and chain, checks they match, publishes the chain and builds the signer.
fn load_signer(
    config: &Config,
    public_url: &str,
    chain_path: &Path,
    key_path: &Path,
    certs: &certs::CertStore,
) -> Result<(Signer, String), StartError> {
    let bad = |path: &Path, reason: String| StartError::Credential {
        path: path.to_owned(),
        reason,
    };
    let chain_pem =
        String::from_utf8(read(chain_path)?).map_err(|_| bad(chain_path, "not PEM text".into()))?;
    let chain =
        pki::parse_chain(chain_pem.as_bytes()).map_err(|e| bad(chain_path, e.to_string()))?;
    let leaf = chain
        .first()
        .ok_or_else(|| bad(chain_path, "no certificate".into()))?;
    let key_pem = read_private_key(key_path)?;
    let key = SigningKey::from_pem(&key_pem).map_err(|e| bad(key_path, e.to_string()))?;
    if leaf.public_key().key_bytes() != key.public_key_sec1() {
        return Err(bad(
            key_path,
            format!("does not match the certificate in {}", chain_path.display()),
        ));
    }
    let name = certs.publish(&chain_pem);
    let x5u = match &config.signing.x5u {
        Some(x5u) => x5u.replace("{fingerprint}", name.trim_end_matches(".pem")),
        None => format!("{public_url}/certs/{name}"),
    };
    let signer =
        Signer::new(key, &x5u).map_err(|e| StartError::Setup(format!("signing.x5u: {e}")))?;
    Ok((signer, chain_pem))
}

async fn reload_loop(
    state: Arc<AppState>,
    public_url: String,
    chain: PathBuf,
    key: PathBuf,
    period: Duration,
    stop: CancellationToken,
) {
    // Compare contents, not modification times: a copy that keeps the old time is seen too.
    let digest = |p: &Path| {
        std::fs::read(p).ok().map(|b| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &b)
                .as_ref()
                .to_vec()
        })
    };
    let mut last = (digest(&chain), digest(&key));
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = (digest(&chain), digest(&key));
        if now == last {
            continue;
        }
        match load_signer(&state.config, &public_url, &chain, &key, &state.certs) {
            Ok((signer, chain_pem)) => {
                last = now;
                let x5u = signer.x5u().to_owned();
                state
                    .verification
                    .verifier()
                    .add_local_certificate(&x5u, chain_pem.as_bytes());
                state.signing.rotate(signer);
                tracing::info!(x5u = %x5u, "signing certificate reloaded");
            }
            // A half-written pair (key replaced before chain) fails the match: keep the old
            // signer and try again at the next tick.
            Err(e) => tracing::warn!(error = %e, "signing certificate not reloaded"),
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, StartError> {
    std::fs::read(path).map_err(|e| StartError::Credential {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

fn read_private_key(path: &Path) -> Result<String, StartError> {
    let bad = |reason: String| StartError::Credential {
        path: path.to_owned(),
        reason,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| bad(e.to_string()))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "mode {mode:03o}: a private key must be readable by its owner only (chmod 600)"
            )));
        }
    }
    std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))
}

fn unix_now() -> i64 {
    rest::atis::unix_now()
}

/// How often brand policy and opt-outs are read from the store.
const BRAND_POLL: Duration = Duration::from_secs(1);
/// How often a node reads new reports for campaign detection.
const CAMPAIGN_POLL: Duration = Duration::from_millis(500);
/// How often a node deletes calls older than the registry keeps.
const REGISTRY_PURGE: Duration = Duration::from_secs(60);
/// How often a node deletes reports past their retention (and once at start).
const REPORT_PURGE: Duration = Duration::from_secs(3600);

/// Gives the logo checker this node's brands' logos, so their `rcdi` digests are checked
/// without fetching them from this node over the network.
async fn load_local_logos(
    store: &dyn Store,
    brands: &BrandCache,
    logos: &LogoChecker,
) -> Result<(), store::StoreError> {
    let index = brands.get();
    let mut local = HashMap::new();
    for info in index.brands() {
        let Some(url) = &info.logo_url else {
            continue;
        };
        if let Some((_, bytes)) = store.brand_logo(info.brand.id).await? {
            local.insert(url.clone(), Arc::from(bytes));
        }
    }
    logos.set_local(local);
    Ok(())
}

/// A text file, as a start error naming it.
fn read_text(path: &Path) -> Result<String, StartError> {
    std::fs::read_to_string(path)
        .map_err(|e| StartError::Setup(format!("cannot read {}: {e}", path.display())))
}
