//! The HTML shell every page shares: escaping, the style sheet, the security headers.
//!
//! Pages are written with `format!`/`write!`; every value that came from a user, a brand or a
//! call goes through [`esc`]. The one style sheet is inline and allowed by its hash in the
//! Content-Security-Policy, which allows nothing else but images from this origin and forms
//! posting to it: no script, no external resource, no framing.

use std::fmt;
use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

/// Text made safe to place in HTML content or in a quoted attribute value.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(&'a str);

/// Escapes `s` for HTML text and double- or single-quoted attribute values.
pub fn esc(s: &str) -> Escaped<'_> {
    Escaped(s)
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, tail) = rest.split_at(at);
            f.write_str(plain)?;
            let mut chars = tail.chars();
            let entity = match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#39;",
            };
            f.write_str(entity)?;
            rest = chars.as_str();
        }
        f.write_str(rest)
    }
}

/// The style sheet: mobile first, system fonts, contrast of at least 4.5:1 for all text,
/// a visible focus ring.
pub const CSS: &str = "\
*,*::before,*::after{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}\
body{margin:0;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",\"DejaVu Sans\",sans-serif;font-size:1.0625rem;line-height:1.55;color:#1b1b1b;background:#f4f5f7}\
a{color:#0a4fbf}\
a:hover{color:#083a8c}\
:focus-visible{outline:3px solid #0a4fbf;outline-offset:2px}\
.skip{position:absolute;left:-10000px;top:0}\
.skip:focus{left:0.5rem;top:0.5rem;background:#fff;padding:0.5rem 0.75rem;z-index:1}\
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}\
header.site{background:#14213d;color:#fff;padding:0.75rem 1rem}\
header.site p{margin:0;font-weight:600}\
main{max-width:40rem;margin:0 auto;padding:1rem}\
h1{font-size:1.6rem;line-height:1.25;margin:0.5rem 0}\
h2{font-size:1.25rem;line-height:1.3;margin:0 0 0.5rem}\
section{background:#fff;border:1px solid #d6d9de;border-radius:0.75rem;padding:1rem;margin:1rem 0}\
.brand{display:flex;align-items:center;gap:1rem}\
.brand img{width:72px;height:72px;object-fit:contain;border-radius:0.75rem;border:1px solid #d6d9de;background:#fff;flex:none}\
.legal{margin:0;color:#4a4f57}\
ul.plain{list-style:none;padding:0;margin:0}\
ul.plain li{padding:0.35rem 0;border-bottom:1px solid #e6e8eb}\
ul.plain li:last-child{border-bottom:0}\
.num{font-variant-numeric:tabular-nums;font-weight:600;white-space:nowrap}\
.count{color:#4a4f57}\
.notice{border-left:4px solid #8a5a00;background:#fff6e0;padding:0.75rem;margin:0.5rem 0}\
.ok{border-left:4px solid #1a7f37;background:#ecf7ee;padding:0.75rem}\
.err{border-left:4px solid #b3261e;background:#fdeceb;padding:0.75rem}\
label{display:block;font-weight:600;margin:0.75rem 0 0.25rem}\
.hint{display:block;color:#4a4f57;font-size:0.95rem;margin-bottom:0.25rem}\
input,textarea{width:100%;font:inherit;padding:0.6rem;border:2px solid #6b7079;border-radius:0.5rem;background:#fff;color:#1b1b1b}\
textarea{min-height:8rem;font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;font-size:0.85rem;overflow-wrap:anywhere}\
button{font:inherit;font-weight:600;margin-top:1rem;padding:0.7rem 1.2rem;min-height:44px;border:0;border-radius:0.5rem;background:#0a4fbf;color:#fff;cursor:pointer}\
button:hover{background:#083a8c}\
figure{margin:0}\
figcaption{text-align:center;color:#4a4f57;font-size:0.95rem}\
.phone{max-width:20rem;margin:1rem auto;background:#111318;color:#fff;border:10px solid #2c2f36;border-radius:2.5rem;padding:2rem 1.25rem 1.5rem;text-align:center}\
.phone .incoming{margin:0;color:#c9ccd1;font-size:0.95rem}\
.phone .demo{display:inline-block;margin:0 0 0.75rem;padding:0.1rem 0.6rem;border:1px solid #ffd166;border-radius:1rem;color:#ffd166;font-size:0.85rem;font-weight:700;text-transform:uppercase;letter-spacing:0.05em}\
.phone .avatar{width:96px;height:96px;margin:1rem auto;border-radius:50%;background:#fff;display:flex;align-items:center;justify-content:center;overflow:hidden}\
.phone .avatar img{width:80px;height:80px;object-fit:contain}\
.phone .avatar.none{background:#3a3e47;color:#fff;font-size:2.5rem;font-weight:700}\
.phone .name{margin:0;font-size:1.6rem;font-weight:700;overflow-wrap:anywhere}\
.phone .name.tel{font-size:1.4rem;white-space:nowrap;font-variant-numeric:tabular-nums}\
.phone .number{margin:0.25rem 0;color:#e3e5e8;font-variant-numeric:tabular-nums}\
.phone .status{margin:0.75rem 0 0;font-weight:700;display:flex;align-items:center;justify-content:center;gap:0.35rem}\
.phone .status svg{width:1.25rem;height:1.25rem;flex:none}\
.phone .passed{color:#7ee2a0}\
.phone .novalidation{color:#e3e5e8}\
.phone .failed{color:#ffb4ab}\
.phone .reason{margin:0.5rem 0 0;color:#fff;background:#2c2f36;border-radius:0.5rem;padding:0.4rem 0.6rem}\
.phone .actions{display:flex;justify-content:space-around;margin-top:2rem}\
.phone .actions span{display:flex;flex-direction:column;align-items:center;gap:0.35rem;color:#e3e5e8;font-size:0.9rem}\
.phone .actions span::before{content:\"\";width:3.25rem;height:3.25rem;border-radius:50%;background:#c0362c}\
.phone .actions span.accept::before{background:#1a7f37}\
dl.detail{margin:0;display:grid;grid-template-columns:1fr;gap:0.15rem}\
dl.detail dt{font-weight:600;margin-top:0.5rem}\
dl.detail dd{margin:0;overflow-wrap:anywhere}\
code{font-family:ui-monospace,\"DejaVu Sans Mono\",monospace;font-size:0.9em;overflow-wrap:anywhere}\
footer{max-width:40rem;margin:0 auto;padding:1rem;color:#4a4f57;font-size:0.9rem}\
.answer{display:flex;gap:0.75rem;align-items:flex-start;border:2px solid #6b7079;border-radius:0.75rem;padding:1rem;margin:1rem 0;background:#fff;font-size:1.125rem}\
.answer p{margin:0}\
.answer svg{width:2rem;height:2rem;flex:none}\
.answer.yes{border-color:#1a7f37;background:#ecf7ee}\
.answer.yes svg{color:#1a7f37}\
.answer.no{border-color:#b3261e;background:#fdeceb}\
.answer.no svg{color:#b3261e}\
.answer.wait{border-color:#8a5a00;background:#fff6e0}\
.answer.wait svg{color:#8a5a00}\
.err h2{font-size:1.1rem;color:#1b1b1b}\
.err ul{margin:0;padding-left:1.25rem}\
.err a{color:#8c1d17;font-weight:600}\
p.err.field{margin:0.25rem 0;padding:0.4rem 0.6rem}\
a.tel{font-weight:700;white-space:nowrap;font-variant-numeric:tabular-nums}\
button.report{background:#b3261e}\
button.report:hover{background:#8c1d17}\
fieldset{border:0;padding:0;margin:1rem 0 0;min-width:0}\
legend{font-weight:600;padding:0;margin-bottom:0.25rem}\
.choice{display:flex;align-items:center;gap:0.6rem;min-height:44px}\
.choice input{width:1.5rem;height:1.5rem;flex:none;margin:0;accent-color:#0a4fbf}\
.choice label{margin:0;font-weight:400}\
textarea.prose{font-family:inherit;font-size:1rem}\
@media (min-width:40rem){h1{font-size:2rem}main{padding:1.5rem}}\
";

