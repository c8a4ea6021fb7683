//! The admin's metrics (R-WEB-13): runs per minute, failed runs and the
//! p99 run time, per hour over the last 24 hours of the server's clock,
//! from the run rows the store keeps (one query); and the p50 and p99 push
//! latency of the runs a push woke (R-WEB-20).

use axum::extract::State;
use chrono::{DateTime, Duration, Timelike, Utc};
use crmsync_store::status::{RunState, RunTiming};
use maud::{Markup, html};

use crate::WebState;
use crate::error::WebError;
use crate::pages::chart::{Bar, bars};
use crate::pages::layout;
use crate::session::SignedIn;

const HOURS: usize = 24;

/// One hour's runs: their count, failures, durations and the push
/// latencies of those a push woke (in seconds).
#[derive(Default)]
struct Hour {
    runs: u64,
    failed: u64,
    seconds: Vec<f64>,
    latency: Vec<f64>,
}

/// The 24 hours ending with the current one, oldest first; each run in
/// the hour it started.
fn by_hour(now: DateTime<Utc>, runs: &[RunTiming]) -> (DateTime<Utc>, Vec<Hour>) {
    let this_hour = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    let first = this_hour - Duration::hours(HOURS as i64 - 1);
    let mut hours: Vec<Hour> = (0..HOURS).map(|_| Hour::default()).collect();
    for r in runs {
        // Minutes, not hours: `num_hours` rounds toward zero, which would
        // count the half hour before the window in its first hour.
        let Ok(i) = usize::try_from((r.started_at - first).num_minutes().div_euclid(60)) else {
            continue;
        };
        let Some(h) = hours.get_mut(i) else { continue };
        h.runs += 1;
        if r.outcome == RunState::Failed {
            h.failed += 1;
        }
        if let Some(end) = r.finished_at {
            h.seconds.push((end - r.started_at).num_milliseconds() as f64 / 1000.0);
        }
        if let Some(latency) = r.push_latency {
            h.latency.push(latency.num_milliseconds() as f64 / 1000.0);
        }
    }
    (first, hours)
}

/// The 99th percentile (nearest rank) of `values`; 0 for none.
fn p99(values: &mut [f64]) -> f64 {
    percentile(values, 0.99)
}

/// The `q` quantile (nearest rank) of `values`; 0 for none.
fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64) * q).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    if !who.actor().is_admin() {
        return Err(WebError::NotFound("page"));
    }
    let now = state.clock.now();
    let runs = state
        .store
        .sync_state()
        .runs_since(now - Duration::hours(HOURS as i64))
        .await?;
    let (first, mut hours) = by_hour(now, &runs);
    let label = |i: usize| (first + Duration::hours(i as i64)).format("%H:00").to_string();
    let series = |f: &dyn Fn(&mut Hour) -> f64, hours: &mut [Hour]| -> Vec<Bar> {
        hours
            .iter_mut()
            .enumerate()
            .map(|(i, h)| Bar {
                label: label(i),
                value: f(h),
            })
            .collect()
    };
    let per_minute = series(&|h| h.runs as f64 / 60.0, &mut hours);
    let failed = series(&|h| h.failed as f64, &mut hours);
    let slowest = series(&|h| p99(&mut h.seconds), &mut hours);
    let push_p50 = series(&|h| percentile(&mut h.latency, 0.5), &mut hours);
    let push_p99 = series(&|h| p99(&mut h.latency), &mut hours);
    let pushed: usize = hours.iter().map(|h| h.latency.len()).sum();
    let total: u64 = hours.iter().map(|h| h.runs).sum();
    let failures: u64 = hours.iter().map(|h| h.failed).sum();
    let body = html! {
        h1 { "Metrics" }
        p { "The last 24 hours up to " (layout::when(now)) ": " (total) " runs, " (failures) " failed. Each run counts in the hour it started." }
        (bars("runs-per-minute", "Runs per minute", "runs/min", &per_minute))
        (bars("failed-runs", "Failed runs", "runs", &failed))
        (bars("p99-run-time", "p99 run time", "seconds", &slowest))
        p { (pushed) " runs were woken by push. Push latency: from the first change a run serves being noticed (a CRM change read from the change log, a groupware notification) to the run's end." }
        (bars("p50-push-latency", "p50 push latency", "seconds", &push_p50))
        (bars("p99-push-latency", "p99 push latency", "seconds", &push_p99))
    };
    Ok(layout::page("Metrics", Some(&who), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(started: DateTime<Utc>, secs: i64, outcome: RunState) -> RunTiming {
        RunTiming {
            profile: "p".into(),
            started_at: started,
            finished_at: Some(started + Duration::seconds(secs)),
            outcome,
            push_latency: None,
        }
    }

    // R-WEB-13: runs land in the hour they started; p99 is the nearest rank.
    #[test]
    fn r_web_13_runs_by_hour_and_p99() {
        let now = "2026-12-06T18:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let runs: Vec<RunTiming> = (1..=100)
            .map(|i| run(now - Duration::minutes(10), i, RunState::Ok))
            .chain([
                run(now - Duration::hours(23) - Duration::minutes(20), 5, RunState::Failed),
                run(now - Duration::hours(30), 5, RunState::Ok),
                run(now - Duration::hours(23) - Duration::minutes(40), 5, RunState::Ok),
            ])
            .collect();
        let (first, mut hours) = by_hour(now, &runs);
        assert_eq!(first.to_rfc3339(), "2026-12-05T19:00:00+00:00");
        assert_eq!((hours[23].runs, hours[23].failed), (100, 0));
        assert_eq!(p99(&mut hours[23].seconds), 99.0);
        assert_eq!(
            (hours[0].runs, hours[0].failed),
            (1, 1),
            "19:10 yesterday: the first hour"
        );
        assert_eq!(
            hours.iter().map(|h| h.runs).sum::<u64>(),
            101,
            "18:50 yesterday and 30 h ago are before the window"
        );
    }

    // R-WEB-20: push latencies per hour, p50 and p99 (nearest rank), only
    // over the runs a push woke.
    #[test]
    fn r_web_20_push_latency_by_hour() {
        let now = "2026-12-06T18:30:00Z".parse::<DateTime<Utc>>().unwrap();
        let runs: Vec<RunTiming> = (1..=10)
            .map(|i| RunTiming {
                push_latency: Some(Duration::milliseconds(i * 100)),
                ..run(now - Duration::minutes(5), 1, RunState::Ok)
            })
            .chain([run(now - Duration::minutes(5), 1, RunState::Ok)])
            .collect();
        let (_, mut hours) = by_hour(now, &runs);
        assert_eq!(hours[23].runs, 11);
        assert_eq!(hours[23].latency.len(), 10, "the run no push woke has none");
        assert_eq!(percentile(&mut hours[23].latency, 0.5), 0.5);
        assert_eq!(p99(&mut hours[23].latency), 1.0);
        assert!(hours[22].latency.is_empty());
    }
}
