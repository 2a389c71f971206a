//! `callproof brand ...`: the brand registry, straight in the configured storage (the same
//! store the nodes read; they pick a change up within a second by polling the policy
//! version).
//!
//! Every input is checked as the admin API (`/v1/brands`) checks it, and against what is
//! stored, before anything is written; each write is one all-or-none store call.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use engine::brand_rules::{
    self as rules, LOGO_TYPES, MAX_DISPLAY_NAME, MAX_LONG_TEXT, clip, printable,
};
use passport::TelephoneNumber;
use passport::rcd::{DigestAlg, integrity_digest};
use serde_json::{Value, json};
use server::config::Config;
use server::rest::brands::{MAX_LOGO_BYTES, brand_json};
use store::{
    Brand, BrandFields, BrandNumberKind, BrandPolicy, CallReason, Customer, CustomerId, NewPartner,
    NumberBlock, Partner, PartnerId, Standing, Store,
};

use super::import::{block_arg, parse_block_arg};
use super::{print_line, unix_now};
use crate::args::{
    BrandCreateArgs, BrandEventsArgs, BrandFieldArgs, BrandListArgs, BrandLogoArgs,
    BrandNumberKindArg, BrandNumbersArgs, BrandShowArgs, BrandUpdateArgs, PartnerAddArgs,
    PartnerListArgs, PartnerRevokeArgs,
};

/// Runs `work` against the storage named by `config`.
fn with_store<T>(
    config: Option<&Path>,
    work: impl AsyncFnOnce(&dyn Store, &Config) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let config = super::load_config(config)?;
    super::runtime()?.block_on(async {
        let store = super::open_store(&config).await?;
        work(store.as_ref(), &config).await
    })
}

/// The brand with this slug, or an error naming it.
pub(crate) async fn find_brand(store: &dyn Store, slug: &str) -> anyhow::Result<Brand> {
    store
        .brand_by_slug(slug)
        .await
        .context("cannot read the brands")?
        .ok_or_else(|| anyhow!("brand {slug:?} does not exist"))
}

async fn find_customer(store: &dyn Store, name: &str) -> anyhow::Result<Customer> {
    store
        .customer_by_name(name)
        .await
        .context("cannot read the customers")?
        .ok_or_else(|| anyhow!("customer {name:?} does not exist"))
}

