//! TNAuthList test vectors (tests/vectors/tn_auth_list.json): the RFC 8226 example, the
//! encodings found in real SHAKEN certificates, and broken values, decoded and re-encoded.

use pki::TnAuthList;
use pki::tn_auth_list::TnEntry;

#[derive(serde::Deserialize)]
struct Vectors {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    der: String,
    #[serde(default)]
    entries: Option<Vec<Entry>>,
    #[serde(default)]
    quirks: Vec<String>,
    #[serde(default)]
    canonical: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(serde::Deserialize, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Entry {
    Spc { value: String },
    Range { start: String, count: u64 },
    One { value: String },
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0xee))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn ours(entry: &TnEntry) -> Entry {
    match entry {
        TnEntry::Spc(spc) => Entry::Spc {
            value: spc.as_str().to_owned(),
        },
        TnEntry::Range(range) => Entry::Range {
            start: range.start().as_str().to_owned(),
            count: range.count(),
        },
        TnEntry::One(tn) => Entry::One {
            value: tn.as_str().to_owned(),
        },
    }
}

#[test]
fn tn_auth_list_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/tn_auth_list.json"
    );
    let vectors: Vectors = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(vectors.cases.len() >= 20);
    for case in vectors.cases {
        let name = &case.name;
        let result = TnAuthList::from_der(&unhex(&case.der));
        match (&case.error, result) {
            (Some(want), Err(e)) => {
                let got = format!("{e:?}");
                assert!(
                    got.starts_with(want.as_str()),
                    "{name}: want {want}, got {got}"
                );
            }
            (Some(want), Ok(list)) => panic!("{name}: want error {want}, decoded {list}"),
            (None, Err(e)) => panic!("{name}: {e}"),
            (None, Ok(list)) => {
                let entries: Vec<Entry> = list.entries().iter().map(ours).collect();
                assert_eq!(Some(&entries), case.entries.as_ref(), "{name}");
                let quirks: Vec<&str> = list.quirks().iter().map(|q| q.as_str()).collect();
                assert_eq!(quirks, case.quirks, "{name}");
                let canonical = case.canonical.as_deref().unwrap_or(&case.der);
                assert_eq!(hex(&list.to_der()), canonical, "{name}");
                // The canonical form decodes to the same entries, without quirks.
                let again = TnAuthList::from_der(&list.to_der()).unwrap();
                assert_eq!(again.entries(), list.entries(), "{name}");
                assert!(again.quirks().is_empty(), "{name}");
            }
        }
    }
}
