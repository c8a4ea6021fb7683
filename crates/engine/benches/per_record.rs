//! Issue 6, engine figure: the cost per record of what a sync does for every
//! changed pair — parse the groupware card (mapping), merge both sides against
//! the base and plan (engine), render the card to write back (mapping) — at
//! 1k, 10k and 100k records, to show it grows linearly. bench/run turns the
//! results into µs per record beside the ≤ 5 µs target.
//!
//! Issue 17 adds the two passes that matter at scale (R-PERF-4): a first
//! sync (map each CRM record, plan its create, render its card once; target
//! ≤ 15 µs) and a no-change pass (plan over pairs unchanged on both sides:
//! nothing is parsed or rendered, R-PERF-2; target ≤ 5 µs).

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use crmsync_engine::{
    CollectionInput, CrmFacts, CrmRecord, CrmSide, EntityClass, GroupwareItem, GroupwareSide, Origin, PairState,
    PairStatus, PairedItem, Profile, Target, plan,
};
use crmsync_mapping::{CardVersion, contact_to_fields, journal_text, parse_vcard, render_vcard};
use crmsync_model::{Address, ContactFields, FieldMap};

const USER: &str = "user-1";

fn contact(i: usize) -> ContactFields {
    ContactFields {
        first_name: Some(format!("First{i}")),
        last_name: Some(format!("Last{}", i % 977)),
        company: Some(format!("Company {}", i % 50)),
        job_title: Some("Engineer".into()),
        email1: Some(format!("person{i}@example.com")),
        phone_business: Some(format!("+44 20 7946 {:04}", i % 10_000)),
        business_address: Address {
            street: Some(format!("{} Market Street", 1 + i % 90)),
            city: Some("London".into()),
            postal_code: Some(format!("{:05}", i % 100_000)),
            country: Some("United Kingdom".into()),
            ..Address::default()
        },
        active: true,
        ..ContactFields::default()
    }
}

fn facts() -> CrmFacts {
    CrmFacts {
        owner_is_user: true,
        readable: true,
        writable: true,
        active: true,
        sync_flagged: true,
        activity: None,
    }
}

/// One pair changed on both sides in different fields: the CRM moved the job
/// title, the groupware the street, so the engine must merge (R-FIELD-1).
struct Case {
    base: FieldMap,
    crm: FieldMap,
    card: String,
    uid: String,
}

fn cases(n: usize) -> Vec<Case> {
    (0..n)
        .map(|i| {
            let c = contact(i);
            let base = contact_to_fields(&c);
            let uid = format!("uid-{i}");
            let card = render_vcard(&base, &uid, CardVersion::V3, None).expect("renders");
            let card = card.replacen("Market Street", "Market Square", 1);
            let mut edited = c.clone();
            edited.job_title = Some("Chief Engineer".into());
            Case {
                base,
                crm: contact_to_fields(&edited),
                card,
                uid,
            }
        })
        .collect()
}

/// What is measured: mapping in, planning with merge, mapping out.
fn sync_pass(profile: &Profile, cases: &[Case]) -> usize {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let mut input = CollectionInput::new(EntityClass::Contacts, "contacts");
    input.pairs.reserve(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let parsed = parse_vcard(&case.card).expect("parses");
        input.pairs.push(PairedItem {
            pair: PairStatus {
                id: format!("pair-{i}"),
                crm_id: format!("crm-{i}"),
                href: format!("{}.vcf", case.uid),
                origin: Origin::Crm,
                state: PairState::Live,
                base: case.base.clone(),
                crm_version: 1,
                etag: "\"e1\"".into(),
                last_facts: None,
            },
            crm: CrmSide::Present(CrmRecord {
                id: format!("crm-{i}"),
                fields: case.crm.clone(),
                version: 2,
                modified_at: now,
                facts: facts(),
            }),
            groupware: GroupwareSide::Present(GroupwareItem {
                href: format!("{}.vcf", case.uid),
                etag: "\"e2\"".into(),
                fields: parsed.fields,
                last_modified: None,
            }),
        });
    }
    let planned = plan(profile, now, &input);
    let mut rendered = 0;
    // Only groupware writes need a card rendered; CRM writes take the map.
    for action in planned.writes().filter(|a| a.target == Target::Groupware) {
        if let Some(fields) = &action.fields {
            let uid = action.subject.href.as_deref().unwrap_or("uid");
            rendered += render_vcard(fields, uid, CardVersion::V3, None).map_or(0, |s| s.len());
        }
    }
    rendered
}

