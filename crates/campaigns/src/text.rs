//! Text normalisation: lowercase word tokens in which numbers, money amounts, phone numbers
//! and first names are folded into placeholder tokens, so that two transcripts of one script
//! read alike whatever the amount, the agent's name or the callback number, and whether the
//! speech recogniser wrote "press one" or "press 1", "U.S." or "us", "there's" or "there is".
//!
//! Chinese, Japanese and Korean characters are one token each (those scripts have no spaces).
//! Phone numbers found in the text (written "1-800-555-0199", "(800) 555 0199" or spoken digit
//! by digit, "eight eight eight ...") are kept aside as callback numbers.

use std::borrow::Cow;

/// Text beyond this many bytes is ignored (cut at a character boundary).
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Tokens beyond this many are dropped.
pub const MAX_TOKENS: usize = 2048;
/// Callback numbers beyond this many per text are dropped.
pub const MAX_CALLBACKS: usize = 8;

/// The token a money amount becomes ("$1,537.35", "$999", "20 dollars").
pub const AMOUNT: &str = "#amt";
/// The token a number of three or more digits becomes (order numbers, years, codes).
pub const NUMBER: &str = "#num";
/// The token a phone number becomes.
pub const PHONE: &str = "#phone";
/// The token a common first name (and a capitalised surname after it) becomes.
pub const NAME: &str = "#name";

/// A text as a sequence of normalised tokens, with the callback numbers found in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedText {
    buf: String,
    spans: Vec<(u32, u32)>,
    capitalised: Vec<bool>,
    callbacks: Vec<String>,
}

impl NormalizedText {
    /// Normalises `text` (see the module documentation).
    ///
    /// ```
    /// use campaigns::text::NormalizedText;
    /// let a = NormalizedText::normalize("Your order of $1,537.35: press one, or call 1-800-555-0199.");
    /// let b = NormalizedText::normalize("your order of $899.99 press 1 or call (888) 555 0100");
    /// assert_eq!(a.tokens().collect::<Vec<_>>(), b.tokens().collect::<Vec<_>>());
    /// assert_eq!(a.callback_numbers(), ["8005550199"]);
    /// ```
    pub fn normalize(text: &str) -> Self {
        let text = clip(text, MAX_TEXT_BYTES);
        let chars: Vec<char> = text.chars().collect();
        let mut raw_buf = String::with_capacity(text.len());
        let mut raw = Vec::with_capacity(chars.len() / 4 + 1);
        scan(&chars, &mut raw_buf, &mut raw);
        let pieces = words(&raw_buf, &raw);
        let pieces = join_letters(pieces);
        let mut out = Self {
            buf: String::with_capacity(raw_buf.len()),
            spans: Vec::with_capacity(pieces.len()),
            capitalised: Vec::with_capacity(pieces.len()),
            callbacks: Vec::new(),
        };
        out.fold(&pieces);
        out
    }

    /// The tokens, in order.
    pub fn tokens(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.spans
            .iter()
            .map(|&(s, e)| self.buf.get(s as usize..e as usize).unwrap_or(""))
    }

    /// The token at `index`.
    pub fn token(&self, index: usize) -> Option<&str> {
        let &(s, e) = self.spans.get(index)?;
        self.buf.get(s as usize..e as usize)
    }

