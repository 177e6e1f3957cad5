//! The omnibus account's order budget, shared fairly. Every Kairos user places through one CLOB
//! account, whose per-signer order bucket is one for all of them: without a share, one user
//! could spend it and leave everyone else's orders throttled by the CLOB. This instance places
//! at most `KAIROS_POLYMARKET__ORDERS_PER_SECOND` orders a second in all, one user at most
//! `KAIROS_POLYMARKET__USER_SHARE_PERCENT` of that; past either, an order is refused (429)
//! before anything is written or sent. Cancels are never counted: the CLOB keeps a separate
//! cancel bucket per signer, and pulling quotes must always be possible.

use std::num::NonZeroU32;

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

pub struct OrderBudget {
    all: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    per_user: RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>,
    per_user_limit: u32,
}

impl std::fmt::Debug for OrderBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderBudget").field("per_user_limit", &self.per_user_limit).finish_non_exhaustive()
    }
}

impl OrderBudget {
    pub fn new(orders_per_second: u32, user_share_percent: u32) -> OrderBudget {
        let all = NonZeroU32::new(orders_per_second).unwrap_or(NonZeroU32::MIN);
        let per_user_limit = (u64::from(all.get()) * u64::from(user_share_percent) / 100).max(1);
        let per_user_limit = u32::try_from(per_user_limit).unwrap_or(u32::MAX);
        let per_user = NonZeroU32::new(per_user_limit).unwrap_or(NonZeroU32::MIN);
        OrderBudget {
            all: RateLimiter::direct(Quota::per_second(all)),
            per_user: RateLimiter::keyed(Quota::per_second(per_user)),
            per_user_limit,
        }
    }

    /// Takes one order from the user's share and from the whole; false when either is spent.
    /// The user's share is checked first, so a user over theirs spends nothing of the whole.
    pub fn take(&self, user_id: &str) -> bool {
        self.per_user.check_key(&user_id.to_string()).is_ok() && self.all.check().is_ok()
    }

    /// Drops idle users so the map does not grow without bound.
    pub fn prune(&self) {
        self.per_user.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_takes_at_most_their_share_and_others_still_place() {
        let budget = OrderBudget::new(8, 25);
        assert_eq!((0..5).filter(|_| budget.take("greedy")).count(), 2, "25% of 8 a second");
        assert!(budget.take("other"), "the rest is still there for others");
        let small = OrderBudget::new(1, 1);
        assert!(small.take("u"), "a share never rounds down to nothing");
    }
}
