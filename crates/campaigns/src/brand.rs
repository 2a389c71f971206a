//! A small gazetteer of brands and agencies that robocalls commonly claim to be, matched on
//! normalised tokens, and the canonical form of a brand a reporter typed.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::text::NormalizedText;

/// Longest brand name kept from a report's `claimed_brand`, in characters.
pub const MAX_BRAND_CHARS: usize = 64;
/// Most brands kept per report.
pub const MAX_BRANDS: usize = 8;

/// One way of writing a brand: its normalised tokens, and whether the first token must have
/// been capitalised (for names that are also words: "Chase", "Discover", "Visa").
struct Alias {
    brand: &'static str,
    tokens: &'static [&'static str],
    capitalised: bool,
}

const fn a(brand: &'static str, tokens: &'static [&'static str]) -> Alias {
    Alias {
        brand,
        tokens,
        capitalised: false,
    }
}

const fn cap(brand: &'static str, tokens: &'static [&'static str]) -> Alias {
    Alias {
        brand,
        tokens,
        capitalised: true,
    }
}

/// Longer aliases first where one contains another, so "social security administration"
/// is one match.
const ALIASES: &[Alias] = &[
    a("Amazon", &["amazon"]),
    a("Apple", &["apple"]),
    a("Apple", &["icloud"]),
    a("Microsoft", &["microsoft"]),
    a("Microsoft", &["windows", "support"]),
    a(
        "Social Security Administration",
        &["social", "security", "administration"],
    ),
    a(
        "Social Security Administration",
        &["social", "security", "office"],
    ),
    a("Social Security Administration", &["ssa"]),
    a("IRS", &["irs"]),
    a("IRS", &["internal", "revenue", "service"]),
    a("Medicare", &["medicare"]),
    a("Spectrum", &["spectrum"]),
    cap("Visa", &["visa"]),
    a("Mastercard", &["mastercard"]),
    a("Mastercard", &["master", "card"]),
    a("American Express", &["american", "express"]),
    a("PayPal", &["paypal"]),
    a("PayPal", &["pay", "pal"]),
    a("Bank of America", &["bank", "of", "america"]),
    cap("Chase", &["chase"]),
    a("Wells Fargo", &["wells", "fargo"]),
    a("Citibank", &["citibank"]),
    a("Citibank", &["citi"]),
    a("Capital One", &["capital", "1"]),
    cap("Discover", &["discover"]),
    a("AT&T", &["at&t"]),
    a("AT&T", &["at", "and", "t"]),
    a("DirecTV", &["directv"]),
    a("DirecTV", &["direct", "tv"]),
    a("Verizon", &["verizon"]),
    a("T-Mobile", &["t", "mobile"]),
    a("T-Mobile", &["tmobile"]),
    a("Comcast", &["comcast"]),
    a("Comcast", &["xfinity"]),
    a("DHL", &["dhl"]),
    a("FedEx", &["fedex"]),
    a("FedEx", &["fed", "ex"]),
    cap("UPS", &["ups"]),
    a("USPS", &["usps"]),
    a("USPS", &["postal", "service"]),
    a("Walmart", &["walmart"]),
    a("Google", &["google"]),
    a("Netflix", &["netflix"]),
    a("Geek Squad", &["geek", "squad"]),
    a("Norton", &["norton"]),
    a("McAfee", &["mcafee"]),
    a("Best Buy", &["best", "buy"]),
    a("eBay", &["ebay"]),
    a("Coinbase", &["coinbase"]),
    a("Duke Energy", &["duke", "energy"]),
    a(
        "U.S. Customs and Border Protection",
        &["customs", "and", "border", "protection"],
    ),
    a("Federal Reserve", &["federal", "reserve"]),
    a("DEA", &["dea"]),
    a("DEA", &["drug", "enforcement", "administration"]),
    a("FBI", &["fbi"]),
    a("Department of Homeland Security", &["homeland", "security"]),
    a(
        "Department of Education",
        &["department", "of", "education"],
    ),
];

/// The brands named in `text`, canonical names in order of first mention, without repeats.
///
/// ```
/// use campaigns::{brand::brands_in, text::NormalizedText};
/// let text = NormalizedText::normalize("Hi, this is the alert system with Visa MasterCard account services");
/// assert_eq!(brands_in(&text), ["Visa", "Mastercard"]);
/// ```
pub fn brands_in(text: &NormalizedText) -> Vec<&'static str> {
    let mut found: Vec<&'static str> = Vec::new();
    for (i, token) in text.tokens().enumerate() {
        let Some(aliases) = BY_FIRST_TOKEN.get(token) else {
            continue;
        };
        for alias in aliases {
            if found.len() >= MAX_BRANDS {
                return found;
            }
            if text.starts_with_at(i, alias.tokens)
                && (!alias.capitalised || text.is_capitalised(i))
                && !found.contains(&alias.brand)
            {
                found.push(alias.brand);
            }
        }
    }
    found
}

/// The aliases by their first token, in [`ALIASES`] order.
static BY_FIRST_TOKEN: LazyLock<HashMap<&'static str, Vec<&'static Alias>>> = LazyLock::new(|| {
    let mut map: HashMap<&'static str, Vec<&'static Alias>> = HashMap::new();
    for alias in ALIASES {
        if let Some(first) = alias.tokens.first() {
            map.entry(first).or_default().push(alias);
        }
    }
    map
});

/// The canonical form of a brand as a reporter typed it: a gazetteer name when the text
/// names one ("amazon.com support" is "Amazon"), else the text with its whitespace folded,
/// clipped to [`MAX_BRAND_CHARS`]; `None` when nothing is left.
pub fn canonical_brand(claimed: &str) -> Option<String> {
    let text = NormalizedText::normalize(claimed);
    // A typed name counts as capitalised: "chase" typed in a form field means the bank.
    for (i, token) in text.tokens().enumerate() {
        if let Some(alias) = BY_FIRST_TOKEN
            .get(token)
            .and_then(|list| list.iter().find(|a| text.starts_with_at(i, a.tokens)))
        {
            return Some(alias.brand.to_owned());
        }
    }
    let folded: String = claimed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_BRAND_CHARS)
        .collect();
    (!folded.is_empty()).then_some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brands(t: &str) -> Vec<&'static str> {
        brands_in(&NormalizedText::normalize(t))
    }

    #[test]
    fn finds_brands_in_order() {
        assert_eq!(
            brands("an Apple MacBook Pro is being ordered from your Amazon account"),
            ["Apple", "Amazon"]
        );
        assert_eq!(
            brands("This call is from the Department of Social Security Administration"),
            ["Social Security Administration"]
        );
        assert_eq!(
            brands("I'm calling you from AT&T Direct TV"),
            ["AT&T", "DirecTV"]
        );
        assert_eq!(
            brands("by U.S. Customs and Border Protection"),
            ["U.S. Customs and Border Protection"]
        );
    }

    #[test]
    fn ambiguous_names_need_a_capital() {
        assert!(brands("we will chase this and discover the truth").is_empty());
        assert_eq!(
            brands("lenders such as Chase, Bank of America, Discover"),
            ["Chase", "Bank of America", "Discover"]
        );
    }

    #[test]
    fn claimed_brands_are_canonical() {
        assert_eq!(
            canonical_brand("  amazon.com support ").as_deref(),
            Some("Amazon")
        );
        assert_eq!(canonical_brand("chase").as_deref(), Some("Chase"));
        assert_eq!(
            canonical_brand(" Acme   Energy\n").as_deref(),
            Some("Acme Energy")
        );
        assert_eq!(canonical_brand("  "), None);
        assert_eq!(
            canonical_brand(&"x".repeat(500)).map(|b| b.len()),
            Some(MAX_BRAND_CHARS)
        );
    }
}
