//! The ledger's model: accounts, postings and transfers. Money moves only as transfers whose
//! postings sum to zero per asset; the storage layer (`kairos_platform::storage::ledger`) keeps
//! them in a hash chain and refuses any that would overdraw a user.
//!
//! Accounts are a typed value so that code asks "whose is this?" of the type, never of a
//! string's prefix. Their text form (`user:<id>:available`, `market:<id>:escrow`, …) is what the
//! database holds and what `GET /v1/ledger` shows; [`Account`]'s `Display` and `FromStr` are the
//! only places that spell it.

use std::fmt;
use std::str::FromStr;

/// The collateral asset, in micro-units.
pub const COLLATERAL: &str = "USDC";

/// Why a transfer was refused.
pub const INSUFFICIENT_FUNDS: &str = "insufficient funds";

/// The three balances a user holds of each asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// Spendable.
    Available,
    /// Held for open orders.
    Reserved,
    /// What an external venue matched but has not yet settled: shares bought, collateral from
    /// shares sold. It becomes `available` when the venue confirms the trade and goes back where
    /// it came from when the trade fails.
    Pending,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Available => "available",
            Bucket::Reserved => "reserved",
            Bucket::Pending => "pending",
        }
    }
}

/// Every kind of account the ledger holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    User {
        user_id: String,
        bucket: Bucket,
    },
    /// Collateral backing a market's minted pairs.
    Escrow {
        market_id: String,
    },
    /// Minus a market's shares in circulation.
    Issuer {
        market_id: String,
    },
    /// Fees the paper venue charged.
    Fees,
    /// Where deposits come from (operators' credits, the dev faucet): its balance is minus what
    /// was ever deposited, so the ledger as a whole sums to zero.
    Deposits,
    /// An external venue's omnibus account: what Kairos's users hold there, together.
    Venue {
        name: String,
    },
}

/// A user's spendable balance.
pub fn available(user_id: &str) -> Account {
    Account::User { user_id: user_id.to_string(), bucket: Bucket::Available }
}

/// A user's balance held for open orders.
pub fn reserved(user_id: &str) -> Account {
    Account::User { user_id: user_id.to_string(), bucket: Bucket::Reserved }
}

/// A user's balance waiting for an external venue to settle (see [`Bucket::Pending`]).
pub fn pending(user_id: &str) -> Account {
    Account::User { user_id: user_id.to_string(), bucket: Bucket::Pending }
}

impl Account {
    /// The user who owns the account, for user accounts.
    pub fn user(&self) -> Option<(&str, Bucket)> {
        match self {
            Account::User { user_id, bucket } => Some((user_id, *bucket)),
            _ => None,
        }
    }

    /// User accounts never go negative; system, market and venue accounts may.
    pub fn may_go_negative(&self) -> bool {
        !matches!(self, Account::User { .. })
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::User { user_id, bucket } => write!(f, "user:{user_id}:{}", bucket.as_str()),
            Account::Escrow { market_id } => write!(f, "market:{market_id}:escrow"),
            Account::Issuer { market_id } => write!(f, "market:{market_id}:issuer"),
            Account::Fees => f.write_str("system:fees"),
            Account::Deposits => f.write_str("system:deposits"),
            Account::Venue { name } => write!(f, "venue:{name}"),
        }
    }
}

/// An account name that is none of [`Account`]'s forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a ledger account: {0:?}")]
pub struct UnknownAccount(pub String);

impl FromStr for Account {
    type Err = UnknownAccount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownAccount(s.to_string());
        // Ids are the text between the fixed prefix and suffix, so an id holding a colon
        // still reads back as itself.
        let id = |prefix: &str, suffix: &str| {
            s.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)).filter(|id| !id.is_empty()).map(str::to_string)
        };
        let account = match s {
            "system:fees" => Some(Account::Fees),
            "system:deposits" => Some(Account::Deposits),
            _ if s.starts_with("venue:") => id("venue:", "").map(|name| Account::Venue { name }),
            _ if s.starts_with("market:") => id("market:", ":escrow")
                .map(|market_id| Account::Escrow { market_id })
                .or_else(|| id("market:", ":issuer").map(|market_id| Account::Issuer { market_id })),
            _ => [Bucket::Available, Bucket::Reserved, Bucket::Pending].into_iter().find_map(|bucket| {
                id("user:", &format!(":{}", bucket.as_str())).map(|user_id| Account::User { user_id, bucket })
            }),
        };
        account.ok_or_else(unknown)
    }
}

