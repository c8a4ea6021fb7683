//! Property tests: any CRM record → FieldMap → vCard/iCalendar → parse →
//! FieldMap is the identity (R-MAP-4, R-MAP-1, R-MAP-2), and rendering the
//! parsed fields over the rendered item changes nothing (R-MAP-6).

use crate::common;
use chrono::{DateTime, TimeZone, Utc};
use common::{TestDirectory, ctx};
use crmsync_mapping::{
    CardVersion, activity_to_fields, contact_to_fields, parse_ical, parse_vcard, render_ical, render_vcard,
};
use crmsync_model::{
    ActivityFields, ActivityKind, ActivityState, Address, ContactFields, OccurrenceOverride, Privacy, Recurrence,
};
use proptest::prelude::*;

/// Text with the characters vCard/iCalendar must escape, non-ASCII and
/// long runs (folding), plus blanks that normalisation trims.
fn text() -> impl Strategy<Value = String> {
    prop::string::string_regex("[ a-zA-Z0-9äöüßéø中文;,:\\\\\"'.@+()/-]{0,90}").unwrap()
}

fn multiline() -> impl Strategy<Value = String> {
    prop::collection::vec(text(), 1..4).prop_map(|v| v.join("\n"))
}

fn opt(s: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    prop::option::of(s)
}

fn address() -> impl Strategy<Value = Address> {
    (opt(multiline()), opt(text()), opt(text()), opt(text()), opt(text())).prop_map(
        |(street, city, region, postal_code, country)| Address {
            street,
            city,
            region,
            postal_code,
            country,
        },
    )
}

fn contact() -> impl Strategy<Value = ContactFields> {
    (
        (opt(text()), opt(text()), opt(text()), opt(text()), opt(text())),
        (opt(text()), opt(text()), opt(text()), opt(text())),
        (opt(text()), opt(text()), opt(text())),
        (address(), address(), address()),
        (
            opt(text()),
            opt(text()),
            opt(text()),
            opt(text()),
            opt(text()),
            opt(text()),
        ),
        (
            opt(multiline()),
            prop::option::of(prop::collection::vec(any::<u8>(), 1..200)),
        ),
    )
        .prop_map(|(names, org, emails, addrs, phones, (notes, photo))| ContactFields {
            prefix: names.0,
            first_name: names.1,
            middle_name: names.2,
            last_name: names.3,
            suffix: names.4,
            company: org.0,
            job_title: org.1,
            department: org.2,
            website: org.3,
            email1: emails.0,
            email2: emails.1,
            email3: emails.2,
            business_address: addrs.0,
            home_address: addrs.1,
            other_address: addrs.2,
            phone_business: phones.0,
            phone_business2: phones.1,
            phone_home: phones.2,
            phone_mobile: phones.3,
            phone_fax: phones.4,
            phone_other: phones.5,
            notes,
            photo: photo.map(|bytes| {
                use base64::Engine;
                format!(
                    "data:image/png;base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                )
            }),
            ..Default::default()
        })
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2020..2035 at minute precision.
    (0i64..(15 * 365 * 24 * 60))
        .prop_map(|m| Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(m))
}

fn zone() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec![
        "Europe/Berlin".to_string(),
        "America/New_York".to_string(),
        "Asia/Kolkata".to_string(),
        "Australia/Sydney".to_string(),
    ]))
}

fn activity() -> impl Strategy<Value = ActivityFields> {
    (
        prop::sample::select(vec![
            ActivityKind::Appointment,
            ActivityKind::Task,
            ActivityKind::PhoneCall,
            ActivityKind::Fax,
            ActivityKind::Letter,
        ]),
        text(),
        (opt(multiline()), opt(text())),
        (instant(), 0i64..(3 * 24 * 60), prop::option::of(instant()), zone()),
        (
            prop::option::of(0u8..=9),
            prop::option::of(0u8..=100),
            prop::option::of(-60i32..10_000),
        ),
        (
            prop::collection::vec("[a-zA-Z ]{1,12}", 0..4),
            prop::sample::select(vec![Privacy::Public, Privacy::Private, Privacy::Confidential]),
        ),
        prop::sample::select(vec![
            ActivityState::Open,
            ActivityState::Completed,
            ActivityState::Cancelled,
        ]),
        prop::option::of((1u32..20, prop::collection::vec(1i64..40, 0..3), prop::bool::ANY)),
    )
        .prop_map(
            |(
                kind,
                subject,
                (description, location),
                (start, minutes, due, tz),
                (priority, percent, reminder),
                (categories, privacy),
                state,
                series,
            )| {
                let mut a = ActivityFields::new(kind, subject);
                a.description = description;
                a.location = location;
                a.start = Some(start);
                a.time_zone = tz;
                if kind.is_task_like() {
                    a.due = due;
                    a.percent_complete = percent;
                    if state == ActivityState::Completed {
                        a.completed_at = Some(start);
                    }
                } else {
                    a.end = Some(start + chrono::Duration::minutes(minutes));
                }
                a.state = state;
                a.priority = priority;
                a.reminder_minutes = reminder;
                a.categories = categories;
                a.privacy = privacy;
                if let Some((count, ex_days, with_override)) = series {
                    let day = chrono::Duration::days(1);
                    a.recurrence = Some(Recurrence {
                        rule: format!("FREQ=DAILY;COUNT={count}"),
                        rdates: vec![],
                        exdates: ex_days.iter().map(|d| start + day * (*d as i32)).collect(),
                        overrides: if with_override {
                            vec![OccurrenceOverride {
                                recurrence_id: start + day,
                                start: Some(start + day + chrono::Duration::hours(2)),
                                end: None,
                                subject: Some("Moved".into()),
                                location: None,
                                description: None,
                            }]
                        } else {
                            vec![]
                        },
                    });
                }
                a.ical_uid = Some("prop-uid".into());
                a
            },
        )
}

/// 96 cases by default; `PROPTEST_CASES` (CI, scripts/explore) sets more.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn r_map_4_any_contact_round_trips_through_vcard(c in contact(), v4 in any::<bool>()) {
        let version = if v4 { CardVersion::V4 } else { CardVersion::V3 };
        let fields = contact_to_fields(&c);
        let card = render_vcard(&fields, "prop-uid", version, None).unwrap();
        let parsed = parse_vcard(&card).unwrap();
        prop_assert_eq!(&parsed.fields, &fields, "{}", card);
        let again = render_vcard(&parsed.fields, "prop-uid", version, Some(&card)).unwrap();
        prop_assert_eq!(again, card);
    }

    #[test]
    fn r_map_1_r_map_2_any_activity_round_trips_through_icalendar(a in activity()) {
        let fields = activity_to_fields(&a, &TestDirectory);
        let mut cx = ctx();
        cx.time_zone = a.time_zone.as_deref();
        let ical = render_ical(&fields, "prop-uid", None, &cx).unwrap();
        let parsed = parse_ical(&ical).unwrap();
        prop_assert_eq!(&parsed.fields, &fields, "{}", ical);
        let again = render_ical(&parsed.fields, "prop-uid", Some(&ical), &cx).unwrap();
        prop_assert_eq!(again, ical);
    }
}