    /// Whether the token at `index` was written with a capital letter.
    pub fn is_capitalised(&self, index: usize) -> bool {
        self.capitalised.get(index).copied().unwrap_or(false)
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there is no token at all.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The phone numbers found in the text, in order, without repeats: ten digits for a North
    /// American number (the leading 1 removed).
    pub fn callback_numbers(&self) -> &[String] {
        &self.callbacks
    }

    /// Whether the tokens from `index` on start with `phrase` (already normalised tokens).
    pub fn starts_with_at(&self, index: usize, phrase: &[&str]) -> bool {
        phrase
            .iter()
            .enumerate()
            .all(|(k, p)| self.token(index + k) == Some(*p))
    }

    /// Whether `phrase` (already normalised tokens) occurs anywhere.
    pub fn contains_phrase(&self, phrase: &[&str]) -> bool {
        !phrase.is_empty() && (0..self.len()).any(|i| self.starts_with_at(i, phrase))
    }

    fn push(&mut self, token: &str, capitalised: bool) {
        if self.spans.len() >= MAX_TOKENS {
            return;
        }
        let start = self.buf.len();
        self.buf.push_str(token);
        let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(self.buf.len())) else {
            return;
        };
        self.spans.push((s, e));
        self.capitalised.push(capitalised);
    }

