//! A brand's public page (`GET /brands/{slug}`), the same facts as JSON
//! (`GET /brands/{slug}.json`), and its opt-out of marketing calls
//! (`POST /brands/{slug}/opt-out`).
//!
//! The brand comes from the brand cache (no database round trip); its numbers are read once
//! per brand-policy change ([`super::numbers::brand_numbers`]). The opt-out needs no session
//! or CSRF token: it is idempotent, answers the same whether or not the number had already
//! opted out (it reveals nothing about who is a customer), and is one small write, so a
//! rate limit by client address in front of it is all it needs.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use engine::brand::BrandInfo;
use passport::TelephoneNumber;
use serde::Deserialize;
use serde_json::{Value, json};

use super::html::{Caching, error_page, esc, internal_error, page, security_headers};
use super::numbers::{BrandNumbers, NumberRange, brand_numbers, readable, summarise};
use crate::rest::AppState;
use crate::rest::atis::unix_now;
use crate::rest::problem::{Problem, ProblemType};

/// Number ranges shown on a page at most (the JSON has them all).
pub const MAX_RANGES_SHOWN: usize = 200;

/// The longest phone number input looked at.
pub const MAX_NUMBER_INPUT: usize = 64;

/// The source recorded for opt-outs made on the page.
pub const OPT_OUT_SOURCE: &str = "page";

/// How to check a call, in plain words.
pub fn check_advice(display_name: &str) -> String {
    format!(
        "A call that really comes from {display_name} shows our name and logo with a mark \
         saying the caller is verified, on phones and networks that show verified calls. A \
         number or a name alone can be faked. If you are in any doubt, hang up and call us \
         back on one of the numbers listed on our page, never on a number the caller gives you."
    )
}

/// The brand with this slug, if it is registered.
pub(crate) fn find(state: &AppState, slug: &str) -> Option<Arc<BrandInfo>> {
    state.brands.get().by_slug(slug).cloned()
}

/// The 404 page for a slug no brand has.
pub(crate) fn unknown_brand(slug: &str) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        &format!(
            "There is no organisation called \"{}\" here. Check the address, or find the \
             organisation's page from its own website.",
            slug.chars().take(64).collect::<String>()
        ),
    )
}

async fn numbers_of(state: &AppState, info: &BrandInfo) -> Result<BrandNumbers, Response> {
    let index = state.brands.get();
    brand_numbers(state.store.as_ref(), &index, info.brand.id)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading brand numbers for a public page failed");
            internal_error()
        })
}

/// `GET /brands/{slug}`: the brand's page; `GET /brands/{slug}.json`: its facts as JSON.
pub async fn page_or_json(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
) -> Response {
    match slug.strip_suffix(".json") {
        Some(slug) => facts_json(&state, slug).await,
        None => brand_page(&state, &slug).await,
    }
}

fn range_items(ranges: &[NumberRange]) -> String {
    let mut out = String::new();
    for r in ranges.iter().take(MAX_RANGES_SHOWN) {
        if r.count() == 1 {
            let _ = writeln!(
                out,
                "<li><span class=\"num\">{}</span></li>",
                esc(&r.text())
            );
        } else {
            let _ = writeln!(
                out,
                "<li><span class=\"num\">{}</span> to <span class=\"num\">{}</span> \
                 <span class=\"count\">({} numbers)</span></li>",
                esc(&readable(&r.first())),
                esc(&readable(&r.last())),
                r.count()
            );
        }
    }
    out
}

