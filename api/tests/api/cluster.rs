//! Several instances on one database: exactly one matches a market (the lease holder) and the
//! others forward to it. Killing the holder is in `api/tests/crash.rs` (real processes).

use kairos_domain::{Role, Venue};
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
async fn the_forwarding_route_is_internal_signed_once_and_answers_signed() {
    use kairos_venues::forwarding::{self, REPLY_SIGNATURE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER};

    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    // Not on the public listener at all.
    let (status, _) = app.send(Method::POST, forwarding::PATH, None, Some(json!({ "Cancel": {} }))).await;
    assert_eq!(status, 404);
    let internal = format!("http://{}{}", app.running.as_ref().expect("running").internal_addr, forwarding::PATH);
    let client = reqwest::Client::new();
    let unsigned = client.post(&internal).json(&json!({ "Cancel": {} })).send().await.expect("send");
    assert_eq!(unsigned.status().as_u16(), 401);
    let body: serde_json::Value = unsigned.json().await.expect("json");
    assert_eq!(error_code(&body), "invalid_instance_signature");

    // Signed by an instance: run once, answered with a signature bound to the request.
    let key = *app.state().venues().forwarder.key();
    let request =
        serde_json::to_vec(&json!({ "CancelAll": { "user_id": "nobody", "market_id": null, "cause": "Requested" } }))
            .expect("json");
    let ts = (kairos_domain::now_us() / 1_000).to_string();
    let signature = forwarding::sign(&key, &ts, &request);
    let send = || {
        client
            .post(&internal)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, &ts)
            .header(SIGNATURE_HEADER, &signature)
            .body(request.clone())
            .send()
    };
    let first = send().await.expect("send");
    assert_eq!(first.status().as_u16(), 200);
    let reply_signature = first.headers()[REPLY_SIGNATURE_HEADER].to_str().expect("header").to_string();
    let answer = first.bytes().await.expect("body");
    assert_eq!(reply_signature, forwarding::sign_reply(&key, &signature, &answer));
    let again = send().await.expect("send");
    assert_eq!(again.status().as_u16(), 401, "a replayed forwarding request is refused");
    let body: serde_json::Value = again.json().await.expect("json");
    assert_eq!(error_code(&body), "replayed_instance_signature");
    app.stop().await;
}