/// One leg of a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: Account,
    /// Signed micro-units: positive credits the account.
    pub amount_micros: i64,
}

/// A movement of one asset between accounts, its postings summing to zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub asset: String,
    /// `credit`, `faucet`, `reserve`, `release`, `trade`, `fee`, `settle`…
    pub kind: String,
    pub reference: Option<String>,
    pub postings: Vec<Posting>,
}

/// Why a transfer is not well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("a transfer needs at least two postings")]
    TooFewPostings,
    #[error("a posting of zero moves nothing")]
    ZeroPosting,
    #[error("a transfer's postings must sum to zero")]
    Unbalanced,
}

impl Transfer {
    /// A transfer of collateral, `amount_micros` from one account to another.
    pub fn between(from: Account, to: Account, amount_micros: i64, kind: &str, reference: Option<String>) -> Transfer {
        Transfer {
            asset: COLLATERAL.to_string(),
            kind: kind.to_string(),
            reference,
            postings: vec![
                Posting { account: from, amount_micros: -amount_micros },
                Posting { account: to, amount_micros },
            ],
        }
    }

    /// Two postings or more, none zero, summing to zero (without overflow).
    pub fn validate(&self) -> Result<(), TransferError> {
        if self.postings.len() < 2 {
            return Err(TransferError::TooFewPostings);
        }
        if self.postings.iter().any(|p| p.amount_micros == 0) {
            return Err(TransferError::ZeroPosting);
        }
        let sum = self.postings.iter().try_fold(0i64, |acc, p| acc.checked_add(p.amount_micros));
        if sum != Some(0) {
            return Err(TransferError::Unbalanced);
        }
        Ok(())
    }
}

/// Moves `amount` of `asset` between a user's available and reserved accounts (`reserve` when
/// positive, `release` when negative).
pub fn reservation(user_id: &str, asset: &str, amount: i64, order_id: &str) -> Option<Transfer> {
    if amount == 0 {
        return None;
    }
    let (from, to, kind) = if amount > 0 {
        (available(user_id), reserved(user_id), "reserve")
    } else {
        (reserved(user_id), available(user_id), "release")
    };
    Some(Transfer {
        asset: asset.to_string(),
        kind: kind.into(),
        reference: Some(order_id.to_string()),
        postings: vec![
            Posting { account: from, amount_micros: -amount.abs() },
            Posting { account: to, amount_micros: amount.abs() },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_reads_back_from_its_name() {
        let all = [
            available("u1"),
            reserved("u1"),
            pending("u1"),
            Account::Escrow { market_id: "m".into() },
            Account::Issuer { market_id: "m".into() },
            Account::Fees,
            Account::Deposits,
            Account::Venue { name: "polymarket".into() },
        ];
        for account in all {
            assert_eq!(account.to_string().parse::<Account>(), Ok(account.clone()), "{account}");
        }
        assert_eq!(available("u1").to_string(), "user:u1:available");
        assert_eq!(Account::Escrow { market_id: "m".into() }.to_string(), "market:m:escrow");
    }

    #[test]
    fn names_of_no_account_are_refused() {
        for name in [
            "",
            "user:u1",
            "user::available",
            "user:u1:spare",
            "system:other",
            "market:m",
            "venue:",
            "x:y:z:w",
            "market::escrow",
        ] {
            assert!(name.parse::<Account>().is_err(), "{name}");
        }
    }

    #[test]
    fn a_transfer_must_balance() {
        let t = Transfer::between(Account::Deposits, available("u"), 5, "credit", None);
        assert_eq!(t.validate(), Ok(()));
        let mut one_leg = t.clone();
        one_leg.postings.pop();
        assert_eq!(one_leg.validate(), Err(TransferError::TooFewPostings));
        let mut zero = t.clone();
        zero.postings[0].amount_micros = 0;
        assert_eq!(zero.validate(), Err(TransferError::ZeroPosting));
        let mut off = t;
        off.postings[0].amount_micros = -4;
        assert_eq!(off.validate(), Err(TransferError::Unbalanced));
        let overflowing = Transfer {
            asset: COLLATERAL.into(),
            kind: "x".into(),
            reference: None,
            postings: vec![
                Posting { account: Account::Fees, amount_micros: i64::MAX },
                Posting { account: Account::Deposits, amount_micros: i64::MAX },
                Posting { account: Account::Deposits, amount_micros: 2 },
            ],
        };
        assert_eq!(overflowing.validate(), Err(TransferError::Unbalanced));
    }
}
