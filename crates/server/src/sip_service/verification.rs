//! The verification service's answer to an INVITE (STI-VS, RFC 8224 section 6 as a
//! redirect server).
//!
//! The call is the P-Asserted-Identity's number (else the From's) calling the To's and the
//! Request-URI's numbers (either may match a PASSporT's `dest`: a diverted call keeps the
//! original To and carries the new target in the Request-URI), at the time of the `Date`
//! header when there is one. Every Identity header is verified; the first failure decides.
//!
//! - Passed, or failed with `[sip] verification_failure = "redirect"`: `302` with
//!   `Contact: <Request-URI>` and `P-Asserted-Identity: "Name" <sip:+<number>@<host>;
//!   user=phone;verstat=...>` (3GPP TS 24.229), keeping the display name and host of the
//!   header the number came from (a `tel:` URI when it had no host). A failure also gets
//!   `Reason: SIP ;cause=<code> ;text="<reason>"` (RFC 3326) with the RFC 8224 code.
//! - Failed with `"reject"`: the RFC 8224 code and reason phrase (403 Stale Date, 428, 436,
//!   437, 438) with a `Warning` saying why.
//! - A verified brand (an `rcd` PASSporT whose every check held, see `engine::rich_call`)
//!   becomes the display name of `P-Asserted-Identity`, and its logo and call reason one
//!   `Call-Info: <logo>;purpose=icon;call-reason="<reason>"` (RFC 9796; a reason without a
//!   logo is `<data:>;purpose=jcard;call-reason="<reason>"`). Without one, the display
//!   name the call came with is kept and no `Call-Info` is added.
//! - `div` PASSporTs (RFC 8946): one `Callproof-Div` header per Identity header of type
//!   `div`, saying which held: `<n>;verstat=TN-Validation-Passed;div=<number>;dest=<number>`
//!   for a verified one (`n` counts Identity headers from 1), `<n>;verstat=<verstat>;
//!   cause=<code>` for one that failed.

use engine::rich_call::{BrandDisplay, RcdOutcome};
use passport::identity::IdentityHeader;
use passport::jws::Ppt;
use passport::verify::CallContext;
use passport::{TelephoneNumber, Verstat};
use sip::header::{HeaderName, NameAddr};
use sip::uri::{Scheme, Uri};
use sip::{Request, Response};

use super::signing::calling_party;
use super::{SipService, SipServiceError, check_require};
use crate::config::FailureAnswer;
use crate::rest::atis::unix_now;

/// The extension header reporting on `div` PASSporTs.
const DIV_HEADER: &str = "Callproof-Div";

/// Answers an INVITE.
pub(super) async fn answer(
    service: &SipService,
    request: &Request,
    tag: &str,
) -> Result<Response, SipServiceError> {
    check_require(request)?;
    let headers = request.headers();
    let (from, asserted) = calling_party(headers)?;
    let to = called_numbers(request)?;
    let request_time = headers
        .date()
        .map_err(|source| SipServiceError::BadRequest { source })?;
    let identities: Vec<String> = headers.identities().map(str::to_owned).collect();
    let call = CallContext {
        from,
        to,
        now: unix_now(),
        request_time,
    };
    let state = &service.state;
    let verdict = state.verification.verify(&identities, &call).await;
    state.metrics.observe_verdict(&verdict);
    state.verification_evidence(&verdict, &call, &identities);

    let failure = verdict.first_failure();
    match (failure, state.config.sip.verification_failure) {
        (Some(error), FailureAnswer::Reject) => {
            let d = error.disposition();
            return Ok(Response::for_request(request, d.code, d.reason, tag)?
                .with_header(HeaderName::WARNING, &service.warning(&error.to_string()))?);
        }
        // The block policy: a call whose identity was checked and found false is declined;
        // one that could not be checked goes on with its verstat.
        (Some(error), FailureAnswer::Decline) if error.disposition().verstat == Verstat::Failed => {
            let d = error.disposition();
            return Ok(Response::for_request(request, 603, "Decline", tag)?
                .with_header(
                    HeaderName::REASON,
                    &format!("SIP ;cause={} ;text=\"{}\"", d.code, d.reason),
                )?
                .with_header(HeaderName::WARNING, &service.warning(&error.to_string()))?);
        }
        _ => {}
    }
    let shown = match &verdict.rcd {
        RcdOutcome::Shown(display) => Some(display),
        RcdOutcome::Absent | RcdOutcome::Withheld { .. } => None,
    };
    let mut response = service.redirect(request, tag)?.with_header(
        HeaderName::P_ASSERTED_IDENTITY,
        &asserted_identity(
            &from,
            &asserted,
            shown.map(|d| d.name.as_str()),
            verdict.verstat(),
        )?,
    )?;
    if let Some(info) = shown.and_then(call_info) {
        response = response.with_header(HeaderName::CALL_INFO, &info)?;
    }
    if let Some(error) = failure {
        let d = error.disposition();
        response = response.with_header(
            HeaderName::REASON,
            &format!("SIP ;cause={} ;text=\"{}\"", d.code, d.reason),
        )?;
    }
    let div_header = HeaderName::new(DIV_HEADER)?;
    for (index, (outcome, identity)) in verdict.outcomes.iter().zip(&identities).enumerate() {
        let n = index + 1;
        let report = match &outcome.result {
            Ok(verified) if verified.ppt() == Ppt::Div => {
                let claims = verified.claims();
                let div = claims
                    .div
                    .as_ref()
                    .and_then(|d| d.tn())
                    .map_or("", TelephoneNumber::as_str);
                let dest: Vec<&str> = claims.dest.tn.iter().map(TelephoneNumber::as_str).collect();
                format!(
                    "{n};verstat={};div={div};dest={}",
                    Verstat::Passed.as_str(),
                    dest.join(",")
                )
            }
            Err(error) if declares_div(identity) => {
                let d = error.disposition();
                format!("{n};verstat={};cause={}", d.verstat.as_str(), d.code)
            }
            Ok(_) | Err(_) => continue,
        };
        response = response.with_header(div_header.clone(), &report)?;
    }
    Ok(response)
}

