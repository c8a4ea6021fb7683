//! A meeting alice organises with bob and a contact of hers, each user with
//! their own calendar on a real Radicale server: every participant's sync
//! status and the same attendees in every copy (R-CAL-3), bob's own answer
//! from his calendar (R-CAL-7), explain listing the participants, and a
//! revert that leaves the scheduling properties alone (R-CAL-5, R-ENG-5).

use crate::dav_world;

use std::sync::Arc;

use chrono::{Duration, SubsecRound, Utc};
use crmsync_connector::{Collection, Connector, FetchedItem};
use crmsync_dav::DavConnector;
use crmsync_model::{
    Activity, ActivityFields, ActivityKind, Actor, ContactFields, Participant, ParticipantRole, ParticipantSyncStatus,
    Party, PartyKind, ResponseStatus, Role, UserFields,
};
use crmsync_store::Store;
use crmsync_sync::{RunOptions, RunReport, SyncProfile, run_profile};
use dav_world::{Http, Peer, PeerKind, text};

/// One user with a profile onto their own Radicale.
struct Mailbox {
    peer: Peer,
    actor: Actor,
    profile: SyncProfile,
    dav: DavConnector,
}

impl Mailbox {
    async fn new(store: &Store, name: &str) -> Mailbox {
        let peer = Peer::start(PeerKind::Radicale);
        let (user, _) = store
            .records()
            .create_user(UserFields::active_user(name, format!("{name}@example.com")))
            .await
            .unwrap();
        let actor = Actor {
            user_id: user.meta.id.clone(),
            role: Role::User,
        };
        let profile = SyncProfile::new(
            name,
            actor.clone(),
            crmsync_engine::Profile::new(&actor.user_id),
            Arc::new(DavConnector::new(&peer.config()).unwrap()),
        );
        let dav = DavConnector::new(&peer.config()).unwrap();
        Mailbox {
            peer,
            actor,
            profile,
            dav,
        }
    }

    async fn calendar(&self) -> Collection {
        self.dav
            .discover()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.id.as_str().trim_end_matches('/').ends_with("/calendar"))
            .expect("a calendar collection")
    }

    /// The one event in the user's calendar.
    async fn event(&self) -> FetchedItem {
        let c = self.calendar().await;
        let listing = self.dav.changes(&c.id, None).await.unwrap();
        let hrefs: Vec<_> = listing.changed.into_iter().map(|m| m.href).collect();
        let mut found = self.dav.get_many(&c.id, &hrefs).await.unwrap().found;
        assert_eq!(found.len(), 1, "one event in {}'s calendar", self.profile.name);
        found.remove(0)
    }

    /// The user's calendar client writes the event back, edited by `edit`
    /// on the unfolded text, conditional on the ETag it read.
    async fn edit_event(&self, edit: impl Fn(&str) -> String) {
        let item = self.event().await;
        let body = edit(&unfold(&text(&item)));
        let path = format!("{}{}", self.calendar().await.id.as_str(), item.href.as_str());
        let headers = [("Content-Type", "text/calendar"), ("If-Match", item.etag.as_str())];
        let (status, _) = Http::new(&self.peer)
            .send("PUT", &path, &headers, body.as_bytes())
            .await;
        assert!((200..300).contains(&status), "PUT of the edited event: {status}");
    }
}

async fn run(store: &Store, opts: &RunOptions<'_>, m: &Mailbox) -> RunReport {
    run_profile(store, &m.profile, opts).await.expect("sync")
}

async fn read(store: &Store, id: &str) -> Activity {
    store.records().get::<ActivityFields>(id).await.unwrap()
}

fn unfold(s: &str) -> String {
    s.replace("\r\n ", "").replace("\r\n\t", "")
}

/// The unfolded line of `text` that starts with `prefix` and contains `needle`.
fn line<'a>(text: &'a str, prefix: &str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix) && l.contains(needle))
        .unwrap_or_else(|| panic!("no {prefix} line with {needle} in\n{text}"))
}

fn party(kind: PartyKind, id: &str) -> Party {
    Party {
        kind,
        id: Some(id.to_string()),
        email: None,
        name: None,
    }
}

fn participant(party: Party, role: ParticipantRole, invite: bool) -> Participant {
    Participant {
        party,
        role,
        invite,
        response: ResponseStatus::NeedsAction,
        sync_status: ParticipantSyncStatus::Pending,
    }
}

fn status_of(activity: &Activity, user_id: &str) -> (ParticipantSyncStatus, ResponseStatus) {
    let p = activity
        .fields
        .participants
        .iter()
        .find(|p| p.is_user(user_id))
        .expect("participant");
    (p.sync_status, p.response)
}

