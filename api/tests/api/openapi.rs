use kairos_platform::storage::scratch;

use crate::support::spawn;

const CHECKED_IN: &str = include_str!("../../../openapi/v1.json");

#[test]
fn the_checked_in_document_is_the_generated_one() {
    assert!(
        kairos_api::http::openapi::spec_json() == CHECKED_IN,
        "openapi/v1.json is out of date: run `cargo run -p kairos-api -- openapi --output openapi/v1.json`"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let res = app.get("/v1/openapi.json").await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.text().await.expect("text"), kairos_api::http::openapi::spec_json());
    app.stop().await;
}

/// The flash-bets program's experimental instructions (leveraged, chained and advanced
/// orders) fail by name on-chain and must not be reachable through the API: no path, operation
/// or schema of the document names one.
#[test]
fn the_document_exposes_no_experimental_flash_instruction() {
    let spec: serde_json::Value = serde_json::from_str(CHECKED_IN).expect("json");
    let mut names: Vec<String> = spec["paths"].as_object().expect("paths").keys().cloned().collect();
    for item in spec["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("item").values() {
            names.extend(op["operationId"].as_str().map(str::to_string));
        }
    }
    names.extend(spec["components"]["schemas"].as_object().expect("schemas").keys().cloned());
    assert!(names.len() > 50, "the walk found the document's names: {}", names.len());
    for name in &names {
        let lower = name.to_lowercase();
        for word in ["leverage", "chained", "advanced"] {
            assert!(!lower.contains(word), "the document exposes {name:?}");
        }
    }
}

#[test]
fn every_operation_documents_its_errors() {
    let spec: serde_json::Value = serde_json::from_str(CHECKED_IN).expect("json");
    let paths = spec["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/v1/markets") && paths.contains_key("/v1/markets/{id}"));
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("item") {
            assert!(op["responses"].get("default").is_some(), "{method} {path} lacks the default error response");
        }
    }
}
