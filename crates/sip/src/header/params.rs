//! Generic parameters: `;name[=value]` after a URI, a name-addr or a Via (RFC 3261
//! section 25.1, `generic-param`).

use std::fmt;

use crate::grammar::{Cursor, is_token, is_token_byte};

/// The most parameters accepted on one value; more is refused as malformed.
pub const MAX_PARAMS: usize = 32;

/// One parameter: a name and, unless it is a flag, its value as written (a quoted value
/// keeps its quotes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    name: String,
    value: Option<String>,
}

impl Param {
    /// The name as written.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value as written, `None` for a flag such as `;lr` or `;rport`.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// An ordered list of parameters with case-insensitive names and no duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<Param>);

/// Characters of an unquoted parameter value: token characters, plus `[`, `]` and `:` for
/// IPv6 addresses and `host:port` values.
fn is_value_byte(b: u8) -> bool {
    is_token_byte(b) || matches!(b, b'[' | b']' | b':')
}

impl Params {
    /// Parses `*( SEMI generic-param )`: `s` must be empty or start with `;` (white space
    /// around `;` and `=` is allowed). Duplicate names are refused, since a peer could
    /// otherwise make two readers see different values.
    pub(crate) fn parse(s: &str) -> Result<Self, &'static str> {
        let mut c = Cursor::new(s);
        let mut out = Vec::new();
        loop {
            c.skip_ws();
            if c.is_end() {
                break;
            }
            if !c.eat(b';') {
                return Err("expected ';' before a parameter");
            }
            c.skip_ws();
            let name = c.take_while(is_token_byte);
            if name.is_empty() {
                return Err("empty parameter name");
            }
            c.skip_ws();
            let value = if c.eat(b'=') {
                c.skip_ws();
                if c.peek() == Some(b'"') {
                    let before = c.rest();
                    c.quoted_string()?;
                    let consumed = before.len() - c.rest().len();
                    Some(before.get(..consumed).unwrap_or_default().to_owned())
                } else {
                    let v = c.take_while(is_value_byte);
                    if v.is_empty() {
                        return Err("empty parameter value");
                    }
                    Some(v.to_owned())
                }
            } else {
                None
            };
            if out.len() >= MAX_PARAMS {
                return Err("too many parameters");
            }
            if out
                .iter()
                .any(|p: &Param| p.name.eq_ignore_ascii_case(name))
            {
                return Err("duplicate parameter");
            }
            out.push(Param {
                name: name.to_owned(),
                value,
            });
        }
        Ok(Self(out))
    }

    /// The parameter named `name` (case-insensitive): `Some(None)` for a flag,
    /// `Some(Some(value))` for a valued parameter, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
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
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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
        if self.0.len() >= MAX_PARAMS {
            return Err("too many parameters");
        }
        self.0.push(Param {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        });
        Ok(())
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            f.write_str(";")?;
            f.write_str(&p.name)?;
            if let Some(v) = &p.value {
                f.write_str("=")?;
                f.write_str(v)?;
            }
        }
        Ok(())
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
