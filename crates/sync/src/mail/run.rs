//! One poll of a profile's mail: per folder, list what changed (one command
//! when nothing did), pick the messages a trigger selects, fetch each once,
//! make or join its CRM e-mail, mark it in the mailbox, and untrack what left.
//! The folder's position is saved only after all of that, so a crash or a
//! lost server anywhere re-lists on the next run and converges: a message
//! already tracked is found by its key and never becomes a second record.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use crmsync_connector::{ConnectorError, FolderPoll, FolderPosition, MessageFlags, RawMessage, ThreadHeaders};
use crmsync_engine::{EntityClass, Plan};
use crmsync_mapping::{MailAddress, ParsedEmail, parse_email};
use crmsync_model::{Activity, Actor, PartyKind, RecordRef, normalize_message_id};
use crmsync_store::status::{HistoryEntry, MailFolderRow, TrackedMailRow};
use crmsync_store::{EmailCreate, NewSender, NewTrackedEmail};

use super::MailProfile;
use super::activity::{email_activity, link_user};
use super::parties::Parties;
use super::sender::new_sender;
use crate::error::SyncError;
use crate::report::CollectionReport;
use crate::stores::RunStores;

/// Messages fetched per round trip and stored per transaction: bounds
/// memory with large attachments (two chunks are held at once, one being
/// written while the next is fetched).
const FETCH_CHUNK: usize = 50;

/// Why a message is tracked (stored with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Folder,
    Keyword,
    Reply,
    /// To or from a CRM contact or lead (R-TRACK-4, `known_contacts`).
    KnownContact,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Folder => "folder",
            Trigger::Keyword => "keyword",
            Trigger::Reply => "reply",
            Trigger::KnownContact => "contact",
        }
    }
}

struct Candidate {
    uid: u64,
    modseq: Option<u64>,
    flags: Vec<String>,
    trigger: Trigger,
}

/// A tracked row a listing says left or lost its trigger, and where it was then.
struct Untrack {
    key: String,
    folder: String,
    uid_validity: u64,
    uid: u64,
}

impl Untrack {
    fn of(row: &TrackedMailRow) -> Untrack {
        Untrack {
            key: row.message_key.clone(),
            folder: row.folder.clone(),
            uid_validity: row.uid_validity,
            uid: row.uid,
        }
    }
}

/// What the run knows of the profile's tracked messages.
struct Tracked {
    by_key: HashMap<String, TrackedMailRow>,
    /// (folder, UIDVALIDITY, UID) → key, so that a listing of thousands of
    /// messages finds each one's row without a scan. An entry whose row has
    /// moved on since is stale: [`Tracked::at`] checks the row.
    by_place: HashMap<(String, u64, u64), String>,
    /// Keys a user untracked from the dashboard (R-WEB-19): never tracked
    /// again, wherever the message goes.
    released: HashSet<String>,
}

impl Tracked {
    fn new(rows: Vec<TrackedMailRow>, released: HashSet<String>) -> Tracked {
        let mut tracked = Tracked {
            by_key: HashMap::with_capacity(rows.len()),
            by_place: HashMap::with_capacity(rows.len()),
            released,
        };
        for row in rows {
            tracked.put(row);
        }
        tracked
    }

    fn put(&mut self, row: TrackedMailRow) {
        self.by_place
            .insert((row.folder.clone(), row.uid_validity, row.uid), row.message_key.clone());
        self.by_key.insert(row.message_key.clone(), row);
    }

    fn at(&self, folder: &str, uid_validity: u64, uid: u64) -> Option<&TrackedMailRow> {
        self.by_place
            .get(&(folder.to_string(), uid_validity, uid))
            .and_then(|key| self.by_key.get(key))
            .filter(|r| r.folder == folder && r.uid_validity == uid_validity && r.uid == uid)
    }
}

/// Where a run's mail pass records what it did (R-EXPLAIN-1).
pub(crate) struct MailRun<'a> {
    pub run_id: Option<&'a str>,
    pub now: Option<DateTime<Utc>>,
    pub dry_run: bool,
}

