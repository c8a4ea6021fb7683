//! One run of one profile: every collection, with re-planning of items that
//! changed underneath, a journal, and cursors moved only when all is applied.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use crmsync_connector::{Collection, ConnectorError, ContentType, SyncToken};
use crmsync_engine::EntityClass;
use crmsync_mapping::CardVersion;
use crmsync_store::status::{Cursor, HistoryEntry, PairRow, RunState};
use tracing::Instrument as _;

use crate::apply::Applier;
use crate::choice::last_segment;
use crate::codec::{Codec, MappingCounts};
use crate::collect::{Sources, collect};
use crate::directory::BatchDirectory;
use crate::error::SyncError;
use crate::faults::Faults;
use crate::groupware_side::{self, GroupwareState, Listing};
use crate::pass_keys::PassKeys;
use crate::pass_reads::{PassReads, ReadAhead};
use crate::prelist::Early;
use crate::profile::{SyncProfile, collection_kind, collection_name};
use crate::recover::InterruptedCreates;
use crate::report::{CollectionReport, MappingWork, RunOutcome, RunReport};
use crate::stores::RunStores;
use crate::stream::{self, Stream};
use crate::{crm_side, identity, recover};

/// Reports progress of long work (the CLI draws a bar; the server logs).
pub trait Progress: Send + Sync {
    fn start(&self, label: &str, total: u64);
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

pub struct RunOptions<'a> {
    /// Plan and report, change nothing (R-SAFE-5).
    pub dry_run: bool,
    /// The user confirmed a mass delete the guard held (R-SAFE-3).
    pub confirm_mass_delete: bool,
    /// The clock; `None` = now. Tests pass a fixed time.
    pub now: Option<DateTime<Utc>>,
    pub progress: &'a dyn Progress,
    /// Crash injection for tests.
    pub faults: Option<&'a Faults>,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            dry_run: false,
            confirm_mass_delete: false,
            now: None,
            progress: &NoProgress,
            faults: None,
        }
    }
}

/// How many passes one collection gets in one run: the first applies the
/// plan, the next confirm our own writes (and re-plan items that changed
/// underneath). What is still moving after that waits for the next run, which
/// starts again from the last cursor, so nothing is skipped.
const MAX_PASSES: usize = 4;

/// `store` is a [`Store`](crmsync_store::Store) (or a fenced one) or the
/// two handles a run takes from it ([`RunStores`]).
pub async fn run_profile(
    store: impl Into<RunStores>,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
) -> Result<RunReport, SyncError> {
    let store = &store.into();
    // Every log line of the run carries the profile and the run id; the
    // collection and item spans below add where in the run it happened. A
    // run-ending error is returned, not logged here: the caller logs it once
    // (the scheduler's "profile run failed", the CLI's message).
    let span = tracing::info_span!(
        "run",
        profile = %profile.name,
        run_id = tracing::field::Empty,
        dry_run = opts.dry_run
    );
    run_profile_in_span(store, profile, opts).instrument(span).await
}

