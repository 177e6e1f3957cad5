//! The cost of checking a signed request's HMAC (what every market-maker request pays), and of
//! verifying a bearer token.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kairos_api::access::jwt::Keys;
use kairos_api::access::signed_request::{Form, sign, verify};
use kairos_domain::Role;
use kairos_platform::config::Secret;

fn bench(c: &mut Criterion) {
    let secret = [7u8; 32];
    let body = br#"{"market_id":"0192f0e4-0000-7000-8000-000000000000","outcome":0,"side":"buy","price":"0.42","size":"100","type":"limit","time_in_force":"gtc","client_order_id":"c-1"}"#;
    let ts = "1795975200000";
    let sig = sign(&secret, ts, "POST", "/v1/orders", body);
    c.bench_function("signed_request_verify", |b| {
        b.iter(|| {
            verify(
                black_box(&secret),
                &[Form::Separated],
                black_box(ts),
                "POST",
                "/v1/orders",
                black_box(body),
                black_box(&sig),
            )
        })
    });
    let keys = Keys::new(&Secret::new("q8Vt2pX7mR4kLw9ZsB3nY6cH1dF5gJ0aE8uTiOoPzQ"), None);
    let now = kairos_domain::now_us() / 1_000_000;
    let (token, _) = keys.issue("0192f0e4-0000-7000-8000-000000000000", Role::MarketMaker, now).expect("issue");
    c.bench_function("jwt_verify", |b| b.iter(|| keys.verify(black_box(&token))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
