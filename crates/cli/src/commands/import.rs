//! `callproof import numbers FILE.csv`: gives number blocks to customers, straight into the
//! configured storage (running nodes see the change within their poll period).
//!
//! The whole file is checked before anything is written: every row parses, no two rows
//! overlap, no row overlaps numbers someone else owns, every customer exists (or
//! `--create-customers`). Then each customer's blocks go in one all-or-none call. A row
//! identical to a block the customer owns already is skipped, so an import can be re-run.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use passport::TelephoneNumber;
use server::config::{Config, StorageKind};
use store::{Customer, CustomerId, Inventory, NumberBlock, Store};

use crate::args::ImportNumbersArgs;

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
    fn into_result<T>(self, origin: &str, value: T) -> anyhow::Result<T> {
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

pub(crate) fn run(args: &ImportNumbersArgs) -> anyhow::Result<ExitCode> {
    let origin = if args.file.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        args.file.display().to_string()
    };
    let text = read_input(&args.file)?;
    let (rows, problems) = parse_csv(&text);
    let rows = problems.into_result(&origin, rows)?;
    let config = Config::load(args.config.as_deref(), std::env::vars()).context("configuration")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    runtime.block_on(async {
        if config.storage.kind == StorageKind::Sqlite
            && let Some(dir) = config
                .sqlite_path()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let store = server::node::open_store(&config)
            .await
            .context("cannot open the storage")?;
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
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.trim();
        let content = if line == 1 {
            content.trim_start_matches('\u{feff}')
        } else {
            content
        };
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let fields = match split_fields(content) {
            Ok(f) => f,
            Err(why) => {
                problems.push(line, why);
                continue;
            }
        };
        let is_first = std::mem::replace(&mut first, false);
        if is_first && is_header(&fields) {
            continue;
        }
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

fn is_header(fields: &[String]) -> bool {
    let names = ["customer", "number", "count"];
    fields.len() >= 2
        && fields.len() <= 3
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
    let tn = TelephoneNumber::parse(number).map_err(|e| format!("number {number:?}: {e}"))?;
    let count = match count.map(|c| c.as_str()) {
        None | Some("") => 1,
        Some(c) => c
            .parse::<u64>()
            .map_err(|_| format!("count {c:?} is not a positive whole number"))?,
    };
    let block = NumberBlock::new(tn, count).map_err(|e| e.to_string())?;
    Ok((customer.clone(), block))
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
