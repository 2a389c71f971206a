//! `callproof import numbers|dno|opt-outs FILE.csv`: customers' number blocks, the national
//! Do-Not-Originate list and a brand's opt-outs, straight into the configured storage
//! (running nodes see the change within their poll period).
//!
//! The whole file is checked before anything is written, and every problem is reported with
//! its line number. `numbers`: no two rows overlap, no row overlaps numbers someone else
//! owns, every customer exists (or `--create-customers`); then each customer's blocks go in
//! one all-or-none call, and a row identical to a block the customer owns already is
//! skipped, so an import can be re-run. `dno`: duplicate, overlapping and adjacent rows are
//! merged, then the list is replaced in one step. `opt-outs`: one transaction.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use passport::TelephoneNumber;
use store::{Customer, CustomerId, Inventory, NumberBlock, Store};

use crate::args::{ImportDnoArgs, ImportNumbersArgs, ImportOptOutsArgs};

/// Errors printed before the rest are only counted.
const MAX_ERRORS_SHOWN: usize = 50;

/// One data row of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// 1-based line number.
    pub(crate) line: usize,
    pub(crate) customer: String,
    pub(crate) block: NumberBlock,
}

/// Errors found in a file, each naming its line.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, line: usize, message: impl std::fmt::Display) {
        self.0.push(format!("line {line}: {message}"));
    }

    /// `value` when nothing was found, else an error listing the problems.
    pub(crate) fn into_result<T>(self, origin: &str, value: T) -> anyhow::Result<T> {
        let count = self.0.len();
        if count == 0 {
            return Ok(value);
        }
        let mut text: Vec<String> = self
            .0
            .into_iter()
            .take(MAX_ERRORS_SHOWN)
            .map(|e| format!("  {origin}: {e}"))
            .collect();
        if count > MAX_ERRORS_SHOWN {
            text.push(format!("  ... and {} more", count - MAX_ERRORS_SHOWN));
        }
        bail!(
            "{count} problem{} in {origin}; nothing was imported:\n{}",
            if count == 1 { "" } else { "s" },
            text.join("\n")
        )
    }
}

