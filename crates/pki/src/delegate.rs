//! Delegate certificates (RFC 9060): a certificate holder with a TNAuthList, itself a CA,
//! issues certificates for part of its numbers (a carrier to an enterprise, an enterprise to
//! its call centre). A delegate's scope must lie within its issuer's.
//!
//! The rule applied by [`check_scope`], entry by entry of the delegate's TNAuthList:
//! - a **TN** is in scope when the issuer lists it, or holds it in a range (or in adjacent
//!   ranges and TNs that together cover it);
//! - a **range** is in scope when the issuer's ranges and TNs of the same length together
//!   cover every number of it;
//! - an **SPC** is in scope only when the issuer lists the same SPC: a Service Provider Code
//!   cannot be narrowed, so only the provider itself can pass it on;
//! - when the issuer holds an **SPC**, any TN or range is in scope. The verifier has no way
//!   to learn which numbers an SPC holds (STIR/SHAKEN has no number-portability lookup), and
//!   it needs none: an SPC certificate may already sign for any calling number (see
//!   [`crate::tn_auth_list`]), so a delegate limited to some numbers never holds more
//!   authority than its issuer. Whether the provider really serves those numbers stays the
//!   provider's responsibility, as with its attestation.

use passport::TelephoneNumber;

use crate::certificate::Certificate;
use crate::tn_auth_list::{self, TnAuthList, TnAuthListError, TnEntry, TnRange};

/// Why a delegate certificate exceeds its issuer's scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DelegationError {
    /// The issuer has no TNAuthList, so it cannot delegate numbers.
    #[error("the issuer {issuer} has no TNAuthList to delegate from")]
    IssuerHasNoTnAuthList {
        /// The issuer's subject.
        issuer: String,
    },
    /// The delegate has no TNAuthList.
    #[error("the delegate certificate {subject} has no TNAuthList")]
    DelegateHasNoTnAuthList {
        /// The delegate's subject.
        subject: String,
    },
    /// A TNAuthList in the pair cannot be decoded.
    #[error("the TNAuthList of {subject} is malformed: {source}")]
    MalformedTnAuthList {
        /// Whose list.
        subject: String,
        /// The decoding error.
        source: TnAuthListError,
    },
    /// The delegate lists an SPC its issuer does not hold.
    #[error("SPC {spc} is not in the issuer's TNAuthList")]
    SpcOutOfScope {
        /// The SPC.
        spc: String,
    },
    /// The delegate lists a number its issuer does not hold.
    #[error("TN {tn} is outside the issuer's TNAuthList")]
    TnOutOfScope {
        /// The number.
        tn: TelephoneNumber,
    },
    /// The delegate lists a range its issuer does not wholly hold.
    #[error("range {range} is outside the issuer's TNAuthList")]
    RangeOutOfScope {
        /// The range.
        range: TnRange,
    },
}

/// Checks that the delegate certificate `child`'s TNAuthList lies within that of `issuer`.
pub fn check_delegation(child: &Certificate, issuer: &Certificate) -> Result<(), DelegationError> {
    let parent = match issuer.tn_auth_list() {
        None => {
            return Err(DelegationError::IssuerHasNoTnAuthList {
                issuer: issuer.subject().to_owned(),
            });
        }
        Some(Err(source)) => {
            return Err(DelegationError::MalformedTnAuthList {
                subject: issuer.subject().to_owned(),
                source: source.clone(),
            });
        }
        Some(Ok(list)) => list,
    };
    let delegated = match child.tn_auth_list() {
        None => {
            return Err(DelegationError::DelegateHasNoTnAuthList {
                subject: child.subject().to_owned(),
            });
        }
        Some(Err(source)) => {
            return Err(DelegationError::MalformedTnAuthList {
                subject: child.subject().to_owned(),
                source: source.clone(),
            });
        }
        Some(Ok(list)) => list,
    };
    check_scope(delegated, parent)
}

