use kairos_domain::{MarketStatus, NewMarket, Outcome, Venue};
use kairos_platform::storage::{Db, markets, scratch};

use crate::support::{error_code, eventually, spawn};

fn market(slug: &str, venue: Venue, status: MarketStatus) -> NewMarket {
    NewMarket {
        venue,
        external_id: Some(format!("ext-{slug}")),
        slug: slug.to_string(),
        question: format!("Question about {slug}?"),
        description: String::new(),
        status,
        tick_size: kairos_domain::Price::from_micros(10_000),
        min_size: kairos_domain::Size::from_micros(1_000_000),
        end_time_us: Some(1_795_975_200_000_000),
        protocol: None,
        is_sample: false,
        outcomes: vec![
            Outcome { index: 0, label: "YES".into(), external_id: Some("1".into()) },
            Outcome { index: 1, label: "NO".into(), external_id: Some("2".into()) },
        ],
    }
}

async fn seed(url: &str) -> Db {
    let db = Db::connect(url, 2).await.expect("connect");
    db.migrate().await.expect("migrate");
    let specs = [
        ("alpha", Venue::Paper, MarketStatus::Open),
        ("bravo", Venue::Polymarket, MarketStatus::Open),
        ("charlie", Venue::Paper, MarketStatus::Closed),
        ("delta", Venue::Paper, MarketStatus::Open),
        ("echo", Venue::Polymarket, MarketStatus::Resolved),
    ];
    for (slug, venue, status) in specs {
        markets::upsert(&db, &market(slug, venue, status)).await.expect("insert");
    }
    db
}

fn slugs(body: &serde_json::Value) -> Vec<String> {
    body["data"].as_array().expect("data").iter().map(|m| m["slug"].as_str().expect("slug").to_string()).collect()
}

