//! The money of the paper venue, in integers: what an order reserves, what a match moves and
//! where, and what a resolution pays. Pure functions: the engine calls them, tests call them
//! directly. Every transfer sums to zero per asset, so the ledger as a whole always does.
//!
//! Accounts: a user's `available` and `reserved` (collateral and shares alike, told apart by
//! the asset), `market:<id>:escrow` (collateral backing minted pairs), `market:<id>:issuer`
//! (minus the shares in circulation), and `system:fees`.

use kairos_domain::Side;
use kairos_domain::ledger::{Account, COLLATERAL, Posting, Transfer, available, reserved};
use kairos_domain::money::{Collateral, MICROS_PER_UNIT, Price, Size};
use kairos_domain::order::share_asset;

pub fn escrow(market_id: &str) -> Account {
    Account::Escrow { market_id: market_id.to_string() }
}

pub fn issuer(market_id: &str) -> Account {
    Account::Issuer { market_id: market_id.to_string() }
}

/// Maker and taker fees in basis points of the notional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Fees {
    pub maker_bps: i64,
    pub taker_bps: i64,
}

pub use kairos_domain::money::{Overflow, fee, notional};

pub use kairos_domain::risk::size_lot;

/// What a buy holds back: its notional at the limit price plus the larger fee.
pub fn buy_reservation(price: Price, size: Size, fees: Fees) -> Result<Collateral, Overflow> {
    let n = notional(price, size)?;
    n.checked_add(fee(n, fees.maker_bps.max(fees.taker_bps))?).ok_or(Overflow)
}

/// Whether every amount a match of this order can move fits `i64`: its fills are at prices of
/// at most one unit, so the largest is a buy's reservation at a price of one. The exchange
/// refuses an order that fails this, so the arithmetic of its matches cannot overflow.
pub fn within_range(size: Size, fees: Fees) -> Result<(), Overflow> {
    buy_reservation(Price::from_micros(MICROS_PER_UNIT), size, fees).map(|_| ())
}

/// One side of a match, in its own outcome's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party<'a> {
    pub user_id: &'a str,
    pub outcome: u32,
    pub side: Side,
    pub price: Price,
    /// The fee this party pays on this match.
    pub fee: Collateral,
}

impl Party<'_> {
    pub fn notional(&self, size: Size) -> Result<Collateral, Overflow> {
        notional(self.price, size)
    }

    /// Collateral this party's order gives up (buys) for the match: taken from its reservation.
    pub fn cost(&self, size: Size) -> Result<Collateral, Overflow> {
        match self.side {
            Side::Buy => self.notional(size)?.checked_add(self.fee).ok_or(Overflow),
            Side::Sell => Ok(Collateral::ZERO),
        }
    }
}

fn posting(account: Account, amount_micros: i64) -> Option<Posting> {
    (amount_micros != 0).then_some(Posting { account, amount_micros })
}

/// The transfers of one match of `size` shares between two parties (already known to cross):
/// a trade (buyer and seller of one outcome), a mint (buyers of both outcomes of a binary
/// market: their collateral goes to escrow and a pair is issued) or a merge (sellers of both
/// outcomes: the pair is retired and escrow pays them).
pub fn match_transfers(
    market_id: &str,
    trade_id: &str,
    a: &Party<'_>,
    b: &Party<'_>,
    size: Size,
) -> Result<Vec<Transfer>, Overflow> {
    let mut usdc = Vec::new();
    let mut fees = Collateral::ZERO;
    let mut escrow_change = Collateral::ZERO;
    let mut shares = Vec::new();
    for p in [a, b] {
        let n = p.notional(size)?;
        fees = fees.checked_add(p.fee).ok_or(Overflow)?;
        match p.side {
            Side::Buy => {
                usdc.extend(posting(reserved(p.user_id), -p.cost(size)?.micros()));
                escrow_change = escrow_change.checked_add(n).ok_or(Overflow)?;
                shares.push((share_asset(market_id, p.outcome), available(p.user_id), size.micros()));
            }
            Side::Sell => {
                usdc.extend(posting(available(p.user_id), n.checked_sub(p.fee).ok_or(Overflow)?.micros()));
                escrow_change = escrow_change.checked_sub(n).ok_or(Overflow)?;
                shares.push((share_asset(market_id, p.outcome), reserved(p.user_id), -size.micros()));
            }
        }
    }
    usdc.extend(posting(Account::Fees, fees.micros()));
    usdc.extend(posting(escrow(market_id), escrow_change.micros()));
    let reference = Some(trade_id.to_string());
    let mut out = vec![Transfer {
        asset: COLLATERAL.to_string(),
        kind: "trade".into(),
        reference: reference.clone(),
        postings: usdc,
    }];
    if shares[0].0 == shares[1].0 {
        // One outcome changes hands.
        let postings = shares.into_iter().filter_map(|(_, account, amount)| posting(account, amount)).collect();
        out.push(Transfer { asset: share_asset(market_id, a.outcome), kind: "trade".into(), reference, postings });
    } else {
        // Each outcome is issued (mint) or retired (merge).
        for (asset, account, amount) in shares {
            let kind = if amount > 0 { "mint" } else { "merge" };
            let postings =
                [posting(account, amount), posting(issuer(market_id), -amount)].into_iter().flatten().collect();
            out.push(Transfer { asset, kind: kind.into(), reference: reference.clone(), postings });
        }
    }
    out.retain(|t| t.postings.len() >= 2);
    Ok(out)
}

pub use kairos_domain::ledger::reservation;