    fn fold(&mut self, pieces: &[Piece<'_>]) {
        let mut i = 0;
        while let Some(p) = pieces.get(i) {
            match p.kind {
                Kind::Amount => {
                    self.push(AMOUNT, false);
                    i += 1;
                }
                Kind::Digits => {
                    let run = pieces
                        .get(i..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|p| p.kind == Kind::Digits)
                        .count();
                    self.digit_run(pieces.get(i..i + run).unwrap_or_default());
                    i += run.max(1);
                }
                Kind::Word => {
                    if is_first_name(&p.text) {
                        self.push(NAME, p.capitalised);
                        i += 1;
                        // A capitalised word right after a first name is taken as the surname.
                        if let Some(next) = pieces.get(i)
                            && next.kind == Kind::Word
                            && next.capitalised
                            && next.text.chars().all(char::is_alphabetic)
                            && !is_common_word(&next.text)
                        {
                            i += 1;
                        }
                    } else {
                        self.push(&p.text, p.capitalised);
                        i += 1;
                    }
                }
            }
        }
    }

    /// Emits a run of digit groups: phone numbers where the groups add up to one, the other
    /// groups as numbers.
    fn digit_run(&mut self, run: &[Piece<'_>]) {
        let mut p = 0;
        while let Some(first) = run.get(p) {
            let want = if first.text.starts_with('1') { 11 } else { 10 };
            let mut digits = String::new();
            let mut q = p;
            while let Some(g) = run.get(q) {
                if digits.len() >= want {
                    break;
                }
                digits.push_str(&g.text);
                q += 1;
            }
            if digits.len() == want {
                let national = digits.get(want - 10..).unwrap_or_default();
                if national.starts_with(['2', '3', '4', '5', '6', '7', '8', '9'])
                    && self.callbacks.len() < MAX_CALLBACKS
                    && !self.callbacks.iter().any(|c| c == national)
                {
                    self.callbacks.push(national.to_owned());
                }
                self.push(PHONE, false);
                p = q;
            } else {
                if first.text.len() <= 2 {
                    self.push(&first.text, false);
                } else {
                    self.push(NUMBER, false);
                }
                p += 1;
            }
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Whether `c` is written without spaces between words (Han, kana, Hangul): one token each.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // CJK extensions B.., compatibility supplement
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Digits,
    Amount,
}

/// A token as scanned: a byte range of the scan buffer (lowercased).
#[derive(Debug, Clone, Copy)]
struct Raw {
    start: usize,
    end: usize,
    capitalised: bool,
    kind: Kind,
}

/// Splits into alphanumeric runs (letters and digits apart), lowercased; keeps an apostrophe
/// or `&` inside a word, drops `,` and `.` inside a number, marks a number after `$`.
fn scan(chars: &[char], buf: &mut String, out: &mut Vec<Raw>) {
    let mut i = 0;
    let mut dollar = false;
    while let Some(&c) = chars.get(i) {
        if is_cjk(c) {
            let start = buf.len();
            buf.push(c);
            out.push(Raw {
                start,
                end: buf.len(),
                capitalised: false,
                kind: Kind::Word,
            });
            dollar = false;
            i += 1;
            continue;
        }
        if c == '$' {
            dollar = true;
            i += 1;
            continue;
        }
        if !c.is_alphanumeric() {
            if !c.is_whitespace() {
                dollar = false;
            }
            i += 1;
            continue;
        }
        let start = buf.len();
        let digits = c.is_ascii_digit();
        let capitalised = c.is_uppercase();
        while let Some(&c) = chars.get(i) {
            let next = chars.get(i + 1).copied();
            if is_cjk(c) {
                break;
            }
            if c.is_alphanumeric() {
                if c.is_ascii_digit() != digits {
                    break;
                }
                buf.extend(c.to_lowercase());
                i += 1;
            } else if digits && matches!(c, ',' | '.') && next.is_some_and(|n| n.is_ascii_digit()) {
                i += 1;
            } else if !digits
                && matches!(c, '\'' | '\u{2019}' | '&')
                && next.is_some_and(|n| n.is_alphabetic() && !is_cjk(n))
            {
                buf.push(if c == '&' { '&' } else { '\'' });
                i += 1;
            } else {
                break;
            }
        }
        let kind = match (digits, dollar) {
            (true, true) => Kind::Amount,
            (true, false) => Kind::Digits,
            (false, _) => Kind::Word,
        };
        out.push(Raw {
            start,
            end: buf.len(),
            capitalised,
            kind,
        });
        dollar = false;
    }
}

/// A token after word-level rewriting.
#[derive(Debug, Clone)]
struct Piece<'a> {
    text: Cow<'a, str>,
    capitalised: bool,
    kind: Kind,
}

/// Word-level rewriting: contractions, apostrophes, spelled digits, "N dollars".
fn words<'a>(buf: &'a str, raw: &[Raw]) -> Vec<Piece<'a>> {
    let mut out: Vec<Piece<'a>> = Vec::with_capacity(raw.len() + 4);
    for r in raw {
        let text = buf.get(r.start..r.end).unwrap_or_default();
        if r.kind != Kind::Word {
            out.push(Piece {
                text: Cow::Borrowed(text),
                capitalised: false,
                kind: r.kind,
            });
            continue;
        }
        if matches!(text, "dollars" | "dollar" | "bucks")
            && let Some(prev) = out.last_mut()
            && prev.kind == Kind::Digits
        {
            prev.kind = Kind::Amount;
            continue;
        }
        if let Some(d) = digit_word(text) {
            out.push(Piece {
                text: Cow::Borrowed(d),
                capitalised: false,
                kind: Kind::Digits,
            });
            continue;
        }
        if text.contains('\'') {
            if let Some(expansion) = contraction(text) {
                for (k, w) in expansion.iter().enumerate() {
                    out.push(Piece {
                        text: Cow::Borrowed(w),
                        capitalised: r.capitalised && k == 0,
                        kind: Kind::Word,
                    });
                }
            } else {
                out.push(Piece {
                    text: Cow::Owned(text.replace('\'', "")),
                    capitalised: r.capitalised,
                    kind: Kind::Word,
                });
            }
            continue;
        }
        out.push(Piece {
            text: Cow::Borrowed(text),
            capitalised: r.capitalised,
            kind: Kind::Word,
        });
    }
    out
}

/// Joins runs of two or more single ASCII letters: "u s" (from "U.S.") is "us", "a m" is "am".
fn join_letters(pieces: Vec<Piece<'_>>) -> Vec<Piece<'_>> {
    let single = |p: &Piece<'_>| {
        p.kind == Kind::Word && p.text.len() == 1 && p.text.bytes().all(|b| b.is_ascii_lowercase())
    };
    if !pieces.windows(2).any(|w| w.iter().all(single)) {
        return pieces;
    }
    let mut out = Vec::with_capacity(pieces.len());
    let mut run = Vec::new();
    for p in pieces {
        if single(&p) {
            run.push(p);
        } else {
            flush_letters(&mut run, &mut out);
            out.push(p);
        }
    }
    flush_letters(&mut run, &mut out);
    out
}

fn flush_letters<'a>(run: &mut Vec<Piece<'a>>, out: &mut Vec<Piece<'a>>) {
    if run.len() >= 2 {
        let text: String = run.iter().map(|p| p.text.as_ref()).collect();
        let capitalised = run.first().is_some_and(|p| p.capitalised);
        out.push(Piece {
            text: Cow::Owned(text),
            capitalised,
            kind: Kind::Word,
        });
        run.clear();
    } else {
        out.append(run);
    }
}