async fn run_profile_in_span(
    store: &RunStores,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
) -> Result<RunReport, SyncError> {
    crmsync_engine::validate_profile(&profile.rules).map_err(|e| SyncError::Profile {
        profile: profile.name.clone(),
        message: e.to_string(),
    })?;
    // R-SYNC-PERF-5/7: the early listings go out first; the run's start
    // row, the recovery, the check of the named collections and every first
    // pass's reads run while they are in flight.
    let mut prelist = crate::prelist::read(store, profile).await?;
    if opts.dry_run {
        let (answers, ready) = futures_util::future::join(prelist.list(profile), before_passes(store, profile)).await;
        let (discovered, ahead) = ready?;
        prelist.keep(answers);
        prelist.keep_reads(ahead);
        let start = Start {
            run_id: None,
            creates: &Default::default(),
            discovered,
        };
        let collections = run_collections(store, profile, opts, start, prelist).await?;
        return Ok(RunReport {
            run_id: None,
            profile: profile.name.clone(),
            outcome: RunOutcome::DryRun,
            recovered_steps: 0,
            collections,
        });
    }
    let (answers, started) = futures_util::future::join(prelist.list(profile), async {
        let run = store.sync_state().begin_run(&profile.name).await?;
        // After the run's row exists, an error is the run's own: it is
        // recorded as its outcome below.
        let ready = async {
            let (recovered, creates) = recover::close_interrupted(store, &profile.name, &run.id).await?;
            let (discovered, ahead) = before_passes(store, profile).await?;
            Ok::<_, SyncError>((recovered, creates, discovered, ahead))
        }
        .await;
        Ok::<_, SyncError>((run, ready))
    })
    .await;
    let (run, ready) = started?;
    tracing::Span::current().record("run_id", run.id.as_str());
    prelist.keep(answers);
    let result = async {
        let (recovered, creates, discovered, ahead) = ready?;
        prelist.keep_reads(ahead);
        let start = Start {
            run_id: Some(&run.id),
            creates: &creates,
            discovered,
        };
        let collections = run_collections(store, profile, opts, start, prelist).await?;
        Ok::<_, SyncError>((recovered, collections))
    }
    .await;
    match result {
        Ok((recovered_steps, collections)) => {
            let outcome = if collections
                .iter()
                .any(|c| c.guard.as_ref().is_some_and(|g| !g.confirmed))
            {
                RunOutcome::Guarded
            } else if collections.iter().any(|c| c.replanned > 0) {
                RunOutcome::Partial
            } else {
                RunOutcome::Ok
            };
            let report = RunReport {
                run_id: Some(run.id.clone()),
                profile: profile.name.clone(),
                outcome,
                recovered_steps,
                collections,
            };
            let summary = summary_json(&report);
            store
                .sync_state()
                .finish_run(&run.id, outcome.into(), Some(&summary), None)
                .await?;
            tracing::info!(outcome = %RunState::from(outcome), recovered_steps, "run finished");
            Ok(report)
        }
        Err(SyncError::InjectedCrash { step }) => Err(SyncError::InjectedCrash { step }),
        Err(e) => {
            // Best effort: the run's own failure is what the caller must see.
            let _ = store
                .sync_state()
                .finish_run(&run.id, RunState::Failed, None, Some(&e.to_string()))
                .await;
            Err(e)
        }
    }
}

/// What the passes need before they start, read while the early listings
/// are in flight (R-SYNC-PERF-7): every collection the profile names must
/// exist before the run writes anything (R-COL-1; checking may discover
/// the mailbox's collections, handed on), and each collection's first-pass
/// reads.
async fn before_passes(
    store: &RunStores,
    profile: &SyncProfile,
) -> Result<(Option<Vec<Collection>>, HashMap<EntityClass, ReadAhead>), SyncError> {
    let mut discovered = None;
    crate::choice::check_choices(store, profile, &mut discovered).await?;
    let ahead = crate::pass_reads::read_ahead(store, profile).await?;
    Ok((discovered, ahead))
}

/// The summary key of a collection the mass-delete guard held.
pub const HELD_COUNT: &str = "held";

/// Per collection, the applied counts by "target kind"; a collection the
/// mass-delete guard held also counts under [`HELD_COUNT`] the records it
/// would have taken out of sync, so status can name it (R-SYNC-GUARD-2).
fn summary_json(report: &RunReport) -> String {
    let per: BTreeMap<&str, BTreeMap<String, usize>> = report
        .collections
        .iter()
        .map(|c| {
            let mut counts = c.applied.clone();
            if let Some(g) = c.guard.as_ref().filter(|g| !g.confirmed) {
                counts.insert(HELD_COUNT.to_string(), g.deletes);
            }
            (c.collection.as_str(), counts)
        })
        .collect();
    serde_json::to_string(&per).expect("summary serialises")
}

/// What the run settled before its collections' passes.
struct Start<'a> {
    /// `None` for a dry run.
    run_id: Option<&'a str>,
    creates: &'a InterruptedCreates,
    /// The mailbox's collections, if checking the named ones discovered them.
    discovered: Option<Vec<Collection>>,
}