/// Checks that every entry of `child` lies within `parent` (module docs give the rule).
pub fn check_scope(child: &TnAuthList, parent: &TnAuthList) -> Result<(), DelegationError> {
    let parent_has_spc = parent.has_spc();
    let intervals = merged_intervals(parent);
    for entry in child.entries() {
        match entry {
            TnEntry::Spc(spc) => {
                let held = parent
                    .entries()
                    .iter()
                    .any(|e| matches!(e, TnEntry::Spc(p) if p == spc));
                if !held {
                    return Err(DelegationError::SpcOutOfScope {
                        spc: spc.as_str().to_owned(),
                    });
                }
            }
            TnEntry::One(tn) => {
                let held = parent_has_spc
                    || parent
                        .entries()
                        .iter()
                        .any(|e| matches!(e, TnEntry::One(p) if p == tn))
                    || tn_auth_list::numeric(tn)
                        .is_some_and(|(len, n)| within(&intervals, len, n, n));
                if !held {
                    return Err(DelegationError::TnOutOfScope { tn: *tn });
                }
            }
            TnEntry::Range(range) => {
                let (len, lo, hi) = range.interval();
                if !parent_has_spc && !within(&intervals, len, lo, hi) {
                    return Err(DelegationError::RangeOutOfScope { range: *range });
                }
            }
        }
    }
    Ok(())
}

/// The parent's numeric TNs and ranges as merged `(length, first, last)` intervals.
fn merged_intervals(parent: &TnAuthList) -> Vec<(u8, u128, u128)> {
    let mut all: Vec<(u8, u128, u128)> = parent
        .entries()
        .iter()
        .filter_map(|e| match e {
            TnEntry::Range(r) => Some(r.interval()),
            TnEntry::One(tn) => tn_auth_list::numeric(tn).map(|(len, n)| (len, n, n)),
            TnEntry::Spc(_) => None,
        })
        .collect();
    all.sort_unstable();
    let mut merged: Vec<(u8, u128, u128)> = Vec::with_capacity(all.len());
    for (len, lo, hi) in all {
        match merged.last_mut() {
            Some((m_len, _, m_hi)) if *m_len == len && lo <= m_hi.saturating_add(1) => {
                *m_hi = (*m_hi).max(hi);
            }
            _ => merged.push((len, lo, hi)),
        }
    }
    merged
}

fn within(intervals: &[(u8, u128, u128)], len: u8, lo: u128, hi: u128) -> bool {
    intervals
        .iter()
        .any(|&(i_len, i_lo, i_hi)| i_len == len && i_lo <= lo && hi <= i_hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tn_auth_list::ServiceProviderCode;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::from_canonical(s).unwrap()
    }
    fn range(s: &str, n: u64) -> TnEntry {
        TnEntry::Range(TnRange::new(tn(s), n).unwrap())
    }
    fn one(s: &str) -> TnEntry {
        TnEntry::One(tn(s))
    }
    fn spc(s: &str) -> TnEntry {
        TnEntry::Spc(ServiceProviderCode::new(s).unwrap())
    }
    fn list(entries: Vec<TnEntry>) -> TnAuthList {
        TnAuthList::new(entries).unwrap()
    }

    #[test]
    fn numbers_within_ranges_and_tns_are_in_scope() {
        let parent = list(vec![
            range("12155551200", 100),
            one("12155551300"),
            one("1#"),
        ]);
        for child in [
            vec![one("12155551250")],
            vec![range("12155551210", 10)],
            vec![range("12155551200", 100)],
            // spans the range and the adjacent single TN
            vec![range("12155551290", 11)],
            vec![one("1#"), one("12155551300")],
        ] {
            assert_eq!(
                check_scope(&list(child.clone()), &parent),
                Ok(()),
                "{child:?}"
            );
        }
    }

    #[test]
    fn numbers_outside_are_refused() {
        let parent = list(vec![range("12155551200", 100), one("12155551300")]);
        assert_eq!(
            check_scope(&list(vec![one("12155551301")]), &parent),
            Err(DelegationError::TnOutOfScope {
                tn: tn("12155551301")
            })
        );
        assert!(matches!(
            check_scope(&list(vec![range("12155551290", 12)]), &parent),
            Err(DelegationError::RangeOutOfScope { .. })
        ));
        // Same digits, different length.
        assert!(check_scope(&list(vec![one("121555512500")]), &parent).is_err());
        assert!(check_scope(&list(vec![one("1#")]), &parent).is_err());
        assert_eq!(
            check_scope(&list(vec![spc("709J")]), &parent),
            Err(DelegationError::SpcOutOfScope {
                spc: "709J".to_owned()
            })
        );
    }

    #[test]
    fn an_spc_issuer_may_delegate_numbers_and_only_its_own_spc() {
        let parent = list(vec![spc("709J")]);
        assert_eq!(
            check_scope(
                &list(vec![one("442071234567"), range("12155551200", 50)]),
                &parent
            ),
            Ok(())
        );
        assert_eq!(check_scope(&list(vec![spc("709J")]), &parent), Ok(()));
        assert!(matches!(
            check_scope(&list(vec![spc("123K")]), &parent),
            Err(DelegationError::SpcOutOfScope { .. })
        ));
    }
}
