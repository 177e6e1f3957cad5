//! The quoter's live figures, for the metrics listener:
//! - `kairos_tick_to_order_seconds`: from a frame's read to its first request written, in
//!   buckets fine enough to see the microseconds the bench measures and the 5 ms budget;
//! - `kairos_quoter_over_budget_total`: decisions slower than [`BUDGET`];
//! - `kairos_quoter_orders_total{result}`: places resting, refused or matched at once, and
//!   cancels the venue could not make;
//! - `kairos_quoter_risk_refusals_total{reason}`: the risk gate's refusals by reason;
//! - `kairos_quoter_build_info{version,target_features,avx2_compiled,avx2_cpu}`.

use std::time::Duration;

use crate::cpu;
use crate::risk::{Refusal, RiskGate};
use crate::sender::Sent;

/// The budget a decision must fit in, frame read to bytes written.
pub const BUDGET: Duration = Duration::from_millis(5);

/// Buckets for `kairos_tick_to_order_seconds`: 10 µs to 50 ms, the budget among them.
pub const TICK_TO_ORDER_BUCKETS: &[f64] =
    &[0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05];

/// Sets the build-info gauge; once at start-up.
pub fn build_info() {
    metrics::gauge!(
        "kairos_quoter_build_info",
        "version" => env!("CARGO_PKG_VERSION"),
        "target_features" => cpu::compiled_features(),
        "avx2_compiled" => cpu::avx2_compiled().to_string(),
        "avx2_cpu" => cpu::avx2_cpu().to_string(),
    )
    .set(1.0);
}

/// Records what one pass's sending found.
pub fn record_pass(sent: &Sent) {
    if let Some(latency) = sent.tick_to_order {
        metrics::histogram!("kairos_tick_to_order_seconds").record(latency.as_secs_f64());
        if latency > BUDGET {
            metrics::counter!("kairos_quoter_over_budget_total").increment(1);
        }
    }
    for (result, n) in [
        ("resting", sent.resting),
        ("refused", sent.refused),
        ("matched", sent.matched),
        ("not_cancelled", sent.not_cancelled),
    ] {
        if n > 0 {
            metrics::counter!("kairos_quoter_orders_total", "result" => result).increment(n as u64);
        }
    }
}

/// Publishes the gate's refusal counts (they are cumulative, so set as absolute values).
pub fn record_refusals(gate: &RiskGate) {
    for reason in Refusal::ALL {
        metrics::counter!("kairos_quoter_risk_refusals_total", "reason" => reason.as_str())
            .absolute(gate.refused(reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

    #[test]
    fn a_slow_pass_counts_against_the_budget_and_every_figure_is_exported() {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("kairos_tick_to_order_seconds".into()), TICK_TO_ORDER_BUCKETS)
            .expect("buckets")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            build_info();
            let fast = Sent { tick_to_order: Some(Duration::from_micros(30)), resting: 2, ..Sent::default() };
            let slow = Sent { tick_to_order: Some(Duration::from_millis(7)), refused: 1, ..Sent::default() };
            record_pass(&fast);
            record_pass(&slow);
            record_pass(&Sent::default());
            let gate = RiskGate::new(
                crate::risk::RiskLimits {
                    max_position: 0,
                    max_notional: kairos_domain::money::Collateral::from_micros(0),
                    price_band: 0,
                    max_orders_per_s: 0,
                },
                kairos_domain::TradingState::Enabled,
            );
            record_refusals(&gate);
        });
        let text = handle.render();
        assert!(text.contains("kairos_tick_to_order_seconds_count 2"), "{text}");
        assert!(text.contains("kairos_tick_to_order_seconds_bucket{le=\"0.00005\"} 1"), "{text}");
        assert!(text.contains("kairos_quoter_over_budget_total 1"), "{text}");
        assert!(text.contains("kairos_quoter_orders_total{result=\"resting\"} 2"), "{text}");
        assert!(text.contains("kairos_quoter_orders_total{result=\"refused\"} 1"), "{text}");
        assert!(text.contains("kairos_quoter_risk_refusals_total{reason=\"self_cross\"} 0"), "{text}");
        assert!(text.contains(&format!("avx2_compiled=\"{}\"", cpu::avx2_compiled())), "{text}");
    }
}
