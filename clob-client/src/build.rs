//! Orders from what a trader says (token, side, price, size, tick) to the exact bytes of
//! `POST /order`: amounts by the chosen rounding mode, the version 2 or 3 struct, the
//! signature, and the wire envelope.

use crate::eth::{Address, B256, U256};

use crate::auth::signer::Signer;
use crate::contracts;
use crate::http::envelope::{self, EnvelopeError, OrderType};
use crate::orders::{self, OrderError, SIGNATURE_TYPE_POLY_1271, Signed, Version, v1, v2};
use crate::rounding::{self, AmountSide, OrderKind, RoundingError};

/// How amounts are computed (see [`crate::rounding`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    #[default]
    Exact,
    /// Bit for bit with py-clob-client-v2, float surprises included.
    Python,
}

/// Who signs and whose funds the order uses.
#[derive(Debug, Clone)]
pub struct Account {
    pub signer: Signer,
    /// The funder (proxy, safe or deposit wallet); the signer's own address for EOA orders.
    pub maker: Address,
    /// 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271.
    pub signature_type: u8,
    pub chain_id: u64,
    /// The API key (`owner` of the envelope).
    pub api_key: String,
}

/// One order as a trader gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderArgs {
    pub token_id: U256,
    pub side: AmountSide,
    /// Decimal; for a market order, the worst price accepted.
    pub price: String,
    /// Shares for a limit order; for a market order collateral (BUY) or shares (SELL).
    pub size: String,
    pub kind: OrderKind,
    /// The market's tick size, e.g. `"0.01"`.
    pub tick: String,
    pub neg_risk: bool,
    pub order_type: OrderType,
    pub post_only: bool,
    /// Seconds since the epoch for GTD orders, 0 otherwise.
    pub expiration_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Rounding(#[from] RoundingError),
    #[error(transparent)]
    Signing(#[from] OrderError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("no exchange for chain {chain_id}, version {version:?}, neg_risk {neg_risk}")]
    NoExchange { chain_id: u64, version: Version, neg_risk: bool },
    #[error("version 1 orders have their own struct: build them with `build_v1`")]
    LegacyVersion,
}

/// A signed order ready to send: the struct, its hash and signature, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub order: v2::Order,
    pub signed: Signed,
    /// The CLOB's order id, `0x…`.
    pub order_hash: String,
    /// The exact `POST /order` body.
    pub body: String,
}

/// The EIP-712 domain of an exchange with its separator hashed once per process: hashing it
/// costs more than the rest of an order's hash.
fn signing_domain(version: Version, chain_id: u64, exchange: Address) -> std::sync::Arc<orders::SigningDomain> {
    type Cache = Vec<((Version, u64, Address), std::sync::Arc<orders::SigningDomain>)>;
    static CACHE: std::sync::Mutex<Cache> = std::sync::Mutex::new(Vec::new());
    let key = (version, chain_id, exchange);
    let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, d)) = cache.iter().find(|(k, _)| *k == key) {
        return d.clone();
    }
    let d = std::sync::Arc::new(orders::SigningDomain::new(orders::domain(version, chain_id, exchange)));
    cache.push((key, d.clone()));
    d
}

/// A signed legacy (version 1) order: production no longer accepts them, but tooling and
/// history still sign them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltV1 {
    pub order: v1::Order,
    pub signed: Signed,
    pub order_hash: String,
    pub body: String,
}

/// Builds and signs a version 1 order; it carries a nonce and the fee rate in its struct.
pub fn build_v1(
    account: &Account,
    args: &OrderArgs,
    rounding_mode: Rounding,
    salt: u64,
    nonce: u64,
    fee_rate_bps: u64,
) -> Result<BuiltV1, BuildError> {
    if account.signature_type == SIGNATURE_TYPE_POLY_1271 {
        return Err(BuildError::Signing(OrderError::Poly1271OnV1));
    }
    let (maker_amount, taker_amount) = match rounding_mode {
        Rounding::Exact => rounding::exact::amounts(args.kind, args.side, &args.tick, &args.price, &args.size)?,
        Rounding::Python => rounding::python::amounts(args.kind, args.side, &args.tick, &args.price, &args.size)?,
    };
    let exchange = contracts::exchange(account.chain_id, Version::V1, args.neg_risk).ok_or(BuildError::NoExchange {
        chain_id: account.chain_id,
        version: Version::V1,
        neg_risk: args.neg_risk,
    })?;
    let order = v1::Order {
        salt: U256::from(salt),
        maker: account.maker,
        signer: account.signer.address(),
        taker: Address::ZERO,
        tokenId: args.token_id,
        makerAmount: U256::from(maker_amount),
        takerAmount: U256::from(taker_amount),
        expiration: U256::from(args.expiration_s),
        nonce: U256::from(nonce),
        feeRateBps: U256::from(fee_rate_bps),
        side: match args.side {
            AmountSide::Buy => 0,
            AmountSide::Sell => 1,
        },
        signatureType: account.signature_type,
    };
    let signed = orders::sign_v1(&account.signer, &order, &orders::domain(Version::V1, account.chain_id, exchange))?;
    let body = envelope::v1_body(&order, &signed, &account.api_key, args.order_type, args.post_only)?;
    Ok(BuiltV1 { order_hash: format!("{}", signed.order_hash), order, signed, body })
}

