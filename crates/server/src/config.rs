//! Configuration: a TOML file (every key documented in `callproof.example.toml`), then
//! environment overrides `CALLPROOF_<SECTION>_<KEY>` (e.g. `CALLPROOF_HTTP_LISTEN`), checked
//! once at start. With no file at all, the embedded defaults run a complete development
//! node on loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the node keeps its files (SQLite database, development PKI).
    pub data_dir: PathBuf,
    /// Allow development mode: when every listener is on loopback, loopback callers without
    /// an API key act as the development customer. `false` requires API keys even then.
    pub development_mode: bool,
    /// The HTTP API.
    pub http: HttpConfig,
    /// The SIP redirect services.
    pub sip: SipConfig,
    /// Where state lives.
    pub storage: StorageConfig,
    /// Replay detection.
    pub replay: ReplayConfig,
    /// The signing service (STI-AS).
    pub signing: SigningConfig,
    /// The verification service (STI-VS).
    pub verification: VerificationConfig,
    /// Customers' call checks and the call registry.
    pub check: CheckConfig,
    /// Reports of suspicious calls.
    pub reports: ReportsConfig,
    /// Logging.
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("callproof-data"),
            development_mode: true,
            http: HttpConfig::default(),
            sip: SipConfig::default(),
            storage: StorageConfig::default(),
            replay: ReplayConfig::default(),
            signing: SigningConfig::default(),
            verification: VerificationConfig::default(),
            check: CheckConfig::default(),
            reports: ReportsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the REST API.
    pub listen: SocketAddr,
    /// The URL clients reach this node at; the development certificate's x5u is
    /// `<public_url>/certs/sp.pem`. Default: `http://<listen>`.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Time allowed for one request, in milliseconds.
    pub request_timeout_ms: u64,
    /// Most connections served at once.
    pub max_connections: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            max_body_bytes: 64 * 1024,
            request_timeout_ms: 5_000,
            max_connections: 4_096,
        }
    }
}

/// `[sip]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// The signing redirect service (UDP and TCP on this address); `""`: off.
    #[serde(with = "optional_addr")]
    pub signing_listen: Option<SocketAddr>,
    /// The verification redirect service (UDP and TCP on this address); `""`: off.
    #[serde(with = "optional_addr")]
    pub verification_listen: Option<SocketAddr>,
    /// Largest SIP message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Most TCP connections at once (per service).
    pub max_tcp_connections: usize,
    /// Idle time after which a TCP connection is closed, in milliseconds.
    pub tcp_idle_timeout_ms: u64,
    /// What the verification service answers when verification fails: `redirect` (302 with
    /// the verstat, the call goes on), `reject` (the RFC 8224 4xx code), or `decline` (603
    /// for a call whose identity was found false, 302 otherwise).
    pub verification_failure: FailureAnswer,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            signing_listen: Some(SocketAddr::from(([127, 0, 0, 1], 5060))),
            verification_listen: Some(SocketAddr::from(([127, 0, 0, 1], 5062))),
            max_message_bytes: 64 * 1024,
            max_tcp_connections: 1_024,
            tcp_idle_timeout_ms: 60_000,
            verification_failure: FailureAnswer::Redirect,
        }
    }
}

/// A listen address where `""` means off (TOML has no null).
mod optional_addr {
    use std::net::SocketAddr;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        v: &Option<SocketAddr>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(addr) => s.collect_str(addr),
            None => s.serialize_str(""),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Ok(None);
        }
        s.trim().parse().map(Some).map_err(serde::de::Error::custom)
    }
}

