//! Lexical rules shared by the parsers (RFC 3261 section 25.1): tokens, quoted strings,
//! linear white space and comma-separated lists.
//!
//! Header values reach these functions already unfolded, so linear white space is only
//! SP and HTAB. Every function scans its input once and never indexes past its end.

/// A set of bytes: a character class tested with one load. Build one in a `const` with
/// [`byte_set!`](crate::grammar::byte_set) from a `const fn(u8) -> bool`.
pub(crate) struct ByteSet(pub(crate) [bool; 256]);

impl ByteSet {
    /// True when `b` is in the set.
    #[inline]
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0.get(usize::from(b)).copied().unwrap_or(false)
    }
}

/// A [`ByteSet`] of the bytes for which a `const fn(u8) -> bool` holds, evaluated at
/// compile time.
macro_rules! byte_set {
    ($pred:expr) => {{
        let mut set = [false; 256];
        let mut b: u8 = 0;
        loop {
            set = $crate::grammar::with(set, b, $pred(b));
            if b == u8::MAX {
                break;
            }
            b += 1;
        }
        $crate::grammar::ByteSet(set)
    }};
}
pub(crate) use byte_set;

/// `set` with the entry for `b` set to `value` (a `const` helper for [`byte_set!`]).
pub(crate) const fn with(set: [bool; 256], b: u8, value: bool) -> [bool; 256] {
    let mut set = set;
    let (_, tail) = set.split_at_mut(b as usize);
    if let Some(slot) = tail.first_mut() {
        *slot = value;
    }
    set
}

/// `token` characters: `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
pub(crate) const fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

static TOKEN: ByteSet = byte_set!(token_byte);

/// `token` characters: `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
#[inline]
pub(crate) fn is_token_byte(b: u8) -> bool {
    TOKEN.contains(b)
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

/// Word-at-a-time scanning: the offset of the first byte of `bytes` for which `is` holds,
/// looking at eight bytes at once. `any` must flag (set bit 7 of) at least one byte of every
/// word that holds a byte for which `is` holds; it may flag others, which are checked
/// byte by byte.
fn find_where(bytes: &[u8], any: impl Fn(u64) -> u64, is: impl Fn(u8) -> bool) -> Option<usize> {
    let (words, rest) = bytes.as_chunks::<8>();
    let mut offset = 0;
    for word in words {
        if any(u64::from_le_bytes(*word)) != 0
            && let Some(i) = word.iter().position(|&b| is(b))
        {
            return Some(offset + i);
        }
        offset += 8;
    }
    rest.iter().position(|&b| is(b)).map(|i| offset + i)
}

/// `0x01` in every byte of a word.
const ONES: u64 = u64::from_le_bytes([0x01; 8]);
/// `0x80` in every byte of a word.
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Flags the bytes of `word` below `n` (at most 0x80), and possibly bytes after them.
fn below(word: u64, n: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(n)) & !word & HIGHS
}

/// Flags the bytes of `word` equal to `b`, and possibly bytes after them.
fn equal(word: u64, b: u8) -> u64 {
    below(word ^ (ONES * u64::from(b)), 1)
}

/// The offset of the first `b` in `bytes`.
#[inline]
pub(crate) fn find_byte(bytes: &[u8], b: u8) -> Option<usize> {
    find_where(bytes, |w| equal(w, b), |x| x == b)
}

/// `s` split around the first `b` (an ASCII byte), like `str::split_once` with a `char`.
#[inline]
pub(crate) fn split_at_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = find_byte(s.as_bytes(), b)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The pieces of `s` between the `b`s (an ASCII byte), like `str::split` with a `char`.
pub(crate) fn split_by(s: &str, b: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        match split_at_byte(current, b) {
            Some((piece, tail)) => {
                rest = Some(tail);
                Some(piece)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The offset of the first `a` or `b` in `bytes`.
pub(crate) fn find_byte2(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    find_where(bytes, |w| equal(w, a) | equal(w, b), |x| x == a || x == b)
}

/// The offset of the first CR or LF in `bytes`.
pub(crate) fn find_line_break(bytes: &[u8]) -> Option<usize> {
    find_where(
        bytes,
        |w| equal(w, b'\r') | equal(w, b'\n'),
        |b| b == b'\r' || b == b'\n',
    )
}

/// The offset of the first byte no header value may hold (see [`is_forbidden_control`]).
pub(crate) fn find_forbidden_control(bytes: &[u8]) -> Option<usize> {
    find_where(
        bytes,
        |w| below(w, 0x20) | equal(w, 0x7f),
        is_forbidden_control,
    )
}

/// The offset of the first byte that matters when splitting a list: `"`, `<`, `>` or `,`.
fn find_list_byte(bytes: &[u8]) -> Option<usize> {
    find_where(
        bytes,
        |w| equal(w, b'"') | equal(w, b'<') | equal(w, b'>') | equal(w, b','),
        |b| matches!(b, b'"' | b'<' | b'>' | b','),
    )
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

    /// The byte offset of the cursor.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the cursor to byte offset `pos`, which must come from this cursor's
    /// [`Cursor::pos`] or be a boundary found by an ASCII predicate.
    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos;
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
}

/// Checks the quoted string at the start of `s` (which must begin with `"`) without
/// unescaping it: the number of bytes it takes, closing quote included. Accepts and refuses
/// exactly what [`unquote_prefix`] does, with the same reasons.
pub(crate) fn skip_quoted(s: &str) -> Result<usize, &'static str> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return Err("expected a quoted string");
    }
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => return Ok(i + 1),
            // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
            b'\\' => match bytes.get(i + 1) {
                Some(&e) if e.is_ascii() && e != b'\r' && e != b'\n' => i += 2,
                _ => return Err("invalid escape in quoted string"),
            },
            b if b.is_ascii_control() && b != b'\t' => {
                return Err("control character in quoted string");
            }
            _ => i += 1,
        }
    }
    Err("unterminated quoted string")
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

