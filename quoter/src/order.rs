//! A quote becomes a signed order and its `POST /order` envelope, written into a reused
//! buffer: exact integer amounts ([`crate::amounts`]), the venue's current struct (version 2,
//! or 3 for Protocol V2 positions) hashed and signed through `clob-client`'s own functions,
//! and the envelope through `clob-client`'s writer, so the bytes are the official clients'
//! by construction and checked against `clob-client`'s allocating path in the tests.

use kairos_clob_client::auth::signer::Signer;
use kairos_clob_client::contracts;
use kairos_clob_client::eth::{Address, B256, U256};
use kairos_clob_client::http::envelope::{EnvelopeError, OrderType, TokenId, V2Envelope};
use kairos_clob_client::orders::{self, OrderError, POLY_1271_SIGNATURE_LEN, SigningDomain, Version, v2};

use crate::amounts::{AmountError, limit_amounts};
use crate::frame::Side;
use crate::stages::{Laps, Stage};
use crate::strategy::Quote;

/// Who signs, whose funds, and how orders are sent.
#[derive(Debug, Clone)]
pub struct Account {
    pub key: Signer,
    /// The funder (proxy, safe or deposit wallet); the key's own address for EOA orders.
    pub maker: Address,
    /// 0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271.
    pub signature_type: u8,
    pub chain_id: u64,
    /// The API key: the envelope's `owner`.
    pub api_key: String,
    pub order_type: OrderType,
    /// Rest or be refused, never take: the default, since a quote priced off a book that has
    /// just moved could otherwise cross.
    pub post_only: bool,
}

/// A quoted token: its id and which exchange trades it.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: TokenId,
    pub neg_risk: bool,
    /// 2, or 3 for a Protocol V2 position.
    pub version: Version,
}

