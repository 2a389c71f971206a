//! A brand's check page: a customer, unsure of a call that says it is from the brand, asks
//! whether it really is (`GET`, `POST /brands/{slug}/check`), by the number on their screen
//! and their own number, or by the one-time code the caller read out; and reports a call
//! that was not (`GET`, `POST /brands/{slug}/report`).
//!
//! Plain HTML forms, no script. The answer is [`crate::check::Checker`]'s, the one
//! `POST /v1/check` gives, and a result page shows no more than that JSON answer does: the
//! brand's own facts, the call found (its number, reason, the agent's first name, when it
//! started) and what the customer typed. A report form carries a random one-time token, used
//! as the report's idempotency key, so a form sent twice stores one report.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use engine::brand::BrandInfo;
use engine::call_check::CallCode;
use passport::TelephoneNumber;
use serde::Deserialize;
use store::{Asked, NewReport, ReportChannel, StoreError};

use super::brand::{MAX_NUMBER_INPUT, customer_number, find, unknown_brand};
use super::html::{CHECK_ICON, Caching, WARNING_ICON, esc, internal_error, page};
use super::numbers::readable;
use crate::check::{CheckError, Finding, Found, Query as CheckQuery};
use crate::listener::PeerAddr;
use crate::rest::AppState;
use crate::rest::atis::unix_now;

/// The longest report text, in characters.
pub const MAX_REPORT_TEXT: usize = 4000;

/// The longest code input looked at (what [`CallCode::parse`] reads).
pub const MAX_CODE_INPUT: usize = 40;

/// Random bytes in a report form's one-time token (shown as hex).
pub const TOKEN_BYTES: usize = 16;

/// How far back a report's call time may be (thirty days), in seconds.
pub const MAX_CALL_AGE_SECS: i64 = 30 * 24 * 3600;

/// What a report's idempotency key starts with (the token follows).
pub const IDEMPOTENCY_PREFIX: &str = "check-page:";

/// A problem with what was typed: the input it concerns (its `id`; empty for the form as a
/// whole) and what to change, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input's id (`calling`, `called`, `code`, `asked`, `text`), or empty.
    pub field: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// The check form's fields, as typed: the pair form sends `calling` and `called`, the code
/// form sends `code`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CheckForm {
    /// The number on the customer's screen.
    #[serde(default)]
    calling: Option<String>,
    /// The customer's own number.
    #[serde(default)]
    called: Option<String>,
    /// The code the caller read out.
    #[serde(default)]
    code: Option<String>,
}

impl CheckForm {
    /// Whether this is the code form: a code was typed, or no number field was sent.
    fn is_code(&self) -> bool {
        self.code.as_deref().is_some_and(|c| !c.trim().is_empty())
            || (self.calling.is_none() && self.called.is_none())
    }

    /// The fields cut to what the page shows back.
    fn clipped(&self) -> Self {
        let clip =
            |s: &Option<String>, max: usize| s.as_ref().map(|s| s.chars().take(max).collect());
        Self {
            calling: clip(&self.calling, MAX_NUMBER_INPUT),
            called: clip(&self.called, MAX_NUMBER_INPUT),
            code: clip(&self.code, MAX_CODE_INPUT),
        }
    }
}

/// A number field: `empty` when nothing was typed, else what [`customer_number`] says.
fn number_field(
    field: &'static str,
    input: &str,
    empty: &str,
) -> Result<TelephoneNumber, FieldError> {
    if input.trim().is_empty() {
        return Err(FieldError::new(field, empty));
    }
    customer_number(input).map_err(|message| FieldError::new(field, message))
}

/// The check the form asks for, or what to change (every field's problem at once).
pub fn parse_check(form: &CheckForm) -> Result<CheckQuery, Vec<FieldError>> {
    if form.is_code() {
        let typed = form.code.as_deref().unwrap_or_default().trim();
        if typed.is_empty() {
            return Err(vec![FieldError::new(
                "code",
                "Enter the code the caller read out to you.",
            )]);
        }
        return CallCode::parse(typed).map(CheckQuery::Code).ok_or_else(|| {
            vec![FieldError::new(
                "code",
                "A code has 8 digits, for example 1234 5678. Check what you typed.",
            )]
        });
    }
    let calling = number_field(
        "calling",
        form.calling.as_deref().unwrap_or_default(),
        "Enter the number shown on your screen for this call.",
    );
    let called = number_field(
        "called",
        form.called.as_deref().unwrap_or_default(),
        "Enter your own phone number: the number that was called.",
    );
    match (calling, called) {
        (Ok(calling), Ok(called)) => Ok(CheckQuery::Pair { calling, called }),
        (calling, called) => Err([calling.err(), called.err()]
            .into_iter()
            .flatten()
            .collect()),
    }
}

/// A report form, as sent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReportInput {
    /// The number that called, as typed.
    pub calling: String,
    /// The customer's number, as typed.
    pub called: String,
    /// The call's time (Unix seconds), as carried from the check result.
    pub at: String,
    /// The names of what the caller asked for (`asked` may repeat).
    pub asked: Vec<String>,
    /// What happened.
    pub text: String,
    /// The form's one-time token.
    pub token: String,
}

impl ReportInput {
    /// The form's fields from its `name=value` pairs: `asked` gathered, any other field
    /// repeated keeps its first value, unknown fields ignored.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut out = Self::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in pairs {
            if name == "asked" {
                out.asked.push(value);
                continue;
            }
            if seen.contains(&name) {
                continue;
            }
            let slot = match name.as_str() {
                "calling" => &mut out.calling,
                "called" => &mut out.called,
                "at" => &mut out.at,
                "text" => &mut out.text,
                "token" => &mut out.token,
                _ => continue,
            };
            *slot = value;
            seen.push(name);
        }
        out
    }
}

/// A report ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidReport {
    /// The number that called.
    pub calling: Option<TelephoneNumber>,
    /// The customer's number.
    pub called: Option<TelephoneNumber>,
    /// When the call was.
    pub call_at: Option<i64>,
    /// What the caller asked for, in [`Asked::ALL`] order, each once.
    pub asked: Vec<Asked>,
    /// What happened (control characters other than line breaks and tabs removed).
    pub text: String,
    /// The form's one-time token.
    pub token: String,
}

