//! `callproof brand ...`, `callproof import dno` and `callproof import opt-outs` end to end:
//! the real binary against a SQLite data directory in a temp dir, checked by reading the
//! store afterwards, and against a running node sharing that directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Run, callproof, callproof_command, now};
use passport::TelephoneNumber;
use serde_json::{Value, json};
use store::sqlite::SqliteStore;
use store::{Brand, BrandNumberKind, BrandPolicy, Partner, Store};

/// A data directory, a configuration naming it, and files beside them.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        Self::with_config(|data| format!("data_dir = {:?}\n", data.display().to_string()))
    }

    fn with_config(config: impl FnOnce(&Path) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text = config(&dir.path().join("data"));
        std::fs::write(dir.path().join("callproof.toml"), text).unwrap();
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("callproof.toml")
    }

    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    /// `callproof <args> --config <config>`.
    fn run(&self, args: &[&str]) -> Run {
        let config = self.config();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--config", config.to_str().unwrap()]);
        callproof(all)
    }

    /// Runs and asserts success.
    fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        run.assert_code(0);
        run
    }

    /// Runs and asserts exit code 2 with `want` in the error.
    fn refused(&self, args: &[&str], want: &str) -> Run {
        let run = self.run(args);
        run.assert_code(2);
        assert!(
            run.stderr.contains(want),
            "{args:?}: {want:?} not in:\n{}",
            run.stderr
        );
        run
    }

    /// Customers with a few numbers each, through `import numbers`.
    fn customers(&self, names: &[&str]) {
        let csv: String = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("\"{n}\",1999555{i:04}\n"))
            .collect();
        let file = self.file("customers.csv", csv);
        self.ok(&[
            "import",
            "numbers",
            file.to_str().unwrap(),
            "--create-customers",
        ]);
    }

    /// Runs `f` against the store the commands wrote.
    fn store<T>(&self, f: impl AsyncFnOnce(&dyn Store) -> T) -> T {
        let path = self.dir.path().join("data/callproof.db");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = SqliteStore::open(&path).await.unwrap();
                f(&store).await
            })
    }

    fn brand(&self, slug: &str) -> Option<Brand> {
        self.store(async |s| s.brand_by_slug(slug).await.unwrap())
    }

    fn policy(&self) -> BrandPolicy {
        self.store(async |s| s.brand_policy().await.unwrap())
    }

    /// A brand's blocks on one list, as `NUMBER[:COUNT]`.
    fn blocks(&self, slug: &str, kind: BrandNumberKind) -> Vec<String> {
        let policy = self.policy();
        let id = policy.brands.iter().find(|b| b.slug == slug).unwrap().id;
        policy
            .blocks
            .iter()
            .filter(|b| b.brand == id && b.kind == kind)
            .map(|b| arg(&b.block))
            .collect()
    }

    fn partners(&self, slug: &str) -> Vec<Partner> {
        let id = self.brand(slug).unwrap().id;
        self.store(async |s| s.partners(id).await.unwrap())
    }

    fn dno(&self) -> Vec<String> {
        self.policy().dno.iter().map(arg).collect()
    }

    /// A brand with two reasons, for customer "Acme Bank".
    fn acme(&self) {
        self.customers(&["Acme Bank", "CallCo"]);
        self.ok(&[
            "brand",
            "create",
            "--slug",
            "acme-bank",
            "--customer",
            "Acme Bank",
            "--legal-name",
            "Acme Bank plc",
            "--display-name",
            "Acme Bank",
            "--reason",
            "fraud-alert:Card fraud alert",
            "--reason",
            "offers:Our offers:marketing",
            "--never-ask",
            "your PIN",
        ]);
    }
}

fn arg(b: &store::NumberBlock) -> String {
    if b.count() == 1 {
        b.start().to_string()
    } else {
        format!("{}:{}", b.start(), b.count())
    }
}

