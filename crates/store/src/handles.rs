//! The store's three handles, one per concern, over one shared pool. A
//! caller takes only the one it needs from [`crate::Store`]: the CRM API
//! [`Records`], the scheduler [`Catalog`], a sync run [`Records`] and
//! [`SyncState`]. Their methods live beside the tables they touch
//! (`records.rs`, `status/*.rs`, `profiles.rs`, `leases.rs`, …).

use crate::db::Db;

/// CRM records: users and tokens, accounts, contacts, leads, activities,
/// opportunities, cases, conversions,
/// tracked e-mail, journal entries, sync flags, the change log, tombstones.
/// On a fenced store every write checks the lease (R-SCHED-4).
#[derive(Clone, Debug)]
pub struct Records {
    pub(crate) db: Db,
}

/// Sync state: pairs, cursors, remembered collections, runs and their plan
/// journal, history, conflicts, quarantine, duplicates, mail positions.
/// On a fenced store every write checks the lease (R-SCHED-4).
#[derive(Clone, Debug)]
pub struct SyncState {
    pub(crate) db: Db,
}

/// The profile catalog and its leases (R-SCHED-3).
#[derive(Clone, Debug)]
pub struct Catalog {
    pub(crate) db: Db,
}

impl Records {
    pub(crate) fn new(db: Db) -> Records {
        Records { db }
    }

    /// Writes started so far through the handles of this store: equal
    /// before and after, nothing was written through them in between
    /// (R-SYNC-PERF-7). A fenced store (one leased run) counts its own
    /// writes; other processes' writes are not counted.
    pub fn writes_started(&self) -> u64 {
        self.db.writes_started()
    }
}

impl SyncState {
    pub(crate) fn new(db: Db) -> SyncState {
        SyncState { db }
    }

    /// [`Records::writes_started`], counted on the same store.
    pub fn writes_started(&self) -> u64 {
        self.db.writes_started()
    }
}

impl Catalog {
    pub(crate) fn new(db: Db) -> Catalog {
        Catalog { db }
    }
}
