//! A throw-away STI PKI for tests and development (feature `test-pki`): a root CA, an
//! intermediate CA, an SP leaf with a TNAuthList, delegate certificates and CRLs, issued with
//! rcgen. Keys are generated at call time and only ever returned as PEM strings.
//!
//! Every certificate is valid around [`TEST_NOW`] by default, so tests validate at a fixed
//! time; knobs on [`TestPkiBuilder`] produce the broken certificates negative tests need.
//!
//! ```
//! use passport::{TelephoneNumber, verify::Credential as _};
//! use pki::testpki::TestPki;
//!
//! let pki = TestPki::builder().build().unwrap();
//! let chain = pki::parse_chain(pki.chain_pem().as_bytes()).unwrap();
//! let credential = pki::validate(&chain, &pki.anchors().unwrap(), pki.now(), &[]).unwrap();
//! assert_eq!(credential.spc().unwrap().as_str(), "709J");
//! let orig = TelephoneNumber::parse("12155551212").unwrap();
//! assert!(credential.authorize_orig(&orig).is_ok());
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DistinguishedName, DnType, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use time::OffsetDateTime;

use crate::certificate::{Certificate, CertificateError, parse_chain};
use crate::tn_auth_list::{TnAuthList, TnAuthListError};
use crate::trust::{TrustAnchors, TrustError};

/// The time every test certificate is valid at by default: 2025-06-15T15:06:40Z.
pub const TEST_NOW: i64 = 1_750_000_000;

const DAY: i64 = 86_400;

/// The TNAuthList OID as rcgen wants it.
const TN_AUTH_LIST_OID: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 1, 26];

/// The kind of key to generate for a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// ECDSA P-256 (signs with SHA-256): the STI profile's key.
    P256,
    /// ECDSA P-384 (signs with SHA-384), as some real STI-CAs use.
    P384,
    /// RSA 2048 (signs with PKCS#1 v1.5 SHA-256).
    Rsa2048,
}

/// Why the test PKI could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestPkiError {
    /// rcgen refused a step.
    #[error("rcgen failed to {step}: {reason}")]
    Rcgen {
        /// What was being done.
        step: &'static str,
        /// What rcgen said.
        reason: String,
    },
    /// A time cannot be represented.
    #[error("the time {value} is out of range")]
    Time {
        /// The Unix time given.
        value: i64,
    },
    /// An issued certificate does not parse back (a bug in the test PKI or the parser).
    #[error("an issued certificate does not parse: {source}")]
    Parse {
        /// The parse error.
        source: CertificateError,
    },
    /// The root does not make a trust anchor set.
    #[error("the root is not a usable trust anchor: {source}")]
    Trust {
        /// The loading error.
        source: TrustError,
    },
    /// A TNAuthList given to the builder is invalid.
    #[error("invalid TNAuthList: {source}")]
    TnAuthList {
        /// The error.
        source: TnAuthListError,
    },
}

fn rcgen_err(step: &'static str) -> impl Fn(rcgen::Error) -> TestPkiError {
    move |e| TestPkiError::Rcgen {
        step,
        reason: e.to_string(),
    }
}

fn time_of(value: i64) -> Result<OffsetDateTime, TestPkiError> {
    OffsetDateTime::from_unix_timestamp(value).map_err(|_| TestPkiError::Time { value })
}

fn generate(kind: KeyKind) -> Result<KeyPair, TestPkiError> {
    match kind {
        KeyKind::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        KeyKind::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        KeyKind::Rsa2048 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        }
    }
    .map_err(rcgen_err("generate a key"))
}

/// A fresh 16-byte positive serial number.
fn random_serial() -> Result<Vec<u8>, TestPkiError> {
    let mut serial = vec![0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| TestPkiError::Rcgen {
        step: "draw a serial number",
        reason: "no randomness".to_owned(),
    })?;
    if let Some(first) = serial.first_mut() {
        *first = (*first & 0x7f) | 0x10;
    }
    Ok(serial)
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::OrganizationName, "callproof test PKI");
    dn.push(DnType::CommonName, cn);
    dn
}

