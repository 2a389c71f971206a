//! Lexical rules shared by the parsers (RFC 3261 section 25.1): tokens, quoted strings,
//! linear white space and comma-separated lists.
//!
//! Header values reach these functions already unfolded, so linear white space is only
//! SP and HTAB. Every function scans its input once and never indexes past its end.

/// `token` characters: `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// A non-empty run of token characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// SP or HTAB.
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Strips SP and HTAB from both ends.
pub(crate) fn trim_ws(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// True for bytes no header value may hold: controls other than HTAB, and DEL.
pub(crate) fn is_forbidden_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// A cursor over an ASCII-delimited string. Slices are only taken at positions found by
/// ASCII predicates, so they always fall on character boundaries.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn is_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(is_ws) {
            self.pos += 1;
        }
    }

    /// Consumes the longest run of ASCII bytes matching `f`.
    pub(crate) fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii() && f(b)) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// Everything not yet consumed.
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// Consumes a quoted string starting at the cursor (which must be on `"`), returning it
    /// unescaped.
    pub(crate) fn quoted_string(&mut self) -> Result<String, &'static str> {
        let rest = self.rest();
        let (unescaped, len) = unquote_prefix(rest)?;
        self.pos += len;
        Ok(unescaped)
    }
}

/// Parses the quoted string at the start of `s` (which must begin with `"`): returns the
/// unescaped content and the number of bytes consumed, closing quote included.
pub(crate) fn unquote_prefix(s: &str) -> Result<(String, usize), &'static str> {
    let mut chars = s.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return Err("expected a quoted string");
    }
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, i + 1)),
            '\\' => match chars.next() {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                Some((_, e)) if e.is_ascii() && e != '\r' && e != '\n' => out.push(e),
                _ => return Err("invalid escape in quoted string"),
            },
            c if c.is_ascii_control() && c != '\t' => {
                return Err("control character in quoted string");
            }
            c => out.push(c),
        }
    }
    Err("unterminated quoted string")
}

/// Quotes `s` as a SIP quoted-string, escaping `"` and `\`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Byte ranges of the elements of a comma-separated list, split only where `split_here`
/// allows, never inside a quoted string or between `<` and `>`. Elements are trimmed; an
/// empty element is an error.
fn split_commas<'a>(
    s: &'a str,
    split_here: impl Fn(&'a str) -> bool,
) -> Result<Vec<&'a str>, &'static str> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut in_angle = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' if !in_angle => {
                let rest = s.get(i..).unwrap_or_default();
                let (_, len) = unquote_prefix(rest)?;
                i += len;
                continue;
            }
            b'<' if !in_angle => in_angle = true,
            b'<' => return Err("nested '<'"),
            b'>' if in_angle => in_angle = false,
            b',' if !in_angle && split_here(s.get(i + 1..).unwrap_or_default()) => {
                let element = trim_ws(s.get(start..i).unwrap_or_default());
                if element.is_empty() {
                    return Err("empty list element");
                }
                out.push(element);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_angle {
        return Err("unterminated '<'");
    }
    let element = trim_ws(s.get(start..).unwrap_or_default());
    if element.is_empty() {
        return Err("empty list element");
    }
    out.push(element);
    Ok(out)
}

/// Splits a list header (`Via`, `Contact`, `P-Asserted-Identity`, ...) into its elements.
pub(crate) fn split_list(s: &str) -> Result<Vec<&str>, &'static str> {
    split_commas(s, |_| true)
}

/// Splits comma-combined Identity headers. RFC 8224 carries each PASSporT in its own
/// header field; a comma is taken as a separator only when what follows it starts a new
/// JWS (`header.payload.signature` or the compact `..signature`) and it is outside `<...>`
/// and quotes, so a comma inside an `info` URL never splits a value.
pub(crate) fn split_identity(s: &str) -> Result<Vec<&str>, &'static str> {
    split_commas(s, starts_with_jws)
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// True when `s` (after optional white space) starts with a compact JWS followed by the end,
/// white space, `;` or `,`.
fn starts_with_jws(s: &str) -> bool {
    let mut c = Cursor::new(s);
    c.skip_ws();
    let mut dots = 0;
    let mut last_segment = 0;
    while let Some(b) = c.peek() {
        if b == b'.' {
            dots += 1;
            last_segment = 0;
        } else if is_b64url(b) {
            last_segment += 1;
        } else {
            break;
        }
        c.pos += 1;
    }
    let terminated = c.peek().is_none_or(|b| is_ws(b) || b == b';' || b == b',');
    dots == 2 && last_segment > 0 && terminated
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_outside_quotes_and_angle_brackets() {
        assert_eq!(
            split_list(r#""Doe, John" <sip:a@b;x=1,2>;p="a,b" , <sip:c@d>"#).unwrap(),
            vec![r#""Doe, John" <sip:a@b;x=1,2>;p="a,b""#, "<sip:c@d>"]
        );
        assert_eq!(split_list("a").unwrap(), vec!["a"]);
        assert_eq!(split_list("a,,b"), Err("empty list element"));
        assert_eq!(split_list("a,"), Err("empty list element"));
        assert_eq!(split_list("<sip:a"), Err("unterminated '<'"));
        assert_eq!(split_list("\"abc"), Err("unterminated quoted string"));
    }

    #[test]
    fn identity_splits_only_before_a_new_jws() {
        let one = "aa.bb.cc;info=<https://x.example/a,b>;alg=ES256;ppt=shaken";
        assert_eq!(split_identity(one).unwrap(), vec![one]);
        let two = format!("{one}, ..dd;info=<https://y>");
        assert_eq!(
            split_identity(&two).unwrap(),
            vec![one, "..dd;info=<https://y>"]
        );
        // A comma followed by something that is not a JWS stays in the value.
        let odd = "aa.bb.cc;info=<https://x>;foo=1,2";
        assert_eq!(split_identity(odd).unwrap(), vec![odd]);
    }

    #[test]
    fn quoted_strings_unescape_and_quote_round_trips() {
        let (s, len) = unquote_prefix(r#""a \"b\" \\ c" rest"#).unwrap();
        assert_eq!(s, r#"a "b" \ c"#);
        assert_eq!(len, 14);
        assert_eq!(unquote_prefix(&quote(&s)).unwrap().0, s);
        assert!(unquote_prefix("\"a\\").is_err());
        assert!(unquote_prefix("\"a\u{1}\"").is_err());
        assert_eq!(unquote_prefix("\"Zoë\"").unwrap().0, "Zoë");
    }
}