#[test]
fn brand_create_update_show_and_list() {
    let s = Setup::new();
    s.customers(&["Acme Bank"]);
    fn create<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "brand",
            "create",
            "--slug",
            "acme-bank",
            "--customer",
            "Acme Bank",
            "--legal-name",
            "Acme Bank plc",
            "--display-name",
            "Acme Bank",
        ];
        args.extend_from_slice(extra);
        args
    }

    // Refused before anything is written: unknown customer, bad slug, bad fields.
    let mut unknown = create(&[]);
    unknown[5] = "Nobody";
    s.refused(&unknown, "customer \"Nobody\" does not exist");
    let mut bad_slug = create(&[]);
    bad_slug[3] = "Acme_Bank";
    s.refused(&bad_slug, "--slug must be 1 to 48 of a-z, 0-9 and '-'");
    let mut long_name = create(&[]);
    long_name[9] = "A display name far too long for a phone";
    s.refused(
        &long_name,
        "--display-name must be 1 to 32 printable characters",
    );
    let bad_reasons = s.refused(
        &create(&["--reason", "Fraud:x", "--reason", "a:b", "--reason", "a:c"]),
        "--reason \"Fraud:x\": the code must be 1 to 32 of a-z, 0-9 and '-'",
    );
    assert!(
        bad_reasons
            .stderr
            .contains("--reason code \"a\" appears twice"),
        "{}",
        bad_reasons.stderr
    );
    s.refused(&create(&["--reason", "no-text"]), "is not CODE:TEXT");
    assert!(s.policy().brands.is_empty());

    let done = s.ok(&create(&[
        "--reason",
        "fraud-alert:Card fraud alert",
        "--reason",
        "offers:Our offers: new cards:marketing",
        "--never-ask",
        "your PIN",
        "--never-ask",
        "your password",
    ]));
    assert!(
        done.stdout
            .contains("created brand \"acme-bank\" (id 1) for customer \"Acme Bank\""),
        "{}",
        done.stdout
    );
    s.refused(&create(&[]), "brand \"acme-bank\" exists already");

    let brand = s.brand("acme-bank").unwrap();
    assert_eq!(brand.legal_name, "Acme Bank plc");
    assert_eq!(brand.display_name, "Acme Bank");
    let reasons: Vec<(&str, &str, bool)> = brand
        .call_reasons
        .iter()
        .map(|r| (r.code.as_str(), r.text.as_str(), r.marketing))
        .collect();
    assert_eq!(
        reasons,
        [
            ("fraud-alert", "Card fraud alert", false),
            ("offers", "Our offers: new cards", true)
        ]
    );
    assert_eq!(brand.never_ask, ["your PIN", "your password"]);

    let shown = s.ok(&["brand", "show", "acme-bank"]);
    for want in [
        "brand acme-bank (id 1)",
        "customer      Acme Bank",
        "display name  Acme Bank",
        "fraud-alert: Card fraud alert",
        "offers: Our offers: new cards (marketing)",
        "never asks    your PIN",
        "logo          none",
        "listed        none (0 numbers)",
    ] {
        assert!(
            shown.stdout.contains(want),
            "{want:?} in:\n{}",
            shown.stdout
        );
    }
    let json = s.ok(&["brand", "show", "acme-bank", "--json"]).json();
    assert_eq!(json["slug"], "acme-bank");
    assert_eq!(json["customer"], "Acme Bank");
    assert_eq!(json["displayName"], "Acme Bank");
    assert_eq!(json["callReasons"][1]["marketing"], true);
    assert_eq!(json["listedNumbers"], json!([]));
    assert_eq!(json["logo"], Value::Null);

    // Update replaces every field but slug, customer and logo.
    s.refused(
        &[
            "brand",
            "update",
            "--slug",
            "nope",
            "--legal-name",
            "x",
            "--display-name",
            "x",
        ],
        "brand \"nope\" does not exist",
    );
    s.ok(&[
        "brand",
        "update",
        "--slug",
        "acme-bank",
        "--legal-name",
        "Acme Bank plc",
        "--display-name",
        "Acme",
        "--reason",
        "fraud-alert:Fraud alert",
    ]);
    let brand = s.brand("acme-bank").unwrap();
    assert_eq!(brand.display_name, "Acme");
    assert_eq!(brand.call_reasons.len(), 1);
    assert_eq!(brand.call_reasons[0].text, "Fraud alert");
    assert!(brand.never_ask.is_empty());
    s.refused(
        &[
            "brand",
            "update",
            "--slug",
            "acme-bank",
            "--legal-name",
            "x",
            "--display-name",
            "x",
            "--customer",
            "Acme Bank",
        ],
        "--customer",
    );

    let list = s.ok(&["brand", "list"]);
    assert!(list.stdout.contains("SLUG"), "{}", list.stdout);
    assert!(list.stdout.contains("acme-bank"), "{}", list.stdout);
    let json = s.ok(&["brand", "list", "--json"]).json();
    assert_eq!(json["brands"].as_array().unwrap().len(), 1);
    assert_eq!(json["brands"][0]["displayName"], "Acme");
}

