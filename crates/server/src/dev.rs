//! The development setup of a node on embedded defaults: a generated PKI under
//! `<data_dir>/pki` (kept across restarts) and a development customer that owns a sample
//! number range and calls from loopback. Printed as such at start; never used when a
//! listener is on a non-loopback address.

use std::path::{Path, PathBuf};

use passport::TelephoneNumber;
use pki::testpki::TestPki;
use pki::tn_auth_list::{TnAuthList, TnEntry, TnRange};
use store::{NumberBlock, Store, StoreError};

/// The development customer's name.
pub const DEV_CUSTOMER: &str = "development";

/// The files of the development PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevPki {
    /// The root certificate (the verification trust anchor).
    pub root: PathBuf,
    /// Leaf and intermediate, as served at x5u.
    pub chain: PathBuf,
    /// The leaf's private key.
    pub key: PathBuf,
}

/// The development delegation CA (RFC 9060): its chain (the CA, then the intermediate) and
/// its key, beside the development PKI. Issued with it; a PKI from before has none.
pub fn delegation_files(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let (chain, key) = (
        dir.join("delegation-ca.pem"),
        dir.join("delegation-ca-key.pem"),
    );
    (chain.exists() && key.exists()).then_some((chain, key))
}

/// Why the development setup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The number range setting is not `START:COUNT`.
    #[error("signing.development_numbers {0:?} is not START:COUNT")]
    BadRange(String),
    /// The PKI could not be issued.
    #[error("cannot issue the development PKI: {0}")]
    Pki(String),
    /// The store refused the development customer.
    #[error("cannot create the development customer: {0}")]
    Store(#[from] StoreError),
}

/// Parses `START:COUNT`.
pub fn parse_range(spec: &str) -> Result<(TelephoneNumber, u64), DevError> {
    let bad = || DevError::BadRange(spec.to_owned());
    let (start, count) = spec.split_once(':').ok_or_else(bad)?;
    let start = TelephoneNumber::parse(start).map_err(|_| bad())?;
    let count = count.trim().parse().map_err(|_| bad())?;
    Ok((start, count))
}

/// Loads the development PKI from `dir`, or issues one there whose certificate covers the
/// `START:COUNT` range.
pub fn ensure_pki(dir: &Path, range: &str, now: i64) -> Result<(DevPki, bool), DevError> {
    let files = DevPki {
        root: dir.join("root.pem"),
        chain: dir.join("chain.pem"),
        key: dir.join("sp-key.pem"),
    };
    if files.root.exists() && files.chain.exists() && files.key.exists() {
        return Ok((files, false));
    }
    let (start, count) = parse_range(range)?;
    let range = TnRange::new(start, count).map_err(|e| DevError::Pki(e.to_string()))?;
    let list =
        TnAuthList::new(vec![TnEntry::Range(range)]).map_err(|e| DevError::Pki(e.to_string()))?;
    const DAY: i64 = 86_400;
    let pki = TestPki::builder()
        .at(now)
        .leaf_validity(now - DAY, now + 365 * DAY)
        .intermediate_validity(now - DAY, now + 730 * DAY)
        .root_validity(now - DAY, now + 3650 * DAY)
        .root_name("callproof DEVELOPMENT root (not for production)")
        // One CA below the intermediate: the delegation CA.
        .intermediate_path_len(Some(1))
        .leaf_name("callproof DEVELOPMENT service provider")
        .tn_auth_list(list)
        .build()
        .map_err(|e| DevError::Pki(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|source| DevError::Io {
        path: dir.to_owned(),
        source,
    })?;
    write(&files.root, &pki.root_pem, false)?;
    write(&dir.join("intermediate.pem"), &pki.intermediate_pem, false)?;
    write(&files.chain, &pki.chain_pem(), false)?;
    write(&files.key, &pki.leaf_key_pem, true)?;
    // A delegation CA over the same numbers, for partners' delegate certificates.
    let list =
        TnAuthList::new(vec![TnEntry::Range(range)]).map_err(|e| DevError::Pki(e.to_string()))?;
    let (ca_pem, ca_key) = pki
        .issue_delegation_ca(&list)
        .map_err(|e| DevError::Pki(e.to_string()))?;
    write(
        &dir.join("delegation-ca.pem"),
        &[ca_pem.as_str(), &pki.intermediate_pem].concat(),
        false,
    )?;
    write(&dir.join("delegation-ca-key.pem"), &ca_key, true)?;
    Ok((files, true))
}

fn write(path: &Path, contents: &str, secret: bool) -> Result<(), DevError> {
    use std::io::Write as _;
    let io = |source| DevError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Makes sure the development customer exists, owns the range and calls from loopback.
pub async fn ensure_customer(store: &dyn Store, range: &str) -> Result<(), DevError> {
    let (start, count) = parse_range(range)?;
    let block = NumberBlock::new(start, count).map_err(|e| DevError::Pki(e.to_string()))?;
    let customer = match store.customer_by_name(DEV_CUSTOMER).await? {
        Some(c) => c,
        None => match store.create_customer(DEV_CUSTOMER, None).await {
            Ok(c) => c,
            // Another node sharing the store created it first.
            Err(StoreError::Conflict { .. }) => {
                store.customer_by_name(DEV_CUSTOMER).await?.ok_or_else(|| {
                    DevError::Pki("the development customer vanished while being created".into())
                })?
            }
            Err(e) => return Err(e.into()),
        },
    };
    let inventory = store.inventory().await?;
    if !inventory
        .blocks
        .iter()
        .any(|b| b.customer == customer.id && b.block == block)
    {
        match store.add_numbers(customer.id, &[block]).await {
            Ok(()) => {}
            // Someone else owns (part of) the range: the development customer gets B.
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    for cidr in ["127.0.0.0/8", "::1/128"] {
        if !inventory
            .trunks
            .iter()
            .any(|t| t.customer == customer.id && t.cidr == cidr)
        {
            store.add_trunk(customer.id, cidr).await?;
        }
    }
    Ok(())
}
