//! Percentiles of measured latencies (push latency).

use std::time::Duration;

/// The nearest-rank percentile `p` (0 < p <= 100) of `samples`: the smallest
/// sample with at least p % of all samples at or below it. With 50 samples
/// p99 is the slowest one, which is what an admin reading "p99" fears.
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Milliseconds, for the report.
pub fn millis(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}
