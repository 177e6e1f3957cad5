//! Producing the L2 headers of one request (target: under 1 µs).

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kairos_clob_client::auth::l2::Credentials;

fn bench(c: &mut Criterion) {
    let creds = Credentials::new(
        "00000000-0000-0000-0000-000000000000",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "pass",
    )
    .expect("creds");
    let body = r#"{"order":{"salt":479249096354,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","tokenId":"1234","makerAmount":"100000000","takerAmount":"50000000","side":"BUY"},"owner":"00000000-0000-0000-0000-000000000000","orderType":"GTC"}"#;
    c.bench_function("l2_headers_post_order", |b| {
        b.iter(|| {
            creds.headers(
                black_box("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"),
                black_box(1_710_000_000),
                "POST",
                "/order",
                Some(black_box(body)),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