async fn brand_page(state: &AppState, slug: &str) -> Response {
    let Some(info) = find(state, slug) else {
        return unknown_brand(slug);
    };
    let numbers = match numbers_of(state, &info).await {
        Ok(n) => n,
        Err(response) => return response,
    };
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let slug = esc(&brand.slug);
    let mut body = String::with_capacity(8 * 1024);

    let _ = writeln!(body, "<div class=\"brand\">");
    if brand.logo.is_some() {
        let _ = writeln!(
            body,
            "<img src=\"/brands/{slug}/logo\" alt=\"{name} logo\" width=\"72\" height=\"72\">"
        );
    }
    let _ = writeln!(
        body,
        "<div><h1>{name}</h1>\n<p class=\"legal\">{}</p></div>\n</div>",
        esc(&brand.legal_name)
    );

    // The numbers we call from.
    let listed = summarise(&numbers.listed);
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"numbers\">\n<h2 id=\"numbers\">The numbers we call from</h2>"
    );
    if listed.is_empty() {
        let _ = writeln!(
            body,
            "<p>{name} has not published the numbers it calls from yet.</p>"
        );
    } else {
        let _ = writeln!(
            body,
            "<p>When {name} calls you, the call comes from one of these numbers:</p>\n\
             <ul class=\"plain\">\n{}</ul>",
            range_items(&listed)
        );
        if listed.len() > MAX_RANGES_SHOWN {
            let _ = writeln!(
                body,
                "<p>And {} more: see <a href=\"/brands/{slug}.json\">the full list</a>.</p>",
                listed.len() - MAX_RANGES_SHOWN
            );
        }
        let _ = writeln!(
            body,
            "<p>A caller ID can be faked: a number from this list alone does not prove that a \
             call is from us. See <a href=\"#check\">how to check a call</a>.</p>"
        );
    }
    let inbound = summarise(&numbers.inbound_only);
    if !inbound.is_empty() {
        let _ = writeln!(
            body,
            "<h3>Numbers that never call you</h3>\n<p>These numbers only take calls. A call \
             that shows one of them is not from {name}: hang up.</p>\n<ul class=\"plain\">\n{}</ul>",
            range_items(&inbound)
        );
    }
    body.push_str("</section>\n");

    // What we will never ask for.
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"never\">\n<h2 id=\"never\">What we will never ask for</h2>"
    );
    if brand.never_ask.is_empty() {
        let _ = writeln!(body, "<p>{name} has not published this list yet.</p>");
    } else {
        body.push_str("<ul>\n");
        for item in &brand.never_ask {
            let _ = writeln!(body, "<li>{}</li>", esc(item));
        }
        let _ = writeln!(
            body,
            "</ul>\n<p>Anyone who asks you for these is not {name}, whatever the phone shows.</p>"
        );
    }
    body.push_str("</section>\n");

    // How to check a call.
    let _ = writeln!(
        body,
        "<section aria-labelledby=\"check\">\n<h2 id=\"check\">How to check a call</h2>\n\
         <p>A call that really comes from {name} shows our name, <strong>{name}</strong>, with \
         our logo and a mark saying the caller is verified, on phones and networks that show \
         verified calls. <a href=\"/brands/{slug}/preview\">See what it looks like</a>.</p>\n\
         <p>A number or a name on the screen alone can be faked. If you are in any doubt, hang \
         up and call us back on one of the numbers listed above. Never call back a number the \
         caller gives you.</p>\n\
         <p><strong><a href=\"/brands/{slug}/check\">Check a call now</a></strong>: enter the \
         number on your screen and your own number, or the code the caller read out, and see \
         at once whether {name} is really calling you.</p>\n\
         <p>To tell us about a suspicious call, see \
         <a href=\"#report\">how to report a call</a>.</p>"
    );
    if !brand.call_reasons.is_empty() {
        let _ = writeln!(body, "<p>We call about:</p>\n<ul>");
        for r in &brand.call_reasons {
            let _ = writeln!(body, "<li>{}</li>", esc(&r.text));
        }
        body.push_str("</ul>\n");
    }
    body.push_str("</section>\n");

    // How to report a call: through the check page, or straight to the report form.
    let _ = writeln!(
        body,
        "<section id=\"report\" aria-labelledby=\"report-h\">\n\
         <h2 id=\"report-h\">How to report a call</h2>\n\
         <p>If a call said it was from {name} and you are not sure it was, \
         <a href=\"/brands/{slug}/check\">check the call</a> first. When the check finds that \
         the call was not ours, it lets you report it in one step.</p>\n\
         <p>If you already know the call was not from us, \
         <a href=\"/brands/{slug}/report\">report the call</a> directly. Your report goes to \
         our security team; we do not ask for your name.</p>\n\
         </section>"
    );

    // Opt out of marketing.
    body.push_str(&opt_out_section(&info, "", None));

    let _ = writeln!(
        body,
        "<p><a href=\"/brands/{slug}.json\">These facts as JSON</a></p>"
    );
    page(StatusCode::OK, Caching::Public, &brand.display_name, &body)
}

