//! The order of a "crmsync / raw" first sync against a DAV server (R-BENCH-13):
//! crmsync, raw, raw, crmsync, each on its own freshly started server, and
//! the ratio of the sums. A server's speed and the machine's load drift over
//! the minute these runs take; with one pair one after the other, the drift
//! went into the ratio (Xandikos 1.00x in one round, 1.10x in the next, for
//! builds that did not differ on this path). In this order a drift that grows
//! or shrinks steadily over the four runs weighs on both sides alike.

use std::future::Future;
use std::time::Duration;

/// Both sides' times, in the order they ran.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbbaTimes {
    /// crmsync's first and last run.
    pub crmsync: [Duration; 2],
    /// The raw client's two runs between them.
    pub raw: [Duration; 2],
}

impl AbbaTimes {
    /// crmsync's total time over the raw client's.
    pub fn ratio(&self) -> f64 {
        let crm: Duration = self.crmsync.iter().sum();
        let raw: Duration = self.raw.iter().sum();
        crm.as_secs_f64() / raw.as_secs_f64().max(1e-9)
    }

    /// The figure's text: the ratio and each side's runs.
    pub fn describe(&self) -> String {
        format!(
            "{:.2}x (crmsync {} + {} vs raw {} + {})",
            self.ratio(),
            crate::report::secs(self.crmsync[0]),
            crate::report::secs(self.crmsync[1]),
            crate::report::secs(self.raw[0]),
            crate::report::secs(self.raw[1]),
        )
    }
}

/// Runs crmsync's side, the raw side twice, then crmsync's again, and
/// returns the times with what crmsync's first run left behind (the server
/// and CRM the incremental figures continue on; the raw side reads what to
/// write from it). `crm` and `raw` each start their own fresh server.
pub async fn crm_raw_raw_crm<T, E, C, CF, R, RF>(mut crm: C, mut raw: R) -> Result<(AbbaTimes, T), E>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<(Duration, T), E>>,
    R: FnMut(&T) -> RF,
    RF: Future<Output = Result<Duration, E>>,
{
    let (first, kept) = crm().await?;
    let raw_first = raw(&kept).await?;
    let raw_second = raw(&kept).await?;
    let (last, _) = crm().await?;
    Ok((
        AbbaTimes {
            crmsync: [first, last],
            raw: [raw_first, raw_second],
        },
        kept,
    ))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// Step k of a run takes `base * (1 + drift * k)`: a machine slowing down
    /// (or speeding up) steadily.
    fn drifting(base: f64, drift: f64, step: usize) -> Duration {
        Duration::from_secs_f64(base * (1.0 + drift * step as f64))
    }

    #[tokio::test]
    async fn r_bench_13_sides_run_crm_raw_raw_crm_and_a_steady_drift_cancels() {
        for drift in [-0.05, 0.0, 0.1, 0.3] {
            let order = RefCell::new(Vec::new());
            let step = RefCell::new(0usize);
            let next = |side: &'static str| {
                let k = *step.borrow();
                *step.borrow_mut() += 1;
                order.borrow_mut().push(side);
                // Both sides cost the same: the true ratio is 1.
                drifting(2.0, drift, k)
            };
            let (times, kept) = crm_raw_raw_crm(
                || {
                    let took = next("crmsync");
                    async move { Ok::<_, ()>((took, "server")) }
                },
                |kept: &&str| {
                    assert_eq!(*kept, "server", "the raw side reads crmsync's first run");
                    let took = next("raw");
                    async move { Ok::<_, ()>(took) }
                },
            )
            .await
            .unwrap();
            assert_eq!(order.into_inner(), ["crmsync", "raw", "raw", "crmsync"]);
            assert_eq!(kept, "server", "the first crmsync run's world is kept");
            assert!((times.ratio() - 1.0).abs() < 1e-9, "drift {drift}: {}", times.ratio());
            // One pair in a row would have read the drift as crmsync's.
            let one_pair = drifting(2.0, drift, 0).as_secs_f64() / drifting(2.0, drift, 1).as_secs_f64();
            if drift != 0.0 {
                assert!((one_pair - 1.0).abs() > 0.04, "drift {drift}");
            }
        }
    }

    #[tokio::test]
    async fn r_bench_13_a_failing_side_stops_the_figure() {
        let mut calls = 0;
        let got = crm_raw_raw_crm(
            || async { Ok::<_, &str>((Duration::from_secs(1), ())) },
            |_: &()| {
                calls += 1;
                async { Err::<Duration, _>("raw failed") }
            },
        )
        .await;
        assert_eq!(got.unwrap_err(), "raw failed");
        assert_eq!(calls, 1, "no run after a failure");
    }

    #[test]
    fn r_bench_13_the_figure_names_each_run() {
        let times = AbbaTimes {
            crmsync: [Duration::from_millis(1100), Duration::from_millis(900)],
            raw: [Duration::from_millis(1000), Duration::from_millis(1000)],
        };
        assert_eq!(times.ratio(), 1.0);
        assert_eq!(
            times.describe(),
            "1.00x (crmsync 1.100 s + 0.900 s vs raw 1.000 s + 1.000 s)"
        );
    }
}
