//! End-to-end tests of the `callproof` binary: `pki init`, `sign`, `verify` and `decode` run
//! as a user runs them, in temp dirs, and `verify` fetching x5u certificate chains from a real
//! HTTPS server on 127.0.0.1 (TLS certificate issued at test time), through its SSRF guard,
//! size cap and timeout.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use common::{
    DEST, ORIG, Pki, Reply, Run, Server, TlsIdentity, X5U, assert_failed, assert_passed, callproof,
    local_chain, now, verify, write,
};
use serde_json::json;

const FILES: [&str; 5] = [
    "root.pem",
    "intermediate.pem",
    "sp.pem",
    "sp-key.pem",
    "chain.pem",
];

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// `callproof sign --key <pki key> <args>` with orig ORIG, dest DEST, attest A and iat now,
/// unless `args` says otherwise.
fn sign(pki: &Pki, x5u: &str, extra: &[&str]) -> String {
    let iat = now().to_string();
    let mut args = vec!["--x5u", x5u];
    for (flag, default) in [
        ("--orig", ORIG),
        ("--dest", DEST),
        ("--attest", "A"),
        ("--iat", iat.as_str()),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag, default]);
        }
    }
    args.extend_from_slice(extra);
    pki.sign(&args)
}

// ---------------------------------------------------------------------------------------------
// pki init

#[test]
fn pki_init_writes_five_pem_files_and_an_owner_only_key() {
    let pki = Pki::init(&[]);
    let names: Vec<String> = snapshot(&pki.file(""))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut expected: Vec<String> = FILES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected);
    for name in FILES {
        let text = fs::read_to_string(pki.file(name)).unwrap();
        assert!(text.starts_with("-----BEGIN "), "{name} is not PEM: {text}");
    }
    assert!(
        fs::read_to_string(pki.file("sp-key.pem"))
            .unwrap()
            .contains("PRIVATE KEY-----")
    );
    assert_eq!(mode(&pki.file("sp-key.pem")), 0o600);
    for name in ["root.pem", "intermediate.pem", "sp.pem", "chain.pem"] {
        assert_eq!(
            mode(&pki.file(name)) & 0o022,
            0,
            "{name} is writable by others"
        );
    }
    // chain.pem is what an x5u URL serves: the leaf, then the intermediate.
    let chain = fs::read_to_string(pki.file("chain.pem")).unwrap();
    let leaf = fs::read_to_string(pki.file("sp.pem")).unwrap();
    let intermediate = fs::read_to_string(pki.file("intermediate.pem")).unwrap();
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    let (leaf_at, inter_at) = (
        chain.find(leaf.trim()).unwrap(),
        chain.find(intermediate.trim()).unwrap(),
    );
    assert!(leaf_at < inter_at, "the leaf comes first");
}

#[test]
fn pki_init_refuses_to_overwrite_without_force() {
    let pki = Pki::init(&[]);
    let dir = pki.file("");
    let before = snapshot(&dir);
    let run = callproof(["pki", "init", "--out", dir.to_str().unwrap()]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("exists") && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&dir), before, "nothing was overwritten");
}

#[test]
fn pki_init_with_force_replaces_every_file_and_keeps_the_key_owner_only() {
    let pki = Pki::init(&[]);
    let dir = pki.file("");
    let before = snapshot(&dir);
    fs::set_permissions(pki.file("sp-key.pem"), fs::Permissions::from_mode(0o644)).unwrap();
    callproof(["pki", "init", "--out", dir.to_str().unwrap(), "--force"]).assert_code(0);
    let after = snapshot(&dir);
    assert_eq!(after.len(), 5);
    for ((name, old), (_, new)) in before.iter().zip(&after) {
        assert_ne!(old, new, "{name} was not replaced");
    }
    assert_eq!(
        mode(&pki.file("sp-key.pem")),
        0o600,
        "a replaced key file is tightened to 0600"
    );
}

/// A refused `pki init` must not leave a mixture of new and old files behind (a new key next
/// to an old chain.pem).
#[test]
fn pki_init_refusal_leaves_the_directory_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pki");
    fs::create_dir(&out).unwrap();
    write(&out, "chain.pem", "an existing chain\n");
    let run = callproof(["pki", "init", "--out", out.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("chain.pem"), "{}", run.stderr);
    assert_eq!(
        snapshot(&out),
        vec![("chain.pem".to_owned(), "an existing chain\n".to_owned())],
        "a refused pki init wrote files"
    );
}

