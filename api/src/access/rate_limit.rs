//! Rate limits per principal (key, user, or client address) and class. Budgets are shared
//! through Redis when it answers (so instances share one budget: a one-second window counter
//! per principal and class); otherwise each instance limits on its own with governor, which
//! `/ready` reports as a degraded fallback. Budgets reload on SIGHUP.

use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use kairos_platform::cache::{CacheError, Redis};
use kairos_platform::config::{PrincipalKind, RateClass, RateLimits};
use kairos_platform::locks;

/// What a request was allowed, for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the budget refills (also `Retry-After` when refused).
    pub reset_secs: u64,
}

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

struct Local {
    limits: RateLimits,
    limiters: Vec<KeyedLimiter>,
    /// (class, kind, principal) refused until then: what [`RateLimiterSet::exhausted`] reads,
    /// since governor cannot look at a budget without spending it.
    refused_until: std::sync::Mutex<std::collections::HashMap<(usize, String), std::time::Instant>>,
}

impl Local {
    fn new(limits: RateLimits) -> Local {
        let mut limiters = Vec::new();
        for class in RateClass::ALL {
            for kind in PrincipalKind::ALL {
                let n = NonZeroU32::new(limits.get(class, kind)).unwrap_or(NonZeroU32::MIN);
                limiters.push(RateLimiter::keyed(Quota::per_second(n)).with_middleware::<StateInformationMiddleware>());
            }
        }
        Local { limits, limiters, refused_until: std::sync::Mutex::default() }
    }

    fn index(class: RateClass, kind: PrincipalKind) -> usize {
        class as usize * PrincipalKind::ALL.len() + kind as usize
    }

    fn limiter(&self, class: RateClass, kind: PrincipalKind) -> &KeyedLimiter {
        &self.limiters[Local::index(class, kind)]
    }
}

pub struct RateLimiterSet {
    local: RwLock<Arc<Local>>,
    redis: Option<Redis>,
}

impl std::fmt::Debug for RateLimiterSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiterSet").field("shared", &self.redis.is_some()).finish_non_exhaustive()
    }
}

impl RateLimiterSet {
    pub fn new(limits: RateLimits, redis: Option<Redis>) -> Self {
        RateLimiterSet { local: RwLock::new(Arc::new(Local::new(limits))), redis }
    }

    fn local(&self) -> Arc<Local> {
        locks::read(&self.local).clone()
    }

    pub fn limits(&self) -> RateLimits {
        self.local().limits
    }

    /// Swaps in new budgets (SIGHUP). Local counters start afresh.
    pub fn reload(&self, limits: RateLimits) {
        {
            let mut l = locks::write(&self.local);
            *l = Arc::new(Local::new(limits));
        }
    }

    /// Counts one request of `principal` in `class`.
    pub async fn check(&self, class: RateClass, kind: PrincipalKind, principal: &str) -> Decision {
        let local = self.local();
        let limit = local.limits.get(class, kind);
        if let Some(redis) = &self.redis {
            match shared_check(redis, class, kind, principal, limit).await {
                Ok(decision) => return decision,
                Err(e) => {
                    metrics::counter!("kairos_rate_limit_fallback_total").increment(1);
                    tracing::debug!(error = %e, "shared rate limit unavailable; limiting in-process");
                }
            }
        }
        let limiter = local.limiter(class, kind);
        match limiter.check_key(&principal.to_string()) {
            Ok(snapshot) => {
                Decision { allowed: true, limit, remaining: snapshot.remaining_burst_capacity(), reset_secs: 1 }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                {
                    let mut refused = locks::lock(&local.refused_until);
                    if refused.len() > 100_000 {
                        let now = std::time::Instant::now();
                        refused.retain(|_, until| *until > now);
                    }
                    refused
                        .insert((Local::index(class, kind), principal.to_string()), std::time::Instant::now() + wait);
                }
                Decision { allowed: false, limit, remaining: 0, reset_secs: wait.as_secs().max(1) }
            }
        }
    }