/// Whether `token` is one this page hands out: [`TOKEN_BYTES`] bytes as lowercase hex.
pub fn valid_token(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A fresh one-time token, from the OS random source.
pub fn new_token() -> Option<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A call time carried in a form: Unix seconds, in the last [`MAX_CALL_AGE_SECS`] before
/// `now` (or a few minutes after, for clocks apart). Anything else is no time.
pub fn call_time(at: &str, now: i64) -> Option<i64> {
    at.trim()
        .parse::<i64>()
        .ok()
        .filter(|t| (now - MAX_CALL_AGE_SECS..=now + 300).contains(t))
}

/// The report the form describes, or what to change.
pub fn validate_report(input: &ReportInput, now: i64) -> Result<ValidReport, Vec<FieldError>> {
    let mut errors = Vec::new();
    if !valid_token(&input.token) {
        errors.push(FieldError::new(
            "",
            "This form has expired or was not sent from this page. Check it, then send it again.",
        ));
    }
    let optional = |field: &'static str, typed: &str, errors: &mut Vec<FieldError>| {
        if typed.trim().is_empty() {
            return None;
        }
        customer_number(typed)
            .map_err(|message| errors.push(FieldError::new(field, message)))
            .ok()
    };
    let calling = optional("calling", &input.calling, &mut errors);
    let called = optional("called", &input.called, &mut errors);
    let mut asked = Vec::new();
    for name in &input.asked {
        match Asked::parse(name) {
            Some(a) => asked.push(a),
            None => {
                errors.push(FieldError::new(
                    "asked",
                    "Choose what the caller asked for from the list.",
                ));
                break;
            }
        }
    }
    asked.sort_unstable();
    asked.dedup();
    let text: String = input
        .text
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let text = text.trim().to_owned();
    let length = text.chars().count();
    if length > MAX_REPORT_TEXT {
        errors.push(FieldError::new(
            "text",
            format!(
                "That is {length} characters; at most {MAX_REPORT_TEXT} fit. Shorten what \
                 happened to the main points."
            ),
        ));
    }
    let nothing_said = input.calling.trim().is_empty() && input.asked.is_empty() && text.is_empty();
    if nothing_said {
        errors.push(FieldError::new(
            "text",
            "Tell us something about the call: what happened, what the caller asked for, or \
             the number that called you.",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidReport {
        calling,
        called,
        call_at: call_time(&input.at, now),
        asked,
        text,
        token: input.token.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// Words

/// What a caller asked for, as the report form's tick box says it.
pub const fn asked_label(asked: Asked) -> &'static str {
    match asked {
        Asked::Password => "A password, PIN or one-time passcode",
        Asked::Card => "Card details",
        Asked::BankTransfer => "To move money or make a bank transfer",
        Asked::RemoteAccess => "Remote access to my computer or phone",
        Asked::PersonalData => "Personal details (date of birth, address, account numbers)",
        Asked::GiftCards => "Gift cards or vouchers",
    }
}

/// How long ago something `secs` seconds old was, in words.
pub fn ago(secs: i64) -> String {
    match secs {
        s if s < 60 => "just now".to_owned(),
        s if s < 120 => "a minute ago".to_owned(),
        s if s < 3600 => format!("{} minutes ago", s / 60),
        s if s < 7200 => "about an hour ago".to_owned(),
        s if s < 2 * 86_400 => format!("about {} hours ago", s / 3600),
        s => format!("{} days ago", s / 86_400),
    }
}

/// `s` for a URL query value.
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The brand's call-back number as a `tel:` link, or where to find its numbers.
fn call_back(info: &BrandInfo) -> String {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    match &brand.callback {
        Some(tn) => format!(
            "<a class=\"tel\" href=\"tel:+{}\">{}</a>",
            esc(tn.as_str()),
            esc(&readable(tn.as_str()))
        ),
        None => format!(
            "one of the numbers on <a href=\"/brands/{}\">{name}\u{2019}s page</a>",
            esc(&brand.slug)
        ),
    }
}

/// What the brand never asks for, as a list (a general list when it published none).
fn never_ask_list(info: &BrandInfo) -> String {
    let mut out = String::from("<ul>\n");
    if info.brand.never_ask.is_empty() {
        for line in [
            "Your PIN, passwords or one-time passcodes",
            "To move money to another account",
            "Remote access to your computer or phone",
        ] {
            let _ = writeln!(out, "<li>{line}</li>");
        }
    } else {
        for line in &info.brand.never_ask {
            let _ = writeln!(out, "<li>{}</li>", esc(line));
        }
    }
    out.push_str("</ul>\n");
    out
}

fn never_ask_section(info: &BrandInfo) -> String {
    let name = esc(&info.brand.display_name);
    format!(
        "<section aria-labelledby=\"never\">\n<h2 id=\"never\">What {name} never asks for</h2>\n\
         <p>{name} will never ask you for these on a call:</p>\n{}\
         <p>Anyone who asks you for them is not {name}, whatever your phone shows: hang up.</p>\n\
         </section>\n",
        never_ask_list(info)
    )
}

fn call_back_section(info: &BrandInfo) -> String {
    let name = esc(&info.brand.display_name);
    format!(
        "<section aria-labelledby=\"call-us\">\n<h2 id=\"call-us\">Call {name} yourself</h2>\n\
         <p>If you are in any doubt, hang up and call {name} on {}. Never call back a number \
         the caller gives you.</p>\n</section>\n",
        call_back(info)
    )
}

/// The list of problems at the top of a form, each linked to its input.
fn error_summary(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section class=\"err\" aria-labelledby=\"problem\">\n\
         <h2 id=\"problem\">Check what you entered</h2>\n<ul>\n",
    );
    for e in errors {
        let target = match e.field {
            "" => None,
            "asked" => Some(format!("asked-{}", Asked::Password.as_str())),
            field => Some(field.to_owned()),
        };
        match target {
            Some(id) => {
                let _ = writeln!(out, "<li><a href=\"#{id}\">{}</a></li>", esc(&e.message));
            }
            None => {
                let _ = writeln!(out, "<li>{}</li>", esc(&e.message));
            }
        }
    }
    out.push_str("</ul>\n</section>\n");
    out
}

/// A labelled text input with its hint and, when given, its error. `label` and `hint` are
/// HTML; `attrs` are the input's other attributes.
struct Field<'a> {
    id: &'static str,
    label: &'a str,
    hint: &'a str,
    attrs: &'a str,
    value: &'a str,
    error: Option<&'a str>,
}

impl Field<'_> {
    fn html(&self, out: &mut String) {
        let id = self.id;
        let _ = writeln!(
            out,
            "<label for=\"{id}\">{}</label>\n<span class=\"hint\" id=\"{id}-hint\">{}</span>",
            self.label, self.hint
        );
        let (described, invalid) = match self.error {
            Some(e) => {
                let _ = writeln!(
                    out,
                    "<p class=\"err field\" id=\"{id}-error\"><span class=\"vh\">Error: </span>{}</p>",
                    esc(e)
                );
                (format!("{id}-error {id}-hint"), " aria-invalid=\"true\"")
            }
            None => (format!("{id}-hint"), ""),
        };
        let _ = writeln!(
            out,
            "<input id=\"{id}\" name=\"{id}\" {} value=\"{}\" aria-describedby=\"{described}\"{invalid}>",
            self.attrs,
            esc(self.value)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The check page

/// The check page's body: the two forms with `typed` in them and `errors` beside them.
pub fn check_form_html(info: &BrandInfo, typed: &CheckForm, errors: &[FieldError]) -> String {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let slug = esc(&brand.slug);
    let mut out = String::with_capacity(6 * 1024);
    let _ = writeln!(out, "<h1>Is {name} really calling you?</h1>");
    out.push_str(&error_summary(errors));
    let _ = writeln!(
        out,
        "<p>Someone on the phone says they are from {name}, and you are not sure? Check here, \
         during the call or just after it. You will see straight away whether it is really \
         {name}, and what to do next.</p>"
    );
    let number_attrs = format!(
        "type=\"tel\" inputmode=\"tel\" required maxlength=\"{MAX_NUMBER_INPUT}\" \
         spellcheck=\"false\""
    );
    let _ = writeln!(
        out,
        "<section id=\"by-number\" aria-labelledby=\"by-number-h\">\n\
         <h2 id=\"by-number-h\">Check with the phone numbers</h2>\n\
         <form method=\"post\" action=\"/brands/{slug}/check\">"
    );
    Field {
        id: "calling",
        label: "The number on your screen",
        hint: "The number your phone shows for this call, with its country code, for example \
               +1 215 555 1000.",
        attrs: &format!("{number_attrs} autocomplete=\"off\""),
        value: typed.calling.as_deref().unwrap_or_default(),
        error: error_for(errors, "calling"),
    }
    .html(&mut out);
    Field {
        id: "called",
        label: "Your phone number",
        hint: "The number that was called, with its country code, for example +1 212 555 0123.",
        attrs: &format!("{number_attrs} autocomplete=\"tel\""),
        value: typed.called.as_deref().unwrap_or_default(),
        error: error_for(errors, "called"),
    }
    .html(&mut out);
    out.push_str("<button type=\"submit\">Check this call</button>\n</form>\n</section>\n");
    let _ = writeln!(
        out,
        "<section id=\"by-code\" aria-labelledby=\"by-code-h\">\n\
         <h2 id=\"by-code-h\">Check with a code</h2>\n\
         <p>If the caller read out a code to you, enter it here. A code works once, for a few \
         minutes.</p>\n\
         <form method=\"post\" action=\"/brands/{slug}/check\">"
    );
    Field {
        id: "code",
        label: "The code the caller gave you",
        hint: "8 digits, for example 1234 5678.",
        attrs: &format!(
            "type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" required \
             maxlength=\"{MAX_CODE_INPUT}\" spellcheck=\"false\""
        ),
        value: typed.code.as_deref().unwrap_or_default(),
        error: error_for(errors, "code"),
    }
    .html(&mut out);
    out.push_str("<button type=\"submit\">Check the code</button>\n</form>\n</section>\n");
    out.push_str(&never_ask_section(info));
    out.push_str(&call_back_section(info));
    let _ = writeln!(
        out,
        "<p><a href=\"/brands/{slug}\">More about {name}: the numbers it calls from</a></p>"
    );
    out
}

fn check_title(info: &BrandInfo) -> String {
    format!("Is {} really calling you?", info.brand.display_name)
}

/// `GET /brands/{slug}/check`: the check page.
pub async fn form(State(state): State<Arc<AppState>>, Path(slug): Path<String>) -> Response {
    let Some(info) = find(&state, &slug) else {
        return unknown_brand(&slug);
    };
    let body = check_form_html(&info, &CheckForm::default(), &[]);
    page(StatusCode::OK, Caching::Public, &check_title(&info), &body)
}

/// The "Report this call" button: a GET form carrying what is known of the call.
fn report_button(
    info: &BrandInfo,
    calling: Option<&TelephoneNumber>,
    called: Option<&TelephoneNumber>,
    at: i64,
) -> String {
    let mut out = format!(
        "<form method=\"get\" action=\"/brands/{}/report\" class=\"report\">\n",
        esc(&info.brand.slug)
    );
    for (name, tn) in [("calling", calling), ("called", called)] {
        if let Some(tn) = tn {
            let _ = writeln!(
                out,
                "<input type=\"hidden\" name=\"{name}\" value=\"+{}\">",
                esc(tn.as_str())
            );
        }
    }
    let _ = writeln!(
        out,
        "<input type=\"hidden\" name=\"at\" value=\"{at}\">\n\
         <button type=\"submit\" class=\"report\">Report this call</button>\n</form>"
    );
    out
}

/// A link to the report form, carrying what is known of the call.
fn report_href(
    info: &BrandInfo,
    calling: Option<&TelephoneNumber>,
    called: Option<&TelephoneNumber>,
    at: i64,
) -> String {
    let mut href = format!("/brands/{}/report?", info.brand.slug);
    for (name, tn) in [("calling", calling), ("called", called)] {
        if let Some(tn) = tn {
            let _ = write!(
                href,
                "{name}={}&",
                query_value(&format!("+{}", tn.as_str()))
            );
        }
    }
    let _ = write!(href, "at={at}");
    href
}

/// Facts about the call found, as a definition list.
fn found_details(found: &Found, now: i64) -> String {
    let mut out = String::from("<dl class=\"detail\">\n");
    if let Some(agent) = &found.agent {
        let _ = writeln!(
            out,
            "<dt>Your caller\u{2019}s name</dt><dd>{}</dd>",
            esc(agent)
        );
    }
    if let Some(reason) = &found.reason {
        let _ = writeln!(
            out,
            "<dt>What the call is about</dt><dd>{}</dd>",
            esc(&reason.text)
        );
    }
    let _ = writeln!(
        out,
        "<dt>Calling from</dt><dd><span class=\"num\">{}</span></dd>\n\
         <dt>Call started</dt><dd>{}</dd>\n</dl>",
        esc(&readable(found.calling.as_str())),
        ago(now - found.started_at)
    );
    out
}

/// A check's result page: its title and body.
pub fn result_html(
    info: &BrandInfo,
    query: &CheckQuery,
    finding: &Finding,
    now: i64,
) -> (String, String) {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let slug = esc(&brand.slug);
    let (calling, called) = match query {
        CheckQuery::Pair { calling, called } => (Some(calling), Some(called)),
        CheckQuery::Code(_) => (None, None),
    };
    let mut out = String::with_capacity(4 * 1024);
    let title = match finding {
        Finding::CallingNow(found) => {
            let title = format!("Yes, {} is calling you now", brand.display_name);
            let who = match &found.agent {
                Some(agent) => format!("{} from {name}", esc(agent)),
                None => name.to_string(),
            };
            let _ = writeln!(
                out,
                "<h1>Yes, {name} is calling you now</h1>\n\
                 <div class=\"answer yes\">{CHECK_ICON}<p>This call is really from {name}. You \
                 are talking to {who}. You can carry on with the call.</p></div>\n{}",
                found_details(found, now)
            );
            let _ = writeln!(
                out,
                "<section aria-labelledby=\"never\">\n<h2 id=\"never\">Even on a real call</h2>\n\
                 <p>{name} will never ask you for these:</p>\n{}\
                 <p>If the caller asks for any of them, hang up, call {name} on {}, and \
                 <a href=\"{}\">report the call</a>.</p>\n</section>",
                never_ask_list(info),
                call_back(info),
                esc(&report_href(
                    info,
                    Some(&found.calling),
                    called,
                    found.started_at
                )),
            );
            title
        }
        Finding::CalledRecently(found) => {
            let title = format!("{} is not calling you now", brand.display_name);
            let _ = writeln!(
                out,
                "<h1>{name} is not calling you now</h1>\n\
                 <div class=\"answer wait\">{WARNING_ICON}<p>{name} called you from this number \
                 {}, but is not calling you now. If someone is on the line now saying they are \
                 {name}, it is not {name}: <strong>hang up</strong>.</p></div>\n\
                 <h2>The earlier call</h2>\n{}",
                ago(now - found.started_at),
                found_details(found, now)
            );
            let _ = writeln!(
                out,
                "<section aria-labelledby=\"next\">\n<h2 id=\"next\">What to do now</h2>\n\
                 <p>To talk to {name}, call {name} yourself on {}.</p>\n\
                 <p>If someone called you now pretending to be {name}, tell us about it:</p>\n{}\
                 </section>",
                call_back(info),
                report_button(info, calling, called, now)
            );
            title
        }
        Finding::NotUs => {
            let title = format!("No, this is not {}", brand.display_name);
            let _ = writeln!(
                out,
                "<h1>No, this is not {name}</h1>\n\
                 <div class=\"answer no\">{WARNING_ICON}<p><strong>Hang up.</strong> {name} is \
                 not calling you from this number. Whoever is calling is not {name}.</p></div>\n\
                 <section aria-labelledby=\"next\">\n<h2 id=\"next\">What to do now</h2>\n\
                 <ol>\n<li>Hang up. Do not give the caller any information, codes or money.</li>\n\
                 <li>If you want to talk to {name}, call {name} yourself on {}.</li>\n\
                 <li>Tell {name} about the call, so it can warn other customers.</li>\n</ol>\n{}\
                 </section>",
                call_back(info),
                report_button(info, calling, called, now)
            );
            title
        }
        Finding::CodeInvalid => {
            let title = "This code does not work".to_owned();
            let _ = writeln!(
                out,
                "<h1>This code does not work</h1>\n\
                 <div class=\"answer no\">{WARNING_ICON}<p>This is not a code {name} gave out, \
                 or it was used already, or it has expired. A code works once, for a few \
                 minutes.</p></div>\n\
                 <section aria-labelledby=\"next\">\n<h2 id=\"next\">What to do now</h2>\n\
                 <p>If you typed it wrong, <a href=\"/brands/{slug}/check#by-code\">try the code \
                 again</a>.</p>\n\
                 <p>If the caller gave you this code, <strong>hang up</strong>: it may not be \
                 {name}. To talk to {name}, call {name} yourself on {}.</p>\n{}\
                 </section>",
                call_back(info),
                report_button(info, None, None, now)
            );
            title
        }
    };
    let _ = writeln!(
        out,
        "<p><a href=\"/brands/{slug}/check\">Check another call</a></p>"
    );
    (title, out)
}

fn with_retry_after(mut response: Response, retry_after: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The page for a check refused by a rate limit.
fn limited_page(info: &BrandInfo, what: &str, retry_after: u64) -> Response {
    limited_page_of(info, "checks", what, retry_after)
}

fn limited_page_of(info: &BrandInfo, kind: &str, what: &str, retry_after: u64) -> Response {
    let name = esc(&info.brand.display_name);
    let wait = if retry_after <= 60 {
        format!("{retry_after} seconds")
    } else {
        format!("{} minutes", retry_after.div_ceil(60))
    };
    let body = format!(
        "<h1>Too many {kind}</h1>\n\
         <p class=\"err\">There have been too many {kind} {} in a short time. Please try again \
         in {wait}.</p>\n\
         <p>If you are on a call now and are not sure it is {name}, hang up and call {name} \
         yourself on {}.</p>\n\
         <p><a href=\"/brands/{}/check\">Back to the check page</a></p>\n",
        esc(what),
        call_back(info),
        esc(&info.brand.slug),
    );
    with_retry_after(
        page(
            StatusCode::TOO_MANY_REQUESTS,
            Caching::NoStore,
            &format!("Too many {kind}"),
            &body,
        ),
        retry_after,
    )
}

fn check_form_error(info: &BrandInfo, typed: &CheckForm, errors: &[FieldError]) -> Response {
    let body = check_form_html(info, &typed.clipped(), errors);
    page(
        StatusCode::BAD_REQUEST,
        Caching::NoStore,
        &format!("Error: {}", check_title(info)),
        &body,
    )
}

/// `POST /brands/{slug}/check` (form fields `calling` and `called`, or `code`): the answer
/// in plain words, with the next step.
pub async fn submit(
    State(state): State<Arc<AppState>>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Response {
    let Some(info) = find(&state, &slug) else {
        return unknown_brand(&slug);
    };
    let Ok(Form(typed)) = form else {
        return check_form_error(
            &info,
            &CheckForm::default(),
            &[FieldError::new(
                "",
                "The form could not be read: fill it in on this page and send it again.",
            )],
        );
    };
    let query = match parse_check(&typed) {
        Ok(q) => q,
        Err(errors) => return check_form_error(&info, &typed, &errors),
    };
    let client = state.checker.client(peer, &headers);
    let now = unix_now();
    match state
        .checker
        .check(&info.brand.slug, &query, client, now)
        .await
    {
        Ok(outcome) => {
            let (title, body) = result_html(&outcome.brand, &query, &outcome.finding, now);
            page(StatusCode::OK, Caching::NoStore, &title, &body)
        }
        Err(CheckError::UnknownBrand(slug)) => unknown_brand(&slug),
        Err(CheckError::Limited { what, retry_after }) => limited_page(&info, what, retry_after),
        Err(CheckError::Store(e)) => {
            tracing::error!(error = %e, "a call check from the check page failed");
            internal_error()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reporting

/// The report form's query: what the check result knew of the call.
#[derive(Debug, Default, Deserialize)]
pub struct ReportQuery {
    /// The number that called.
    #[serde(default)]
    calling: Option<String>,
    /// The customer's number.
    #[serde(default)]
    called: Option<String>,
    /// When (Unix seconds).
    #[serde(default)]
    at: Option<String>,
}

fn report_title(info: &BrandInfo) -> String {
    format!("Report a call claiming to be {}", info.brand.display_name)
}

/// The report page's body: the form with `input` in it, `token` in it, and `errors`.
pub fn report_form_html(
    info: &BrandInfo,
    input: &ReportInput,
    token: &str,
    errors: &[FieldError],
    now: i64,
) -> String {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let slug = esc(&brand.slug);
    let mut out = String::with_capacity(6 * 1024);
    let _ = writeln!(out, "<h1>Report a call claiming to be {name}</h1>");
    out.push_str(&error_summary(errors));
    let _ = writeln!(
        out,
        "<p>Tell {name} about a call that said it was from {name} and that you think was not. \
         Your report goes to {name}\u{2019}s security team, who use reports to stop these \
         callers and warn other customers. We do not ask for your name.</p>"
    );
    let at = call_time(&input.at, now);
    if let Some(at) = at {
        let _ = writeln!(
            out,
            "<p>This report is about the call you checked {}.</p>",
            ago(now - at)
        );
    }
    let _ = writeln!(
        out,
        "<form method=\"post\" action=\"/brands/{slug}/report\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{}\">",
        esc(token)
    );
    if let Some(at) = at {
        let _ = writeln!(out, "<input type=\"hidden\" name=\"at\" value=\"{at}\">");
    }
    let number_attrs = format!(
        "type=\"tel\" inputmode=\"tel\" maxlength=\"{MAX_NUMBER_INPUT}\" spellcheck=\"false\""
    );
    Field {
        id: "calling",
        label: "The number that called you",
        hint: "As your phone showed it, with its country code. Leave it empty if no number was \
               shown.",
        attrs: &format!("{number_attrs} autocomplete=\"off\""),
        value: &input
            .calling
            .chars()
            .take(MAX_NUMBER_INPUT)
            .collect::<String>(),
        error: error_for(errors, "calling"),
    }
    .html(&mut out);
    Field {
        id: "called",
        label: "Your phone number (optional)",
        hint: "The number that was called, with its country code.",
        attrs: &format!("{number_attrs} autocomplete=\"tel\""),
        value: &input
            .called
            .chars()
            .take(MAX_NUMBER_INPUT)
            .collect::<String>(),
        error: error_for(errors, "called"),
    }
    .html(&mut out);

    // What the caller asked for.
    let asked_error = error_for(errors, "asked");
    let described = if asked_error.is_some() {
        "asked-error asked-hint"
    } else {
        "asked-hint"
    };
    let _ = writeln!(
        out,
        "<fieldset aria-describedby=\"{described}\">\n\
         <legend>What did the caller ask you for?</legend>\n\
         <span class=\"hint\" id=\"asked-hint\">Tick all that apply.</span>"
    );
    if let Some(e) = asked_error {
        let _ = writeln!(
            out,
            "<p class=\"err field\" id=\"asked-error\"><span class=\"vh\">Error: </span>{}</p>",
            esc(e)
        );
    }
    for asked in Asked::ALL {
        let id = asked.as_str();
        let checked = if input.asked.iter().any(|a| a == id) {
            " checked"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<div class=\"choice\"><input type=\"checkbox\" id=\"asked-{id}\" name=\"asked\" \
             value=\"{id}\"{checked}><label for=\"asked-{id}\">{}</label></div>",
            asked_label(asked)
        );
    }
    out.push_str("</fieldset>\n");

    // What happened.
    let text_error = error_for(errors, "text");
    let _ = writeln!(
        out,
        "<label for=\"text\">What happened?</label>\n\
         <span class=\"hint\" id=\"text-hint\">In your own words: what the caller said, the \
         name they gave, any number they asked you to call. At most {MAX_REPORT_TEXT} \
         characters. Do not write your PIN, passwords or card number here.</span>"
    );
    let (described, invalid) = match text_error {
        Some(e) => {
            let _ = writeln!(
                out,
                "<p class=\"err field\" id=\"text-error\"><span class=\"vh\">Error: </span>{}</p>",
                esc(e)
            );
            ("text-error text-hint", " aria-invalid=\"true\"")
        }
        None => ("text-hint", ""),
    };
    let text: String = input.text.chars().take(MAX_REPORT_TEXT * 2).collect();
    let _ = writeln!(
        out,
        "<textarea id=\"text\" name=\"text\" class=\"prose\" rows=\"6\" \
         maxlength=\"{MAX_REPORT_TEXT}\" aria-describedby=\"{described}\"{invalid}>{}</textarea>\n\
         <button type=\"submit\">Send the report</button>\n</form>",
        esc(&text)
    );
    out.push_str(&call_back_section(info));
    let _ = writeln!(
        out,
        "<p><a href=\"/brands/{slug}/check\">Back to the check page</a></p>"
    );
    out
}

fn report_form_page(
    status: StatusCode,
    info: &BrandInfo,
    input: &ReportInput,
    token: &str,
    errors: &[FieldError],
) -> Response {
    let body = report_form_html(info, input, token, errors, unix_now());
    let title = if errors.is_empty() {
        report_title(info)
    } else {
        format!("Error: {}", report_title(info))
    };
    page(status, Caching::NoStore, &title, &body)
}

/// `GET /brands/{slug}/report[?calling=..&called=..&at=..]`: the report form, filled in with
/// what the check result knew.
pub async fn report_form(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Response {
    let Some(info) = find(&state, &slug) else {
        return unknown_brand(&slug);
    };
    let Some(token) = new_token() else {
        tracing::error!("no randomness for a report form token");
        return internal_error();
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    // A number as people read it, when it is one.
    let shown = |typed: Option<String>| {
        let typed = typed.unwrap_or_default();
        customer_number(&typed).map_or(typed, |tn| readable(tn.as_str()))
    };
    let input = ReportInput {
        calling: shown(query.calling),
        called: shown(query.called),
        at: query.at.unwrap_or_default(),
        ..ReportInput::default()
    };
    report_form_page(StatusCode::OK, &info, &input, &token, &[])
}

/// The thank-you page; `again` when the form had been sent before.
fn thanks_html(info: &BrandInfo, again: bool) -> String {
    let brand = &info.brand;
    let name = esc(&brand.display_name);
    let slug = esc(&brand.slug);
    let mut out = format!(
        "<h1>Thank you: your report was sent</h1>\n\
         <div class=\"answer yes\">{CHECK_ICON}<p>{name} has your report about a call claiming \
         to be {name}.</p></div>\n"
    );
    if again {
        out.push_str(
            "<p>This form had been sent already: your report is kept once, as it was first \
             sent.</p>\n",
        );
    }
    let _ = writeln!(
        out,
        "<section aria-labelledby=\"next\">\n<h2 id=\"next\">What happens next</h2>\n\
         <p>Your report goes to {name}\u{2019}s security team. Reports like yours help it find \
         these callers and warn other customers.</p>\n\
         <p>We did not ask for your name or any way to reach you, so nobody will contact you \
         about this report. If someone calls about it, treat that call with care too: you can \
         always <a href=\"/brands/{slug}/check\">check it here</a>.</p>\n\
         <p><strong>If you gave the caller card details, a password or a code, or moved \
         money,</strong> call {name} now on {}.</p>\n</section>\n\
         <p><a href=\"/brands/{slug}/check\">Check another call</a></p>",
        call_back(info)
    );
    out
}

/// `POST /brands/{slug}/report`: stores the report (once per form) and says what happens
/// next.
pub async fn report(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    ConnectInfo(PeerAddr(peer)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let Some(info) = find(&state, &slug) else {
        return unknown_brand(&slug);
    };
    let fresh = || new_token().unwrap_or_default();
    let Ok(Form(pairs)) = form else {
        return report_form_page(
            StatusCode::BAD_REQUEST,
            &info,
            &ReportInput::default(),
            &fresh(),
            &[FieldError::new(
                "",
                "The form could not be read: fill it in on this page and send it again.",
            )],
        );
    };
    let input = ReportInput::from_pairs(pairs);
    let now = unix_now();
    let valid = match validate_report(&input, now) {
        Ok(v) => v,
        Err(errors) => {
            // The same token while it is a good one: the report was not stored, and the
            // corrected form is still one report.
            let token = if valid_token(&input.token) {
                input.token.clone()
            } else {
                fresh()
            };
            return report_form_page(StatusCode::BAD_REQUEST, &info, &input, &token, &errors);
        }
    };
    let client = state.checker.client(peer, &headers);
    match state.checker.limit_report(client, now).await {
        Ok(()) => {}
        Err(CheckError::Limited { what, retry_after }) => {
            return limited_page_of(&info, "reports", what, retry_after);
        }
        Err(e) => {
            tracing::error!(error = %e, "a report's rate limit failed");
            return internal_error();
        }
    }
    let report = NewReport {
        brand: Some(info.brand.id),
        claimed_brand: Some(info.brand.display_name.clone()),
        calling: valid.calling,
        called: valid.called,
        call_at: valid.call_at,
        asked: valid.asked,
        text: valid.text,
        channel: ReportChannel::CheckPage,
        idempotency_key: Some(format!("{IDEMPOTENCY_PREFIX}{}", valid.token)),
        received_at: now,
    };
    match state.store.create_report(&report).await {
        Ok((_, created)) => {
            state
                .metrics
                .observe_report("check-page", if created { "stored" } else { "replayed" });
            let body = thanks_html(&info, !created);
            page(
                StatusCode::OK,
                Caching::NoStore,
                "Thank you: your report was sent",
                &body,
            )
        }
        Err(StoreError::NotFound { .. }) => unknown_brand(&slug),
        Err(e) => {
            tracing::error!(error = %e, "storing a report from the check page failed");
            internal_error()
        }
    }
}

#[cfg(test)]
mod tests {
    use store::{Brand, BrandId, CallReason, CustomerId};

    use super::*;

    fn info(never_ask: &[&str], callback: Option<&str>) -> BrandInfo {
        BrandInfo {
            brand: Brand {
                id: BrandId(7),
                slug: "acme-bank".into(),
                customer: CustomerId(1),
                legal_name: "Acme Bank plc".into(),
                display_name: "Acme <Bank>".into(),
                call_reasons: vec![],
                never_ask: never_ask.iter().map(|s| (*s).to_owned()).collect(),
                callback: callback.map(|c| TelephoneNumber::parse(c).unwrap()),
                logo: None,
                created_at: 0,
                updated_at: 0,
            },
            logo_url: None,
        }
    }

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    fn form(calling: Option<&str>, called: Option<&str>, code: Option<&str>) -> CheckForm {
        CheckForm {
            calling: calling.map(str::to_owned),
            called: called.map(str::to_owned),
            code: code.map(str::to_owned),
        }
    }

    #[test]
    fn a_pair_of_numbers_in_international_form_is_a_pair_check() {
        let q = parse_check(&form(
            Some("+1 (215) 555-1000"),
            Some("1 212 555 0100"),
            None,
        ));
        assert_eq!(
            q.unwrap(),
            CheckQuery::Pair {
                calling: tn("12155551000"),
                called: tn("12125550100")
            }
        );
    }

    #[test]
    fn every_bad_number_is_named_with_what_to_change() {
        let errors = parse_check(&form(Some(""), Some("212 555 0100"), None)).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].field, "calling");
        assert!(errors[0].message.contains("number shown on your screen"));
        assert_eq!(errors[1].field, "called");
        assert!(errors[1].message.contains("country code"), "{errors:?}");
        let errors = parse_check(&form(Some("+1 215 555 1000"), None, None)).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "called");
    }

    #[test]
    fn a_code_is_eight_digits_with_any_spaces() {
        let q = parse_check(&form(None, None, Some(" 1234 5678 "))).unwrap();
        assert!(matches!(q, CheckQuery::Code(c) if c.as_str() == "12345678"));
        // A code wins over empty number fields.
        let q = parse_check(&form(Some(""), Some(""), Some("1234-5678"))).unwrap();
        assert!(matches!(q, CheckQuery::Code(_)));
        for (typed, says) in [
            ("", "Enter the code"),
            ("1234 567", "8 digits"),
            ("1234 5678 9", "8 digits"),
            ("abcd efgh", "8 digits"),
        ] {
            let errors = parse_check(&form(None, None, Some(typed))).unwrap_err();
            assert_eq!(errors[0].field, "code");
            assert!(errors[0].message.contains(says), "{typed:?}: {errors:?}");
        }
        // Nothing sent at all asks for the code.
        let errors = parse_check(&CheckForm::default()).unwrap_err();
        assert_eq!(errors[0].field, "code");
    }

    #[test]
    fn the_form_marks_invalid_inputs_and_links_the_summary_to_them() {
        let info = info(&[], None);
        let typed = form(Some("<b>215"), Some(""), None);
        let errors = parse_check(&typed).unwrap_err();
        let html = check_form_html(&info, &typed, &errors);
        assert!(html.contains("Check what you entered"));
        assert!(html.contains("<a href=\"#calling\">"));
        assert!(html.contains("<a href=\"#called\">"));
        assert!(html.contains(
            "value=\"&lt;b&gt;215\" aria-describedby=\"calling-error calling-hint\" aria-invalid=\"true\">"
        ));
        assert!(html.contains("id=\"calling-error\""));
        assert!(html.contains("aria-describedby=\"code-hint\">"), "{html}");
        assert!(!html.contains("<b>"));
        assert_eq!(html.matches("<h1>").count(), 1);
        for id in ["calling", "called", "code"] {
            assert!(html.contains(&format!("<label for=\"{id}\">")), "{id}");
        }
    }

    #[test]
    fn the_form_names_what_the_brand_never_asks_for_and_its_number() {
        let html = check_form_html(
            &info(&["Your <PIN>"], Some("+18005550199")),
            &CheckForm::default(),
            &[],
        );
        assert!(html.contains("<h1>Is Acme &lt;Bank&gt; really calling you?</h1>"));
        assert!(html.contains("<li>Your &lt;PIN&gt;</li>"));
        assert!(html.contains("<a class=\"tel\" href=\"tel:+18005550199\">+1 800-555-0199</a>"));
        // Without a call-back number, the brand's page; without a list, the general one.
        let html = check_form_html(&info(&[], None), &CheckForm::default(), &[]);
        assert!(html.contains("href=\"/brands/acme-bank\">Acme &lt;Bank&gt;\u{2019}s page</a>"));
        assert!(html.contains("Your PIN, passwords or one-time passcodes"));
        assert!(!html.contains("tel:"));
    }

    fn found(agent: Option<&str>, reason: Option<&str>, started_at: i64) -> Found {
        Found {
            calling: tn("12155551000"),
            reason: reason.map(|r| CallReason {
                code: "r".into(),
                text: r.into(),
                marketing: false,
            }),
            agent: agent.map(str::to_owned),
            started_at,
        }
    }

    fn pair() -> CheckQuery {
        CheckQuery::Pair {
            calling: tn("12155551000"),
            called: tn("12125550100"),
        }
    }

    #[test]
    fn yes_says_who_is_calling_and_why() {
        let info = info(&[], Some("18005550199"));
        let now = 1_700_000_000;
        let (title, html) = result_html(
            &info,
            &pair(),
            &Finding::CallingNow(found(Some("<Sarah>"), Some("Card fraud alert"), now - 90)),
            now,
        );
        assert_eq!(title, "Yes, Acme <Bank> is calling you now");
        assert!(html.contains("<h1>Yes, Acme &lt;Bank&gt; is calling you now</h1>"));
        assert!(html.contains("You are talking to &lt;Sarah&gt; from Acme &lt;Bank&gt;"));
        assert!(html.contains("<dd>Card fraud alert</dd>"));
        assert!(html.contains("+1 215-555-1000"));
        assert!(html.contains("a minute ago"));
        assert!(html.contains(
            "href=\"/brands/acme-bank/report?calling=%2B12155551000&amp;called=%2B12125550100&amp;at=1699999910\""
        ));
        assert!(!html.contains("Report this call"));
    }

    #[test]
    fn not_us_says_hang_up_with_the_number_to_call_and_a_report_button() {
        let info = info(&[], Some("18005550199"));
        let (title, html) = result_html(&info, &pair(), &Finding::NotUs, 1_700_000_000);
        assert_eq!(title, "No, this is not Acme <Bank>");
        assert!(html.contains("<strong>Hang up.</strong>"));
        assert!(html.contains("href=\"tel:+18005550199\""));
        assert!(html.contains("<form method=\"get\" action=\"/brands/acme-bank/report\""));
        assert!(html.contains("name=\"calling\" value=\"+12155551000\""));
        assert!(html.contains("name=\"called\" value=\"+12125550100\""));
        assert!(html.contains("name=\"at\" value=\"1700000000\""));
        assert!(html.contains(">Report this call</button>"));
        // Nothing about any call.
        assert!(!html.contains("<dl"));
    }

    #[test]
    fn called_recently_and_bad_codes_offer_the_next_step() {
        let info = info(&[], None);
        let now = 1_700_000_000;
        let (title, html) = result_html(
            &info,
            &pair(),
            &Finding::CalledRecently(found(None, None, now - 3 * 3600)),
            now,
        );
        assert_eq!(title, "Acme <Bank> is not calling you now");
        assert!(html.contains("called you from this number about 3 hours ago"));
        assert!(html.contains("Report this call"));
        let code = CheckQuery::Code(CallCode::parse("12345678").unwrap());
        let (title, html) = result_html(&info, &code, &Finding::CodeInvalid, now);
        assert_eq!(title, "This code does not work");
        assert!(html.contains("/brands/acme-bank/check#by-code"));
        assert!(html.contains("Report this call"));
        assert!(!html.contains("name=\"calling\""));
        assert!(!html.contains("12345678"));
    }

    fn report_input(asked: &[&str], text: &str) -> ReportInput {
        ReportInput {
            calling: "+1 215 555 1001".into(),
            called: String::new(),
            at: "1699999990".into(),
            asked: asked.iter().map(|s| (*s).to_owned()).collect(),
            text: text.into(),
            token: "0123456789abcdef0123456789abcdef".into(),
        }
    }

    #[test]
    fn a_report_is_validated_and_normalised() {
        let now = 1_700_000_000;
        let r = validate_report(
            &report_input(
                &["card", "password", "card"],
                " Said\r\nhe was\u{0} from fraud ",
            ),
            now,
        )
        .unwrap();
        assert_eq!(r.calling, Some(tn("12155551001")));
        assert_eq!(r.called, None);
        assert_eq!(r.call_at, Some(1_699_999_990));
        assert_eq!(r.asked, [Asked::Password, Asked::Card]);
        assert_eq!(r.text, "Said\nhe was from fraud");
        // A time far off is no time.
        let mut input = report_input(&[], "x");
        input.at = "12".into();
        assert_eq!(validate_report(&input, now).unwrap().call_at, None);
    }

    #[test]
    fn a_bad_report_says_what_to_change() {
        let now = 1_700_000_000;
        let long = "é".repeat(MAX_REPORT_TEXT + 1);
        let errors = validate_report(&report_input(&["pin"], &long), now).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["asked", "text"], "{errors:?}");
        assert!(errors[1].message.contains("4001 characters"));
        // Exactly the limit fits.
        let fits = "é".repeat(MAX_REPORT_TEXT);
        assert!(validate_report(&report_input(&[], &fits), now).is_ok());

        let mut input = report_input(&[], "");
        input.calling = "215 555".into();
        input.token = "not-a-token".into();
        let errors = validate_report(&input, now).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["", "calling"], "{errors:?}");

        let mut input = report_input(&[], "  ");
        input.calling.clear();
        let errors = validate_report(&input, now).unwrap_err();
        assert_eq!(errors[0].field, "text");
        assert!(errors[0].message.contains("Tell us something"));
    }

    #[test]
    fn report_fields_are_read_from_repeated_pairs() {
        let pairs = [
            ("calling", "+1 215 555 1001"),
            ("asked", "card"),
            ("calling", "+1 999"),
            ("asked", "password"),
            ("token", "t"),
            ("other", "x"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let input = ReportInput::from_pairs(pairs.to_vec());
        assert_eq!(input.calling, "+1 215 555 1001");
        assert_eq!(input.asked, ["card", "password"]);
        assert_eq!(input.token, "t");
    }

    #[test]
    fn tokens_are_random_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert!(valid_token(&a) && valid_token(&b));
        assert_ne!(a, b);
        assert!(!valid_token(&a.to_uppercase()));
        assert!(!valid_token(&a[1..]));
    }

    #[test]
    fn the_report_form_is_prefilled_and_every_input_is_labelled() {
        let info = info(&[], Some("18005550199"));
        let now = 1_700_000_000;
        let input = ReportInput {
            calling: "+12155551001".into(),
            called: "\"><script>".into(),
            at: "1699999700".into(),
            asked: vec!["card".into()],
            ..ReportInput::default()
        };
        let html = report_form_html(&info, &input, "ab", &[], now);
        assert!(html.contains("name=\"token\" value=\"ab\""));
        assert!(html.contains("name=\"at\" value=\"1699999700\""));
        assert!(html.contains("the call you checked 5 minutes ago"));
        assert!(html.contains("value=\"+12155551001\""));
        assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(html.contains("value=\"card\" checked>"));
        assert!(html.contains("value=\"password\">"));
        for a in Asked::ALL {
            assert!(html.contains(&format!(
                "<label for=\"asked-{}\">{}</label>",
                a.as_str(),
                asked_label(a)
            )));
        }
        assert!(html.contains("<label for=\"text\">"));
        assert!(html.contains("maxlength=\"4000\""));
        assert_eq!(html.matches("<h1>").count(), 1);
        // An unusable time is left out.
        let input = ReportInput {
            at: "soon".into(),
            ..ReportInput::default()
        };
        let html = report_form_html(&info, &input, "ab", &[], now);
        assert!(!html.contains("name=\"at\""));
    }

    #[test]
    fn the_thanks_say_what_happens_next() {
        let html = thanks_html(&info(&[], Some("18005550199")), false);
        assert!(html.contains("What happens next"));
        assert!(html.contains("tel:+18005550199"));
        assert!(!html.contains("sent already"));
        assert!(thanks_html(&info(&[], None), true).contains("sent already"));
    }

    #[test]
    fn ages_read_as_words() {
        for (secs, words) in [
            (-5, "just now"),
            (59, "just now"),
            (61, "a minute ago"),
            (600, "10 minutes ago"),
            (3700, "about an hour ago"),
            (3 * 3600, "about 3 hours ago"),
            (3 * 86_400, "3 days ago"),
        ] {
            assert_eq!(ago(secs), words, "{secs}");
        }
    }

    #[test]
    fn every_asked_category_has_a_label() {
        let labels: std::collections::BTreeSet<&str> =
            Asked::ALL.into_iter().map(asked_label).collect();
        assert_eq!(labels.len(), Asked::ALL.len());
    }
}
