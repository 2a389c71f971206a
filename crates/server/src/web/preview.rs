//! The phone-screen preview: what the called party's phone would show for a call.
//!
//! `GET /preview` is a form (calling number, called number, Identity header values);
//! `POST /preview` verifies them with this node's STI-VS and shows the phone screen: the
//! verified brand's name, logo and reason with a check mark when Rich Call Data verified,
//! otherwise the bare number and what the verstat means, with the technical detail below.
//! `GET /brands/{slug}/preview?reason=CODE` shows a brand's screen without a call, marked
//! as a demo.
//!
//! Verifying needs the verify scope, as `POST /stir/v1/verification` does: an API key in a
//! header or in the form, or a loopback caller in development mode. A preview is not a call:
//! it is neither counted in metrics nor recorded as evidence for a brand, but its PASSporTs
//! are seen by the replay cache like any other (a header previewed twice is a replay).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use engine::brand::BrandInfo;
use engine::rich_call::RcdOutcome;
use engine::verification::Verdict;
use passport::verify::CallContext;
use passport::{TelephoneNumber, Verstat};
use serde::Deserialize;
use store::Scope;

use super::brand::find;
use super::html::{
    CHECK_ICON, Caching, UNKNOWN_ICON, WARNING_ICON, error_page, esc, internal_error, page,
};
use super::numbers::{brand_numbers, readable};
use crate::listener::PeerAddr;
use crate::rest::AppState;
use crate::rest::atis::unix_now;

/// Identity header values accepted in one preview.
pub const MAX_IDENTITIES: usize = 8;

/// The longest Identity header value accepted.
pub const MAX_IDENTITY_BYTES: usize = 16 * 1024;

/// The longest number input looked at.
const MAX_NUMBER_INPUT: usize = 512;

/// What the phone shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// A verified brand.
    Brand {
        /// The name shown.
        name: String,
        /// Where the page loads the logo from (this node's path), if it can.
        logo: Option<String>,
        /// The call reason shown.
        reason: Option<String>,
    },
    /// The calling number alone, with what its verification means.
    Number(Verstat),
}

/// A phone screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// A demo, not the result of a call.
    pub demo: bool,
    /// The calling number (canonical).
    pub number: Option<String>,
    /// What is shown.
    pub screen: Screen,
}

/// The verstat in plain words.
pub const fn verstat_words(verstat: Verstat) -> &'static str {
    match verstat {
        Verstat::Passed => "Caller verified by the network",
        Verstat::NoValidation => "Caller ID could not be verified",
        Verstat::Failed => "Caller ID failed verification \u{2014} likely spoofed",
    }
}

const PERSON_ICON: &str = "<svg viewBox=\"0 0 24 24\" width=\"56\" height=\"56\" \
aria-hidden=\"true\" focusable=\"false\"><circle cx=\"12\" cy=\"8\" r=\"4.5\" fill=\"#c9ccd1\"/>\
<path d=\"M3 22c0-5 4-8 9-8s9 3 9 8z\" fill=\"#c9ccd1\"/></svg>";

