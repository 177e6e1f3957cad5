//! Protocol V2 positions: which order version and balance asset type a token id needs.
//!
//! Polymarket's Protocol V2 markets (Gamma `version: "v2"`, ids in `positionIds`) hold their
//! positions in the PositionManager, settle through ExchangeV3 (order version 3, EIP-712 domain
//! version "3") and are read with the balance asset type `CONDITIONAL-V2`; CTF markets (Gamma
//! `version: "v1"`, `clobTokenIds`) keep version 2 and `CONDITIONAL`. Sources: Polymarket's
//! "Polymarket V2 API integrations" and "protocol V2 migration" pages; polymarket-client 0.14.0
//! (`is_v2_position_id`, `orders/allowance.py`).
//!
//! The market's Gamma `version` is the authority. When it is not known, the id itself tells:
//! a V2 position id packs a module id, a condition id narrowed to 31 bytes and an outcome
//! index so that bits 40 to 103 are zero, while a CTF token id is a keccak hash (those 64 bits
//! all zero with probability 2^-64).

use crate::eth::U256;

use crate::orders::Version;

/// Whether `token_id` is a Protocol V2 position id (bits 40 to 103 zero, and not zero).
pub fn is_position_id(token_id: U256) -> bool {
    let mask: U256 = U256::from(u64::MAX) << 40usize;
    !token_id.is_zero() && (token_id & mask).is_zero()
}

/// The order version for a token: 3 for a V2 position, else `server` (what `GET /version`
/// says for CTF tokens, 2 today).
pub fn order_version(token_id: U256, server: Version) -> Version {
    if is_position_id(token_id) { Version::V3 } else { server }
}

/// The `asset_type` of `GET /balance-allowance` and its update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetType {
    /// pUSD (USDC before the V2 cutover).
    Collateral,
    /// A CTF outcome token.
    Conditional,
    /// A Protocol V2 position.
    ConditionalV2,
}

impl AssetType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Collateral => "COLLATERAL",
            AssetType::Conditional => "CONDITIONAL",
            AssetType::ConditionalV2 => "CONDITIONAL-V2",
        }
    }

    /// The asset type of an outcome token's balance.
    pub fn of_token(token_id: U256) -> AssetType {
        if is_position_id(token_id) { AssetType::ConditionalV2 } else { AssetType::Conditional }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A V2 position id laid out as polymarket-client 0.14.0 decodes one: the module id in the
    /// top byte, the rest of the 31-byte condition id below it (bits 40 to 103 zero), the
    /// outcome index in the low byte.
    fn position(module: u8, condition_bits: u64, outcome: u8) -> U256 {
        (U256::from(module) << 248usize) | (U256::from(condition_bits) << 104usize) | U256::from(outcome)
    }

    #[test]
    fn position_ids_and_ctf_token_ids_are_told_apart() {
        let v2 = position(1, 0xdead_beef, 1);
        assert!(is_position_id(v2));
        assert_eq!(order_version(v2, Version::V2), Version::V3);
        assert_eq!(AssetType::of_token(v2).as_str(), "CONDITIONAL-V2");
        // A CTF token id from a live market (a keccak hash): version 2 and CONDITIONAL.
        let ctf =
            U256::from_str_radix("71321045679252212594626385532706912750332728571942532289631379312455583992563", 10)
                .expect("token id");
        assert!(!is_position_id(ctf));
        assert_eq!(order_version(ctf, Version::V2), Version::V2);
        assert_eq!(AssetType::of_token(ctf), AssetType::Conditional);
        // One bit inside the 40..104 window makes it a CTF id; zero is no position.
        assert!(!is_position_id(v2 | (U256::from(1u8) << 40usize)));
        assert!(!is_position_id(v2 | (U256::from(1u8) << 103usize)));
        assert!(is_position_id(v2 | (U256::from(1u8) << 104usize)));
        assert!(!is_position_id(U256::ZERO));
        assert_eq!(AssetType::Collateral.as_str(), "COLLATERAL");
    }
}
