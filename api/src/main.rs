//! `kairos-api`: see [`kairos_api::cli`].

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    kairos_api::cli::run(kairos_api::cli::Cli::parse())
}
