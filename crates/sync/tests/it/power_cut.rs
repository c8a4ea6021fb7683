//! R-VDIR-11: vdir fsyncs a folder once per batch of writes, not per file,
//! and the runner records a batch in the status store only after that fsync.
//! Proved with a simulated power cut in the middle of a first sync: every
//! rename not yet made durable by a folder fsync is undone (the files
//! vanish, as a power cut may do to them), the run stops dead, and a re-run
//! converges: every contact in the folder once, nothing lost, no duplicate.
//! R-VDIR-14: the same with the power failing as a chunk's flush starts,
//! while the next chunk's writes are in flight. R-VDIR-15: the same at a
//! batch boundary of a streamed first sync, as the flush of a batch's last
//! chunk starts beside the next batch's first writes.

use crate::common;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{World, now};
use crmsync_connector::{CollectionId, Connector, ConnectorError, ItemMeta};
use crmsync_store::Store;
use crmsync_store::status::PairRow;
use crmsync_sync::{RunOptions, STREAM_BATCH, SyncProfile, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};
use tokio::sync::oneshot;

/// More than two of the runner's batches (64 items each).
const CONTACTS: usize = 150;
/// The power goes at this create: inside the second batch.
const CUT_AT: usize = 100;
/// The runner's chunk (`CHUNK_ITEMS`).
const CHUNK: usize = 64;

/// When the power fails.
#[derive(Clone, Copy)]
enum Cut {
    /// Right after the n-th create was renamed into place.
    AtCreate(usize),
    /// As the n-th flush starts, before its folder fsync.
    AtFlush(usize),
}

#[derive(Default)]
struct Power {
    /// Files renamed into place since the last flush: a power cut may undo them.
    unsynced: Vec<PathBuf>,
    creates: usize,
    flushes: usize,
    cut: bool,
    cut_signal: Option<oneshot::Sender<()>>,
}

/// A vdir whose power fails at `cut`.
struct PowerCut {
    inner: VdirConnector,
    root: PathBuf,
    cut: Cut,
    power: Mutex<Power>,
}

impl PowerCut {
    /// Undoes every unsynced rename, then never answers again: the process is gone.
    async fn dead(&self) -> ! {
        {
            let mut p = self.power.lock().unwrap();
            for file in std::mem::take(&mut p.unsynced) {
                let _ = std::fs::remove_file(file);
            }
            p.cut = true;
            if let Some(tx) = p.cut_signal.take() {
                let _ = tx.send(());
            }
        }
        std::future::pending().await
    }

    fn is_cut(&self) -> bool {
        self.power.lock().unwrap().cut
    }
}

#[async_trait]
impl crmsync_connector::Forward for PowerCut {
    fn inner(&self) -> &dyn Connector {
        &self.inner
    }
    async fn create(&self, collection: &CollectionId, name: &str, body: &[u8]) -> Result<ItemMeta, ConnectorError> {
        if self.is_cut() {
            self.dead().await;
        }
        let meta = self.inner.create(collection, name, body).await?;
        let file = self.root.join(collection.as_str()).join(meta.href.as_str());
        let reached_cut = {
            let mut p = self.power.lock().unwrap();
            p.unsynced.push(file);
            p.creates += 1;
            matches!(self.cut, Cut::AtCreate(n) if p.creates >= n) || p.cut
        };
        if reached_cut {
            self.dead().await;
        }
        Ok(meta)
    }
    async fn flush_writes(&self) -> Result<(), ConnectorError> {
        let reached_cut = {
            let mut p = self.power.lock().unwrap();
            p.flushes += 1;
            matches!(self.cut, Cut::AtFlush(n) if p.flushes >= n) || p.cut
        };
        if reached_cut {
            self.dead().await;
        }
        // Only the renames made before the folder fsync began are surely
        // covered by it; one landing while it runs waits for the next
        // flush (R-VDIR-14 runs a flush beside the next chunk's writes).
        let covered = self.power.lock().unwrap().unsynced.len();
        self.inner.flush_writes().await?;
        if self.is_cut() {
            self.dead().await;
        }
        self.power.lock().unwrap().unsynced.drain(..covered);
        Ok(())
    }
}

