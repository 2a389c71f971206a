//! The signing pipeline (STI-AS): a call from an identified caller in, Identity header
//! values out.
//!
//! The attestation is the weaker of what the caller asks for and what the inventory grants
//! (A only for a customer's own numbers, B for a known customer, C for a gateway call), so
//! no request can raise it. Brand policy ([`crate::brand`]) comes first: it refuses
//! Do-Not-Originate numbers, a brand's numbers used without its authority and marketing to
//! opted-out numbers; a brand's call gets A (the brand vouches for its caller) and its Rich
//! Call Data (name, logo with its `rcdi` digest, call reason): in the SHAKEN PASSporT by
//! default, or in an `rcd` PASSporT of its own ([`RcdMode`]). The signing key and certificate URL can be replaced while the
//! service runs (certificate rotation): calls in flight finish with the signer they began
//! with.

use std::sync::Arc;

use arc_swap::ArcSwap;
use passport::claims::{Attestation, Claims, Party, Rcd};
use passport::jws::Ppt;
use passport::sign::Signer;
use passport::{SignError, TelephoneNumber};
use store::Customer;

use crate::brand::{BrandCache, BrandCheck, BrandGrant, BrandRefusal};
use crate::inventory::InventoryCache;

/// A call to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    /// The caller, as identified by trunk address or API key (`None`: unknown, a gateway).
    pub customer: Option<Customer>,
    /// The calling number.
    pub orig: TelephoneNumber,
    /// The called number(s).
    pub dest: Vec<TelephoneNumber>,
    /// Issued-at, Unix seconds.
    pub iat: i64,
    /// The attestation the caller asks for, if it says.
    pub requested_attest: Option<Attestation>,
    /// The origid the caller gives (ATIS requests carry one); default: the customer's, or a
    /// fresh one for a gateway call.
    pub origid: Option<String>,
    /// The call reason (a brand's reason code or text), if the caller gives one.
    pub reason: Option<String>,
}

/// A diverted call to sign a `div` PASSporT for (RFC 8946).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DivRequest {
    /// The calling number (unchanged by the diversion).
    pub orig: TelephoneNumber,
    /// The new destination.
    pub dest: TelephoneNumber,
    /// The number the call was first sent to (the diverting party).
    pub diverted_from: TelephoneNumber,
    /// Issued-at, Unix seconds.
    pub iat: i64,
}

/// A signed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The Identity header value(s), in order.
    pub identities: Vec<String>,
    /// The attestation signed.
    pub attest: Attestation,
    /// The origid signed.
    pub origid: String,
    /// The brand the call was signed for, with its `rcd` PASSporT (the last identity).
    pub brand: Option<BrandGrant>,
    /// For a brand's call: its calling and called numbers, for the call registry.
    pub brand_call: Option<(TelephoneNumber, Vec<TelephoneNumber>)>,
}

/// Where a brand's Rich Call Data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RcdMode {
    /// In the SHAKEN PASSporT itself (`rcd`, `rcdi`, `crn` claims beside `attest`, as
    /// ATIS-1000094 deploys it): one signature and one Identity header per call.
    #[default]
    Shaken,
    /// In a PASSporT of its own (`ppt=rcd`, RFC 9795), after the SHAKEN one: two
    /// signatures and two Identity headers.
    Separate,
}

