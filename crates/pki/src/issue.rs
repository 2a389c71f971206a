//! Issuing delegate certificates (RFC 9060): a service provider holding a CA certificate
//! with a TNAuthList (from its STI-CA) issues a certificate for some of its numbers to a
//! delegate, such as a call centre that signs with its own carrier, from the delegate's
//! certificate signing request.
//!
//! Only what a verifier would accept is issued: the delegate's TNAuthList must lie within
//! the CA's ([`crate::delegate::check_scope`]), and the validity is clipped to the CA's.
//!
//! ```
//! # #[cfg(feature = "test-pki")] {
//! use passport::TelephoneNumber;
//! use pki::issue::DelegationCa;
//! use pki::testpki::TestPki;
//! use pki::{TnAuthList, TnEntry, TnRange};
//! let tn = |s| TelephoneNumber::parse(s).unwrap();
//! let scope = TnAuthList::new(vec![TnEntry::Range(TnRange::new(tn("12155550000"), 1000).unwrap())]).unwrap();
//! let pki = TestPki::builder().build().unwrap();
//! let (ca_pem, ca_key_pem) = pki.issue_delegation_ca(&scope).unwrap();
//! let ca = DelegationCa::from_pem(&[ca_pem.as_str(), &pki.intermediate_pem].concat(), &ca_key_pem).unwrap();
//! let csr = pki::testpki::csr_pem("call centre").unwrap().0;
//! let part = TnAuthList::new(vec![TnEntry::Range(TnRange::new(tn("12155550100"), 10).unwrap())]).unwrap();
//! let chain = ca.issue(&csr, &part, pki.now(), pki.now() + 86_400).unwrap();
//! assert_eq!(pki::parse_chain(chain.as_bytes()).unwrap().len(), 3);
//! # }
//! ```

use rcgen::{
    CertificateSigningRequestParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::certificate::{Certificate, parse_chain};
use crate::delegate::{DelegationError, check_scope};
use crate::tn_auth_list::TnAuthList;

/// The TNAuthList OID (RFC 8226) as rcgen wants it.
const TN_AUTH_LIST_OID: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 26];

/// Why a delegate certificate was not issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The CA chain or key cannot be used.
    #[error("the delegation CA cannot be used: {reason}")]
    Ca {
        /// Why.
        reason: String,
    },
    /// The certificate signing request cannot be read or is not signed by its key.
    #[error("invalid certificate signing request: {reason}")]
    Csr {
        /// Why.
        reason: String,
    },
    /// The numbers asked for are not within the CA's scope.
    #[error("the numbers are not within the delegation CA's scope: {0}")]
    Scope(#[from] DelegationError),
    /// The validity asked for is empty, or ends before the CA's starts.
    #[error("no validity period left: {reason}")]
    Validity {
        /// Why.
        reason: String,
    },
    /// rcgen refused to sign.
    #[error("cannot sign the delegate certificate: {reason}")]
    Sign {
        /// What rcgen said.
        reason: String,
    },
}

/// A CA certificate with a TNAuthList and its key, issuing delegate certificates.
pub struct DelegationCa {
    issuer: Issuer<'static, KeyPair>,
    ca: Certificate,
    scope: TnAuthList,
    chain_pem: String,
}

impl std::fmt::Debug for DelegationCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegationCa")
            .field("subject", &self.ca.subject())
            .field("scope", &self.scope.to_string())
            .finish_non_exhaustive()
    }
}

impl DelegationCa {
    /// The CA from its chain (the CA certificate first, then its issuers up to, not
    /// including, the root) and its private key, PEM. The CA must be a CA with a TNAuthList,
    /// and the key its own.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, IssueError> {
        let ca_err = |reason: String| IssueError::Ca { reason };
        let chain = parse_chain(chain_pem.as_bytes()).map_err(|e| ca_err(e.to_string()))?;
        let ca = chain
            .into_iter()
            .next()
            .ok_or_else(|| ca_err("no certificate in the chain".into()))?;
        if !ca.is_ca() {
            return Err(ca_err(format!("{} is not a CA certificate", ca.subject())));
        }
        let scope = match ca.tn_auth_list() {
            Some(Ok(list)) => list.clone(),
            Some(Err(e)) => return Err(ca_err(format!("its TNAuthList is invalid: {e}"))),
            None => return Err(ca_err(format!("{} has no TNAuthList", ca.subject()))),
        };
        let key = KeyPair::from_pem(key_pem).map_err(|e| ca_err(format!("the key: {e}")))?;
        if key.public_key_raw() != ca.public_key().key_bytes() {
            return Err(ca_err("the key is not the CA certificate's".into()));
        }
        let ca_pem = ca.to_pem();
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, key)
            .map_err(|e| ca_err(format!("the certificate: {e}")))?;
        Ok(Self {
            issuer,
            ca,
            scope,
            chain_pem: chain_pem.to_owned(),
        })
    }

    /// The numbers the CA may delegate.
    pub fn scope(&self) -> &TnAuthList {
        &self.scope
    }

    /// Issues a delegate certificate for `numbers` to the key of `csr_pem`, valid from
    /// `not_before` to `not_after` (Unix seconds, clipped to the CA's validity). Returns the
    /// x5u chain: the delegate certificate, then the CA's chain.
    pub fn issue(
        &self,
        csr_pem: &str,
        numbers: &TnAuthList,
        not_before: i64,
        not_after: i64,
    ) -> Result<String, IssueError> {
        check_scope(numbers, &self.scope)?;
        let not_before = not_before.max(self.ca.not_before());
        let not_after = not_after.min(self.ca.not_after());
        if not_after <= not_before {
            return Err(IssueError::Validity {
                reason: format!(
                    "from {not_before} to {not_after} (the CA is valid until {})",
                    self.ca.not_after()
                ),
            });
        }
        let mut csr =
            CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| IssueError::Csr {
                reason: e.to_string(),
            })?;
        let time = |t: i64| {
            time::OffsetDateTime::from_unix_timestamp(t).map_err(|e| IssueError::Validity {
                reason: e.to_string(),
            })
        };
        // What the delegate asked for is replaced by what it is given: its name, no CA,
        // digital signatures only, its numbers.
        let params = &mut csr.params;
        let name = params.distinguished_name.get(&DnType::CommonName).cloned();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = name {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params.subject_alt_names.clear();
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages.clear();
        params.use_authority_key_identifier_extension = true;
        params.not_before = time(not_before)?;
        params.not_after = time(not_after)?;
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &TN_AUTH_LIST_OID,
            numbers.to_der(),
        )];
        let serial: [u8; 16] = random_serial().map_err(|reason| IssueError::Sign { reason })?;
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let leaf = csr.signed_by(&self.issuer).map_err(|e| IssueError::Sign {
            reason: e.to_string(),
        })?;
        Ok([leaf.pem().as_str(), &self.chain_pem].concat())
    }
}

/// A positive 128-bit serial number from the OS random source.
fn random_serial() -> Result<[u8; 16], String> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| "no randomness".to_owned())?;
    if let Some(first) = serial.first_mut() {
        *first &= 0x7f;
        *first |= 0x01;
    }
    Ok(serial)
}
