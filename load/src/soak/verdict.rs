//! Whether a soak passed: after the warm-up, the server's resident set and the order p99 of the
//! last `compare` seconds are within `tolerance` of the first `compare` seconds (flat: no leak,
//! no slow decay), and nothing failed that never should (5xx, unanswered requests, a dropped
//! subscriber, a missed book delta, a reconnect that got no snapshot).

use serde::Serialize;

use super::window::{Class, Sample};

#[derive(Debug, Clone, Copy)]
pub struct Criteria {
    pub warmup_s: u64,
    /// The length of the first and of the last stretch compared.
    pub compare_s: u64,
    /// The largest relative change of the resident set between the two stretches (0.10 = 10 %).
    pub rss_tolerance: f64,
    /// The same for the order p99. A short soak on a busy machine needs more room here than a
    /// long one: its stretches hold few samples.
    pub p99_tolerance: f64,
}

/// One figure in the first and the last stretch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub first: f64,
    pub last: f64,
    /// `last / first - 1`.
    pub change: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub passed: bool,
    /// The mean resident set, in MiB.
    pub rss_mib: Option<Drift>,
    /// The lower quartile of the samples' order p99, in milliseconds. On a shared machine a
    /// neighbour only ever adds latency, and it comes in bursts that can fill half a short
    /// stretch; a server that slows down raises every sample, the fast ones with the rest. So the
    /// fast quarter of each stretch is what is compared: noise in up to three samples of four
    /// does not make a trend, a drift that lasts does.
    pub order_p99_ms: Option<Drift>,
    pub orders: u64,
    pub server_errors: u64,
    pub transport_errors: u64,
    pub ws_messages: u64,
    pub ws_gaps: u64,
    pub ws_drops: u64,
    pub reconnects: u64,
    pub reconnect_failures: u64,
    pub problems: Vec<String>,
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The 25th percentile, interpolated between the two nearest ranks.
fn lower_quartile(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let last = sorted.len().checked_sub(1)?;
    let at = last as f64 * 0.25;
    let (below, fraction) = (at.floor() as usize, at.fract());
    let above = (below + 1).min(last);
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// Compares `figure` over the two stretches; `None` when a stretch has no sample with it.
fn drift(
    first: &[&Sample],
    last: &[&Sample],
    figure: impl Fn(&Sample) -> Option<f64>,
    summary: fn(&[f64]) -> Option<f64>,
) -> Option<Drift> {
    let of = |samples: &[&Sample]| summary(&samples.iter().filter_map(|s| figure(s)).collect::<Vec<_>>());
    let (first, last) = (of(first)?, of(last)?);
    Some(Drift { first, last, change: if first > 0.0 { last / first - 1.0 } else { 0.0 } })
}

/// Judges the samples of a soak that ran `duration_s` seconds.
pub fn judge(samples: &[Sample], duration_s: u64, criteria: &Criteria) -> Verdict {
    let first_end = criteria.warmup_s + criteria.compare_s;
    let last_start = duration_s.saturating_sub(criteria.compare_s);
    let first: Vec<&Sample> = samples.iter().filter(|s| s.at_s > criteria.warmup_s && s.at_s <= first_end).collect();
    let last: Vec<&Sample> = samples.iter().filter(|s| s.at_s > last_start).collect();
    let rss_mib = drift(&first, &last, |s| s.rss_kib.map(|kib| kib as f64 / 1024.0), mean);
    let order_p99_ms = drift(&first, &last, |s| s.p99_ms(Class::Order), lower_quartile);
    let sum = |f: fn(&Sample) -> u64| samples.iter().map(f).sum::<u64>();
    let mut verdict = Verdict {
        passed: false,
        orders: sum(|s| s.requests.get(&Class::Order).map_or(0, |f| f.count)),
        server_errors: sum(Sample::server_error_count),
        transport_errors: sum(Sample::transport_error_count),
        ws_messages: sum(|s| s.ws_messages),
        ws_gaps: sum(|s| s.ws_gaps),
        ws_drops: sum(|s| s.ws_drops),
        reconnects: sum(|s| s.reconnects),
        reconnect_failures: sum(|s| s.reconnect_failures),
        rss_mib,
        order_p99_ms,
        problems: Vec::new(),
    };
    let problems = &mut verdict.problems;
    if last_start < first_end {
        problems.push(format!(
            "the run ({duration_s} s) is too short for a warm-up of {} s and two stretches of {} s",
            criteria.warmup_s, criteria.compare_s
        ));
    }
    let figures = [
        ("resident set", &verdict.rss_mib, criteria.rss_tolerance),
        ("order p99", &verdict.order_p99_ms, criteria.p99_tolerance),
    ];
    for (name, figure, tolerance) in figures {
        match figure {
            None => problems.push(format!("no {name} in the first or the last stretch")),
            Some(d) if d.change.abs() > tolerance => problems.push(format!(
                "{name} moved {:+.1} % (from {:.2} to {:.2}); at most ±{:.0} % is flat",
                d.change * 100.0,
                d.first,
                d.last,
                tolerance * 100.0
            )),
            Some(_) => {}
        }
    }
    let counts = [
        ("5xx answers", verdict.server_errors),
        ("unanswered requests", verdict.transport_errors),
        ("missed book deltas", verdict.ws_gaps),
        ("dropped subscribers", verdict.ws_drops),
        ("reconnects without a snapshot", verdict.reconnect_failures),
    ];
    for (name, count) in counts {
        if count > 0 {
            problems.push(format!("{count} {name}"));
        }
    }
    if verdict.orders == 0 || verdict.ws_messages == 0 || verdict.reconnects == 0 {
        problems.push("the load did not run: no order, stream message or reconnect".to_string());
    }
    verdict.passed = verdict.problems.is_empty();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::window::ClassFigures;

    fn sample(at_s: u64, rss_mib: u64, p99_ms: f64) -> Sample {
        Sample {
            at_s,
            rss_kib: Some(rss_mib * 1024),
            requests: [(Class::Order, ClassFigures { count: 100, p50_ms: 1.0, p99_ms, max_ms: p99_ms })].into(),
            ws_messages: 10,
            reconnects: 1,
            ..Sample::default()
        }
    }

    const CRITERIA: Criteria = Criteria { warmup_s: 60, compare_s: 120, rss_tolerance: 0.10, p99_tolerance: 0.10 };

    /// Samples every 30 s for 10 minutes: warm-up to 60 s, first stretch 60–180, last 480–600.
    fn run(rss: impl Fn(u64) -> u64, p99: impl Fn(u64) -> f64) -> Vec<Sample> {
        (1..=20).map(|i| i * 30).map(|t| sample(t, rss(t), p99(t))).collect()
    }

    #[test]
    fn a_flat_run_passes_whatever_the_warm_up_did() {
        let samples = run(|t| if t <= 60 { 40 } else { 100 + t % 7 }, |t| if t <= 60 { 50.0 } else { 4.0 });
        let verdict = judge(&samples, 600, &CRITERIA);
        assert!(verdict.passed, "{:?}", verdict.problems);
        assert_eq!(verdict.orders, 2_000);
        assert_eq!(verdict.order_p99_ms.as_ref().map(|d| d.first), Some(4.0));
    }

    #[test]
    fn a_leak_or_a_slowing_server_fails() {
        let leak = judge(&run(|t| 100 + t / 10, |_| 4.0), 600, &CRITERIA);
        assert!(!leak.passed);
        assert!(leak.problems[0].starts_with("resident set moved +"), "{:?}", leak.problems);
        let slower = judge(&run(|_| 100, |t| 4.0 + t as f64 / 200.0), 600, &CRITERIA);
        assert_eq!(slower.problems.len(), 1);
        assert!(slower.problems[0].starts_with("order p99 moved +"), "{:?}", slower.problems);
    }

    #[test]
    fn each_figure_has_its_own_tolerance() {
        let slower = run(|_| 100, |t| 4.0 + t as f64 / 200.0);
        let loose = Criteria { p99_tolerance: 0.50, ..CRITERIA };
        assert!(judge(&slower, 600, &loose).passed, "+45 % is inside ±50 %");
        let leak = run(|t| 100 + t / 10, |_| 4.0);
        assert!(!judge(&leak, 600, &loose).passed, "the resident set keeps its own 10 %");
    }

    #[test]
    fn one_slow_sample_is_not_a_trend() {
        let verdict = judge(&run(|_| 100, |t| if t == 570 { 80.0 } else { 4.0 }), 600, &CRITERIA);
        assert!(verdict.passed, "{:?}", verdict.problems);
    }

    /// The shape of a CI soak that failed on the median: bursts from a neighbour in the first
    /// and in most of the last stretch, while the server's own latency stayed where it was.
    #[test]
    fn bursts_of_noise_are_not_a_trend_but_a_slower_floor_is() {
        let burst = [0.0, 0.0, 20.0, 0.0, 30.0, 25.0, 0.0, 0.0, 18.0, 5.0, 22.0, 0.0, 26.0, 20.0, 0.0, 0.0];
        let noisy = run(|_| 100, |t| 4.0 + burst[(t / 30) as usize % burst.len()]);
        let verdict = judge(&noisy, 600, &CRITERIA);
        assert!(verdict.passed, "{:?} {:?}", verdict.problems, verdict.order_p99_ms);
        let slower_floor = run(|_| 100, |t| if t > 480 { 5.0 } else { 4.0 } + burst[(t / 30) as usize % burst.len()]);
        let verdict = judge(&slower_floor, 600, &CRITERIA);
        assert!(verdict.problems[0].starts_with("order p99 moved +25.0 %"), "{:?}", verdict.problems);
    }

    #[test]
    fn the_lower_quartile_interpolates_between_ranks() {
        assert_eq!(lower_quartile(&[]), None);
        assert_eq!(lower_quartile(&[7.0]), Some(7.0));
        assert_eq!(lower_quartile(&[4.0, 0.0, 8.0, 2.0, 6.0]), Some(2.0));
        assert_eq!(lower_quartile(&[26.0, 9.36, 9.49, 24.4, 9.78, 10.1]), Some(9.49 + (9.78 - 9.49) * 0.25));
    }

    #[test]
    fn errors_gaps_drops_and_a_short_run_fail() {
        let mut samples = run(|_| 100, |_| 4.0);
        samples[3].server_errors.insert("500 internal".into(), 1);
        samples[4].transport_errors.insert("timeout".into(), 2);
        samples[5].ws_gaps = 1;
        samples[6].ws_drops = 1;
        samples[7].reconnect_failures = 1;
        let verdict = judge(&samples, 600, &CRITERIA);
        assert_eq!(
            verdict.problems,
            [
                "1 5xx answers",
                "2 unanswered requests",
                "1 missed book deltas",
                "1 dropped subscribers",
                "1 reconnects without a snapshot"
            ]
        );
        let short = judge(&samples[..8], 240, &CRITERIA);
        assert!(short.problems[0].starts_with("the run (240 s) is too short"), "{:?}", short.problems);
    }

    #[test]
    fn a_run_without_load_fails() {
        let idle: Vec<Sample> =
            (1..=20).map(|i| Sample { at_s: i * 30, rss_kib: Some(1024), ..Sample::default() }).collect();
        let verdict = judge(&idle, 600, &CRITERIA);
        assert!(!verdict.passed);
        assert!(verdict.problems.iter().any(|p| p.starts_with("the load did not run")));
    }
}