impl Card {
    /// The card as HTML: a figure with the phone inside.
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(2048);
        let caption = if self.demo {
            "Demo: what a called phone shows for a verified call (no call was made)"
        } else {
            "What the called party's phone would show"
        };
        let _ = writeln!(
            out,
            "<figure aria-labelledby=\"card-caption\">\n<figcaption id=\"card-caption\">{caption}\
             </figcaption>\n<div class=\"phone\">"
        );
        if self.demo {
            out.push_str("<p class=\"demo\">Demo</p>\n");
        }
        out.push_str("<p class=\"incoming\">Incoming call</p>\n");
        let number = self.number.as_deref().map(readable);
        match &self.screen {
            Screen::Brand { name, logo, reason } => {
                match logo {
                    Some(src) => {
                        let _ = writeln!(
                            out,
                            "<div class=\"avatar\"><img src=\"{}\" alt=\"{} logo\" \
                             width=\"80\" height=\"80\"></div>",
                            esc(src),
                            esc(name)
                        );
                    }
                    None => {
                        let initial: String = name.chars().take(1).collect();
                        let _ = writeln!(
                            out,
                            "<div class=\"avatar none\" aria-hidden=\"true\">{}</div>",
                            esc(&initial)
                        );
                    }
                }
                let _ = writeln!(out, "<p class=\"name\">{}</p>", esc(name));
                if let Some(number) = &number {
                    let _ = writeln!(out, "<p class=\"number\">{}</p>", esc(number));
                }
                let _ = writeln!(
                    out,
                    "<p class=\"status passed\">{CHECK_ICON}<span>Verified caller</span></p>"
                );
                if let Some(reason) = reason {
                    let _ = writeln!(
                        out,
                        "<p class=\"reason\"><span class=\"vh\">Reason for the call: </span>{}</p>",
                        esc(reason)
                    );
                }
            }
            Screen::Number(verstat) => {
                let _ = writeln!(out, "<div class=\"avatar none\">{PERSON_ICON}</div>");
                let _ = writeln!(
                    out,
                    "<p class=\"name tel\">{}</p>",
                    esc(number.as_deref().unwrap_or("Unknown number"))
                );
                let (class, icon) = match verstat {
                    Verstat::Passed => ("passed", CHECK_ICON),
                    Verstat::NoValidation => ("novalidation", UNKNOWN_ICON),
                    Verstat::Failed => ("failed", WARNING_ICON),
                };
                let _ = writeln!(
                    out,
                    "<p class=\"status {class}\">{icon}<span>{}</span></p>",
                    verstat_words(*verstat)
                );
            }
        }
        out.push_str(
            "<div class=\"actions\" aria-hidden=\"true\"><span>Decline</span>\
             <span class=\"accept\">Accept</span></div>\n</div>\n</figure>\n",
        );
        out
    }
}

/// The logo URL as this page may load it: a path on this node. A logo elsewhere is not
/// loaded (the page loads nothing from other origins).
fn local_logo(state: &AppState, url: &str) -> Option<String> {
    let base = state.brands.public_url().trim_end_matches('/');
    url.strip_prefix(base)
        .filter(|path| path.starts_with("/brands/") && !path.contains(['"', '<', '>', ' ']))
        .map(str::to_owned)
}

/// The preview form's fields (all text as typed).
#[derive(Debug, Default, Deserialize)]
pub struct PreviewForm {
    /// The calling number.
    #[serde(default)]
    from: String,
    /// The called number.
    #[serde(default)]
    to: String,
    /// Identity header values, one per line.
    #[serde(default)]
    identity: String,
    /// An API key with the verify scope (optional in development mode on loopback).
    #[serde(default)]
    api_key: String,
}

fn form_html(form: &PreviewForm, error: Option<&str>) -> String {
    let mut out = String::with_capacity(2048);
    let (invalid, described) = if let Some(e) = error {
        let _ = writeln!(out, "<p class=\"err\" id=\"form-error\">{}</p>", esc(e));
        (" aria-invalid=\"true\"", " aria-describedby=\"form-error\"")
    } else {
        ("", "")
    };
    let _ = writeln!(
        out,
        "<form method=\"post\" action=\"/preview\">\n\
         <label for=\"from\">Calling number</label>\n\
         <input id=\"from\" name=\"from\" type=\"text\" inputmode=\"tel\" autocomplete=\"off\" \
         required value=\"{from}\"{described}>\n\
         <label for=\"to\">Called number</label>\n\
         <input id=\"to\" name=\"to\" type=\"text\" inputmode=\"tel\" autocomplete=\"off\" \
         required value=\"{to}\">\n\
         <label for=\"identity\">Identity header values</label>\n\
         <span class=\"hint\" id=\"identity-hint\">One per line, as the INVITE carries them: the \
         SHAKEN PASSporT first, then its rcd PASSporT, if any.</span>\n\
         <textarea id=\"identity\" name=\"identity\" rows=\"6\" required spellcheck=\"false\" \
         aria-describedby=\"identity-hint\"{invalid}>{identity}</textarea>\n\
         <label for=\"api_key\">API key</label>\n\
         <span class=\"hint\" id=\"key-hint\">With the verify scope. Not needed in development \
         mode on this machine.</span>\n\
         <input id=\"api_key\" name=\"api_key\" type=\"password\" autocomplete=\"off\" \
         aria-describedby=\"key-hint\">\n\
         <button type=\"submit\">Show the phone screen</button>\n</form>",
        from = esc(&form.from),
        to = esc(&form.to),
        identity = esc(&form.identity),
    );
    out
}