pub(crate) async fn run_mail(
    store: &RunStores,
    profile: &str,
    actor: &Actor,
    mail: &MailProfile,
    run: &MailRun<'_>,
) -> Result<CollectionReport, SyncError> {
    mail.tracking.validate().map_err(|message| SyncError::Profile {
        profile: profile.to_string(),
        message,
    })?;
    let result = poll_folders(store, profile, actor, mail, run).await;
    // One session per run: a profile polled every few minutes must not hold
    // a connection of the server in between.
    mail.source.close().await;
    result
}

async fn poll_folders(
    store: &RunStores,
    profile: &str,
    actor: &Actor,
    mail: &MailProfile,
    run: &MailRun<'_>,
) -> Result<CollectionReport, SyncError> {
    let dry_run = run.dry_run;
    let mut report = CollectionReport {
        class: EntityClass::Mail,
        collection: "mail".into(),
        // Mail is not planned by the engine: no pairs, no deletes (R-DEL-12).
        plan: Plan {
            class: EntityClass::Mail,
            collection: "mail".into(),
            actions: Vec::new(),
            duplicates: Vec::new(),
            warnings: Vec::new(),
            guard: None,
        },
        applied: BTreeMap::new(),
        passes: 1,
        replanned: 0,
        failed: Vec::new(),
        reverted: Vec::new(),
        warnings: Vec::new(),
        quarantined: BTreeMap::new(),
        guard: None,
        largest_batch: 0,
        mapping: Default::default(),
        directory_rows: 0,
    };
    let source = mail.source.as_ref();
    let state = store.sync_state();
    let mut tracked = Tracked::new(
        state.tracked_mail(profile).await?,
        state.released_mail_keys(profile).await?,
    );
    let mut pass = FolderPass {
        store,
        profile,
        user_id: &actor.user_id,
        mail,
        dry_run,
        run_id: run.run_id,
        now: run.now,
        parties: Parties::for_actor(actor.clone()),
    };
    for folder in mail.tracking.folders() {
        let is_tracking_folder = folder == mail.tracking.folder;
        let mut since = store
            .sync_state()
            .mail_folder(profile, &folder)
            .await?
            .map(|r| FolderPosition {
                uid_validity: r.uid_validity,
                highest_modseq: r.highest_modseq,
                uid_next: r.uid_next,
                cursor: r.cursor,
            });
        // The tracking folder is created when missing (R-TRACK-4): on the
        // first poll, and when it was deleted since.
        if is_tracking_folder && since.is_none() && !dry_run {
            source.ensure_folder(&folder).await?;
        }
        let poll = match source.poll(&folder, since.as_ref()).await {
            Err(ConnectorError::NotFound { .. }) if is_tracking_folder && !dry_run => {
                source.ensure_folder(&folder).await?;
                since = None;
                source.poll(&folder, None).await?
            }
            other => other?,
        };
        if poll.unchanged {
            continue;
        }
        pass.folder(&folder, since, &poll, &mut tracked, &mut report).await?;
        if !dry_run {
            let p = poll.position;
            let row = MailFolderRow {
                uid_validity: p.uid_validity,
                highest_modseq: p.highest_modseq,
                uid_next: p.uid_next,
                cursor: p.cursor,
            };
            store.sync_state().save_mail_folder(profile, &folder, &row).await?;
        }
    }
    Ok(report)
}

struct FolderPass<'a> {
    store: &'a RunStores,
    profile: &'a str,
    user_id: &'a str,
    mail: &'a MailProfile,
    dry_run: bool,
    run_id: Option<&'a str>,
    now: Option<DateTime<Utc>>,
    parties: Parties,
}