    /// The refusal `principal` would get in `class` now, without spending any of its budget;
    /// `None` while it has budget left.
    pub async fn exhausted(&self, class: RateClass, kind: PrincipalKind, principal: &str) -> Option<Decision> {
        let local = self.local();
        let limit = local.limits.get(class, kind);
        if let Some(redis) = &self.redis
            && let Ok(count) = shared_count(redis, class, kind, principal).await
        {
            return (count >= u64::from(limit)).then_some(Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset_secs: 1,
            });
        }
        let refused = locks::lock(&local.refused_until);
        let until = *refused.get(&(Local::index(class, kind), principal.to_string()))?;
        let wait = until.checked_duration_since(std::time::Instant::now())?;
        Some(Decision { allowed: false, limit, remaining: 0, reset_secs: wait.as_secs().max(1) })
    }

    /// Drops idle keys so the local maps do not grow without bound.
    pub fn prune(&self) {
        for limiter in &self.local().limiters {
            limiter.retain_recent();
        }
    }
}

fn shared_key(class: RateClass, kind: PrincipalKind, principal: &str) -> String {
    let second = kairos_domain::now_us() / 1_000_000;
    format!("kairos:rl:{}:{}:{principal}:{second}", class.as_str(), kind.as_str())
}

/// This second's count, without adding to it.
async fn shared_count(
    redis: &Redis,
    class: RateClass,
    kind: PrincipalKind,
    principal: &str,
) -> Result<u64, CacheError> {
    let mut conn = redis.connection().await?;
    let count: Option<u64> = redis::cmd("GET").arg(shared_key(class, kind, principal)).query_async(&mut conn).await?;
    Ok(count.unwrap_or(0))
}

async fn shared_check(
    redis: &Redis,
    class: RateClass,
    kind: PrincipalKind,
    principal: &str,
    limit: u32,
) -> Result<Decision, CacheError> {
    let mut conn = redis.connection().await?;
    let key = shared_key(class, kind, principal);
    let (count,): (u64,) =
        redis::pipe().atomic().incr(&key, 1u64).expire(&key, 2).ignore().query_async(&mut conn).await?;
    let limit64 = u64::from(limit);
    Ok(Decision {
        allowed: count <= limit64,
        limit,
        remaining: u32::try_from(limit64.saturating_sub(count)).unwrap_or(0),
        reset_secs: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_budgets_refuse_past_the_limit_and_cancels_have_their_own() {
        let mut limits = RateLimits::DEFAULT;
        limits.set(RateClass::Trade, PrincipalKind::Key, 3);
        let set = RateLimiterSet::new(limits, None);
        for _ in 0..3 {
            assert!(set.check(RateClass::Trade, PrincipalKind::Key, "k1").await.allowed);
        }
        let refused = set.check(RateClass::Trade, PrincipalKind::Key, "k1").await;
        assert!(!refused.allowed);
        assert!(refused.reset_secs >= 1);
        assert!(set.check(RateClass::Trade, PrincipalKind::Key, "k2").await.allowed, "per principal");
        assert!(set.check(RateClass::Cancel, PrincipalKind::Key, "k1").await.allowed, "cancels are budgeted apart");
    }

    #[tokio::test]
    async fn an_exhausted_budget_is_seen_without_spending_any() {
        let mut limits = RateLimits::DEFAULT;
        limits.set(RateClass::Auth, PrincipalKind::Anonymous, 2);
        let set = RateLimiterSet::new(limits, None);
        for _ in 0..5 {
            assert_eq!(
                set.exhausted(RateClass::Auth, PrincipalKind::Anonymous, "1.2.3.4").await,
                None,
                "looking is free"
            );
        }
        assert!(set.check(RateClass::Auth, PrincipalKind::Anonymous, "1.2.3.4").await.allowed);
        assert!(set.check(RateClass::Auth, PrincipalKind::Anonymous, "1.2.3.4").await.allowed);
        assert!(!set.check(RateClass::Auth, PrincipalKind::Anonymous, "1.2.3.4").await.allowed);
        let refused = set.exhausted(RateClass::Auth, PrincipalKind::Anonymous, "1.2.3.4").await.expect("exhausted");
        assert!(!refused.allowed && refused.reset_secs >= 1);
        assert_eq!(set.exhausted(RateClass::Auth, PrincipalKind::Anonymous, "5.6.7.8").await, None, "per address");
    }
}