#[test]
fn brand_logo_checks_type_and_size_and_stores_the_digest() {
    let s = Setup::new();
    s.acme();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 1000]);
    let file = s.file("logo.png", &png);
    let done = s.ok(&["brand", "logo", "acme-bank", file.to_str().unwrap()]);
    let digest = passport::rcd::integrity_digest(passport::rcd::DigestAlg::Sha256, &png);
    assert!(done.stdout.contains(&digest), "{}", done.stdout);
    assert!(
        done.stdout.contains("/brands/acme-bank/logo"),
        "{}",
        done.stdout
    );
    let id = s.brand("acme-bank").unwrap().id;
    let (meta, bytes) = s.store(async |st| st.brand_logo(id).await.unwrap().unwrap());
    assert_eq!(
        (meta.content_type.as_str(), meta.digest.as_str()),
        ("image/png", digest.as_str())
    );
    assert_eq!(bytes, png);
    let json = s.ok(&["brand", "show", "acme-bank", "--json"]).json();
    assert_eq!(json["logo"]["digest"], digest.as_str());

    let gif = s.file("logo.gif", b"GIF89a....");
    s.refused(
        &["brand", "logo", "acme-bank", gif.to_str().unwrap()],
        "a logo is a .png, .jpg, .jpeg, .webp or .svg file",
    );
    let fake = s.file("fake.jpg", b"<svg/>");
    s.refused(
        &["brand", "logo", "acme-bank", fake.to_str().unwrap()],
        "does not hold image/jpeg data",
    );
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(256 * 1024 + 1, 0);
    let big = s.file("big.png", big);
    s.refused(
        &["brand", "logo", "acme-bank", big.to_str().unwrap()],
        "a logo is 1 to 262144 bytes, not 262145",
    );
    let svg = s.file("logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    s.refused(
        &["brand", "logo", "nope", svg.to_str().unwrap()],
        "brand \"nope\" does not exist",
    );
    s.ok(&["brand", "logo", "acme-bank", svg.to_str().unwrap()]);
    let (meta, _) = s.store(async |st| st.brand_logo(id).await.unwrap().unwrap());
    assert_eq!(meta.content_type, "image/svg+xml");
}

