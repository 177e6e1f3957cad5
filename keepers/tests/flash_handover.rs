//! Two `kairos-keepers` processes run a flash market's life against the local chain, on both
//! databases, and the one holding `flash-oracle` is killed with SIGKILL between two ticks: the
//! other takes the job over within its lease, continues the same chain of ticks (each still in
//! its own slot, none invented), locks, proves and resolves. Every job ran under one lease at a
//! time, so nothing was created, locked or resolved twice. (On SQLite this once locked the
//! database for tens of seconds: a lease renewal waited for the write lock its own job's
//! transaction held, and the scheduler did not run the job meanwhile.)

use std::process::Stdio;
use std::time::{Duration, Instant};

use kairos_platform::storage::flash_markets::{self, FlashMarketRow};
use kairos_platform::storage::{Db, flash_ticks, scratch};

mod flash_world;
mod processes;
use flash_world::{FlashWorld, TICKS, bet, pending};
use processes::{Keepers, keepers, pid_of, signal, until_job};

/// Long enough that a handover (a 1 s lease) fits inside one tick's slot.
const INTERVAL_S: i64 = 3;

/// Polls the market's row until `done` holds.
async fn market_until(db: &Db, id: &str, within: Duration, done: impl Fn(&FlashMarketRow) -> bool) -> FlashMarketRow {
    let start = Instant::now();
    loop {
        let row = flash_markets::get(db, id).await.expect("read").expect("row");
        if done(&row) {
            return row;
        }
        assert!(start.elapsed() < within, "not within {within:?}: {row:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_oracle_hands_the_market_over_and_it_resolves_on_the_same_ticks() {
    let world = FlashWorld::new().await;
    for db in scratch::all().await {
        let label = db.label;
        let store = Db::connect(&db.url, 2).await.expect("connect");
        store.migrate().await.expect("migrate");
        let data = tempfile::tempdir().expect("data");
        let vars = world.keeper_vars(&db.url, data.path(), 1_000);
        let m = pending(&store, INTERVAL_S).await;
        let spawn = || keepers(&vars).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn keeper");
        let mut running = Keepers(vec![spawn(), spawn()]);
        market_until(&store, &m.id, Duration::from_secs(20), |r| r.status == "open").await;
        bet(&world.rpc, &m, 1, 15_000_000).await;
        bet(&world.rpc, &m, 0, 10_000_000).await;

        // Two ticks in, kill -9 whichever process holds the oracle.
        let start = Instant::now();
        while flash_ticks::of(&store, &m.id).await.expect("ticks").len() < 2 {
            assert!(start.elapsed() < Duration::from_secs(30), "{label}: no second tick");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (job, _) = until_job(&vars, "flash-oracle", Duration::from_secs(5), |j| j["holder"].is_string()).await;
        let ids: Vec<u32> = running.0.iter().map(std::process::Child::id).collect();
        let holder = pid_of(&job["holder"]).expect("holder pid");
        let dead = usize::from(holder != ids[0]);
        signal(&running.0[dead], "-KILL");
        let _ = running.0[dead].wait();
        let survivor = running.0[1 - dead].id();

        let done = market_until(&store, &m.id, Duration::from_secs(40), |r| {
            (r.status == "resolved" && r.resolve_signature.is_some()) || r.status == "voided"
        })
        .await;
        assert_eq!(done.status, "resolved", "{label}: {done:?}");
        assert_eq!(done.winning_outcome, Some(1), "{label}: bitcoin stayed above the strike");
        assert_eq!(done.totals, vec![10_000_000, 15_000_000], "{label}: both bets synced");
        assert!(done.lock_signature.is_some(), "{label}: {done:?}");
        let (job, _) = until_job(&vars, "flash-oracle", Duration::from_secs(5), |j| j["holder"].is_string()).await;
        assert_eq!(pid_of(&job["holder"]), Some(survivor), "{label}: {job:#}");

        let ticks = flash_ticks::of(&store, &m.id).await.expect("ticks");
        assert_eq!(ticks.len(), TICKS as usize, "{label}: {ticks:?}");
        let interval = INTERVAL_S * 1_000_000;
        for (i, t) in ticks.iter().enumerate() {
            let slot = m.lock_at_us + i as i64 * interval;
            assert!(
                (slot..slot + interval).contains(&t.received_at_us),
                "{label}: tick {i} outside its slot: {ticks:?}"
            );
        }
        assert!(ticks.windows(2).all(|w| w[0].price < w[1].price), "{label}: each its own observation: {ticks:?}");
        let id = kairos_keepers::flash::market_id(&m.market_id).expect("id");
        let on_chain = world.rpc.market(&id).await.expect("read").expect("account");
        assert_eq!(on_chain.winning_outcome, Some(1), "{label}");
        drop(running);
    }
}