/// `callproof import numbers`.
pub(crate) fn run(args: &ImportNumbersArgs) -> anyhow::Result<ExitCode> {
    let origin = origin(&args.file);
    let text = read_input(&args.file)?;
    let (rows, problems) = parse_csv(&text);
    let rows = problems.into_result(&origin, rows)?;
    let config = super::load_config(args.config.as_deref())?;
    super::runtime()?.block_on(async {
        let store = super::open_store(&config).await?;
        let inventory = store
            .inventory()
            .await
            .context("cannot read the inventory")?;
        let (plan, problems) = plan(&rows, &inventory, args.create_customers);
        let plan = problems.into_result(&origin, plan)?;
        if args.dry_run {
            for line in plan.describe() {
                super::print_line(&format!("would import {line}"))?;
            }
            super::print_line("dry run: nothing was written")?;
            return Ok(ExitCode::SUCCESS);
        }
        execute(store.as_ref(), &plan).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// How a file is named in messages.
fn origin(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

// ---------------------------------------------------------------------------------------------
// The file

/// Parses `customer,number[,count]` rows: blank lines and `#` comments are skipped, a first
/// row `customer,number[,count]` is a header, fields may be "quoted" (with "" for a quote).
/// Also finds rows that overlap each other.
pub(crate) fn parse_csv(text: &str) -> (Vec<Row>, Problems) {
    let mut rows = Vec::new();
    let mut problems = Problems::default();
    for (line, fields) in csv_lines(text, &["customer", "number", "count"], 2) {
        let fields = match fields {
            Ok(f) => f,
            Err(why) => {
                problems.push(line, why);
                continue;
            }
        };
        match parse_row(&fields) {
            Ok((customer, block)) => rows.push(Row {
                line,
                customer,
                block,
            }),
            Err(why) => problems.push(line, why),
        }
    }
    // Rows that overlap each other: in (digits, first) order, a row overlaps the row before
    // it that reaches furthest, if any does.
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| (r.block.digits(), r.block.first_value(), r.line));
    let mut reach: Option<&Row> = None;
    for row in sorted {
        if let Some(prev) = reach
            && prev.block.overlaps(&row.block)
        {
            let (a, b) = if prev.line < row.line {
                (prev, row)
            } else {
                (row, prev)
            };
            problems.push(
                b.line,
                format!("{} overlaps {} on line {}", b.block, a.block, a.line),
            );
        }
        if reach.is_none_or(|p| {
            p.block.digits() != row.block.digits() || row.block.last_value() > p.block.last_value()
        }) {
            reach = Some(row);
        }
    }
    problems.0.sort_by_key(|p| line_of(p));
    (rows, problems)
}

fn line_of(problem: &str) -> usize {
    problem
        .strip_prefix("line ")
        .and_then(|p| p.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The data rows of a CSV file: each with its 1-based line number, split into trimmed fields.
/// Blank lines and lines starting with `#` are skipped, and so is a byte-order mark; a first
/// row naming the first `min_header..=names.len()` of `names` (any case) is a header.
fn csv_lines<'a>(
    text: &'a str,
    names: &'a [&'a str],
    min_header: usize,
) -> impl Iterator<Item = (usize, Result<Vec<String>, String>)> + 'a {
    let mut first = true;
    text.lines().enumerate().filter_map(move |(i, raw)| {
        let line = i + 1;
        let content = raw.trim();
        let content = if line == 1 {
            content.trim_start_matches('\u{feff}').trim_start()
        } else {
            content
        };
        if content.is_empty() || content.starts_with('#') {
            return None;
        }
        let fields = split_fields(content);
        let is_first = std::mem::replace(&mut first, false);
        if is_first
            && fields
                .as_ref()
                .is_ok_and(|f| is_header(f, names, min_header))
        {
            return None;
        }
        Some((line, fields))
    })
}

fn is_header(fields: &[String], names: &[&str], min: usize) -> bool {
    fields.len() >= min
        && fields.len() <= names.len()
        && fields
            .iter()
            .zip(names)
            .all(|(f, n)| f.eq_ignore_ascii_case(n))
}

/// Splits one line into trimmed fields, honouring "quoted" fields.
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err("a quoted field is not closed".into()),
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            if chars.peek().is_some_and(|c| *c != ',') {
                return Err("unexpected text after a quoted field".into());
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                if c == '"' {
                    return Err("a quote inside an unquoted field".into());
                }
                field.push(c);
            }
            field = field.trim_end().to_owned();
        }
        fields.push(field);
        if chars.next().is_none() {
            return Ok(fields);
        }
    }
}

fn parse_row(fields: &[String]) -> Result<(String, NumberBlock), String> {
    let (customer, number, count) = match fields {
        [c, n] => (c, n, None),
        [c, n, k] => (c, n, Some(k)),
        _ => {
            return Err(format!(
                "expected customer,number[,count], found {} field{}",
                fields.len(),
                if fields.len() == 1 { "" } else { "s" }
            ));
        }
    };
    if let Some(why) = server::rest::admin::name_error(customer) {
        return Err(format!("customer name {why}"));
    }
    let block = parse_block(number, count.map(String::as_str))?;
    Ok((customer.clone(), block))
}

/// A block from a number and an optional count (empty: 1), as the import files write them.
pub(crate) fn parse_block(number: &str, count: Option<&str>) -> Result<NumberBlock, String> {
    let tn = TelephoneNumber::parse(number).map_err(|e| format!("number {number:?}: {e}"))?;
    let count = match count.map(str::trim) {
        None | Some("") => 1,
        Some(c) => c
            .parse::<u64>()
            .map_err(|_| format!("count {c:?} is not a positive whole number"))?,
    };
    NumberBlock::new(tn, count).map_err(|e| e.to_string())
}

