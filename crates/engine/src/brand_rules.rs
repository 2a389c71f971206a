//! What a brand's fields must be, checked the same way by the admin API and the CLI: a
//! slug for URLs, a display name a phone can show, call reasons with token codes and short
//! texts (RFC 9796 advises 64 characters for a call reason), printable text throughout.

use store::CallReason;

/// The longest slug.
pub const MAX_SLUG: usize = 48;
/// The longest display name (what a phone shows).
pub const MAX_DISPLAY_NAME: usize = 32;
/// The longest call reason code.
pub const MAX_REASON_CODE: usize = 32;
/// The longest call reason text.
pub const MAX_REASON_TEXT: usize = 64;
/// The longest legal name or never-ask line.
pub const MAX_LONG_TEXT: usize = 200;
/// Image types accepted for logos.
pub const LOGO_TYPES: &[&str] = &["image/png", "image/jpeg", "image/webp", "image/svg+xml"];

/// Whether `s` is 1 to `max` of a-z, 0-9 and '-', neither starting nor ending with '-'.
pub fn is_slug(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// At most 64 characters of `s`, for an error message.
pub fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// `s` is 1 to `max_chars` characters, not blank, with no control characters.
pub fn printable(what: &str, s: &str, max_chars: usize) -> Result<(), String> {
    if s.trim().is_empty() || s.chars().count() > max_chars || s.chars().any(char::is_control) {
        return Err(format!(
            "{what} must be 1 to {max_chars} printable characters, not {:?}",
            clip(s)
        ));
    }
    Ok(())
}

/// A brand slug.
pub fn check_slug(what: &str, s: &str) -> Result<(), String> {
    if is_slug(s, MAX_SLUG) {
        Ok(())
    } else {
        Err(format!(
            "{what} must be 1 to {MAX_SLUG} of a-z, 0-9 and '-' (not first or last), not {:?}",
            clip(s)
        ))
    }
}

/// A call reason: a token code and a short printable text.
pub fn check_reason(what: &str, reason: &CallReason) -> Result<(), String> {
    if !is_slug(&reason.code, MAX_REASON_CODE) {
        return Err(format!(
            "{what}: the code must be 1 to {MAX_REASON_CODE} of a-z, 0-9 and '-', not {:?}",
            clip(&reason.code)
        ));
    }
    printable(&format!("{what}: the text"), &reason.text, MAX_REASON_TEXT)
}

/// A brand's reasons: each valid, no code twice.
pub fn check_reasons(what: &str, reasons: &[CallReason]) -> Result<(), String> {
    for (i, r) in reasons.iter().enumerate() {
        check_reason(&format!("{what}[{i}]"), r)?;
        if reasons.iter().take(i).any(|x| x.code == r.code) {
            return Err(format!("{what}[{i}]: the code {:?} appears twice", r.code));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_reasons_are_tokens() {
        assert!(is_slug("acme-bank", MAX_SLUG));
        for bad in ["", "-acme", "acme-", "Acme", "acme bank", &"a".repeat(49)] {
            assert!(!is_slug(bad, MAX_SLUG), "{bad:?}");
        }
        let reason = |code: &str, text: &str| CallReason {
            code: code.into(),
            text: text.into(),
            marketing: false,
        };
        assert!(check_reasons("r", &[reason("fraud-alert", "Card fraud alert")]).is_ok());
        assert!(check_reasons("r", &[reason("Fraud", "x")]).is_err());
        assert!(check_reasons("r", &[reason("a", &"x".repeat(65))]).is_err());
        assert!(check_reasons("r", &[reason("a", "x\ny")]).is_err());
        let twice = check_reasons("r", &[reason("a", "x"), reason("a", "y")]).unwrap_err();
        assert!(twice.contains("appears twice"), "{twice}");
    }
}