/// The opt-out section, with `value` in the number field and `error` above it.
fn opt_out_section(info: &BrandInfo, value: &str, error: Option<&str>) -> String {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let service: Vec<&str> = brand
        .call_reasons
        .iter()
        .filter(|r| !r.marketing)
        .map(|r| r.text.as_str())
        .collect();
    let mut out = format!(
        "<section id=\"opt-out\" aria-labelledby=\"opt-out-h\">\n\
         <h2 id=\"opt-out-h\">Stop marketing calls</h2>\n\
         <p>Enter your phone number to stop calls from {name}, and from companies calling for \
         {name}, about offers and products. We will still call you about your accounts and \
         services"
    );
    if service.is_empty() {
        out.push_str(".</p>\n");
    } else {
        let list: Vec<String> = service.iter().map(|s| esc(s).to_string()).collect();
        let _ = writeln!(out, ", such as: {}.</p>", list.join("; "));
    }
    let (invalid, described) = match error {
        Some(e) => {
            let _ = writeln!(out, "<p class=\"err\" id=\"number-error\">{}</p>", esc(e));
            (" aria-invalid=\"true\"", "number-error number-hint")
        }
        None => ("", "number-hint"),
    };
    let _ = writeln!(
        out,
        "<form method=\"post\" action=\"/brands/{slug}/opt-out\">\n\
         <label for=\"number\">Your phone number</label>\n\
         <span class=\"hint\" id=\"number-hint\">With your country code, for example \
         +1 212 555 0123.</span>\n\
         <input id=\"number\" name=\"number\" type=\"tel\" inputmode=\"tel\" autocomplete=\"tel\" \
         required maxlength=\"{MAX_NUMBER_INPUT}\" value=\"{value}\" \
         aria-describedby=\"{described}\"{invalid}>\n\
         <button type=\"submit\">Stop marketing calls</button>\n</form>\n</section>",
        slug = esc(&brand.slug),
        value = esc(value),
    );
    out
}

fn ranges_json(blocks: &[store::NumberBlock]) -> Vec<Value> {
    summarise(blocks)
        .iter()
        .map(|r| json!({ "start": r.first(), "count": r.count(), "text": r.text() }))
        .collect()
}

async fn facts_json(state: &AppState, slug: &str) -> Response {
    let Some(info) = find(state, slug) else {
        let mut response = Problem::new(
            ProblemType::NotFound,
            format!(
                "brand {:?} does not exist",
                slug.chars().take(64).collect::<String>()
            ),
        )
        .into_response();
        security_headers(&mut response, Caching::NoStore);
        return response;
    };
    let numbers = match numbers_of(state, &info).await {
        Ok(n) => n,
        Err(_) => {
            let mut response =
                Problem::new(ProblemType::Internal, "internal error").into_response();
            security_headers(&mut response, Caching::NoStore);
            return response;
        }
    };
    let brand = &info.brand;
    let logo = brand.logo.as_ref().map(|l| {
        json!({
            "url": info.logo_url,
            "digest": l.digest,
            "contentType": l.content_type,
        })
    });
    let body = json!({
        "slug": brand.slug,
        "displayName": brand.display_name,
        "legalName": brand.legal_name,
        "logo": logo,
        "listedNumbers": ranges_json(&numbers.listed),
        "inboundOnlyNumbers": ranges_json(&numbers.inbound_only),
        "neverAsk": brand.never_ask,
        "callReasons": brand.call_reasons.iter().map(|r| json!({
            "code": r.code, "text": r.text, "marketing": r.marketing
        })).collect::<Vec<_>>(),
        "checkAdvice": check_advice(&brand.display_name),
        "page": format!("{}/brands/{}", state.brands.public_url().trim_end_matches('/'), brand.slug),
    });
    let mut response = Json(body).into_response();
    security_headers(&mut response, Caching::Public);
    response
}

/// The opt-out form's fields.
#[derive(Debug, Deserialize)]
pub struct OptOutForm {
    /// The phone number, as typed.
    #[serde(default)]
    number: String,
}