/// Why a call was not signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// Brand policy refused it (the caller's doing).
    #[error(transparent)]
    Refused(#[from] BrandRefusal),
    /// Signing failed (a fault on this side).
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The STI-AS.
#[derive(Debug)]
pub struct SigningService {
    signer: ArcSwap<Signer>,
    inventory: InventoryCache,
    brands: Arc<BrandCache>,
    rcd_mode: RcdMode,
}

impl SigningService {
    /// A service signing with `signer`, attesting from `inventory`, applying the brand
    /// policy of `brands`.
    pub fn new(signer: Signer, inventory: InventoryCache, brands: Arc<BrandCache>) -> Self {
        Self {
            signer: ArcSwap::from_pointee(signer),
            inventory,
            brands,
            rcd_mode: RcdMode::default(),
        }
    }

    /// Puts brands' Rich Call Data where `mode` says.
    #[must_use]
    pub fn with_rcd_mode(mut self, mode: RcdMode) -> Self {
        self.rcd_mode = mode;
        self
    }

    /// The brand policy the service applies.
    pub fn brands(&self) -> &Arc<BrandCache> {
        &self.brands
    }

    /// Replaces the key and certificate URL (rotation without downtime).
    pub fn rotate(&self, signer: Signer) {
        self.signer.store(Arc::new(signer));
    }

    /// The certificate URL currently signed into `x5u`.
    pub fn x5u(&self) -> String {
        self.signer.load().x5u().to_owned()
    }

    /// The inventory the service attests from.
    pub fn inventory(&self) -> &InventoryCache {
        &self.inventory
    }

    /// Signs a SHAKEN PASSporT for the call, and an `rcd` PASSporT after it when the
    /// calling number is a brand's.
    pub fn sign(&self, request: SignRequest) -> Result<Signed, SigningError> {
        let customer_id = request.customer.as_ref().map(|c| c.id);
        let grant = self.brands.decide(&BrandCheck {
            customer: customer_id,
            orig: &request.orig,
            dest: &request.dest,
            reason: request.reason.as_deref(),
            now: request.iat,
        })?;
        let earned = match &grant {
            // The brand itself, or a partner it authorised for this number.
            Some(_) => Attestation::A,
            None => self.inventory.get().attestation(customer_id, &request.orig),
        };
        let attest = match request.requested_attest {
            Some(asked) => weaker(asked, earned),
            None => earned,
        };
        let origid = request
            .origid
            .or_else(|| request.customer.as_ref().map(|c| c.origid.clone()))
            .unwrap_or_else(|| GATEWAY_ORIGID.to_owned());
        let signer = self.signer.load();
        let brand_call = grant.as_ref().map(|_| (request.orig, request.dest.clone()));
        let separate = match (&grant, self.rcd_mode) {
            (Some(g), RcdMode::Separate) => Some(rcd_claims(
                g,
                request.iat,
                request.orig,
                request.dest.clone(),
            )),
            _ => None,
        };
        let mut claims = Claims::shaken(
            request.iat,
            request.orig,
            request.dest,
            attest,
            origid.clone(),
        );
        if let (Some(g), RcdMode::Shaken) = (&grant, self.rcd_mode) {
            add_rcd(&mut claims, g);
        }
        let mut identities = vec![signer.sign_identity(&claims)?];
        if let Some(rcd) = separate {
            identities.push(signer.sign_identity_ppt(Ppt::Rcd, &rcd)?);
        }
        Ok(Signed {
            identities,
            attest,
            origid,
            brand: grant,
            brand_call,
        })
    }

    /// Signs a `div` PASSporT for a diverted call.
    pub fn sign_div(&self, request: &DivRequest) -> Result<String, SignError> {
        let mut claims = Claims::shaken(
            request.iat,
            request.orig,
            vec![request.dest],
            Attestation::C,
            "",
        );
        claims.attest = None;
        claims.origid = None;
        claims.div = Some(Party::Tn(request.diverted_from));
        self.signer.load().sign_identity_ppt(Ppt::Div, &claims)
    }
}

/// The claims of a brand's own `rcd` PASSporT (RFC 9795).
fn rcd_claims(
    grant: &BrandGrant,
    iat: i64,
    orig: TelephoneNumber,
    dest: Vec<TelephoneNumber>,
) -> Claims {
    let mut claims = Claims::shaken(iat, orig, dest, Attestation::C, "");
    claims.attest = None;
    claims.origid = None;
    add_rcd(&mut claims, grant);
    claims
}

/// Adds a brand's Rich Call Data to `claims`: its display name, its logo with the logo's
/// digest in `rcdi`, and the call reason in `crn`.
fn add_rcd(claims: &mut Claims, grant: &BrandGrant) {
    let brand = &grant.brand.brand;
    let icn = grant
        .brand
        .logo_url
        .clone()
        .filter(|_| brand.logo.is_some());
    claims.rcdi = brand
        .logo
        .as_ref()
        .filter(|_| icn.is_some())
        .map(|logo| [("/icn".to_owned(), logo.digest.clone())].into());
    claims.rcd = Some(Rcd {
        nam: Some(brand.display_name.clone()),
        icn,
        ..Rcd::default()
    });
    claims.crn = grant.reason.as_ref().map(|r| r.text.clone());
}

/// The origid of calls from no known customer: a fixed, recognisable UUID, so gateway
/// traffic can be traced as such.
pub const GATEWAY_ORIGID: &str = "00000000-0000-4000-8000-000000000000";

/// The weaker of two attestation levels (A > B > C).
pub const fn weaker(a: Attestation, b: Attestation) -> Attestation {
    match (a, b) {
        (Attestation::C, _) | (_, Attestation::C) => Attestation::C,
        (Attestation::B, _) | (_, Attestation::B) => Attestation::B,
        (Attestation::A, Attestation::A) => Attestation::A,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passport::key::SigningKey;
    use store::NumberBlock;

    #[test]
    fn weaker_never_raises() {
        use Attestation::{A, B, C};
        for (a, b, w) in [
            (A, A, A),
            (A, B, B),
            (B, A, B),
            (A, C, C),
            (C, A, C),
            (B, C, C),
            (B, B, B),
        ] {
            assert_eq!(weaker(a, b), w);
        }
    }

    #[tokio::test]
    async fn attestation_comes_from_the_inventory_and_cannot_be_raised() {
        let store = store::sqlite::SqliteStore::open_in_memory().await.unwrap();
        let acme = <dyn store::Store>::create_customer(&store, "acme", None)
            .await
            .unwrap();
        let tn = |s: &str| TelephoneNumber::parse(s).unwrap();
        <dyn store::Store>::add_numbers(
            &store,
            acme.id,
            &[NumberBlock::new(tn("12155550000"), 100).unwrap()],
        )
        .await
        .unwrap();
        let inventory = InventoryCache::load(&store).await.unwrap();
        let service = SigningService::new(
            Signer::new(SigningKey::generate().unwrap(), "https://x.example/c.pem").unwrap(),
            inventory,
            Arc::new(BrandCache::empty("https://x.example")),
        );
        let req = |customer: Option<&Customer>, orig: &str, asked| SignRequest {
            customer: customer.cloned(),
            orig: tn(orig),
            dest: vec![tn("12125551213")],
            iat: 1,
            requested_attest: asked,
            origid: None,
            reason: None,
        };
        let signed = service.sign(req(Some(&acme), "12155550042", None)).unwrap();
        assert_eq!(
            (signed.attest, signed.origid.as_str()),
            (Attestation::A, acme.origid.as_str())
        );
        assert_eq!(
            service
                .sign(req(Some(&acme), "12155550042", Some(Attestation::B)))
                .unwrap()
                .attest,
            Attestation::B
        );
        assert_eq!(
            service
                .sign(req(Some(&acme), "19995550042", Some(Attestation::A)))
                .unwrap()
                .attest,
            Attestation::B
        );
        let gateway = service
            .sign(req(None, "12155550042", Some(Attestation::A)))
            .unwrap();
        assert_eq!(
            (gateway.attest, gateway.origid.as_str()),
            (Attestation::C, GATEWAY_ORIGID)
        );
    }
}
