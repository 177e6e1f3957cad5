//! Payout arithmetic, in integers: the fee is taken from the losing side only, and each
//! winner gets their stake back plus their pro-rata share of what is left, rounded down. The
//! rounding dust stays in the vault until the last winner claims, then goes to the fee account.

use crate::error::FlashError;

/// `floor(losing × fee_bps / 10 000)`.
pub fn fee(losing_total: u64, fee_bps: u16) -> Result<u64, FlashError> {
    let fee = u128::from(losing_total) * u128::from(fee_bps) / 10_000;
    u64::try_from(fee).map_err(|_| FlashError::Overflow)
}

/// `stake + floor(stake × pool / winning_total)`: never more, summed over every winner, than
/// `winning_total + pool`.
pub fn winner_payout(stake: u64, pool: u64, winning_total: u64) -> Result<u64, FlashError> {
    if winning_total == 0 || stake > winning_total {
        return Err(FlashError::Overflow);
    }
    let share = u128::from(stake) * u128::from(pool) / u128::from(winning_total);
    let share = u64::try_from(share).map_err(|_| FlashError::Overflow)?;
    stake.checked_add(share).ok_or(FlashError::Overflow)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_small_market_pays_as_worked_out_by_hand() {
        // 100 and 50 on the winner, 31 on the loser, 2.5 % fee.
        let fee = fee(31, 250).expect("fee");
        assert_eq!(fee, 0);
        assert_eq!(winner_payout(100, 31, 150), Ok(120));
        assert_eq!(winner_payout(50, 31, 150), Ok(60));
        assert_eq!(super::fee(1_000_000, 250), Ok(25_000));
    }

    #[test]
    fn overflow_and_empty_sides_are_refused() {
        assert_eq!(winner_payout(1, 1, 0), Err(FlashError::Overflow));
        assert_eq!(winner_payout(2, 1, 1), Err(FlashError::Overflow));
        assert_eq!(winner_payout(u64::MAX, u64::MAX, u64::MAX), Err(FlashError::Overflow));
    }

    proptest! {
        #[test]
        fn winners_never_get_more_than_the_vault(
            stakes in proptest::collection::vec(1u64..1_000_000_000_000, 1..20),
            losing in 0u64..1_000_000_000_000_000,
            bps in 0u16..=10_000,
        ) {
            let winning_total: u64 = stakes.iter().sum();
            let fee = fee(losing, bps).expect("fee");
            let pool = losing - fee;
            let paid: u64 = stakes.iter().map(|s| winner_payout(*s, pool, winning_total).expect("payout")).sum();
            prop_assert!(paid <= winning_total + pool);
            // The dust is below one unit per winner.
            prop_assert!(winning_total + pool - paid < stakes.len() as u64);
        }
    }
}