#[test]
fn brand_numbers_add_and_remove_all_or_none() {
    let s = Setup::new();
    s.acme();
    s.ok(&[
        "brand",
        "create",
        "--slug",
        "callco",
        "--customer",
        "CallCo",
        "--legal-name",
        "CallCo Ltd",
        "--display-name",
        "CallCo",
    ]);
    fn numbers<'a>(
        verb: &'a str,
        slug: &'a str,
        kind: &'a str,
        blocks: &[&'a str],
    ) -> Vec<&'a str> {
        let mut args = vec!["brand", "numbers", verb, slug, "--kind", kind];
        args.extend_from_slice(blocks);
        args
    }
    let added = s.ok(&numbers(
        "add",
        "acme-bank",
        "listed",
        &["+1 312 555 0000:100", "13125550200"],
    ));
    assert!(
        added
            .stdout
            .contains("added 2 blocks (101 numbers) to its listed numbers"),
        "{}",
        added.stdout
    );
    s.ok(&numbers(
        "add",
        "acme-bank",
        "inbound-only",
        &["18005550000:10"],
    ));
    assert_eq!(
        s.blocks("acme-bank", BrandNumberKind::Listed),
        ["13125550000:100", "13125550200"]
    );
    assert_eq!(
        s.blocks("acme-bank", BrandNumberKind::InboundOnly),
        ["18005550000:10"]
    );

    // The same again: nothing to do.
    let again = s.ok(&numbers(
        "add",
        "acme-bank",
        "listed",
        &["13125550000:100", "13125550300"],
    ));
    assert!(
        again
            .stdout
            .contains("added 1 blocks (1 numbers) to its listed numbers; 1 already there"),
        "{}",
        again.stdout
    );

    // Refused whole: blocks overlapping each other, another brand's, another list, bad ones.
    let version = s.policy().version;
    s.refused(
        &numbers(
            "add",
            "callco",
            "listed",
            &["14155550000:10", "14155550005"],
        ),
        "14155550000:10 and 14155550005 overlap",
    );
    s.refused(
        &numbers(
            "add",
            "callco",
            "listed",
            &["14155550000:10", "13125550050"],
        ),
        "13125550050 overlaps 13125550000:100 on the listed numbers of brand \"acme-bank\"",
    );
    s.refused(
        &numbers("add", "acme-bank", "listed", &["18005550009:5"]),
        "18005550009:5 overlaps 18005550000:10 on the inbound-only numbers of brand \"acme-bank\"",
    );
    s.refused(
        &numbers("add", "acme-bank", "listed", &["1312x"]),
        "block \"1312x\"",
    );
    s.refused(
        &numbers("add", "acme-bank", "listed", &["13125550000:0"]),
        "a block of 0 numbers",
    );
    s.refused(
        &numbers("add", "nope", "listed", &["1"]),
        "brand \"nope\" does not exist",
    );
    s.refused(&numbers("add", "acme-bank", "dno", &["1"]), "invalid value");
    assert!(s.blocks("callco", BrandNumberKind::Listed).is_empty());
    assert_eq!(s.policy().version, version);

    // Removal is exact and all or none.
    s.refused(
        &numbers(
            "remove",
            "acme-bank",
            "listed",
            &["13125550200", "13125550000:50"],
        ),
        "not listed numbers of brand \"acme-bank\" exactly as added: 13125550000:50; nothing was removed",
    );
    s.refused(
        &numbers("remove", "acme-bank", "inbound-only", &["13125550200"]),
        "nothing was removed",
    );
    assert_eq!(s.blocks("acme-bank", BrandNumberKind::Listed).len(), 3);
    let removed = s.ok(&numbers(
        "remove",
        "acme-bank",
        "listed",
        &["13125550200", "13125550300"],
    ));
    assert!(
        removed
            .stdout
            .contains("removed 2 blocks (2 numbers) from its listed numbers"),
        "{}",
        removed.stdout
    );
    assert_eq!(
        s.blocks("acme-bank", BrandNumberKind::Listed),
        ["13125550000:100"]
    );
    let shown = s.ok(&["brand", "show", "acme-bank"]);
    assert!(
        shown
            .stdout
            .contains("listed        13125550000:100 (100 numbers)"),
        "{}",
        shown.stdout
    );
    assert!(
        shown
            .stdout
            .contains("inbound-only  18005550000:10 (10 numbers)"),
        "{}",
        shown.stdout
    );
}