// R-CAL-3, R-CAL-3-STATUS, R-CAL-7, R-CAL-3-ATTENDEES, R-CAL-5, R-ENG-5
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_cal_3_participant_status_and_r_cal_7_the_attendees_own_answer_on_radicale() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("crm.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let alice = Mailbox::new(&store, "alice").await;
    let bob = Mailbox::new(&store, "bob").await;
    let now = Utc::now().trunc_subsecs(0);
    let opts = RunOptions {
        now: Some(now),
        ..RunOptions::default()
    };

    // alice's own contact, which bob may not read.
    let carol = store
        .records()
        .create(
            &alice.actor.user_id,
            ContactFields {
                first_name: Some("Carol".into()),
                last_name: Some("Client".into()),
                email1: Some("carol@example.com".into()),
                active: true,
                ..ContactFields::default()
            },
        )
        .await
        .unwrap();
    let mut meeting = ActivityFields::new(ActivityKind::Appointment, "Quarterly review");
    meeting.start = Some(now + Duration::days(3));
    meeting.end = Some(now + Duration::days(3) + Duration::hours(1));
    meeting.participants = vec![
        participant(
            party(PartyKind::User, &alice.actor.user_id),
            ParticipantRole::Organizer,
            true,
        ),
        participant(
            party(PartyKind::User, &bob.actor.user_id),
            ParticipantRole::Required,
            true,
        ),
        participant(party(PartyKind::Contact, carol.id()), ParticipantRole::Required, false),
    ];
    let meeting = store.records().create(&alice.actor.user_id, meeting).await.unwrap();

    // Written to alice's calendar only: she is sent, bob still pending.
    run(&store, &opts, &alice).await;
    assert_eq!(
        status_of(&read(&store, meeting.id()).await, &alice.actor.user_id).0,
        ParticipantSyncStatus::Sent
    );
    assert_eq!(
        status_of(&read(&store, meeting.id()).await, &bob.actor.user_id).0,
        ParticipantSyncStatus::Pending
    );
    run(&store, &opts, &bob).await;
    assert_eq!(
        status_of(&read(&store, meeting.id()).await, &bob.actor.user_id).0,
        ParticipantSyncStatus::Sent
    );
    // Both copies list the same attendees: carol, whom bob may not read,
    // is a plain e-mail attendee in his copy.
    for m in [&alice, &bob] {
        let body = unfold(&text(&m.event().await));
        for who in ["alice", "bob", "carol"] {
            assert!(
                body.contains(&format!("mailto:{who}@example.com")),
                "{who} in {}'s copy:\n{body}",
                m.profile.name
            );
        }
    }
    assert!(
        !line(&unfold(&text(&bob.event().await)), "ATTENDEE", "carol@").contains("CN="),
        "bob may not read carol: no name from her contact"
    );

    // Confirmed by the next run of each profile, which plans nothing: the
    // status is no change of the meeting (same version).
    for m in [&alice, &bob] {
        assert_eq!(run(&store, &opts, m).await.writes(), 0);
    }
    let confirmed = read(&store, meeting.id()).await;
    assert_eq!(confirmed.meta.version, meeting.meta.version);
    assert_eq!(
        status_of(&confirmed, &alice.actor.user_id),
        (ParticipantSyncStatus::Synchronized, ResponseStatus::NeedsAction)
    );
    assert_eq!(
        status_of(&confirmed, &bob.actor.user_id),
        (ParticipantSyncStatus::Synchronized, ResponseStatus::NeedsAction)
    );

    // bob accepts in his calendar, on a meeting he may not change.
    bob.edit_event(|body| {
        let mine = line(body, "ATTENDEE", "bob@example.com");
        body.replace(mine, &mine.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"))
    })
    .await;
    let bobs_copy = bob.event().await;
    run(&store, &opts, &bob).await;
    assert_eq!(
        status_of(&read(&store, meeting.id()).await, &bob.actor.user_id).1,
        ResponseStatus::Accepted,
        "bob's answer reaches the CRM"
    );
    assert_eq!(
        bob.event().await.etag,
        bobs_copy.etag,
        "bob's copy is not rewritten: no revert, no new DTSTAMP"
    );

    // The organizer's copy shows the answer, without a new SEQUENCE.
    let alices_before = unfold(&text(&alice.event().await));
    run(&store, &opts, &alice).await;
    let alices_after = unfold(&text(&alice.event().await));
    assert!(
        line(&alices_after, "ATTENDEE", "bob@example.com").contains("PARTSTAT=ACCEPTED"),
        "{alices_after}"
    );
    let sequence = |t: &str| t.lines().find(|l| l.starts_with("SEQUENCE")).map(str::to_string);
    assert_eq!(sequence(&alices_before), sequence(&alices_after));

    // Later runs never take the answer back.
    run(&store, &opts, &bob).await;
    run(&store, &opts, &bob).await;
    let bobs_now = unfold(&text(&bob.event().await));
    assert!(line(&bobs_now, "ATTENDEE", "bob@example.com").contains("PARTSTAT=ACCEPTED"));
    assert_eq!(
        status_of(&read(&store, meeting.id()).await, &bob.actor.user_id).1,
        ResponseStatus::Accepted
    );

    // explain lists each participant with status and answer.
    let explained = crmsync_sync::ops::explain_record(&store, &bob.profile, meeting.id(), now)
        .await
        .unwrap()
        .to_string();
    assert!(
        explained.contains("bob@example.com: invited, synchronized, answer accepted"),
        "{explained}"
    );
    assert!(
        explained.contains("carol@example.com: not invited, not_synced, answer needs_action"),
        "{explained}"
    );

    // bob renames the meeting he may not change: reverted (R-ENG-5), with
    // DTSTAMP and SEQUENCE as his copy had them (R-CAL-5).
    bob.edit_event(|body| body.replace("SUMMARY:Quarterly review", "SUMMARY:My review"))
        .await;
    let renamed = unfold(&text(&bob.event().await));
    run(&store, &opts, &bob).await;
    let reverted = unfold(&text(&bob.event().await));
    assert!(reverted.contains("SUMMARY:Quarterly review"), "{reverted}");
    let dtstamp = |t: &str| line(t, "DTSTAMP", ":").to_string();
    assert_eq!(dtstamp(&renamed), dtstamp(&reverted), "a revert keeps DTSTAMP");
    assert_eq!(sequence(&renamed), sequence(&reverted), "a revert keeps SEQUENCE");
    assert_eq!(read(&store, meeting.id()).await.fields.subject, "Quarterly review");
}
