//! `callproof decode`: show a PASSporT without verifying it.

use std::process::ExitCode;

use anyhow::Context as _;
use passport::identity::{IdentityHeader, Token};
use passport::jws;
use serde_json::{Map, Value, json};

use crate::args::DecodeArgs;

pub(crate) fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let value = args.value.trim();
    let header = IdentityHeader::parse(value).context("not a PASSporT or Identity header")?;
    let mut out = Map::new();
    let mut params = Map::new();
    if let Some(info) = header.info {
        params.insert("info".into(), json!(info));
    }
    if let Some(alg) = &header.alg {
        params.insert("alg".into(), json!(alg));
    }
    if let Some(ppt) = &header.ppt {
        params.insert("ppt".into(), json!(ppt));
    }
    for (name, v) in &header.extensions {
        params.insert((*name).to_owned(), json!(v));
    }
    match header.token {
        Token::Full(token) => {
            let (h, c) =
                jws::decode_unverified_json(token).context("cannot decode the PASSporT")?;
            out.insert("header".into(), h);
            out.insert("claims".into(), c);
            out.insert(
                "signature".into(),
                json!(token.rsplit('.').next().unwrap_or_default()),
            );
        }
        Token::Compact { signature } => {
            out.insert("compact".into(), json!(true));
            out.insert("signature".into(), json!(signature));
        }
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Object(params));
    }
    out.insert("verified".into(), json!(false));
    super::print_line(&serde_json::to_string_pretty(&Value::Object(out))?)?;
    Ok(ExitCode::SUCCESS)
}