/// True when an Identity header that failed says it carries a `div` PASSporT (its `ppt`
/// parameter; the PASSporT itself was not trusted).
fn declares_div(identity: &str) -> bool {
    IdentityHeader::parse(identity)
        .ok()
        .and_then(|h| h.ppt)
        .is_some_and(|ppt| ppt.eq_ignore_ascii_case("div"))
}

/// The called numbers: To's and the Request-URI's, either or both.
fn called_numbers(request: &Request) -> Result<Vec<TelephoneNumber>, SipServiceError> {
    let mut numbers = Vec::with_capacity(2);
    let to = request.headers().to_tn();
    if let Ok(tn) = &to {
        numbers.push(*tn);
    }
    match request.uri_tn() {
        Ok(tn) if !numbers.contains(&tn) => numbers.push(tn),
        Ok(_) => {}
        Err(source) if numbers.is_empty() => {
            return Err(SipServiceError::NoDestination { source });
        }
        Err(_) => {}
    }
    Ok(numbers)
}

/// `"Name" <sip:+<number>@<host>;user=phone;verstat=...>`, from the header the number was
/// taken from; `<tel:+<number>;verstat=...>` when that header had no SIP host.
fn asserted_identity(
    number: &TelephoneNumber,
    source: &NameAddr,
    verified_name: Option<&str>,
    verstat: Verstat,
) -> Result<String, SipServiceError> {
    let user = global_number(number);
    let uri = match (source.uri().scheme(), source.uri().host()) {
        (Scheme::Sip, Some(host)) => {
            format!("sip:{user}@{host};user=phone;verstat={}", verstat.as_str())
        }
        (Scheme::Sips, Some(host)) => {
            format!("sips:{user}@{host};user=phone;verstat={}", verstat.as_str())
        }
        _ => format!("tel:{user};verstat={}", verstat.as_str()),
    };
    let mut asserted = NameAddr::new(Uri::parse(&uri)?);
    if let Some(name) = verified_name.or(source.display_name()) {
        asserted = asserted.with_display_name(name)?;
    }
    Ok(asserted.to_string())
}

/// `text` as a SIP quoted-string: `"` and `\` escaped, control characters dropped (a
/// reason from a PASSporT must not break the header).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The one `Call-Info` header field carrying a verified brand's logo and call reason
/// (RFC 9796): `<logo>;purpose=icon;call-reason="..."`, or `<data:>;purpose=jcard;
/// call-reason="..."` for a reason without a logo. `None` when there is neither.
fn call_info(display: &BrandDisplay) -> Option<String> {
    let reason = display
        .reason
        .as_deref()
        .map(|r| format!(";call-reason={}", quoted(r)));
    match (&display.logo, reason) {
        (Some(logo), reason) => Some(format!(
            "<{logo}>;purpose=icon{}",
            reason.unwrap_or_default()
        )),
        (None, Some(reason)) => Some(format!("<data:>;purpose=jcard{reason}")),
        (None, None) => None,
    }
}

/// `+` and the number, with `#` escaped (`*` and digits are URI characters).
fn global_number(number: &TelephoneNumber) -> String {
    let mut out = String::with_capacity(number.as_str().len() + 4);
    out.push('+');
    for c in number.as_str().chars() {
        if c == '#' {
            out.push_str("%23");
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    #[test]
    fn the_asserted_identity_keeps_name_and_host() {
        let source = NameAddr::parse(
            "\"Alice\" <sip:+1-215-555-1212@pbx.example.com:5060;user=phone>;tag=1",
        )
        .unwrap();
        assert_eq!(
            asserted_identity(&tn("12155551212"), &source, None, Verstat::Passed).unwrap(),
            "\"Alice\" <sip:+12155551212@pbx.example.com;user=phone;verstat=TN-Validation-Passed>"
        );
        let source = NameAddr::parse("<tel:+12155551212>").unwrap();
        assert_eq!(
            asserted_identity(&tn("12155551212"), &source, None, Verstat::Failed).unwrap(),
            "<tel:+12155551212;verstat=TN-Validation-Failed>"
        );
        assert_eq!(global_number(&tn("1215555#12")), "+1215555%2312");
    }

    #[test]
    fn div_is_read_from_the_ppt_parameter() {
        assert!(declares_div("a.b.c;info=<https://x.example/c.pem>;ppt=div"));
        assert!(declares_div(
            "a.b.c;info=<https://x.example/c.pem>;ppt=\"div\""
        ));
        assert!(!declares_div(
            "a.b.c;info=<https://x.example/c.pem>;ppt=shaken"
        ));
        assert!(!declares_div("not an identity"));
    }
}
