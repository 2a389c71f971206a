//! `callproof import numbers` end to end: the real binary against a SQLite data directory in
//! a temp dir, checked by reading the store afterwards.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::path::{Path, PathBuf};

use common::{Run, callproof};
use store::{Inventory, Store};

/// A data directory, a configuration naming it, and CSV files beside them.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::write(
            dir.path().join("callproof.toml"),
            format!("data_dir = {:?}\n", data.display().to_string()),
        )
        .unwrap();
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("callproof.toml")
    }

    fn csv(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn import(&self, file: &Path, extra: &[&str]) -> Run {
        let config = self.config();
        let mut args = vec![
            "import",
            "numbers",
            file.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        callproof(args)
    }

    /// What the store holds now.
    fn inventory(&self) -> Inventory {
        let path = self.dir.path().join("data/callproof.db");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = store::sqlite::SqliteStore::open(&path).await.unwrap();
                store.inventory().await.unwrap()
            })
    }

    /// `(customer name, block)` pairs in the store.
    fn owned(&self) -> Vec<(String, String)> {
        let inv = self.inventory();
        inv.blocks
            .iter()
            .map(|o| {
                let name = inv
                    .customers
                    .iter()
                    .find(|c| c.id == o.customer)
                    .unwrap()
                    .name
                    .clone();
                (name, o.block.to_string())
            })
            .collect()
    }
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

const FILE: &str = "\
customer,number,count
# Acme's ranges
Acme,+1 215 555 0000,10000
Acme,+13125550100
\"Bravo, Inc.\",442071234567,1

\"Bravo, Inc.\",13125550200,100
";

#[test]
fn import_creates_customers_adds_their_numbers_and_can_run_again() {
    let s = Setup::new();
    let file = s.csv("numbers.csv", FILE);

    // Unknown customers are refused, by line, before anything is written.
    let refused = s.import(&file, &[]);
    refused.assert_code(2);
    assert!(
        refused
            .stderr
            .contains("line 3: customer \"Acme\" does not exist (--create-customers creates it)"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("line 5: customer \"Bravo, Inc.\""),
        "{}",
        refused.stderr
    );
    assert!(s.inventory().customers.is_empty());

    // A dry run says what it would do and does nothing.
    let dry = s.import(&file, &["--create-customers", "--dry-run"]);
    dry.assert_code(0);
    assert!(
        dry.stdout
            .contains("would import \"Acme\" (new customer): 2 blocks (10001 numbers)"),
        "{}",
        dry.stdout
    );
    assert!(dry.stdout.contains("nothing was written"), "{}", dry.stdout);
    assert!(s.inventory().customers.is_empty());

    let done = s.import(&file, &["--create-customers"]);
    done.assert_code(0);
    assert!(
        done.stdout
            .contains("\"Acme\" (created): 2 blocks added (10001 numbers)"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout
            .contains("imported 4 blocks (10102 numbers) for 2 customers (2 created)"),
        "{}",
        done.stdout
    );
    let names: Vec<String> = s
        .inventory()
        .customers
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["Acme", "Bravo, Inc."]);
    let expected = pairs(&[
        ("Acme", "12155550000+10000"),
        ("Acme", "13125550100"),
        ("Bravo, Inc.", "13125550200+100"),
        ("Bravo, Inc.", "442071234567"),
    ]);
    assert_eq!(s.owned(), expected);

    // The same file again: everything is present already, nothing changes.
    let version = s.inventory().version;
    let again = s.import(&file, &[]);
    again.assert_code(0);
    assert!(
        again.stdout.contains(
            "imported 0 blocks (0 numbers) for 2 customers (0 created); 4 rows already present"
        ),
        "{}",
        again.stdout
    );
    assert_eq!(s.owned(), expected);
    // (Adding zero blocks writes nothing: no customer's add_numbers ran.)
    assert_eq!(s.inventory().version, version);
}

#[test]
fn bad_rows_are_reported_with_their_line_numbers_and_nothing_is_written() {
    let s = Setup::new();
    let file = s.csv(
        "bad.csv",
        "Acme,12155550000,100\n\
         Acme,12155550050\n\
         Acme\n\
         Acme,not-a-number\n\
         Acme,12155559999,0\n\
         \"Acme,1\n",
    );
    let run = s.import(&file, &["--create-customers"]);
    run.assert_code(2);
    for want in [
        "5 problems in ",
        "nothing was imported",
        "bad.csv: line 2: 12155550050 overlaps 12155550000+100 on line 1",
        "bad.csv: line 3: expected customer,number[,count], found 1 field",
        "bad.csv: line 4: number \"not-a-number\"",
        "bad.csv: line 5: a block of 0 numbers from 12155559999",
        "bad.csv: line 6: a quoted field is not closed",
    ] {
        assert!(run.stderr.contains(want), "{want:?} in:\n{}", run.stderr);
    }
    // The file is checked before the storage is even opened.
    assert!(!s.dir.path().join("data").exists());
}

#[test]
fn numbers_another_customer_owns_refuse_the_whole_file() {
    let s = Setup::new();
    s.import(
        &s.csv("first.csv", "Acme,12155550000,100\n"),
        &["--create-customers"],
    )
    .assert_code(0);
    let second = s.csv(
        "second.csv",
        "# Bravo's, and one of Acme's by mistake\n\
         Bravo,13125550000,10\n\
         Acme,13125550500\n\
         Bravo,12155550099\n",
    );
    let run = s.import(&second, &["--create-customers"]);
    run.assert_code(2);
    assert!(
        run.stderr
            .contains("line 4: 12155550099 overlaps 12155550000+100 owned by customer \"Acme\""),
        "{}",
        run.stderr
    );
    // Neither Bravo nor Acme's new number went in.
    assert_eq!(s.owned(), pairs(&[("Acme", "12155550000+100")]));
    assert_eq!(s.inventory().customers.len(), 1);
}

#[test]
fn an_unreadable_file_is_named() {
    let s = Setup::new();
    let run = s.import(&s.dir.path().join("missing.csv"), &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("missing.csv"), "{}", run.stderr);
}
