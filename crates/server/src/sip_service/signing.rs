//! The signing service's answer to an INVITE (STI-AS, RFC 8224 section 5 as a redirect
//! server): the caller is the customer whose trunk covers the source address; the calling
//! number is the P-Asserted-Identity's, else the From's; the called number the To's, else
//! the Request-URI's. The answer is `302` with `Contact: <Request-URI>` and one `Identity`
//! per PASSporT signed.
//!
//! The calling number may be a brand's (see `engine::brand`): brand policy may refuse the
//! call (`403 Forbidden` with a `Warning` saying why), and a brand's call gets a second
//! Identity header with its `rcd` PASSporT. The call reason comes from the `call-reason`
//! parameter of the INVITE's `Call-Info` (RFC 9796).
//!
//! A diverted call (RFC 8946) arrives already signed, with Diversion or History-Info
//! showing the retargeting: it keeps its Identity headers and gains a `div` PASSporT for
//! the new destination (the Request-URI), diverted from the destination of the last
//! PASSporT it carries (or, failing that, the most recent Diversion or the previous
//! History-Info entry).

use std::net::SocketAddr;

use engine::signing::{DivRequest, SignRequest, SigningError};
use passport::TelephoneNumber;
use passport::identity::{IdentityHeader, Token};
use sip::header::{HeaderName, Headers, NameAddr};
use sip::{Request, Response, SipError};

use super::{SipService, SipServiceError, check_require};
use crate::rest::atis::unix_now;

/// Answers an INVITE from `peer`.
pub(super) fn answer(
    service: &SipService,
    request: &Request,
    peer: SocketAddr,
    tag: &str,
) -> Result<Response, SipServiceError> {
    let state = &service.state;
    let customer = state
        .inventory
        .get()
        .caller_by_address(peer.ip())
        .cloned()
        .ok_or(SipServiceError::UnknownSource { addr: peer.ip() })?;
    check_require(request)?;
    let headers = request.headers();
    let (orig, _) = calling_party(headers)?;
    let iat = unix_now();
    let existing: Vec<&str> = headers.identities().collect();
    let mut response = service.redirect(request, tag)?;

    if !existing.is_empty() && is_retargeted(headers)? {
        let dest = request
            .uri_tn()
            .map_err(|source| SipServiceError::NoDestination { source })?;
        let diverted_from =
            diverted_from(&existing, headers)?.ok_or(SipServiceError::UnknownDiversion)?;
        for identity in &existing {
            response = response.with_header(HeaderName::IDENTITY, identity)?;
        }
        // Retargeted to the number it was already for: nothing was diverted.
        if diverted_from != dest {
            // A div PASSporT says the diverting number sent the call on (RFC 8946): only
            // that number's owner may have it signed.
            if state.inventory.get().owner(&diverted_from) != Some(customer.id) {
                return Err(SipServiceError::DiversionNotOwned {
                    number: diverted_from,
                });
            }
            let div = state.signing.sign_div(&DivRequest {
                orig,
                dest,
                diverted_from,
                iat,
            })?;
            response = response.with_header(HeaderName::IDENTITY, &div)?;
        }
        return Ok(response);
    }

    let dest = called_number(request)?;
    let signed = state
        .signing
        .sign(SignRequest {
            customer: Some(customer),
            orig,
            dest: vec![dest],
            iat,
            requested_attest: None,
            origid: None,
            reason: call_reason(headers),
        })
        .map_err(|e| {
            if let SigningError::Refused(refusal) = &e {
                state.brand_refusal(refusal, iat);
            }
            SipServiceError::from(e)
        })?;
    state.metrics.observe_attestation(signed.attest);
    state.record_signed(&signed, iat);
    for identity in &signed.identities {
        response = response.with_header(HeaderName::IDENTITY, identity)?;
    }
    Ok(response)
}

/// The calling number and the header value it came from: the first P-Asserted-Identity
/// that holds a number, else From.
pub(super) fn calling_party(
    headers: &Headers,
) -> Result<(TelephoneNumber, NameAddr), SipServiceError> {
    let bad = |source| SipServiceError::BadRequest { source };
    for asserted in headers.p_asserted_identities().map_err(bad)? {
        if let Ok(tn) = asserted.telephone_number() {
            return Ok((tn, asserted));
        }
    }
    let tn = headers.from_tn().map_err(bad)?;
    Ok((tn, headers.from().map_err(bad)?))
}