const INTRO: &str = "<p>Paste the Identity headers of a call to see what the called \
party's phone would show once this node has verified them. Each header can be previewed \
once: like a real call, a preview marks it as seen, and a second look is a replay.</p>\n";

/// `GET /preview`: the form.
pub async fn form() -> Response {
    let body = format!(
        "<h1>Phone screen preview</h1>\n{INTRO}{}",
        form_html(&PreviewForm::default(), None)
    );
    page(
        StatusCode::OK,
        Caching::Public,
        "Phone screen preview",
        &body,
    )
}

fn form_error(status: StatusCode, form: &PreviewForm, why: &str) -> Response {
    let shown = PreviewForm {
        from: form.from.chars().take(MAX_NUMBER_INPUT).collect(),
        to: form.to.chars().take(MAX_NUMBER_INPUT).collect(),
        identity: form.identity.clone(),
        api_key: String::new(),
    };
    let body = format!(
        "<h1>Phone screen preview</h1>\n{}",
        form_html(&shown, Some(why))
    );
    page(status, Caching::NoStore, "Phone screen preview", &body)
}

fn number(field: &str, input: &str) -> Result<TelephoneNumber, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err(format!("Enter the {field}."));
    }
    TelephoneNumber::parse(input).map_err(|e| {
        format!(
            "The {field} is not a telephone number: {e}. Write it with its country code, for \
             example +1 215 555 1212."
        )
    })
}

fn identities(text: &str) -> Result<Vec<String>, String> {
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if lines.is_empty() {
        return Err("Enter at least one Identity header value.".into());
    }
    if lines.len() > MAX_IDENTITIES {
        return Err(format!(
            "That is {} Identity header values; a call carries at most {MAX_IDENTITIES}.",
            lines.len()
        ));
    }
    if let Some(i) = lines.iter().position(|l| l.len() > MAX_IDENTITY_BYTES) {
        return Err(format!(
            "Identity header value {} is longer than {MAX_IDENTITY_BYTES} bytes.",
            i + 1
        ));
    }
    Ok(lines)
}