/// What one certificate should look like.
#[derive(Debug, Clone)]
struct Spec {
    cn: String,
    key: KeyKind,
    not_before: i64,
    not_after: i64,
    serial: Option<Vec<u8>>,
}

impl Spec {
    fn params(&self) -> Result<CertificateParams, TestPkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = name(&self.cn);
        params.not_before = time_of(self.not_before)?;
        params.not_after = time_of(self.not_after)?;
        params.serial_number = Some(SerialNumber::from_slice(&match &self.serial {
            Some(serial) => serial.clone(),
            None => random_serial()?,
        }));
        params.key_identifier_method = KeyIdMethod::Sha256;
        Ok(params)
    }
}

fn ca_params(
    spec: &Spec,
    path_len: Option<u8>,
    is_ca: bool,
) -> Result<CertificateParams, TestPkiError> {
    let mut params = spec.params()?;
    params.is_ca = if is_ca {
        IsCa::Ca(path_len.map_or(
            BasicConstraints::Unconstrained,
            BasicConstraints::Constrained,
        ))
    } else {
        IsCa::ExplicitNoCa
    };
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn with_tn_auth_list(params: &mut CertificateParams, list: Option<&TnAuthList>) {
    if let Some(list) = list {
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                &TN_AUTH_LIST_OID,
                list.to_der(),
            ));
    }
}

fn leaf_params(spec: &Spec, list: Option<&TnAuthList>) -> Result<CertificateParams, TestPkiError> {
    let mut params = spec.params()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec!["http://crl.test.invalid/intermediate.crl".to_owned()],
    }];
    with_tn_auth_list(&mut params, list);
    Ok(params)
}

/// Builds a [`TestPki`]; every knob has a working default.
#[derive(Debug, Clone)]
pub struct TestPkiBuilder {
    now: i64,
    root: Spec,
    intermediate: Spec,
    leaf: Spec,
    intermediate_is_ca: bool,
    intermediate_path_len: Option<u8>,
    tn_auth_list: Option<TnAuthList>,
    tn_auth_list_error: Option<TnAuthListError>,
}

impl Default for TestPkiBuilder {
    fn default() -> Self {
        let spec = |cn: &str| Spec {
            cn: cn.to_owned(),
            key: KeyKind::P256,
            not_before: TEST_NOW - DAY,
            not_after: TEST_NOW + 365 * DAY,
            serial: None,
        };
        Self {
            now: TEST_NOW,
            root: Spec {
                not_after: TEST_NOW + 3650 * DAY,
                ..spec("callproof test SHAKEN root")
            },
            intermediate: Spec {
                not_after: TEST_NOW + 1825 * DAY,
                ..spec("callproof test SHAKEN CA")
            },
            leaf: spec("SHAKEN 709J"),
            intermediate_is_ca: true,
            intermediate_path_len: Some(0),
            tn_auth_list: TnAuthList::spc("709J").ok(),
            tn_auth_list_error: None,
        }
    }
}

impl TestPkiBuilder {
    /// Centres the default validity periods on `now` (default [`TEST_NOW`]).
    pub fn at(mut self, now: i64) -> Self {
        let shift = now - self.now;
        for spec in [&mut self.root, &mut self.intermediate, &mut self.leaf] {
            spec.not_before += shift;
            spec.not_after += shift;
        }
        self.now = now;
        self
    }

    /// The root's key (default P-256).
    pub fn root_key(mut self, kind: KeyKind) -> Self {
        self.root.key = kind;
        self
    }

    /// The intermediate's key (default P-256).
    pub fn intermediate_key(mut self, kind: KeyKind) -> Self {
        self.intermediate.key = kind;
        self
    }

