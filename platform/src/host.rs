//! Who this process is, as the logs, the paper venue's market leases, the keepers' job leases
//! and preflight's test rows name it.

/// The machine's host name (`localhost` when it cannot be read).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `host/pid`: this process among all of a deployment's.
pub fn process_name() -> String {
    format!("{}/{}", hostname(), std::process::id())
}