/// A phone number as a person types it, in international form: `+` (or `00`) and the
/// country code, or 11 digits starting with 1 (North American numbering, which is its
/// international form). Anything else gets a message saying what to change.
pub fn customer_number(input: &str) -> Result<TelephoneNumber, String> {
    const EXAMPLE: &str = "for example +1 212 555 0123 or +44 20 7946 0958";
    let input = input.trim();
    if input.is_empty() {
        return Err("Enter your phone number.".into());
    }
    if input.len() > MAX_NUMBER_INPUT {
        return Err(format!(
            "That is too long for a phone number ({} characters; at most {MAX_NUMBER_INPUT}).",
            input.chars().count()
        ));
    }
    let international = if let Some(rest) = input.strip_prefix("00") {
        format!("+{rest}")
    } else {
        input.to_owned()
    };
    let tn = TelephoneNumber::parse(&international)
        .map_err(|e| format!("That is not a phone number: {e}. Write it {EXAMPLE}."))?;
    if !tn.is_all_digits() {
        return Err("A phone number has only digits: leave out * and #.".into());
    }
    let digits = tn.as_str().len();
    let has_plus = international.starts_with('+');
    if !(has_plus || (digits == 11 && tn.as_str().starts_with('1'))) {
        return Err(format!(
            "Start with + and your country code, {EXAMPLE}. This number has no country code."
        ));
    }
    if !(8..=15).contains(&digits) {
        return Err(format!(
            "A phone number with its country code has 8 to 15 digits; this one has {digits}. \
             Write it {EXAMPLE}."
        ));
    }
    Ok(tn)
}

/// `POST /brands/{slug}/opt-out` (form field `number`): the number gets no more marketing
/// calls from the brand or its partners (this node at once, every node within a minute).
pub async fn opt_out(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    form: Result<Form<OptOutForm>, FormRejection>,
) -> Response {
    let Some(info) = find(&state, &slug) else {
        return unknown_brand(&slug);
    };
    let typed = form.map(|Form(f)| f.number).unwrap_or_default();
    let tn = match customer_number(&typed) {
        Ok(tn) => tn,
        Err(why) => {
            let typed: String = typed.chars().take(MAX_NUMBER_INPUT).collect();
            let body = format!(
                "<h1>Check your phone number</h1>\n{}\
                 <p><a href=\"/brands/{}\">Back to {}</a></p>\n",
                opt_out_section(&info, &typed, Some(&why)),
                esc(&info.brand.slug),
                esc(&info.brand.display_name),
            );
            return page(
                StatusCode::BAD_REQUEST,
                Caching::NoStore,
                "Check your phone number",
                &body,
            );
        }
    };
    if let Err(e) = state
        .store
        .set_opt_outs(info.brand.id, &[tn], true, OPT_OUT_SOURCE, unix_now())
        .await
    {
        tracing::error!(error = %e, "recording an opt-out from a brand page failed");
        return internal_error();
    }
    // This node applies it at once; the others catch up from the change log.
    if let Err(e) = state.brands.refresh(state.store.as_ref()).await {
        tracing::warn!(error = %e, "brand policy refresh after a page opt-out failed");
    }
    let name = esc(&info.brand.display_name);
    let body = format!(
        "<h1>Marketing calls stopped</h1>\n\
         <p class=\"ok\" role=\"status\">We have recorded that <span class=\"num\">{number}</span> \
         does not want marketing calls from {name}.</p>\n\
         <p>This covers {name} and companies calling for {name}, and takes effect within a \
         minute. We may still call you about your accounts and services.</p>\n\
         <p><a href=\"/brands/{slug}\">Back to {name}</a></p>\n",
        number = esc(&readable(tn.as_str())),
        slug = esc(&info.brand.slug),
    );
    page(
        StatusCode::OK,
        Caching::NoStore,
        "Marketing calls stopped",
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_international_form_are_accepted() {
        for (typed, canonical) in [
            ("+1 (212) 555-0123", "12125550123"),
            ("12125550123", "12125550123"),
            ("1-212-555-0123", "12125550123"),
            ("+44 20 7946 0958", "442079460958"),
            ("0044 20 7946 0958", "442079460958"),
            ("  +33 1 23 45 67 89 ", "33123456789"),
        ] {
            assert_eq!(
                customer_number(typed).unwrap().as_str(),
                canonical,
                "{typed}"
            );
        }
    }

    #[test]
    fn numbers_without_country_code_or_not_numbers_are_refused_with_a_reason() {
        for (typed, says) in [
            ("", "Enter your phone number"),
            ("(212) 555-0123", "country code"),
            ("2125550123", "country code"),
            ("+1 212 abc", "not a phone number"),
            ("+1 212 555 0123 #", "only digits"),
            ("+123", "8 to 15 digits"),
            ("+1234567890123456", "8 to 15 digits"),
        ] {
            let err = customer_number(typed).unwrap_err();
            assert!(err.contains(says), "{typed:?}: {err}");
        }
        let long = "1".repeat(MAX_NUMBER_INPUT + 1);
        assert!(customer_number(&long).unwrap_err().contains("too long"));
    }
}
