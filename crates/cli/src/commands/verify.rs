//! `callproof verify`: the ATIS verificationResponse for Identity header(s).

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use engine::atis::VerificationResponse;
use engine::verifier::{IdentityOutcome, Verifier, VerifierConfig};
use engine::x5u::FetchOptions;
use passport::TelephoneNumber;
use passport::verify::{CallContext, Policy};
use pki::{Crl, TrustAnchors};
use serde_json::{Map, Value, json};

use crate::EXIT_NOT_VERIFIED;
use crate::args::VerifyArgs;
use crate::files::read;

pub(crate) fn run(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let from = TelephoneNumber::parse(&args.from).context("--from")?;
    let to = args
        .to
        .iter()
        .map(|t| TelephoneNumber::parse(t).with_context(|| format!("--to {t:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.max_age <= 0 {
        bail!("--max-age must be positive");
    }
    let config = VerifierConfig {
        policy: Policy {
            max_age_secs: args.max_age,
            max_future_secs: args.max_age,
            danger_allow_http_info: args.danger_allow_http_x5u,
        },
        anchors: load_anchors(&args.trust_anchors)?,
        crls: args
            .crls
            .iter()
            .map(|p| {
                let bytes = read(p)?;
                Crl::from_pem(&bytes)
                    .or_else(|_| Crl::from_der(&bytes))
                    .with_context(|| format!("{} is not a CRL", p.display()))
            })
            .collect::<anyhow::Result<_>>()?,
        fetch: FetchOptions {
            extra_tls_roots_pem: args
                .x5u_tls_ca
                .iter()
                .map(|p| read(p))
                .collect::<anyhow::Result<_>>()?,
            danger_allow_http: args.danger_allow_http_x5u,
            danger_allow_private: args.danger_allow_private_x5u,
            ..FetchOptions::default()
        },
        local_certificates: local_certificates(&args.certs)?,
    };
    let verifier = Verifier::new(config).context("cannot set up certificate fetching")?;
    let call = CallContext {
        from,
        to,
        now: args.at.unwrap_or_else(super::unix_now),
        request_time: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let outcomes = runtime.block_on(verifier.verify_all(&args.identity, &call));
    let first_failure = outcomes.iter().find_map(|o| o.result.as_ref().err());
    let response =
        first_failure.map_or_else(VerificationResponse::passed, VerificationResponse::failed);
    let out = Output {
        verification_response: response,
        detail: args
            .detail
            .then(|| json!({ "identities": outcomes.iter().map(detail).collect::<Vec<_>>() })),
    };
    super::print_line(&serde_json::to_string(&out)?)?;
    Ok(if first_failure.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_NOT_VERIFIED)
    })
}

/// What `verify` prints: the ATIS envelope, plus `detail` when asked for.
#[derive(serde::Serialize)]
struct Output {
    #[serde(rename = "verificationResponse")]
    verification_response: VerificationResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<Value>,
}

fn load_anchors(path: &std::path::Path) -> anyhow::Result<TrustAnchors> {
    let anchors = if path.is_dir() {
        TrustAnchors::from_dir(path)
    } else {
        TrustAnchors::from_pem_bundle(&read(path)?)
    };
    anchors.with_context(|| format!("cannot load trust anchors from {}", path.display()))
}

fn local_certificates(specs: &[String]) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    let mut map = HashMap::new();
    for spec in specs {
        // The URL itself contains ':' and may contain '='; split at the last '='.
        let Some((url, file)) = spec.rsplit_once('=') else {
            bail!("--cert {spec:?} is not URL=FILE");
        };
        map.insert(url.to_owned(), read(std::path::Path::new(file))?);
    }
    Ok(map)
}

fn detail(outcome: &IdentityOutcome) -> Value {
    let mut d = Map::new();
    match &outcome.result {
        Ok(verified) => {
            let claims = verified.claims();
            d.insert("verstat".into(), json!(passport::Verstat::Passed.as_str()));
            d.insert("ppt".into(), json!(verified.ppt().as_str()));
            d.insert("attest".into(), json!(claims.attest.map(|a| a.as_str())));
            d.insert("origid".into(), json!(claims.origid));
            d.insert("iat".into(), json!(claims.iat));
            if let Some(rcd) = &claims.rcd {
                d.insert(
                    "rcd".into(),
                    json!({ "nam": rcd.nam, "icn": rcd.icn, "jcl": rcd.jcl, "crn": claims.crn }),
                );
            }
        }
        Err(e) => {
            let disp = e.disposition();
            d.insert("verstat".into(), json!(disp.verstat.as_str()));
            d.insert("reasoncode".into(), json!(disp.code));
            d.insert("error".into(), json!(e.name()));
            d.insert("reasondesc".into(), json!(e.to_string()));
        }
    }
    if let Some(cred) = &outcome.credential {
        d.insert(
            "certificate".into(),
            json!({
                "subject": cred.subject(),
                "spc": cred.spc().map(|s| s.as_str().to_owned()),
                "tnAuthList": cred.tn_auth_list().to_string(),
                "notAfter": cred.not_after(),
            }),
        );
    }
    Value::Object(d)
}