/// The `sha256-...` source that allows [`CSS`], and nothing else, as a style sheet.
fn style_hash() -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, CSS.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// The Content-Security-Policy of every page: no script at all, the one style sheet by
/// hash, images from this origin only, forms posting to this origin only, no framing.
pub fn content_security_policy() -> &'static str {
    static CSP: LazyLock<String> = LazyLock::new(|| {
        format!(
            "default-src 'none'; style-src {}; img-src 'self'; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
            style_hash()
        )
    });
    CSP.as_str()
}

/// How long a page may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Public facts: kept a minute by browsers and shared caches.
    Public,
    /// An answer to one visitor (a form result, an error): never stored.
    NoStore,
}

impl Caching {
    const fn header(self) -> &'static str {
        match self {
            Self::Public => "public, max-age=60",
            Self::NoStore => "no-store",
        }
    }
}

/// The security headers every page and JSON answer carries.
pub fn security_headers(response: &mut Response, caching: Caching) {
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(content_security_policy()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(caching.header()),
    );
}

/// A whole page: `title` (plain text, escaped here) and `body` (HTML, already escaped),
/// with the security headers.
pub fn page(status: StatusCode, caching: Caching, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#content\">Skip to content</a>\n\
         <header class=\"site\"><p>callproof</p></header>\n\
         <main id=\"content\">\n{body}</main>\n\
         <footer><p>Powered by callproof.</p></footer>\n\
         </body>\n</html>\n",
        title = esc(title),
    );
    let mut response = (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response();
    security_headers(&mut response, caching);
    response
}