    /// The leaf's key (default P-256; anything else is refused by validation).
    pub fn leaf_key(mut self, kind: KeyKind) -> Self {
        self.leaf.key = kind;
        self
    }

    /// The root's common name (two PKIs with the same root name test look-alike roots).
    pub fn root_name(mut self, cn: &str) -> Self {
        cn.clone_into(&mut self.root.cn);
        self
    }

    /// The leaf's common name (default `SHAKEN 709J`).
    pub fn leaf_name(mut self, cn: &str) -> Self {
        cn.clone_into(&mut self.leaf.cn);
        self
    }

    /// The leaf's TNAuthList (default: SPC `709J`).
    pub fn tn_auth_list(mut self, list: TnAuthList) -> Self {
        self.tn_auth_list = Some(list);
        self
    }

    /// The leaf's TNAuthList from entries; an invalid list fails [`TestPkiBuilder::build`].
    pub fn tn_entries(mut self, entries: Vec<crate::TnEntry>) -> Self {
        match TnAuthList::new(entries) {
            Ok(list) => self.tn_auth_list = Some(list),
            Err(e) => self.tn_auth_list_error = Some(e),
        }
        self
    }

    /// A leaf without the TNAuthList extension.
    pub fn no_tn_auth_list(mut self) -> Self {
        self.tn_auth_list = None;
        self
    }

    /// The leaf's validity period, Unix seconds.
    pub fn leaf_validity(mut self, not_before: i64, not_after: i64) -> Self {
        self.leaf.not_before = not_before;
        self.leaf.not_after = not_after;
        self
    }

    /// The intermediate's validity period, Unix seconds.
    pub fn intermediate_validity(mut self, not_before: i64, not_after: i64) -> Self {
        self.intermediate.not_before = not_before;
        self.intermediate.not_after = not_after;
        self
    }

    /// The root's validity period, Unix seconds.
    pub fn root_validity(mut self, not_before: i64, not_after: i64) -> Self {
        self.root.not_before = not_before;
        self.root.not_after = not_after;
        self
    }

    /// An intermediate with basicConstraints `cA=FALSE` (it still signs the leaf).
    pub fn intermediate_not_ca(mut self) -> Self {
        self.intermediate_is_ca = false;
        self
    }

    /// The intermediate's pathLenConstraint (default 0; `None` for unconstrained).
    pub fn intermediate_path_len(mut self, path_len: Option<u8>) -> Self {
        self.intermediate_path_len = path_len;
        self
    }

    /// The leaf's serial number (default: 16 random bytes).
    pub fn leaf_serial(mut self, serial: &[u8]) -> Self {
        self.leaf.serial = Some(serial.to_vec());
        self
    }

    /// Generates the keys and issues the three certificates.
    pub fn build(self) -> Result<TestPki, TestPkiError> {
        if let Some(source) = self.tn_auth_list_error {
            return Err(TestPkiError::TnAuthList { source });
        }
        let root_key = generate(self.root.key)?;
        let mut root_params = ca_params(&self.root, None, true)?;
        root_params.use_authority_key_identifier_extension = false;
        let root_cert = root_params
            .self_signed(&root_key)
            .map_err(rcgen_err("self-sign the root"))?;
        let root = Issuer::new(root_params, root_key);

        let intermediate_key = generate(self.intermediate.key)?;
        let mut intermediate_params = ca_params(
            &self.intermediate,
            self.intermediate_path_len,
            self.intermediate_is_ca,
        )?;
        intermediate_params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec!["http://crl.test.invalid/root.crl".to_owned()],
        }];
        let intermediate_cert = intermediate_params
            .signed_by(&intermediate_key, &root)
            .map_err(rcgen_err("issue the intermediate"))?;
        let intermediate = Issuer::new(intermediate_params, intermediate_key);

        let leaf_key = generate(self.leaf.key)?;
        let leaf_cert = leaf_params(&self.leaf, self.tn_auth_list.as_ref())?
            .signed_by(&leaf_key, &intermediate)
            .map_err(rcgen_err("issue the leaf"))?;

        Ok(TestPki {
            root_pem: root_cert.pem(),
            intermediate_pem: intermediate_cert.pem(),
            leaf_pem: leaf_cert.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            root,
            intermediate,
            now: self.now,
        })
    }
}

