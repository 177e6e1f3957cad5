//! `kairos-load`: signed orders from several market makers against a running server; prints
//! throughput and latency percentiles as JSON.
//!
//! ```sh
//! kairos-api dev-accounts --makers 4 > accounts.json      # same KAIROS_* settings as the server
//! kairos-load --url http://127.0.0.1:8080 --accounts accounts.json --seconds 20 --concurrency 64
//! kairos-load --url http://127.0.0.1:8080 --accounts accounts.json --concurrency 32 --rate 3000
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::Parser;
use kairos_load::{Accounts, Plan, run};

#[derive(Debug, Parser)]
#[command(name = "kairos-load", about = "Load-test the order API with signed orders")]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The JSON printed by `kairos-api dev-accounts`.
    #[arg(long)]
    accounts: PathBuf,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Orders a second to offer in all, spread evenly over the workers (each still has at most
    /// one in flight); latency then counts from when an order was due. Without it each worker
    /// sends as soon as its last order is answered.
    #[arg(long)]
    rate: Option<u64>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let accounts = match Accounts::read(&args.accounts) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("kairos-load: --accounts {e}");
            return ExitCode::from(2);
        }
    };
    if accounts.accounts.is_empty() || args.concurrency == 0 {
        eprintln!("kairos-load: need at least one account and a concurrency of at least 1");
        return ExitCode::from(2);
    }
    let plan = Plan {
        base_url: args.url.trim_end_matches('/').to_string(),
        accounts,
        concurrency: args.concurrency,
        duration: Duration::from_secs(args.seconds),
        rate: args.rate,
    };
    let report = run(&plan, Arc::new(AtomicBool::new(false))).await;
    println!("{}", serde_json::to_string_pretty(&report.summary()).unwrap_or_default());
    if report.acked.is_empty() { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
