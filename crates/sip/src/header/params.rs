//! Generic parameters: `;name[=value]` after a URI, a name-addr or a Via (RFC 3261
//! section 25.1, `generic-param`).
//!
//! A parameter list keeps the text it was parsed from and the positions of each name and
//! value in it, so parsing one allocates at most the copy of that text (and nothing for
//! the first few parameters' positions).

use std::fmt;

use crate::grammar::{ByteSet, Cursor, byte_set, is_token, is_token_byte, skip_quoted, token_byte};

/// The most parameters accepted on one value; more is refused as malformed.
pub const MAX_PARAMS: usize = 32;

/// One parameter: a name and, unless it is a flag, its value as written (a quoted value
/// keeps its quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    name: &'a str,
    value: Option<&'a str>,
}

impl<'a> Param<'a> {
    /// The name as written.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The value as written, `None` for a flag such as `;lr` or `;rport`.
    pub fn value(&self) -> Option<&'a str> {
        self.value
    }
}

/// Where one parameter's name and value are in the text of its list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    name: (u32, u32),
    /// `(0, 0)` with `has_value` false for a flag.
    value: (u32, u32),
    has_value: bool,
}

fn pos(i: usize) -> Result<u32, &'static str> {
    u32::try_from(i).map_err(|_| "parameter list too long")
}

/// The parameter named `name` (case-insensitive) among `spans`, read from `text`.
fn find<'a>(spans: &[Span], text: &'a str, name: &str) -> Option<Option<&'a str>> {
    spans
        .iter()
        // Most names differ in length: compare that before the text.
        .filter(|s| usize::try_from(s.name.1.saturating_sub(s.name.0)).ok() == Some(name.len()))
        .map(|s| s.param(text))
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value)
}

impl Span {
    fn new(name: (usize, usize), value: Option<(usize, usize)>) -> Result<Self, &'static str> {
        let (value, has_value) = match value {
            Some((start, end)) => ((pos(start)?, pos(end)?), true),
            None => ((0, 0), false),
        };
        Ok(Self {
            name: (pos(name.0)?, pos(name.1)?),
            value,
            has_value,
        })
    }

    fn slice(text: &str, (start, end): (u32, u32)) -> &str {
        let at = |i: u32| usize::try_from(i).unwrap_or(usize::MAX);
        text.get(at(start)..at(end)).unwrap_or_default()
    }

    fn param<'a>(&self, text: &'a str) -> Param<'a> {
        Param {
            name: Self::slice(text, self.name),
            value: self.has_value.then(|| Self::slice(text, self.value)),
        }
    }
}

/// Parameters kept without a heap allocation of their own.
const INLINE: usize = 4;

/// The positions of the parameters of one list, in order: the first [`INLINE`] in place,
/// the rest on the heap.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spans {
    inline: [Span; INLINE],
    inline_len: u8,
    spill: Vec<Span>,
}

impl Spans {
    pub(crate) fn len(&self) -> usize {
        usize::from(self.inline_len) + self.spill.len()
    }

    fn push(&mut self, span: Span) {
        match self.inline.get_mut(usize::from(self.inline_len)) {
            Some(slot) => {
                *slot = span;
                self.inline_len += 1;
            }
            None => self.spill.push(span),
        }
    }

    /// The positions in place and those on the heap.
    fn parts(&self) -> [&[Span]; 2] {
        let inline = self
            .inline
            .get(..usize::from(self.inline_len))
            .unwrap_or_default();
        [inline, &self.spill]
    }