#[test]
fn pki_init_rejects_a_bad_spc_with_exit_2() {
    for (spc, why) in [
        ("", "empty"),
        ("70 9J", "visible ASCII"),
        ("709\u{e9}", "visible ASCII"),
        ("123456789012345678901234567890123", "longer than 32"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("pki");
        let run = callproof(["pki", "init", "--out", out.to_str().unwrap(), "--spc", spc]);
        run.assert_code(2);
        assert!(
            run.stderr.starts_with("error: invalid --spc") && run.stderr.contains(why),
            "--spc {spc:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty());
        assert!(!out.exists(), "--spc {spc:?}: nothing is written");
    }
}

#[test]
fn pki_init_rejects_a_bad_tn_range_with_exit_2() {
    for (range, why) in [
        ("12155550000", "is not START:COUNT"),
        ("abc:10", "bad start"),
        ("12155550000:x", "bad count"),
        ("12155550000:0", "minimum of 2"),
        ("12155550000:-5", "bad count"),
        ("99999999990:100", "more digits"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("pki");
        let run = callproof([
            "pki",
            "init",
            "--out",
            out.to_str().unwrap(),
            "--tn-range",
            range,
        ]);
        run.assert_code(2);
        assert!(
            run.stderr
                .starts_with(&format!("error: --tn-range {range:?}"))
                && run.stderr.contains(why),
            "--tn-range {range:?}: {}",
            run.stderr
        );
        assert!(!out.exists(), "--tn-range {range:?}: nothing is written");
    }
}

// ---------------------------------------------------------------------------------------------
// sign + verify with a local certificate

#[test]
fn sign_then_verify_with_a_local_certificate_passes() {
    let pki = Pki::init(&[]);
    let identity = sign(&pki, X5U, &[]);
    assert!(
        identity.ends_with(&format!(";info=<{X5U}>;alg=ES256;ppt=shaken")),
        "full-form Identity header: {identity}"
    );
    assert_passed(&verify(&identity, &pki, &["--cert", &local_chain(&pki)]));
    // Leading '+' and a trust-anchor directory are accepted too.
    let anchors = pki.arg("");
    let run = verify(
        &identity,
        &pki,
        &[
            "--cert",
            &local_chain(&pki),
            "--from",
            "+12155551212",
            "--to",
            "+12125551213",
        ],
    );
    assert_passed(&run);
    let run = callproof([
        "verify",
        "--identity",
        &identity,
        "--from",
        ORIG,
        "--to",
        DEST,
        "--trust-anchors",
        &anchors,
        "--cert",
        &local_chain(&pki),
    ]);
    assert_passed(&run);
}

#[test]
fn verify_detail_shows_attest_origid_certificate_spc_and_rcd() {
    let pki = Pki::init(&["--spc", "709J"]);
    let origid = "123e4567-e89b-12d3-a456-426655440000";
    let iat = now();
    let identity = sign(
        &pki,
        X5U,
        &[
            "--attest",
            "B",
            "--origid",
            origid,
            "--iat",
            &iat.to_string(),
            "--rcd-name",
            "Acme Bank",
            "--rcd-logo",
            "https://brand.example.org/acme.png",
            "--rcd-reason",
            "About your card ending 1234",
        ],
    );
    let run = verify(&identity, &pki, &["--cert", &local_chain(&pki), "--detail"]);
    run.assert_code(0);
    let out = run.json();
    assert_eq!(
        out["verificationResponse"],
        json!({"verstat": "TN-Validation-Passed"})
    );
    let identities = out["detail"]["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 1);
    let d = &identities[0];
    assert_eq!(d["verstat"], "TN-Validation-Passed");
    assert_eq!(d["ppt"], "shaken");
    assert_eq!(d["attest"], "B");
    assert_eq!(d["origid"], origid);
    assert_eq!(d["iat"], json!(iat));
    assert_eq!(d["certificate"]["spc"], "709J");
    assert_eq!(d["certificate"]["tnAuthList"], "spc 709J");
    let subject = d["certificate"]["subject"].as_str().unwrap();
    assert!(
        subject.contains("CN=") && subject.contains("709J"),
        "{subject}"
    );
    assert_eq!(d["rcd"]["nam"], "Acme Bank");
    assert_eq!(d["rcd"]["icn"], "https://brand.example.org/acme.png");
    assert_eq!(d["rcd"]["crn"], "About your card ending 1234");
}

#[test]
fn verify_detail_of_a_failure_names_the_error() {
    let pki = Pki::init(&[]);
    let identity = sign(&pki, X5U, &[]);
    let run = verify(
        &identity,
        &pki,
        &[
            "--cert",
            &local_chain(&pki),
            "--from",
            "12155550000",
            "--detail",
        ],
    );
    assert_failed(&run, 438, "No-TN-Validation");
    let d = &run.json()["detail"]["identities"][0];
    assert_eq!(d["reasoncode"], 438);
    assert_eq!(d["verstat"], "No-TN-Validation");
    assert!(
        d["reasondesc"].as_str().unwrap().contains("12155550000"),
        "{d}"
    );
}

#[test]
fn verify_matches_any_dest_and_refuses_a_called_number_not_in_dest() {
    let pki = Pki::init(&[]);
    let identity = sign(&pki, X5U, &["--dest", "12125551213,12125551214"]);
    let chain = local_chain(&pki);
    assert_passed(&verify(
        &identity,
        &pki,
        &["--cert", &chain, "--to", "12125551214"],
    ));
    let run = verify(&identity, &pki, &["--cert", &chain, "--to", "12125550000"]);
    let desc = assert_failed(&run, 438, "No-TN-Validation");
    assert!(desc.contains("12125550000"), "{desc}");
}

#[test]
fn verify_refuses_an_orig_outside_the_certificate_tn_range_with_437() {
    let pki = Pki::init(&["--tn-range", "12155550000:100"]);
    let chain = local_chain(&pki);
    // Inside the range: passes.
    let inside = sign(&pki, X5U, &["--orig", "12155550042"]);
    assert_passed(&verify(
        &inside,
        &pki,
        &["--cert", &chain, "--from", "12155550042"],
    ));
    // Outside: the signature is good, the credential has no authority over the number.
    let outside = sign(&pki, X5U, &["--orig", "12155551212"]);
    let run = verify(&outside, &pki, &["--cert", &chain, "--from", "12155551212"]);
    let desc = assert_failed(&run, 437, "TN-Validation-Failed");
    assert!(desc.contains("12155551212"), "{desc}");
}

#[test]
fn verify_far_in_the_future_is_403_stale_date() {
    let pki = Pki::init(&[]);
    let iat = now();
    let identity = sign(&pki, X5U, &["--iat", &iat.to_string()]);
    let chain = local_chain(&pki);
    // Within the window: passes at an explicit --at.
    assert_passed(&verify(
        &identity,
        &pki,
        &["--cert", &chain, "--at", &(iat + 59).to_string()],
    ));
    for at in [iat + 61, iat + 10 * 365 * 86_400] {
        let run = verify(
            &identity,
            &pki,
            &["--cert", &chain, "--at", &at.to_string()],
        );
        assert_failed(&run, 403, "No-TN-Validation");
    }
    // An iat ahead of the verifier's clock is stale too.
    let run = verify(
        &identity,
        &pki,
        &["--cert", &chain, "--at", &(iat - 3600).to_string()],
    );
    assert_failed(&run, 403, "No-TN-Validation");
    // A wider --max-age admits the older token.
    let late = (iat + 3000).to_string();
    assert_passed(&verify(
        &identity,
        &pki,
        &["--cert", &chain, "--at", &late, "--max-age", "3600"],
    ));
}

#[test]
fn verify_with_another_providers_certificate_is_438_signature_failure() {
    let signer = Pki::init(&[]);
    let other = Pki::init(&[]);
    let identity = sign(&signer, X5U, &[]);
    // Both roots are trusted, the chain at x5u is valid, but its key did not sign.
    let anchors = format!(
        "{}{}",
        fs::read_to_string(signer.file("root.pem")).unwrap(),
        fs::read_to_string(other.file("root.pem")).unwrap()
    );
    let bundle = write(signer.dir.path(), "anchors.pem", anchors);
    let run = callproof([
        "verify",
        "--identity",
        &identity,
        "--from",
        ORIG,
        "--to",
        DEST,
        "--trust-anchors",
        bundle.to_str().unwrap(),
        "--cert",
        &local_chain(&other),
    ]);
    let desc = assert_failed(&run, 438, "TN-Validation-Failed");
    assert_eq!(desc, "Signature validation failed.");
}

#[test]
fn verify_with_a_chain_from_an_untrusted_ca_is_437() {
    let trusted = Pki::init(&[]);
    let stranger = Pki::init(&[]);
    let identity = sign(&stranger, X5U, &[]);
    let run = verify(&identity, &trusted, &["--cert", &local_chain(&stranger)]);
    assert_failed(&run, 437, "TN-Validation-Failed");
}

#[test]
fn verify_of_a_tampered_passport_is_438_signature_failure() {
    let pki = Pki::init(&[]);
    let identity = sign(&pki, X5U, &[]);
    // Change the last character of the signature (keeping it base64url).
    let dot = identity.find(';').unwrap();
    let last = identity.as_bytes()[dot - 2];
    let replacement = if last == b'A' { "B" } else { "A" };
    let tampered = format!(
        "{}{}{}",
        &identity[..dot - 2],
        replacement,
        &identity[dot - 1..]
    );
    assert_ne!(tampered, identity);
    let run = verify(&tampered, &pki, &["--cert", &local_chain(&pki)]);
    assert_failed(&run, 438, "TN-Validation-Failed");
}

#[test]
fn verify_refuses_an_info_parameter_that_differs_from_x5u() {
    let pki = Pki::init(&[]);
    let identity = sign(&pki, X5U, &[]);
    let other = "https://certs.example.org/other/chain.pem";
    let moved = identity.replace(&format!("info=<{X5U}>"), &format!("info=<{other}>"));
    assert_ne!(moved, identity);
    let cert = format!("{other}={}", pki.arg("chain.pem"));
    let run = verify(
        &moved,
        &pki,
        &["--cert", &local_chain(&pki), "--cert", &cert],
    );
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains(other), "{desc}");
    // Without info at all.
    let (token, _) = identity.split_once(';').unwrap();
    let run = verify(
        &format!("{token};alg=ES256;ppt=shaken"),
        &pki,
        &["--cert", &local_chain(&pki)],
    );
    assert_failed(&run, 436, "No-TN-Validation");
}

#[test]
fn verify_of_several_identities_reports_the_first_failure() {
    let pki = Pki::init(&[]);
    let good = sign(&pki, X5U, &[]);
    let chain = local_chain(&pki);
    let both_good = verify(
        &good,
        &pki,
        &["--cert", &chain, "--identity", &good, "--detail"],
    );
    both_good.assert_code(0);
    assert_eq!(
        both_good.json()["detail"]["identities"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let run = verify(
        &good,
        &pki,
        &["--cert", &chain, "--identity", "garbage", "--detail"],
    );
    assert_failed(&run, 438, "No-TN-Validation");
    let identities = run.json()["detail"]["identities"].clone();
    assert_eq!(identities[0]["verstat"], "TN-Validation-Passed");
    assert_eq!(identities[1]["reasoncode"], 438);
}

#[test]
fn sign_refuses_a_key_file_others_may_read() {
    let pki = Pki::init(&[]);
    let key = pki.dir.path().join("copy-key.pem");
    fs::copy(pki.file("sp-key.pem"), &key).unwrap();
    let args = |key: &Path| {
        vec![
            "sign".to_owned(),
            "--key".to_owned(),
            key.to_str().unwrap().to_owned(),
            "--x5u".to_owned(),
            X5U.to_owned(),
            "--orig".to_owned(),
            ORIG.to_owned(),
            "--dest".to_owned(),
            DEST.to_owned(),
            "--attest".to_owned(),
            "A".to_owned(),
        ]
    };
    for bad in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&key, fs::Permissions::from_mode(bad)).unwrap();
        let run = callproof(args(&key));
        run.assert_code(2);
        assert!(run.stdout.is_empty(), "mode {bad:o}: nothing is signed");
        assert!(
            run.stderr.contains("chmod 600"),
            "mode {bad:o}: {}",
            run.stderr
        );
    }
    for good in [0o600, 0o400] {
        fs::set_permissions(&key, fs::Permissions::from_mode(good)).unwrap();
        callproof(args(&key)).assert_code(0);
    }
}

#[test]
fn verify_of_garbage_identity_is_438_exit_1() {
    let pki = Pki::init(&[]);
    for garbage in [
        "garbage",
        "a.b.c;info=<https://certs.example.org/x.pem>;alg=ES256;ppt=shaken",
        "@@@;info=<https://certs.example.org/x.pem>",
        "..c2lnbmF0dXJl",
    ] {
        let run = verify(garbage, &pki, &["--cert", &local_chain(&pki)]);
        assert_failed(&run, 438, "No-TN-Validation");
    }
}

#[test]
fn missing_or_invalid_arguments_exit_2() {
    let pki = Pki::init(&[]);
    let key = pki.arg("sp-key.pem");
    let root = pki.arg("root.pem");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![], "Usage"),
        (vec!["pki", "init"], "--out"),
        (
            vec![
                "sign", "--x5u", X5U, "--orig", ORIG, "--dest", DEST, "--attest", "A",
            ],
            "--key",
        ),
        (
            vec![
                "sign", "--key", &key, "--orig", ORIG, "--dest", DEST, "--attest", "A",
            ],
            "--x5u",
        ),
        (
            vec![
                "sign", "--key", &key, "--x5u", X5U, "--orig", ORIG, "--attest", "A",
            ],
            "--dest",
        ),
        (
            vec![
                "sign", "--key", &key, "--x5u", X5U, "--orig", ORIG, "--dest", DEST, "--attest",
                "D",
            ],
            "--attest",
        ),
        (
            vec![
                "sign", "--key", &key, "--x5u", X5U, "--orig", "abc", "--dest", DEST, "--attest",
                "A",
            ],
            "--orig",
        ),
        (
            vec![
                "verify",
                "--from",
                ORIG,
                "--to",
                DEST,
                "--trust-anchors",
                &root,
            ],
            "--identity",
        ),
        (
            vec!["verify", "--identity", "x", "--from", ORIG, "--to", DEST],
            "--trust-anchors",
        ),
        (
            vec![
                "verify",
                "--identity",
                "x",
                "--to",
                DEST,
                "--trust-anchors",
                &root,
            ],
            "--from",
        ),
        (
            vec![
                "verify",
                "--identity",
                "x",
                "--from",
                ORIG,
                "--to",
                DEST,
                "--trust-anchors",
                "/nonexistent/anchors.pem",
            ],
            "/nonexistent/anchors.pem",
        ),
        (
            vec![
                "verify",
                "--identity",
                "x",
                "--from",
                ORIG,
                "--to",
                DEST,
                "--trust-anchors",
                &root,
                "--cert",
                "no-equals-sign",
            ],
            "--cert",
        ),
        (vec!["decode"], "VALUE"),
    ];
    for (args, mentions) in cases {
        let run = callproof(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?} printed {}", run.stdout);
        assert!(run.stderr.contains(mentions), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn decode_prints_header_and_claims_without_verifying() {
    let pki = Pki::init(&[]);
    let origid = "123e4567-e89b-12d3-a456-426655440000";
    let identity = sign(&pki, X5U, &["--origid", origid, "--iat", "1443208345"]);
    let run = callproof(["decode", &identity]);
    run.assert_code(0);
    let out = run.json();
    assert_eq!(
        out["header"],
        json!({"alg": "ES256", "ppt": "shaken", "typ": "passport", "x5u": X5U})
    );
    assert_eq!(
        out["claims"],
        json!({"attest": "A", "dest": {"tn": [DEST]}, "iat": 1443208345, "orig": {"tn": ORIG},
               "origid": origid})
    );
    assert_eq!(out["parameters"]["info"], X5U);
    assert_eq!(out["verified"], false);
}

// ---------------------------------------------------------------------------------------------
// verify fetching x5u over HTTPS

/// A PKI, a TLS identity for the test server and its root written to a file.
struct Https {
    pki: Pki,
    tls: TlsIdentity,
    tls_root: PathBuf,
    chain: Vec<u8>,
}

impl Https {
    fn new() -> Self {
        let pki = Pki::init(&[]);
        let tls = TlsIdentity::generate();
        let tls_root = write(pki.dir.path(), "tls-root.pem", &tls.root_pem);
        let chain = fs::read(pki.file("chain.pem")).unwrap();
        Self {
            pki,
            tls,
            tls_root,
            chain,
        }
    }

    fn serve(&self, routes: Vec<(&str, Reply)>) -> Server {
        Server::https(&self.tls, routes)
    }

    fn chain_reply(&self) -> Reply {
        Reply::Body {
            content_type: common::PEM_CHAIN,
            body: self.chain.clone(),
        }
    }

    /// Signs for `x5u` and verifies with the test TLS root plus `flags`.
    fn sign_and_verify(&self, x5u: &str, flags: &[&str]) -> Run {
        let identity = sign(&self.pki, x5u, &[]);
        let mut args = vec!["--x5u-tls-ca", self.tls_root.to_str().unwrap()];
        args.extend_from_slice(flags);
        verify(&identity, &self.pki, &args)
    }
}

const PRIVATE: &str = "--danger-allow-private-x5u";
const HTTP: &str = "--danger-allow-http-x5u";

#[test]
fn verify_fetches_x5u_over_https() {
    let h = Https::new();
    let server = h.serve(vec![("/sp/chain.pem", h.chain_reply())]);
    let run = h.sign_and_verify(&server.url("/sp/chain.pem"), &[PRIVATE]);
    assert_passed(&run);
    assert_eq!(server.paths(), ["/sp/chain.pem"]);
}

#[test]
fn verify_refuses_a_loopback_x5u_without_the_danger_flag() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", h.chain_reply())]);
    let run = h.sign_and_verify(&server.url("/chain.pem"), &[]);
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains("non-public"), "{desc}");
    assert_eq!(
        server.connections(),
        0,
        "the guard refuses before connecting"
    );
}

#[test]
fn verify_refuses_every_spelling_of_a_loopback_x5u() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", h.chain_reply())]);
    let port = server.port();
    // Each of these reaches the server on 127.0.0.1 if the guard lets it through.
    for host in [
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "2130706433",
        "0x7f.1",
        "127.1",
        "[::1]",
    ] {
        let url = format!("https://{host}:{port}/chain.pem");
        let run = h.sign_and_verify(&url, &[]);
        let desc = assert_failed(&run, 436, "No-TN-Validation");
        assert!(desc.contains("non-public"), "{url}: {desc}");
    }
    assert_eq!(
        server.connections(),
        0,
        "the guard refuses before connecting"
    );
}

#[test]
fn verify_refuses_a_host_name_that_resolves_to_loopback() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", h.chain_reply())]);
    let url = format!("https://localhost:{}/chain.pem", server.port());
    let run = h.sign_and_verify(&url, &[]);
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains("non-public"), "{desc}");
    assert_eq!(
        server.connections(),
        0,
        "the guard refuses after DNS, before connecting"
    );
    // The same URL is fetched once private addresses are allowed.
    assert_passed(&h.sign_and_verify(&url, &[PRIVATE]));
}

