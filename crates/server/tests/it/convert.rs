//! R-TRACK-3: opportunities and cases as records of their own, and the
//! conversion of a tracked e-mail, appointment or task into an opportunity,
//! lead or case it then regards. On SQLite and PostgreSQL.

use axum::http::{Method, StatusCode};
use chrono::{Duration, TimeZone, Utc};
use common::{World, participant};
use crmsync_model::{
    ActivityFields, ActivityKind, CaseFields, ContactFields, ConvertedFields, EmailDetails, EmailDirection, EntityKind,
    LeadFields, OpportunityFields, ParticipantRole, Party, PartyKind, RecordRef,
};
use crmsync_store::{ConvertActivity, Entity, ListQuery};
use serde_json::{Value, json};

use crate::common;

async fn count<F: Entity>(w: &World) -> usize {
    w.store
        .records()
        .list::<F>(&ListQuery::default())
        .await
        .expect("list")
        .items
        .len()
}

/// An incoming e-mail to alice from a contact of an account, owned by alice.
async fn tracked_email(w: &World) -> (String, String, String) {
    let account = w
        .store
        .records()
        .create(&w.alice.id, common::account("Analytical Engines Ltd", false))
        .await
        .unwrap()
        .meta
        .id;
    let contact = w
        .store
        .records()
        .create(
            &w.alice.id,
            ContactFields {
                first_name: Some("Ada".into()),
                last_name: Some("Lovelace".into()),
                email1: Some("ada@engines.example".into()),
                account_id: Some(account.clone()),
                active: true,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .meta
        .id;
    let mut mail = ActivityFields::new(ActivityKind::Email, "Quote for 40 looms");
    mail.message_id = Some("quote-1@engines.example".into());
    mail.email = Some(EmailDetails {
        direction: EmailDirection::Incoming,
        from: Some(Party {
            kind: PartyKind::Contact,
            id: Some(contact.clone()),
            email: Some("ada@engines.example".into()),
            name: Some("Ada Lovelace".into()),
        }),
        to: vec![Party {
            kind: PartyKind::User,
            id: Some(w.alice.id.clone()),
            email: Some("alice@example.org".into()),
            name: None,
        }],
        cc: Vec::new(),
        sent_at: None,
        received_at: None,
        text_body: Some("Please send a quote.".into()),
        html_body: None,
        attachments: Vec::new(),
        in_reply_to: Vec::new(),
        references: Vec::new(),
    });
    let id = w.store.records().create(&w.alice.id, mail).await.unwrap().meta.id;
    (id, contact, account)
}

async fn task(w: &World, subject: &str) -> String {
    w.store
        .records()
        .create(&w.alice.id, ActivityFields::new(ActivityKind::Task, subject))
        .await
        .unwrap()
        .meta
        .id
}

async fn convert(w: &World, activity: &str, version: i64, body: Value) -> common::Reply {
    w.call_with(
        Method::POST,
        &format!("/api/v1/activities/{activity}/convert"),
        Some(&w.alice.token),
        Some(body),
        Some(version),
    )
    .await
}

async fn activity(w: &World, id: &str) -> Value {
    w.call(
        Method::GET,
        &format!("/api/v1/activities/{id}"),
        Some(&w.alice.token),
        None,
    )
    .await
    .json
}

// R-TRACK-3, R-PERM-2: opportunities and cases are owned records like the
// others: the owner reads and changes them with versions, another user
// sees only shared ones and changes none, the change log shows them to
// whoever may read them.
on_both!(
    r_track_3_opportunities_and_cases_have_owners_versions_and_permissions,
    |w| {
        for (collection, body, edit) in [
            (
                "opportunities",
                json!({"title": "Looms for Lyon", "estimated_value": 40000, "currency": "EUR", "close_date": "2027-03-31"}),
                json!({"title": "Looms for Lyon", "state": "won"}),
            ),
            (
                "cases",
                json!({"title": "Loom 7 jams", "priority": "high"}),
                json!({"title": "Loom 7 jams", "state": "resolved"}),
            ),
        ] {
            let path = format!("/api/v1/{collection}");
            let made = w
                .call(Method::POST, &path, Some(&w.alice.token), Some(body.clone()))
                .await;
            assert_eq!(made.status, StatusCode::CREATED, "{collection}: {:?}", made.json);
            assert_eq!(made.etag(), Some("\"1\""));
            assert_eq!(made.json["owner_id"], w.alice.id.as_str());
            for (key, value) in body.as_object().unwrap() {
                assert_eq!(&made.json[key], value, "{collection}.{key}");
            }
            let id = made.json["id"].as_str().unwrap().to_owned();
            let item = format!("{path}/{id}");

            // Bob may not learn it exists, let alone change it.
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let r = w
                    .call_with(method.clone(), &item, Some(&w.bob.token), Some(edit.clone()), Some(1))
                    .await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{collection}: bob {method}");
            }
            let edited = w
                .call_with(Method::PUT, &item, Some(&w.alice.token), Some(edit.clone()), Some(1))
                .await;
            assert_eq!(edited.status, StatusCode::OK, "{collection}: {:?}", edited.json);
            assert_eq!(edited.json["state"], edit["state"]);
            let stale = w
                .call_with(Method::PUT, &item, Some(&w.alice.token), Some(edit.clone()), Some(1))
                .await;
            assert_eq!(stale.status, StatusCode::CONFLICT, "{collection}");

            // Shared: bob reads it, and still may not change it.
            let mut shared = edit.clone();
            shared["shared"] = json!(true);
            let r = w
                .call_with(Method::PUT, &item, Some(&w.alice.token), Some(shared.clone()), Some(2))
                .await;
            assert_eq!(r.status, StatusCode::OK);
            assert_eq!(
                w.call(Method::GET, &item, Some(&w.bob.token), None).await.status,
                StatusCode::OK
            );
            let r = w
                .call_with(Method::PUT, &item, Some(&w.bob.token), Some(shared), Some(3))
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{collection}");

            let bob_list = w.call(Method::GET, &path, Some(&w.bob.token), None).await;
            let listed: Vec<&str> = bob_list.json["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap())
                .collect();
            assert!(listed.contains(&id.as_str()), "{collection}: shared and listed");
            let alice_private = match collection {
                "opportunities" => &w.opportunities,
                _ => &w.cases,
            };
            assert!(
                !w.call(Method::GET, &path, Some(&w.alice.token), None).await.json["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["id"] == alice_private.bob_private.as_str()),
                "{collection}: bob's private record listed to alice"
            );

            // Bob's change log shows the shared record, not his private ones to alice.
            let changes = w
                .call(Method::GET, "/api/v1/changes?limit=500", Some(&w.alice.token), None)
                .await;
            let seen: Vec<&str> = changes.json["changes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["record_id"].as_str().unwrap())
                .collect();
            assert!(seen.contains(&id.as_str()));
            assert!(!seen.contains(&alice_private.bob_private.as_str()));

            let gone = w
                .call_with(Method::DELETE, &item, Some(&w.alice.token), None, Some(3))
                .await;
            assert_eq!(gone.status, StatusCode::NO_CONTENT, "{collection}");
            assert_eq!(
                w.call(Method::GET, &item, Some(&w.alice.token), None).await.status,
                StatusCode::NOT_FOUND
            );
        }
        // R-API-3: a value the model refuses is 422 naming the field.
        let r = w
            .call(
                Method::POST,
                "/api/v1/opportunities",
                Some(&w.alice.token),
                Some(json!({"title": "x", "currency": "euro"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(r.error_field(), Some("currency"));
    }
);

// R-TRACK-3, R-TRACK-3-DRAFT: an e-mail becomes an opportunity owned by the
// caller, titled by the subject, concerning the sender contact and its
// account; the e-mail regards it; both writes are in the change log.
on_both!(r_track_3_an_email_becomes_an_opportunity_it_regards, |w| {
    let (mail, contact, account) = tracked_email(&w).await;
    let seq_before = w.store.records().latest_seq().await.unwrap();
    let r = convert(
        &w,
        &mail,
        1,
        json!({"to": "opportunity", "fields": {"estimated_value": 40000, "currency": "GBP"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["created"], true);
    assert_eq!(r.json["record"]["entity"], "opportunity");
    assert_eq!(r.etag(), Some("\"2\""), "the e-mail's new version");
    let opportunity_id = r.json["record"]["id"].as_str().unwrap().to_owned();

    let o = w
        .call(
            Method::GET,
            &format!("/api/v1/opportunities/{opportunity_id}"),
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(o.status, StatusCode::OK);
    assert_eq!(o.json["title"], "Quote for 40 looms");
    assert_eq!(o.json["owner_id"], w.alice.id.as_str());
    assert_eq!(o.json["contact_id"], contact.as_str());
    assert_eq!(o.json["account_id"], account.as_str());
    assert_eq!(o.json["estimated_value"], 40000);
    assert_eq!(o.json["state"], "open");

    let e = activity(&w, &mail).await;
    assert_eq!(e["regarding"], json!({"entity": "opportunity", "id": opportunity_id}));
    assert_eq!(e["version"], 2);
    assert_eq!(
        e["message_id"], "quote-1@engines.example",
        "the e-mail is otherwise unchanged"
    );

    let log = w.store.records().changes_since(seq_before, 100).await.unwrap();
    let logged: Vec<(EntityKind, &str, &str)> = log
        .iter()
        .map(|c| (c.entity, c.record_id.as_str(), c.op.as_str()))
        .collect();
    assert_eq!(
        logged,
        vec![
            (EntityKind::Opportunity, opportunity_id.as_str(), "create"),
            (EntityKind::Activity, mail.as_str(), "update"),
        ]
    );
});

// R-TRACK-3: an appointment becomes a case; a task becomes a lead, whose
// name the caller gives when the task names no one.
on_both!(r_track_3_an_appointment_becomes_a_case_and_a_task_a_lead, |w| {
    let mut meeting = ActivityFields::new(ActivityKind::Appointment, "Loom 7 jams again");
    meeting.start = Some(Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap());
    meeting.end = meeting.start.map(|s| s + Duration::hours(1));
    let customer = w
        .store
        .records()
        .create(&w.alice.id, common::contact("Babbage", false))
        .await
        .unwrap()
        .meta
        .id;
    meeting.participants = vec![
        participant(PartyKind::User, &w.alice.id, ParticipantRole::Organizer),
        participant(PartyKind::Contact, &customer, ParticipantRole::Required),
    ];
    let meeting = w.store.records().create(&w.alice.id, meeting).await.unwrap().meta.id;
    let r = convert(&w, &meeting, 1, json!({"to": "case", "fields": {"priority": "high"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let case_id = r.json["record"]["id"].as_str().unwrap();
    let case = w.store.records().get::<CaseFields>(case_id).await.unwrap();
    assert_eq!(case.fields.title, "Loom 7 jams again");
    assert_eq!(case.fields.contact_id.as_deref(), Some(customer.as_str()));
    assert_eq!(case.meta.owner_id, w.alice.id);
    assert_eq!(
        activity(&w, &meeting).await["regarding"],
        json!({"entity": "case", "id": case_id})
    );

    let call = task(&w, "Call the new weaving mill").await;
    let nameless = convert(&w, &call, 1, json!({"to": "lead"})).await;
    assert_eq!(nameless.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", nameless.json);
    assert_eq!(nameless.error_field(), Some("fields.last_name"));
    let r = convert(
        &w,
        &call,
        1,
        json!({"to": "lead", "fields": {"company": "Jacquard & Fils", "email": "info@jacquard.example"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let lead = w
        .store
        .records()
        .get::<LeadFields>(r.json["record"]["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(lead.fields.company.as_deref(), Some("Jacquard & Fils"));
    assert_eq!(lead.fields.notes.as_deref(), Some("Call the new weaving mill"));
    assert_eq!(activity(&w, &call).await["regarding"]["entity"], "lead");
});

// R-TRACK-3-ONCE: the same conversion sent again (its reply was lost)
// answers with the record the first one made; there is one record.
on_both!(r_track_3_once_a_repeated_conversion_creates_one_record, |w| {
    let (mail, ..) = tracked_email(&w).await;
    let before = count::<OpportunityFields>(&w).await;
    let first = convert(&w, &mail, 1, json!({"to": "opportunity"})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = convert(&w, &mail, 1, json!({"to": "opportunity"})).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.json);
    assert_eq!(again.json["created"], false);
    assert_eq!(again.json["record"], first.json["record"]);
    assert_eq!(again.etag(), Some("\"2\""), "the e-mail did not change again");
    assert_eq!(count::<OpportunityFields>(&w).await, before + 1);
    assert_eq!(activity(&w, &mail).await["version"], 2);

    // R-TRACK-3-REPLACE: once that record is deleted, the link names nothing
    // and converting again makes a new one, without `replace_regarding`.
    let first_id = first.json["record"]["id"].as_str().unwrap();
    let gone = w
        .call_with(
            Method::DELETE,
            &format!("/api/v1/opportunities/{first_id}"),
            Some(&w.alice.token),
            None,
            Some(1),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let anew = convert(&w, &mail, 2, json!({"to": "opportunity"})).await;
    assert_eq!(anew.status, StatusCode::CREATED, "{:?}", anew.json);
    assert_ne!(anew.json["record"]["id"], first.json["record"]["id"]);
    assert_eq!(count::<OpportunityFields>(&w).await, before + 1);
});

// R-TRACK-3: a refused conversion changes nothing: no record, the activity
// at its version, nothing in the change log.
on_both!(r_track_3_a_refused_conversion_leaves_nothing, |w| {
    let (mail, ..) = tracked_email(&w).await;
    let seq = w.store.records().latest_seq().await.unwrap();
    let opportunities = count::<OpportunityFields>(&w).await;
    let invalid = convert(
        &w,
        &mail,
        1,
        json!({"to": "opportunity", "fields": {"currency": "pounds"}}),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.error_field(), Some("fields.currency"));
    let mistyped = convert(
        &w,
        &mail,
        1,
        json!({"to": "opportunity", "fields": {"estimated_value": "lots"}}),
    )
    .await;
    assert_eq!(mistyped.status, StatusCode::BAD_REQUEST);
    assert_eq!(mistyped.error_field(), Some("fields.estimated_value"));
    let stale = convert(&w, &mail, 7, json!({"to": "opportunity"})).await;
    assert_eq!(stale.error_code(), "version_conflict");
    let bob = w
        .call_with(
            Method::POST,
            &format!("/api/v1/activities/{mail}/convert"),
            Some(&w.bob.token),
            Some(json!({"to": "opportunity"})),
            Some(1),
        )
        .await;
    assert_eq!(bob.status, StatusCode::NOT_FOUND, "bob may not read alice's e-mail");

    assert_eq!(count::<OpportunityFields>(&w).await, opportunities);
    assert_eq!(w.store.records().latest_seq().await.unwrap(), seq);
    let e = activity(&w, &mail).await;
    assert_eq!(e["version"], 1);
    assert!(e.get("regarding").is_none());
});

// R-TRACK-3-REPLACE: an activity that already regards another record is
// not silently re-linked: 409, unless the caller says replace_regarding.
on_both!(
    r_track_3_replace_an_activity_already_regarding_another_record_only_when_asked,
    |w| {
        let customer = w
            .store
            .records()
            .create(&w.alice.id, common::account("Jacquard", false))
            .await
            .unwrap()
            .meta
            .id;
        let mut fields = ActivityFields::new(ActivityKind::Task, "Send the catalogue");
        fields.regarding = Some(RecordRef {
            entity: EntityKind::Account,
            id: customer.clone(),
        });
        let id = w.store.records().create(&w.alice.id, fields).await.unwrap().meta.id;
        let cases = count::<CaseFields>(&w).await;

        let refused = convert(&w, &id, 1, json!({"to": "case"})).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{:?}", refused.json);
        assert_eq!(refused.error_code(), "conflict");
        assert!(
            refused.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("replace_regarding")
        );
        assert_eq!(count::<CaseFields>(&w).await, cases);
        assert_eq!(activity(&w, &id).await["regarding"]["id"], customer.as_str());

        let replaced = convert(&w, &id, 1, json!({"to": "case", "replace_regarding": true})).await;
        assert_eq!(replaced.status, StatusCode::CREATED, "{:?}", replaced.json);
        let case = w
            .store
            .records()
            .get::<CaseFields>(replaced.json["record"]["id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            case.fields.account_id.as_deref(),
            Some(customer.as_str()),
            "the account it regarded is the one the case concerns"
        );
        assert_eq!(activity(&w, &id).await["regarding"]["entity"], "case");

        // Converted into a case, it regards that case: into an opportunity is
        // another conversion, refused the same way.
        let other = convert(&w, &id, 2, json!({"to": "opportunity"})).await;
        assert_eq!(other.status, StatusCode::CONFLICT, "{:?}", other.json);
    }
);

// R-TRACK-3: the store writes the record, the link, both log entries and
// the conversion together or not at all. A value PostgreSQL refuses (NUL in
// text, which the API itself refuses earlier) fails the insert of the new
// record after the activity's row was already updated in the transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_track_3_a_failure_inside_the_conversion_rolls_all_of_it_back() {
    common::backend::run(common::backend::Backend::Postgres, |w| async move {
        let id = task(&w, "Quote").await;
        let seq = w.store.records().latest_seq().await.unwrap();
        let failed = w
            .store
            .records()
            .convert_activity(ConvertActivity {
                activity_id: &id,
                expected_version: 1,
                owner_id: &w.alice.id,
                fields: ConvertedFields::Opportunity(OpportunityFields {
                    title: "Quote\0".into(),
                    ..Default::default()
                }),
                replace_regarding: false,
            })
            .await;
        // Refused by the insert of the new record, after the activity's row
        // was rewritten in the same transaction.
        let err = failed.expect_err("PostgreSQL refuses NUL in text").to_string();
        assert!(err.contains("storing a new record"), "{err}");
        let task = w.store.records().get::<ActivityFields>(&id).await.unwrap();
        assert_eq!(task.meta.version, 1);
        assert_eq!(task.fields.regarding, None);
        assert_eq!(count::<OpportunityFields>(&w).await, 3, "only the fixtures");
        assert_eq!(w.store.records().latest_seq().await.unwrap(), seq);
    })
    .await;
}