    /// The parameter named `name` (case-insensitive), read from `text`.
    pub(crate) fn get<'a>(&self, text: &'a str, name: &str) -> Option<Option<&'a str>> {
        self.parts()
            .into_iter()
            .find_map(|spans| find(spans, text, name))
    }

    /// Calls `f` with each parameter, read from `text`, in order.
    pub(crate) fn for_each<'a>(&self, text: &'a str, mut f: impl FnMut(Param<'a>)) {
        for spans in self.parts() {
            for span in spans {
                f(span.param(text));
            }
        }
    }

    fn contains(&self, text: &str, name: &str) -> bool {
        self.get(text, name).is_some()
    }

    /// Appends a parameter, refusing a duplicate name and overflow, in that order of
    /// checks as [`Params::push_unchecked`] documents.
    pub(crate) fn push_checked(
        &mut self,
        text: &str,
        name: (usize, usize),
        value: Option<(usize, usize)>,
    ) -> Result<(), &'static str> {
        let name_str = text.get(name.0..name.1).unwrap_or_default();
        if self.contains(text, name_str) {
            return Err("duplicate parameter");
        }
        if self.len() >= MAX_PARAMS {
            return Err("too many parameters");
        }
        self.push(Span::new(name, value)?);
        Ok(())
    }
}

/// Characters of an unquoted parameter value: token characters, plus `[`, `]` and `:` for
/// IPv6 addresses and `host:port` values.
const fn value_byte(b: u8) -> bool {
    token_byte(b) || matches!(b, b'[' | b']' | b':')
}

static VALUE: ByteSet = byte_set!(value_byte);

fn is_value_byte(b: u8) -> bool {
    VALUE.contains(b)
}

/// Parses `*( SEMI generic-param )` in `text` from byte `from` to the end, returning the
/// positions of the parameters in `text` (see [`Params::parse`]).
pub(crate) fn scan(text: &str, from: usize) -> Result<Spans, &'static str> {
    let mut c = Cursor::new(text);
    c.set_pos(from);
    let mut out = Spans::default();
    loop {
        c.skip_ws();
        if c.is_end() {
            break;
        }
        if !c.eat(b';') {
            return Err("expected ';' before a parameter");
        }
        c.skip_ws();
        let name_start = c.pos();
        let name = c.take_while(is_token_byte);
        if name.is_empty() {
            return Err("empty parameter name");
        }
        let name_end = c.pos();
        c.skip_ws();
        let value = if c.eat(b'=') {
            c.skip_ws();
            let start = c.pos();
            if c.peek() == Some(b'"') {
                let len = skip_quoted(c.rest())?;
                c.set_pos(start + len);
            } else if c.take_while(is_value_byte).is_empty() {
                return Err("empty parameter value");
            }
            Some((start, c.pos()))
        } else {
            None
        };
        if out.len() >= MAX_PARAMS {
            return Err("too many parameters");
        }
        if out.contains(text, name) {
            return Err("duplicate parameter");
        }
        out.push(Span::new((name_start, name_end), value)?);
    }
    Ok(out)
}

/// The positions of a kept parameter list: one in place (a URI's `;user=phone`, a
/// `;tag`), more on the heap. Small, since every URI and name-addr holds one.
#[derive(Debug, Clone)]
enum KeptSpans {
    One(Span),
    Many(Box<[Span]>),
}

impl Default for KeptSpans {
    fn default() -> Self {
        KeptSpans::Many(Box::default())
    }
}

impl KeptSpans {
    fn as_slice(&self) -> &[Span] {
        match self {
            KeptSpans::One(span) => std::slice::from_ref(span),
            KeptSpans::Many(spans) => spans,
        }
    }

    fn from_spans(spans: &Spans) -> Self {
        match spans.parts() {
            [[span], []] | [[], [span]] => KeptSpans::One(*span),
            // Allocated at its exact size.
            parts => KeptSpans::Many(parts.concat().into_boxed_slice()),
        }
    }

    fn push(&mut self, span: Span) {
        *self = match self.as_slice() {
            [] => KeptSpans::One(span),
            kept => KeptSpans::Many([kept, &[span]].concat().into_boxed_slice()),
        };
    }
}

/// An ordered list of parameters with case-insensitive names and no duplicates.
#[derive(Clone, Default)]
pub struct Params {
    /// The text the positions refer to: the list as parsed, or a larger value holding it
    /// (a whole URI or Via), with parameters appended by [`Params::push`] at the end.
    text: String,
    spans: KeptSpans,
}

