//! The result of a successful chain validation: the key and scope a verifier may trust.

use std::fmt;

use passport::key::VerifyingKey;
use passport::verify::Credential;
use passport::{CredentialFailure, CredentialFailureKind, TelephoneNumber};

use crate::tn_auth_list::{Coverage, ServiceProviderCode, TnAuthList};

/// A leaf certificate whose chain reached a trust anchor, with every check passed.
///
/// Only [`crate::chain::validate`] makes one, so holding a `ValidatedCredential` is proof of
/// validation (at the time given to it).
#[derive(Clone)]
pub struct ValidatedCredential {
    key: VerifyingKey,
    subject: String,
    tn_auth_list: TnAuthList,
    not_after: i64,
    fingerprint: [u8; 32],
    path_len: usize,
}

impl ValidatedCredential {
    pub(crate) const fn new(
        key: VerifyingKey,
        subject: String,
        tn_auth_list: TnAuthList,
        not_after: i64,
        fingerprint: [u8; 32],
        path_len: usize,
    ) -> Self {
        Self {
            key,
            subject,
            tn_auth_list,
            not_after,
            fingerprint,
            path_len,
        }
    }

    /// The leaf's ES256 key.
    pub const fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The leaf's subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The leaf's first Service Provider Code, if its TNAuthList has one.
    pub fn spc(&self) -> Option<&ServiceProviderCode> {
        self.tn_auth_list.first_spc()
    }

    /// The leaf's TNAuthList.
    pub const fn tn_auth_list(&self) -> &TnAuthList {
        &self.tn_auth_list
    }

    /// Whether the leaf may sign for `tn`, and through which entry.
    pub fn covers(&self, tn: &TelephoneNumber) -> Coverage<'_> {
        self.tn_auth_list.covers(tn)
    }

    /// The earliest `notAfter` of the validated path (Unix seconds): a cache must not keep
    /// the credential past it.
    pub const fn not_after(&self) -> i64 {
        self.not_after
    }

    /// SHA-256 over the SHA-256 of each certificate's DER along the validated path, leaf to
    /// anchor: identifies the exact path, for caches and logs.
    pub const fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// How many certificates the validated path holds, anchor included.
    pub const fn path_len(&self) -> usize {
        self.path_len
    }
}

impl fmt::Debug for ValidatedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatedCredential")
            .field("subject", &self.subject)
            .field("tn_auth_list", &self.tn_auth_list.to_string())
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Credential for ValidatedCredential {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    fn authorize_orig(&self, orig: &TelephoneNumber) -> Result<(), CredentialFailure> {
        match self.tn_auth_list.covers(orig) {
            Coverage::Tn | Coverage::Range(_) | Coverage::Spc(_) => Ok(()),
            Coverage::NotCovered => {
                let entries = self.tn_auth_list.entries().len();
                let scope = if entries <= 4 {
                    self.tn_auth_list.to_string()
                } else {
                    format!("{entries} TN and range entries")
                };
                Err(CredentialFailure {
                    kind: CredentialFailureKind::TnNotAuthorized,
                    detail: format!(
                        "the TNAuthList of {} ({scope}) does not cover the calling number {orig}",
                        self.subject
                    ),
                })
            }
        }
    }
}