/// What the SIP verification service does with a call whose verification failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureAnswer {
    /// `302` with `verstat=TN-Validation-Failed` / `No-TN-Validation`: the SBC decides.
    Redirect,
    /// The RFC 8224 code (403, 428, 436, 437, 438).
    Reject,
    /// Block policy: `603 Decline` when the identity was checked and found false
    /// (TN-Validation-Failed); otherwise `302` with the verstat.
    Decline,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sqlite` (embedded, one node) or `postgres` (shared by many nodes).
    pub kind: StorageKind,
    /// The SQLite file; default `<data_dir>/callproof.db`.
    pub sqlite_path: Option<PathBuf>,
    /// PostgreSQL URL, e.g. `postgres://callproof@db.example/callproof`.
    pub postgres_url: Option<String>,
    /// PostgreSQL pool size.
    pub postgres_max_connections: usize,
    /// How often nodes look for inventory changes, in milliseconds.
    pub inventory_poll_ms: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            kind: StorageKind::Sqlite,
            sqlite_path: None,
            postgres_url: None,
            postgres_max_connections: 16,
            inventory_poll_ms: 500,
        }
    }
}

/// The storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// `[replay]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// `memory` (this node only) or `redis` (shared by all nodes).
    pub kind: ReplayKind,
    /// Redis URL, e.g. `redis://127.0.0.1:6379/`.
    pub redis_url: Option<String>,
    /// Reject a replayed PASSporT (438) instead of only reporting it.
    pub reject: bool,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            kind: ReplayKind::Memory,
            redis_url: None,
            reject: false,
        }
    }
}

/// The replay cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayKind {
    /// In this node's memory.
    Memory,
    /// In Redis.
    Redis,
}

/// `[check]`: the call registry and customers' call checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// A call not marked ended is "calling you now" for this long after it started.
    pub now_window_secs: i64,
    /// A call is "called you recently" for this long after it started; the registry keeps
    /// calls this long, then deletes them.
    pub recent_window_secs: i64,
    /// A one-time call code works for this long (at most 900: fifteen minutes).
    pub code_ttl_secs: i64,
    /// Public checks per client address per minute.
    pub per_client_per_minute: u64,
    /// Public checks naming one called number per minute, whoever asks.
    pub per_number_per_minute: u64,
    /// Code attempts per client address per ten minutes.
    pub code_attempts_per_client: u64,
    /// Reports from the check pages per client address per hour.
    pub reports_per_client_per_hour: u64,
    /// Where the rate-limit counters live: `memory` (this node only) or `redis` (shared).
    pub rate_limit: ReplayKind,
    /// Redis URL for `rate_limit = "redis"`.
    pub redis_url: Option<String>,
    /// Proxies (CIDRs) in front of this node whose `X-Forwarded-For` names the client: the
    /// client is the last address in it not in this list. Empty: the peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        Self {
            now_window_secs: 15 * 60,
            recent_window_secs: 24 * 3600,
            code_ttl_secs: 10 * 60,
            per_client_per_minute: 30,
            per_number_per_minute: 10,
            code_attempts_per_client: 10,
            reports_per_client_per_hour: 10,
            rate_limit: ReplayKind::Memory,
            redis_url: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// `[reports]`: reports of suspicious calls (the public report API, the check pages and
/// verification evidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Reports to `POST /v1/reports` per client address per hour (the counters of
    /// `[check] rate_limit`).
    pub per_client_per_hour: u64,
    /// Reports are kept this many days after they were received, then deleted; a report of a
    /// call older than this is refused.
    pub retention_days: u32,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        Self {
            per_client_per_hour: 20,
            retention_days: 365,
        }
    }
}

impl ReportsConfig {
    /// The retention period in seconds.
    pub fn retention_secs(&self) -> i64 {
        i64::from(self.retention_days) * 86_400
    }
}

