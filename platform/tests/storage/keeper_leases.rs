//! The keepers' lease rules on every backend: one holder at a time, takeover after expiry
//! with a larger fence, and nothing written by a holder that lost its lease.

use kairos_platform::storage::keeper_jobs::{self, Finished};
use kairos_platform::storage::scratch;

use super::fresh;

const S: i64 = 1_000_000;

#[tokio::test]
async fn one_holder_at_a_time_and_a_late_holder_changes_nothing() {
    for scratch in scratch::all().await {
        let db = fresh(&scratch.url).await;
        let t0 = 1_800_000_000 * S;
        keeper_jobs::register(&db, "probes", true, 60_000, t0).await.expect("register");
        keeper_jobs::register(&db, "probes", true, 30_000, t0 + S).await.expect("register again");

        let a = keeper_jobs::claim(&db, "probes", "host/1", t0, t0 + 10 * S).await.expect("claim").expect("a holds");
        assert_eq!((a.fence, a.next_run_at_us, a.attempts), (1, t0, 0), "{}", scratch.label);
        assert!(keeper_jobs::claim(&db, "probes", "host/2", t0 + 5 * S, t0 + 15 * S).await.expect("claim").is_none());
        assert!(keeper_jobs::renew(&db, "probes", "host/1", a.fence, t0 + 20 * S).await.expect("renew"));
        assert!(
            keeper_jobs::claim(&db, "probes", "host/2", t0 + 15 * S, t0 + 25 * S).await.expect("claim").is_none(),
            "renewed: still held"
        );

        // host/1 freezes; its lease runs out and host/2 takes over with a larger fence.
        let b = keeper_jobs::claim(&db, "probes", "host/2", t0 + 20 * S, t0 + 30 * S).await.expect("claim").expect("b");
        assert_eq!(b.fence, 2);
        let late = Finished { ran_at_us: t0 + 21 * S, next_run_at_us: t0 + 81 * S, attempts: 0, error: None };
        assert!(!keeper_jobs::finish(&db, "probes", "host/1", a.fence, &late).await.expect("finish"));
        assert!(!keeper_jobs::renew(&db, "probes", "host/1", a.fence, t0 + 40 * S).await.expect("renew"));
        assert!(!keeper_jobs::release(&db, "probes", "host/1", a.fence).await.expect("release"));
        let mut conn = db.pool().acquire().await.expect("conn");
        assert!(!keeper_jobs::hold_fence_in(&mut conn, "probes", "host/1", a.fence).await.expect("hold"));
        assert!(keeper_jobs::hold_fence_in(&mut conn, "probes", "host/2", b.fence).await.expect("hold"));
        drop(conn);

        let failed = Finished { ran_at_us: t0 + 22 * S, next_run_at_us: t0 + 24 * S, attempts: 1, error: Some("boom") };
        assert!(keeper_jobs::finish(&db, "probes", "host/2", b.fence, &failed).await.expect("finish"));
        let ok = Finished { ran_at_us: t0 + 24 * S, next_run_at_us: t0 + 54 * S, attempts: 0, error: None };
        assert!(keeper_jobs::finish(&db, "probes", "host/2", b.fence, &ok).await.expect("finish"));
        let rows = keeper_jobs::all(&db).await.expect("all");
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (
                row.holder.as_deref(),
                row.period_ms,
                row.next_run_at_us,
                row.last_success_at_us,
                row.last_error.as_deref()
            ),
            (Some("host/2"), 30_000, t0 + 54 * S, Some(t0 + 24 * S), None),
            "{}",
            scratch.label
        );

        // Released: the next claim need not wait for the lease to run out.
        assert!(keeper_jobs::release(&db, "probes", "host/2", b.fence).await.expect("release"));
        let c = keeper_jobs::claim(&db, "probes", "host/3", t0 + 25 * S, t0 + 35 * S).await.expect("claim").expect("c");
        assert_eq!((c.fence, c.next_run_at_us), (3, t0 + 54 * S));

        // A disabled job is claimed by nobody.
        keeper_jobs::register(&db, "probes", false, 30_000, t0).await.expect("disable");
        assert!(keeper_jobs::release(&db, "probes", "host/3", c.fence).await.expect("release"));
        assert!(keeper_jobs::claim(&db, "probes", "host/1", t0 + 99 * S, t0 + 109 * S).await.expect("claim").is_none());
        db.close().await;
    }
}