async fn run_collections(
    store: &RunStores,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
    start: Start<'_>,
    prelist: crate::prelist::Prelist,
) -> Result<Vec<CollectionReport>, SyncError> {
    let Start {
        run_id,
        creates,
        mut discovered,
    } = start;
    // Filled for each batch that is mapped with what that batch names: a
    // no-change run reads no user, account or contact (R-SCALE-2), a run
    // that maps a few records only theirs (R-SCALE-8).
    let directory = BatchDirectory::new(store, &profile.actor);
    // A run that remembers where each class lives skips discovery: a no-change
    // sync is then one listing per collection (R-SYNC-PERF-3). Discovery (once
    // per run, for every collection: several requests on a DAV server) runs
    // on the first run, after a reset, and when a collection is gone.
    let mut early = prelist.early;
    let mut reports = Vec::new();
    for &class in &profile.classes {
        if class == EntityClass::Mail {
            if let Some(mail) = &profile.mail {
                let run = crate::mail::MailRun {
                    run_id,
                    now: opts.now,
                    dry_run: opts.dry_run,
                };
                reports.push(crate::mail::run_mail(store, &profile.name, &profile.actor, mail, &run).await?);
            }
            continue;
        }
        if collection_kind(class).is_none() {
            continue;
        }
        let name = collection_name(class);
        let span = tracing::info_span!("collection", collection = name, class = ?class);
        // Every syncable class was read early; a missing one would only
        // cost a discovery.
        let early = early.remove(&class).unwrap_or_default();
        let report = sync_collection(
            store,
            profile,
            opts,
            run_id,
            &directory,
            &mut discovered,
            class,
            creates,
            early,
        )
        .instrument(span.clone())
        .await?;
        span.in_scope(|| {
            tracing::info!(
                applied = ?report.applied,
                replanned = report.replanned,
                failed = report.failed.len(),
                quarantined = report.quarantined.len(),
                held = report.guard.as_ref().is_some_and(|g| !g.confirmed),
                "collection synced"
            )
        });
        reports.push(report);
    }
    Ok(reports)
}

/// One collection of a run: the remembered one, or the one discovery finds.
#[allow(clippy::too_many_arguments)]
async fn sync_collection(
    store: &RunStores,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
    run_id: Option<&str>,
    directory: &BatchDirectory,
    discovered: &mut Option<Vec<Collection>>,
    class: EntityClass,
    creates: &InterruptedCreates,
    mut early: Early,
) -> Result<CollectionReport, SyncError> {
    let name = collection_name(class);
    // A remembered collection stands only while it is the one the profile
    // names: a changed choice is looked up again (R-COL-1; `prelist` read
    // it so). It may also be gone (deleted, moved): then it is found again,
    // as a first run would, once.
    let remembered = early.remembered.take();
    let mut from_memory = remembered.is_some();
    let mut collection = match remembered {
        Some(c) => {
            profile.connector.remember_collection(&c);
            Some(c)
        }
        None => discover_and_pick(store, profile, opts, discovered, class).await?,
    };
    // Appointments this run created in the user's calendar (R-CAL-3-STATUS).
    let mut created = crate::participant_status::CreatedIds::default();
    let report = loop {
        let here = collection.take();
        match run_collection(
            store,
            profile,
            opts,
            run_id,
            directory,
            class,
            here,
            creates,
            &mut created,
            &mut early,
        )
        .await
        {
            Err(SyncError::Connector(ConnectorError::NotFound { .. })) if from_memory => {
                tracing::info!("the remembered collection is gone: discovering it again");
                if !opts.dry_run {
                    store.sync_state().forget_collection(&profile.name, name).await?;
                }
                *discovered = None;
                from_memory = false;
                collection = discover_and_pick(store, profile, opts, discovered, class).await?;
            }
            other => break other?,
        }
    };
    let held = report.guard.as_ref().is_some_and(|g| !g.confirmed);
    if !opts.dry_run && !held {
        crate::participant_status::after_collection(store.sync_state(), profile, class, name, &created).await?;
    }
    Ok(report)
}

/// The collection the profile last synced `name` with, if it remembers one.
pub(crate) async fn remembered(store: &RunStores, profile: &str, name: &str) -> Result<Option<Collection>, SyncError> {
    // Unreadable JSON (written by another version) only costs a discovery.
    Ok(store
        .sync_state()
        .remembered_collection(profile, name)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok()))
}

/// Discovers the mailbox's collections (once per run) and picks `class`'s,
/// remembering it for the next runs unless this is a dry run.
async fn discover_and_pick(
    store: &RunStores,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
    discovered: &mut Option<Vec<Collection>>,
    class: EntityClass,
) -> Result<Option<Collection>, SyncError> {
    let all = match discovered {
        Some(all) => all,
        None => discovered.insert(profile.connector.discover().await?),
    };
    let collection = pick_collection(profile, all, class, !opts.dry_run).await?;
    if let (Some(c), false) = (&collection, opts.dry_run) {
        let json = serde_json::to_string(c).expect("a collection serialises");
        store
            .sync_state()
            .remember_collection(&profile.name, collection_name(class), &json)
            .await?;
    }
    Ok(collection)
}

