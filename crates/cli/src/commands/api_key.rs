//! `callproof api-key create|revoke`: API keys managed in the storage itself, for the first
//! admin key of a node that requires keys.

use std::process::ExitCode;

use anyhow::{Context as _, anyhow, bail};
use server::config::Config;
use store::Scope;

use crate::args::{ApiKeyCreateArgs, ApiKeyRevokeArgs};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")
}

pub(crate) fn create(args: &ApiKeyCreateArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref(), std::env::vars()).context("configuration")?;
    let mut scopes = Vec::new();
    for name in &args.scopes {
        let scope = Scope::parse(name.trim())
            .ok_or_else(|| anyhow!("unknown scope {name:?}: scopes are sign, verify, admin"))?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if args.customer.is_some() && scopes.contains(&Scope::Admin) {
        bail!("an admin key acts for the operator, not a customer: leave --customer out");
    }
    runtime()?.block_on(async {
        let store = server::node::open_store(&config).await.context("storage")?;
        let customer = match &args.customer {
            Some(name) => Some(
                store
                    .customer_by_name(name)
                    .await?
                    .with_context(|| format!("no customer named {name:?}"))?
                    .id,
            ),
            None => None,
        };
        let (record, secret) =
            server::rest::admin::issue_api_key(store.as_ref(), customer, &args.name, scopes)
                .await
                .map_err(|p| anyhow!("{}", p.detail()))?;
        let scopes: Vec<&str> = record.scopes.iter().map(|s| s.as_str()).collect();
        super::print_line(&format!(
            "id {}  scopes {}  (shown once; callproof keeps only its hash)\n{secret}",
            record.id,
            scopes.join(",")
        ))?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

pub(crate) fn revoke(args: &ApiKeyRevokeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref(), std::env::vars()).context("configuration")?;
    runtime()?.block_on(async {
        let store = server::node::open_store(&config).await.context("storage")?;
        if !store.revoke_api_key(args.id).await? {
            bail!("no key {} in force", args.id);
        }
        super::print_line(&format!("revoked key {}", args.id))?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
