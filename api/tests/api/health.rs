use kairos_platform::storage::scratch;

use crate::support::spawn;

#[tokio::test]
async fn health_answers_and_ready_reports_each_dependency() {
    for db in scratch::all().await {
        let app = spawn(&db, &[]).await;
        let (status, body) = app.get_json("/health").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
        let (status, body) = app.get_json("/ready").await;
        // test profile defaults to degraded storage mode and no Redis: serving, and saying so.
        assert_eq!(status, 200, "{}: {body}", db.label);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["checks"]["database"]["status"], "up");
        assert_eq!(body["checks"]["redis"]["status"], "not_configured");
        assert!(body["checks"]["redis"]["fallback"].is_string());
        app.stop().await;
    }
}

#[tokio::test]
async fn metrics_are_on_their_own_listener() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    app.get("/v1/markets").await;
    let text = app.metrics_text().await;
    for needle in [
        "kairos_http_requests_total{method=\"GET\",route=\"/v1/markets\",status=\"200\"}",
        "kairos_http_request_duration_seconds_bucket",
        "kairos_dependency_up{dependency=\"database\"} 1",
        "kairos_db_pool_connections",
        "kairos_build_info",
        "kairos_storage_degraded",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    let on_api = app.get("/metrics").await;
    assert_eq!(on_api.status().as_u16(), 404, "metrics must not be served on the API listener");
    app.stop().await;
}