pub(crate) async fn find_collection(
    profile: &SyncProfile,
    class: EntityClass,
    create: bool,
) -> Result<Option<Collection>, SyncError> {
    let discovered = profile.connector.discover().await?;
    pick_collection(profile, &discovered, class, create).await
}

/// The collection a class lives in among `discovered`: the one the profile
/// names (R-COL-1), else crmsync's own, created when missing and `create`
/// says so (R-COL-2).
pub(crate) async fn pick_collection(
    profile: &SyncProfile,
    discovered: &[Collection],
    class: EntityClass,
    create: bool,
) -> Result<Option<Collection>, SyncError> {
    let kind = collection_kind(class).expect("only syncable classes get here");
    let name = collection_name(class);
    if let Some(wanted) = profile.collections.get(name) {
        return crate::choice::resolve(profile, class, wanted, discovered).map(Some);
    }
    let candidates: Vec<&Collection> = discovered.iter().filter(|c| c.kind.serves(kind)).collect();
    // An exact id wins (vdir folders are named `contacts`); a DAV collection's
    // id is its href (`/crm/contacts/`), so its last path segment or its
    // display name names it (R-SYNC-COLL-1).
    let found = candidates
        .iter()
        .position(|c| c.id.as_str() == name)
        .or_else(|| candidates.iter().position(|c| last_segment(c.id.as_str()) == name))
        .or_else(|| candidates.iter().position(|c| c.display_name == name))
        .map(|i| candidates[i].clone());
    match found {
        Some(c) => Ok(Some(c)),
        None if create => Ok(Some(profile.connector.ensure_collection(kind, name).await?)),
        None => Ok(None),
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_collection(
    store: &RunStores,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
    run_id: Option<&str>,
    directory: &BatchDirectory,
    class: EntityClass,
    collection: Option<Collection>,
    creates: &InterruptedCreates,
    created: &mut crate::participant_status::CreatedIds,
    early: &mut Early,
) -> Result<CollectionReport, SyncError> {
    let vcard_version = match collection.as_ref().and_then(|c| c.vcard_version) {
        Some(crmsync_connector::VCardVersion::V4) => CardVersion::V4,
        _ => CardVersion::V3,
    };
    let codec = Codec {
        class,
        directory,
        vcard_version,
        format: collection
            .as_ref()
            .map(|c| c.content_type)
            .unwrap_or_else(|| collection_kind(class).map_or(ContentType::ICalendar, |k| k.content_type())),
        counts: MappingCounts::default(),
    };
    let mut report = run_passes(
        store, profile, opts, run_id, &codec, collection, creates, created, early,
    )
    .await?;
    report.mapping = codec.counts.snapshot();
    report.directory_rows = codec.counts.directory_rows();
    Ok(report)
}

/// The passes of one collection's run, until one writes nothing to the
/// groupware (or `MAX_PASSES`).
#[allow(clippy::too_many_arguments)]
async fn run_passes(
    store: &RunStores,
    profile: &SyncProfile,
    opts: &RunOptions<'_>,
    run_id: Option<&str>,
    codec: &Codec<'_>,
    collection: Option<Collection>,
    creates: &InterruptedCreates,
    created: &mut crate::participant_status::CreatedIds,
    early: &mut Early,
) -> Result<CollectionReport, SyncError> {
    let class = codec.class;
    let name = collection_name(class);
    let mut report = CollectionReport {
        class,
        collection: name.to_string(),
        plan: crmsync_engine::Plan {
            class,
            collection: name.to_string(),
            actions: Vec::new(),
            duplicates: Vec::new(),
            warnings: Vec::new(),
            guard: None,
        },
        applied: BTreeMap::new(),
        passes: 0,
        replanned: 0,
        failed: Vec::new(),
        reverted: Vec::new(),
        warnings: Vec::new(),
        quarantined: BTreeMap::new(),
        guard: None,
        largest_batch: 0,
        mapping: MappingWork::default(),
        directory_rows: 0,
    };
    let now = opts.now.unwrap_or_else(Utc::now);
    let mut rules = profile.rules.clone();
    rules.mass_delete_confirmed |= opts.confirm_mass_delete;
    // R-SYNC-REPORT-2: the pairs a conflict was queued for in this run.
    let mut conflicted = BTreeSet::new();

    loop {
        report.passes += 1;
        // The first pass takes what was read while the listings were in
        // flight, if nothing was written since (R-SYNC-PERF-7); later
        // passes, and a first pass after writes, read for themselves.
        let reads = match early.take_reads(store) {
            Some(reads) => reads,
            None => crate::pass_reads::read(store, &profile.name, name).await?,
        };
        let PassReads {
            keys,
            quarantined,
            conflict_pairs,
            had_duplicates,
            kept_apart,
            crm: crm_ahead,
        } = reads;
        // The first pass takes the cursor `prelist` read; later ones read it again.
        let stored_cursor = match early.take_cursor() {
            Some(cursor) => cursor,
            None => store.sync_state().cursor(&profile.name, name).await?,
        };
        let known_bad: groupware_side::KnownBad =
            quarantined.into_iter().map(|q| (q.href, (q.etag, q.error))).collect();
        // R-ENG-11: for a field held in a manual conflict neither side holds
        // the base, so the engine must not take an unchanged side for the
        // base (an edit of another field on the other side would then carry
        // that side's conflicting value over): such pairs read both sides.
        let (reread_ids, reread_hrefs) = held_pairs(store, &profile.name, name, &keys, conflict_pairs).await?;
        // While an ambiguity of R-PAIR-2 is open, its records and items stay
        // unpaired and unchanged, so a delta would not show them: the engine
        // would then judge a member that changed without the others, and
        // create it a second time. Such passes read both sides in full.
        let cursor = if had_duplicates { None } else { stored_cursor.clone() };

        let token = cursor.as_ref().and_then(|c| c.token.clone()).map(SyncToken::new);
        // R-SYNC-PERF-5: the changes asked for at the run's start, if asked
        // with the token this pass lists from (only the first pass's can be).
        let early_changes = early.listing_for(token.as_ref());
        let mut groupware = match &collection {
            Some(c) => {
                let listing = Listing {
                    connector: &*profile.connector,
                    collection: &c.id,
                    token,
                    early: early_changes,
                    paired: &keys,
                    store,
                    known_bad: &known_bad,
                    reread: &reread_hrefs,
                };
                groupware_side::load(listing, codec).await?
            }
            // Dry run against a collection that does not exist yet: empty.
            None => GroupwareState {
                listed: Some(0),
                ..GroupwareState::default()
            },
        };
        let since = cursor.as_ref().map(|c| c.crm_seq);
        let sharing = crate::collect::pairs_sharing_with_items(store, &keys, &groupware, &profile.name, class).await?;
        crate::collect::quarantine_duplicate_uids(&mut groupware, &sharing, &profile.name, class);
        drop(sharing);
        let mut named = identity::named_ids(&profile.name, class, &groupware, &keys);
        // R-SYNC-CRASH-3: a record whose groupware create a crash interrupted
        // may be quiet since the cursor (the plan forgot its pair first, e.g.
        // an edit beating a delete); if the create never landed, no item
        // names it either, so read it or it is never seen again.
        named.extend(creates.groupware_create_ids(name).map(str::to_string));
        // R-SYNC-STREAM-1: a run's full pass with nothing unpaired on the
        // groupware side defers the unpaired CRM records to `stream.rs`.
        let unpaired = if run_id.is_some() && collection.is_some() && stream::may_defer(&groupware, &keys) {
            crm_side::Unpaired::Defer
        } else {
            crm_side::Unpaired::Load
        };
        let mut crm = crm_side::load(
            store,
            profile,
            codec,
            since,
            &keys,
            &reread_ids,
            &named,
            unpaired,
            crm_ahead,
        )
        .await?;
        let deferred = std::mem::take(&mut crm.deferred);
        let high_seq = crm.high_seq;
        let new_token = groupware.new_token.clone();
        report.quarantined = groupware
            .quarantined
            .iter()
            .map(|(h, (_, e))| (h.clone(), e.clone()))
            .collect();
        if !opts.dry_run {
            groupware_side::save_quarantine(store, &profile.name, name, &groupware, &known_bad).await?;
        }

        let pairs = touched_pairs(store, &keys, &crm, &groupware).await?;
        let collected = collect(Sources {
            profile: &profile.name,
            class,
            collection: name,
            keys: &keys,
            pairs,
            crm,
            groupware,
            creates,
            limits: &rules.entity(class).field_limits,
        })?;
        let mut lookups = collected.lookups;
        let mut input = collected.input;
        input.crm_total = input.crm_total.map(|total| total + deferred.len());
        report.largest_batch = report.largest_batch.max(lookups.crm.len());
        input.kept_apart_crm = kept_apart.crm_ids;
        input.kept_apart_hrefs = kept_apart.hrefs;
        let plan = crmsync_engine::plan(&rules, now, &input);
        report.guard = plan.guard.clone();
        let refused = plan.is_refused();
        for w in &plan.warnings {
            if !report.warnings.contains(w) {
                report.warnings.push(w.clone());
            }
        }
        report.plan = plan;
        let (Some(run_id), Some(coll)) = (run_id, collection.as_ref()) else {
            return Ok(report); // dry run
        };
        record_plan_notes(store, &profile.name, name, run_id, &report.plan).await?;
        if refused {
            return Ok(report);
        }
        let applier = Applier {
            store,
            profile,
            collection_id: &coll.id,
            collection: name,
            codec,
            run_id,
            faults: opts.faults,
            progress: opts.progress,
            crm_lock: tokio::sync::Mutex::new(()),
        };
        let mut applied = applier.apply(&report.plan, &mut lookups).await?;
        created.extend(crate::participant_status::created_in_calendar(class, &report.plan));
        drop(lookups);
        if !deferred.is_empty() {
            let stream = Stream {
                store,
                profile,
                rules: &rules,
                now,
                codec,
                run_id,
                collection_id: &coll.id,
                collection: name,
                faults: opts.faults,
                progress: opts.progress,
                kept_apart_crm: &input.kept_apart_crm,
                crm_total: input.crm_total.unwrap_or_default(),
                groupware_total: input.groupware_total.unwrap_or_default(),
            };
            let streamed = stream.apply(&deferred, &mut report, created).await?;
            if streamed.refused {
                return Ok(report);
            }
            applied.replanned += streamed.replanned;
            applied.wrote_groupware |= streamed.wrote_groupware;
        }
        // The report replaces the last one only once the plan that made it is
        // applied: a group it no longer lists may be resolved by pairs this
        // plan saves, and until they are saved the members need the full
        // reads the old report asks for (R-SYNC-DUP-1). A crash, a re-plan or
        // a held plan keeps the old report.
        // R-SCALE-4: no report before and none now is nothing to write.
        if applied.replanned == 0 && (had_duplicates || !report.plan.duplicates.is_empty()) {
            save_duplicates(store, &profile.name, name, &report.plan).await?;
        }
        let wrote_groupware = applied.wrote_groupware;
        for (k, n) in applied.counts {
            *report.applied.entry(k).or_default() += n;
        }
        count_conflicts_once(&mut report, &mut conflicted);
        report.add_reverts();
        report.add_failures(applied.failed);
        report.replanned = applied.replanned;
        // A token taken before our own groupware writes cannot be trusted to
        // show what happened after them: a digest token (vdir) comes back
        // equal when an item we created is deleted again, and RFC 6578 lets a
        // server leave out items created and deleted after a token. So after
        // writing to the groupware, read once more and keep that pass's token.
        if applied.replanned == 0 && !wrote_groupware {
            let cursor = Cursor {
                crm_seq: high_seq,
                token: new_token.map(|t| t.as_str().to_string()),
            };
            // R-SCALE-4: a no-change pass leaves the cursor as it was; writing
            // it again would cost a write transaction per collection and run.
            if stored_cursor.as_ref() != Some(&cursor) {
                store.sync_state().save_cursor(&profile.name, name, &cursor).await?;
            }
            return Ok(report);
        }
        // Everything the CRM logged up to `high_seq` is applied: the next
        // pass reads the CRM's changes since then, not every record again
        // (R-SYNC-STREAM-1). The groupware side keeps the token this pass
        // listed from, which our own writes came after.
        if applied.replanned == 0 {
            let cursor = Cursor {
                crm_seq: high_seq,
                token: stored_cursor.and_then(|c| c.token),
            };
            store.sync_state().save_cursor(&profile.name, name, &cursor).await?;
        }
        if report.passes >= MAX_PASSES {
            return Ok(report);
        }
    }
}

/// The full rows of the pairs one side or the other changed, deleted or
/// re-read this pass: the only ones the engine and the apply step look at
/// (R-SYNC-STREAM-2). The rest stay keys, so a pass that changes little
/// reads and parses little, whatever the collection holds.
///
/// Asked for by CRM id and href (the store's unique indexes), so the pass
/// holds no pair ids (R-SCALE-10), and only among the pass's keys
/// (R-SCALE-13).
async fn touched_pairs(
    store: &RunStores,
    keys: &PassKeys,
    crm: &crm_side::CrmState,
    groupware: &GroupwareState,
) -> Result<Vec<PairRow>, SyncError> {
    // What a side holds now and what it deleted.
    let crm_ids = crm.present.keys().chain(&crm.deleted).map(String::as_str);
    let hrefs = groupware.items.keys().chain(&groupware.deleted).map(String::as_str);
    keys.rows_touching(store, crm_ids, hrefs).await
}

/// R-SYNC-REPORT-2: a later pass of the same run reads a conflicting pair
/// again and queues its conflict again (replacing the first), so the count is
/// of the pairs with a conflict queued in this run, not of queueings.
fn count_conflicts_once(report: &mut CollectionReport, conflicted: &mut BTreeSet<(Option<String>, Option<String>)>) {
    const KEY: &str = "status conflict";
    conflicted.extend(
        report
            .plan
            .actions
            .iter()
            .filter(|a| a.kind == crmsync_engine::ActionKind::Conflict)
            .map(|a| (a.subject.crm_id.clone(), a.subject.href.clone())),
    );
    if report.applied.contains_key(KEY) {
        report.applied.insert(KEY.to_string(), conflicted.len());
    }
}

/// The collection's pairs with an open (manual) conflict (`held`: their
/// pair ids), among the pass's keys (as the other rows it reads back,
/// R-SCALE-13): their CRM ids, and their hrefs with their ETags.
async fn held_pairs(
    store: &RunStores,
    profile: &str,
    collection: &str,
    keys: &PassKeys,
    held: Vec<String>,
) -> Result<(BTreeSet<String>, BTreeMap<String, String>), SyncError> {
    // No conflict open, no read (R-SCALE-3 counts a no-change run's statements).
    if held.is_empty() {
        return Ok(Default::default());
    }
    let rows = store.sync_state().pairs_by_id(&held).await?;
    // A conflict's pair id may name a pair of another collection in a
    // stale row: only this collection's pairs count, as before.
    Ok(rows
        .into_iter()
        .filter(|p| p.profile == profile && p.collection == collection && keys.knows(&p.crm_id, &p.href))
        .map(|p| (p.crm_id, (p.href, p.etag)))
        .unzip())
}

/// Warnings go into the history, so status and explain can show them after
/// the run (R-FIELD-6).
pub(crate) async fn record_plan_notes(
    store: &RunStores,
    profile: &str,
    collection: &str,
    run_id: &str,
    plan: &crmsync_engine::Plan,
) -> Result<(), SyncError> {
    for w in &plan.warnings {
        store
            .sync_state()
            .add_history(&HistoryEntry {
                profile: profile.to_string(),
                collection: collection.to_string(),
                crm_id: w.subject.crm_id.clone(),
                href: w.subject.href.clone(),
                run_id: Some(run_id.to_string()),
                at: Utc::now(),
                action: "warning".into(),
                rule: w.rule.as_str().to_string(),
                message: w.message.clone(),
                detail: None,
            })
            .await?;
    }
    Ok(())
}

/// The plan's duplicates become the collection's duplicates report, which
/// status shows and which keeps later passes reading in full (R-PAIR-2).
async fn save_duplicates(
    store: &RunStores,
    profile: &str,
    collection: &str,
    plan: &crmsync_engine::Plan,
) -> Result<(), SyncError> {
    let report = serde_json::to_string(&plan.duplicates).expect("duplicates serialise");
    store.sync_state().save_duplicates(profile, collection, &report).await?;
    Ok(())
}