/// `POST /preview`: verifies the form's Identity headers and shows the phone screen.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    form: Result<Form<PreviewForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return form_error(
            StatusCode::BAD_REQUEST,
            &PreviewForm::default(),
            "The form could not be read: send it from this page.",
        );
    };
    let mut headers = headers;
    if !form.api_key.trim().is_empty() {
        match HeaderValue::from_str(form.api_key.trim()) {
            Ok(key) => {
                headers.insert("x-api-key", key);
            }
            Err(_) => {
                return form_error(
                    StatusCode::UNAUTHORIZED,
                    &form,
                    "That API key is not valid.",
                );
            }
        }
    }
    if let Err(e) = crate::rest::auth::authorize(&state, &headers, peer, Scope::Verify) {
        let why = match e {
            crate::rest::errors::AtisError::Forbidden(_) => {
                "That API key does not have the verify scope."
            }
            _ => "An API key with the verify scope is needed (none, or an unknown one, was given).",
        };
        let status = match e {
            crate::rest::errors::AtisError::Forbidden(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        return form_error(status, &form, why);
    }
    let parsed = number("calling number", &form.from).and_then(|from| {
        let to = number("called number", &form.to)?;
        Ok((from, to, identities(&form.identity)?))
    });
    let (from, to, identities) = match parsed {
        Ok(p) => p,
        Err(why) => return form_error(StatusCode::BAD_REQUEST, &form, &why),
    };
    let call = CallContext {
        from,
        to: vec![to],
        now: unix_now(),
        request_time: None,
    };
    let verdict = state.verification.verify(&identities, &call).await;
    let card = Card {
        demo: false,
        number: Some(from.as_str().to_owned()),
        screen: match &verdict.rcd {
            RcdOutcome::Shown(display) => Screen::Brand {
                name: display.name.clone(),
                logo: display.logo.as_deref().and_then(|l| local_logo(&state, l)),
                reason: display.reason.clone(),
            },
            RcdOutcome::Absent | RcdOutcome::Withheld { .. } => Screen::Number(verdict.verstat()),
        },
    };
    let body = format!(
        "<h1>Phone screen preview</h1>\n{}{}\
         <section aria-labelledby=\"again\">\n<h2 id=\"again\">Preview another call</h2>\n{}\
         </section>\n",
        card.html(),
        detail_html(&state, &verdict, &call),
        form_html(
            &PreviewForm {
                api_key: String::new(),
                ..form
            },
            None
        ),
    );
    page(
        StatusCode::OK,
        Caching::NoStore,
        "Phone screen preview",
        &body,
    )
}

/// The technical detail under the card: verstat, reason code, the brand decision, each
/// Identity header's outcome.
fn detail_html(state: &AppState, verdict: &Verdict, call: &CallContext) -> String {
    let mut out = String::with_capacity(2048);
    let verstat = verdict.verstat();
    out.push_str(
        "<section aria-labelledby=\"detail\">\n<h2 id=\"detail\">Technical detail</h2>\n\
         <dl class=\"detail\">\n",
    );
    let _ = writeln!(
        out,
        "<dt>Calling number</dt><dd><code>{}</code></dd>\n\
         <dt>Called number</dt><dd><code>{}</code></dd>\n\
         <dt>verstat</dt><dd><code>{}</code> ({})</dd>",
        esc(call.from.as_str()),
        esc(call
            .to
            .first()
            .map(TelephoneNumber::as_str)
            .unwrap_or_default()),
        verstat.as_str(),
        verstat_words(verstat)
    );
    match verdict.first_failure() {
        Some(e) => {
            let d = e.disposition();
            let _ = writeln!(
                out,
                "<dt>Reason code</dt><dd><code>{} {}</code>: {}</dd>",
                d.code,
                esc(d.reason),
                esc(&e.to_string())
            );
        }
        None => out.push_str("<dt>Reason code</dt><dd>None: the call verified.</dd>\n"),
    }
    let brand = match &verdict.rcd {
        RcdOutcome::Absent => "Not shown: the call carries no rcd PASSporT.".to_owned(),
        RcdOutcome::Shown(display) => {
            let mut s = format!("Shown: name <q>{}</q>", esc(&display.name));
            if let Some(reason) = &display.reason {
                let _ = write!(s, ", reason <q>{}</q>", esc(reason));
            }
            if let Some(logo) = &display.logo {
                let _ = write!(s, ", logo <code>{}</code>", esc(logo));
                if local_logo(state, logo).is_none() {
                    s.push_str(
                        " (hosted elsewhere: its digest matched, but this page does not load it)",
                    );
                }
            }
            s.push('.');
            s
        }
        RcdOutcome::Withheld { reason } => format!("Withheld: {}.", esc(reason)),
    };
    let _ = writeln!(out, "<dt>Brand</dt><dd>{brand}</dd>");
    if verdict.replayed {
        out.push_str(
            "<dt>Replay</dt><dd>A PASSporT of this call was seen before (a real call, or an \
             earlier preview).</dd>\n",
        );
    }
    out.push_str("<dt>Identity headers</dt><dd><ol>\n");
    for (i, outcome) in verdict.outcomes.iter().enumerate() {
        let rcd = verdict.is_rcd.get(i).copied().unwrap_or(false);
        let role = if rcd {
            " (brand only; does not decide the verstat)"
        } else {
            ""
        };
        match &outcome.result {
            Ok(passport) => {
                let attest = passport
                    .attest()
                    .map(|a| format!(", attestation {}", a.as_str()))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "<li><code>ppt={}</code>{attest}: verified{role}</li>",
                    passport.ppt().as_str()
                );
            }
            Err(e) => {
                let d = e.disposition();
                let _ = writeln!(
                    out,
                    "<li>Failed{role}: {} (<code>{} {}</code>)</li>",
                    esc(&e.to_string()),
                    d.code,
                    esc(d.reason)
                );
            }
        }
    }
    out.push_str("</ol></dd>\n</dl>\n</section>\n");
    out
}

/// The query of a brand's demo.
#[derive(Debug, Default, Deserialize)]
pub struct DemoQuery {
    /// A call reason code of the brand.
    #[serde(default)]
    reason: Option<String>,
}

