//! `kairos-soak`: a long mixed load against a running server (see `kairos_load::soak`). Prints
//! one JSON line per sample, then the verdict as JSON; exits 1 when the soak failed.
//!
//! ```sh
//! kairos-api dev-accounts --makers 4 > accounts.json      # same KAIROS_* settings as the server
//! kairos-soak --url http://127.0.0.1:8080 --accounts accounts.json --pid "$SERVER_PID" --minutes 30
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use kairos_load::Accounts;
use kairos_load::soak::{Criteria, Plan, judge, run};

#[derive(Debug, Parser)]
#[command(name = "kairos-soak", about = "Soak a running server with mixed load and judge whether it stays flat")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The JSON printed by `kairos-api dev-accounts`.
    #[arg(long)]
    accounts: PathBuf,
    /// The server's PID: its resident set is sampled (and judged) when given.
    #[arg(long)]
    pid: Option<u32>,
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Samples before this are not judged (caches and pools filling).
    #[arg(long, default_value_t = 5.0)]
    warmup_minutes: f64,
    /// The first and the last stretch compared, after the warm-up.
    #[arg(long, default_value_t = 10.0)]
    compare_minutes: f64,
    #[arg(long, default_value_t = 30)]
    interval_secs: u64,
    /// The largest change of the resident set allowed between the stretches, in percent.
    #[arg(long, default_value_t = 10.0)]
    rss_tolerance_percent: f64,
    /// The largest change of the order p99 allowed between the stretches, in percent.
    #[arg(long, default_value_t = 10.0)]
    p99_tolerance_percent: f64,
    /// Orders per second over all traders.
    #[arg(long, default_value_t = 300)]
    order_rate: u32,
    #[arg(long, default_value_t = 8)]
    traders: usize,
    #[arg(long, default_value_t = 20)]
    keep_resting: usize,
    /// Reads per second over all readers.
    #[arg(long, default_value_t = 100)]
    read_rate: u32,
    #[arg(long, default_value_t = 2)]
    readers: usize,
    /// Websocket connections that stay for the whole soak (at most 8 per account).
    #[arg(long, default_value_t = 8)]
    subscribers: usize,
    #[arg(long, default_value_t = 2_000)]
    reconnect_hold_ms: u64,
}

fn seconds(minutes: f64) -> u64 {
    (minutes * 60.0).round().max(0.0) as u64
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let accounts = match Accounts::read(&args.accounts) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kairos-soak: --accounts {e}");
            return ExitCode::from(2);
        }
    };
    if accounts.accounts.is_empty() || args.traders == 0 || args.interval_secs == 0 {
        eprintln!("kairos-soak: need at least one account, one trader and an interval of at least 1 s");
        return ExitCode::from(2);
    }
    let duration_s = seconds(args.minutes);
    let plan = Plan {
        base_url: args.url.trim_end_matches('/').to_string(),
        accounts,
        duration: Duration::from_secs(duration_s),
        interval: Duration::from_secs(args.interval_secs),
        order_rate: args.order_rate,
        traders: args.traders,
        keep_resting: args.keep_resting,
        read_rate: args.read_rate,
        readers: args.readers,
        subscribers: args.subscribers,
        reconnect_hold: Duration::from_millis(args.reconnect_hold_ms),
        server_pid: args.pid,
    };
    let criteria = Criteria {
        warmup_s: seconds(args.warmup_minutes),
        compare_s: seconds(args.compare_minutes),
        rss_tolerance: args.rss_tolerance_percent / 100.0,
        p99_tolerance: args.p99_tolerance_percent / 100.0,
    };
    let samples = run(&plan, |s| println!("{}", serde_json::to_string(s).unwrap_or_default())).await;
    let verdict = judge(&samples, duration_s, &criteria);
    println!("{}", serde_json::to_string_pretty(&verdict).unwrap_or_default());
    if verdict.passed { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