/// A salt as the official clients make them: random, and a JSON-safe integer (below 2^53).
pub fn fresh_salt() -> u64 {
    rand::random::<u64>() >> 11
}

/// Builds and signs a version 2 or 3 order. `salt` and `timestamp_ms` are given so a retry
/// can rebuild the very same order (same hash) and tests are repeatable.
pub fn build(
    account: &Account,
    args: &OrderArgs,
    version: Version,
    rounding_mode: Rounding,
    salt: u64,
    timestamp_ms: u64,
) -> Result<Built, BuildError> {
    if version == Version::V1 {
        return Err(BuildError::LegacyVersion);
    }
    let (maker_amount, taker_amount) = match rounding_mode {
        Rounding::Exact => rounding::exact::amounts(args.kind, args.side, &args.tick, &args.price, &args.size)?,
        Rounding::Python => rounding::python::amounts(args.kind, args.side, &args.tick, &args.price, &args.size)?,
    };
    let exchange = contracts::exchange(account.chain_id, version, args.neg_risk).ok_or(BuildError::NoExchange {
        chain_id: account.chain_id,
        version,
        neg_risk: args.neg_risk,
    })?;
    // A POLY_1271 order is signed for the wallet contract; every other type by the key.
    let signer =
        if account.signature_type == SIGNATURE_TYPE_POLY_1271 { account.maker } else { account.signer.address() };
    let order = v2::Order {
        salt: U256::from(salt),
        maker: account.maker,
        signer,
        tokenId: args.token_id,
        makerAmount: U256::from(maker_amount),
        takerAmount: U256::from(taker_amount),
        side: match args.side {
            AmountSide::Buy => 0,
            AmountSide::Sell => 1,
        },
        signatureType: account.signature_type,
        timestamp: U256::from(timestamp_ms),
        metadata: B256::ZERO,
        builder: B256::ZERO,
    };
    let signed = orders::sign_v2_with(&account.signer, &order, &signing_domain(version, account.chain_id, exchange))?;
    let body =
        envelope::v2_body(&order, &signed, args.expiration_s, &account.api_key, args.order_type, args.post_only)?;
    Ok(Built { order_hash: format!("{}", signed.order_hash), order, signed, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn account() -> Account {
        let signer = Signer::from_hex(KEY).expect("key");
        let maker = signer.address();
        Account { signer, maker, signature_type: 0, chain_id: 137, api_key: "k".into() }
    }

    fn args(price: &str, size: &str) -> OrderArgs {
        OrderArgs {
            token_id: U256::from(1234u64),
            side: AmountSide::Buy,
            price: price.into(),
            size: size.into(),
            kind: OrderKind::Limit,
            tick: "0.01".into(),
            neg_risk: false,
            order_type: OrderType::Gtc,
            post_only: false,
            expiration_s: 0,
        }
    }

    #[test]
    fn a_limit_buy_becomes_the_struct_the_body_and_the_hash() {
        let built =
            build(&account(), &args("0.5", "100"), Version::V2, Rounding::Exact, 479_249_096_354, 1_710_000_000_000)
                .expect("built");
        assert_eq!(
            (built.order.makerAmount, built.order.takerAmount),
            (U256::from(50_000_000u64), U256::from(100_000_000u64))
        );
        let exchange = contracts::exchange(137, Version::V2, false).expect("exchange");
        let again = orders::sign_v2(&account().signer, &built.order, &orders::domain(Version::V2, 137, exchange))
            .expect("sign");
        assert_eq!(again, built.signed, "same struct, same signature");
        assert!(
            built
                .body
                .starts_with(r#"{"order":{"salt":479249096354,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266""#)
        );
        assert!(built.body.contains(r#""makerAmount":"50000000","takerAmount":"100000000","side":"BUY""#));
        assert_eq!(built.order_hash, format!("{}", built.signed.order_hash));
        let neg =
            build(&account(), &OrderArgs { neg_risk: true, ..args("0.5", "100") }, Version::V2, Rounding::Exact, 1, 1)
                .expect("neg-risk");
        assert_ne!(neg.signed, built.signed, "the neg-risk exchange signs another domain");
    }

    #[test]
    fn a_version_1_order_carries_nonce_fee_and_taker_in_the_legacy_key_order() {
        let built = build_v1(&account(), &args("0.5", "100"), Rounding::Exact, 479_249_096_354, 3, 100).expect("v1");
        assert_eq!((built.order.nonce, built.order.feeRateBps), (U256::from(3u64), U256::from(100u64)));
        let exchange = contracts::exchange(137, Version::V1, false).expect("exchange");
        let again = orders::sign_v1(&account().signer, &built.order, &orders::domain(Version::V1, 137, exchange))
            .expect("sign");
        assert_eq!(again, built.signed);
        let expected = format!(
            "{{\"order\":{{\"salt\":479249096354,\"maker\":\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\",\
             \"signer\":\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\",\"taker\":\"0x0000000000000000000000000000000000000000\",\
             \"tokenId\":\"1234\",\"makerAmount\":\"50000000\",\"takerAmount\":\"100000000\",\"side\":\"BUY\",\
             \"expiration\":\"0\",\"nonce\":\"3\",\"feeRateBps\":\"100\",\"signatureType\":0,\"signature\":\"{}\"}},\
             \"owner\":\"k\",\"orderType\":\"GTC\",\"deferExec\":false,\"postOnly\":false}}",
            crate::auth::signer::hex0x(&built.signed.signature)
        );
        assert_eq!(built.body, expected);
        assert!(matches!(
            build(&account(), &args("0.5", "1"), Version::V1, Rounding::Exact, 1, 1),
            Err(BuildError::LegacyVersion)
        ));
        let wallet = Account { signature_type: SIGNATURE_TYPE_POLY_1271, ..account() };
        assert!(matches!(
            build_v1(&wallet, &args("0.5", "1"), Rounding::Exact, 1, 0, 0),
            Err(BuildError::Signing(OrderError::Poly1271OnV1))
        ));
    }

    #[test]
    fn version_3_signs_for_exchange_v3_whatever_neg_risk_says() {
        let plain = build(&account(), &args("0.5", "10"), Version::V3, Rounding::Exact, 7, 7).expect("v3");
        let neg =
            build(&account(), &OrderArgs { neg_risk: true, ..args("0.5", "10") }, Version::V3, Rounding::Exact, 7, 7)
                .expect("v3 neg-risk");
        assert_eq!(plain.signed, neg.signed, "one exchange for version 3");
        let exchange_v3 = crate::address!("e3333700cA9d93003F00f0F71f8515005F6c00Aa");
        let again = orders::sign_v2(&account().signer, &plain.order, &orders::domain(Version::V3, 137, exchange_v3))
            .expect("sign");
        assert_eq!(again, plain.signed);
    }

    #[test]
    fn the_two_rounding_modes_part_where_the_clients_do() {
        let exact = build(&account(), &args("0.5", "2603.7"), Version::V2, Rounding::Exact, 1, 1).expect("exact");
        let python = build(&account(), &args("0.5", "2603.7"), Version::V2, Rounding::Python, 1, 1).expect("python");
        assert_eq!(exact.order.takerAmount, U256::from(2_603_700_000u64), "exactly what was asked");
        assert_eq!(python.order.takerAmount, U256::from(2_603_690_000u64), "py-clob-client's 2603.69");
    }

    #[test]
    fn what_cannot_be_built_says_why() {
        let off_tick = build(&account(), &args("0.505", "10"), Version::V2, Rounding::Exact, 1, 1);
        assert!(matches!(off_tick, Err(BuildError::Rounding(_))), "{off_tick:?}");
        let mainnet = Account { chain_id: 1, ..account() };
        let unknown_chain = build(&mainnet, &args("0.5", "10"), Version::V3, Rounding::Exact, 1, 1);
        assert!(matches!(unknown_chain, Err(BuildError::NoExchange { .. })));
        let fok_post_only = build(
            &account(),
            &OrderArgs { order_type: OrderType::Fok, post_only: true, ..args("0.5", "10") },
            Version::V2,
            Rounding::Exact,
            1,
            1,
        );
        assert!(matches!(fok_post_only, Err(BuildError::Envelope(_))));
        assert!(matches!(
            build(&account(), &args("0.5", "10"), Version::V1, Rounding::Exact, 1, 1),
            Err(BuildError::LegacyVersion)
        ));
        assert!(fresh_salt() < 1 << 53);
    }
}
