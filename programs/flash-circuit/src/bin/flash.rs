//! `flash`: the flash-bets key ceremony, commitments and proofs. Reads JSON on stdin, writes
//! JSON on stdout; errors are JSON on stderr with a non-zero exit.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kairos_flash_circuit::{CircuitError, cli, keys::DEFAULT_TICKS};
use rand_core::OsRng;

#[derive(Debug, Parser)]
#[command(name = "flash", about = "Flash-bets keys, commitments and Groth16 proofs (JSON in, JSON out)")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Phase-1 powers with a first contribution, the key derived from them and a first phase-2
    /// contribution, all from OS randomness, into DIR (outside any git work tree).
    Setup {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = DEFAULT_TICKS)]
        ticks: usize,
    },
    /// Adds a phase-1 contribution (tau, alpha, beta) to DIR's powers and derives the key again.
    PowersContribute {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Adds a phase-2 contribution (delta) to the key in DIR. Run after the last phase-1 one.
    Contribute {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Prints the verifying key in the alt_bn128 syscalls' big-endian layout.
    ExportVk {
        #[arg(long)]
        dir: PathBuf,
    },
    /// {"market_id","ticks","salt"} → {"commitment"}.
    Commit,
    /// {"market_id","ticks","salt","rule"} → the outcome, public inputs and proof.
    Prove {
        #[arg(long)]
        dir: PathBuf,
    },
    /// The output of `prove` → {"valid"}, by the program's own verifier.
    Verify {
        #[arg(long)]
        dir: PathBuf,
    },
}

fn stdin() -> Result<String, CircuitError> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    Ok(input)
}

fn run(command: Command) -> Result<serde_json::Value, CircuitError> {
    match command {
        Command::Setup { dir, ticks } => cli::setup(&dir, ticks, &mut OsRng),
        Command::PowersContribute { dir } => cli::powers_contribute(&dir, &mut OsRng),
        Command::Contribute { dir } => cli::contribute(&dir, &mut OsRng),
        Command::ExportVk { dir } => cli::export_vk(&dir),
        Command::Commit => cli::commit(&stdin()?),
        Command::Prove { dir } => cli::prove(&dir, &stdin()?, &mut OsRng),
        Command::Verify { dir } => cli::verify(&dir, &stdin()?),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args.command) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } }));
            ExitCode::FAILURE
        }
    }
}
