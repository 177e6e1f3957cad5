//! Producing the L2 headers of one request (target: under 1 µs), and hashing and signing one
//! version-2 order (target: a median under 20 µs).

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kairos_clob_client::auth::l2::Credentials;
use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::eth::{Address, B256, U256};
use kairos_clob_client::orders::{SigningDomain, Version, domain, sign_v2_with, v2};

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

fn bench_order(c: &mut Criterion) {
    let signer = Signer::from_hex("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").expect("key");
    let exchange: Address = "0xE111180000d2663C0091e4f400237545B87B996B".parse().expect("address");
    let domain = SigningDomain::new(domain(Version::V2, 137, exchange));
    let order = v2::Order {
        salt: U256::from(479_249_096_354u64),
        maker: signer.address(),
        signer: signer.address(),
        tokenId: U256::from(1234),
        makerAmount: U256::from(100_000_000u64),
        takerAmount: U256::from(50_000_000u64),
        side: 0,
        signatureType: 0,
        timestamp: U256::from(1_710_000_000_000u64),
        metadata: B256::ZERO,
        builder: B256::ZERO,
    };
    c.bench_function("sign_v2_order", |b| b.iter(|| sign_v2_with(&signer, black_box(&order), &domain)));
}

criterion_group!(benches, bench, bench_order);
criterion_main!(benches);