#[test]
fn verify_refuses_an_http_x5u_without_the_danger_flag() {
    let h = Https::new();
    let server = Server::http(vec![("/chain.pem", h.chain_reply())]);
    let url = server.url("/chain.pem");
    assert!(url.starts_with("http://"));
    let run = h.sign_and_verify(&url, &[PRIVATE]);
    assert_failed(&run, 436, "No-TN-Validation");
    assert_eq!(server.connections(), 0);
    // With both danger flags the same server and URL pass.
    assert_passed(&h.sign_and_verify(&url, &[PRIVATE, HTTP]));
    assert_eq!(server.paths(), ["/chain.pem"]);
}

#[test]
fn verify_refuses_an_x5u_server_whose_tls_certificate_is_not_trusted() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", h.chain_reply())]);
    let identity = sign(&h.pki, &server.url("/chain.pem"), &[]);
    let run = verify(&identity, &h.pki, &[PRIVATE]);
    assert_failed(&run, 436, "No-TN-Validation");
    assert!(
        server.paths().is_empty(),
        "no request is sent over an untrusted connection"
    );
}

#[test]
fn verify_fails_436_when_x5u_returns_404() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", h.chain_reply())]);
    let run = h.sign_and_verify(&server.url("/missing.pem"), &[PRIVATE]);
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains("404"), "{desc}");
    assert_eq!(server.paths(), ["/missing.pem"]);
}

