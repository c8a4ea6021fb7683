//! The two store handles a run works with (issue #11): CRM records and sync
//! state. A run never sees the profile catalog or the leases; those belong
//! to the scheduler, which hands a run a fenced store (R-SCHED-4) whose
//! handles carry the fence.

use crmsync_store::{Records, Store, SyncState};

/// What a sync run, `explain` and stop-tracking may touch.
#[derive(Clone, Debug)]
pub struct RunStores {
    records: Records,
    sync_state: SyncState,
}

impl RunStores {
    pub fn new(records: Records, sync_state: SyncState) -> RunStores {
        RunStores { records, sync_state }
    }

    /// CRM records (users, contacts, activities, the change log, …).
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// Pairs, cursors, runs and their journal, history, conflicts, …
    pub fn sync_state(&self) -> &SyncState {
        &self.sync_state
    }
}

/// A caller holding the whole store hands a run only these two.
impl From<&Store> for RunStores {
    fn from(store: &Store) -> RunStores {
        RunStores::new(store.records(), store.sync_state())
    }
}

impl From<&RunStores> for RunStores {
    fn from(stores: &RunStores) -> RunStores {
        stores.clone()
    }
}