/// Calls `element` with each element of a comma-separated list, split only where
/// `split_here` allows, never inside a quoted string or between `<` and `>`. Elements are
/// trimmed; an empty element is an error. On an error some elements may already have been
/// passed on: a caller that keeps them must undo that.
pub(crate) fn for_each_element<'a>(
    s: &'a str,
    split_here: impl Fn(&'a str) -> bool,
    mut element: impl FnMut(&'a str),
) -> Result<(), &'static str> {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut in_angle = false;
    // Only quotes, angle brackets and commas matter: skip from one to the next.
    while let Some(skip) = bytes.get(i..).and_then(find_list_byte) {
        i += skip;
        let Some(&b) = bytes.get(i) else {
            break;
        };
        match b {
            b'"' if !in_angle => {
                i += skip_quoted(s.get(i..).unwrap_or_default())?;
                continue;
            }
            b'<' if !in_angle => in_angle = true,
            b'<' => return Err("nested '<'"),
            b'>' if in_angle => in_angle = false,
            b',' if !in_angle && split_here(s.get(i + 1..).unwrap_or_default()) => {
                let part = trim_ws(s.get(start..i).unwrap_or_default());
                if part.is_empty() {
                    return Err("empty list element");
                }
                element(part);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_angle {
        return Err("unterminated '<'");
    }
    let part = trim_ws(s.get(start..).unwrap_or_default());
    if part.is_empty() {
        return Err("empty list element");
    }
    element(part);
    Ok(())
}

/// The elements of a list, collected (see [`for_each_element`]).
fn split_commas<'a>(
    s: &'a str,
    split_here: impl Fn(&'a str) -> bool,
) -> Result<Vec<&'a str>, &'static str> {
    let mut out = Vec::new();
    for_each_element(s, split_here, |part| out.push(part))?;
    Ok(out)
}

/// Splits a list header (`Via`, `Contact`, `P-Asserted-Identity`, ...) into its elements.
pub(crate) fn split_list(s: &str) -> Result<Vec<&str>, &'static str> {
    split_commas(s, |_| true)
}

/// Splits comma-combined Identity headers (see [`identity_split_here`]).
#[cfg(test)]
pub(crate) fn split_identity(s: &str) -> Result<Vec<&str>, &'static str> {
    split_commas(s, identity_split_here)
}

/// Where comma-combined Identity headers split. RFC 8224 carries each PASSporT in its own
/// header field; a comma is taken as a separator only when what follows it starts a new
/// JWS (`header.payload.signature` or the compact `..signature`) and it is outside `<...>`
/// and quotes, so a comma inside an `info` URL never splits a value.
pub(crate) fn identity_split_here(rest: &str) -> bool {
    starts_with_jws(rest)
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
    fn byte_splits_agree_with_char_splits() {
        for s in [
            "",
            ";",
            "a",
            "a;b",
            ";a;;b;",
            "user=phone;lr",
            "a=b=c",
            "Zoë;é",
        ] {
            assert_eq!(
                split_by(s, b';').collect::<Vec<_>>(),
                s.split(';').collect::<Vec<_>>()
            );
            assert_eq!(split_at_byte(s, b'='), s.split_once('='), "{s:?}");
            assert_eq!(
                find_byte2(s.as_bytes(), b';', b'='),
                s.find([';', '=']),
                "{s:?}"
            );
        }
    }

    #[test]
    fn byte_sets_match_their_predicates() {
        for b in 0..=255u8 {
            assert_eq!(is_token_byte(b), token_byte(b), "{b}");
        }
    }

    #[test]
    fn word_scans_agree_with_byte_scans() {
        let mut samples: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"abc".to_vec(),
            b"INVITE sip:a@b SIP/2.0\r\nVia: x\r\n".to_vec(),
            b"0123456789abcdef\x7f".to_vec(),
            b"\t\t\t\t\t\t\t\t\t\x01".to_vec(),
            "Zoë <sip:a@b>, \"x,y\" <sip:c@d>".as_bytes().to_vec(),
        ];
        // Every byte value at every position of a 17-byte buffer, among others.
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut v = vec![b'a'; 17];
                v[at] = b;
                v[16 - at / 2] = b.wrapping_add(1);
                samples.push(v);
            }
        }
        for s in &samples {
            let naive = |f: &dyn Fn(u8) -> bool| s.iter().position(|&b| f(b));
            for b in [b'\r', b'\n', b'"', b',', 0, 0x7f, 0x80, 0xff] {
                assert_eq!(find_byte(s, b), naive(&|x| x == b), "{s:?} {b}");
            }
            assert_eq!(
                find_line_break(s),
                naive(&|b| b == b'\r' || b == b'\n'),
                "{s:?}"
            );
            assert_eq!(
                find_forbidden_control(s),
                naive(&is_forbidden_control),
                "{s:?}"
            );
            assert_eq!(
                find_list_byte(s),
                naive(&|b| matches!(b, b'"' | b'<' | b'>' | b',')),
                "{s:?}"
            );
        }
    }

    #[test]
    fn skip_quoted_agrees_with_unquote_prefix() {
        for s in [
            r#""a \"b\" \\ c" rest"#,
            "\"a\\",
            "\"a\u{1}\"",
            "\"Zoë\"",
            "\"a\\\u{e9}\"",
            "\"a\\\r\"",
            "\"tab\there\"",
            "\"",
            "x",
            "",
            "\"\u{7f}\"",
        ] {
            assert_eq!(
                skip_quoted(s),
                unquote_prefix(s).map(|(_, len)| len),
                "{s:?}"
            );
        }
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
