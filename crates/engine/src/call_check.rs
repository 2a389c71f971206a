//! Call checks: a customer asks "is this organisation really calling me now?" and the call
//! registry answers. Sans-I/O: the caller reads the brand's calls to the customer's number
//! from the store and passes them in with the clock.
//!
//! The answer depends only on calls the brand made to that number from the number the
//! customer sees, so it says nothing about whether the number belongs to a customer: a
//! stranger's number and a customer's number that was not called get the same "not us".
//!
//! ```
//! use engine::call_check::{Answer, CheckWindows, answer};
//! let tn = passport::TelephoneNumber::parse("12155551000").unwrap();
//! assert_eq!(answer(&[], &tn, 1_700_000_000, &CheckWindows::default()), Answer::NotUs);
//! ```

use aws_lc_rs::digest;
use passport::TelephoneNumber;
use store::{Brand, BrandId, CallReason, CallRecord};

/// How long a call counts as "calling you now" and as "called you recently".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckWindows {
    /// A call not marked ended counts as in progress for this long after it started.
    pub now_secs: i64,
    /// A call counts as recent for this long after it started (the registry keeps calls
    /// this long).
    pub recent_secs: i64,
}

impl Default for CheckWindows {
    fn default() -> Self {
        Self {
            now_secs: 15 * 60,
            recent_secs: 24 * 3600,
        }
    }
}

/// What a check says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The brand is calling this number from this number now.
    CallingNow(&'a CallRecord),
    /// The brand called this number from this number recently (the newest such call).
    CalledRecently(&'a CallRecord),
    /// No such call: whoever is calling is not the brand.
    NotUs,
}

impl Answer<'_> {
    /// The name used in APIs and metrics: `calling-now`, `called-recently` or `not-us`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::CallingNow(_) => "calling-now",
            Self::CalledRecently(_) => "called-recently",
            Self::NotUs => "not-us",
        }
    }
}

/// Whether `call` is in progress at `now`.
pub fn in_progress(call: &CallRecord, now: i64, windows: &CheckWindows) -> bool {
    call.ended_at.is_none_or(|end| end > now)
        && call.started_at <= now
        && now - call.started_at < windows.now_secs
}

/// The answer for a customer who sees `calling` on their phone, given the brand's calls
/// to their number (any order).
pub fn answer<'a>(
    calls: &'a [CallRecord],
    calling: &TelephoneNumber,
    now: i64,
    windows: &CheckWindows,
) -> Answer<'a> {
    let from: Vec<&CallRecord> = calls
        .iter()
        .filter(|c| &c.calling == calling && c.started_at <= now)
        .collect();
    let newest =
        |it: &mut dyn Iterator<Item = &'a CallRecord>| it.max_by_key(|c| (c.started_at, c.id));
    if let Some(call) = newest(
        &mut from
            .iter()
            .copied()
            .filter(|c| in_progress(c, now, windows)),
    ) {
        return Answer::CallingNow(call);
    }
    match newest(
        &mut from
            .iter()
            .copied()
            .filter(|c| now - c.started_at < windows.recent_secs),
    ) {
        Some(call) => Answer::CalledRecently(call),
        None => Answer::NotUs,
    }
}

/// Digits in a one-time call code.
pub const CODE_DIGITS: usize = 8;

/// A one-time call code: eight digits an agent reads out, shown as `1234 5678`.
#[derive(Clone, PartialEq, Eq)]
pub struct CallCode(String);

impl std::fmt::Debug for CallCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallCode(..)")
    }
}