fn digit_word(w: &str) -> Option<&'static str> {
    Some(match w {
        "zero" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        _ => return None,
    })
}

fn contraction(w: &str) -> Option<&'static [&'static str]> {
    Some(match w {
        "there's" => &["there", "is"],
        "it's" => &["it", "is"],
        "that's" => &["that", "is"],
        "what's" => &["what", "is"],
        "here's" => &["here", "is"],
        "he's" => &["he", "is"],
        "she's" => &["she", "is"],
        "let's" => &["let", "us"],
        "we've" => &["we", "have"],
        "you've" => &["you", "have"],
        "i've" => &["i", "have"],
        "they've" => &["they", "have"],
        "we're" => &["we", "are"],
        "you're" => &["you", "are"],
        "they're" => &["they", "are"],
        "i'm" => &["i", "am"],
        "we'll" => &["we", "will"],
        "you'll" => &["you", "will"],
        "i'll" => &["i", "will"],
        "it'll" => &["it", "will"],
        "they'll" => &["they", "will"],
        "we'd" => &["we", "would"],
        "you'd" => &["you", "would"],
        "i'd" => &["i", "would"],
        "don't" => &["do", "not"],
        "doesn't" => &["does", "not"],
        "didn't" => &["did", "not"],
        "can't" => &["can", "not"],
        "cannot" => &["can", "not"],
        "won't" => &["will", "not"],
        "isn't" => &["is", "not"],
        "aren't" => &["are", "not"],
        "wasn't" => &["was", "not"],
        "weren't" => &["were", "not"],
        "haven't" => &["have", "not"],
        "hasn't" => &["has", "not"],
        "hadn't" => &["had", "not"],
        "wouldn't" => &["would", "not"],
        "shouldn't" => &["should", "not"],
        "couldn't" => &["could", "not"],
        _ => return None,
    })
}

/// Common English words that are never taken for a surname after a first name.
fn is_common_word(w: &str) -> bool {
    matches!(
        w,
        "and"
            | "from"
            | "with"
            | "calling"
            | "call"
            | "here"
            | "the"
            | "this"
            | "is"
            | "at"
            | "of"
            | "in"
            | "on"
            | "for"
            | "to"
            | "your"
            | "you"
            | "we"
            | "i"
            | "a"
            | "an"
            | "please"
            | "press"
            | "hello"
            | "hi"
            | "thank"
            | "thanks"
            | "again"
            | "senior"
            | "officer"
            | "agent"
    )
}

/// Common US first names that are not also everyday words (no "Will", "Mark", "Grace").
fn is_first_name(w: &str) -> bool {
    FIRST_NAMES.binary_search(&w).is_ok()
}

