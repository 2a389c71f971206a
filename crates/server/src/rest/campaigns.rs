//! Campaigns for security teams: `GET /v1/brands/{slug}/campaigns` (the campaigns whose
//! reports name the brand; operators and the brand's own keys) and `GET /v1/campaigns`
//! (every campaign; operators only). Answered from this node's tracker, without a database
//! round trip.

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