/// Customer names by id.
async fn customer_names(store: &dyn Store) -> anyhow::Result<HashMap<CustomerId, String>> {
    Ok(store
        .inventory()
        .await
        .context("cannot read the customers")?
        .customers
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

fn name_of(names: &HashMap<CustomerId, String>, id: CustomerId) -> String {
    names.get(&id).cloned().unwrap_or_else(|| id.to_string())
}

// ---------------------------------------------------------------------------------------------
// Checks, as the admin API makes them

fn check_slug(s: &str) -> anyhow::Result<()> {
    rules::check_slug("--slug", s).map_err(anyhow::Error::msg)
}

/// `CODE:TEXT[:marketing]`.
pub(crate) fn parse_reason(arg: &str) -> Result<CallReason, String> {
    let (code, rest) = arg
        .split_once(':')
        .ok_or_else(|| format!("--reason {:?} is not CODE:TEXT[:marketing]", clip(arg)))?;
    let (text, marketing) = match rest.strip_suffix(":marketing") {
        Some(text) => (text, true),
        None => (rest, false),
    };
    let reason = CallReason {
        code: code.to_owned(),
        text: text.to_owned(),
        marketing,
    };
    rules::check_reason(&format!("--reason {:?}", clip(arg)), &reason)?;
    Ok(reason)
}

/// The fields given, checked: a display name a phone can show, reasons with token codes.
fn brand_fields(args: &BrandFieldArgs) -> anyhow::Result<BrandFields> {
    let mut problems = Vec::new();
    let mut check = |r: Result<(), String>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    check(printable("--legal-name", &args.legal_name, MAX_LONG_TEXT));
    check(printable(
        "--display-name",
        &args.display_name,
        MAX_DISPLAY_NAME,
    ));
    let mut reasons: Vec<CallReason> = Vec::with_capacity(args.reasons.len());
    for arg in &args.reasons {
        match parse_reason(arg) {
            Ok(r) if reasons.iter().any(|x| x.code == r.code) => {
                check(Err(format!("--reason code {:?} appears twice", r.code)));
            }
            Ok(r) => reasons.push(r),
            Err(e) => check(Err(e)),
        }
    }
    for s in &args.never_ask {
        check(printable("--never-ask", s, MAX_LONG_TEXT));
    }
    let callback = match args.callback.as_deref().map(TelephoneNumber::parse) {
        Some(Ok(tn)) => Some(tn),
        Some(Err(e)) => {
            check(Err(format!("--callback: {e}")));
            None
        }
        None => None,
    };
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(BrandFields {
        legal_name: args.legal_name.clone(),
        display_name: args.display_name.clone(),
        call_reasons: reasons,
        never_ask: args.never_ask.clone(),
        callback,
    })
}

/// Blocks given on the command line, checked and disjoint.
fn parse_blocks(args: &[String]) -> anyhow::Result<Vec<NumberBlock>> {
    let mut problems = Vec::new();
    let mut blocks: Vec<NumberBlock> = Vec::with_capacity(args.len());
    for arg in args {
        match parse_block_arg(arg.trim()) {
            Ok(block) => {
                if let Some(other) = blocks.iter().find(|b| b.overlaps(&block)) {
                    problems.push(format!(
                        "{} and {} overlap",
                        block_arg(other),
                        block_arg(&block)
                    ));
                } else {
                    blocks.push(block);
                }
            }
            Err(why) => problems.push(format!("block {:?}: {why}", clip(arg))),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(blocks)
}

const fn kind_of(arg: BrandNumberKindArg) -> BrandNumberKind {
    match arg {
        BrandNumberKindArg::Listed => BrandNumberKind::Listed,
        BrandNumberKindArg::InboundOnly => BrandNumberKind::InboundOnly,
    }
}

const fn kind_name(kind: BrandNumberKind) -> &'static str {
    match kind {
        BrandNumberKind::Listed => "listed",
        BrandNumberKind::InboundOnly => "inbound-only",
    }
}

fn blocks_text(blocks: &[NumberBlock]) -> String {
    if blocks.is_empty() {
        return "none".to_owned();
    }
    blocks.iter().map(block_arg).collect::<Vec<_>>().join(", ")
}

fn total(blocks: &[NumberBlock]) -> u64 {
    blocks.iter().map(NumberBlock::count).sum()
}

fn block_json(b: &NumberBlock) -> Value {
    json!({ "start": b.start().as_str(), "count": b.count() })
}

/// A brand's blocks on one list.
fn brand_blocks(policy: &BrandPolicy, brand: &Brand, kind: BrandNumberKind) -> Vec<NumberBlock> {
    policy
        .blocks
        .iter()
        .filter(|b| b.brand == brand.id && b.kind == kind)
        .map(|b| b.block)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// create, update, show, list

/// `callproof brand create`.
pub(crate) fn create(args: &BrandCreateArgs) -> anyhow::Result<ExitCode> {
    check_slug(&args.slug)?;
    let fields = brand_fields(&args.fields)?;
    with_store(args.storage.config.as_deref(), async |store, _| {
        if store.brand_by_slug(&args.slug).await?.is_some() {
            bail!(
                "brand {:?} exists already (brand update changes it)",
                args.slug
            );
        }
        let customer = find_customer(store, &args.customer).await?;
        let brand = store
            .create_brand(&args.slug, customer.id, &fields, unix_now())
            .await
            .with_context(|| format!("cannot create brand {:?}", args.slug))?;
        print_line(&format!(
            "created brand {:?} (id {}) for customer {:?}: {:?}, {} call reasons",
            brand.slug,
            brand.id,
            customer.name,
            brand.display_name,
            brand.call_reasons.len()
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `callproof brand update`.
pub(crate) fn update(args: &BrandUpdateArgs) -> anyhow::Result<ExitCode> {
    let fields = brand_fields(&args.fields)?;
    with_store(args.storage.config.as_deref(), async |store, _| {
        let brand = find_brand(store, &args.slug).await?;
        let brand = store
            .update_brand(brand.id, &fields, unix_now())
            .await
            .with_context(|| format!("cannot update brand {:?}", args.slug))?;
        print_line(&format!(
            "updated brand {:?}: {:?}, {} call reasons, {} never-ask",
            brand.slug,
            brand.display_name,
            brand.call_reasons.len(),
            brand.never_ask.len()
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// A brand as `show --json` and `list --json` print it: the admin API's form, with its
/// customer, times and numbers.
fn brand_detail_json(
    config: &Config,
    brand: &Brand,
    customer: &str,
    policy: &BrandPolicy,
) -> Value {
    let url = brand
        .logo
        .as_ref()
        .map(|_| engine::brand::logo_url(&config.public_url(), &brand.slug));
    let mut out = brand_json(brand, url.as_deref());
    if let Some(obj) = out.as_object_mut() {
        obj.insert("customer".into(), json!(customer));
        obj.insert("createdAt".into(), json!(brand.created_at));
        obj.insert("updatedAt".into(), json!(brand.updated_at));
        for (key, kind) in [
            ("listedNumbers", BrandNumberKind::Listed),
            ("inboundOnlyNumbers", BrandNumberKind::InboundOnly),
        ] {
            let list: Vec<Value> = brand_blocks(policy, brand, kind)
                .iter()
                .map(block_json)
                .collect();
            obj.insert(key.into(), json!(list));
        }
    }
    out
}

/// `callproof brand show`.
pub(crate) fn show(args: &BrandShowArgs) -> anyhow::Result<ExitCode> {
    with_store(args.storage.config.as_deref(), async |store, config| {
        let brand = find_brand(store, &args.slug).await?;
        let policy = store
            .brand_policy()
            .await
            .context("cannot read the brand policy")?;
        let names = customer_names(store).await?;
        let customer = name_of(&names, brand.customer);
        if args.json {
            let out = brand_detail_json(config, &brand, &customer, &policy);
            print_line(&serde_json::to_string_pretty(&out)?)?;
            return Ok(ExitCode::SUCCESS);
        }
        let now = unix_now();
        let partners: Vec<&Partner> = policy
            .partners
            .iter()
            .filter(|p| p.brand == brand.id)
            .collect();
        let in_force = partners
            .iter()
            .filter(|p| partner_status(p, now) == "in force")
            .count();
        let mut lines = vec![
            format!("brand {} (id {})", brand.slug, brand.id),
            format!("  customer      {customer}"),
            format!("  legal name    {}", brand.legal_name),
            format!("  display name  {}", brand.display_name),
            format!(
                "  call back on  {}",
                brand
                    .callback
                    .as_ref()
                    .map_or_else(|| "not set".to_owned(), |tn| format!("+{}", tn.as_str()))
            ),
        ];
        if brand.call_reasons.is_empty() {
            lines.push("  reasons       none".to_owned());
        }
        for (i, r) in brand.call_reasons.iter().enumerate() {
            lines.push(format!(
                "  {:<14}{}: {}{}",
                if i == 0 { "reasons" } else { "" },
                r.code,
                r.text,
                if r.marketing { " (marketing)" } else { "" }
            ));
        }
        for (i, s) in brand.never_ask.iter().enumerate() {
            lines.push(format!(
                "  {:<14}{s}",
                if i == 0 { "never asks" } else { "" }
            ));
        }
        lines.push(match &brand.logo {
            Some(l) => format!(
                "  logo          {}, {} bytes, {} (set {}), at {}",
                l.content_type,
                l.len,
                l.digest,
                format_time(l.updated_at),
                engine::brand::logo_url(&config.public_url(), &brand.slug)
            ),
            None => "  logo          none".to_owned(),
        });
        for kind in [BrandNumberKind::Listed, BrandNumberKind::InboundOnly] {
            let blocks = brand_blocks(&policy, &brand, kind);
            lines.push(format!(
                "  {:<14}{} ({} numbers)",
                kind_name(kind),
                blocks_text(&blocks),
                total(&blocks)
            ));
        }
        lines.push(format!(
            "  partners      {in_force} in force, {} in all",
            partners.len()
        ));
        lines.push(format!(
            "  created       {}, updated {}",
            format_time(brand.created_at),
            format_time(brand.updated_at)
        ));
        print_line(&lines.join("\n"))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `callproof brand list`.
pub(crate) fn list(args: &BrandListArgs) -> anyhow::Result<ExitCode> {
    with_store(args.storage.config.as_deref(), async |store, config| {
        let policy = store
            .brand_policy()
            .await
            .context("cannot read the brand policy")?;
        let names = customer_names(store).await?;
        if args.json {
            let list: Vec<Value> = policy
                .brands
                .iter()
                .map(|b| brand_detail_json(config, b, &name_of(&names, b.customer), &policy))
                .collect();
            print_line(&serde_json::to_string_pretty(&json!({ "brands": list }))?)?;
            return Ok(ExitCode::SUCCESS);
        }
        if policy.brands.is_empty() {
            print_line("no brands")?;
            return Ok(ExitCode::SUCCESS);
        }
        let now = unix_now();
        let mut lines = vec![format!(
            "{:<24} {:<32} {:<20} {:>8} {:>8} {:>8}",
            "SLUG", "DISPLAY NAME", "CUSTOMER", "LISTED", "INBOUND", "PARTNERS"
        )];
        for b in &policy.brands {
            let count = |kind| total(&brand_blocks(&policy, b, kind));
            let partners = policy
                .partners
                .iter()
                .filter(|p| p.brand == b.id && partner_status(p, now) == "in force")
                .count();
            lines.push(format!(
                "{:<24} {:<32} {:<20} {:>8} {:>8} {:>8}",
                b.slug,
                b.display_name,
                name_of(&names, b.customer),
                count(BrandNumberKind::Listed),
                count(BrandNumberKind::InboundOnly),
                partners
            ));
        }
        print_line(&lines.join("\n"))?;
        Ok(ExitCode::SUCCESS)
    })
}

// ---------------------------------------------------------------------------------------------
// logo

/// The content type a logo file's extension names.
fn logo_type(path: &Path) -> anyhow::Result<&'static str> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let content_type = match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ => bail!(
            "{}: a logo is a .png, .jpg, .jpeg, .webp or .svg file ({})",
            path.display(),
            LOGO_TYPES.join(", ")
        ),
    };
    Ok(content_type)
}

/// Whether the bytes look like the type the extension names (so a misnamed file is not
/// served to phones under the wrong type).
fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xff, 0xd8, 0xff]),
        "image/webp" => bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"),
        "image/svg+xml" => {
            std::str::from_utf8(bytes).is_ok() && bytes.windows(4).any(|w| w == b"<svg")
        }
        _ => false,
    }
}

/// `callproof brand logo`.
pub(crate) fn logo(args: &BrandLogoArgs) -> anyhow::Result<ExitCode> {
    let content_type = logo_type(&args.file)?;
    let bytes = crate::files::read(&args.file)?;
    if bytes.is_empty() || bytes.len() > MAX_LOGO_BYTES {
        bail!(
            "{}: a logo is 1 to {MAX_LOGO_BYTES} bytes, not {}",
            args.file.display(),
            bytes.len()
        );
    }
    if !looks_like(content_type, &bytes) {
        bail!(
            "{} does not hold {content_type} data (its extension names that type)",
            args.file.display()
        );
    }
    let digest = integrity_digest(DigestAlg::Sha256, &bytes);
    with_store(args.storage.config.as_deref(), async |store, config| {
        let brand = find_brand(store, &args.slug).await?;
        let meta = store
            .set_brand_logo(brand.id, content_type, &digest, &bytes, unix_now())
            .await
            .with_context(|| format!("cannot set the logo of brand {:?}", args.slug))?;
        print_line(&format!(
            "logo of brand {:?}: {}, {} bytes, {}, served at {}",
            brand.slug,
            meta.content_type,
            meta.len,
            meta.digest,
            engine::brand::logo_url(&config.public_url(), &brand.slug)
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

// ---------------------------------------------------------------------------------------------
// numbers

/// `callproof brand numbers add|remove`.
pub(crate) fn numbers(args: &BrandNumbersArgs, add: bool) -> anyhow::Result<ExitCode> {
    let blocks = parse_blocks(&args.blocks)?;
    let kind = kind_of(args.kind);
    with_store(args.storage.config.as_deref(), async |store, _| {
        let brand = find_brand(store, &args.slug).await?;
        let policy = store
            .brand_policy()
            .await
            .context("cannot read the brand policy")?;
        let slugs: HashMap<_, _> = policy
            .brands
            .iter()
            .map(|b| (b.id, b.slug.as_str()))
            .collect();
        let list = kind_name(kind);
        if add {
            let mut problems = Vec::new();
            let mut new = Vec::new();
            let mut present = 0usize;
            for block in &blocks {
                match policy.blocks.iter().find(|b| b.block.overlaps(block)) {
                    Some(b) if b.block == *block && b.brand == brand.id && b.kind == kind => {
                        present += 1;
                    }
                    Some(b) => problems.push(format!(
                        "{} overlaps {} on the {} numbers of brand {:?}",
                        block_arg(block),
                        block_arg(&b.block),
                        kind_name(b.kind),
                        slugs.get(&b.brand).copied().unwrap_or_default()
                    )),
                    None => new.push(*block),
                }
            }
            if !problems.is_empty() {
                bail!("{}\nnothing was added", problems.join("\n"));
            }
            if !new.is_empty() {
                store
                    .add_brand_numbers(brand.id, kind, &new)
                    .await
                    .with_context(|| {
                        format!("cannot add to the {list} numbers of brand {:?}", brand.slug)
                    })?;
            }
            print_line(&format!(
                "brand {:?}: added {} blocks ({} numbers) to its {list} numbers{}",
                brand.slug,
                new.len(),
                total(&new),
                if present > 0 {
                    format!("; {present} already there")
                } else {
                    String::new()
                }
            ))?;
        } else {
            let on_list = brand_blocks(&policy, &brand, kind);
            let missing: Vec<String> = blocks
                .iter()
                .filter(|b| !on_list.contains(b))
                .map(block_arg)
                .collect();
            if !missing.is_empty() {
                bail!(
                    "not {list} numbers of brand {:?} exactly as added: {}; nothing was removed \
                     (brand show {} lists them)",
                    brand.slug,
                    missing.join(", "),
                    brand.slug
                );
            }
            let removed = store
                .remove_brand_numbers(brand.id, kind, &blocks)
                .await
                .with_context(|| {
                    format!(
                        "cannot remove from the {list} numbers of brand {:?}",
                        brand.slug
                    )
                })?;
            print_line(&format!(
                "brand {:?}: removed {removed} blocks ({} numbers) from its {list} numbers",
                brand.slug,
                total(&blocks)
            ))?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

// ---------------------------------------------------------------------------------------------
// partners

/// Whether every number of `block` is on the brand's listed numbers (adjacent listed blocks
/// may be spanned).
fn on_listed(listed: &[NumberBlock], block: &NumberBlock) -> bool {
    let mut ranges: Vec<(u64, u64)> = listed
        .iter()
        .filter(|b| b.digits() == block.digits())
        .map(|b| (b.first_value(), b.last_value()))
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (first, last) in ranges {
        match merged.last_mut() {
            Some((_, end)) if first <= end.saturating_add(1) => *end = (*end).max(last),
            _ => merged.push((first, last)),
        }
    }
    merged
        .iter()
        .any(|(first, last)| *first <= block.first_value() && block.last_value() <= *last)
}

/// `in force`, `revoked ...`, `expired ...` or `from ...`.
fn partner_status(p: &Partner, now: i64) -> String {
    match p.standing(now) {
        Standing::InForce => "in force".to_owned(),
        Standing::Revoked(at) => format!("revoked {}", format_time(at)),
        Standing::NotYet(from) => format!("from {}", format_time(from)),
        Standing::Expired(until) => format!("expired {}", format_time(until)),
    }
}

/// The admin API's partner JSON, its status in words with the time.
fn partner_json(p: &Partner, customer: &str, now: i64) -> Value {
    let mut json = server::rest::brands::partner_json(p, customer, now);
    if let Some(map) = json.as_object_mut() {
        map.insert("status".into(), json!(partner_status(p, now)));
    }
    json
}

fn partner_text(p: &Partner, customer: &str, now: i64) -> String {
    format!(
        "partner {} ({customer}): {}; numbers {}; reasons {}; valid {} to {}",
        p.id,
        partner_status(p, now),
        blocks_text(&p.numbers),
        if p.reasons.is_empty() {
            "any".to_owned()
        } else {
            p.reasons.join(", ")
        },
        format_time(p.valid_from),
        p.valid_until
            .map_or_else(|| "open end".to_owned(), format_time)
    )
}

/// `callproof brand partner add`.
pub(crate) fn partner_add(args: &PartnerAddArgs) -> anyhow::Result<ExitCode> {
    let blocks = parse_blocks(&args.numbers)?;
    let at = |arg: &Option<String>, flag: &str| {
        arg.as_deref()
            .map(|s| parse_time(s).map_err(|e| anyhow!("{flag}: {e}")))
            .transpose()
    };
    let valid_from = at(&args.valid_from, "--valid-from")?;
    let valid_until = at(&args.valid_until, "--valid-until")?;
    with_store(args.storage.config.as_deref(), async |store, _| {
        let brand = find_brand(store, &args.slug).await?;
        let customer = find_customer(store, &args.customer).await?;
        if customer.id == brand.customer {
            bail!(
                "customer {:?} owns brand {:?}: it needs no partner authorisation",
                customer.name,
                brand.slug
            );
        }
        let policy = store
            .brand_policy()
            .await
            .context("cannot read the brand policy")?;
        let listed = brand_blocks(&policy, &brand, BrandNumberKind::Listed);
        let mut problems: Vec<String> = blocks
            .iter()
            .filter(|b| !on_listed(&listed, b))
            .map(|b| {
                format!(
                    "{} is not within the listed numbers of brand {:?}",
                    block_arg(b),
                    brand.slug
                )
            })
            .collect();
        for code in &args.reasons {
            if !brand.call_reasons.iter().any(|r| r.code == *code) {
                problems.push(format!(
                    "--reason {:?} is not a call reason code of brand {:?}",
                    clip(code),
                    brand.slug
                ));
            }
        }
        let now = unix_now();
        let valid_from = valid_from.unwrap_or(now);
        if valid_until.is_some_and(|u| u <= valid_from) {
            problems.push("--valid-until must be after --valid-from".to_owned());
        }
        if !problems.is_empty() {
            bail!("{}\nno partner was added", problems.join("\n"));
        }
        let mut reasons: Vec<String> = Vec::new();
        for code in &args.reasons {
            if !reasons.contains(code) {
                reasons.push(code.clone());
            }
        }
        let partner = store
            .create_partner(
                &NewPartner {
                    brand: brand.id,
                    customer: customer.id,
                    numbers: blocks,
                    reasons,
                    valid_from,
                    valid_until,
                },
                now,
            )
            .await
            .with_context(|| format!("cannot add the partner of brand {:?}", brand.slug))?;
        print_line(&format!(
            "brand {:?}: added {}",
            brand.slug,
            partner_text(&partner, &customer.name, now)
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `callproof brand partner revoke`.
pub(crate) fn partner_revoke(args: &PartnerRevokeArgs) -> anyhow::Result<ExitCode> {
    with_store(args.storage.config.as_deref(), async |store, _| {
        let brand = find_brand(store, &args.slug).await?;
        let now = unix_now();
        if !store
            .revoke_partner(brand.id, PartnerId(args.id), now)
            .await
            .context("cannot revoke the partner")?
        {
            bail!("brand {:?} has no partner {} in force", brand.slug, args.id);
        }
        print_line(&format!(
            "brand {:?}: revoked partner {} at {}",
            brand.slug,
            args.id,
            format_time(now)
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `callproof brand partner list`.
pub(crate) fn partner_list(args: &PartnerListArgs) -> anyhow::Result<ExitCode> {
    with_store(args.storage.config.as_deref(), async |store, _| {
        let brand = find_brand(store, &args.slug).await?;
        let partners = store
            .partners(brand.id)
            .await
            .context("cannot read the partners")?;
        let names = customer_names(store).await?;
        let now = unix_now();
        if args.json {
            let list: Vec<Value> = partners
                .iter()
                .map(|p| partner_json(p, &name_of(&names, p.customer), now))
                .collect();
            print_line(&serde_json::to_string_pretty(&json!({ "partners": list }))?)?;
        } else if partners.is_empty() {
            print_line(&format!("brand {:?} has no partners", brand.slug))?;
        } else {
            let lines: Vec<String> = partners
                .iter()
                .map(|p| partner_text(p, &name_of(&names, p.customer), now))
                .collect();
            print_line(&lines.join("\n"))?;
        }
        Ok(ExitCode::SUCCESS)
    })
}

// ---------------------------------------------------------------------------------------------
// events

/// `callproof brand events`.
pub(crate) fn events(args: &BrandEventsArgs) -> anyhow::Result<ExitCode> {
    with_store(args.storage.config.as_deref(), async |store, _| {
        let brand = find_brand(store, &args.slug).await?;
        let events = store
            .brand_events(brand.id, args.before, args.limit)
            .await
            .context("cannot read the events")?;
        let next = (events.len() == args.limit as usize)
            .then(|| events.last().map(|e| e.seq))
            .flatten();
        if args.json {
            let list: Vec<Value> = events
                .iter()
                .map(|e| json!({ "seq": e.seq, "at": e.at, "kind": e.kind, "detail": e.detail }))
                .collect();
            print_line(&serde_json::to_string_pretty(
                &json!({ "events": list, "next": next }),
            )?)?;
            return Ok(ExitCode::SUCCESS);
        }
        if events.is_empty() {
            print_line(&format!("brand {:?} has no events", brand.slug))?;
            return Ok(ExitCode::SUCCESS);
        }
        let mut lines: Vec<String> = events
            .iter()
            .map(|e| format!("{}  {}  {}  {}", e.seq, format_time(e.at), e.kind, e.detail))
            .collect();
        if let Some(seq) = next {
            lines.push(format!("(older: --before {seq})"));
        }
        print_line(&lines.join("\n"))?;
        Ok(ExitCode::SUCCESS)
    })
}

// ---------------------------------------------------------------------------------------------
// Times

/// Unix seconds, or an RFC 3339 time such as `2025-01-31T09:00:00Z` or
/// `2025-01-31T10:00:00.5+01:00` (fractions of a second are dropped).
pub(crate) fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    parse_rfc3339(s).ok_or_else(|| {
        format!(
            "{:?} is neither Unix seconds nor an RFC 3339 time such as 2025-01-31T09:00:00Z",
            clip(s)
        )
    })
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

/// Unix seconds as an RFC 3339 UTC time, e.g. `2025-01-31T09:00:00Z`.
pub(crate) fn format_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_seconds_or_rfc3339() {
        for (text, unix) in [
            ("0", 0),
            ("1700000000", 1_700_000_000),
            ("-5", -5),
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:34:56Z", 951_827_696),
            ("2023-11-14T22:13:20Z", 1_700_000_000),
            ("2023-11-14t22:13:20.999z", 1_700_000_000),
            ("2023-11-14 23:13:20+01:00", 1_700_000_000),
            ("2023-11-14T17:43:20-04:30", 1_700_000_000),
            ("1969-12-31T23:59:59Z", -1),
        ] {
            assert_eq!(parse_time(text), Ok(unix), "{text}");
        }
        for bad in [
            "",
            "soon",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+0100",
            "2023-1-14T22:13:20Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn times_format_as_rfc3339_and_parse_back() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(format_time(-1), "1969-12-31T23:59:59Z");
        for t in [
            -86_401,
            0,
            951_782_400,
            1_700_000_000,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(parse_time(&format_time(t)), Ok(t));
        }
    }

    #[test]
    fn reasons_are_code_text_and_maybe_marketing() {
        assert_eq!(
            parse_reason("fraud-alert:Card fraud alert"),
            Ok(CallReason {
                code: "fraud-alert".into(),
                text: "Card fraud alert".into(),
                marketing: false
            })
        );
        let r = parse_reason("offers:Offers: new cards:marketing").unwrap();
        assert_eq!((r.text.as_str(), r.marketing), ("Offers: new cards", true));
        for bad in [
            "no-text",
            "Bad:Text",
            ":Text",
            "-x:Text",
            "code:",
            "code:   ",
            "code::marketing",
        ] {
            assert!(parse_reason(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse_reason(&format!("c:{}", "x".repeat(65))).is_err());
        assert!(parse_reason(&format!("{}:x", "c".repeat(33))).is_err());
    }

    #[test]
    fn partner_numbers_may_span_adjacent_listed_blocks_but_not_a_gap() {
        let b = |arg: &str| parse_block_arg(arg).unwrap();
        let listed = [
            b("12155550000:100"),
            b("12155550100:50"),
            b("12155550200:10"),
        ];
        assert!(on_listed(&listed, &b("12155550050:100")));
        assert!(on_listed(&listed, &b("12155550205")));
        assert!(!on_listed(&listed, &b("12155550140:20")));
        assert!(!on_listed(&listed, &b("2155550000")));
    }

    #[test]
    fn logo_types_come_from_the_extension_and_must_match_the_bytes() {
        assert_eq!(logo_type(Path::new("a/Logo.PNG")).unwrap(), "image/png");
        assert_eq!(logo_type(Path::new("l.jpg")).unwrap(), "image/jpeg");
        assert_eq!(logo_type(Path::new("l.svg")).unwrap(), "image/svg+xml");
        assert!(logo_type(Path::new("l.gif")).is_err());
        assert!(logo_type(Path::new("logo")).is_err());
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\n...."));
        assert!(!looks_like("image/png", b"GIF89a"));
        assert!(looks_like("image/webp", b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(looks_like(
            "image/svg+xml",
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"
        ));
        assert!(!looks_like("image/svg+xml", b"<html></html>"));
    }
}
