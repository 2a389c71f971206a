//! Real STIR/SHAKEN certificates (shared/data/shaken-certs, 15,988 certificates served by
//! real service providers and their CAs): every one goes through `Certificate::from_der`
//! without a panic, TNAuthLists are extracted, the results are compared with the published
//! compliance findings, and leaves are validated against the CA certificates of the set.
//!
//! The data set is found through `CALLPROOF_SHAKEN_CERTS`, or else at
//! `<workspace root>/../shared/data/shaken-certs/certs.jsonl.gz`. Without it the test fails.

#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap is a failed test"
)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;

use base64::Engine as _;
use pki::tn_auth_list::{EncodingQuirk, TnEntry};
use pki::{Certificate, ChainError, TrustAnchors, validate};

#[derive(serde::Deserialize)]
struct Record {
    sha256: String,
    tested_at: String,
    der: String,
    findings: Vec<Finding>,
}

#[derive(serde::Deserialize)]
struct Finding {
    code: String,
}

fn data_path() -> PathBuf {
    if let Some(path) = std::env::var_os("CALLPROOF_SHAKEN_CERTS") {
        return PathBuf::from(path);
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    workspace.join("../shared/data/shaken-certs/certs.jsonl.gz")
}

/// `18 Aug 25 20:10 UTC` -> Unix seconds.
fn report_time(s: &str) -> i64 {
    let parts: Vec<&str> = s.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected tested_at {s:?}");
    let day: i64 = parts[0].parse().unwrap();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[1])
    .unwrap() as i64
        + 1;
    let year: i64 = 2000 + parts[2].parse::<i64>().unwrap();
    let (hh, mm) = parts[3].split_once(':').unwrap();
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh.parse::<i64>().unwrap() * 3600 + mm.parse::<i64>().unwrap() * 60
}

fn bump(map: &mut BTreeMap<String, usize>, key: impl Into<String>) {
    *map.entry(key.into()).or_default() += 1;
}

