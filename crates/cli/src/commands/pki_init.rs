//! `callproof pki init`: a development PKI on disk.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use passport::TelephoneNumber;
use pki::testpki::TestPki;
use pki::tn_auth_list::{ServiceProviderCode, TnAuthList, TnEntry, TnRange};

use crate::args::PkiInitArgs;
use crate::files::write_file;

const DAY: i64 = 86_400;

pub(crate) fn run(args: &PkiInitArgs) -> anyhow::Result<ExitCode> {
    let entries = tn_entries(args)?;
    let list = TnAuthList::new(entries).context("invalid TNAuthList")?;
    let now = super::unix_now();
    let days = i64::from(args.days.max(1));
    let pki = TestPki::builder()
        .at(now)
        .leaf_validity(now - DAY, now + days * DAY)
        .intermediate_validity(now - DAY, now + (days + 365) * DAY)
        .root_validity(now - DAY, now + (days + 3650) * DAY)
        .leaf_name(&format!("callproof development SP {list}"))
        .tn_auth_list(list)
        .build()
        .context("cannot issue the development PKI")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let files = [
        ("root.pem", pki.root_pem.as_str(), false),
        ("intermediate.pem", pki.intermediate_pem.as_str(), false),
        ("sp.pem", pki.leaf_pem.as_str(), false),
        ("sp-key.pem", pki.leaf_key_pem.as_str(), true),
        ("chain.pem", &pki.chain_pem(), false),
    ];
    if !args.force {
        let existing: Vec<&str> = files
            .iter()
            .map(|(name, _, _)| *name)
            .filter(|name| args.out.join(name).exists())
            .collect();
        if !existing.is_empty() {
            bail!(
                "refusing to replace what exists in {}: {} (use --force to overwrite); nothing was written",
                args.out.display(),
                existing.join(", ")
            );
        }
    }
    for (name, contents, secret) in files {
        write_file(&args.out.join(name), contents, secret, args.force)?;
    }
    super::print_line(&format!(
        "wrote a development PKI to {} (root.pem, intermediate.pem, sp.pem, sp-key.pem, chain.pem); \
         for tests and demos only",
        args.out.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn tn_entries(args: &PkiInitArgs) -> anyhow::Result<Vec<TnEntry>> {
    let mut entries = Vec::new();
    match (&args.spc, args.tn_ranges.is_empty()) {
        (Some(spc), _) => entries.push(TnEntry::Spc(
            ServiceProviderCode::new(spc).context("invalid --spc")?,
        )),
        (None, true) => entries.push(TnEntry::Spc(
            ServiceProviderCode::new("1234").context("default SPC")?,
        )),
        (None, false) => {}
    }
    for range in &args.tn_ranges {
        let Some((start, count)) = range.split_once(':') else {
            bail!("--tn-range {range:?} is not START:COUNT");
        };
        let start = TelephoneNumber::parse(start)
            .with_context(|| format!("--tn-range {range:?}: bad start"))?;
        let count: u64 = count
            .parse()
            .with_context(|| format!("--tn-range {range:?}: bad count"))?;
        let entry = if count == 1 {
            TnEntry::One(start)
        } else {
            TnEntry::Range(
                TnRange::new(start, count).with_context(|| format!("--tn-range {range:?}"))?,
            )
        };
        entries.push(entry);
    }
    Ok(entries)
}
