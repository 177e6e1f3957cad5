//! The keepers as a library: the jobs ([`jobs`]), the lease scheduler that runs each as a
//! singleton across processes ([`scheduler`]), the metrics listener ([`metrics`]), the
//! preflight report ([`preflight`]) and the price feed the flash oracle takes its ticks from
//! ([`price_feed`]). The `kairos-keepers` binary (`main.rs`) wires them to the command line and
//! the signals.

pub mod flash;
pub mod jobs;
pub mod metrics;
pub mod preflight;
pub mod price_feed;
pub mod scheduler;