/// A first sync: every CRM record mapped (with its empty journal, as the
/// runner does), planned as a create, and its card rendered once.
fn first_sync_pass(profile: &Profile, contacts: &[ContactFields]) -> usize {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let mut input = CollectionInput::new(EntityClass::Contacts, "contacts");
    input.unpaired_crm.reserve(contacts.len());
    for (i, c) in contacts.iter().enumerate() {
        let mut fields = contact_to_fields(c);
        fields.set("journal", journal_text(&[]));
        input.unpaired_crm.push(CrmRecord {
            id: format!("crm-{i}"),
            fields,
            version: 1,
            modified_at: now,
            facts: facts(),
        });
    }
    let planned = plan(profile, now, &input);
    let mut rendered = 0;
    for action in planned.writes().filter(|a| a.target == Target::Groupware) {
        if let (Some(fields), Some(id)) = (&action.fields, &action.subject.crm_id) {
            rendered += render_vcard(fields, id, CardVersion::V3, None).map_or(0, |s| s.len());
        }
    }
    rendered
}

/// Pairs unchanged on both sides (the runner compared ETags and the change
/// log and read nothing): the engine plans them, mapping has nothing to do.
fn unchanged_pairs(data: &[Case]) -> CollectionInput {
    let mut input = CollectionInput::new(EntityClass::Contacts, "contacts");
    input.pairs = data
        .iter()
        .enumerate()
        .map(|(i, case)| PairedItem {
            pair: PairStatus {
                id: format!("pair-{i}"),
                crm_id: format!("crm-{i}"),
                href: format!("{}.vcf", case.uid),
                origin: Origin::Crm,
                state: PairState::Live,
                base: case.base.clone(),
                crm_version: 1,
                etag: "\"e1\"".into(),
                last_facts: Some(facts()),
            },
            crm: CrmSide::Unchanged,
            groupware: GroupwareSide::Unchanged,
        })
        .collect();
    input
}

fn no_change_pass(profile: &Profile, input: &CollectionInput) -> usize {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    plan(profile, now, input).writes().count()
}

fn first_sync(c: &mut Criterion) {
    let profile = Profile::new(USER);
    let mut group = c.benchmark_group("engine_per_record_first_sync");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000] {
        // Built only when the benchmark runs (a filter may leave it out).
        let mut data: Option<Vec<ContactFields>> = None;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            let contacts = data.get_or_insert_with(|| {
                let contacts: Vec<ContactFields> = (0..n).map(contact).collect();
                assert!(
                    first_sync_pass(&profile, &contacts[..10]) > 0,
                    "every record is created"
                );
                contacts
            });
            b.iter(|| black_box(first_sync_pass(&profile, contacts)))
        });
    }
    group.finish();
}

fn no_change(c: &mut Criterion) {
    let profile = Profile::new(USER);
    let mut group = c.benchmark_group("engine_per_record_no_change");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000] {
        let mut data: Option<CollectionInput> = None;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            let input = data.get_or_insert_with(|| {
                let input = unchanged_pairs(&cases(n));
                assert_eq!(no_change_pass(&profile, &input), 0, "nothing to write");
                input
            });
            b.iter(|| black_box(no_change_pass(&profile, input)))
        });
    }
    group.finish();
}

fn per_record(c: &mut Criterion) {
    let profile = Profile::new(USER);
    let mut group = c.benchmark_group("engine_per_record");
    // Few samples: 100k records per iteration is already a stable average, and
    // the machine is shared.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for n in [1_000usize, 10_000, 100_000] {
        let mut data: Option<Vec<Case>> = None;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            let data = data.get_or_insert_with(|| {
                let data = cases(n);
                // The plan must really merge: every pair yields writes on both sides.
                assert!(sync_pass(&profile, &data[..10.min(n)]) > 0, "the workload writes");
                data
            });
            b.iter(|| black_box(sync_pass(&profile, data)))
        });
    }
    group.finish();
}

criterion_group!(benches, per_record, first_sync, no_change);
criterion_main!(benches);
