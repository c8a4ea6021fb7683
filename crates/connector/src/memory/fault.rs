//! Fault injection for [`super::MemoryConnector`]: make the next calls of one
//! kind fail the way a flaky network or server would, so the runner's retry and
//! crash-recovery paths (R-SAFE-2) can be tested deterministically.

use std::collections::HashMap;
use std::time::Duration;

use crate::ConnectorError;

/// The connector calls, for fault injection and call counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Discover,
    EnsureCollection,
    Changes,
    GetMany,
    Create,
    Update,
    Delete,
}

/// A transient failure to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Timeout,
    Unreachable,
    RateLimited,
    /// HTTP 503.
    ServiceUnavailable,
}

impl Fault {
    pub(crate) fn to_error(self, op: Op) -> ConnectorError {
        let detail = format!("injected fault on {op:?}");
        match self {
            Fault::Timeout => ConnectorError::Timeout { detail },
            Fault::Unreachable => ConnectorError::Unreachable { detail },
            Fault::RateLimited => ConnectorError::RateLimited {
                retry_after: Some(Duration::from_secs(1)),
            },
            Fault::ServiceUnavailable => ConnectorError::Server {
                status: 503,
                message: detail,
            },
        }
    }
}

/// What the fault plan decides for one call.
pub(crate) enum Decision {
    Proceed,
    /// Fail before doing anything.
    FailBefore(ConnectorError),
    /// Apply the write, then fail as if the reply were lost.
    LoseReply,
}

#[derive(Default)]
pub(crate) struct FaultPlan {
    fail_before: HashMap<Op, (u32, Fault)>,
    lose_reply: HashMap<Op, u32>,
    calls: HashMap<Op, u64>,
}

impl FaultPlan {
    pub(crate) fn fail_next(&mut self, op: Op, times: u32, fault: Fault) {
        self.fail_before.insert(op, (times, fault));
    }

    pub(crate) fn lose_reply_next(&mut self, op: Op, times: u32) {
        self.lose_reply.insert(op, times);
    }

    pub(crate) fn calls(&self, op: Op) -> u64 {
        self.calls.get(&op).copied().unwrap_or(0)
    }

    /// Counts the call and decides its fate; a pending "fail before" wins over a
    /// "lose reply" so both can be queued for one op.
    pub(crate) fn decide(&mut self, op: Op) -> Decision {
        *self.calls.entry(op).or_default() += 1;
        if let Some((left, fault)) = self.fail_before.get_mut(&op)
            && *left > 0
        {
            *left -= 1;
            return Decision::FailBefore(fault.to_error(op));
        }
        if let Some(left) = self.lose_reply.get_mut(&op)
            && *left > 0
        {
            *left -= 1;
            return Decision::LoseReply;
        }
        Decision::Proceed
    }
}

/// The error a caller sees when the write went through but the reply was lost.
pub(crate) fn lost_reply(op: Op) -> ConnectorError {
    ConnectorError::Timeout {
        detail: format!("connection dropped after the server applied {op:?} (injected crash)"),
    }
}
