//! Campaigns for security teams: `GET /v1/brands/{slug}/campaigns` (the campaigns whose
//! reports name the brand; operators and the brand's own keys), `GET /v1/campaigns` (every
//! campaign; operators only), answered from this node's tracker without a database round
//! trip; and `GET /v1/reports/{id}`, one report with its campaign.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use store::BrandId;

use super::AppState;
use super::admin::AdminRequest;
use super::atis::unix_now;
use super::brands::managed_brand;
use super::problem::{Problem, ProblemType};
use crate::campaigns::TrackedCampaign;

/// The query of the campaign lists.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignPage {
    /// Campaigns at most (1 to 1000, default 50).
    #[serde(default)]
    limit: Option<usize>,
}

fn campaign_json(state: &AppState, c: &TrackedCampaign) -> Value {
    let index = state.brands.get();
    let mut v = serde_json::to_value(&c.summary).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "brandReports".into(),
            c.brands
                .iter()
                .map(|(id, n)| {
                    json!({
                        "brand": index.brand(*id).map(|b| b.brand.slug.clone()),
                        "reports": n,
                    })
                })
                .collect(),
        );
    }
    v
}

fn answer(state: &AppState, brand: Option<(BrandId, &str)>, page: &CampaignPage) -> Response {
    let limit = page.limit.unwrap_or(50).clamp(1, 1_000);
    let list = state.campaigns.campaigns(brand, unix_now(), limit);
    let (reports, campaigns) = state.campaigns.counts();
    Json(json!({
        "campaigns": list.iter().map(|c| campaign_json(state, c)).collect::<Vec<_>>(),
        "reportsRead": reports,
        "campaignsTotal": campaigns,
    }))
    .into_response()
}

/// `GET /v1/brands/{slug}/campaigns`.
pub async fn brand_campaigns(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    Query(page): Query<CampaignPage>,
    req: AdminRequest,
) -> Response {
    match managed_brand(&state, &req, &slug).await {
        Ok(brand) => answer(&state, Some((brand.id, &brand.display_name)), &page),
        Err(p) => p.into_response(),
    }
}

/// `GET /v1/campaigns`: operators only.
pub async fn all_campaigns(
    State(state): State<Arc<AppState>>,
    Query(page): Query<CampaignPage>,
    req: AdminRequest,
) -> Response {
    if !req.operator {
        return Problem::new(
            ProblemType::Forbidden,
            "every campaign is for operators; a brand's keys read /v1/brands/{slug}/campaigns",
        )
        .into_response();
    }
    answer(&state, None, &page)
}

/// A stored report as the brand's security team (or an operator) reads it, with the
/// campaign this node put it in.
fn report_json(state: &AppState, r: &store::Report) -> Value {
    let index = state.brands.get();
    json!({
        "id": r.id.0,
        "brand": r.brand.and_then(|b| index.brand(b)).map(|b| b.brand.slug.clone()),
        "claimedBrand": r.claimed_brand,
        "callingNumber": r.calling.map(|tn| tn.as_str().to_owned()),
        "calledNumber": r.called.map(|tn| tn.as_str().to_owned()),
        "time": r.call_at,
        "asked": r.asked.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        "text": r.text,
        "channel": r.channel.as_str(),
        "receivedAt": r.received_at,
        "campaign": state.campaigns.campaign_of(r.id).map(|c| c.get()),
    })
}

/// `GET /v1/reports/{id}`: operators read any report; a brand's keys the reports naming
/// their brand. Any other report is 404 to them, as if it did not exist.
pub async fn get_report(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    req: AdminRequest,
) -> Response {
    let not_found = || {
        Problem::new(
            ProblemType::NotFound,
            format!("no report {:?}", id.chars().take(32).collect::<String>()),
        )
        .into_response()
    };
    let Ok(n) = id.parse::<i64>() else {
        return not_found();
    };
    let report = match state.store.report(store::ReportId(n)).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(),
        Err(e) => return Problem::from(e).into_response(),
    };
    if !req.operator {
        let me = req.caller.customer.as_ref().map(|c| c.id);
        let index = state.brands.get();
        let own = report
            .brand
            .and_then(|b| index.brand(b))
            .is_some_and(|b| Some(b.brand.customer) == me);
        if !own {
            return not_found();
        }
    }
    Json(report_json(&state, &report)).into_response()
}
