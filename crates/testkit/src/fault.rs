//! Which faults the proxy injects and how often: one seeded draw per request.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What the proxy does to one request instead of passing it through untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Read the request head, then close: the server never sees the request
    /// and the client does not know whether it did.
    ResetMidRequest,
    /// Forward the request, pass the reply head and part of the body, then
    /// close: the server acted, the client lost the reply.
    ResetMidResponse,
    /// Read the request and answer nothing until the client gives up (or
    /// [`FaultPlan::stall_for`] passes): the client's time-out must fire.
    Stall,
    /// `500 Internal Server Error` without forwarding.
    Http500,
    /// `503 Service Unavailable` without `Retry-After`, without forwarding.
    Http503,
    /// `503 Service Unavailable` with `Retry-After`, without forwarding.
    Http503RetryAfter,
    /// `429 Too Many Requests` with `Retry-After`, without forwarding.
    Http429RetryAfter,
    /// Forward, then trickle the reply to the client in small pieces.
    SlowBody,
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::ResetMidRequest,
        Fault::ResetMidResponse,
        Fault::Stall,
        Fault::Http500,
        Fault::Http503,
        Fault::Http503RetryAfter,
        Fault::Http429RetryAfter,
        Fault::SlowBody,
    ];

    pub(crate) fn index(self) -> usize {
        Fault::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// The probability of each fault per request (0.0 to 1.0; they add up to at
/// most 1, the rest passes through untouched).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultRates {
    rates: [f64; 8],
}

impl FaultRates {
    /// Everything passes through.
    pub fn none() -> Self {
        Self::default()
    }

    /// Every fault kind at the same `rate`.
    pub fn each(rate: f64) -> Self {
        Self { rates: [rate; 8] }
    }

    /// One fault on every request: a permanently failing server.
    pub fn always(fault: Fault) -> Self {
        Self::none().with(fault, 1.0)
    }

    pub fn with(mut self, fault: Fault, rate: f64) -> Self {
        self.rates[fault.index()] = rate.clamp(0.0, 1.0);
        self
    }

    pub fn rate(&self, fault: Fault) -> f64 {
        self.rates[fault.index()]
    }

    /// The fault a roll in `[0, 1)` lands on, walking the kinds in order.
    pub(crate) fn pick(&self, roll: f64) -> Option<Fault> {
        let mut upto = 0.0;
        for fault in Fault::ALL {
            upto += self.rate(fault);
            if roll < upto {
                return Some(fault);
            }
        }
        None
    }
}

/// How the proxy misbehaves. `seed` makes the sequence of decisions
/// repeatable: the n-th request whose head arrives gets the n-th draw.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    pub rates: FaultRates,
    pub seed: u64,
    /// Longest a stalled connection is held open (the client's time-out
    /// should end it much sooner).
    pub stall_for: Duration,
    /// `Retry-After` seconds on the 503/429 replies that carry one.
    pub retry_after_secs: u64,
    /// Bytes per piece of a trickled body.
    pub trickle_bytes: usize,
    /// Pause between two pieces of a trickled body.
    pub trickle_pause: Duration,
}

impl FaultPlan {
    pub fn new(rates: FaultRates, seed: u64) -> Self {
        Self {
            rates,
            seed,
            stall_for: Duration::from_secs(120),
            retry_after_secs: 1,
            trickle_bytes: 256,
            trickle_pause: Duration::from_millis(2),
        }
    }
}

/// The seeded draw, shared by all connections of one proxy.
pub(crate) struct Dice {
    rng: StdRng,
}

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn roll(&mut self, rates: &FaultRates) -> Option<Fault> {
        // Always draw, even at rate zero, so changing rates mid-test keeps
        // the sequence aligned with the request count.
        let roll: f64 = self.rng.random();
        rates.pick(roll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_partition_the_unit_interval_in_order() {
        let rates = FaultRates::none().with(Fault::Stall, 0.25).with(Fault::SlowBody, 0.25);
        assert_eq!(rates.pick(0.0), Some(Fault::Stall));
        assert_eq!(rates.pick(0.2499), Some(Fault::Stall));
        assert_eq!(rates.pick(0.25), Some(Fault::SlowBody));
        assert_eq!(rates.pick(0.5), None);
        assert_eq!(FaultRates::always(Fault::Http503).pick(0.9999), Some(Fault::Http503));
        assert_eq!(FaultRates::none().pick(0.0), None);
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let rates = FaultRates::each(0.1);
        let draw = |seed| {
            let mut dice = Dice::new(seed);
            (0..200).map(|_| dice.roll(&rates)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let faults = draw(7).into_iter().flatten().count();
        assert!((130..=190).contains(&faults), "about 80% faulty: {faults} of 200");
    }
}
