//! Each participant's sync status kept beside the activity (R-CAL-3-STATUS):
//! shown on every read, never a new version nor a change-log entry.

use crmsync_model::{Activity, ParticipantSyncStatus, Role};
use crmsync_store::ListQuery;

use crate::fixtures::*;

fn statuses(a: &Activity) -> Vec<ParticipantSyncStatus> {
    a.fields.participants.iter().map(|p| p.sync_status).collect()
}

store_test!(r_cal_3_status_is_shown_on_reads_without_a_new_version, |store| {
    use ParticipantSyncStatus::*;
    let owner = user(&store, "Owner", Role::User).await;
    let guest = user(&store, "Guest", Role::User).await;
    let meeting = store
        .records()
        .create(owner.id(), full_appointment(owner.id(), guest.id()))
        .await
        .unwrap();
    // Organizer, invited user, contact, e-mail address.
    assert_eq!(statuses(&meeting), [Pending, Pending, NotSynced, NotSynced]);
    let seq = store.records().latest_seq().await.unwrap();

    // The owner has two profiles: the furthest status shows.
    let id = meeting.id().to_string();
    let state = store.sync_state();
    state
        .set_participant_statuses("owner-dav", owner.id(), &[(id.clone(), Some(Sent))])
        .await
        .unwrap();
    state
        .set_participant_statuses("owner-vdir", owner.id(), &[(id.clone(), Some(Synchronized))])
        .await
        .unwrap();
    state
        .set_participant_statuses("guest-p", guest.id(), &[(id.clone(), Some(Sent))])
        .await
        .unwrap();
    let read: Activity = store.records().get(&id).await.unwrap();
    assert_eq!(statuses(&read), [Synchronized, Sent, NotSynced, NotSynced]);
    assert_eq!(read.meta.version, meeting.meta.version);
    assert_eq!(store.records().latest_seq().await.unwrap(), seq);
    let listed = store
        .records()
        .list::<crmsync_model::ActivityFields>(&ListQuery::default())
        .await
        .unwrap();
    assert_eq!(statuses(&listed.items[0]), [Synchronized, Sent, NotSynced, NotSynced]);

    // A profile forgets its status; what a writer sends is not kept.
    state
        .set_participant_statuses("owner-vdir", owner.id(), &[(id.clone(), None)])
        .await
        .unwrap();
    let mut fields = read.fields.clone();
    fields.participants[1].sync_status = Synchronized;
    let updated = store.records().update(&id, read.meta.version, fields).await.unwrap();
    assert_eq!(statuses(&updated), [Sent, Sent, NotSynced, NotSynced]);
    assert_eq!(
        state
            .participant_statuses("owner-dav")
            .await
            .unwrap()
            .into_iter()
            .collect::<Vec<_>>(),
        [(id, Sent)]
    );
});