/// A block written `NUMBER[:COUNT]` on a command line, e.g. `+12155550000:100`.
pub(crate) fn parse_block_arg(arg: &str) -> Result<NumberBlock, String> {
    match arg.split_once(':') {
        Some((number, count)) => parse_block(number, Some(count)),
        None => parse_block(arg, None),
    }
}

/// A block as the commands that take blocks accept it back: `NUMBER[:COUNT]`.
pub(crate) fn block_arg(block: &NumberBlock) -> String {
    if block.count() == 1 {
        block.start().as_str().to_owned()
    } else {
        format!("{}:{}", block.start(), block.count())
    }
}

// ---------------------------------------------------------------------------------------------
// Against the inventory

/// What one customer gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomerPlan {
    pub(crate) name: String,
    /// `None`: to be created.
    pub(crate) existing: Option<Customer>,
    pub(crate) add: Vec<NumberBlock>,
    /// Rows identical to blocks the customer owns already.
    pub(crate) present: usize,
}

/// Customers in the order the file names them first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan(pub(crate) Vec<CustomerPlan>);

impl Plan {
    fn describe(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|c| {
                format!(
                    "{:?}{}: {} block{} ({} numbers){}",
                    c.name,
                    if c.existing.is_none() {
                        " (new customer)"
                    } else {
                        ""
                    },
                    c.add.len(),
                    if c.add.len() == 1 { "" } else { "s" },
                    c.add.iter().map(NumberBlock::count).sum::<u64>(),
                    if c.present > 0 {
                        format!(", {} already present", c.present)
                    } else {
                        String::new()
                    }
                )
            })
            .collect()
    }
}

/// Checks rows against the inventory: customers exist (or may be created), and no row
/// overlaps a block owned already, unless it is that very block of the same customer.
pub(crate) fn plan(rows: &[Row], inventory: &Inventory, create: bool) -> (Plan, Problems) {
    let mut problems = Problems::default();
    let by_name: HashMap<&str, &Customer> = inventory
        .customers
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let names: HashMap<CustomerId, &str> = inventory
        .customers
        .iter()
        .map(|c| (c.id, c.name.as_str()))
        .collect();
    // Owned blocks are disjoint: per length, sorted by first number.
    let mut owned: HashMap<usize, Vec<(u64, &store::OwnedBlock)>> = HashMap::new();
    for o in &inventory.blocks {
        owned
            .entry(o.block.digits())
            .or_default()
            .push((o.block.first_value(), o));
    }
    for list in owned.values_mut() {
        list.sort_unstable_by_key(|(first, _)| *first);
    }
    let mut plans: Vec<CustomerPlan> = Vec::new();
    for row in rows {
        let existing = by_name.get(row.customer.as_str()).copied();
        let index = match plans.iter().position(|p| p.name == row.customer) {
            Some(i) => i,
            None => {
                if existing.is_none() && !create {
                    problems.push(
                        row.line,
                        format!(
                            "customer {:?} does not exist (--create-customers creates it)",
                            row.customer
                        ),
                    );
                }
                plans.push(CustomerPlan {
                    name: row.customer.clone(),
                    existing: existing.cloned(),
                    add: Vec::new(),
                    present: 0,
                });
                plans.len() - 1
            }
        };
        // The owned block with the greatest first number at or below this row's last is the
        // only one that can overlap it.
        let hit = owned.get(&row.block.digits()).and_then(|list| {
            let at = list.partition_point(|(first, _)| *first <= row.block.last_value());
            at.checked_sub(1).and_then(|i| list.get(i)).map(|(_, o)| *o)
        });
        let Some(plan) = plans.get_mut(index) else {
            continue;
        };
        match hit {
            Some(o) if o.block.overlaps(&row.block) => {
                if o.block == row.block && existing.is_some_and(|c| c.id == o.customer) {
                    plan.present += 1;
                } else {
                    let owner = names
                        .get(&o.customer)
                        .map_or_else(|| o.customer.to_string(), |n| format!("{n:?}"));
                    problems.push(
                        row.line,
                        format!(
                            "{} overlaps {} owned by customer {owner}",
                            row.block, o.block
                        ),
                    );
                }
            }
            _ => plan.add.push(row.block),
        }
    }
    problems.0.sort_by_key(|p| line_of(p));
    (Plan(plans), problems)
}

