//! Durability of reports: a node killed with SIGKILL in the middle of a burst of 10,000
//! `POST /v1/reports` from concurrent clients loses no acknowledged report, on SQLite and on
//! PostgreSQL. Every report answered 2xx before the kill is read back by id after a restart,
//! as sent; the others, sent again with their `Idempotency-Key`, are each stored once (those
//! committed before the kill but not answered are replayed, not stored twice). The real
//! binary and real servers; the kill comes after a number of answers, not after a time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::serve::{Database, ServeNode, free_port, rand_hex};
use serde_json::{Value, json};
use store::{Report, ReportId, Store};

/// Reports in the burst.
const REPORTS: usize = 10_000;
/// Concurrent clients sending them.
const CLIENTS: usize = 8;
/// Answers received before the node is killed.
const KILL_AFTER: usize = 4_000;
/// Longest the burst may take to reach [`KILL_AFTER`] answers (a hang guard, not a measure).
const BURST_LIMIT: Duration = Duration::from_secs(300);

/// What one report is: its key and its text, both unique to this run.
fn key_of(run: &str, i: usize) -> String {
    format!("durability-{run}-{i}")
}

fn body_of(run: &str, i: usize) -> Value {
    json!({
        "callingNumber": format!("+1215555{:04}", i % 10_000),
        "asked": ["card"],
        "text": format!("durability {run} report {i}: they asked for my card number"),
    })
}

fn text_of(run: &str, i: usize) -> String {
    body_of(run, i)["text"].as_str().unwrap().to_owned()
}

/// The answer to one report: the status and the id, or nothing (no answer at all).
type Answer = Option<(u16, i64)>;

/// Sends report `i`; `None` when no answer came (the node is gone).
fn send(client: &reqwest::blocking::Client, base: &str, run: &str, i: usize) -> Answer {
    let response = client
        .post(format!("{base}/v1/reports"))
        .header("content-type", "application/json")
        .header("idempotency-key", key_of(run, i))
        .body(body_of(run, i).to_string())
        .send()
        .ok()?;
    let status = response.status().as_u16();
    let body: Value = response.json().ok()?;
    Some((status, body["id"].as_i64().unwrap_or(0)))
}