/// An error page: a heading and one paragraph of plain `message` (escaped here), never
/// stored.
pub fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p class=\"err\">{}</p>\n",
        esc(heading),
        esc(message)
    );
    page(status, Caching::NoStore, heading, &body)
}

/// The page for a failure of ours (details are logged by the caller, not shown).
pub fn internal_error() -> Response {
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Something went wrong on our side. Please try again in a few minutes.",
    )
}

/// A check mark (decorative: the text beside it says what it means).
pub const CHECK_ICON: &str = "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\" focusable=\"false\">\
<circle cx=\"12\" cy=\"12\" r=\"11\" fill=\"currentColor\"/>\
<path d=\"M6.5 12.5l3.5 3.5 7.5-8\" fill=\"none\" stroke=\"#111318\" stroke-width=\"2.5\" \
stroke-linecap=\"round\" stroke-linejoin=\"round\"/></svg>";

/// A warning sign (decorative).
pub const WARNING_ICON: &str = "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\" focusable=\"false\">\
<path d=\"M12 2L1 21h22z\" fill=\"currentColor\"/>\
<path d=\"M12 9v5M12 17.5v.5\" stroke=\"#111318\" stroke-width=\"2.5\" stroke-linecap=\"round\"/>\
</svg>";

/// A question mark in a circle (decorative).
pub const UNKNOWN_ICON: &str = "<svg viewBox=\"0 0 24 24\" aria-hidden=\"true\" focusable=\"false\">\
<circle cx=\"12\" cy=\"12\" r=\"11\" fill=\"currentColor\"/>\
<path d=\"M9.2 9.2a2.9 2.9 0 1 1 4 2.7c-.8.4-1.2 1-1.2 1.8v.5M12 17.5v.5\" fill=\"none\" \
stroke=\"#111318\" stroke-width=\"2.2\" stroke-linecap=\"round\"/></svg>";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup_and_attribute_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\"").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("Acme Bank plc").to_string(), "Acme Bank plc");
        assert_eq!(esc("").to_string(), "");
        assert_eq!(esc("é<ü>").to_string(), "é&lt;ü&gt;");
    }

    #[test]
    fn the_policy_allows_the_style_sheet_by_hash_and_no_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!csp.contains("unsafe"));
        assert!(!csp.contains("script-src"));
        // The sheet is placed verbatim, so its hash holds.
        let page = page(StatusCode::OK, Caching::Public, "t", "");
        assert_eq!(
            page.headers()[header::CONTENT_SECURITY_POLICY],
            content_security_policy()
        );
    }
}
