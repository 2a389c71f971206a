//! Warning (RFC 3261 section 20.43): `warn-code SP warn-agent SP warn-text`.

use crate::grammar::{is_token_byte, quote};

/// A Warning value: `code agent "text"`. The agent keeps only characters valid in
/// `hostport` or a pseudonym (an empty agent becomes `-`); the text is quoted with `"` and
/// `\` escaped and control characters replaced by spaces, so the value is always one
/// well-formed line.
pub fn value(code: u16, warn_agent: &str, text: &str) -> String {
    let agent: String = warn_agent
        .bytes()
        .filter(|&b| is_token_byte(b) || matches!(b, b'[' | b']' | b':'))
        .map(char::from)
        .collect();
    let agent = if agent.is_empty() {
        "-".to_owned()
    } else {
        agent
    };
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("{:03} {agent} {}", code.min(999), quote(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_values_are_quoted_and_sanitised() {
        assert_eq!(
            value(399, "sip.example.com:5060", "missing Via header"),
            "399 sip.example.com:5060 \"missing Via header\""
        );
        assert_eq!(value(399, " \r\n", "a\"b\r\nc"), "399 - \"a\\\"b  c\"");
        assert_eq!(
            value(399, "[2001:db8::1]:5060", "x"),
            "399 [2001:db8::1]:5060 \"x\""
        );
    }
}