/// `[signing]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// The STI certificate chain (leaf first, PEM). Unset: a development PKI is generated
    /// under `<data_dir>/pki` and used.
    pub certificate_chain: Option<PathBuf>,
    /// The certificate's private key (PEM, owner-only permissions).
    pub private_key: Option<PathBuf>,
    /// The URL where verifiers fetch the chain. Default: `<public_url>/certs/sp.pem`,
    /// served by this node.
    pub x5u: Option<String>,
    /// How often the key and chain files are checked for replacement, in milliseconds.
    pub reload_ms: u64,
    /// The development customer's number range (`START:COUNT`), used only when every
    /// listener is on loopback.
    pub development_numbers: String,
    /// Where a brand's Rich Call Data goes: `shaken` (in the SHAKEN PASSporT, one
    /// signature, as ATIS-1000094 deploys it) or `separate` (an `rcd` PASSporT of its own,
    /// RFC 9795: a second signature and Identity header).
    pub rcd_mode: engine::signing::RcdMode,
    /// A delegation CA (RFC 9060: a CA certificate with a TNAuthList, from the STI-CA) that
    /// issues partners' delegate certificates: its chain (the CA first, PEM) and key. Unset
    /// with the development PKI: the development delegation CA.
    pub delegation_ca_chain: Option<PathBuf>,
    /// The delegation CA's private key (PEM, owner-only permissions).
    pub delegation_ca_key: Option<PathBuf>,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            certificate_chain: None,
            private_key: None,
            x5u: None,
            reload_ms: 5_000,
            development_numbers: "12155550000:10000".into(),
            rcd_mode: engine::signing::RcdMode::default(),
            delegation_ca_chain: None,
            delegation_ca_key: None,
        }
    }
}

/// `[verification]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerificationConfig {
    /// STI-CA trust anchors: a PEM bundle or a directory. Unset: the development root.
    pub trust_anchors: Option<PathBuf>,
    /// CRL files to check chains against.
    pub crls: Vec<PathBuf>,
    /// Seconds an iat may be old (and ahead, for clock skew).
    pub max_age_secs: i64,
    /// An extra TLS root (PEM) for x5u fetching.
    pub x5u_tls_ca: Option<PathBuf>,
    /// DANGER: fetch x5u over plain http.
    pub danger_allow_http_x5u: bool,
    /// DANGER: fetch x5u from loopback and private addresses.
    pub danger_allow_private_x5u: bool,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self {
            trust_anchors: None,
            crls: Vec::new(),
            max_age_secs: 60,
            x5u_tls_ca: None,
            danger_allow_http_x5u: false,
            danger_allow_private_x5u: false,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `callproof=debug,info`.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, or a value of the wrong type.
    #[error("{origin}: {message}")]
    Parse {
        /// The file, or the environment variable.
        origin: String,
        /// What the parser said.
        message: String,
    },
    /// A value that parses but cannot work.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The environment variable prefix.
pub const ENV_PREFIX: &str = "CALLPROOF_";

impl Config {
    /// Loads `path` (or the defaults when `None`), applies environment overrides from
    /// `env`, and validates.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut value = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Parse {
                        origin: path.display().to_string(),
                        message: e.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        // Parse the file alone first, so its errors name the file.
        let origin = path.map_or_else(|| "defaults".to_owned(), |p| p.display().to_string());
        let _: Config =
            toml::Value::Table(value.clone())
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: origin.clone(),
                    message: e.to_string(),
                })?;
        let mut applied = Vec::new();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if IGNORED_ENV.contains(&rest) || rest.starts_with("TEST_") {
                continue;
            }
            apply_env(&mut value, rest, &raw).map_err(|message| ConfigError::Parse {
                origin: name.clone(),
                message,
            })?;
            applied.push(name);
        }
        let config: Config =
            toml::Value::Table(value)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin: format!("environment ({})", applied.join(", ")),
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.storage.kind == StorageKind::Postgres && self.storage.postgres_url.is_none() {
            return invalid("storage.kind = \"postgres\" needs storage.postgres_url".into());
        }
        if self.replay.kind == ReplayKind::Redis && self.replay.redis_url.is_none() {
            return invalid("replay.kind = \"redis\" needs replay.redis_url".into());
        }
        if self.check.rate_limit == ReplayKind::Redis && self.check.redis_url.is_none() {
            return invalid("check.rate_limit = \"redis\" needs check.redis_url".into());
        }
        if !(1..=900).contains(&self.check.code_ttl_secs) {
            return invalid(
                "check.code_ttl_secs must be between 1 and 900 (fifteen minutes)".into(),
            );
        }
        if self.check.now_window_secs <= 0
            || self.check.recent_window_secs < self.check.now_window_secs
        {
            return invalid(
                "check.now_window_secs must be positive and check.recent_window_secs at least as long"
                    .into(),
            );
        }
        if self.check.per_client_per_minute == 0
            || self.check.per_number_per_minute == 0
            || self.check.code_attempts_per_client == 0
            || self.check.reports_per_client_per_hour == 0
        {
            return invalid("check rate limits must be at least 1".into());
        }
        if self.reports.per_client_per_hour == 0 {
            return invalid("reports.per_client_per_hour must be at least 1".into());
        }
        if !(1..=36_500).contains(&self.reports.retention_days) {
            return invalid("reports.retention_days must be between 1 and 36500".into());
        }
        if self.signing.certificate_chain.is_some() != self.signing.private_key.is_some() {
            return invalid("signing.certificate_chain and signing.private_key go together".into());
        }
        if self.signing.certificate_chain.is_some() && self.signing.x5u.is_none() {
            return invalid("a configured signing certificate needs signing.x5u, the URL verifiers fetch it from".into());
        }
        if self.verification.max_age_secs <= 0 {
            return invalid("verification.max_age_secs must be positive".into());
        }
        if self.http.max_body_bytes < 1024 || self.sip.max_message_bytes < 1024 {
            return invalid(
                "http.max_body_bytes and sip.max_message_bytes must be at least 1024".into(),
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return invalid(format!(
                "log.format must be \"text\" or \"json\", not {:?}",
                self.log.format
            ));
        }
        if let Some(url) = &self.http.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return invalid(format!("http.public_url {url:?} is not an http(s) URL"));
        }
        Ok(())
    }

    /// True when the node runs in development mode: allowed by `development_mode` and every
    /// listener on loopback.
    pub fn development(&self) -> bool {
        self.development_mode && self.loopback_only()
    }

    /// True when every listener is on a loopback address.
    pub fn loopback_only(&self) -> bool {
        let sip = [self.sip.signing_listen, self.sip.verification_listen];
        self.http.listen.ip().is_loopback() && sip.iter().flatten().all(|a| a.ip().is_loopback())
    }

    /// The base URL of this node's REST API.
    pub fn public_url(&self) -> String {
        self.http
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.http.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The SQLite database file.
    pub fn sqlite_path(&self) -> PathBuf {
        self.storage
            .sqlite_path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("callproof.db"))
    }
}