#[test]
fn verify_does_not_follow_an_x5u_redirect() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", h.chain_reply())]);
    let target = server.url("/chain.pem");
    let server2 = h.serve(vec![("/moved.pem", Reply::Redirect(target))]);
    let run = h.sign_and_verify(&server2.url("/moved.pem"), &[PRIVATE]);
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains("302"), "{desc}");
    assert_eq!(server2.paths(), ["/moved.pem"]);
    assert_eq!(
        server.connections(),
        0,
        "the redirect target is never fetched"
    );
}

/// chain.pem followed by blank lines up to `len` bytes: still a valid chain file, so only
/// the size cap can make it fail.
fn padded_chain(chain: &[u8], len: usize) -> Vec<u8> {
    let mut body = chain.to_vec();
    body.resize(len, b'\n');
    body
}

const CAP: usize = 64 * 1024;

#[test]
fn verify_accepts_an_x5u_body_at_the_64_kib_cap() {
    let h = Https::new();
    let body = padded_chain(&h.chain, CAP);
    let server = h.serve(vec![
        (
            "/sized.pem",
            Reply::Body {
                content_type: common::PEM_CHAIN,
                body: body.clone(),
            },
        ),
        (
            "/streamed.pem",
            Reply::Streamed {
                content_type: common::PEM_CHAIN,
                body,
            },
        ),
    ]);
    assert_passed(&h.sign_and_verify(&server.url("/sized.pem"), &[PRIVATE]));
    assert_passed(&h.sign_and_verify(&server.url("/streamed.pem"), &[PRIVATE]));
}

