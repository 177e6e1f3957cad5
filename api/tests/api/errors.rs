use kairos_platform::storage::scratch;

use crate::support::{error_code, spawn};

#[tokio::test]
async fn every_error_has_the_envelope_and_the_request_id() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[("KAIROS_BODY_LIMIT_BYTES", "1024")]).await;

    let res = app.get("/v2/nothing").await;
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(error_code(&res.json().await.expect("json")), "not_found");

    let res = app.client.delete(format!("{}/v1/markets", app.base)).send().await.expect("send");
    assert_eq!(res.status().as_u16(), 405);
    assert!(res.headers().get("allow").is_some());
    assert_eq!(error_code(&res.json().await.expect("json")), "method_not_allowed");

    let res = app.client.post(format!("{}/v1/markets", app.base)).body(vec![b'x'; 4096]).send().await.expect("send");
    assert_eq!(res.status().as_u16(), 413);
    assert_eq!(error_code(&res.json().await.expect("json")), "payload_too_large");

    // A client's request id is kept (and echoed in the body); a hostile one is replaced.
    let res = app
        .client
        .get(format!("{}/v1/markets?limit=0", app.base))
        .header("x-request-id", "client-abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(res.headers()["x-request-id"], "client-abc-123");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"]["request_id"], "client-abc-123");
    let res = app.client.get(format!("{}/health", app.base)).header("x-request-id", "a b").send().await.expect("send");
    let id = res.headers()["x-request-id"].to_str().expect("ascii").to_string();
    assert_ne!(id, "a b");
    assert_eq!(id.len(), 36, "a fresh UUID replaces it");

    // The envelope is rendered before compression, so a gzip client gets a valid error body.
    let gzip = reqwest::Client::builder().gzip(true).build().expect("client");
    let res = gzip.get(format!("{}/v1/markets?limit=0&q={}", app.base, "x".repeat(100))).send().await.expect("send");
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(error_code(&res.json().await.expect("json")), "invalid_query");
    app.stop().await;
}
