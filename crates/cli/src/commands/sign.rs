//! `callproof sign`: Identity header value(s) for a call.

use std::process::ExitCode;

use anyhow::Context as _;
use passport::TelephoneNumber;
use passport::claims::{Claims, Rcd};
use passport::key::SigningKey;
use passport::rcd::{DigestAlg, integrity_digest};
use passport::sign::Signer;

use crate::args::SignArgs;
use crate::files::{read, read_private_key};

pub(crate) fn run(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let pem = read_private_key(&args.key)?;
    let key = SigningKey::from_pem(&pem)
        .with_context(|| format!("{} is not a usable key", args.key.display()))?;
    let signer = Signer::new(key, &args.x5u).context("--x5u")?;
    let orig = TelephoneNumber::parse(&args.orig).context("--orig")?;
    let dest = args
        .dest
        .iter()
        .map(|d| TelephoneNumber::parse(d).with_context(|| format!("--dest {d:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let origid = match &args.origid {
        Some(id) => uuid::Uuid::parse_str(id)
            .with_context(|| format!("--origid {id:?} is not a UUID"))?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let iat = args.iat.unwrap_or_else(super::unix_now);
    let mut claims = Claims::shaken(iat, orig, dest, args.attest, origid);
    if args.rcd_name.is_some() || args.rcd_logo.is_some() {
        if let Some(logo) = &args.rcd_logo {
            passport::sign::check_x5u(logo).context("--rcd-logo")?;
        }
        claims.rcd = Some(Rcd {
            nam: args.rcd_name.clone(),
            icn: args.rcd_logo.clone(),
            ..Rcd::default()
        });
        if let Some(file) = &args.rcd_logo_file {
            let bytes = read(file)?;
            let digest = integrity_digest(DigestAlg::Sha256, &bytes);
            claims.rcdi = Some([("/icn".to_owned(), digest)].into_iter().collect());
        }
    }
    claims.crn = args.rcd_reason.clone();
    let header = signer.sign_identity(&claims).context("cannot sign")?;
    super::print_line(&header)?;
    Ok(ExitCode::SUCCESS)
}
