//! What one `kairos-keepers` process costs while it runs 100 flash markets at once: each
//! created, observed (4 ticks a second apart), locked, proved and resolved on the local chain,
//! with chain-sync following them, on SQLite. The process is sampled from /proc every 250 ms:
//! CPU (user + system time over the wall time, in cores) and resident memory. The reference,
//! measured in the same run, is the same process idle for 10 s before the markets are written.
//!
//! `cargo bench -p kairos-keepers --bench flash_markets` (prints the figures; `MARKETS=n` for
//! another count).

use std::process::Stdio;
use std::time::{Duration, Instant};

use kairos_platform::storage::flash_markets;
use kairos_platform::storage::{Db, scratch};

#[path = "../tests/flash_world/mod.rs"]
mod flash_world;
#[path = "../tests/processes/mod.rs"]
mod processes;
use flash_world::{FlashWorld, pending};
use processes::{Keepers, keepers};

/// CPU seconds (user + system) and resident KiB of `pid`, from /proc.
fn sample(pid: u32, ticks_per_s: f64) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').expect("stat format").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let (utime, stime): (f64, f64) = (fields[11].parse().expect("utime"), fields[12].parse().expect("stime"));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    ((utime + stime) / ticks_per_s, rss)
}

/// Mean cores and peak RSS (KiB) of `pid` over `span`, sampled until `done` holds or
/// `span` ends.
struct Window {
    cores: f64,
    peak_kib: u64,
    last_kib: u64,
    seconds: f64,
}

async fn watch<F, Fut>(pid: u32, ticks_per_s: f64, span: Duration, done: F) -> Window
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    let (cpu0, mut peak) = sample(pid, ticks_per_s);
    let mut last = peak;
    while start.elapsed() < span && !done().await {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, rss) = sample(pid, ticks_per_s);
        peak = peak.max(rss);
        last = rss;
    }
    let (cpu1, _) = sample(pid, ticks_per_s);
    let seconds = start.elapsed().as_secs_f64();
    Window { cores: (cpu1 - cpu0) / seconds, peak_kib: peak, last_kib: last, seconds }
}

fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("getconf");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("CLK_TCK")
}

#[tokio::main]
async fn main() {
    let markets: usize = std::env::var("MARKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let ticks_per_s = clock_ticks();
    let world = FlashWorld::new().await;
    let db = scratch::sqlite();
    let store = Db::connect(&db.url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let data = tempfile::tempdir().expect("data");
    let vars = world.keeper_vars(&db.url, data.path(), 15_000);
    let child = keepers(&vars).stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn keeper");
    let pid = child.id();
    let _running = Keepers(vec![child]);
    tokio::time::sleep(Duration::from_secs(2)).await;

    let idle = watch(pid, ticks_per_s, Duration::from_secs(10), || async { false }).await;

    let mut ids = Vec::with_capacity(markets);
    for _ in 0..markets {
        ids.push(pending(&store, 1).await.id);
    }
    let settled = || async {
        let rows = flash_markets::with_status(&store, &["resolved", "voided"], 10_000).await.expect("read");
        // Resolved with its signature recorded, or voided at the deadline without a winner.
        let done = |r: &&flash_markets::FlashMarketRow| r.resolve_signature.is_some() || r.winning_outcome.is_none();
        rows.iter().filter(|r| ids.contains(&r.id)).filter(done).count() == ids.len()
    };
    let busy = watch(pid, ticks_per_s, Duration::from_secs(180), settled).await;

    // Nobody bets here, so a proved resolve refunds (the program records it voided with its
    // winner): what counts is the resolve's signature.
    let mut proved = 0;
    for id in &ids {
        let row = flash_markets::get(&store, id).await.expect("read").expect("row");
        proved += usize::from(row.resolve_signature.is_some() && row.winning_outcome.is_some());
    }
    println!(
        "flash_markets: {markets} markets, {proved} resolved by a proof, {:.1} s from written to settled",
        busy.seconds
    );
    println!(
        "flash_markets: keepers CPU {:.3} cores over that window ({:.1} ms of CPU per market), RSS peak {:.1} MiB, at the end {:.1} MiB",
        busy.cores,
        busy.cores * busy.seconds * 1_000.0 / markets as f64,
        busy.peak_kib as f64 / 1024.0,
        busy.last_kib as f64 / 1024.0
    );
    println!(
        "flash_markets: reference, the same process idle ({:.0} s): CPU {:.4} cores, RSS {:.1} MiB; ratio RSS {:.2}x",
        idle.seconds,
        idle.cores,
        idle.peak_kib as f64 / 1024.0,
        busy.peak_kib as f64 / idle.peak_kib.max(1) as f64
    );
    assert_eq!(proved, markets, "every market is resolved by a proof");
}
