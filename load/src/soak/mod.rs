//! The soak behind `kairos-soak` and `scripts/soak.sh`: a steady mix of what a live server
//! sees (market makers placing and cancelling signed orders, readers, websocket subscribers, a
//! client that keeps reconnecting) for a long time, sampled every interval, then judged
//! ([`verdict`]): flat memory and latency, and nothing that should never fail failing.
//!
//! The load is paced (a fixed order and read rate), not as fast as the server goes: a soak
//! looks for what changes with time at a realistic load, which saturation would hide.

mod streams;
mod traffic;
pub mod verdict;
pub mod window;

use std::sync::Arc;
use std::time::Duration;

use crate::{Accounts, Signer};
use traffic::Ctx;
pub use verdict::{Criteria, Verdict, judge};
pub use window::{Sample, Window};

#[derive(Debug, Clone)]
pub struct Plan {
    pub base_url: String,
    pub accounts: Accounts,
    pub duration: Duration,
    /// How often a sample is taken.
    pub interval: Duration,
    /// Orders per second, over all traders.
    pub order_rate: u32,
    pub traders: usize,
    /// How many of its orders a trader leaves resting before it cancels the oldest.
    pub keep_resting: usize,
    /// Reads per second, over all readers.
    pub read_rate: u32,
    pub readers: usize,
    pub subscribers: usize,
    /// How long the reconnecting client stays before it leaves and comes back.
    pub reconnect_hold: Duration,
    /// The server's PID, to sample its resident set.
    pub server_pid: Option<u32>,
}

/// Runs the soak; `on_sample` sees each sample as its interval ends.
pub async fn run(plan: &Plan, mut on_sample: impl FnMut(&Sample)) -> Vec<Sample> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(plan.traders + plan.readers)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let skew = crate::server_skew_ms(&client, &plan.base_url).await;
    let started = tokio::time::Instant::now();
    let ctx = Ctx {
        client,
        base_url: plan.base_url.clone(),
        market_id: plan.accounts.market_id.clone(),
        window: Arc::new(Window::default()),
        deadline: started + plan.duration,
    };
    // Each client signs with one market maker's key, round the accounts; the clients of one
    // key share its signer, so no two of them send the same signature.
    let signers: Vec<Signer> = plan.accounts.accounts.iter().map(|a| Signer::for_account(a, skew)).collect();
    let signer = |i: usize| signers[i % signers.len()].clone();
    let per_client = |count: usize, rate: u32| Duration::from_secs_f64(count as f64 / f64::from(rate.max(1)));
    let mut clients = tokio::task::JoinSet::new();
    for worker in 0..plan.traders {
        let period = per_client(plan.traders, plan.order_rate);
        clients.spawn(traffic::trader(ctx.clone(), signer(worker), worker, period, plan.keep_resting));
    }
    for reader in 0..plan.readers {
        clients.spawn(traffic::reader(ctx.clone(), signer(reader), per_client(plan.readers, plan.read_rate)));
    }
    for subscriber in 0..plan.subscribers {
        clients.spawn(streams::subscriber(ctx.clone(), signer(subscriber)));
    }
    clients.spawn(streams::reconnecting(ctx.clone(), signer(0), plan.reconnect_hold));

    let mut samples = Vec::new();
    let mut next = started + plan.interval;
    while next <= ctx.deadline {
        tokio::time::sleep_until(next).await;
        let sample = ctx.window.take(next.duration_since(started).as_secs(), plan.server_pid.and_then(window::rss_kib));
        on_sample(&sample);
        samples.push(sample);
        next += plan.interval;
    }
    while clients.join_next().await.is_some() {}
    samples
}
