//! `kairos-api`: see [`kairos_api::tools::cli`].

use clap::Parser as _;

/// Every request allocates and frees many small buffers across the worker threads; glibc's
/// allocator was a tenth of a small market page's cost under load (perf, in the note of the
/// commit that chose this), mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kairos_api::tools::cli::run(kairos_api::tools::cli::Cli::parse())
}