/// The transfers that settle a resolved market for one holder: every share is retired, and
/// each winning share is paid one unit of collateral from escrow.
pub fn resolution_transfers(
    market_id: &str,
    user_id: &str,
    outcome: u32,
    shares: Size,
    winning: bool,
) -> Vec<Transfer> {
    if !shares.is_positive() {
        return Vec::new();
    }
    // One unit of collateral per share: the same count of micro-units in both assets.
    let shares = shares.micros();
    let reference = Some(format!("market:{market_id}"));
    let mut out = vec![Transfer {
        asset: share_asset(market_id, outcome),
        kind: "settle".into(),
        reference: reference.clone(),
        postings: vec![
            Posting { account: available(user_id), amount_micros: -shares },
            Posting { account: issuer(market_id), amount_micros: shares },
        ],
    }];
    if winning {
        // One unit of collateral per share.
        out.push(Transfer {
            asset: COLLATERAL.to_string(),
            kind: "settle".into(),
            reference,
            postings: vec![
                Posting { account: escrow(market_id), amount_micros: -shares },
                Posting { account: available(user_id), amount_micros: shares },
            ],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: fn(i64) -> Price = Price::from_micros;
    const S: fn(i64) -> Size = Size::from_micros;
    const C: fn(i64) -> Collateral = Collateral::from_micros;

    fn sums_to_zero(transfers: &[Transfer]) {
        for t in transfers {
            assert_eq!(t.postings.iter().map(|p| p.amount_micros).sum::<i64>(), 0, "{t:?}");
        }
    }

    #[test]
    fn lots_keep_notionals_exact() {
        assert_eq!(size_lot(P(10_000)), S(100));
        assert_eq!(size_lot(P(1_000)), S(1_000));
        assert_eq!(size_lot(P(2_500)), S(400));
        for tick in [10_000i64, 1_000, 2_500, 100] {
            let lot = size_lot(P(tick)).micros();
            for t in 1..(MICROS_PER_UNIT / tick) {
                assert_eq!((t * tick * lot) % MICROS_PER_UNIT, 0);
            }
        }
        assert_eq!(notional(P(290_000), S(10_000_000)), Ok(C(2_900_000)));
        assert_eq!(fee(C(2_900_000), 25), Ok(C(7_250)));
        assert_eq!(fee(C(399), 25), Ok(C(0)), "fees round down");
        assert_eq!(buy_reservation(P(500_000), S(2_000_000), Fees { maker_bps: 0, taker_bps: 100 }), Ok(C(1_010_000)));
        let fees = Fees { maker_bps: 0, taker_bps: 100 };
        assert_eq!(buy_reservation(P(1_000_000), S(i64::MAX), fees), Err(Overflow), "never saturated");
        assert_eq!(within_range(S(i64::MAX / 2), fees), Ok(()));
        assert_eq!(within_range(S(i64::MAX - 1), fees), Err(Overflow));
    }

    #[test]
    fn a_trade_moves_collateral_and_shares_between_two_users() {
        let buyer = Party { user_id: "b", outcome: 0, side: Side::Buy, price: P(400_000), fee: C(400) };
        let seller = Party { user_id: "s", outcome: 0, side: Side::Sell, price: P(400_000), fee: C(0) };
        let t = match_transfers("m", "t1", &buyer, &seller, S(1_000_000)).expect("in range");
        sums_to_zero(&t);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[0].postings,
            vec![
                Posting { account: reserved("b"), amount_micros: -400_400 },
                Posting { account: available("s"), amount_micros: 400_000 },
                Posting { account: Account::Fees, amount_micros: 400 },
            ]
        );
        assert_eq!((t[1].asset.as_str(), t[1].postings.len()), ("shares:m:0", 2));
    }

    #[test]
    fn complementary_buys_mint_a_pair_backed_by_escrow() {
        let yes = Party { user_id: "a", outcome: 0, side: Side::Buy, price: P(300_000), fee: C(0) };
        let no = Party { user_id: "b", outcome: 1, side: Side::Buy, price: P(700_000), fee: C(0) };
        let t = match_transfers("m", "t1", &yes, &no, S(5_000_000)).expect("in range");
        sums_to_zero(&t);
        let escrowed: i64 = t[0].postings.iter().filter(|p| p.account == escrow("m")).map(|p| p.amount_micros).sum();
        assert_eq!(escrowed, 5_000_000, "one unit of collateral per pair");
        assert_eq!(t.iter().filter(|t| t.kind == "mint").count(), 2);
    }

    #[test]
    fn complementary_sells_merge_and_escrow_pays_out() {
        let yes = Party { user_id: "a", outcome: 0, side: Side::Sell, price: P(600_000), fee: C(60) };
        let no = Party { user_id: "b", outcome: 1, side: Side::Sell, price: P(400_000), fee: C(0) };
        let t = match_transfers("m", "t1", &yes, &no, S(1_000_000)).expect("in range");
        sums_to_zero(&t);
        let escrowed: i64 = t[0].postings.iter().filter(|p| p.account == escrow("m")).map(|p| p.amount_micros).sum();
        assert_eq!(escrowed, -1_000_000);
        assert_eq!(t.iter().filter(|t| t.kind == "merge").count(), 2);
    }

    #[test]
    fn resolution_pays_winners_one_per_share() {
        let win = resolution_transfers("m", "u", 0, S(3_000_000), true);
        sums_to_zero(&win);
        assert_eq!(win.len(), 2);
        assert_eq!(resolution_transfers("m", "u", 1, S(3_000_000), false).len(), 1);
        assert!(resolution_transfers("m", "u", 1, S(0), true).is_empty());
        assert_eq!(reservation("u", COLLATERAL, -5, "o").map(|t| t.kind), Some("release".to_string()));
        assert_eq!(reservation("u", COLLATERAL, 0, "o"), None);
    }
}
