//! R-VDIR-14: the writers are kept busy across chunk boundaries. Chunk k's
//! flush and the commit of its results run while chunk k+1's writes are in
//! flight, and each write is still sent only after its own `started` mark
//! was committed. Watched by a wrapper around a real vdir that reads the
//! plan journal as each create arrives; a failed flush between overlapped
//! chunks records nothing of them, leaves no unsent write `started`, and a
//! re-run converges.
//! R-VDIR-15: the same across the batches of a streamed first sync: a
//! batch's last chunk is flushed and recorded beside the next batch's first
//! writes.

use crate::common;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{World, now};
use crmsync_connector::{CollectionId, Connector, ConnectorError, ItemMeta};
use crmsync_engine::{Action, ActionKind, Target};
use crmsync_store::Store;
use crmsync_store::status::{JournalStep, StepState};
use crmsync_sync::{RunOptions, STREAM_BATCH, SyncProfile, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};

/// Three chunks of the runner's 64 items: 64, 64 and 22.
const CONTACTS: usize = 150;
const CHUNK: usize = 64;

/// What one create saw as it arrived.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// Flushes that had returned when it arrived.
    flushes_done: usize,
    /// Its own journal step's state, read before it was passed on.
    own_step: Option<StepState>,
}

/// Every create went out only after its `started` mark was committed.
fn each_sent_after_its_started_mark(arrivals: &[Arrival]) {
    for (i, arrival) in arrivals.iter().enumerate() {
        assert_eq!(
            arrival.own_step,
            Some(StepState::Started),
            "create {} was sent only after its `started` mark was committed",
            i + 1
        );
    }
}

/// A vdir that notes what each create saw and fails the `fail_flush`-th flush.
struct Watched {
    inner: VdirConnector,
    store: Store,
    flushes_done: AtomicUsize,
    flushes_called: AtomicUsize,
    fail_flush: Option<usize>,
    arrivals: Mutex<Vec<Arrival>>,
}

/// The run's groupware create of the contact whose UID is `uid`.
fn create_step<'s>(steps: &'s [JournalStep], uid: &str) -> Option<&'s JournalStep> {
    steps.iter().find(|s| {
        serde_json::from_str::<Action>(&s.action).is_ok_and(|a| {
            a.target == Target::Groupware && a.kind == ActionKind::Create && a.subject.crm_id.as_deref() == Some(uid)
        })
    })
}

#[async_trait]
impl crmsync_connector::Forward for Watched {
    fn inner(&self) -> &dyn Connector {
        &self.inner
    }
    async fn create(&self, collection: &CollectionId, name: &str, body: &[u8]) -> Result<ItemMeta, ConnectorError> {
        // Read before anything awaits: what had happened when it was sent.
        let flushes_done = self.flushes_done.load(Ordering::SeqCst);
        let steps = self.store.sync_state().journal_unfinished("alice").await.unwrap();
        let own_step = create_step(&steps, name).map(|s| s.state);
        self.arrivals.lock().unwrap().push(Arrival { flushes_done, own_step });
        self.inner.create(collection, name, body).await
    }
    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        let n = self.flushes_called.fetch_add(1, Ordering::SeqCst) + 1;
        self.inner.flush_writes().await?;
        // Failing after the real fsync keeps the failure off the first poll:
        // the next chunk's first writes are then surely under way.
        if self.fail_flush == Some(n) {
            return Err(ConnectorError::Io {
                context: "fsync of the folder (injected)".into(),
                source: std::io::Error::other("EIO"),
            });
        }
        self.flushes_done.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

async fn seeded() -> World {
    seeded_with(CONTACTS).await
}

async fn seeded_with(contacts: usize) -> World {
    let world = World::new().await;
    for i in 0..contacts {
        world
            .contact("Ada", &format!("Lovelace{i:03}"), &format!("ada{i}@example.com"))
            .await;
    }
    world
}

/// A profile onto the world's vdir through a `Watched` wrapper.
fn watched(world: &World, fail_flush: Option<usize>) -> (Arc<Watched>, SyncProfile) {
    let watched = Arc::new(Watched {
        inner: VdirConnector::open(&VdirConfig::new(world.dir.path().join("mailbox"))).unwrap(),
        store: world.store.clone(),
        flushes_done: AtomicUsize::new(0),
        flushes_called: AtomicUsize::new(0),
        fail_flush,
        arrivals: Mutex::new(Vec::new()),
    });
    let profile = SyncProfile::new(
        "alice",
        world.actor.clone(),
        crmsync_engine::Profile::new(&world.actor.user_id),
        watched.clone(),
    );
    (watched, profile)
}

fn options() -> RunOptions<'static> {
    RunOptions {
        now: Some(now()),
        ..RunOptions::default()
    }
}

