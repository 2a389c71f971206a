//! The STI-CA trust anchors a verifier accepts (the STI-PA's list of approved CA roots).
//!
//! [`TrustAnchors::from_dir`] is the only function of this crate that touches the file
//! system: it is configuration loading, done once at start-up.

use std::path::{Path, PathBuf};

use crate::certificate::{Certificate, CertificateError};
use crate::pem::{self, PemError};

/// The most anchors accepted (the STI-PA list holds a few dozen).
pub const MAX_ANCHORS: usize = 1000;

/// The largest anchor file (or PEM bundle) read, in bytes.
pub const MAX_ANCHOR_FILE_LEN: usize = 4 * 1024 * 1024;

/// Why the trust anchors could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than [`MAX_ANCHOR_FILE_LEN`].
    #[error("{} is {len} bytes; at most {max} are read", path.display())]
    FileTooLarge {
        /// The path.
        path: PathBuf,
        /// Its length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The PEM text is broken.
    #[error("unreadable PEM{}: {source}", at(path.as_deref()))]
    Pem {
        /// The file, when read from a directory.
        path: Option<PathBuf>,
        /// What the PEM reader said.
        source: PemError,
    },
    /// A certificate could not be parsed.
    #[error("unusable trust anchor{}: {source}", at(path.as_deref()))]
    Certificate {
        /// The file, when read from a directory.
        path: Option<PathBuf>,
        /// What is wrong with it.
        source: CertificateError,
    },
    /// No certificate was found: a verifier with no anchor trusts nothing.
    #[error("no trust anchor found in {what}")]
    Empty {
        /// What was searched.
        what: String,
    },
    /// More than [`MAX_ANCHORS`] anchors.
    #[error("more than {max} trust anchors")]
    TooMany {
        /// The limit.
        max: usize,
    },
}

fn at(path: Option<&Path>) -> String {
    path.map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}

/// A set of trusted CA certificates.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    anchors: Vec<Certificate>,
}

impl TrustAnchors {
    /// The given certificates (at least one, at most [`MAX_ANCHORS`]); duplicates are merged.
    pub fn from_certificates(certificates: Vec<Certificate>) -> Result<Self, TrustError> {
        if certificates.is_empty() {
            return Err(TrustError::Empty {
                what: "the certificate list".to_owned(),
            });
        }
        if certificates.len() > MAX_ANCHORS {
            return Err(TrustError::TooMany { max: MAX_ANCHORS });
        }
        let mut anchors: Vec<Certificate> = Vec::with_capacity(certificates.len());
        for cert in certificates {
            if !anchors.contains(&cert) {
                anchors.push(cert);
            }
        }
        Ok(Self { anchors })
    }

    /// Every `CERTIFICATE` block of a PEM bundle (other blocks and text are ignored).
    pub fn from_pem_bundle(bundle: &[u8]) -> Result<Self, TrustError> {
        Self::from_certificates(read_bundle(bundle, None)?)
    }

    /// Every `*.pem`, `*.crt` and `*.cer` file of a directory (not recursive), each holding
    /// PEM certificates or one DER certificate. Other files are ignored.
    pub fn from_dir(dir: &Path) -> Result<Self, TrustError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TrustError::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let wanted = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["pem", "crt", "cer"].contains(&e.to_ascii_lowercase().as_str()));
            if wanted && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut certificates = Vec::new();
        for path in files {
            let len = std::fs::metadata(&path).map_err(io(&path))?.len();
            if len > MAX_ANCHOR_FILE_LEN as u64 {
                return Err(TrustError::FileTooLarge {
                    path,
                    len,
                    max: MAX_ANCHOR_FILE_LEN,
                });
            }
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            certificates.extend(read_bundle(&bytes, Some(&path))?);
            if certificates.len() > MAX_ANCHORS {
                return Err(TrustError::TooMany { max: MAX_ANCHORS });
            }
        }
        if certificates.is_empty() {
            return Err(TrustError::Empty {
                what: dir.display().to_string(),
            });
        }
        Self::from_certificates(certificates)
    }

    /// The anchors.
    pub fn certificates(&self) -> &[Certificate] {
        &self.anchors
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Always false: an empty set cannot be built.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

fn read_bundle(bytes: &[u8], path: Option<&Path>) -> Result<Vec<Certificate>, TrustError> {
    let owned_path = || path.map(Path::to_path_buf);
    if bytes.len() > MAX_ANCHOR_FILE_LEN {
        return Err(TrustError::FileTooLarge {
            path: owned_path().unwrap_or_default(),
            len: bytes.len() as u64,
            max: MAX_ANCHOR_FILE_LEN,
        });
    }
    if !pem::looks_like_pem(bytes) {
        return match path {
            Some(_) => Certificate::from_der(bytes)
                .map(|c| vec![c])
                .map_err(|source| TrustError::Certificate {
                    path: owned_path(),
                    source,
                }),
            None => Err(TrustError::Empty {
                what: "the PEM bundle".to_owned(),
            }),
        };
    }
    let blocks = pem::decode_blocks(bytes, &["CERTIFICATE", "X509 CERTIFICATE"], MAX_ANCHORS)
        .map_err(|source| match source {
            PemError::TooManyBlocks { max, .. } => TrustError::TooMany { max },
            source => TrustError::Pem {
                path: owned_path(),
                source,
            },
        })?;
    blocks
        .iter()
        .map(|der| {
            Certificate::from_der(der).map_err(|source| TrustError::Certificate {
                path: owned_path(),
                source,
            })
        })
        .collect()
}