#[test]
fn brand_partners_add_list_and_revoke() {
    let s = Setup::new();
    s.acme();
    s.ok(&[
        "brand",
        "numbers",
        "add",
        "acme-bank",
        "--kind",
        "listed",
        "13125550000:100",
        "13125550100:100",
        "13125550300:10",
    ]);
    fn add<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["brand", "partner", "add", "acme-bank"];
        args.extend_from_slice(extra);
        args
    }

    for (args, want) in [
        (
            add(&["--customer", "Nobody", "--numbers", "13125550000"]),
            "customer \"Nobody\" does not exist",
        ),
        (
            add(&["--customer", "Acme Bank", "--numbers", "13125550000"]),
            "customer \"Acme Bank\" owns brand \"acme-bank\"",
        ),
        (
            add(&["--customer", "CallCo", "--numbers", "13125550150:200"]),
            "13125550150:200 is not within the listed numbers of brand \"acme-bank\"",
        ),
        (
            add(&[
                "--customer",
                "CallCo",
                "--numbers",
                "13125550000",
                "--reason",
                "sales",
            ]),
            "--reason \"sales\" is not a call reason code of brand \"acme-bank\"",
        ),
        (
            add(&[
                "--customer",
                "CallCo",
                "--numbers",
                "13125550000",
                "--valid-from",
                "2030-01-01T00:00:00Z",
                "--valid-until",
                "2029-01-01T00:00:00Z",
            ]),
            "--valid-until must be after --valid-from",
        ),
        (
            add(&[
                "--customer",
                "CallCo",
                "--numbers",
                "13125550000",
                "--valid-from",
                "tomorrow",
            ]),
            "--valid-from: \"tomorrow\" is neither Unix seconds nor an RFC 3339 time",
        ),
        (
            add(&[
                "--customer",
                "CallCo",
                "--numbers",
                "13125550000:10,13125550005",
            ]),
            "13125550000:10 and 13125550005 overlap",
        ),
    ] {
        s.refused(&args, want);
    }
    assert!(s.partners("acme-bank").is_empty());

    // Adjacent listed blocks may be spanned; numbers space- or comma-separated.
    let done = s.ok(&add(&[
        "--customer",
        "CallCo",
        "--numbers",
        "13125550050:100",
        "13125550300,13125550301",
        "--reason",
        "fraud-alert",
        "--valid-from",
        "2020-01-01T00:00:00Z",
        "--valid-until",
        "4102444800",
    ]));
    assert!(
        done.stdout.contains(
            "added partner 1 (CallCo): in force; numbers 13125550050:100, 13125550300, \
             13125550301; reasons fraud-alert; valid 2020-01-01T00:00:00Z to 2100-01-01T00:00:00Z"
        ),
        "{}",
        done.stdout
    );
    s.ok(&add(&[
        "--customer",
        "CallCo",
        "--numbers",
        "13125550000:10",
    ]));
    let partners = s.partners("acme-bank");
    assert_eq!(partners.len(), 2);
    let p = &partners[0];
    assert_eq!(
        p.numbers.iter().map(arg).collect::<Vec<_>>(),
        ["13125550050:100", "13125550300", "13125550301"]
    );
    assert_eq!(p.reasons, ["fraud-alert"]);
    assert_eq!(
        (p.valid_from, p.valid_until),
        (1_577_836_800, Some(4_102_444_800))
    );
    assert!(partners[1].reasons.is_empty());
    assert!(partners[1].valid_from >= now() - 60 && partners[1].valid_until.is_none());

    s.ok(&["brand", "partner", "revoke", "acme-bank", "1"]);
    s.refused(
        &["brand", "partner", "revoke", "acme-bank", "1"],
        "brand \"acme-bank\" has no partner 1 in force",
    );
    s.refused(
        &["brand", "partner", "revoke", "acme-bank", "99"],
        "has no partner 99 in force",
    );
    assert!(s.partners("acme-bank")[0].revoked_at.is_some());

    let list = s.ok(&["brand", "partner", "list", "acme-bank"]);
    assert!(
        list.stdout.contains("partner 1 (CallCo): revoked "),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("partner 2 (CallCo): in force; numbers 13125550000:10; reasons any"),
        "{}",
        list.stdout
    );
    let json = s
        .ok(&["brand", "partner", "list", "acme-bank", "--json"])
        .json();
    let list = json["partners"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["customer"], "CallCo");
    assert!(list[0]["revokedAt"].is_i64());
    assert_eq!(list[1]["status"], "in force");
    assert_eq!(
        list[1]["numbers"],
        json!([{"start": "13125550000", "count": 10}])
    );
    let shown = s.ok(&["brand", "show", "acme-bank"]);
    assert!(
        shown.stdout.contains("partners      1 in force, 2 in all"),
        "{}",
        shown.stdout
    );
}