fn variant_name(error: &ChainError) -> String {
    let debug = format!("{error:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn real_shaken_certificates_parse_and_match_the_published_findings() {
    let path = data_path();
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        panic!(
            "the real-certificate data set is missing at {} ({e}); set CALLPROOF_SHAKEN_CERTS \
             to certs.jsonl.gz from shared/data/shaken-certs",
            path.display()
        )
    });
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));

    let mut total = 0usize;
    let mut panics = 0usize;
    let mut parsed: Vec<(Record, Certificate)> = Vec::new();
    let mut rejections: BTreeMap<String, usize> = BTreeMap::new();
    let mut tn_lists = BTreeMap::<String, usize>::new();
    let mut entry_kinds = BTreeMap::<String, usize>::new();
    let mut quirks = BTreeMap::<String, usize>::new();
    let mut tn_errors = BTreeMap::<String, usize>::new();
    let mut keys = BTreeMap::<String, usize>::new();
    let mut spc_not_atis = 0usize;
    // Comparison with the published findings.
    let mut tn_finding_agree = 0usize;
    let mut tn_finding_disagree = Vec::new();
    let mut flagged_without_finding = Vec::new();
    let mut spc_finding_agree = 0usize;
    let mut spc_finding_disagree = Vec::new();
    let mut spc_flagged_without_finding = Vec::new();
    let mut cn_spc_checked = 0usize;
    let mut cn_spc_agree = 0usize;

    for line in reader.lines() {
        let line = line.unwrap();
        if line.trim().is_empty() {
            continue;
        }
        total += 1;
        let record: Record = serde_json::from_str(&line).unwrap();
        let der = base64::engine::general_purpose::STANDARD
            .decode(&record.der)
            .unwrap();
        let outcome = std::panic::catch_unwind(|| Certificate::from_der(&der));
        let cert = match outcome {
            Err(_) => {
                panics += 1;
                continue;
            }
            Ok(Err(e)) => {
                let text = e.to_string();
                let key: String = text.chars().take(90).collect();
                bump(&mut rejections, key);
                continue;
            }
            Ok(Ok(cert)) => cert,
        };
        bump(&mut keys, cert.public_key().algorithm().to_string());
        let codes: Vec<&str> = record.findings.iter().map(|f| f.code.as_str()).collect();
        let has = |code: &str| codes.contains(&code);

        // What our parser thinks is wrong with the TNAuthList, ATIS-wise: absent, undecodable,
        // non-conforming encoding, or not exactly one SPC.
        let (tn_problem, spc_bad_format) = match cert.tn_auth_list() {
            None => {
                bump(
                    &mut tn_lists,
                    if cert.is_ca() {
                        "absent (CA)"
                    } else {
                        "absent (end entity)"
                    },
                );
                (!cert.is_ca(), !cert.is_ca())
            }
            Some(Err(e)) => {
                bump(&mut tn_lists, "malformed");
                bump(&mut tn_errors, e.to_string());
                (true, true)
            }
            Some(Ok(list)) => {
                bump(&mut tn_lists, "decoded");
                for entry in list.entries() {
                    bump(&mut entry_kinds, entry.kind());
                }
                for quirk in list.quirks() {
                    bump(&mut quirks, quirk.as_str());
                }
                let spcs: Vec<_> = list
                    .entries()
                    .iter()
                    .filter_map(|e| match e {
                        TnEntry::Spc(s) => Some(s),
                        TnEntry::Range(_) | TnEntry::One(_) => None,
                    })
                    .collect();
                let not_atis = spcs.iter().any(|s| !s.is_atis_format());
                if not_atis {
                    spc_not_atis += 1;
                }
                if let (Some(spc), Some(cn)) = (spcs.first(), cert.common_name()) {
                    cn_spc_checked += 1;
                    let expected = format!("SHAKEN {}", spc.as_str());
                    if (cn == expected) != has("e_atis_subject_cn_spc") {
                        cn_spc_agree += 1;
                    }
                }
                (
                    !list.quirks().is_empty() || spcs.len() != 1 || list.entries().len() != 1,
                    not_atis || list.quirks().contains(&EncodingQuirk::UntaggedSpc),
                )
            }
        };
        if has("e_atis_tn_auth_list") {
            if tn_problem {
                tn_finding_agree += 1;
            } else {
                tn_finding_disagree.push(record.sha256.clone());
            }
        } else if tn_problem && !record.findings.is_empty() && !cert.is_ca() {
            flagged_without_finding.push(record.sha256.clone());
        }
        if has("e_atis_tn_auth_list_spc_format") {
            if spc_bad_format {
                spc_finding_agree += 1;
            } else {
                spc_finding_disagree.push(record.sha256.clone());
            }
        } else if spc_bad_format && !has("e_atis_tn_auth_list") && !record.findings.is_empty() {
            // (A missing or undecodable list is reported as e_atis_tn_auth_list alone.)
            spc_flagged_without_finding.push(record.sha256.clone());
        }
        parsed.push((record, cert));
    }

    let chain_outcomes = validate_leaves(&parsed);

    eprintln!(
        "real SHAKEN certificates: {total} read, {} parsed, {panics} panics",
        parsed.len()
    );
    eprintln!("  rejected by Certificate::from_der: {rejections:#?}");
    eprintln!("  public keys: {keys:?}");
    eprintln!("  TNAuthList: {tn_lists:?}");
    eprintln!("  TNAuthList entries by kind: {entry_kinds:?}");
    eprintln!("  TNAuthList encoding quirks tolerated: {quirks:?}");
    eprintln!("  TNAuthList decoding errors: {tn_errors:#?}");
    eprintln!("  SPCs not in ATIS format (digits and upper case): {spc_not_atis}");
    eprintln!(
        "  finding e_atis_tn_auth_list: {tn_finding_agree} confirmed, {} not seen by us {:?}",
        tn_finding_disagree.len(),
        tn_finding_disagree
    );
    eprintln!(
        "  our TNAuthList problems on end entities without that finding: {} {:?}",
        flagged_without_finding.len(),
        flagged_without_finding
    );
    eprintln!(
        "  finding e_atis_tn_auth_list_spc_format: {spc_finding_agree} confirmed, {} not seen by us {:?}",
        spc_finding_disagree.len(),
        spc_finding_disagree
    );
    eprintln!(
        "  our SPC-format problems on certificates without that finding: {} {:?}",
        spc_flagged_without_finding.len(),
        spc_flagged_without_finding
    );
    eprintln!(
        "  finding e_atis_subject_cn_spc: CN == \"SHAKEN <SPC>\" agrees on {cn_spc_agree} of {cn_spc_checked}"
    );
    eprintln!("  leaves validated against the set's CAs: {chain_outcomes:#?}");

    assert_eq!(
        total, 15_988,
        "the data set should hold 15,988 certificates"
    );
    assert_eq!(panics, 0, "Certificate::from_der panicked");
    assert!(
        parsed.len() >= 15_900,
        "too many certificates refused: {rejections:#?}"
    );
    assert!(
        tn_lists.get("decoded").copied().unwrap_or_default() >= 15_900,
        "{tn_lists:?}"
    );
    assert!(
        tn_finding_disagree.is_empty(),
        "TNAuthList findings we do not reproduce"
    );
    assert!(
        flagged_without_finding.is_empty(),
        "TNAuthList problems the report did not find"
    );
    assert!(
        spc_finding_disagree.is_empty(),
        "SPC-format findings we do not reproduce"
    );
    assert!(
        spc_flagged_without_finding.is_empty(),
        "SPC-format problems the report did not find"
    );
    assert!(spc_finding_agree >= 85, "{spc_finding_agree}");
    let ok = chain_outcomes.get("Ok").copied().unwrap_or_default();
    assert!(
        ok >= 1000,
        "too few real leaves validate: {chain_outcomes:#?}"
    );
    assert!(
        !chain_outcomes.contains_key("BadSignature"),
        "real signatures failed: {chain_outcomes:#?}"
    );
}