impl CallCode {
    /// A code from eight random bytes (from the OS random source, passed in).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        // 2^64 is 1.8e11 times 10^8: the modulo bias is below one in a hundred billion.
        let n = u64::from_le_bytes(bytes) % 100_000_000;
        Self(format!("{n:08}"))
    }

    /// A code as a customer typed it: eight digits, with any spaces or dashes between.
    pub fn parse(input: &str) -> Option<Self> {
        if input.len() > 40 {
            return None;
        }
        let digits: String = input
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
            .collect();
        (digits.len() == CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
            .then_some(Self(digits))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Shown to the agent: `1234 5678`.
    pub fn display(&self) -> String {
        let (a, b) = self.0.split_at(CODE_DIGITS / 2);
        format!("{a} {b}")
    }

    /// What the store keeps: SHA-256 of the brand and the code, hex. Codes of different
    /// brands never share a digest.
    pub fn digest(&self, brand: BrandId) -> String {
        let input = format!("callproof call code\0{}\0{}", brand.0, self.0);
        let d = digest::digest(&digest::SHA256, input.as_bytes());
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `12155551212` as `+1 215-555-1212` (North American numbering); any other number as `+`,
/// its country code, and the rest in groups of three (from the right) and four at the end
/// (`442079460958` as `+44 207 946 0958`).
pub fn readable(tn: &str) -> String {
    if tn.is_empty() || !tn.bytes().all(|b| b.is_ascii_digit()) {
        return tn.to_owned();
    }
    if tn.len() == 11
        && let Some(rest) = tn.strip_prefix('1')
        && let (Some(area), Some(exchange), Some(line)) =
            (rest.get(..3), rest.get(3..6), rest.get(6..))
    {
        return format!("+1 {area}-{exchange}-{line}");
    }
    let (cc, national) = tn.split_at(country_code_len(tn).min(tn.len()));
    let mut out = String::with_capacity(tn.len() + 8);
    out.push('+');
    out.push_str(cc);
    let (head, tail) = national.split_at(national.len().saturating_sub(4));
    // Groups of three counted from the right: a shorter group comes first.
    let lead = head.len() % 3;
    for (i, c) in head.chars().enumerate() {
        if i == 0 || (i + 3 - lead) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    if !tail.is_empty() {
        out.push(' ');
        out.push_str(tail);
    }
    out
}

/// The length of the E.164 country code `tn` starts with (ITU-T E.164 assignments: codes
/// are prefix-free, 1 to 3 digits).
fn country_code_len(tn: &str) -> usize {
    const TWO_DIGITS: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if tn.starts_with('1') || tn.starts_with('7') {
        1
    } else if TWO_DIGITS.iter().any(|cc| tn.starts_with(cc)) {
        2
    } else {
        3
    }
}

/// The texts a brand leaves when a customer does not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scripts {
    /// Read out on voicemail.
    pub voicemail: String,
    /// Sent by SMS: one GSM-7 segment (160 characters) whenever the brand's name and
    /// URL leave room for it.
    pub sms: String,
}

/// SMS characters in one segment.
pub const SMS_SEGMENT: usize = 160;

/// The voicemail and SMS texts for a call from `brand` (for `reason`, if any), pointing at
/// its check page `check_url`.
pub fn scripts(brand: &Brand, reason: Option<&CallReason>, check_url: &str) -> Scripts {
    let name = &brand.display_name;
    let callback = brand.callback.as_ref().map(|tn| readable(tn.as_str()));
    let about = reason
        .map(|r| format!(" about: {}", r.text))
        .unwrap_or_default();
    let never: Vec<String> = if brand.never_ask.is_empty() {
        vec![format!(
            "{name} will never ask for your PIN, passwords or one-time codes, or ask you to move money"
        )]
    } else {
        brand.never_ask.clone()
    };
    let mut voicemail = format!("Hello, this is {name}. We tried to call you{about}. ");
    for line in &never {
        voicemail.push_str(line.trim_end_matches('.'));
        voicemail.push_str(". ");
    }
    match &callback {
        Some(n) => voicemail.push_str(&format!(
            "Please call us back on {n}, the number on our website, or check this call at {check_url}. Do not call back a number given in a message you were not expecting."
        )),
        None => voicemail.push_str(&format!(
            "Please check this call at {check_url}, or call us on the number on our website. Do not call back a number given in a message you were not expecting."
        )),
    }

    // The SMS: drop the least needed parts until it fits one segment.
    let call_us = callback
        .map(|n| format!(" Call us on {n} or check:"))
        .unwrap_or_else(|| " Check this call:".into());
    let first_never = never
        .first()
        .map(|l| format!(" {}.", l.trim_end_matches('.')))
        .unwrap_or_default();
    // What the brand never asks for protects more than the call's reason: it goes last.
    let candidates = [
        format!("{name}: we tried to call you{about}.{first_never}{call_us} {check_url}"),
        format!("{name}: we tried to call you.{first_never}{call_us} {check_url}"),
        format!("{name}: we tried to call you{about}.{call_us} {check_url}"),
        format!("{name}: we tried to call you.{call_us} {check_url}"),
        format!("{name}: we tried to call you. Check: {check_url}"),
    ];
    let sms = candidates
        .iter()
        .find(|s| gsm7_len(s).is_some_and(|n| n <= SMS_SEGMENT))
        .or(candidates.last())
        .cloned()
        .unwrap_or_default();
    Scripts { voicemail, sms }
}

/// The length of `s` in GSM-7 septets (characters of the extension table count two), or
/// `None` when it needs UCS-2.
pub fn gsm7_len(s: &str) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENDED: &str = "^{}\\[~]|€\u{c}";
    s.chars().try_fold(0usize, |n, c| {
        if BASIC.contains(c) {
            Some(n + 1)
        } else if EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use store::{CallId, CallSource};

    use super::*;

    fn tn(s: &str) -> TelephoneNumber {
        TelephoneNumber::parse(s).unwrap()
    }

    fn call(id: i64, calling: &str, started_at: i64, ended_at: Option<i64>) -> CallRecord {
        CallRecord {
            id: CallId(id),
            brand: BrandId(1),
            partner: None,
            calling: tn(calling),
            called: tn("12125550100"),
            reason: None,
            agent_ref: None,
            agent_name: None,
            source: CallSource::Signed,
            started_at,
            ended_at,
            code_expires_at: None,
            code_used_at: None,
        }
    }

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn a_call_in_progress_from_the_number_shown_is_calling_now() {
        let w = CheckWindows::default();
        let calls = [
            call(1, "12155551000", NOW - 3000, None),
            call(2, "12155551000", NOW - 60, None),
            call(3, "12155559999", NOW - 10, None),
        ];
        assert_eq!(
            answer(&calls, &tn("12155551000"), NOW, &w),
            Answer::CallingNow(&calls[1])
        );
        assert_eq!(
            answer(&calls, &tn("12155558888"), NOW, &w),
            Answer::NotUs,
            "another number shown: not us, whatever else the brand is doing"
        );
    }

    #[test]
    fn ended_or_old_calls_are_recent_then_forgotten() {
        let w = CheckWindows::default();
        let ended = [call(1, "12155551000", NOW - 120, Some(NOW - 30))];
        assert_eq!(
            answer(&ended, &tn("12155551000"), NOW, &w),
            Answer::CalledRecently(&ended[0])
        );
        let old = [call(1, "12155551000", NOW - w.now_secs, None)];
        assert_eq!(
            answer(&old, &tn("12155551000"), NOW, &w),
            Answer::CalledRecently(&old[0]),
            "past the now window an unended call is only recent"
        );
        let forgotten = [call(1, "12155551000", NOW - w.recent_secs, None)];
        assert_eq!(
            answer(&forgotten, &tn("12155551000"), NOW, &w),
            Answer::NotUs
        );
        let future = [call(1, "12155551000", NOW + 5, None)];
        assert_eq!(
            answer(&future, &tn("12155551000"), NOW, &w),
            Answer::NotUs,
            "a call that has not started yet is not calling"
        );
    }

    #[test]
    fn codes_are_eight_digits_typed_loosely_and_digested_per_brand() {
        let c = CallCode::from_random([0xff; 8]);
        assert_eq!(c.as_str().len(), 8);
        assert_eq!(CallCode::from_random([0; 8]).as_str(), "00000000");
        let typed = CallCode::parse(" 1234-5678 ").unwrap();
        assert_eq!(typed.as_str(), "12345678");
        assert_eq!(typed.display(), "1234 5678");
        assert_eq!(CallCode::parse("1234 567"), None);
        assert_eq!(CallCode::parse("1234 567x"), None);
        assert_eq!(CallCode::parse("123456789"), None);
        assert_ne!(typed.digest(BrandId(1)), typed.digest(BrandId(2)));
        assert_eq!(typed.digest(BrandId(1)).len(), 64);
        assert!(
            !format!("{typed:?}").contains("1234"),
            "codes stay out of logs"
        );
    }

    fn brand(never_ask: Vec<String>, callback: Option<&str>) -> Brand {
        Brand {
            id: BrandId(1),
            slug: "acme-bank".into(),
            customer: store::CustomerId(1),
            legal_name: "Acme Bank plc".into(),
            display_name: "Acme Bank".into(),
            call_reasons: vec![],
            never_ask,
            callback: callback.map(tn),
            logo: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn scripts_name_the_brand_the_callback_number_and_the_check_page() {
        let b = brand(
            vec!["We will never ask for your PIN".into()],
            Some("18005550199"),
        );
        let reason = CallReason {
            code: "fraud-alert".into(),
            text: "Card fraud alert".into(),
            marketing: false,
        };
        let url = "https://callproof.example/brands/acme-bank/check";
        let s = scripts(&b, Some(&reason), url);
        assert!(s.voicemail.contains("Acme Bank"), "{}", s.voicemail);
        assert!(s.voicemail.contains("Card fraud alert"));
        assert!(s.voicemail.contains("We will never ask for your PIN."));
        assert!(s.voicemail.contains("+1 800-555-0199"));
        assert!(s.voicemail.contains(url));
        assert!(
            s.sms.contains(url) && s.sms.contains("+1 800-555-0199"),
            "{}",
            s.sms
        );
        assert!(
            gsm7_len(&s.sms).unwrap() <= SMS_SEGMENT,
            "{} chars",
            s.sms.len()
        );
        assert!(
            s.sms.contains("never ask"),
            "there was room for it: {}",
            s.sms
        );
    }

    #[test]
    fn a_long_sms_drops_parts_to_fit_one_segment() {
        let b = brand(
            vec!["We will never ask for your PIN, your online banking password or any code we send you".into()],
            None,
        );
        let s = scripts(
            &b,
            None,
            "https://a-rather-long-host-name.callproof.example/brands/acme-bank/check",
        );
        assert!(gsm7_len(&s.sms).unwrap() <= SMS_SEGMENT, "{}", s.sms);
        assert!(s.sms.ends_with("/brands/acme-bank/check"));
        assert!(
            s.voicemail.contains("never ask"),
            "the voicemail keeps everything"
        );
        assert!(s.voicemail.contains("number on our website"));
    }

    #[test]
    fn gsm7_counts_extension_characters_twice_and_refuses_others() {
        assert_eq!(gsm7_len("abc"), Some(3));
        assert_eq!(gsm7_len("€"), Some(2));
        assert_eq!(gsm7_len("ü"), Some(1));
        assert_eq!(gsm7_len("—"), None);
    }
}
