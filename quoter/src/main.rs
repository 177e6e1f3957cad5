//! `kairos-quoter`: the tick-to-order hot path as an operator runs it.
//!
//! - `kairos-quoter run`: quote the configured tokens (`KAIROS_QUOTER__*`; see the README's
//!   quoter section) until SIGTERM or Ctrl-C, which cancel every order before exiting.
//! - `kairos-quoter config check`: the effective settings, secrets redacted; exit 2 on a problem.
//! - `kairos-quoter bench [--iterations N] [--no-pin]`: the recorded frames through the whole
//!   pass beside the floor of this machine (see `bench`); the last line is JSON.
//!
//! The CPU check runs first: a build for `x86-64-v3` refuses to start on a CPU without AVX2
//! rather than die on an illegal instruction.

mod bench;
mod start;

use std::process::ExitCode;

#[global_allocator]
static GLOBAL: kairos_quoter::alloc_count::Counting = kairos_quoter::alloc_count::Counting;

const USAGE: &str = "usage: kairos-quoter run | config check | bench [--iterations N] [--no-pin]";

/// Exit status of a config with problems, as the other binaries use.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    if let Err(e) = kairos_quoter::cpu::check() {
        eprintln!("kairos-quoter: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["run"] => return start::run_command(),
        ["config", "check"] => return start::config_check(),
        ["bench", rest @ ..] => bench_options(rest).and_then(|o| bench::run(&o)),
        ["-h" | "--help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kairos-quoter: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench_options(args: &[&str]) -> Result<bench::Options, String> {
    let mut options = bench::Options { iterations: 100_000, pin: true };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--iterations" => {
                let n = it.next().ok_or("--iterations needs a number")?;
                options.iterations = n
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--iterations {n:?} is not a positive count"))?;
            }
            "--no-pin" => options.pin = false,
            other => return Err(format!("unknown option {other:?}; {USAGE}")),
        }
    }
    Ok(options)
}
