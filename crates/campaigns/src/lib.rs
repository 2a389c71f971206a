//! Campaign detection: clusters call reports (free text or transcripts, claimed brand, calling
//! number, time) into robocall and impersonation campaigns, incrementally or in batch.
//!
//! Sans-I/O: no storage, no clock (the caller passes report times and "now" for trends), no
//! network; the server persists reports and campaign ids, this crate only decides them. It is
//! not a spam filter for live calls. Deterministic: the same reports in the same order give
//! the same campaign ids on every node.
//!
//! ```
//! use campaigns::{Clusterer, Params, ReportInput};
//!
//! let mut clusterer = Clusterer::new(Params::default())?;
//! let texts = [
//!     "A pre-authorized purchase of an Apple MacBook Pro is being ordered from your Amazon \
//!      account for an amount of $1,537.35. To cancel your order, please press 1.",
//!     "purchase of an Apple MacBook Pro is being ordered from your Amazon account for an \
//!      amount of $899.99. To cancel your order, please press one.",
//!     "Your car's extended warranty is about to expire. Press 1 to speak with a specialist.",
//! ];
//! let mut ids = Vec::new();
//! for (i, text) in texts.iter().enumerate() {
//!     let report = ReportInput {
//!         id: i as u64,
//!         time: 1_700_000_000 + 60 * i as i64,
//!         text: text.to_string(),
//!         calling: Some("+12025550143".into()),
//!         ..ReportInput::default()
//!     };
//!     ids.push(clusterer.insert(&report)?.campaign);
//! }
//! assert_eq!(ids[0], ids[1]);
//! assert_ne!(ids[0], ids[2]);
//! let amazon = clusterer.campaign(ids[0], 1_700_000_200).unwrap();
//! assert_eq!((amazon.size, amazon.brands[0].value.as_str()), (2, "Amazon"));
//! assert_eq!(amazon.number_blocks[0].value, "202555");
//! # Ok::<(), campaigns::Error>(())
//! ```
//!
//! How: [`text`] normalises a text into word tokens (numbers, amounts, phone numbers and names
//! folded); [`minhash`] turns its word 3-shingles into a MinHash signature cut into LSH bands;
//! the [`Clusterer`] finds candidate campaigns through the bands, verifies them with the exact
//! Jaccard similarity, adds evidence from callback numbers, brands, number blocks and time
//! ([`Params`]), and puts the report in the best campaign above the threshold or in a new one.
//! [`eval`] scores a clustering against reference labels; [`baseline`] is the plain
//! single-link 3-gram clustering it is compared with; [`synthetic`] makes scale-test data.

pub mod ask;
pub mod baseline;
pub mod brand;
pub mod campaign;
pub mod cluster;
pub mod error;
pub mod eval;
pub mod minhash;
pub mod params;
pub mod report;
pub mod synthetic;
pub mod text;

pub use ask::{Ask, AskSet};
pub use campaign::{AskCount, Bucket, CampaignId, CampaignSummary, Count, Direction, Trend};
pub use cluster::{Assignment, Batch, Clusterer, cluster_batch};
pub use error::Error;
pub use params::Params;
pub use report::{CallingNumber, PreparedReport, ReportInput};