/// Sends reports `indices` from [`CLIENTS`] threads; every answer is counted in `answered`.
fn burst(base: &str, run: &str, indices: &[usize], answered: &Arc<AtomicUsize>) -> Vec<Answer> {
    let chunks: Vec<Vec<usize>> = (0..CLIENTS)
        .map(|c| indices.iter().copied().skip(c).step_by(CLIENTS).collect())
        .collect();
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let (base, run, answered) = (base.to_owned(), run.to_owned(), Arc::clone(answered));
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .no_proxy()
                    .build()
                    .unwrap();
                chunk
                    .into_iter()
                    .map(|i| {
                        let answer = send(&client, &base, &run, i);
                        answered.fetch_add(1, Ordering::SeqCst);
                        (i, answer)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut answers = vec![None; REPORTS];
    for thread in threads {
        for (i, answer) in thread.join().unwrap() {
            answers[i] = answer;
        }
    }
    indices.iter().map(|&i| answers[i]).collect()
}

fn write_config(path: &Path, data: &Path, port: u16, storage: &str) {
    let text = format!(
        r#"data_dir = "{data}"
[http]
listen = "127.0.0.1:{port}"
[sip]
signing_listen = ""
verification_listen = ""
[storage]
{storage}
[reports]
per_client_per_hour = 1000000
[log]
level = "warn"
"#,
        data = data.display(),
    );
    std::fs::write(path, text).unwrap();
}

/// Every report in the store, by id.
async fn all_reports(store: &dyn Store) -> Vec<Report> {
    let mut out: Vec<Report> = Vec::new();
    loop {
        let after = out.last().map_or(ReportId(0), |r| r.id);
        let page = store.reports_after(after, 1000).await.unwrap();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}

/// The node's store, opened beside it: its SQLite file under `data`, or PostgreSQL at `pg`.
async fn open_store(data: &Path, pg: Option<&str>) -> Box<dyn Store> {
    match pg {
        Some(url) => Box::new(
            store::postgres::PgStore::connect(url, None, 2)
                .await
                .unwrap(),
        ),
        None => Box::new(
            store::sqlite::SqliteStore::open(&data.join("callproof.db"))
                .await
                .unwrap(),
        ),
    }
}

/// The test on the node's storage: SQLite, or the PostgreSQL database at `pg`.
fn durability(pg: Option<&str>) {
    let (backend, storage) = match pg {
        Some(url) => (
            "postgres",
            format!("kind = \"postgres\"\npostgres_url = \"{url}\""),
        ),
        None => ("sqlite", "kind = \"sqlite\"".to_owned()),
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let config = dir.path().join("node.toml");
    write_config(&config, &data, port, &storage);
    let run = rand_hex(4);
    let mut node = ServeNode::start(&config, port, &dir.path().join("node.log"));

    // The burst, with the node killed once KILL_AFTER answers are in.
    let answered = Arc::new(AtomicUsize::new(0));
    let all: Vec<usize> = (0..REPORTS).collect();
    let sender = {
        let (base, run, answered, all) = (
            node.base.clone(),
            run.clone(),
            Arc::clone(&answered),
            all.clone(),
        );
        std::thread::spawn(move || burst(&base, &run, &all, &answered))
    };
    let started = Instant::now();
    while answered.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            started.elapsed() < BURST_LIMIT,
            "the burst hangs; log:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    node.kill();
    let answers = sender.join().unwrap();
    let acknowledged: Vec<(usize, i64)> = answers
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            Some((201, id)) => Some((i, *id)),
            Some((status, _)) if *status != 201 => panic!("report {i} answered {status}"),
            _ => None,
        })
        .collect();
    let unanswered: Vec<usize> = (0..REPORTS).filter(|i| answers[*i].is_none()).collect();
    assert!(
        acknowledged.len() >= KILL_AFTER / 2 && !unanswered.is_empty(),
        "the kill came mid-burst: {} acknowledged, {} unanswered",
        acknowledged.len(),
        unanswered.len()
    );

    // Restarted on the same data: every acknowledged report is there, by id, as sent.
    let node = ServeNode::start(&config, port, &dir.path().join("restart.log"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(open_store(&data, pg));
    let lost: Vec<usize> = acknowledged
        .iter()
        .filter(|(i, id)| {
            let stored = runtime.block_on(store.report(ReportId(*id))).unwrap();
            stored.is_none_or(|r| r.text != text_of(&run, *i))
        })
        .map(|(i, _)| *i)
        .collect();
    let after_restart = runtime.block_on(all_reports(store.as_ref())).len();
    assert!(
        lost.is_empty(),
        "{backend}: {} acknowledged reports lost after SIGKILL: {lost:?}",
        lost.len()
    );

    // The unanswered ones again, with their keys: each stored once.
    let retried = burst(
        &node.base,
        &run,
        &unanswered,
        &Arc::new(AtomicUsize::new(0)),
    );
    let (mut replayed, mut created) = (0, 0);
    for (i, answer) in unanswered.iter().zip(&retried) {
        match answer {
            Some((200, _)) => replayed += 1,
            Some((201, _)) => created += 1,
            other => panic!("report {i} sent again after the restart: {other:?}"),
        }
    }
    let stored = runtime.block_on(all_reports(store.as_ref()));
    let texts: HashSet<&str> = stored.iter().map(|r| r.text.as_str()).collect();
    let expected: HashSet<String> = (0..REPORTS).map(|i| text_of(&run, i)).collect();
    eprintln!(
        "reports durability ({backend}): {REPORTS} sent by {CLIENTS} clients, node killed with \
         SIGKILL after {KILL_AFTER} answers; {} acknowledged, 0 lost; {after_restart} stored \
         after the restart ({} committed but never answered); {} sent again with their keys: \
         {replayed} replayed, {created} stored; {} stored in the end, no duplicates",
        acknowledged.len(),
        after_restart - acknowledged.len(),
        unanswered.len(),
        stored.len(),
    );
    assert_eq!(
        replayed,
        after_restart - acknowledged.len(),
        "exactly the committed but unanswered reports are replayed"
    );
    assert_eq!(stored.len(), REPORTS, "each report stored once");
    assert_eq!(texts.len(), REPORTS, "no report stored twice");
    assert!(
        expected.iter().all(|t| texts.contains(t.as_str())),
        "every report stored"
    );
    drop(node);
}

#[test]
fn a_node_killed_in_a_burst_of_reports_loses_no_acknowledged_report_sqlite() {
    durability(None);
}

#[test]
fn a_node_killed_in_a_burst_of_reports_loses_no_acknowledged_report_postgres() {
    let db = Database::create("cp_reports");
    durability(Some(&db.url()));
}
