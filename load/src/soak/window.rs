//! What the soak's clients saw during one sampling interval, and the [`Sample`] made of it when
//! the interval ends. Every client records into one [`Window`]; the sampler swaps it out.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// The kinds of request a sample reports apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    Order,
    Cancel,
    Read,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// A 4xx with its error code: a rule said no (a cancel that lost the race with a fill).
    Refused(u16, String),
    /// A 5xx: what the soak must never see.
    ServerError(u16, String),
    /// No answer: connect failure, timeout, reset.
    Transport(&'static str),
}

/// What the websocket clients saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    Message,
    /// A `book_delta` whose `seq` is not the one after the last seen.
    Gap,
    /// The server closed or broke a subscriber's connection.
    Dropped,
    /// The reconnecting client connected, got its snapshot and left.
    Reconnected,
    /// The reconnecting client could not connect or got no snapshot in time.
    ReconnectFailed,
}

#[derive(Debug, Default)]
struct Counts {
    latencies_us: BTreeMap<Class, Vec<u64>>,
    refusals: BTreeMap<String, u64>,
    server_errors: BTreeMap<String, u64>,
    transport_errors: BTreeMap<String, u64>,
    ws_messages: u64,
    ws_gaps: u64,
    ws_drops: u64,
    reconnects: u64,
    reconnect_failures: u64,
}

/// The current interval's counts, shared by every client of the soak.
#[derive(Debug, Default)]
pub struct Window {
    counts: Mutex<Counts>,
}

/// One class's figures in a sample (milliseconds, for reading; the verdict compares them).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassFigures {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One interval: printed as a JSON line as soon as it ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the soak started, at the end of the interval.
    pub at_s: u64,
    /// The server's resident set, when its PID was given.
    pub rss_kib: Option<u64>,
    pub requests: BTreeMap<Class, ClassFigures>,
    /// 4xx answers by `status code`.
    pub refusals: BTreeMap<String, u64>,
    /// 5xx answers by `status code`.
    pub server_errors: BTreeMap<String, u64>,
    pub transport_errors: BTreeMap<String, u64>,
    pub ws_messages: u64,
    pub ws_gaps: u64,
    pub ws_drops: u64,
    pub reconnects: u64,
    pub reconnect_failures: u64,
}

impl Sample {
    pub fn server_error_count(&self) -> u64 {
        self.server_errors.values().sum()
    }

    pub fn transport_error_count(&self) -> u64 {
        self.transport_errors.values().sum()
    }

    pub fn p99_ms(&self, class: Class) -> Option<f64> {
        self.requests.get(&class).filter(|f| f.count > 0).map(|f| f.p99_ms)
    }
}

impl Window {
    /// A request answered (any status) or not answered at all (`Outcome::Transport`).
    pub fn request(&self, class: Class, latency: Duration, outcome: Outcome) {
        let mut counts = self.lock();
        match outcome {
            Outcome::Transport(kind) => {
                *counts.transport_errors.entry(kind.to_string()).or_default() += 1;
                return;
            }
            Outcome::Ok => {}
            Outcome::Refused(status, code) => *counts.refusals.entry(format!("{status} {code}")).or_default() += 1,
            Outcome::ServerError(status, code) => {
                *counts.server_errors.entry(format!("{status} {code}")).or_default() += 1
            }
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        counts.latencies_us.entry(class).or_default().push(us);
    }

    pub fn stream(&self, event: StreamEvent) {
        let mut counts = self.lock();
        match event {
            StreamEvent::Message => counts.ws_messages += 1,
            StreamEvent::Gap => counts.ws_gaps += 1,
            StreamEvent::Dropped => counts.ws_drops += 1,
            StreamEvent::Reconnected => counts.reconnects += 1,
            StreamEvent::ReconnectFailed => counts.reconnect_failures += 1,
        }
    }

    /// Ends the interval: its sample, and a fresh window for the next.
    pub fn take(&self, at_s: u64, rss_kib: Option<u64>) -> Sample {
        let counts = std::mem::take(&mut *self.lock());
        let requests = counts
            .latencies_us
            .into_iter()
            .map(|(class, mut us)| {
                us.sort_unstable();
                let ms = |q: f64| crate::quantile(&us, q) as f64 / 1_000.0;
                (class, ClassFigures { count: us.len() as u64, p50_ms: ms(0.5), p99_ms: ms(0.99), max_ms: ms(1.0) })
            })
            .collect();
        Sample {
            at_s,
            rss_kib,
            requests,
            refusals: counts.refusals,
            server_errors: counts.server_errors,
            transport_errors: counts.transport_errors,
            ws_messages: counts.ws_messages,
            ws_gaps: counts.ws_gaps,
            ws_drops: counts.ws_drops,
            reconnects: counts.reconnects,
            reconnect_failures: counts.reconnect_failures,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // A client that panicked while holding the lock left whole counts behind: keep them.
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The resident set of a process, from Linux's `/proc/PID/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_holds_the_interval_and_the_next_starts_empty() {
        let window = Window::default();
        for ms in 1..=100 {
            window.request(Class::Order, Duration::from_millis(ms), Outcome::Ok);
        }
        window.request(Class::Cancel, Duration::from_millis(3), Outcome::Refused(409, "order_not_open".into()));
        window.request(Class::Read, Duration::from_millis(2), Outcome::ServerError(503, "unavailable".into()));
        window.request(Class::Read, Duration::from_secs(10), Outcome::Transport("timeout"));
        window.stream(StreamEvent::Message);
        window.stream(StreamEvent::Gap);
        let sample = window.take(30, Some(1234));
        let orders = &sample.requests[&Class::Order];
        assert_eq!((orders.count, orders.p50_ms, orders.p99_ms, orders.max_ms), (100, 51.0, 99.0, 100.0));
        assert_eq!(sample.requests[&Class::Cancel].count, 1, "a refusal is answered: its latency counts");
        assert_eq!(sample.requests[&Class::Read].count, 1, "a transport error has no latency");
        assert_eq!(sample.refusals["409 order_not_open"], 1);
        assert_eq!((sample.server_error_count(), sample.transport_error_count()), (1, 1));
        assert_eq!((sample.ws_messages, sample.ws_gaps, sample.rss_kib), (1, 1, Some(1234)));
        let next = window.take(60, None);
        assert_eq!(next, Sample { at_s: 60, ..Sample::default() });
        assert_eq!(next.p99_ms(Class::Order), None);
    }

    #[test]
    fn resident_set_comes_from_the_vm_rss_line() {
        let status = "Name:\tkairos-api\nVmPeak:\t  900000 kB\nVmRSS:\t   52344 kB\nThreads:\t9\n";
        assert_eq!(parse_vm_rss(status), Some(52_344));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
