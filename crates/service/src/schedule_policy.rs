//! When a profile runs next: after a success, its pull interval plus jitter
//! (R-SCHED-1); after a failure, a growing retry delay, and the state
//! `failing` once failures persist. Pure functions of the clock's time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_store::ScheduleState;
use rand::Rng as _;

#[derive(Debug, Clone, PartialEq)]
pub struct SchedulePolicy {
    /// The first retry's delay; each further failure doubles it, up to the
    /// profile's pull interval.
    pub retry_base: Duration,
    /// Failures in a row after which the profile is shown as `failing`.
    pub failing_after: u32,
    /// Jitter as a share of the interval, so profiles configured together
    /// do not all hit the servers in the same second.
    pub jitter_share: f64,
    /// Upper bound of the jitter.
    pub max_jitter: Duration,
}

impl Default for SchedulePolicy {
    fn default() -> Self {
        SchedulePolicy {
            retry_base: Duration::from_secs(60),
            failing_after: 3,
            jitter_share: 0.1,
            max_jitter: Duration::from_secs(300),
        }
    }
}

/// The schedule after one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextRun {
    pub at: DateTime<Utc>,
    pub failures: i64,
    pub state: ScheduleState,
}

impl SchedulePolicy {
    /// The largest jitter added to `interval`.
    pub fn jitter_bound(&self, interval: Duration) -> Duration {
        interval.mul_f64(self.jitter_share.clamp(0.0, 1.0)).min(self.max_jitter)
    }

    pub fn after_success(&self, now: DateTime<Utc>, interval: Duration) -> NextRun {
        let bound = self.jitter_bound(interval).as_millis() as u64;
        let jitter = if bound == 0 {
            0
        } else {
            rand::rng().random_range(0..=bound)
        };
        NextRun {
            at: now + to_chrono(interval) + chrono::Duration::milliseconds(jitter as i64),
            failures: 0,
            state: ScheduleState::Ok,
        }
    }

    /// `failures_before`: failures in a row before this one.
    pub fn after_failure(&self, now: DateTime<Utc>, interval: Duration, failures_before: i64) -> NextRun {
        let failures = failures_before.saturating_add(1);
        let doublings = (failures - 1).clamp(0, 30) as u32;
        let delay = self
            .retry_base
            .saturating_mul(1u32 << doublings)
            .min(interval.max(self.retry_base));
        NextRun {
            at: now + to_chrono(delay),
            failures,
            state: if failures >= i64::from(self.failing_after) {
                ScheduleState::Failing
            } else {
                ScheduleState::Ok
            },
        }
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    // R-SCHED-1: the next pull is one interval later, jitter within its bound.
    #[test]
    fn r_sched_1_success_waits_the_interval_plus_bounded_jitter() {
        let p = SchedulePolicy::default();
        let now = Utc::now();
        for _ in 0..50 {
            let next = p.after_success(now, HOUR);
            let waited = (next.at - now).to_std().unwrap();
            assert!(
                waited >= HOUR && waited <= HOUR + Duration::from_secs(300),
                "{waited:?}"
            );
            assert_eq!((next.failures, next.state), (0, ScheduleState::Ok));
        }
        assert_eq!(p.jitter_bound(Duration::from_secs(600)), Duration::from_secs(60));
    }

    #[test]
    fn failures_back_off_doubling_up_to_the_interval_then_are_failing() {
        let p = SchedulePolicy::default();
        let now = Utc::now();
        let delays: Vec<(i64, &str)> = (0..6)
            .map(|before| {
                let n = p.after_failure(now, Duration::from_secs(900), before);
                ((n.at - now).num_seconds(), n.state.as_str())
            })
            .collect();
        assert_eq!(
            delays,
            [
                (60, "ok"),
                (120, "ok"),
                (240, "failing"),
                (480, "failing"),
                (900, "failing"),
                (900, "failing")
            ]
        );
    }
}