/// Sorted, for binary search (a unit test checks the order).
const FIRST_NAMES: &[&str] = &[
    "aaron",
    "abigail",
    "adam",
    "alan",
    "albert",
    "alex",
    "alexander",
    "alexis",
    "alice",
    "allison",
    "amanda",
    "amber",
    "amy",
    "andrea",
    "andrew",
    "angela",
    "anna",
    "anthony",
    "ashley",
    "austin",
    "barbara",
    "benjamin",
    "betty",
    "beverly",
    "brandon",
    "brenda",
    "brian",
    "brittany",
    "bryan",
    "carl",
    "carol",
    "carolyn",
    "catherine",
    "charles",
    "charlotte",
    "cheryl",
    "chris",
    "christian",
    "christina",
    "christine",
    "christopher",
    "cynthia",
    "daniel",
    "danielle",
    "david",
    "deborah",
    "debra",
    "denise",
    "dennis",
    "diana",
    "diane",
    "donald",
    "donna",
    "dorothy",
    "douglas",
    "dylan",
    "edward",
    "elizabeth",
    "emily",
    "emma",
    "eric",
    "ethan",
    "evelyn",
    "gary",
    "george",
    "gerald",
    "gloria",
    "gregory",
    "hannah",
    "harold",
    "heather",
    "helen",
    "isabella",
    "jacob",
    "jacqueline",
    "james",
    "janet",
    "janice",
    "jason",
    "jeffrey",
    "jennifer",
    "jeremy",
    "jerry",
    "jessica",
    "joan",
    "john",
    "jonathan",
    "jordan",
    "jose",
    "joseph",
    "joshua",
    "joyce",
    "juan",
    "judith",
    "julia",
    "julie",
    "justin",
    "karen",
    "katherine",
    "kathleen",
    "kathryn",
    "kayla",
    "keith",
    "kelly",
    "kenneth",
    "kevin",
    "kimberly",
    "kyle",
    "larry",
    "laura",
    "lauren",
    "lawrence",
    "linda",
    "lisa",
    "logan",
    "lori",
    "madison",
    "margaret",
    "maria",
    "marie",
    "marilyn",
    "martha",
    "mary",
    "matthew",
    "megan",
    "melissa",
    "michael",
    "michelle",
    "mike",
    "nadine",
    "nancy",
    "natalie",
    "nathan",
    "nicholas",
    "nicole",
    "olivia",
    "pamela",
    "patricia",
    "patrick",
    "paul",
    "peter",
    "rachel",
    "raymond",
    "rebecca",
    "richard",
    "robert",
    "ronald",
    "ruth",
    "ryan",
    "samantha",
    "samuel",
    "sandra",
    "sarah",
    "scott",
    "sean",
    "sharon",
    "shirley",
    "sophia",
    "stephanie",
    "stephen",
    "steve",
    "steven",
    "susan",
    "teresa",
    "terry",
    "theresa",
    "thomas",
    "timothy",
    "tyler",
    "victoria",
    "vincent",
    "virginia",
    "walter",
    "william",
    "zachary",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(t: &str) -> Vec<String> {
        NormalizedText::normalize(t)
            .tokens()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn first_names_are_sorted() {
        assert!(FIRST_NAMES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lowercases_and_strips_punctuation() {
        assert_eq!(
            toks("Hello, World! Pre-authorized."),
            ["hello", "world", "pre", "authorized"]
        );
    }

    #[test]
    fn amounts_fold_whatever_the_value() {
        assert_eq!(
            toks("an amount of $1,537.35."),
            toks("an amount of $899.99")
        );
        assert_eq!(toks("$ 20"), [AMOUNT]);
        assert_eq!(toks("20 dollars"), [AMOUNT]);
        assert_eq!(
            toks("a payment of $999. We"),
            ["a", "payment", "of", AMOUNT, "we"]
        );
    }

    #[test]
    fn spelled_digits_become_digits() {
        assert_eq!(
            toks("press one, or press 2"),
            ["press", "1", "or", "press", "2"]
        );
    }

    #[test]
    fn long_numbers_fold() {
        assert_eq!(
            toks("order AMZ0987 in 2021"),
            ["order", "amz", NUMBER, "in", NUMBER]
        );
        assert_eq!(
            toks("within 30 to 45 minutes"),
            ["within", "30", "to", "45", "minutes"]
        );
    }

    #[test]
    fn contractions_expand() {
        assert_eq!(toks("There's a notice"), ["there", "is", "a", "notice"]);
        assert_eq!(toks("your car’s warranty"), ["your", "cars", "warranty"]);
    }

    #[test]
    fn dotted_abbreviations_join() {
        assert_eq!(toks("U.S. Customs"), toks("us customs"));
        assert_eq!(toks("8 a.m. to 9 p.m."), ["8", "am", "to", "9", "pm"]);
        assert_eq!(toks("8am"), ["8", "am"]);
    }

    #[test]
    fn brand_ampersand_stays_in_the_word() {
        assert_eq!(toks("AT&T Direct TV"), ["at&t", "direct", "tv"]);
    }

    #[test]
    fn written_phone_numbers_are_callbacks() {
        let n = NormalizedText::normalize("call us back at 855-459-4275 from 9 a.m.");
        assert_eq!(n.callback_numbers(), ["8554594275"]);
        assert_eq!(
            n.tokens().collect::<Vec<_>>(),
            ["call", "us", "back", "at", PHONE, "from", "9", "am"]
        );
        let n = NormalizedText::normalize("Call 1-800-555-0199 or (888) 555.0100 now");
        assert_eq!(n.callback_numbers(), ["8005550199", "8885550100"]);
        let n = NormalizedText::normalize("call 8885550100.");
        assert_eq!(n.callback_numbers(), ["8885550100"]);
    }

    #[test]
    fn spoken_phone_numbers_are_callbacks() {
        let n = NormalizedText::normalize(
            "call eight eight eight, five five five, zero one nine nine today",
        );
        assert_eq!(n.callback_numbers(), ["8885550199"]);
        assert_eq!(n.tokens().collect::<Vec<_>>(), ["call", PHONE, "today"]);
        let n = NormalizedText::normalize("at 1 8 8 8 5 5 5 0 1 9 9");
        assert_eq!(n.callback_numbers(), ["8885550199"]);
    }

    #[test]
    fn digit_runs_that_are_not_phones_stay_numbers() {
        let n = NormalizedText::normalize("press 1 2 3");
        assert!(n.callback_numbers().is_empty());
        assert_eq!(n.tokens().collect::<Vec<_>>(), ["press", "1", "2", "3"]);
        // Ten digits whose area code starts with 0 or 1 is folded but not a callback.
        let n = NormalizedText::normalize("ref 0123456789");
        assert!(n.callback_numbers().is_empty());
        assert_eq!(n.tokens().collect::<Vec<_>>(), ["ref", PHONE]);
    }

    #[test]
    fn first_names_and_surnames_fold() {
        assert_eq!(
            toks("This is officer Sarah Jones calling"),
            toks("this is Officer Amanda Barnes calling")
        );
        assert_eq!(toks("Jessica calling you"), [NAME, "calling", "you"]);
        // An uncapitalised word after a name is not a surname.
        assert_eq!(toks("sarah jones"), [NAME, "jones"]);
    }

    #[test]
    fn cjk_characters_are_tokens() {
        assert_eq!(
            toks("DHL国际快递 请按9"),
            ["dhl", "国", "际", "快", "递", "请", "按", "9"]
        );
    }

    #[test]
    fn empty_and_symbol_only_texts_have_no_tokens() {
        assert!(NormalizedText::normalize("").is_empty());
        assert!(NormalizedText::normalize(" ... !!! $").is_empty());
    }

    #[test]
    fn long_texts_are_bounded() {
        let long = "word ".repeat(10_000);
        let n = NormalizedText::normalize(&long);
        assert!(n.len() <= MAX_TOKENS);
        let multibyte = "é".repeat(MAX_TEXT_BYTES);
        assert!(NormalizedText::normalize(&multibyte).len() == 1);
    }

    #[test]
    fn phrases_are_found() {
        let n = NormalizedText::normalize("Buy a Google Play gift card now");
        assert!(n.contains_phrase(&["gift", "card"]));
        assert!(!n.contains_phrase(&["gift", "cards"]));
        assert!(!n.contains_phrase(&[]));
    }
}