/// A delegate certificate (RFC 9060) and the SP CA certificate that issued it.
#[derive(Debug, Clone)]
pub struct DelegateChain {
    /// The SP's CA certificate (cA, with the delegating TNAuthList), signed by the
    /// intermediate.
    pub ca_pem: String,
    /// The delegate end-entity certificate.
    pub leaf_pem: String,
    /// The delegate's P-256 key, PKCS#8 PEM.
    pub leaf_key_pem: String,
    intermediate_pem: String,
}

impl DelegateChain {
    /// The x5u body: delegate leaf, SP CA, intermediate.
    pub fn chain_pem(&self) -> String {
        [self.leaf_pem.as_str(), &self.ca_pem, &self.intermediate_pem].concat()
    }
}

/// A generated PKI: root, intermediate and SP leaf, as PEM, with the CA keys kept to issue
/// more (delegates, CRLs).
pub struct TestPki {
    /// The root CA certificate (the trust anchor).
    pub root_pem: String,
    /// The intermediate CA certificate.
    pub intermediate_pem: String,
    /// The SP leaf certificate.
    pub leaf_pem: String,
    /// The leaf's private key, PKCS#8 PEM (loads with `passport::key::SigningKey::from_pem`).
    pub leaf_key_pem: String,
    root: Issuer<'static, KeyPair>,
    intermediate: Issuer<'static, KeyPair>,
    now: i64,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// A builder with the defaults: P-256 everywhere, SPC `709J`, valid at [`TEST_NOW`].
    pub fn builder() -> TestPkiBuilder {
        TestPkiBuilder::default()
    }

    /// The time the PKI was built for.
    pub const fn now(&self) -> i64 {
        self.now
    }

    /// The x5u body: leaf then intermediate, PEM.
    pub fn chain_pem(&self) -> String {
        [self.leaf_pem.as_str(), &self.intermediate_pem].concat()
    }

    /// The parsed chain (leaf, intermediate).
    pub fn chain(&self) -> Result<Vec<Certificate>, TestPkiError> {
        parse_chain(self.chain_pem().as_bytes()).map_err(|source| TestPkiError::Parse { source })
    }

    /// The parsed leaf.
    pub fn leaf(&self) -> Result<Certificate, TestPkiError> {
        parse_single(&self.leaf_pem)
    }

    /// The parsed intermediate.
    pub fn intermediate(&self) -> Result<Certificate, TestPkiError> {
        parse_single(&self.intermediate_pem)
    }

    /// The root as the only trust anchor.
    pub fn anchors(&self) -> Result<TrustAnchors, TestPkiError> {
        TrustAnchors::from_pem_bundle(self.root_pem.as_bytes())
            .map_err(|source| TestPkiError::Trust { source })
    }