#[tokio::test]
async fn r_vdir_14_next_chunks_writes_go_out_before_the_previous_chunk_is_flushed_never_before_their_started_mark() {
    let world = seeded().await;
    let (watched, profile) = watched(&world, None);
    let report = run_profile(&world.store, &profile, &options()).await.unwrap();
    assert_eq!(report.applied("contacts", "groupware create"), CONTACTS, "{report}");

    let arrivals = watched.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), CONTACTS);
    each_sent_after_its_started_mark(&arrivals);
    // The first write of each later chunk goes out while the chunk before
    // it is still unflushed (so its results are not yet recorded): the
    // writers did not wait for the flush and commit between them.
    for chunk in 1..CONTACTS.div_ceil(CHUNK) {
        let first = arrivals[chunk * CHUNK];
        assert_eq!(
            first.flushes_done,
            chunk - 1,
            "chunk {chunk}'s first write was sent before chunk {}'s flush returned",
            chunk - 1
        );
    }
    let again = world.sync().await;
    assert_eq!(again.writes(), 0, "converged: {again}");
}

/// R-VDIR-15: a first sync streams its contacts in batches of
/// `STREAM_BATCH`; the first batch's last chunk is not yet flushed (so not
/// recorded) when the second batch's first write goes out, and that write
/// still waited for its own `started` mark.
#[tokio::test]
async fn r_vdir_15_next_batchs_first_writes_go_out_before_the_batch_befores_last_chunk_is_recorded() {
    let contacts = STREAM_BATCH + 100;
    let world = seeded_with(contacts).await;
    let (watched, profile) = watched(&world, None);
    let report = run_profile(&world.store, &profile, &options()).await.unwrap();
    assert_eq!(report.applied("contacts", "groupware create"), contacts, "{report}");
    let largest = report.collections.iter().map(|c| c.largest_batch).max().unwrap_or(0);
    // Both batches were held at once: the second is read while the first
    // is written (R-SYNC-STREAM-3).
    assert_eq!(largest, contacts, "the first sync streamed");

    let arrivals = watched.arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), contacts);
    each_sent_after_its_started_mark(&arrivals);
    let first_batch_chunks = STREAM_BATCH.div_ceil(CHUNK);
    assert_eq!(
        arrivals[STREAM_BATCH].flushes_done,
        first_batch_chunks - 1,
        "the second batch's first write was sent before the first batch's last chunk was flushed"
    );
    let again = world.sync().await;
    assert_eq!(again.writes(), 0, "converged: {again}");
    let found = world.uids("contacts");
    let unique: BTreeSet<&String> = found.iter().collect();
    assert_eq!(unique.len(), contacts, "every contact once");
}

/// The first flush (of the first chunk) runs beside the second chunk's
/// writes and fails, as an fsync failing with EIO would: nothing of either
/// chunk is recorded, no write that was not sent is left `started`, and
/// the next run converges with every contact once.
#[tokio::test]
async fn r_vdir_14_a_failed_flush_beside_the_next_chunk_records_neither_and_a_rerun_converges() {
    let world = seeded().await;
    let (watched, profile) = watched(&world, Some(1));
    let err = run_profile(&world.store, &profile, &options()).await.unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    assert!(
        watched.arrivals.lock().unwrap().len() > CHUNK,
        "the second chunk's writes were under way when the flush failed"
    );
    let pairs = world.store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert!(
        pairs.is_empty(),
        "nothing of the chunks the failed flush covered is recorded: {pairs:?}"
    );
    let in_folder: BTreeSet<String> = world.uids("contacts").into_iter().collect();
    let steps = world.store.sync_state().journal_unfinished("alice").await.unwrap();
    let mut started = 0;
    for uid in world_contact_ids(&world).await {
        let step = create_step(&steps, &uid).expect("every create is still unfinished");
        match step.state {
            StepState::Started => {
                started += 1;
                assert!(in_folder.contains(&uid), "a `started` create was sent: {uid}");
            }
            StepState::Planned => assert!(!in_folder.contains(&uid), "a `planned` create was never sent: {uid}"),
            other => panic!("create of {uid} left {other:?}"),
        }
    }
    assert!(
        started >= CHUNK,
        "the first chunk's creates stay `started` for the next run"
    );

    let report = world.sync().await;
    assert!(report.writes() > 0, "{report}");
    let again = world.sync().await;
    assert_eq!(again.writes(), 0, "converged: {again}");
    let found = world.uids("contacts");
    let unique: BTreeSet<&String> = found.iter().collect();
    assert_eq!(found.len(), CONTACTS, "every contact in the folder, nothing lost");
    assert_eq!(unique.len(), CONTACTS, "no duplicate");
}

/// The ids of the CRM's contacts (each the UID its card is created with).
async fn world_contact_ids(world: &World) -> Vec<String> {
    use crmsync_model::{ChangeOp, EntityKind};
    let changes = world.store.records().changes_since(0, 0).await.unwrap();
    changes
        .iter()
        .filter(|c| c.entity == EntityKind::Contact && c.op == ChangeOp::Create)
        .map(|c| c.record_id.clone())
        .collect()
}
