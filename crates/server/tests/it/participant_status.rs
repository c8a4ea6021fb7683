//! Each participant's sync status in the API (R-CAL-3, R-CAL-3-STATUS), on
//! SQLite and PostgreSQL: what the participant's profile wrote, shown in the
//! participant JSON without a new version (ETag) of the activity, and never
//! what a client sends.

use crate::common;

use axum::http::{Method, StatusCode};
use crmsync_model::ParticipantSyncStatus;
use serde_json::json;

on_both!(r_cal_3_status_is_shown_by_the_api_and_changes_no_etag, |w| {
    let id = w.activities.alice_own.clone();
    let path = format!("/api/v1/activities/{id}/participants");
    let list = json!([
        {"party": {"kind": "user", "id": w.alice.id}, "role": "organizer", "invite": true,
         "sync_status": "synchronized"},
        {"party": {"kind": "contact", "id": w.contacts.alice_own}, "role": "required", "invite": false},
    ]);
    let r = w
        .call(
            Method::PUT,
            &path,
            Some(&w.alice.token),
            Some(json!({"participants": list, "version": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let statuses = |r: &common::Reply| -> Vec<String> {
        r.json["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sync_status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(statuses(&r), ["pending", "not_synced"], "crmsync alone sets the status");
    assert_eq!(r.etag(), Some("\"2\""));

    // alice's profile has written her copy.
    w.store
        .sync_state()
        .set_participant_statuses(
            "alice-p",
            &w.alice.id,
            &[(id.clone(), Some(ParticipantSyncStatus::Sent))],
        )
        .await
        .unwrap();
    let r = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
    assert_eq!(statuses(&r), ["sent", "not_synced"]);
    assert_eq!(r.etag(), Some("\"2\""), "a status write is no new version");
    let one = w
        .call(
            Method::GET,
            &format!("/api/v1/activities/{id}"),
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(one.etag(), Some("\"2\""));
    assert!(one.json.to_string().contains(r#""sync_status":"sent""#), "{}", one.json);
    let listed = w
        .call(Method::GET, "/api/v1/activities", Some(&w.alice.token), None)
        .await;
    assert!(
        listed.json.to_string().contains(r#""sync_status":"sent""#),
        "{}",
        listed.json
    );
});
