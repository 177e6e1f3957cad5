//! Several instances on one database: exactly one matches a market (the lease holder) and the
//! others forward to it. Killing the holder is in `api/tests/crash.rs` (real processes).

use kairos_platform::domain::{Role, Venue};
use kairos_platform::storage::{market_leases, scratch};
use reqwest::Method;
use serde_json::json;

use crate::orders::{funded, market};
use crate::support::{error_code, spawn};

#[tokio::test]
async fn one_instance_matches_a_market_and_the_others_forward_to_it() {
    for db in scratch::all().await {
        let lease = [("KAIROS_MARKET_LEASE_MS", "1000")];
        let a = spawn(&db, &lease).await;
        let b = spawn(&db, &lease).await;
        let (_, op) = a.user(Role::Operator).await;
        let m = market(&a, Venue::Paper, "cluster").await;
        let (_, maker) = funded(&a, &op, "100").await;
        let (_, taker) = funded(&a, &op, "100").await;
        let bid = json!({ "market_id": m, "outcome": 0, "side": "buy", "price": "0.40", "size": "5" });
        let (status, resting) = a.send(Method::POST, "/v1/orders", Some(&maker), Some(bid)).await;
        assert_eq!(status, 201, "{resting}");
        let owner = market_leases::get(a.state().db(), &m).await.expect("lease").expect("taken");
        assert_eq!(owner.owner, a.running.as_ref().expect("a").instance_id, "{}", db.label);

        // b does not match the market itself: it forwards to a, which holds the book.
        let take = json!({ "market_id": m, "outcome": 1, "side": "buy", "price": "0.60", "size": "2" });
        let (status, taken) = b.send(Method::POST, "/v1/orders", Some(&taker), Some(take.clone())).await;
        assert_eq!((status, taken["status"].as_str()), (201, Some("filled")), "{}: {taken}", db.label);
        let path = format!("/v1/orders/{}", resting["id"].as_str().expect("id"));
        let (_, maker_order) = b.send(Method::GET, &path, Some(&maker), None).await;
        assert_eq!(maker_order["filled_size"], "2");
        let (status, cancelled) = b.send(Method::DELETE, "/v1/orders", Some(&maker), None).await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(
            cancelled["cancelled"].as_array().map(Vec::len),
            Some(1),
            "cancel-all reaches the holder: {cancelled}"
        );

        a.stop().await;
        b.stop().await;
    }
}

#[tokio::test]
async fn the_forwarding_route_refuses_anything_not_signed_by_an_instance() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    let (status, body) = app.send(Method::POST, "/internal/v1/paper", None, Some(json!({ "Cancel": {} }))).await;
    assert_eq!((status, error_code(&body).as_str()), (401, "invalid_instance_signature"));
    let (_, token) = app.user(Role::Admin).await;
    let (status, _) = app.send(Method::POST, "/internal/v1/paper", Some(&token), Some(json!({}))).await;
    assert_eq!(status, 401, "a user's token is not an instance signature");
    app.stop().await;
}