#[test]
fn brand_events_newest_first_with_a_limit() {
    let s = Setup::new();
    s.acme();
    let none = s.ok(&["brand", "events", "acme-bank"]);
    assert!(none.stdout.contains("has no events"), "{}", none.stdout);
    let id = s.brand("acme-bank").unwrap().id;
    s.store(async |st| {
        for (i, kind) in ["dno_signing_refused", "spoofed_listed_number"]
            .into_iter()
            .enumerate()
        {
            st.record_brand_event(
                id,
                kind,
                &json!({"orig": "13125550000", "n": i}),
                1_700_000_000,
            )
            .await
            .unwrap();
        }
    });
    let json = s
        .ok(&["brand", "events", "acme-bank", "--limit", "1", "--json"])
        .json();
    let events = json["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "spoofed_listed_number");
    assert_eq!(events[0]["detail"]["n"], 1);
    let next = json["next"].as_i64().unwrap();
    let older = s
        .ok(&[
            "brand",
            "events",
            "acme-bank",
            "--before",
            &next.to_string(),
            "--json",
        ])
        .json();
    assert_eq!(older["events"][0]["kind"], "dno_signing_refused");
    assert_eq!(older["next"], Value::Null);
    let text = s.ok(&["brand", "events", "acme-bank"]);
    assert!(
        text.stdout
            .contains("2023-11-14T22:13:20Z  spoofed_listed_number  {"),
        "{}",
        text.stdout
    );
    s.refused(&["brand", "events", "acme-bank", "--limit", "0"], "0");
    s.refused(
        &["brand", "events", "nope"],
        "brand \"nope\" does not exist",
    );
}

#[test]
fn import_dno_merges_duplicates_and_overlaps_and_replaces_the_list() {
    let s = Setup::new();
    let file = s.file(
        "dno.csv",
        "number,count\n\
         # toll-free\n\
         +1 800 555 0000,100\n\
         18005550050\n\
         18005550000,100\n\
         18005550100:10\n\
         \n\
         18005550200\n\
         4420712345678\n",
    );
    let done = s.ok(&["import", "dno", file.to_str().unwrap()]);
    assert!(
        done.stdout.contains(
            "replaced the Do-Not-Originate list (0 blocks, 0 numbers) with 3 blocks (112 numbers) \
             from 6 rows; 3 duplicate, overlapping or adjacent rows merged"
        ),
        "{}",
        done.stdout
    );
    assert_eq!(s.dno(), ["18005550000:110", "18005550200", "4420712345678"]);

    // A bad row: nothing changes, every problem named by line.
    let bad = s.file(
        "bad.csv",
        "18885550000\n1888x\n18885550000,0\n1,2,3\n\"open\n",
    );
    let run = s.refused(&["import", "dno", bad.to_str().unwrap()], "4 problems in ");
    for want in [
        "nothing was imported",
        "bad.csv: line 2: number \"1888x\"",
        "bad.csv: line 3: a block of 0 numbers from 18885550000",
        "bad.csv: line 4: expected number[,count], found 3 fields",
        "bad.csv: line 5: a quoted field is not closed",
    ] {
        assert!(run.stderr.contains(want), "{want:?} in:\n{}", run.stderr);
    }
    assert_eq!(s.dno().len(), 3);

    // The whole list is replaced; an empty file only with --allow-empty.
    let second = s.file("second.csv", "18885550000\n");
    s.ok(&["import", "dno", second.to_str().unwrap()]);
    assert_eq!(s.dno(), ["18885550000"]);
    let empty = s.file("empty.csv", "number\n# nothing\n");
    s.refused(
        &["import", "dno", empty.to_str().unwrap()],
        "holds no numbers; nothing was imported (--allow-empty",
    );
    assert_eq!(s.dno(), ["18885550000"]);
    s.ok(&["import", "dno", empty.to_str().unwrap(), "--allow-empty"]);
    assert!(s.dno().is_empty());
}

#[test]
fn import_opt_outs_records_them_in_one_step_with_the_file_as_source() {
    let s = Setup::new();
    s.acme();
    let file = s.file(
        "opt-outs.csv",
        "number\n+1 215 555 1212\n12155551213\n12155551212\n",
    );
    let done = s.ok(&[
        "import",
        "opt-outs",
        "--brand",
        "acme-bank",
        file.to_str().unwrap(),
    ]);
    assert!(
        done.stdout.contains(
            "brand \"acme-bank\": 2 of 2 numbers opted out of its marketing calls (3 rows, \
             source \"import:opt-outs.csv\")"
        ),
        "{}",
        done.stdout
    );
    let id = s.brand("acme-bank").unwrap().id;
    let tn = |n: &str| TelephoneNumber::parse(n).unwrap();
    let (a, b, c, changes) = s.store(async |st| {
        (
            st.is_opted_out(id, &tn("12155551212")).await.unwrap(),
            st.is_opted_out(id, &tn("12155551213")).await.unwrap(),
            st.is_opted_out(id, &tn("12155551214")).await.unwrap(),
            st.opt_out_changes(0, 100).await.unwrap(),
        )
    });
    assert!(a && b && !c);
    assert_eq!(changes.len(), 2);
    assert!(
        changes
            .iter()
            .all(|ch| ch.source == "import:opt-outs.csv" && ch.opted_out)
    );

    // Again: nothing changes.
    let again = s.ok(&[
        "import",
        "opt-outs",
        "--brand",
        "acme-bank",
        file.to_str().unwrap(),
    ]);
    assert!(
        again.stdout.contains(": 0 of 2 numbers"),
        "{}",
        again.stdout
    );

    // A bad row refuses the whole file.
    let bad = s.file("bad.csv", "12155551214\n12155551215,x\nabc\n");
    let run = s.refused(
        &[
            "import",
            "opt-outs",
            "--brand",
            "acme-bank",
            bad.to_str().unwrap(),
        ],
        "bad.csv: line 2: expected one number, found 2 fields",
    );
    assert!(
        run.stderr.contains("bad.csv: line 3: number \"abc\""),
        "{}",
        run.stderr
    );
    s.refused(
        &[
            "import",
            "opt-outs",
            "--brand",
            "nope",
            file.to_str().unwrap(),
        ],
        "brand \"nope\" does not exist",
    );
    let changes = s.store(async |st| st.opt_out_changes(0, 100).await.unwrap());
    assert_eq!(changes.len(), 2);

    // Back in.
    let back = s.file("back.csv", "12155551213\n");
    let done = s.ok(&[
        "import",
        "opt-outs",
        "--brand",
        "acme-bank",
        back.to_str().unwrap(),
        "--opt-in",
    ]);
    assert!(
        done.stdout
            .contains("1 of 1 numbers opted back into its marketing calls"),
        "{}",
        done.stdout
    );
    assert!(!s.store(async |st| st.is_opted_out(id, &tn("12155551213")).await.unwrap()));
}

/// A `callproof serve` child, killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` until it returns `Some`, until `deadline`.
fn until<T>(deadline: Instant, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The claims of a compact JWS (the part of an Identity header before `;`).
fn claims(identity: &str) -> Value {
    let jws = identity.split(';').next().unwrap();
    let payload = jws.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `rcd` claims of the first Identity header of a signingResponse that has them.
fn rcd_of(response: &Value) -> Option<Value> {
    let signed = &response["signingResponse"];
    assert!(signed["identity"].is_string(), "{response}");
    let extra = signed["identities"].as_array().cloned().unwrap_or_default();
    std::iter::once(&signed["identity"])
        .chain(extra.iter())
        .filter_map(|identity| identity.as_str().map(claims))
        .find_map(|claims| claims.get("rcd").cloned())
}

#[test]
fn a_running_node_sees_what_the_cli_writes_within_two_seconds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = Setup::with_config(|data| {
        format!(
            "data_dir = {:?}\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
             [sip]\nsigning_listen = \"\"\nverification_listen = \"\"\n[log]\nlevel = \"warn\"\n",
            data.display().to_string()
        )
    });
    // The node creates the development customer (the partner below) as it starts.
    s.customers(&["Acme Bank"]);
    let _node = Node(
        callproof_command()
            .args(["serve", "--config"])
            .arg(s.config())
            .env_remove("CALLPROOF_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let get = |path: &str| -> Option<Value> {
        let response = client.get(format!("{base}{path}")).send().ok()?;
        (response.status() == 200).then(|| response.json().ok())?
    };
    until(Instant::now() + Duration::from_secs(30), || {
        client
            .get(format!("{base}/readyz"))
            .send()
            .ok()
            .filter(|r| r.status() == 200)
    })
    .expect("the node did not become ready");
    // Before: the node signs a call from the number without a brand.
    let sign = || -> Value {
        client
            .post(format!("{base}/stir/v1/signing"))
            .json(&json!({"signingRequest": {
                "attest": "A", "dest": {"tn": ["12125551213"]}, "iat": now(),
                "orig": {"tn": "13125550005"}, "origid": "123e4567-e89b-12d3-a456-426655440000"
            }}))
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    assert_eq!(rcd_of(&sign()), None);

    s.ok(&[
        "brand",
        "create",
        "--slug",
        "acme-bank",
        "--customer",
        "Acme Bank",
        "--legal-name",
        "Acme Bank plc",
        "--display-name",
        "Acme Bank",
        "--reason",
        "fraud-alert:Card fraud alert",
    ]);
    s.ok(&[
        "brand",
        "numbers",
        "add",
        "acme-bank",
        "--kind",
        "listed",
        "13125550000:100",
    ]);
    s.ok(&[
        "brand",
        "partner",
        "add",
        "acme-bank",
        "--customer",
        "development",
        "--numbers",
        "13125550000:10",
    ]);
    // Everything must show within 2 s of the last write (the node polls every second).
    let deadline = Instant::now() + Duration::from_secs(2);

    let brand = until(deadline, || {
        get("/v1/brands/acme-bank")
            .filter(|b| b["listedNumbers"] == json!([{"start": "13125550000", "count": 100}]))
    })
    .expect("the node's admin API does not show the brand and its numbers within 2 s");
    assert_eq!(brand["displayName"], "Acme Bank");
    assert_eq!(brand["callReasons"][0]["code"], "fraud-alert");
    let partners = until(deadline, || {
        get("/v1/brands/acme-bank/partners")
            .filter(|p| p["partners"][0]["customer"] == "development")
    })
    .expect("the node's admin API does not show the partner within 2 s");
    assert_eq!(
        partners["partners"][0]["numbers"],
        json!([{"start": "13125550000", "count": 10}])
    );

    // The node's call path (its polled policy) signs the partner's call in the brand's name:
    // one of the Identity headers carries the brand's Rich Call Data.
    let rcd = until(deadline, || rcd_of(&sign())).unwrap_or_else(|| {
        panic!(
            "the node does not sign the partner's call for the brand within 2 s: {}",
            sign()
        )
    });
    assert_eq!(rcd["nam"], "Acme Bank");
}
