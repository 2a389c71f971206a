//! Request methods (RFC 3261 section 7.1 and the extension methods of later RFCs).

use std::fmt;

use crate::grammar::is_token;

/// The longest method name accepted.
pub const MAX_METHOD_LEN: usize = 32;

/// A request method. Method names are case-sensitive: `invite` is an extension method,
/// not `INVITE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261)
    Invite,
    /// ACK (RFC 3261)
    Ack,
    /// OPTIONS (RFC 3261)
    Options,
    /// BYE (RFC 3261)
    Bye,
    /// CANCEL (RFC 3261)
    Cancel,
    /// REGISTER (RFC 3261)
    Register,
    /// PRACK (RFC 3262)
    Prack,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// NOTIFY (RFC 6665)
    Notify,
    /// PUBLISH (RFC 3903)
    Publish,
    /// INFO (RFC 6086)
    Info,
    /// REFER (RFC 3515)
    Refer,
    /// MESSAGE (RFC 3428)
    Message,
    /// UPDATE (RFC 3311)
    Update,
    /// Any other token.
    Extension(ExtensionMethod),
}

/// The name of an extension method: a token of at most [`MAX_METHOD_LEN`] characters that
/// is none of the names [`Method`] lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionMethod(Box<str>);

impl ExtensionMethod {
    /// The method name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Method {
    /// The method named by `token`, or `None` when `token` is not a token or is longer
    /// than [`MAX_METHOD_LEN`].
    pub fn parse(token: &str) -> Option<Self> {
        Some(match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "OPTIONS" => Method::Options,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "PUBLISH" => Method::Publish,
            "INFO" => Method::Info,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "UPDATE" => Method::Update,
            other if is_token(other) && other.len() <= MAX_METHOD_LEN => {
                Method::Extension(ExtensionMethod(other.into()))
            }
            _ => return None,
        })
    }

    /// The method name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Extension(e) => e.as_str(),
            standard => standard.standard_name().unwrap_or_default(),
        }
    }

    /// The name of a method RFC 3261 and its extensions define; `None` for an extension
    /// method (whose name came from the peer).
    pub const fn standard_name(&self) -> Option<&'static str> {
        Some(match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Options => "OPTIONS",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Info => "INFO",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Update => "UPDATE",
            Method::Extension(_) => return None,
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_case_sensitive_tokens() {
        assert_eq!(Method::parse("INVITE"), Some(Method::Invite));
        let lower = Method::parse("invite").unwrap();
        assert_ne!(lower, Method::Invite);
        assert_eq!(lower.as_str(), "invite");
        assert_eq!(Method::parse("NEWMETHOD").unwrap().to_string(), "NEWMETHOD");
        assert_eq!(Method::parse(""), None);
        assert_eq!(Method::parse("IN VITE"), None);
        assert_eq!(Method::parse(&"A".repeat(MAX_METHOD_LEN + 1)), None);
    }
}