impl Params {
    /// Parses `*( SEMI generic-param )`: `s` must be empty or start with `;` (white space
    /// around `;` and `=` is allowed). Duplicate names are refused, since a peer could
    /// otherwise make two readers see different values.
    #[cfg(test)]
    pub(crate) fn parse(s: &str) -> Result<Self, &'static str> {
        let spans = scan(s, 0)?;
        Ok(Self::from_parts(s.to_owned(), spans))
    }

    /// Parameters whose positions `spans` gives in `text`.
    pub(crate) fn from_parts(text: String, spans: Spans) -> Self {
        Self {
            text,
            spans: KeptSpans::from_spans(&spans),
        }
    }

    /// The text the positions refer to.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The parameter named `name` (case-insensitive): `Some(None)` for a flag,
    /// `Some(Some(value))` for a valued parameter, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        find(self.spans.as_slice(), &self.text, name)
    }

    /// The value of the parameter named `name`, when present with a value.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }

    /// True when a parameter named `name` is present, with or without a value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = Param<'_>> {
        self.spans.as_slice().iter().map(|s| s.param(&self.text))
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.spans.as_slice().len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.as_slice().is_empty()
    }

    /// Appends a parameter, refusing a name or value that is not a token (or, for the
    /// value, a token-like host) and a name already present.
    pub(crate) fn push(&mut self, name: &str, value: Option<&str>) -> Result<(), &'static str> {
        if !is_token(name) {
            return Err("parameter name is not a token");
        }
        if let Some(v) = value
            && (v.is_empty() || !v.bytes().all(is_value_byte))
        {
            return Err("parameter value is not a token");
        }
        self.push_unchecked(name, value)
    }

    /// Appends a parameter whose characters the caller has checked (URI parameters have a
    /// wider character set than header parameters); refuses duplicates and overflow.
    pub(crate) fn push_unchecked(
        &mut self,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), &'static str> {
        if self.contains(name) {
            return Err("duplicate parameter");
        }
        if self.len() >= MAX_PARAMS {
            return Err("too many parameters");
        }
        let before = self.text.len();
        self.text.push_str(name);
        let name_span = (before, self.text.len());
        let value_span = value.map(|v| {
            let start = self.text.len();
            self.text.push_str(v);
            (start, self.text.len())
        });
        match Span::new(name_span, value_span) {
            Ok(span) => {
                self.spans.push(span);
                Ok(())
            }
            Err(e) => {
                self.text.truncate(before);
                Err(e)
            }
        }
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Params {}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Params")
            .field(&self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// Writes parameters as `;name=value`.
pub(crate) fn write_params<'a>(
    f: &mut fmt::Formatter<'_>,
    params: impl Iterator<Item = Param<'a>>,
) -> fmt::Result {
    for p in params {
        f.write_str(";")?;
        f.write_str(p.name)?;
        if let Some(v) = p.value {
            f.write_str("=")?;
            f.write_str(v)?;
        }
    }
    Ok(())
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_params(f, self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_with_white_space_flags_and_quotes() {
        let p =
            Params::parse(" ; tag = 1928301774;lr ; x=\"a b;c\";Received=[2001:db8::1]").unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p.get("TAG"), Some(Some("1928301774")));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("x"), Some("\"a b;c\""));
        assert_eq!(p.value("received"), Some("[2001:db8::1]"));
        assert_eq!(p.get("missing"), None);
        assert_eq!(
            p.to_string(),
            ";tag=1928301774;lr;x=\"a b;c\";Received=[2001:db8::1]"
        );
    }

    #[test]
    fn malformed_params_are_refused() {
        assert_eq!(
            Params::parse("tag=1"),
            Err("expected ';' before a parameter")
        );
        assert_eq!(Params::parse(";=1"), Err("empty parameter name"));
        assert_eq!(Params::parse(";a="), Err("empty parameter value"));
        assert_eq!(Params::parse(";a=1;A=2"), Err("duplicate parameter"));
        assert_eq!(
            Params::parse(";a=x y"),
            Err("expected ';' before a parameter")
        );
        let many: String = (0..=MAX_PARAMS).map(|i| format!(";p{i}")).collect();
        assert_eq!(Params::parse(&many), Err("too many parameters"));
    }
}
