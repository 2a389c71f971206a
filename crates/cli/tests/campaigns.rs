//! `callproof campaigns evaluate|cluster|bench` end to end: the real binary on the FTC
//! robocall corpus (train split only) and on a small file of reports written here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::path::PathBuf;

use common::{callproof, write};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/robocall-campaigns/calls.csv")
}

#[test]
fn evaluate_scores_the_train_split_and_the_baseline() {
    let corpus = corpus();
    let run = callproof([
        "campaigns",
        "evaluate",
        "--calls",
        corpus.to_str().unwrap(),
        "--split",
        "train",
        "--baseline",
        "--json",
    ]);
    run.assert_code(0);
    let out = run.json();
    assert_eq!(out["split"], "train");
    assert_eq!(out["labelled"], 420);
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let ours = &results[0];
    assert!(ours["f1"].as_f64().unwrap() >= 0.77, "{ours}");
    for r in results {
        for k in ["precision", "recall", "f1", "ari"] {
            let v = r[k].as_f64().unwrap();
            assert!((-1.0..=1.0).contains(&v), "{k} {v}");
        }
    }
    assert!(
        results[1]["method"]
            .as_str()
            .unwrap()
            .starts_with("baseline")
    );
}

#[test]
fn tuning_on_holdout_is_refused() {
    let corpus = corpus();
    let run = callproof([
        "campaigns",
        "evaluate",
        "--calls",
        corpus.to_str().unwrap(),
        "--split",
        "holdout",
        "--sweep",
    ]);
    run.assert_code(2);
    assert!(run.stderr.contains("train only"), "{}", run.stderr);
}

#[test]
fn cluster_prints_campaigns_with_numbers_brands_and_asks() {
    let dir = tempfile::tempdir().unwrap();
    let amazon = "Hello, this is Amazon. An order of an Apple iPhone 11 Pro for {amt} was placed \
                  using your Amazon account. If you did not authorize it, call 1-888-555-0100 and \
                  have your card number ready.";
    let mut csv = String::from("id,time,text,claimed_brand,calling,asked\n");
    for (i, amt) in ["$999", "$899.99", "$1,499"].iter().enumerate() {
        csv.push_str(&format!(
            "r{i},{},\"{}\",Amazon,+1202555014{i},gift-cards\n",
            1_700_000_000 + 600 * i,
            amazon.replace("{amt}", amt)
        ));
    }
    csv.push_str("r9,1700000000,\"Your car's extended warranty expires today, press 1.\",,,\n");
    let file = write(dir.path(), "reports.csv", csv);

    let run = callproof([
        "campaigns",
        "cluster",
        "--calls",
        file.to_str().unwrap(),
        "--json",
    ]);
    run.assert_code(0);
    let out = run.json();
    assert_eq!(out["reports"], 4);
    let campaigns = out["campaigns"].as_array().unwrap();
    assert_eq!(campaigns.len(), 2);
    let c = &campaigns[0];
    assert_eq!(c["size"], 3);
    assert_eq!(c["brands"][0]["value"], "Amazon");
    assert_eq!(c["callback_numbers"][0]["value"], "8885550100");
    assert_eq!(c["number_blocks"][0]["value"], "202555");
    let asked: Vec<&str> = c["asked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ask"].as_str().unwrap())
        .collect();
    assert_eq!(asked, ["card", "gift-cards"]);
    assert_eq!(out["assignments"][3]["new_campaign"], true);

    let text = callproof(["campaigns", "cluster", "--calls", file.to_str().unwrap()]);
    text.assert_code(0);
    assert!(
        text.stdout.contains("4 reports in 2 campaigns"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("callback numbers: 8885550100 (3)"),
        "{}",
        text.stdout
    );

    let bad = write(dir.path(), "bad.csv", "id,text,asked\n1,hello,cash\n");
    let run = callproof(["campaigns", "cluster", "--calls", bad.to_str().unwrap()]);
    run.assert_code(2);
    assert!(run.stderr.contains("unknown ask"), "{}", run.stderr);
}

#[test]
fn bench_reports_time_memory_and_latency() {
    let corpus = corpus();
    let run = callproof([
        "campaigns",
        "bench",
        "--calls",
        corpus.to_str().unwrap(),
        "--synthetic",
        "2000",
        "--inserts",
        "50",
        "--json",
    ]);
    run.assert_code(0);
    let out = run.json();
    assert_eq!(out["reports"], 2000);
    assert!(out["reports_per_sec"].as_f64().unwrap() > 0.0);
    assert!(out["peak_rss_kib"].as_u64().unwrap() > 0);
    let us = &out["insert_us"];
    assert!(us["p50"].as_f64().unwrap() <= us["p99"].as_f64().unwrap());
    assert_eq!(out["inserts"], 50);
}