/// Contacts created minus contacts deleted, by the change log.
async fn contact_count(store: &Store) -> i64 {
    use crmsync_model::{ChangeOp, EntityKind};
    let changes = store.records().changes_since(0, 0).await.unwrap();
    assert!(
        changes.len() < crmsync_store::MAX_CHANGES_PAGE as usize,
        "one page holds them all"
    );
    changes
        .iter()
        .filter(|c| c.entity == EntityKind::Contact)
        .map(|c| match c.op {
            ChangeOp::Create => 1,
            ChangeOp::Delete => -1,
            _ => 0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_vdir_11_power_cut_mid_batch_loses_only_unsynced_renames_and_a_rerun_converges() {
    let world = World::new().await;
    cut_the_power(&world, Cut::AtCreate(CUT_AT)).await;
    let survived = world.files("contacts").len();
    assert!(
        survived < CUT_AT,
        "the cut undid the unsynced renames of its batch: {survived} files left"
    );
    power_back_and_converge(&world).await;
}

/// R-VDIR-14: the second flush (of the second chunk) runs beside the third
/// chunk's writes. The power fails as it starts: the second chunk's renames
/// and those of the third that landed are undone. The status store must
/// hold only the first chunk, whose flush had returned, and every file it
/// records must have survived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_vdir_14_power_cut_at_a_flush_beside_the_next_chunks_writes_loses_nothing_recorded() {
    let world = World::new().await;
    cut_the_power(&world, Cut::AtFlush(2)).await;
    let pairs = world.store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert_eq!(pairs.len(), 64, "the first chunk alone was recorded");
    recorded_files_survived(&world, &pairs);
    assert!(
        world.files("contacts").len() < 128,
        "the cut undid the second chunk's renames"
    );
    power_back_and_converge(&world).await;
}

/// R-VDIR-15: the first batch's (`STREAM_BATCH`) last chunk is flushed
/// beside the second batch's first writes; the power fails as that flush
/// starts. Only the chunks before it, flushed and committed, are recorded,
/// every file they record survived, and a re-run converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_vdir_15_power_cut_at_a_batch_boundary_loses_nothing_recorded() {
    let contacts = STREAM_BATCH + 100;
    let chunks_before = STREAM_BATCH.div_ceil(CHUNK);
    let world = World::new().await;
    cut_the_power_of(&world, Cut::AtFlush(chunks_before), contacts).await;
    let pairs = world.store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert_eq!(
        pairs.len(),
        (chunks_before - 1) * CHUNK,
        "the first batch's chunks but its last were recorded"
    );
    recorded_files_survived(&world, &pairs);
    assert!(
        world.files("contacts").len() < STREAM_BATCH,
        "the cut undid the last chunk's renames"
    );
    power_back_and_converge_with(&world, contacts).await;
}

/// Every write the store recorded is still in the folder after the cut.
fn recorded_files_survived(world: &World, pairs: &[PairRow]) {
    for pair in pairs {
        assert!(
            world.folder("contacts").join(&pair.href).exists(),
            "a recorded write survived the cut: {}",
            pair.href
        );
    }
}

/// Seeds the CRM, runs a first sync through a vdir whose power fails at
/// `cut` and stops the run there, as the process would.
async fn cut_the_power(world: &World, cut: Cut) {
    cut_the_power_of(world, cut, CONTACTS).await
}

async fn cut_the_power_of(world: &World, cut: Cut, contacts: usize) {
    for i in 0..contacts {
        world
            .contact("Ada", &format!("Lovelace{i:03}"), &format!("ada{i}@example.com"))
            .await;
    }
    let root = world.dir.path().join("mailbox");
    let (tx, signal) = oneshot::channel();
    let power_cut = Arc::new(PowerCut {
        inner: VdirConnector::open(&VdirConfig::new(root.clone())).unwrap(),
        root,
        cut,
        power: Mutex::new(Power {
            cut_signal: Some(tx),
            ..Power::default()
        }),
    });
    let profile = SyncProfile::new(
        "alice",
        world.actor.clone(),
        crmsync_engine::Profile::new(&world.actor.user_id),
        power_cut.clone(),
    );
    let store = world.store.clone();
    let run = tokio::spawn(async move {
        let opts = RunOptions {
            now: Some(now()),
            ..RunOptions::default()
        };
        let _ = run_profile(&store, &profile, &opts).await;
    });
    tokio::time::timeout(std::time::Duration::from_secs(120), signal)
        .await
        .expect("the power cut came")
        .unwrap();
    // Nothing of the process runs after the cut.
    run.abort();
    let _ = run.await;
}

/// Power back: runs with the plain vdir until one plans nothing; every
/// contact is then in the folder once and in the CRM once.
async fn power_back_and_converge(world: &World) {
    power_back_and_converge_with(world, CONTACTS).await
}

async fn power_back_and_converge_with(world: &World, contacts: usize) {
    let report = world.sync().await;
    assert!(report.writes() > 0, "{report}");
    let again = world.sync().await;
    assert_eq!(again.writes(), 0, "converged: {again}");

    let found = world.uids("contacts");
    let unique: BTreeSet<&String> = found.iter().collect();
    assert_eq!(found.len(), contacts, "every contact in the folder, nothing lost");
    assert_eq!(unique.len(), contacts, "no duplicate");
    assert_eq!(
        contact_count(&world.store).await,
        contacts as i64,
        "no CRM contact lost or added"
    );
}