/// Leaves validated per issuing CA name.
const PER_ISSUER: usize = 400;

/// Validates up to [`PER_ISSUER`] leaves per issuing CA against the CA certificates of the set
/// (every self-signed one as an anchor), and counts the outcomes.
fn validate_leaves(parsed: &[(Record, Certificate)]) -> BTreeMap<String, usize> {
    let cas: Vec<&Certificate> = parsed
        .iter()
        .map(|(_, c)| c)
        .filter(|c| c.is_ca())
        .collect();
    let roots: Vec<Certificate> = cas
        .iter()
        .filter(|c| c.is_self_issued())
        .map(|c| (*c).clone())
        .collect();
    let mut outcomes = BTreeMap::new();
    let Ok(anchors) = TrustAnchors::from_certificates(roots) else {
        bump(&mut outcomes, "no self-signed CA in the set");
        return outcomes;
    };
    let mut per_issuer: HashMap<Vec<u8>, usize> = HashMap::new();
    for (record, leaf) in parsed.iter().filter(|(_, c)| !c.is_ca()) {
        let seen = per_issuer.entry(leaf.issuer_der().to_vec()).or_default();
        if *seen >= PER_ISSUER {
            continue;
        }
        *seen += 1;
        // The leaf, then every non-root CA of the set on the way up (names only).
        let mut chain = vec![leaf.clone()];
        let mut wanted = leaf.issuer_der().to_vec();
        for _ in 0..4 {
            let next: Vec<&Certificate> = cas
                .iter()
                .copied()
                .filter(|c| c.subject_der() == wanted.as_slice() && !c.is_self_issued())
                .take(3)
                .collect();
            let Some(first) = next.first() else { break };
            wanted = first.issuer_der().to_vec();
            chain.extend(next.into_iter().cloned());
        }
        chain.truncate(pki::certificate::MAX_CHAIN_CERTIFICATES);
        // The report's time when the leaf was valid then, else the middle of its validity, so
        // that expired leaves still exercise the signatures of their chain.
        let reported = report_time(&record.tested_at);
        let at = if (leaf.not_before()..=leaf.not_after()).contains(&reported) {
            reported
        } else {
            leaf.not_before() + (leaf.not_after() - leaf.not_before()) / 2
        };
        match validate(&chain, &anchors, at, &[]) {
            Ok(_) => bump(&mut outcomes, "Ok"),
            Err(e) => bump(&mut outcomes, variant_name(&e)),
        }
    }
    outcomes
}

#[test]
fn report_times_convert_to_unix_seconds() {
    assert_eq!(report_time("18 Aug 25 20:10 UTC"), 1_755_547_800);
    assert_eq!(report_time("01 Jan 00 00:00 UTC"), 946_684_800);
    assert_eq!(report_time("29 Feb 24 12:00 UTC"), 1_709_208_000);
}