/// `CALLPROOF_*` variables that are not configuration keys.
const IGNORED_ENV: &[&str] = &["CONFIG", "LOG"];

/// Applies one override: `HTTP_LISTEN=...` sets `http.listen`; `DATA_DIR` sets `data_dir`.
/// The value is parsed as TOML when it parses (numbers, booleans, arrays), else taken as a
/// string.
fn apply_env(root: &mut toml::Table, key: &str, raw: &str) -> Result<(), String> {
    let key = key.to_ascii_lowercase();
    let sections = [
        "http",
        "sip",
        "storage",
        "replay",
        "signing",
        "verification",
        "check",
        "reports",
        "log",
    ];
    let (section, field) = match sections.iter().find(|s| key.starts_with(&format!("{s}_"))) {
        Some(s) => (
            Some(*s),
            key.get(s.len() + 1..).unwrap_or_default().to_owned(),
        ),
        None => (None, key.clone()),
    };
    let value = parse_env_value(raw);
    let table = match section {
        Some(s) => root
            .entry(s.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("[{s}] is not a table"))?,
        None => root,
    };
    table.insert(field, value);
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    let probe = format!("v = {raw}");
    match probe.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_run_a_loopback_development_node() {
        let c = Config::load(None, Vec::new()).unwrap();
        assert!(c.loopback_only());
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
        assert_eq!(
            c.sqlite_path(),
            PathBuf::from("callproof-data/callproof.db")
        );
    }

    /// The example file documents every key: it loads, it equals the defaults, and each key
    /// of the defaults appears in it (set or commented out).
    #[test]
    fn the_example_file_documents_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../callproof.example.toml");
        let example = Config::load(Some(&path), Vec::new()).unwrap();
        assert_eq!(example, Config::default());
        let text = std::fs::read_to_string(&path).unwrap();
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        let mut missing = Vec::new();
        let mut check = |section: &str, key: &str| {
            let documented = text.lines().any(|l| {
                let l = l.trim_start_matches('#').trim();
                l.starts_with(&format!("{key} =")) || l.starts_with(&format!("{key}="))
            });
            if !documented {
                missing.push(format!("{section}.{key}"));
            }
        };
        for (key, value) in defaults.as_table().unwrap() {
            match value.as_table() {
                Some(table) => table.keys().for_each(|k| check(key, k)),
                None => check("", key),
            }
        }
        // Keys whose default is None are absent from the serialised defaults: list them too.
        for key in [
            "public_url",
            "sqlite_path",
            "postgres_url",
            "redis_url",
            "certificate_chain",
            "private_key",
            "x5u",
            "trust_anchors",
            "x5u_tls_ca",
        ] {
            check("optional", key);
        }
        assert!(missing.is_empty(), "undocumented keys: {missing:?}");
    }

    #[test]
    fn a_sip_service_can_be_turned_off() {
        let c = Config::load(None, env(&[("CALLPROOF_SIP_SIGNING_LISTEN", "")])).unwrap();
        assert_eq!(c.sip.signing_listen, None);
        assert!(c.sip.verification_listen.is_some());
    }

    #[test]
    fn environment_overrides_apply_with_types() {
        let c = Config::load(
            None,
            env(&[
                ("CALLPROOF_HTTP_LISTEN", "0.0.0.0:9000"),
                ("CALLPROOF_STORAGE_KIND", "postgres"),
                ("CALLPROOF_STORAGE_POSTGRES_URL", "postgres://x@y/z"),
                ("CALLPROOF_REPLAY_REJECT", "true"),
                ("CALLPROOF_VERIFICATION_MAX_AGE_SECS", "30"),
                ("CALLPROOF_REPORTS_PER_CLIENT_PER_HOUR", "1000"),
                ("CALLPROOF_DATA_DIR", "/var/lib/callproof"),
                ("CALLPROOF_TEST_POSTGRES_URL", "ignored"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.http.listen, SocketAddr::from(([0, 0, 0, 0], 9000)));
        assert_eq!(c.storage.kind, StorageKind::Postgres);
        assert!(c.replay.reject);
        assert_eq!(c.verification.max_age_secs, 30);
        assert_eq!(c.reports.per_client_per_hour, 1000);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/callproof"));
        assert!(!c.loopback_only());
    }

    #[test]
    fn bad_configuration_is_refused_with_the_reason() {
        let err = Config::load(None, env(&[("CALLPROOF_HTTP_LISTEN", "nonsense")])).unwrap_err();
        assert!(
            err.to_string().contains("CALLPROOF_HTTP_LISTEN")
                || err.to_string().contains("environment"),
            "{err}"
        );
        let err = Config::load(None, env(&[("CALLPROOF_HTTP_NO_SUCH_KEY", "1")])).unwrap_err();
        assert!(err.to_string().contains("no_such_key"), "{err}");
        let err = Config::load(None, env(&[("CALLPROOF_STORAGE_KIND", "postgres")])).unwrap_err();
        assert!(err.to_string().contains("postgres_url"), "{err}");
        let err =
            Config::load(None, env(&[("CALLPROOF_REPORTS_RETENTION_DAYS", "0")])).unwrap_err();
        assert!(err.to_string().contains("retention_days"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[http]\nlisten = 5\n").unwrap();
        let err = Config::load(Some(&file), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("c.toml"), "{err}");
    }
}