/// Creates customers and adds each one's blocks in one all-or-none call, printing as it goes.
async fn execute(store: &dyn Store, plan: &Plan) -> anyhow::Result<()> {
    let (mut blocks, mut numbers, mut created, mut present) = (0usize, 0u64, 0usize, 0usize);
    for (done, c) in plan.0.iter().enumerate() {
        let result = async {
            let customer = match &c.existing {
                Some(customer) => customer.clone(),
                None => store
                    .create_customer(&c.name, None)
                    .await
                    .with_context(|| format!("cannot create customer {:?}", c.name))?,
            };
            if !c.add.is_empty() {
                store
                    .add_numbers(customer.id, &c.add)
                    .await
                    .with_context(|| format!("cannot add the numbers of {:?}", c.name))?;
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = result {
            let rest: Vec<String> = plan
                .0
                .iter()
                .skip(done)
                .map(|c| format!("{:?}", c.name))
                .collect();
            return Err(e.context(format!(
                "imported {blocks} blocks for {done} customers; nothing for {}",
                rest.join(", ")
            )));
        }
        let added: u64 = c.add.iter().map(NumberBlock::count).sum();
        super::print_line(&format!(
            "{:?}{}: {} block{} added ({added} numbers){}",
            c.name,
            if c.existing.is_none() {
                " (created)"
            } else {
                ""
            },
            c.add.len(),
            if c.add.len() == 1 { "" } else { "s" },
            if c.present > 0 {
                format!(", {} already present", c.present)
            } else {
                String::new()
            }
        ))?;
        blocks += c.add.len();
        numbers += added;
        created += usize::from(c.existing.is_none());
        present += c.present;
    }
    super::print_line(&format!(
        "imported {blocks} blocks ({numbers} numbers) for {} customers ({created} created); {present} rows already present",
        plan.0.len()
    ))
}

// ---------------------------------------------------------------------------------------------
// The national Do-Not-Originate list

/// `callproof import dno`: replaces the national Do-Not-Originate list with the file's
/// numbers, duplicates, overlaps and neighbours merged.
pub(crate) fn dno(args: &ImportDnoArgs) -> anyhow::Result<ExitCode> {
    let origin = origin(&args.file);
    let text = read_input(&args.file)?;
    let (rows, problems) = parse_dno(&text);
    let rows = problems.into_result(&origin, rows)?;
    if rows.is_empty() && !args.allow_empty {
        bail!(
            "{origin} holds no numbers; nothing was imported (--allow-empty empties the \
             Do-Not-Originate list)"
        );
    }
    let merged = merge_blocks(rows.iter().map(|(_, b)| *b))?;
    let config = super::load_config(args.config.as_deref())?;
    super::runtime()?.block_on(async {
        let store = super::open_store(&config).await?;
        let before = store
            .brand_policy()
            .await
            .context("cannot read the Do-Not-Originate list")?
            .dno;
        let stored = store
            .replace_dno(&merged)
            .await
            .context("cannot replace the Do-Not-Originate list")?;
        super::print_line(&format!(
            "replaced the Do-Not-Originate list ({} blocks, {} numbers) with {stored} blocks \
             ({} numbers) from {} rows; {} duplicate, overlapping or adjacent rows merged",
            before.len(),
            total(&before),
            total(&merged),
            rows.len(),
            rows.len().saturating_sub(merged.len()),
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

fn total(blocks: &[NumberBlock]) -> u64 {
    blocks.iter().map(NumberBlock::count).sum()
}

/// Parses `number[,count]` rows (or `number:count`): a first row `number[,count]` is a
/// header, blank lines and `#` comments are skipped.
pub(crate) fn parse_dno(text: &str) -> (Vec<(usize, NumberBlock)>, Problems) {
    let mut rows = Vec::new();
    let mut problems = Problems::default();
    for (line, fields) in csv_lines(text, &["number", "count"], 1) {
        let parsed = fields.and_then(|fields| match fields.as_slice() {
            [number] => parse_block_arg(number),
            [number, count] => parse_block(number, Some(count)),
            _ => Err(format!(
                "expected number[,count], found {} fields",
                fields.len()
            )),
        });
        match parsed {
            Ok(block) => rows.push((line, block)),
            Err(why) => problems.push(line, why),
        }
    }
    (rows, problems)
}

/// The same numbers in the fewest blocks: duplicates, overlapping and adjacent blocks are
/// merged; by number length, then first number.
pub(crate) fn merge_blocks(
    blocks: impl IntoIterator<Item = NumberBlock>,
) -> anyhow::Result<Vec<NumberBlock>> {
    let mut sorted: Vec<NumberBlock> = blocks.into_iter().collect();
    sorted.sort_unstable_by_key(|b| (b.digits(), b.first_value(), b.last_value()));
    // Runs of (start, digits, first, last).
    let mut runs: Vec<(TelephoneNumber, usize, u64, u64)> = Vec::new();
    for b in sorted {
        match runs.last_mut() {
            Some((_, digits, _, last))
                if *digits == b.digits() && b.first_value() <= last.saturating_add(1) =>
            {
                *last = (*last).max(b.last_value());
            }
            _ => runs.push((b.start(), b.digits(), b.first_value(), b.last_value())),
        }
    }
    runs.into_iter()
        .map(|(start, _, first, last)| {
            NumberBlock::new(start, last - first + 1)
                .with_context(|| format!("cannot merge blocks from {start}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A brand's opt-outs

/// `callproof import opt-outs`: opts the file's numbers out of (or back into) a brand's
/// marketing calls, in one transaction.
pub(crate) fn opt_outs(args: &ImportOptOutsArgs) -> anyhow::Result<ExitCode> {
    let origin = origin(&args.file);
    let text = read_input(&args.file)?;
    let (rows, problems) = parse_opt_outs(&text);
    let rows = problems.into_result(&origin, rows)?;
    if rows.is_empty() {
        bail!("{origin} holds no numbers; nothing was imported");
    }
    let numbers: Vec<TelephoneNumber> = rows.iter().map(|(_, tn)| *tn).collect();
    let distinct = {
        let mut d = numbers.clone();
        d.sort_unstable();
        d.dedup();
        d.len()
    };
    let source = opt_out_source(&args.file);
    let opted_out = !args.opt_in;
    let config = super::load_config(args.config.as_deref())?;
    super::runtime()?.block_on(async {
        let store = super::open_store(&config).await?;
        let brand = super::brand::find_brand(store.as_ref(), &args.brand).await?;
        let changed = store
            .set_opt_outs(brand.id, &numbers, opted_out, &source, super::unix_now())
            .await
            .with_context(|| format!("cannot record the opt-outs of brand {:?}", brand.slug))?;
        super::print_line(&format!(
            "brand {:?}: {changed} of {distinct} numbers {} its marketing calls ({} rows, \
             source {source:?})",
            brand.slug,
            if opted_out {
                "opted out of"
            } else {
                "opted back into"
            },
            rows.len(),
        ))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Parses one number per row: a first row `number` is a header, blank lines and `#`
/// comments are skipped.
pub(crate) fn parse_opt_outs(text: &str) -> (Vec<(usize, TelephoneNumber)>, Problems) {
    let mut rows = Vec::new();
    let mut problems = Problems::default();
    for (line, fields) in csv_lines(text, &["number"], 1) {
        let parsed = fields.and_then(|fields| match fields.as_slice() {
            [number] => {
                TelephoneNumber::parse(number).map_err(|e| format!("number {number:?}: {e}"))
            }
            _ => Err(format!(
                "expected one number, found {} fields",
                fields.len()
            )),
        });
        match parsed {
            Ok(tn) => rows.push((line, tn)),
            Err(why) => problems.push(line, why),
        }
    }
    (rows, problems)
}

/// `import:<file name>`, printable and at most 100 characters (as the API asks of a source).
fn opt_out_source(path: &Path) -> String {
    let name = if path.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(100 - "import:".len())
        .collect();
    format!("import:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<(usize, String, String)>, Vec<String>> {
        let (rows, problems) = parse_csv(text);
        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        Ok(rows
            .into_iter()
            .map(|r| (r.line, r.customer, r.block.to_string()))
            .collect())
    }

    #[test]
    fn rows_headers_comments_and_quotes() {
        let text = "\u{feff}Customer,Number,Count\r\n\
                    # the Acme ranges\n\
                    \n\
                    Acme, +1 215 555 0000 ,100\n\
                    \"Bravo, Inc.\",12155551212\n\
                    \"Say \"\"hi\"\"\",442071234567,\n";
        assert_eq!(
            rows(text).unwrap(),
            vec![
                (4, "Acme".into(), "12155550000+100".into()),
                (5, "Bravo, Inc.".into(), "12155551212".into()),
                (6, "Say \"hi\"".into(), "442071234567".into()),
            ]
        );
        // Without a header the first row is data.
        assert_eq!(
            rows("Acme,1\n").unwrap(),
            vec![(1, "Acme".into(), "1".into())]
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_numbers() {
        let text = "customer,number,count\n\
                    Acme,12155550000,100\n\
                    Acme\n\
                    ,12155559999\n\
                    Acme,12a\n\
                    Acme,1215*,1\n\
                    Acme,99,5\n\
                    Acme,13125550000,-1\n\
                    \"Acme,1\n\
                    Acme,12155550099\n\
                    Acme,1,2,3\n";
        let errors = rows(text).unwrap_err();
        let expected = [
            "line 3: expected customer,number[,count], found 1 field",
            "line 4: customer name must be 1 to",
            "line 5: number \"12a\"",
            "line 6: number 1215* is not all digits",
            "line 7: a block of 5 numbers from 99 does not fit",
            "line 8: count \"-1\" is not a positive whole number",
            "line 9: a quoted field is not closed",
            "line 10: 12155550099 overlaps 12155550000+100 on line 2",
            "line 11: expected customer,number[,count], found 4 fields",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (got, want) in errors.iter().zip(expected) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
    }

    #[test]
    fn a_row_inside_a_larger_earlier_row_is_an_overlap() {
        let errors = rows("a,100,50\na,110,1\na,120,1\nb,200,1\n").unwrap_err();
        assert_eq!(
            errors,
            vec![
                "line 2: 110 overlaps 100+50 on line 1",
                "line 3: 120 overlaps 100+50 on line 1",
            ]
        );
        // Same digits in other lengths do not overlap.
        assert!(rows("a,100,50\na,1100,1\n").is_ok());
    }

    fn inventory() -> Inventory {
        let c = |id, name: &str| Customer {
            id: CustomerId(id),
            name: name.into(),
            origid: String::new(),
        };
        Inventory {
            version: 1,
            customers: vec![c(1, "Acme"), c(2, "Bravo")],
            trunks: vec![],
            blocks: vec![store::OwnedBlock {
                customer: CustomerId(1),
                block: NumberBlock::new(TelephoneNumber::parse("12155550000").unwrap(), 100)
                    .unwrap(),
            }],
            api_keys: vec![],
        }
    }

    fn planned(text: &str, create: bool) -> (Plan, Vec<String>) {
        let (rows, p) = parse_csv(text);
        assert!(p.0.is_empty(), "{:?}", p.0);
        let (plan, problems) = plan(&rows, &inventory(), create);
        (plan, problems.0)
    }

    #[test]
    fn plans_skip_what_is_owned_already_and_need_customers_to_exist() {
        let text = "Acme,12155550000,100\nNew,13125550000,10\nAcme,13125551000\nGhost,1\n";
        let (_, problems) = planned(text, false);
        assert_eq!(
            problems,
            vec![
                "line 2: customer \"New\" does not exist (--create-customers creates it)",
                "line 4: customer \"Ghost\" does not exist (--create-customers creates it)",
            ]
        );
        let (plan, problems) = planned(text, true);
        assert!(problems.is_empty(), "{problems:?}");
        let acme = &plan.0[0];
        assert_eq!(
            (acme.name.as_str(), acme.present, acme.add.len()),
            ("Acme", 1, 1)
        );
        assert!(plan.0[1].existing.is_none());
        assert_eq!(
            plan.describe()[0],
            "\"Acme\": 1 block (1 numbers), 1 already present"
        );
    }

    fn dno(text: &str) -> Result<Vec<String>, Vec<String>> {
        let (rows, problems) = parse_dno(text);
        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        Ok(merge_blocks(rows.into_iter().map(|(_, b)| b))
            .unwrap()
            .iter()
            .map(block_arg)
            .collect())
    }

    #[test]
    fn dno_rows_are_merged_when_they_repeat_overlap_or_touch() {
        let text = "Number,Count\n\
                    # toll-free\n\
                    18005550000,100\n\
                    +1 800 555 0050\n\
                    18005550000,100\n\
                    18005550100:10\n\
                    18005550200\n\
                    8005550100\n";
        assert_eq!(
            dno(text).unwrap(),
            vec!["8005550100", "18005550000:110", "18005550200"]
        );
        assert_eq!(dno("").unwrap(), Vec::<String>::new());
        // A header alone, or a one-field header.
        assert_eq!(dno("number\n1\n").unwrap(), vec!["1"]);
    }

    #[test]
    fn dno_bad_rows_are_reported_with_their_line_numbers() {
        let errors = dno("12155550000\n1215x\n12155550000,0\n1,2,3\n1:-4\n").unwrap_err();
        let expected = [
            "line 2: number \"1215x\"",
            "line 3: a block of 0 numbers from 12155550000",
            "line 4: expected number[,count], found 3 fields",
            "line 5: count \"-4\" is not a positive whole number",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (got, want) in errors.iter().zip(expected) {
            assert!(got.starts_with(want), "{got:?} should start with {want:?}");
        }
    }

    #[test]
    fn opt_out_rows_are_single_numbers() {
        let (rows, problems) = parse_opt_outs("number\n+1 215 555 1212\n12155551212\n\n12,3\n");
        assert_eq!(
            problems.0,
            vec!["line 5: expected one number, found 2 fields"]
        );
        let rows: Vec<(usize, &str)> = rows.iter().map(|(l, t)| (*l, t.as_str())).collect();
        assert_eq!(rows, vec![(2, "12155551212"), (3, "12155551212")]);
    }

    #[test]
    fn opt_out_source_names_the_file() {
        assert_eq!(
            opt_out_source(Path::new("/tmp/x/opt-outs.csv")),
            "import:opt-outs.csv"
        );
        assert_eq!(opt_out_source(Path::new("-")), "import:stdin");
        let long = "a".repeat(300);
        assert_eq!(opt_out_source(Path::new(&long)).chars().count(), 100);
    }

    #[test]
    fn block_args_round_trip() {
        for (arg, shown) in [
            ("+12155550000:100", "12155550000:100"),
            ("+1 215 555 1212", "12155551212"),
            ("12155551212:1", "12155551212"),
        ] {
            assert_eq!(block_arg(&parse_block_arg(arg).unwrap()), shown);
        }
        assert!(parse_block_arg("12155550000:").is_ok());
        assert!(parse_block_arg("12155550000:x").is_err());
        assert!(parse_block_arg("").is_err());
    }

    #[test]
    fn plans_refuse_numbers_owned_by_another_customer_or_owned_differently() {
        let (_, problems) = planned("Bravo,12155550050\nAcme,12155550000,10\nBravo,1\n", false);
        assert_eq!(
            problems,
            vec![
                "line 1: 12155550050 overlaps 12155550000+100 owned by customer \"Acme\"",
                "line 2: 12155550000+10 overlaps 12155550000+100 owned by customer \"Acme\"",
            ]
        );
    }
}
