//! The CRM side of the FieldMap: contacts (R-FIELD-1) and activities
//! (R-FIELD-3, R-FIELD-4, R-CAL-2).

use crate::common;
use common::TestDirectory;
use crmsync_mapping::{activity_to_fields, contact_to_fields, fields_to_activity, fields_to_contact};
use crmsync_model::{
    ActivityFields, ActivityKind, ActivityState, Address, ContactFields, Participant, ParticipantRole,
    ParticipantSyncStatus, Party, PartyKind, Privacy, ResponseStatus,
};

fn full_contact() -> ContactFields {
    let addr = |s: &str| Address {
        street: Some(format!("{s} Street 1")),
        city: Some(format!("{s} City")),
        region: Some("Region".into()),
        postal_code: Some("12345".into()),
        country: Some("Country".into()),
    };
    ContactFields {
        account_id: Some("acc-1".into()),
        prefix: Some("Ms.".into()),
        first_name: Some("Ann".into()),
        middle_name: Some("B.".into()),
        last_name: Some("Carter".into()),
        suffix: Some("Jr.".into()),
        company: Some("Carter & Co".into()),
        job_title: Some("CEO".into()),
        department: Some("Board".into()),
        website: Some("https://carter.example".into()),
        email1: Some("ann@carter.example".into()),
        email2: Some("ann@home.example".into()),
        email3: Some("ann@old.example".into()),
        business_address: addr("Business"),
        home_address: addr("Home"),
        other_address: addr("Other"),
        phone_business: Some("+1 1".into()),
        phone_business2: Some("+1 2".into()),
        phone_home: Some("+1 3".into()),
        phone_mobile: Some("+1 4".into()),
        phone_fax: Some("+1 5".into()),
        phone_other: Some("+1 6".into()),
        notes: Some("Line 1\nLine 2".into()),
        photo: Some("data:image/png;base64,iVBORw0KGgo=".into()),
        active: false,
        shared: true,
    }
}

#[test]
fn r_field_1_every_contact_field_has_a_key_and_comes_back() {
    let c = full_contact();
    let fields = contact_to_fields(&c);
    assert_eq!(fields.len(), 35, "20 single fields + 15 address parts");
    assert_eq!(fields.get("business_address.city"), Some("Business City"));
    assert_eq!(fields.get("phone_fax"), Some("+1 5"));
    let back = fields_to_contact(&fields, &c);
    assert_eq!(back, c);
}

#[test]
fn r_field_1_fields_the_map_does_not_cover_keep_base_values() {
    let base = full_contact();
    let fields = contact_to_fields(&ContactFields {
        first_name: Some("Zoe".into()),
        ..Default::default()
    });
    let back = fields_to_contact(&fields, &base);
    assert_eq!(back.first_name.as_deref(), Some("Zoe"));
    assert_eq!(back.last_name, None, "a field absent from the map is cleared");
    assert_eq!(
        (back.account_id.as_deref(), back.active, back.shared),
        (Some("acc-1"), false, true)
    );
}

#[test]
fn r_map_10_slots_vcard_cannot_express_are_normalised() {
    let c = ContactFields {
        email2: Some(" second@example.org ".into()),
        phone_business2: Some("+1 2".into()),
        photo: Some("data:IMAGE/PNG;base64,iVBO\r\n Rw0KGgo=".into()),
        ..Default::default()
    };
    let f = contact_to_fields(&c);
    assert_eq!(f.get("email1"), Some("second@example.org"));
    assert_eq!(f.get("email2"), None);
    assert_eq!(f.get("phone_business"), Some("+1 2"));
    assert_eq!(f.get("phone_business2"), None);
    assert_eq!(f.get("photo"), Some("data:image/png;base64,iVBORw0KGgo="));
}

fn party(kind: PartyKind, id: &str) -> Party {
    Party {
        kind,
        id: Some(id.into()),
        email: None,
        name: None,
    }
}