#[tokio::test]
async fn list_paginates_with_cursors_and_filters() {
    for db in scratch::all().await {
        let store = seed(&db.url).await;
        let app = spawn(&db, &[]).await;

        let mut seen = Vec::new();
        let mut path = "/v1/markets?limit=2".to_string();
        loop {
            let (status, body) = app.get_json(&path).await;
            assert_eq!(status, 200, "{}: {body}", db.label);
            seen.extend(slugs(&body));
            match body["next_cursor"].as_str() {
                Some(c) => path = format!("/v1/markets?limit=2&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen, ["alpha", "bravo", "charlie", "delta", "echo"], "{}", db.label);

        let (_, body) = app.get_json("/v1/markets?status=open&venue=paper").await;
        assert_eq!(slugs(&body), ["alpha", "delta"]);
        let (_, body) = app.get_json("/v1/markets?q=CHARLIE").await;
        assert_eq!(slugs(&body), ["charlie"]);
        assert!(body["next_cursor"].is_null());

        let first = &app.get_json("/v1/markets?limit=1").await.1["data"][0];
        assert_eq!(first["tick_size"], "0.01");
        assert_eq!(first["min_size"], "1");
        assert_eq!(first["end_time"], "2026-11-29T18:00:00Z");
        assert_eq!(first["outcomes"][1]["label"], "NO");

        let id = first["id"].as_str().expect("id");
        let (status, one) = app.get_json(&format!("/v1/markets/{id}")).await;
        assert_eq!((status, &one["slug"]), (200, &serde_json::json!("alpha")));
        store.close().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn new_markets_show_without_a_restart() {
    for db in scratch::all().await {
        let store = seed(&db.url).await;
        let app = spawn(&db, &[]).await;
        let (created, _) =
            markets::upsert(&store, &market("foxtrot", Venue::Paper, MarketStatus::Open)).await.expect("insert");
        // A lookup by id never waits for the catalog.
        let (status, _) = app.get_json(&format!("/v1/markets/{}", created.id)).await;
        assert_eq!(status, 200, "{}", db.label);
        eventually(5, "the new market in the list", || async {
            slugs(&app.get_json("/v1/markets?q=foxtrot").await.1) == ["foxtrot"]
        })
        .await;
        store.close().await;
        app.stop().await;
    }
}

#[tokio::test]
async fn malformed_queries_ids_and_cursors_get_400_and_unknown_ids_404() {
    let db = scratch::sqlite();
    let app = spawn(&db, &[]).await;
    for (path, code) in [
        ("/v1/markets?limit=abc", "invalid_query"),
        ("/v1/markets?limit=0", "invalid_query"),
        ("/v1/markets?limit=201", "invalid_query"),
        ("/v1/markets?limit=-1", "invalid_query"),
        ("/v1/markets?status=bogus", "invalid_query"),
        ("/v1/markets?venue=nyse", "invalid_query"),
        ("/v1/markets?cursor=garbage", "invalid_cursor"),
        ("/v1/markets?cursor=%00%ff", "invalid_cursor"),
        ("/v1/markets/not-a-uuid", "invalid_id"),
        ("/v1/markets/0192f0e4-0000-7000-8000-00000000000", "invalid_id"),
    ] {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(error_code(&body), code, "{path}");
    }
    let long_q = format!("/v1/markets?q={}", "x".repeat(201));
    assert_eq!(app.get_json(&long_q).await.0, 400);
    let (status, body) = app.get_json("/v1/markets/0192f0e4-0000-7000-8000-000000000000").await;
    assert_eq!((status, error_code(&body).as_str()), (404, "not_found"));
    let (status, _) = app.get_json("/v1/markets/0192F0E4-0000-7000-8000-000000000000").await;
    assert_eq!(status, 404, "upper-case UUIDs are ids too");
    app.stop().await;
}

/// A page carries an ETag: asking again with it is 304 and no body, until the catalog changes;
/// clients that accept gzip get gzip.
#[tokio::test]
async fn pages_carry_etags_answer_304_and_compress() {
    let db = scratch::sqlite();
    let store = seed(&db.url).await;
    let app = spawn(&db, &[]).await;
    let raw = reqwest::Client::builder().no_gzip().build().expect("client");
    let url = format!("{}/v1/markets?limit=2", app.base);
    let first = raw.get(&url).send().await.expect("send");
    assert_eq!(first.status().as_u16(), 200);
    let etag = first.headers()["etag"].to_str().expect("etag").to_string();
    let body = first.text().await.expect("body");
    let again = raw.get(&url).send().await.expect("send");
    assert_eq!(again.headers()["etag"].to_str().expect("etag"), etag, "the same page, the same tag");
    assert_eq!(again.text().await.expect("body"), body);

    let cached = raw.get(&url).header("if-none-match", &etag).send().await.expect("send");
    assert_eq!(cached.status().as_u16(), 304);
    assert!(cached.text().await.expect("body").is_empty());
    let other_query = raw.get(format!("{url}&status=open")).header("if-none-match", &etag).send().await.expect("send");
    assert_eq!(other_query.status().as_u16(), 200, "another query has another tag");

    // A page above a kilobyte is compressed for a client that asks; a small answer is not.
    let page = format!("{}/v1/markets?limit=5", app.base);
    let gzipped = raw.get(&page).header("accept-encoding", "gzip").send().await.expect("send");
    assert_eq!(gzipped.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    let small = raw.get(format!("{}/v1/time", app.base)).header("accept-encoding", "gzip").send().await.expect("send");
    assert_eq!(small.headers().get("content-encoding"), None, "small bodies go as they are");

    // The catalog changes: the old tag no longer matches.
    markets::upsert(&store, &market("foxtrot", Venue::Paper, MarketStatus::Open)).await.expect("insert");
    eventually(5, "the catalog picks the new market up", || async {
        let res = raw.get(&url).header("if-none-match", &etag).send().await.expect("send");
        res.status().as_u16() == 200
    })
    .await;
    app.stop().await;
}
