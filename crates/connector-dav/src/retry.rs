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

/// Whether a reply status is worth retrying: rate limits, a lock held by
/// another writer, and server errors that can pass (not 501 Not Implemented /
/// 505 HTTP Version Not Supported).
pub fn retryable_status(status: u16) -> bool {
    status == 423 || status == 429 || ((500..600).contains(&status) && status != 501 && status != 505)
}

/// Statuses that say the request was not performed, so even a write may be
/// sent again: 423 Locked (RFC 4918 §11.3: the resource is locked, nothing
/// changed; Xandikos answers it when two writes race for its git index),
/// 429 and 503 (the server refused the request before acting on it).
pub fn not_performed(status: u16) -> bool {
    matches!(status, 423 | 429 | 503)
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-DAV-16: 423 Locked is retried, also for writes; 500 is retried only
    // where repeating is safe (reads).
    #[test]
    fn r_dav_16_locked_is_retryable_and_not_performed() {
        assert!(retryable_status(423) && not_performed(423));
        assert!(retryable_status(500) && !not_performed(500));
        assert!(!retryable_status(501) && !retryable_status(412) && !not_performed(412));
    }

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