    /// Issues a delegation CA certificate (cA, with `scope` as its TNAuthList) under the
    /// intermediate: its PEM and its key's PEM, for [`crate::issue::DelegationCa`].
    pub fn issue_delegation_ca(
        &self,
        scope: &TnAuthList,
    ) -> Result<(String, String), TestPkiError> {
        let spec = Spec {
            cn: "SHAKEN delegation CA".to_owned(),
            key: KeyKind::P256,
            not_before: self.now - DAY,
            not_after: self.now + 365 * DAY,
            serial: None,
        };
        let key = generate(KeyKind::P256)?;
        let mut ca = ca_params(&spec, Some(0), true)?;
        with_tn_auth_list(&mut ca, Some(scope));
        let cert = ca
            .signed_by(&key, &self.intermediate)
            .map_err(rcgen_err("issue the delegation CA"))?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// Issues an SP CA certificate with `ca_scope` under the intermediate, and a delegate
    /// leaf with `leaf_scope` under it (neither scope is checked here: that is the point).
    pub fn issue_delegate(
        &self,
        ca_scope: &TnAuthList,
        leaf_scope: &TnAuthList,
    ) -> Result<DelegateChain, TestPkiError> {
        let spec = |cn: &str| Spec {
            cn: cn.to_owned(),
            key: KeyKind::P256,
            not_before: self.now - DAY,
            not_after: self.now + 365 * DAY,
            serial: None,
        };
        let ca_key = generate(KeyKind::P256)?;
        let mut ca = ca_params(&spec("SHAKEN 709J delegating CA"), Some(0), true)?;
        with_tn_auth_list(&mut ca, Some(ca_scope));
        let ca_cert = ca
            .signed_by(&ca_key, &self.intermediate)
            .map_err(rcgen_err("issue the SP CA"))?;
        let ca_issuer = Issuer::new(ca, ca_key);

        let leaf_key = generate(KeyKind::P256)?;
        let leaf_cert = leaf_params(&spec("SHAKEN delegate call centre"), Some(leaf_scope))?
            .signed_by(&leaf_key, &ca_issuer)
            .map_err(rcgen_err("issue the delegate"))?;
        Ok(DelegateChain {
            ca_pem: ca_cert.pem(),
            leaf_pem: leaf_cert.pem(),
            leaf_key_pem: leaf_key.serialize_pem(),
            intermediate_pem: self.intermediate_pem.clone(),
        })
    }

    /// A CRL signed by the intermediate, listing `revoked` serial numbers, valid from
    /// `this_update` to `next_update` (Unix seconds). PEM.
    pub fn intermediate_crl(
        &self,
        revoked: &[&[u8]],
        this_update: i64,
        next_update: i64,
    ) -> Result<String, TestPkiError> {
        crl(&self.intermediate, revoked, this_update, next_update)
    }

    /// A CRL signed by the root (it revokes intermediates). PEM.
    pub fn root_crl(
        &self,
        revoked: &[&[u8]],
        this_update: i64,
        next_update: i64,
    ) -> Result<String, TestPkiError> {
        crl(&self.root, revoked, this_update, next_update)
    }
}

/// A P-256 key and a certificate signing request for it with common name `cn`: the CSR
/// and the key, PEM (what a delegate sends to its delegation CA).
pub fn csr_pem(cn: &str) -> Result<(String, String), TestPkiError> {
    let key = generate(KeyKind::P256)?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    let csr = params
        .serialize_request(&key)
        .map_err(rcgen_err("make a CSR"))?;
    let pem = csr.pem().map_err(rcgen_err("encode a CSR"))?;
    Ok((pem, key.serialize_pem()))
}

fn parse_single(pem: &str) -> Result<Certificate, TestPkiError> {
    let mut certs = parse_chain(pem.as_bytes()).map_err(|source| TestPkiError::Parse { source })?;
    certs.pop().ok_or(TestPkiError::Parse {
        source: CertificateError::NoCertificate,
    })
}

fn crl(
    issuer: &Issuer<'static, KeyPair>,
    revoked: &[&[u8]],
    this_update: i64,
    next_update: i64,
) -> Result<String, TestPkiError> {
    let revoked_certs = revoked
        .iter()
        .map(|serial| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: time_of(this_update)?,
                reason_code: None,
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>, TestPkiError>>()?;
    let params = CertificateRevocationListParams {
        this_update: time_of(this_update)?,
        next_update: time_of(next_update)?,
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params
        .signed_by(issuer)
        .map_err(rcgen_err("sign the CRL"))?
        .pem()
        .map_err(rcgen_err("encode the CRL"))
}