fn appointment() -> ActivityFields {
    let mut a = ActivityFields::new(ActivityKind::Appointment, "Review");
    a.start = Some("2026-11-20T10:00:00Z".parse().unwrap());
    a.end = Some("2026-11-20T11:00:00Z".parse().unwrap());
    a.due = Some("2026-11-19T10:00:00Z".parse().unwrap());
    a.privacy = Privacy::Confidential;
    a.categories = vec!["b".into(), "a".into()];
    a.participants = vec![
        Participant {
            party: party(PartyKind::User, "u-maria"),
            role: ParticipantRole::Organizer,
            invite: true,
            response: ResponseStatus::Accepted,
            sync_status: ParticipantSyncStatus::Synchronized,
        },
        Participant {
            party: party(PartyKind::Contact, "c-ben"),
            role: ParticipantRole::Required,
            invite: false,
            response: ResponseStatus::NeedsAction,
            sync_status: ParticipantSyncStatus::NotSynced,
        },
        // A contact without an address: groupware cannot show it.
        Participant {
            party: party(PartyKind::Contact, "c-no-mail"),
            role: ParticipantRole::Optional,
            invite: false,
            response: ResponseStatus::NeedsAction,
            sync_status: ParticipantSyncStatus::NotSynced,
        },
    ];
    a
}

#[test]
fn r_field_3_appointment_keys() {
    let f = activity_to_fields(&appointment(), &TestDirectory);
    assert_eq!(f.get("categories"), Some("a\nb"));
    assert_eq!(f.get("privacy"), Some("confidential"));
    assert_eq!(f.get("due"), None, "appointments have no due date in groupware");
    assert_eq!(
        f.get("participants"),
        Some(
            r#"[{"email":"ben.okafor@example.org","response":"needs_action","role":"required"},{"email":"maria.schulz@contoso.example","role":"organizer"}]"#
        )
    );
}

#[test]
fn r_cal_2_attendees_match_crm_parties_by_email() {
    let base = appointment();
    let mut f = activity_to_fields(&base, &TestDirectory);
    // Groupware: Ben accepted, Tom (a CRM user) and a stranger were added.
    f.set(
        "participants",
        r#"[{"email":"ben.okafor@example.org","response":"accepted","role":"required"},{"email":"maria.schulz@contoso.example","role":"organizer"},{"email":"stranger@else.example","response":"tentative","role":"optional"},{"email":"tom.berger@contoso.example","response":"needs_action","role":"required"}]"#,
    );
    let a = fields_to_activity(&f, &base, &TestDirectory);
    let find = |id: Option<&str>, email: Option<&str>| {
        a.participants
            .iter()
            .find(|p| p.party.id.as_deref() == id && (email.is_none() || p.party.email.as_deref() == email))
            .unwrap_or_else(|| panic!("{id:?} {email:?} in {:#?}", a.participants))
    };
    let ben = find(Some("c-ben"), None);
    assert_eq!(
        (ben.response, ben.sync_status),
        (ResponseStatus::Accepted, ParticipantSyncStatus::NotSynced)
    );
    let maria = find(Some("u-maria"), None);
    assert_eq!(
        maria.response,
        ResponseStatus::Accepted,
        "organizer's own answer is CRM data and kept"
    );
    assert!(maria.invite);
    let tom = find(Some("u-tom"), None);
    assert_eq!((tom.party.kind, tom.invite), (PartyKind::User, false));
    let stranger = find(None, Some("stranger@else.example"));
    assert_eq!(
        (stranger.party.kind, stranger.role),
        (PartyKind::Email, ParticipantRole::Optional)
    );
    assert!(
        a.participants
            .iter()
            .any(|p| p.party.id.as_deref() == Some("c-no-mail"))
    );
    assert_eq!(a.participants.len(), 5);
    assert_eq!(a.due, base.due, "what the map does not carry for the kind stays");
}

#[test]
fn r_map_12_appointment_completion_is_not_compared_but_cancellation_is() {
    let mut a = appointment();
    a.state = ActivityState::Completed;
    let f = activity_to_fields(&a, &TestDirectory);
    assert_eq!(f.get("state"), None);
    assert_eq!(
        fields_to_activity(&f, &a, &TestDirectory).state,
        ActivityState::Completed
    );
    let mut cancelled = f.clone();
    cancelled.set("state", "cancelled");
    assert_eq!(
        fields_to_activity(&cancelled, &a, &TestDirectory).state,
        ActivityState::Cancelled
    );
    a.state = ActivityState::Cancelled;
    assert_eq!(
        fields_to_activity(&f, &a, &TestDirectory).state,
        ActivityState::Open,
        "un-cancelled in groupware"
    );
}

#[test]
fn r_map_13_missing_subject_keeps_the_crm_subject() {
    let a = appointment();
    let mut f = activity_to_fields(&a, &TestDirectory);
    f.remove("subject");
    assert_eq!(fields_to_activity(&f, &a, &TestDirectory).subject, "Review");
    let new = ActivityFields::new(ActivityKind::Appointment, "");
    assert_eq!(fields_to_activity(&f, &new, &TestDirectory).subject, "(no subject)");
}
