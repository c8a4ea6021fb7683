//! Back-off arithmetic for retries: exponential with jitter, and `Retry-After`.

use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::RetryConfig;

/// The delay before retry number `retry` (0-based): "equal jitter", i.e. half
/// of the capped exponential delay plus a random share of the other half, so
/// many clients that failed together do not come back together.
pub fn backoff(config: &RetryConfig, retry: u32) -> Duration {
    let exp = config
        .base_delay()
        .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX));
    let capped = exp.min(config.max_delay());
    let half = capped / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter)
}

/// Parses `Retry-After` (RFC 9110 §10.2.3): delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether a reply status is worth retrying: rate limits and server errors
/// that can pass (not 501 Not Implemented / 505 HTTP Version Not Supported).
pub fn retryable_status(status: u16) -> bool {
    status == 429 || ((500..600).contains(&status) && status != 501 && status != 505)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds_and_is_capped() {
        let config = RetryConfig {
            max_retries: 10,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
            max_retry_after_secs: 60,
        };
        for retry in 0..10 {
            let full = Duration::from_millis((100u64 << retry).min(1_000));
            for _ in 0..20 {
                let d = backoff(&config, retry);
                assert!(
                    d >= full / 2 && d <= full,
                    "retry {retry}: {d:?} outside [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
        assert!(
            backoff(&config, u32::MAX) <= Duration::from_secs(1),
            "huge retry counts must not overflow"
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn only_passing_failures_are_retried() {
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 207, 400, 401, 403, 404, 409, 412, 501, 505] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