#[test]
fn verify_fails_436_on_an_x5u_body_over_64_kib() {
    let h = Https::new();
    let body = padded_chain(&h.chain, CAP + 1);
    let server = h.serve(vec![
        (
            "/sized.pem",
            Reply::Body {
                content_type: common::PEM_CHAIN,
                body: body.clone(),
            },
        ),
        (
            "/streamed.pem",
            Reply::Streamed {
                content_type: common::PEM_CHAIN,
                body,
            },
        ),
        (
            "/huge.pem",
            Reply::Streamed {
                content_type: common::PEM_CHAIN,
                body: padded_chain(&h.chain, 4 * 1024 * 1024),
            },
        ),
    ]);
    for path in ["/sized.pem", "/streamed.pem", "/huge.pem"] {
        let run = h.sign_and_verify(&server.url(path), &[PRIVATE]);
        let desc = assert_failed(&run, 436, "No-TN-Validation");
        assert!(desc.contains("larger than 65536 bytes"), "{path}: {desc}");
    }
}

#[test]
fn verify_gives_up_436_on_an_x5u_server_that_never_answers() {
    let h = Https::new();
    let server = Server::silent();
    let run = h.sign_and_verify(
        &format!("https://127.0.0.1:{}/chain.pem", server.port()),
        &[PRIVATE],
    );
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains("timed out"), "{desc}");
    assert_eq!(server.connections(), 1);
    // A hang guard, not a benchmark: the fetch timeout is 5 s.
    assert!(run.elapsed.as_secs() < 20, "verify took {:?}", run.elapsed);
}

#[test]
fn verify_gives_up_436_on_an_x5u_server_that_stalls_after_the_request() {
    let h = Https::new();
    let server = h.serve(vec![("/chain.pem", Reply::Stall)]);
    let run = h.sign_and_verify(&server.url("/chain.pem"), &[PRIVATE]);
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    assert!(desc.contains("timed out"), "{desc}");
    assert_eq!(server.paths(), ["/chain.pem"]);
    assert!(run.elapsed.as_secs() < 20, "verify took {:?}", run.elapsed);
}

/// The reason given for a timeout names the limit that expired, not "0 ms".
#[test]
fn x5u_timeout_reason_names_the_limit_that_expired() {
    let h = Https::new();
    let server = Server::silent();
    let url = format!("https://127.0.0.1:{}/chain.pem", server.port());
    let run = h.sign_and_verify(&url, &[PRIVATE]);
    let desc = assert_failed(&run, 436, "No-TN-Validation");
    let millis: u64 = desc
        .split("timed out after ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'timed out after N ms' in {desc}"));
    assert!(millis > 0, "{desc}");
}