/// The call reason the caller asks for: the `call-reason` parameter of a `Call-Info`
/// header (RFC 9796), a brand's reason code or text.
fn call_reason(headers: &Headers) -> Option<String> {
    headers
        .get_all(&HeaderName::CALL_INFO)
        .find_map(reason_param)
}

/// The `call-reason` parameter of one `Call-Info` value (`<uri>;purpose=...;
/// call-reason="..."`), unquoted.
fn reason_param(value: &str) -> Option<String> {
    let mut rest = value.get(value.find('>')? + 1..)?;
    loop {
        rest = rest.get(rest.find(';')? + 1..)?.trim_start();
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest.get(..name_end)?.trim();
        let after = rest.get(name_end..)?;
        let Some(raw) = after.strip_prefix('=') else {
            rest = after;
            continue;
        };
        let raw = raw.trim_start();
        let (text, used) = match raw.strip_prefix('"') {
            Some(quoted) => unquote(quoted)?,
            None => {
                let end = raw.find(';').unwrap_or(raw.len());
                (raw.get(..end)?.trim().to_owned(), end)
            }
        };
        if name.eq_ignore_ascii_case("call-reason") {
            return Some(text).filter(|t| !t.is_empty());
        }
        rest = raw.get(used..)?;
    }
}

/// The text of a quoted string whose opening quote was removed, and the bytes it took
/// (with the quotes).
fn unquote(s: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 2)),
            '\\' => out.push(chars.next()?.1),
            c => out.push(c),
        }
    }
    None
}

/// The called number: To's, else the Request-URI's.
fn called_number(request: &Request) -> Result<TelephoneNumber, SipServiceError> {
    request
        .headers()
        .to_tn()
        .or_else(|_| request.uri_tn())
        .map_err(|source| SipServiceError::NoDestination { source })
}

/// True when Diversion or History-Info (two entries or more) show that the call was
/// retargeted.
fn is_retargeted(headers: &Headers) -> Result<bool, SipServiceError> {
    let bad = |source| SipServiceError::BadRequest { source };
    if !headers.diversions().map_err(bad)?.is_empty() {
        return Ok(true);
    }
    Ok(headers.history_info().map_err(bad)?.len() >= 2)
}

/// The number the call was diverted from: the destination of the last PASSporT that can
/// be read (RFC 8946: a `div` PASSporT chains from the `dest` of the one before it), else
/// the most recent Diversion, else the History-Info entry before the last.
///
/// The PASSporTs are only decoded here, not verified: signing a `div` vouches for this
/// service's own retargeting, not for the PASSporTs before it, which a verifier checks.
fn diverted_from(
    existing: &[&str],
    headers: &Headers,
) -> Result<Option<TelephoneNumber>, SipServiceError> {
    let from_passport = existing.iter().rev().find_map(|value| {
        let header = IdentityHeader::parse(value).ok()?;
        let Token::Full(token) = header.token else {
            return None;
        };
        let decoded = passport::jws::decode(token).ok()?;
        decoded.claims.dest.tn.first().copied()
    });
    if from_passport.is_some() {
        return Ok(from_passport);
    }
    let bad = |source| SipServiceError::BadRequest { source };
    if let Some(diversion) = headers.diversions().map_err(bad)?.first() {
        return diversion.telephone_number().map(Some).map_err(|source| {
            SipServiceError::BadRequest {
                source: SipError::NotATelephoneNumber {
                    header: "Diversion",
                    source,
                },
            }
        });
    }
    let history = headers.history_info().map_err(bad)?;
    Ok(history
        .iter()
        .rev()
        .nth(1)
        .and_then(|entry| entry.telephone_number().ok()))
}

#[cfg(test)]
mod tests {
    use super::reason_param;

    #[test]
    fn the_call_reason_parameter_is_read_quoted_or_not() {
        let read = |v: &str| reason_param(v);
        assert_eq!(
            read(
                r#"<https://example.com/jbond.png>;purpose=icon;call-reason="For your ears only""#
            ),
            Some("For your ears only".into())
        );
        assert_eq!(
            read(r#"<data:>;purpose=jcard;call-reason="a; \"quoted\" one";x=1"#),
            Some(r#"a; "quoted" one"#.into())
        );
        assert_eq!(
            read("<data:>;call-reason=fraud-alert;purpose=jcard"),
            Some("fraud-alert".into())
        );
        assert_eq!(
            read(r#"<https://x.example/a;call-reason=no>;purpose=icon"#),
            None
        );
        assert_eq!(read(r#"<data:>;call-reason="unterminated"#), None);
        assert_eq!(read("<data:>;purpose=jcard"), None);
    }
}