/// `GET /brands/{slug}/preview?reason=CODE`: the brand's verified phone screen, labelled as
/// a demo (no call is made or verified).
pub async fn brand_demo(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    query: Result<Query<DemoQuery>, QueryRejection>,
) -> Response {
    let Some(info) = find(&state, &slug) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            &format!(
                "There is no organisation called \"{}\" here.",
                slug.chars().take(64).collect::<String>()
            ),
        );
    };
    let brand = &info.brand;
    let asked = query.ok().and_then(|Query(q)| q.reason);
    let reason = match asked.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(code) => match brand.call_reasons.iter().find(|r| r.code == code) {
            Some(r) => Some(r.text.clone()),
            None => {
                let codes: Vec<&str> = brand.call_reasons.iter().map(|r| r.code.as_str()).collect();
                let known = if codes.is_empty() {
                    format!("{} has no call reasons.", brand.display_name)
                } else {
                    format!("Its reasons are: {}.", codes.join(", "))
                };
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "Unknown call reason",
                    &format!(
                        "\"{}\" is not a call reason of {}. {known}",
                        code.chars().take(64).collect::<String>(),
                        brand.display_name
                    ),
                );
            }
        },
    };
    let numbers = match brand_numbers(state.store.as_ref(), &state.brands.get(), brand.id).await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "reading brand numbers for a demo failed");
            return internal_error();
        }
    };
    let card = Card {
        demo: true,
        number: numbers.first_listed().map(|tn| tn.as_str().to_owned()),
        screen: Screen::Brand {
            name: brand.display_name.clone(),
            logo: brand
                .logo
                .as_ref()
                .map(|_| format!("/brands/{}/logo", brand.slug)),
            reason,
        },
    };
    let body = format!(
        "<h1>{name}: a verified call</h1>\n{card}{others}\
         <p><a href=\"/brands/{slug}\">Back to {name}</a></p>\n",
        name = esc(&brand.display_name),
        slug = esc(&brand.slug),
        card = card.html(),
        others = demo_text(&info),
    );
    page(
        StatusCode::OK,
        Caching::Public,
        &format!("{}: a verified call (demo)", brand.display_name),
        &body,
    )
}

fn demo_text(info: &BrandInfo) -> String {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let mut out = format!(
        "<section aria-labelledby=\"about-demo\">\n<h2 id=\"about-demo\">About this demo</h2>\n\
         <p>This is a demo: no call was made. A real call from {name} shows its name, logo and \
         the reason for the call with the verified mark only when the network verified that \
         the call comes from {name}. Without that mark, treat the call with care.</p>\n"
    );
    if !brand.call_reasons.is_empty() {
        out.push_str("<p>See the screen for a call about:</p>\n<ul>\n");
        for r in &brand.call_reasons {
            let _ = writeln!(
                out,
                "<li><a href=\"/brands/{}/preview?reason={}\">{}</a></li>",
                esc(&brand.slug),
                esc(&r.code),
                esc(&r.text)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brand_card_escapes_what_the_call_said() {
        let card = Card {
            demo: false,
            number: Some("12155551000".into()),
            screen: Screen::Brand {
                name: "<b>Evil</b>".into(),
                logo: Some("/brands/x/logo\"onerror=\"x".into()),
                reason: Some("<script>".into()),
            },
        };
        let html = card.html();
        assert!(html.contains("&lt;b&gt;Evil&lt;/b&gt;"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("logo&quot;onerror=&quot;x"));
        assert!(!html.contains("<b>"));
        assert!(html.contains("Verified caller"));
        assert!(html.contains("+1 215-555-1000"));
        assert!(!html.contains("Demo</p>"));
    }

    #[test]
    fn a_bare_number_says_what_its_verstat_means() {
        for (verstat, words) in [
            (Verstat::Passed, "Caller verified by the network"),
            (Verstat::NoValidation, "Caller ID could not be verified"),
            (Verstat::Failed, "likely spoofed"),
        ] {
            let html = Card {
                demo: true,
                number: Some("12155551212".into()),
                screen: Screen::Number(verstat),
            }
            .html();
            assert!(html.contains(words), "{html}");
            assert!(html.contains("Demo</p>"));
            assert!(!html.contains("Verified caller"));
        }
    }

    #[test]
    fn identity_lines_are_bounded() {
        assert_eq!(identities(" a \n\n b\r\n").unwrap(), ["a", "b"]);
        assert!(identities(" \n ").is_err());
        assert!(identities(&"x\n".repeat(MAX_IDENTITIES + 1)).is_err());
        assert!(identities(&"x".repeat(MAX_IDENTITY_BYTES + 1)).is_err());
    }
}