impl FolderPass<'_> {
    async fn folder(
        &mut self,
        folder: &str,
        since: Option<FolderPosition>,
        poll: &FolderPoll,
        tracked: &mut Tracked,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        let t = &self.mail.tracking;
        let validity = poll.position.uid_validity;
        let is_tracking_folder = !t.folder.is_empty() && folder == t.folder;
        let mut candidates = Vec::new();
        let mut untrack: Vec<Untrack> = Vec::new();
        let mut unmarked = Vec::new();
        let mut seen_marked = Vec::new();
        for m in &poll.changed {
            // R-WEB-19: a message a user untracked is not even fetched again.
            if tracked
                .at(folder, validity, m.uid)
                .is_some_and(|r| tracked.released.contains(&r.message_key))
            {
                continue;
            }
            let here = tracked.at(folder, validity, m.uid).filter(|r| r.tracked);
            let trigger = if is_tracking_folder {
                Some(Trigger::Folder)
            } else if !t.keyword.is_empty() && m.has(&t.keyword) {
                Some(Trigger::Keyword)
            } else {
                None
            };
            match (trigger, here) {
                (Some(trigger), None) => candidates.push(candidate(m, trigger)),
                // R-TRACK-10: the keyword was removed.
                (None, Some(row)) if row.trigger == Trigger::Keyword.as_str() => untrack.push(Untrack::of(row)),
                // Tracked, but the run that tracked it ended before the
                // keyword was set (a crash, a lost connection): set it now.
                (_, Some(row)) if !row.marked && !m.has(&t.tracked_keyword) => {
                    unmarked.push((row.message_key.clone(), m.modseq));
                }
                // The keyword was set but the run ended before it recorded
                // that (a crash between STORE and the status write): record it.
                (_, Some(row)) if !row.marked => seen_marked.push(row.message_key.clone()),
                _ => {}
            }
        }
        // R-TRACK-10: what left the tracking folder (moved or deleted) is untracked.
        if is_tracking_folder && let Some(present) = &poll.present {
            let present: HashSet<u64> = present.iter().copied().collect();
            let candidate_uids: HashSet<u64> = candidates.iter().map(|c| c.uid).collect();
            for row in tracked.by_key.values() {
                let gone = row.folder == folder && (row.uid_validity != validity || !present.contains(&row.uid));
                if row.tracked && gone && !(row.uid_validity == validity && candidate_uids.contains(&row.uid)) {
                    untrack.push(Untrack::of(row));
                }
            }
        }
        // The same for a source that names what left (Graph's `@removed`
        // rows, R-GRAPH-27): a message moved out or deleted is untracked, its
        // CRM e-mail stays.
        if is_tracking_folder {
            for uid in &poll.removed {
                if let Some(row) = tracked.at(folder, validity, *uid).filter(|r| r.tracked)
                    && !untrack.iter().any(|u| u.key == row.message_key)
                {
                    untrack.push(Untrack::of(row));
                }
            }
        }
        // Replies and mail of known contacts arrive as new messages
        // (R-TRACK-4); a first listing does not search the folder's history
        // for them (R-TRACK-MAIL-3), nor does a listing in full after the
        // source lost its position (an expired Graph delta link keeps the
        // folder's validity but has no "new since" to offer).
        if (t.replies || t.known_contacts)
            && !is_tracking_folder
            && !poll.full
            && let Some(prev) = since.filter(|p| p.uid_validity == validity)
        {
            self.new_mail(folder, prev.uid_next, poll, tracked, &mut candidates)
                .await?;
        }
        if !self.dry_run {
            let marks: Vec<(String, u64, Option<u64>)> = unmarked
                .into_iter()
                .filter_map(|(key, modseq)| {
                    let uid = tracked.by_key.get(&key)?.uid;
                    Some((key, uid, modseq))
                })
                .collect();
            self.mark(folder, &marks, tracked).await?;
            let mut seen = Vec::new();
            for key in seen_marked {
                if let Some(row) = tracked.by_key.get_mut(&key) {
                    row.marked = true;
                    seen.push(row.clone());
                }
            }
            self.store.sync_state().save_tracked_mails(self.profile, &seen).await?;
        }
        if self.dry_run {
            self.untrack_all(tracked, untrack, folder, report).await?;
            if !candidates.is_empty() {
                *report.applied.entry("crm track".into()).or_default() += candidates.len();
            }
            return Ok(());
        }
        // The next chunk is fetched while this one is written to the CRM:
        // a first scan then takes about as long as the slower of the two,
        // not their sum. At most two chunks are in memory.
        let source = self.mail.source.clone();
        let chunks: Vec<&[Candidate]> = candidates.chunks(FETCH_CHUNK).collect();
        let mut fetched = fetch_chunk(source.as_ref(), folder, chunks.first().copied()).await?;
        for (i, chunk) in chunks.iter().enumerate() {
            let (next, done) = tokio::join!(
                fetch_chunk(source.as_ref(), folder, chunks.get(i + 1).copied()),
                self.track(folder, validity, chunk, fetched, tracked, report)
            );
            done?;
            fetched = next?;
        }
        // Untracked last: a row the chunks above found again by its key at
        // a new place (a UIDVALIDITY change, R-GRAPH-42's upgrade) did not
        // leave and is not untracked, not even for a moment.
        self.untrack_all(tracked, untrack, folder, report).await?;
        Ok(())
    }

    /// [`FolderPass::untrack`] of each of `rows` still at the place the
    /// listing saw it.
    async fn untrack_all(
        &self,
        tracked: &mut Tracked,
        rows: Vec<Untrack>,
        folder: &str,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        for u in rows {
            let moved = tracked.by_key.get(&u.key).is_some_and(|r| {
                (r.folder.as_str(), r.uid_validity, r.uid) != (u.folder.as_str(), u.uid_validity, u.uid)
            });
            if !moved {
                self.untrack(tracked, &u.key, folder, report).await?;
            }
        }
        Ok(())
    }

    /// New messages (UID at or above the last UIDNEXT) whose thread names a
    /// tracked message, or (with `known_contacts`) that are to or from a CRM
    /// contact or lead; never one the never-track list names.
    async fn new_mail(
        &mut self,
        folder: &str,
        uid_next: u64,
        poll: &FolderPoll,
        tracked: &Tracked,
        candidates: &mut Vec<Candidate>,
    ) -> Result<(), SyncError> {
        let fresh: Vec<&MessageFlags> = poll
            .changed
            .iter()
            .filter(|m| m.uid >= uid_next && !candidates.iter().any(|c| c.uid == m.uid))
            // A source without ordered UIDs (Graph, whose every listed
            // message counts as new) lists tracked ones again when they
            // change: their place already has its row.
            .filter(|m| tracked.at(folder, poll.position.uid_validity, m.uid).is_none())
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let uids: Vec<u64> = fresh.iter().map(|m| m.uid).collect();
        let headers = self.mail.source.thread_headers(folder, &uids).await?;
        let t = &self.mail.tracking;
        if t.known_contacts {
            let addresses: Vec<MailAddress> = headers
                .iter()
                .flat_map(|h| &h.addresses)
                .map(|a| MailAddress {
                    email: a.clone(),
                    name: None,
                })
                .collect();
            self.parties.prefetch(self.store, &addresses).await?;
        }
        for h in headers {
            if h.addresses.iter().any(|a| t.never_tracks(a)) {
                continue;
            }
            let trigger = if t.replies && is_reply(&h, tracked) {
                Some(Trigger::Reply)
            } else if t.known_contacts && self.names_known_contact(&h).await? {
                Some(Trigger::KnownContact)
            } else {
                None
            };
            if let Some(trigger) = trigger
                && let Some(m) = fresh.iter().find(|m| m.uid == h.uid)
            {
                candidates.push(candidate(m, trigger));
            }
        }
        Ok(())
    }

    /// A sender or recipient resolves to a contact or lead the tracking user
    /// may read (R-TRACK-6-PERM); accounts have no address of their own.
    async fn names_known_contact(&mut self, h: &ThreadHeaders) -> Result<bool, SyncError> {
        for address in &h.addresses {
            let address = MailAddress {
                email: address.clone(),
                name: None,
            };
            let party = self.parties.resolve(self.store, &address).await?;
            if matches!(party.kind, PartyKind::Contact | PartyKind::Lead) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// R-TRACK-4: the never-track list wins over every trigger.
    fn never_tracked(&self, parsed: &ParsedEmail) -> Option<String> {
        parsed
            .from
            .iter()
            .chain(&parsed.to)
            .chain(&parsed.cc)
            .find(|a| self.mail.tracking.never_tracks(&a.email))
            .map(|a| a.email.clone())
    }

    async fn history(&self, crm_id: &str, rule: &str, message: String) -> Result<(), SyncError> {
        self.store
            .sync_state()
            .add_history(&HistoryEntry {
                profile: self.profile.to_string(),
                collection: "mail".into(),
                crm_id: Some(crm_id.to_string()),
                href: None,
                run_id: self.run_id.map(str::to_string),
                at: self.now.unwrap_or_else(Utc::now),
                action: "crm create".into(),
                rule: rule.to_string(),
                message,
                detail: None,
            })
            .await?;
        Ok(())
    }

    async fn untrack(
        &self,
        tracked: &mut Tracked,
        key: &str,
        folder: &str,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        let Some(row) = tracked.by_key.get_mut(key) else {
            return Ok(());
        };
        if !self.dry_run {
            let mut untracked = row.clone();
            untracked.tracked = false;
            self.store
                .sync_state()
                .save_tracked_mail(self.profile, &untracked)
                .await?;
            *row = untracked;
        }
        tracing::info!(
            profile = self.profile,
            folder,
            message = key,
            "untracked; the CRM e-mail stays (R-DEL-13)"
        );
        *report.applied.entry("crm untrack".into()).or_default() += 1;
        Ok(())
    }

    /// Makes the CRM e-mails of one fetched chunk: every new one, its
    /// sender record and its status row in one transaction (a crash leaves
    /// the chunk whole or absent; a re-run finds each e-mail by its key,
    /// R-TRACK-5), then the rows of messages that already were CRM e-mails,
    /// then the keywords with one STORE, recorded together.
    async fn track(
        &mut self,
        folder: &str,
        validity: u64,
        chunk: &[Candidate],
        messages: Vec<RawMessage>,
        tracked: &mut Tracked,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        let mut parsed_chunk = Vec::with_capacity(messages.len());
        for message in messages {
            let Some(c) = chunk.iter().find(|c| c.uid == message.uid) else {
                continue;
            };
            let parsed = match parse_email(&message.body, self.mail.tracking.attachment_cap_bytes) {
                Ok(p) => p,
                Err(e) => {
                    report
                        .quarantined
                        .insert(format!("{folder}/{}", message.uid), e.to_string());
                    continue;
                }
            };
            if let Some(address) = self.never_tracked(&parsed) {
                tracing::info!(
                    profile = self.profile,
                    folder,
                    uid = message.uid,
                    "not tracked: {address} is on the never-track list (R-TRACK-4)"
                );
                *report.applied.entry("skip never-track".into()).or_default() += 1;
                continue;
            }
            parsed_chunk.push((c, message.received_at, parsed));
        }
        let addresses: Vec<MailAddress> = parsed_chunk
            .iter()
            .flat_map(|(_, _, p)| p.from.iter().chain(&p.to).chain(&p.cc).cloned())
            .collect();
        self.parties.prefetch(self.store, &addresses).await?;

        // Rows of messages whose CRM e-mail exists already, saved after the
        // new ones (and after the tracking user is linked to them).
        let mut later: Vec<TrackedMailRow> = Vec::new();
        let mut new_emails: Vec<NewTrackedEmail> = Vec::new();
        let mut planned_senders: HashSet<String> = HashSet::new();
        let mut marks: Vec<(String, u64, Option<u64>)> = Vec::new();
        for (c, received_at, parsed) in parsed_chunk {
            let key = parsed.message_key.clone();
            // R-WEB-19: untracked by a user, it stays so at another place too.
            if tracked.released.contains(&key) {
                continue;
            }
            let row = TrackedMailRow {
                message_key: key.clone(),
                activity_id: String::new(),
                folder: folder.to_string(),
                uid_validity: validity,
                uid: c.uid,
                trigger: c.trigger.as_str().to_string(),
                tracked: true,
                marked: c
                    .flags
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&self.mail.tracking.tracked_keyword)),
            };
            if !row.marked {
                marks.push((key.clone(), row.uid, c.modseq));
            }
            // Seen before (moved, re-tagged, UIDVALIDITY reset): the same
            // CRM e-mail, never a second one (R-TRACK-5).
            if let Some(known) = tracked.by_key.get(&key) {
                later.push(TrackedMailRow {
                    activity_id: known.activity_id.clone(),
                    ..row
                });
                continue;
            }
            let received = received_at.and_then(|s| DateTime::from_timestamp(s, 0));
            let (mut fields, mut sender) = self.email_fields(&parsed, received).await?;
            // R-TRACK-2: a second message of this chunk from an unknown
            // sender must link the record the first one makes, so the
            // e-mails before it are stored first and its parties resolved
            // again (rare: only with `unknown_sender` on).
            let from = parsed.from.as_ref().map(|a| a.email.trim().to_lowercase());
            if sender.is_some() && from.as_ref().is_some_and(|f| planned_senders.contains(f)) {
                self.store_new(std::mem::take(&mut new_emails), &mut later, tracked, report)
                    .await?;
                planned_senders.clear();
                (fields, sender) = self.email_fields(&parsed, received).await?;
            }
            if sender.is_some()
                && let Some(from) = from
            {
                planned_senders.insert(from);
            }
            new_emails.push(NewTrackedEmail {
                key,
                fields,
                sender,
                row,
            });
        }
        self.store_new(new_emails, &mut later, tracked, report).await?;
        self.store.sync_state().save_tracked_mails(self.profile, &later).await?;
        for row in later {
            tracked.put(row);
        }
        self.mark(folder, &marks, tracked).await?;
        Ok(())
    }

    /// The CRM e-mail of `parsed` and the record its unknown sender becomes
    /// (R-TRACK-2, when set).
    async fn email_fields(
        &mut self,
        parsed: &ParsedEmail,
        received: Option<DateTime<Utc>>,
    ) -> Result<(crmsync_model::ActivityFields, Option<NewSender>), SyncError> {
        let regarding = self.thread_regarding(&parsed.in_reply_to, &parsed.references).await?;
        let mut fields =
            email_activity(self.store, &mut self.parties, parsed, self.user_id, received, regarding).await?;
        let sender = new_sender(self.mail.tracking.unknown_sender, &mut fields);
        Ok((fields, sender))
    }

    /// Stores `new_emails` in one transaction (with the status rows of those
    /// it creates); the rows of those already in the CRM go to `later`,
    /// once the tracking user is linked to them.
    async fn store_new(
        &mut self,
        new_emails: Vec<NewTrackedEmail>,
        later: &mut Vec<TrackedMailRow>,
        tracked: &mut Tracked,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        let outcomes = self
            .store
            .records()
            .create_tracked_emails(self.user_id, self.profile, &new_emails)
            .await?;
        for (email, outcome) in new_emails.into_iter().zip(outcomes) {
            let activity_id = match outcome {
                EmailCreate::Created(a) => {
                    *report.applied.entry("crm create".into()).or_default() += 1;
                    if let (Some(sender), Some(from)) =
                        (email.sender, a.fields.email.as_ref().and_then(|e| e.from.clone()))
                    {
                        self.sender_made(&sender, &email.key, from, report).await?;
                    }
                    tracked.put(TrackedMailRow {
                        activity_id: a.meta.id.clone(),
                        ..email.row
                    });
                    continue;
                }
                // In the CRM already: another mailbox, an earlier run that
                // ended before its status rows, or twice in this chunk.
                EmailCreate::Existing(a) => {
                    if link_user(self.store, &a.meta.id, self.user_id).await? {
                        *report.applied.entry("crm link".into()).or_default() += 1;
                    }
                    a.meta.id
                }
            };
            later.push(TrackedMailRow {
                activity_id,
                ..email.row
            });
        }
        Ok(())
    }

    /// R-TRACK-2: reports and records the record an unknown sender became,
    /// and lets later messages of this run from that address link it.
    async fn sender_made(
        &mut self,
        sender: &NewSender,
        key: &str,
        from: crmsync_model::Party,
        report: &mut CollectionReport,
    ) -> Result<(), SyncError> {
        let made = sender.record_ref();
        *report
            .applied
            .entry(format!("crm create {}", made.entity.as_str()))
            .or_default() += 1;
        self.history(
            &made.id,
            "R-TRACK-2",
            format!("{} made from the unknown sender of e-mail {key}", made.entity.as_str()),
        )
        .await?;
        self.parties.learn(from);
        Ok(())
    }

    /// R-TRACK-9: sets the tracked keyword on `marks` (key, UID, MODSEQ
    /// read) with as few commands as the source can, except on messages
    /// that changed since (a later run marks those), and records the ones
    /// set in one transaction.
    async fn mark(
        &self,
        folder: &str,
        marks: &[(String, u64, Option<u64>)],
        tracked: &mut Tracked,
    ) -> Result<(), SyncError> {
        if marks.is_empty() {
            return Ok(());
        }
        let asked: Vec<(u64, Option<u64>)> = marks.iter().map(|(_, uid, modseq)| (*uid, *modseq)).collect();
        let marked = self
            .mail
            .source
            .add_keywords(folder, &asked, &self.mail.tracking.tracked_keyword)
            .await?;
        let mut rows = Vec::new();
        for (key, uid, _) in marks {
            // One message twice in a folder: both get the keyword, the row
            // records the copy it points at.
            if marked.contains(uid)
                && let Some(row) = tracked.by_key.get_mut(key)
                && row.uid == *uid
            {
                row.marked = true;
                rows.push(row.clone());
            }
        }
        self.store.sync_state().save_tracked_mails(self.profile, &rows).await?;
        Ok(())
    }

    /// R-TRACK-7: a reply is regarding what the conversation is regarding.
    async fn thread_regarding(
        &self,
        in_reply_to: &[String],
        references: &[String],
    ) -> Result<Option<RecordRef>, SyncError> {
        for key in in_reply_to.iter().chain(references.iter().rev()) {
            let parent: Option<Activity> = self.store.records().email_by_message_key(key).await?;
            if let Some(regarding) = parent.and_then(|p| p.fields.regarding) {
                return Ok(Some(regarding));
            }
        }
        Ok(None)
    }
}

/// The messages of `chunk` (none without one).
async fn fetch_chunk(
    source: &dyn crmsync_connector::MailSource,
    folder: &str,
    chunk: Option<&[Candidate]>,
) -> Result<Vec<RawMessage>, ConnectorError> {
    let uids: Vec<u64> = chunk.unwrap_or_default().iter().map(|c| c.uid).collect();
    if uids.is_empty() {
        return Ok(Vec::new());
    }
    source.fetch(folder, &uids).await
}

/// In-Reply-To or References names a message this profile tracks.
fn is_reply(h: &ThreadHeaders, tracked: &Tracked) -> bool {
    h.in_reply_to
        .iter()
        .chain(&h.references)
        .filter_map(|id| normalize_message_id(id))
        .any(|k| tracked.by_key.get(&k).is_some_and(|r| r.tracked))
}

fn candidate(m: &MessageFlags, trigger: Trigger) -> Candidate {
    Candidate {
        uid: m.uid,
        modseq: m.modseq,
        flags: m.flags.clone(),
        trigger,
    }
}
