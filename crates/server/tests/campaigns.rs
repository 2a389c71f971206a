//! Campaigns on a real development node: reports sent through the public API are clustered
//! within a poll period, the brand's security team sees the campaigns naming its brand, and
//! only operators list every campaign.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed step is a failed test"
)]

mod common;

use std::time::Duration;

use common::{TestNode, eventually, now};
use serde_json::{Value, json};
use store::{NewApiKey, Scope};

const SCRIPT: [&str; 3] = [
    "This is Acme Bank fraud department. A charge of $1,537.35 was made on your card. To \
     cancel it, press 1 and confirm your card number and PIN.",
    "this is Acme Bank fraud department. A charge of $899.99 was made on your card. To cancel \
     it press one and confirm your card number and PIN",
    "Hello, this is Acme Bank fraud department. A charge of $42.10 was made on your card. To \
     cancel it, press 1 and confirm your card number and PIN.",
];
const OTHER: &str = "Your car's extended warranty is about to expire. Press 1 to speak with a \
                     specialist about renewing your coverage today.";

#[tokio::test]
async fn reports_form_campaigns_that_the_brands_security_team_sees() {
    let node = TestNode::start().await;
    let (status, body) = node
        .post_json(
            "/v1/brands",
            &json!({"slug": "acme-bank", "customer": "development",
                "legalName": "Acme Bank plc", "displayName": "Acme Bank"}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let at = now() - 600;
    let mut ids = Vec::new();
    for (i, text) in SCRIPT.iter().enumerate() {
        let (status, body) = node
            .post_json(
                "/v1/reports",
                &json!({"brand": "acme-bank", "callingNumber": format!("+1202555014{i}"),
                    "time": at + i as i64, "asked": ["card"], "text": text}),
                &[],
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    let (status, body) = node
        .post_json(
            "/v1/reports",
            &json!({"callingNumber": "+13125550100", "time": at, "text": OTHER}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Claimed by name only (the reporter did not pick the brand): still the brand's.
    let (status, body) = node
        .post_json(
            "/v1/reports",
            &json!({"claimedBrand": "ACME BANK", "callingNumber": "+14155550100", "time": at,
                "text": "We noticed a login from a new device. Read me the code we just sent \
                         you so we can secure your online banking."}),
            &[],
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let list = eventually(Duration::from_secs(5), "the reports clustered", || async {
        let (status, _, body) = node.get("/v1/brands/acme-bank/campaigns").await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        (v["reportsRead"] == 5).then_some(v)
    })
    .await;
    let campaigns = list["campaigns"].as_array().unwrap();
    assert_eq!(
        campaigns.len(),
        2,
        "only the campaigns naming the brand: {list}"
    );
    let c = campaigns.iter().find(|c| c["size"] == 3).unwrap();
    let named = campaigns.iter().find(|c| c["size"] == 1).unwrap();
    assert_eq!(
        named["brandReports"],
        json!([]),
        "named, not picked: {named}"
    );
    assert_eq!(c["size"], 3, "{c}");
    assert_eq!(
        c["brandReports"],
        json!([{"brand": "acme-bank", "reports": 3}])
    );
    assert_eq!(c["number_blocks"][0]["value"], "202555", "{c}");
    assert!(
        c["asked"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.to_string().contains("card")),
        "{c}"
    );
    assert_eq!(c["first_seen"], at, "{c}");

    // Each report says which campaign it is in.
    let (status, _, body) = node.get(&format!("/v1/reports/{}", ids[1])).await;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["campaign"], c["id"], "{report}");
    assert_eq!(report["brand"], "acme-bank");
    assert_eq!(report["asked"], json!(["card"]));
    assert_eq!(report["channel"], "api");

    // The operator sees both campaigns.
    let (status, _, body) = node.get("/v1/campaigns").await;
    assert_eq!(status, 200, "{body}");
    let all: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(all["campaignsTotal"], 3, "{all}");

    // Another customer's key may not read the brand's campaigns, nor every campaign.
    let store = &node.node().state().store;
    let customer = store.create_customer("other-co", None).await.unwrap();
    let key = "cp_test_admin_other_0001";
    store
        .create_api_key(NewApiKey {
            customer: Some(customer.id),
            name: "soc".into(),
            prefix: key.chars().take(8).collect(),
            hash: engine::inventory::hash_api_key(key),
            scopes: vec![Scope::Admin],
        })
        .await
        .unwrap();
    node.node()
        .state()
        .inventory
        .refresh(store.as_ref())
        .await
        .unwrap();
    let bearer = format!("Bearer {key}");
    let response = node
        .client
        .get(node.url(&format!("/v1/reports/{}", ids[0])))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        404,
        "another brand's report is not there for them"
    );
    for path in ["/v1/brands/acme-bank/campaigns", "/v1/campaigns"] {
        let response = node
            .client
            .get(node.url(path))
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{path}");
    }
}
