//! `kairos-quoter`: the tick-to-order hot path as an operator runs it.
//!
//! - `kairos-quoter bench [--iterations N] [--no-pin]`: the recorded frames through the whole
//!   pass beside the floor of this machine (see `bench`); the last line is JSON.
//!
//! The CPU check runs first: a build for `x86-64-v3` refuses to start on a CPU without AVX2
//! rather than die on an illegal instruction.

mod bench;

#[global_allocator]
static GLOBAL: kairos_quoter::alloc_count::Counting = kairos_quoter::alloc_count::Counting;

const USAGE: &str = "usage: kairos-quoter bench [--iterations N] [--no-pin]";

fn main() -> std::process::ExitCode {
    if let Err(e) = kairos_quoter::cpu::check() {
        eprintln!("kairos-quoter: {e}");
        return std::process::ExitCode::from(2);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => bench_options(&args[1..]).and_then(|o| bench::run(&o)),
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kairos-quoter: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn bench_options(args: &[String]) -> Result<bench::Options, String> {
    let mut options = bench::Options { iterations: 100_000, pin: true };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
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
