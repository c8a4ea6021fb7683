//! The rate limit of the push webhook (R-API-15): per push token and per
//! client address, so neither a leaked token nor one noisy or hostile
//! client can make the server run profiles (or look tokens up) without end.
//!
//! Token buckets that start full: the first notifications of a quiet token
//! pass at once, which is what a groupware's legitimate push needs; only a
//! burst past `burst` waits for the refill. Time comes from the service's
//! [`Clock`], so tests drive it by hand. A full bucket is the same as no
//! bucket, so those are forgotten when the table grows: memory stays bounded
//! by how many keys are actually being limited.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use crmsync_service::Clock;

/// A bucket's shape: `burst` calls at once, then one per `refill_secs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub refill_secs: f64,
}

/// The webhook's limits. A groupware notifies once per change and the
/// scheduler folds notifications for a running profile into one re-run, so
/// more than a handful per minute per token is never needed; one server
/// (or a proxy) may carry the notifications of many profiles, so the
/// per-client limit is wider.
pub const PER_TOKEN: Rate = Rate {
    burst: 10,
    refill_secs: 6.0,
};
pub const PER_CLIENT: Rate = Rate {
    burst: 120,
    refill_secs: 0.5,
};

/// Buckets beyond this many trigger forgetting the full ones.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

impl Bucket {
    /// The tokens it holds at `now`, after the refill since its last call.
    fn at(self, rate: Rate, now: DateTime<Utc>) -> f64 {
        let elapsed = (now - self.at).num_milliseconds().max(0) as f64 / 1000.0;
        (self.tokens + elapsed / rate.refill_secs).min(f64::from(rate.burst))
    }
}

/// Keyed token buckets of one [`Rate`].
#[derive(Debug)]
struct Buckets {
    rate: Rate,
    table: HashMap<String, Bucket>,
}

impl Buckets {
    fn new(rate: Rate) -> Self {
        Buckets {
            rate,
            table: HashMap::new(),
        }
    }

    /// `Ok` when `key` may call now, else the seconds until it may.
    fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let Some(&bucket) = self.table.get(key) else {
            return Ok(());
        };
        let tokens = bucket.at(self.rate, now);
        if tokens >= 1.0 {
            Ok(())
        } else {
            Err(((1.0 - tokens) * self.rate.refill_secs).ceil().max(1.0) as u64)
        }
    }

    fn take(&mut self, key: &str, now: DateTime<Utc>) {
        let full = f64::from(self.rate.burst);
        let tokens = match self.table.get(key) {
            Some(&b) => b.at(self.rate, now),
            None => full,
        };
        self.table.insert(
            key.to_owned(),
            Bucket {
                tokens: tokens - 1.0,
                at: now,
            },
        );
        if self.table.len() > PRUNE_ABOVE {
            let rate = self.rate;
            self.table.retain(|_, b| b.at(rate, now) < full);
        }
    }
}

/// The webhook's limiter, shared by all requests of the process.
#[derive(Clone)]
pub struct PushLimiter {
    clock: Arc<dyn Clock>,
    inner: Arc<Mutex<(Buckets, Buckets)>>,
}

impl std::fmt::Debug for PushLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushLimiter").finish_non_exhaustive()
    }
}

impl PushLimiter {
    pub fn new(clock: Arc<dyn Clock>, per_token: Rate, per_client: Rate) -> Self {
        PushLimiter {
            clock,
            inner: Arc::new(Mutex::new((Buckets::new(per_token), Buckets::new(per_client)))),
        }
    }

    /// Counts one call of `client` with `token`, or says after how many
    /// seconds it may come again. A refused call costs nothing, so a client
    /// that honours `Retry-After` gets through then.
    pub fn admit(&self, token: &str, client: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let mut guard = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, clients) = &mut *guard;
        let by_client = clients.check(client, now);
        let by_token = tokens.check(token, now);
        match (by_client, by_token) {
            (Ok(()), Ok(())) => {
                clients.take(client, now);
                tokens.take(token, now);
                Ok(())
            }
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(wait), _) | (_, Err(wait)) => Err(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_service::ManualClock;

    const RATE: Rate = Rate {
        burst: 2,
        refill_secs: 10.0,
    };

    #[test]
    fn r_api_15_a_burst_passes_then_waits_for_the_refill() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let limiter = PushLimiter::new(
            clock.clone(),
            RATE,
            Rate {
                burst: 100,
                refill_secs: 1.0,
            },
        );
        assert_eq!(limiter.admit("t", "c"), Ok(()), "the first notification is never held");
        assert_eq!(limiter.admit("t", "c"), Ok(()));
        assert_eq!(limiter.admit("t", "c"), Err(10));
        assert_eq!(limiter.admit("other", "c"), Ok(()), "another token has its own bucket");
        clock.advance(chrono::Duration::seconds(4));
        assert_eq!(limiter.admit("t", "c"), Err(6), "a refused call took nothing");
        clock.advance(chrono::Duration::seconds(6));
        assert_eq!(limiter.admit("t", "c"), Ok(()));
    }

    #[test]
    fn r_api_15_one_client_is_limited_across_tokens() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let limiter = PushLimiter::new(
            clock.clone(),
            Rate {
                burst: 100,
                refill_secs: 1.0,
            },
            RATE,
        );
        assert_eq!(limiter.admit("a", "10.0.0.1"), Ok(()));
        assert_eq!(limiter.admit("b", "10.0.0.1"), Ok(()));
        assert_eq!(limiter.admit("c", "10.0.0.1"), Err(10));
        assert_eq!(limiter.admit("c", "10.0.0.2"), Ok(()), "another client is not held");
    }
}