impl Token {
    pub fn new(id: U256, neg_risk: bool, version: Version) -> Token {
        Token { id: TokenId::new(id), neg_risk, version }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("version 1 orders are no longer accepted by the CLOB; the quoter signs versions 2 and 3")]
    LegacyVersion,
    #[error("no exchange for chain {chain_id}, version {version:?}, neg_risk {neg_risk}")]
    NoExchange { chain_id: u64, version: Version, neg_risk: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Amounts(#[from] AmountError),
    #[error(transparent)]
    Signing(#[from] OrderError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("token {0} has no signing domain; add it with OrderSigner::add_token")]
    UnknownDomain(String),
}

/// What makes each order unique: a fresh salt (below 2^53, [`crate::clock::Salts`]) and the
/// venue's time in milliseconds ([`crate::clock::ServerClock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub salt: u64,
    pub timestamp_ms: u64,
}

/// The exchange domains, with their separators hashed once, and the envelope of an account.
#[derive(Debug)]
pub struct OrderSigner {
    key: Signer,
    maker: Address,
    signer: Address,
    signature_type: u8,
    chain_id: u64,
    /// (version, neg_risk) → domain; two or three entries, searched linearly.
    domains: Vec<((Version, bool), SigningDomain)>,
    envelope: V2Envelope,
    signature: Vec<u8>,
}

impl OrderSigner {
    pub fn new(account: &Account) -> Result<OrderSigner, SetupError> {
        // A POLY_1271 order is signed for the wallet contract; every other type by the key.
        let signer = if account.signature_type == orders::SIGNATURE_TYPE_POLY_1271 {
            account.maker
        } else {
            account.key.address()
        };
        let envelope = V2Envelope::new(account.maker, signer, &account.api_key, account.order_type, account.post_only)?;
        Ok(OrderSigner {
            key: account.key.clone(),
            maker: account.maker,
            signer,
            signature_type: account.signature_type,
            chain_id: account.chain_id,
            domains: Vec::with_capacity(4),
            envelope,
            signature: Vec::with_capacity(POLY_1271_SIGNATURE_LEN),
        })
    }

    /// Prepares the domain `token` is signed under (once per exchange, at start-up).
    pub fn add_token(&mut self, token: &Token) -> Result<(), SetupError> {
        if token.version == Version::V1 {
            return Err(SetupError::LegacyVersion);
        }
        let key = (token.version, token.neg_risk);
        if self.domains.iter().any(|(k, _)| *k == key) {
            return Ok(());
        }
        let exchange =
            contracts::exchange(self.chain_id, token.version, token.neg_risk).ok_or(SetupError::NoExchange {
                chain_id: self.chain_id,
                version: token.version,
                neg_risk: token.neg_risk,
            })?;
        let domain = SigningDomain::new(orders::domain(token.version, self.chain_id, exchange));
        self.domains.push((key, domain));
        Ok(())
    }

    /// The key's checksummed address travels in the L2 headers.
    pub fn key(&self) -> &Signer {
        &self.key
    }

    /// The order for `quote` on `token` (tick in price units), signed; its envelope is
    /// appended to `body`. Returns the order hash (the CLOB's order id).
    pub fn write_order(
        &mut self,
        body: &mut String,
        token: &Token,
        quote: &Quote,
        tick: u32,
        stamp: Stamp,
        laps: &mut impl Laps,
    ) -> Result<B256, BuildError> {
        let amounts = limit_amounts(quote, tick)?;
        let order = v2::Order {
            salt: U256::from(stamp.salt),
            maker: self.maker,
            signer: self.signer,
            tokenId: token.id.value(),
            makerAmount: U256::from(amounts.maker),
            takerAmount: U256::from(amounts.taker),
            side: match quote.side {
                Side::Buy => 0,
                Side::Sell => 1,
            },
            signatureType: self.signature_type,
            timestamp: U256::from(stamp.timestamp_ms),
            metadata: B256::ZERO,
            builder: B256::ZERO,
        };
        let key = (token.version, token.neg_risk);
        let Some((_, domain)) = self.domains.iter().find(|(k, _)| *k == key) else {
            return Err(BuildError::UnknownDomain(token.id.decimal().to_string()));
        };
        let hash = orders::sign_v2_into(&self.key, &order, domain, &mut self.signature)?;
        laps.lap(Stage::Sign);
        self.envelope.write(body, &token.id, &order, &self.signature, 0)?;
        laps.lap(Stage::Wire);
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::SIZE_UNITS;
    use crate::stages::NoLaps;
    use kairos_clob_client::build::{self, OrderArgs, Rounding};
    use kairos_clob_client::rounding::{AmountSide, OrderKind};

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const VECTOR_STAMP: Stamp = Stamp { salt: 479_249_096_354, timestamp_ms: 1_710_000_000_000 };

    fn account(signature_type: u8, maker: Option<Address>) -> Account {
        let key = Signer::from_hex(KEY).expect("key");
        let maker = maker.unwrap_or(key.address());
        Account {
            key,
            maker,
            signature_type,
            chain_id: 137,
            api_key: "00000000-0000-0000-0000-000000000000".into(),
            order_type: OrderType::Gtc,
            post_only: true,
        }
    }

    /// What `clob-client`'s allocating builder signs and writes for the same order: the
    /// hot path must give the same bytes, for every signature type and both exchanges.
    #[test]
    fn bodies_and_hashes_are_clob_client_s_byte_for_byte() {
        let wallet: Address = "0x00000000000000000000000000000000000000aa".parse().expect("address");
        let token_id: U256 =
            "71321045679252212594626385532706912750332728571942532289631379312455583992563".parse().expect("token");
        for (signature_type, maker) in [(0, None), (1, Some(wallet)), (2, Some(wallet)), (3, Some(wallet))] {
            for (neg_risk, version) in [(false, Version::V2), (true, Version::V2), (false, Version::V3)] {
                let account = account(signature_type, maker);
                let mut signer = OrderSigner::new(&account).expect("signer");
                let token = Token::new(token_id, neg_risk, version);
                signer.add_token(&token).expect("domain");
                for (side, amount_side) in [(Side::Buy, AmountSide::Buy), (Side::Sell, AmountSide::Sell)] {
                    let quote = Quote { side, price: 4_700, size: 25 * SIZE_UNITS + 30_000 };
                    let mut body = String::new();
                    let hash =
                        signer.write_order(&mut body, &token, &quote, 100, VECTOR_STAMP, &mut NoLaps).expect("order");
                    let official = build::Account {
                        signer: account.key.clone(),
                        maker: account.maker,
                        signature_type,
                        chain_id: 137,
                        api_key: account.api_key.clone(),
                    };
                    let args = OrderArgs {
                        token_id,
                        side: amount_side,
                        price: "0.47".into(),
                        size: "25.03".into(),
                        kind: OrderKind::Limit,
                        tick: "0.01".into(),
                        neg_risk,
                        order_type: OrderType::Gtc,
                        post_only: true,
                        expiration_s: 0,
                    };
                    let built =
                        build::build(&official, &args, version, Rounding::Exact, 479_249_096_354, 1_710_000_000_000)
                            .expect("built");
                    assert_eq!(body, built.body, "type {signature_type}, neg_risk {neg_risk}, {version:?}, {side:?}");
                    assert_eq!(format!("{hash}"), built.order_hash);
                }
            }
        }
    }

    #[test]
    fn refuses_legacy_orders_unknown_domains_and_off_grid_quotes() {
        let mut signer = OrderSigner::new(&account(0, None)).expect("signer");
        let v1 = Token::new(U256::from(1u64), false, Version::V1);
        assert_eq!(signer.add_token(&v1), Err(SetupError::LegacyVersion));
        let token = Token::new(U256::from(1u64), false, Version::V2);
        let quote = Quote { side: Side::Buy, price: 4_700, size: SIZE_UNITS };
        let mut body = String::new();
        assert!(matches!(
            signer.write_order(&mut body, &token, &quote, 100, Stamp { salt: 1, timestamp_ms: 1 }, &mut NoLaps),
            Err(BuildError::UnknownDomain(_))
        ));
        signer.add_token(&token).expect("domain");
        let off = Quote { price: 4_750, ..quote };
        assert!(matches!(
            signer.write_order(&mut body, &token, &off, 100, Stamp { salt: 1, timestamp_ms: 1 }, &mut NoLaps),
            Err(BuildError::Amounts(_))
        ));
        assert!(body.is_empty(), "nothing written for a refused order");
        assert!(
            signer.write_order(&mut body, &token, &quote, 100, Stamp { salt: 1, timestamp_ms: 1 }, &mut NoLaps).is_ok()
        );
    }
}
