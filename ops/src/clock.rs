//! The clock check: how far this host's clock is from the configured NTP servers, by SNTP
//! (RFC 4330, with rsntp). Signed requests are accepted within a few seconds of the server's
//! clock and tokens expire by it, so a drifting host refuses good clients or accepts stale
//! signatures. The verdict uses the median offset of the servers that answered, so one bad
//! server neither fails nor passes the check alone.

use std::time::Duration;

use kairos_platform::config::{CoreSettings, TimeSettings};

use crate::report::Check;

/// How long one server may take to answer.
pub const SNTP_TIMEOUT: Duration = Duration::from_secs(2);

/// One server's answer: the offset to add to the local clock to get the server's, in
/// milliseconds (positive: the local clock is behind), and the round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offset {
    pub offset_ms: i64,
    pub round_trip_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub server: String,
    pub result: Result<Offset, String>,
}

/// Queries every server at once.
pub async fn measure(servers: &[String], timeout: Duration) -> Vec<Sample> {
    let queries = servers.iter().map(|server| async move {
        let mut client = rsntp::AsyncSntpClient::new();
        client.set_timeout(timeout);
        let result = match client.synchronize(server.as_str()).await {
            Ok(r) => signed_ms(&r.clock_offset())
                .and_then(|offset_ms| Ok(Offset { offset_ms, round_trip_ms: signed_ms(&r.round_trip_delay())? })),
            Err(e) => Err(e.to_string()),
        };
        Sample { server: server.clone(), result }
    });
    futures_util::future::join_all(queries).await
}

fn signed_ms(d: &rsntp::SntpDuration) -> Result<i64, String> {
    let abs = d.abs_as_std_duration().map_err(|e| e.to_string())?;
    let ms = i64::try_from(abs.as_millis()).map_err(|_| "offset out of range".to_string())?;
    Ok(if d.signum() < 0 { -ms } else { ms })
}

/// `time.drift` from the samples. No server configured, or none answering, is a warning in
/// dev/test and a failure elsewhere: the clock cannot be vouched for.
pub fn drift_check(settings: &TimeSettings, strict: bool, samples: &[Sample]) -> Check {
    const NAME: &str = "time.drift";
    let unverified = |detail: String| if strict { Check::fail(NAME, detail) } else { Check::warn(NAME, detail) };
    if settings.ntp_servers.is_empty() {
        return unverified(
            "no NTP server configured: set KAIROS_TIME__NTP_SERVERS (host:port, comma-separated)".to_string(),
        );
    }
    let mut offsets: Vec<i64> = samples.iter().filter_map(|s| s.result.as_ref().ok()).map(|o| o.offset_ms).collect();
    let failures: Vec<String> =
        samples.iter().filter_map(|s| s.result.as_ref().err().map(|e| format!("{}: {e}", s.server))).collect();
    if offsets.is_empty() {
        return unverified(format!(
            "no NTP server answered ({}): check UDP 123 egress and the servers",
            failures.join("; ")
        ));
    }
    offsets.sort_unstable();
    let median = offsets[offsets.len() / 2];
    let limit = i64::try_from(settings.max_drift.as_millis()).unwrap_or(i64::MAX);
    let direction = if median > 0 { "behind" } else { "ahead of" };
    let mut detail = format!(
        "local clock {} ms {direction} NTP (median of {} server(s); limit {limit} ms)",
        median.abs(),
        offsets.len()
    );
    if !failures.is_empty() {
        detail.push_str(&format!("; not answering: {}", failures.join("; ")));
    }
    if median.abs() > limit {
        Check::fail(NAME, format!("{detail}: fix time synchronisation (chrony/systemd-timesyncd) before serving"))
    } else if !failures.is_empty() {
        Check::warn(NAME, detail)
    } else {
        Check::pass(NAME, detail)
    }
}

/// Measures and judges, from the core settings.
pub async fn time_check(core: &CoreSettings) -> Check {
    let samples = measure(&core.time.ntp_servers, SNTP_TIMEOUT).await;
    drift_check(&core.time, !core.profile.is_local(), &samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(servers: usize) -> TimeSettings {
        TimeSettings {
            ntp_servers: (0..servers).map(|i| format!("ntp{i}:123")).collect(),
            max_drift: Duration::from_millis(1_000),
        }
    }

    fn answered(offset_ms: i64) -> Sample {
        Sample { server: "s".to_string(), result: Ok(Offset { offset_ms, round_trip_ms: 1 }) }
    }

    #[test]
    fn the_median_decides_so_one_false_server_does_not() {
        let samples = [answered(5), answered(-3), answered(9_000)];
        let c = drift_check(&settings(3), true, &samples);
        assert_eq!(c.status, crate::Status::Pass, "{c:?}");
        let c = drift_check(&settings(3), true, &[answered(2_000), answered(2_100), answered(4)]);
        assert_eq!(c.status, crate::Status::Fail, "{c:?}");
        assert!(c.detail.contains("2000 ms behind"), "{c:?}");
        let c = drift_check(&settings(1), true, &[answered(-1_500)]);
        assert!(c.detail.contains("1500 ms ahead of"), "{c:?}");
    }

    #[test]
    fn an_unverifiable_clock_fails_only_outside_dev_and_test() {
        let down = [Sample { server: "s".to_string(), result: Err("timeout".to_string()) }];
        assert_eq!(drift_check(&settings(1), true, &down).status, crate::Status::Fail);
        assert_eq!(drift_check(&settings(1), false, &down).status, crate::Status::Warn);
        assert_eq!(drift_check(&settings(0), true, &[]).status, crate::Status::Fail);
        assert_eq!(drift_check(&settings(0), false, &[]).status, crate::Status::Warn);
        let partly = [answered(3), Sample { server: "b".to_string(), result: Err("timeout".to_string()) }];
        assert_eq!(drift_check(&settings(2), true, &partly).status, crate::Status::Warn);
    }
}
