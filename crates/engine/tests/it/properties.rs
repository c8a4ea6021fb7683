//! Property tests: (a) the merge never loses a change and converges — planning
//! again on the world after applying a plan writes nothing; (b) pairing never
//! pairs an item twice and never creates an item it matched.
//! At least 1,000 cases; `PROPTEST_CASES` can raise it.

use crate::common;
use std::collections::{BTreeMap, BTreeSet};

use chrono::Duration;
use proptest::prelude::*;

use common::*;
use crmsync_engine::{
    ActionKind, CollectionInput, ConflictPolicy, CrmSide, Direction, EntityClass, GroupwareItem, GroupwareSide, Origin,
    PairStatus, PairedItem, Plan, Precondition, Profile, ReadOnlyPolicy, Target, plan,
};
use crmsync_model::FieldMap;

fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    // Integration tests have no lib.rs beside them for proptest's regression
    // files; failing seeds are printed instead.
    ProptestConfig {
        cases: default.cases.max(1000),
        failure_persistence: None,
        ..default
    }
}

const KEYS: [&str; 5] = ["email1", "phone_mobile", "company", "notes", "journal"];

/// A tiny in-memory world: one CRM record, one groupware item, one pair.
#[derive(Debug, Clone)]
struct World {
    crm: FieldMap,
    crm_version: i64,
    gw: FieldMap,
    etag: u32,
    pair: PairStatus,
}

impl World {
    fn input(&self, crm_modified_h: i64, gw_modified_h: Option<i64>) -> CollectionInput {
        let crm = crm_present(&self.pair, self.crm.clone(), contact_facts(true));
        let crm = match crm {
            CrmSide::Present(mut rec) => {
                rec.version = self.crm_version;
                rec.modified_at = now() - Duration::hours(crm_modified_h);
                CrmSide::Present(rec)
            }
            other => other,
        };
        let gw = GroupwareSide::Present(GroupwareItem {
            href: self.pair.href.clone(),
            etag: format!("e{}", self.etag),
            fields: self.gw.clone(),
            last_modified: gw_modified_h.map(|h| now() - Duration::hours(h)),
        });
        collection(
            EntityClass::Contacts,
            vec![PairedItem {
                pair: self.pair.clone(),
                crm,
                groupware: gw,
            }],
        )
    }

    /// Applies a plan as a runner would, checking every precondition.
    fn apply(&mut self, plan: &Plan) {
        for a in &plan.actions {
            match (a.target, a.kind) {
                (Target::Crm, ActionKind::Update | ActionKind::Revert) => {
                    assert_eq!(a.precondition, Precondition::CrmVersion(self.crm_version));
                    self.crm = a.fields.clone().unwrap();
                    self.crm_version += 1;
                }
                (Target::Groupware, ActionKind::Update | ActionKind::Revert) => {
                    assert_eq!(a.precondition, Precondition::Etag(format!("e{}", self.etag)));
                    self.gw = a.fields.clone().unwrap();
                    self.etag += 1;
                }
                (Target::Status, ActionKind::SaveBase) => {
                    self.pair.base = a.fields.clone().unwrap();
                    self.pair.crm_version = self.crm_version;
                    self.pair.etag = format!("e{}", self.etag);
                }
                (Target::Status, ActionKind::Conflict | ActionKind::Skip) => {}
                other => panic!("unexpected action {other:?} in a merge: {a}"),
            }
        }
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("abcdefgh".to_string()),
        Just("abcdefgz".to_string())
    ]
}

fn map() -> impl Strategy<Value = FieldMap> {
    proptest::collection::vec(value(), KEYS.len())
        .prop_map(|vals| KEYS.iter().zip(vals).map(|(k, v)| (*k, v)).collect())
}

/// An edit: per key, maybe a new value.
fn edit() -> impl Strategy<Value = Vec<Option<String>>> {
    proptest::collection::vec(proptest::option::weighted(0.35, value()), KEYS.len())
}

fn applied(base: &FieldMap, edit: &[Option<String>]) -> FieldMap {
    let mut out = base.clone();
    for (k, v) in KEYS.iter().zip(edit) {
        if let Some(v) = v {
            out.set(*k, v.clone());
        }
    }
    out
}

fn policy() -> impl Strategy<Value = (ConflictPolicy, Direction, ReadOnlyPolicy, bool)> {
    (
        prop_oneof![
            Just(ConflictPolicy::CrmWins),
            Just(ConflictPolicy::GroupwareWins),
            Just(ConflictPolicy::NewestWins),
            Just(ConflictPolicy::Manual)
        ],
        prop_oneof![
            Just(Direction::TwoWay),
            Just(Direction::CrmToGroupware),
            Just(Direction::GroupwareToCrm)
        ],
        prop_oneof![Just(ReadOnlyPolicy::Revert), Just(ReadOnlyPolicy::Ignore)],
        any::<bool>(),
    )
}

fn profile_for(conflict: ConflictPolicy, direction: Direction, read_only: ReadOnlyPolicy, limited: bool) -> Profile {
    let mut p = profile();
    p.contacts.conflict = conflict;
    p.contacts.direction = direction;
    p.contacts.read_only = read_only;
    if limited {
        p.contacts.field_limits.insert("notes".into(), 4);
    }
    p
}

fn world(base: &FieldMap, crm: FieldMap, gw: FieldMap, limited: bool) -> World {
    let mut pair = pair("w", Origin::Crm, base.clone());
    pair.etag = "e0".into();
    // The groupware holds what the CRM sent: cut to the limit (R-FIELD-6).
    let limits: BTreeMap<String, usize> = if limited {
        [("notes".to_string(), 4)].into()
    } else {
        BTreeMap::new()
    };
    let (gw, _) = crmsync_engine::limits::truncate_outbound(&gw, &limits);
    World {
        crm,
        crm_version: 1,
        gw,
        etag: 0,
        pair,
    }
}

proptest! {
    #![proptest_config(config())]

    // R-EDIT-2, R-EDIT-3, R-DIR-2, R-FIELD-5, R-FIELD-6: applying a plan and
    // planning again writes nothing and moves no base.
    #[test]
    fn r_edit_2_replanning_after_apply_writes_nothing(
        base in map(), crm_edit in edit(), gw_edit in edit(), (conflict, direction, read_only, limited) in policy(),
        crm_h in 0i64..3, gw_h in proptest::option::of(0i64..3),
    ) {
        let prof = profile_for(conflict, direction, read_only, limited);
        let mut w = world(&base, applied(&base, &crm_edit), applied(&base, &gw_edit), limited);
        w.pair.base = base.clone();
        let first = plan(&prof, now(), &w.input(crm_h, gw_h));
        w.apply(&first);
        let again = plan(&prof, now(), &w.input(crm_h, gw_h));
        prop_assert!(no_writes(&again), "second plan still writes:\n{first}\n{again}");
        prop_assert!(!again.actions.iter().any(|a| a.kind == ActionKind::SaveBase), "base moves again:\n{again}");
        // Merging is idempotent: a third round changes nothing either.
        w.apply(&again);
        prop_assert_eq!(plan(&prof, now(), &w.input(crm_h, gw_h)).actions, again.actions);
    }

    // R-EDIT-2: two-way, disjoint edits both end on both sides.
    #[test]
    fn r_edit_2_disjoint_edits_are_both_kept(
        base in map(), crm_edit in edit(), gw_edit in edit(),
        conflict in prop_oneof![Just(ConflictPolicy::CrmWins), Just(ConflictPolicy::GroupwareWins), Just(ConflictPolicy::NewestWins), Just(ConflictPolicy::Manual)],
    ) {
        let prof = profile_for(conflict, Direction::TwoWay, ReadOnlyPolicy::Revert, false);
        let crm = applied(&base, &crm_edit);
        let gw = applied(&base, &gw_edit);
        let mut w = world(&base, crm.clone(), gw.clone(), false);
        w.apply(&plan(&prof, now(), &w.input(1, Some(2))));
        for key in KEYS.iter().filter(|k| **k != "journal") {
            let (b, c, g) = (base.get(key), crm.get(key), gw.get(key));
            if c != b && g == b {
                prop_assert_eq!((w.crm.get(key), w.gw.get(key)), (c, c), "crm edit of {} lost", key);
            }
            if g != b && c == b {
                prop_assert_eq!((w.crm.get(key), w.gw.get(key)), (g, g), "groupware edit of {} lost", key);
            }
        }
    }

    // R-EDIT-3: no field change is lost: each ends on both sides, stays on the
    // side that made it (ignored / outbound-only), or is in the plan's record
    // of overwritten values or conflicts.
    #[test]
    fn r_edit_3_no_field_change_is_lost(
        base in map(), crm_edit in edit(), gw_edit in edit(), (conflict, direction, read_only, _) in policy(),
    ) {
        let prof = profile_for(conflict, direction, read_only, false);
        let crm = applied(&base, &crm_edit);
        let gw = applied(&base, &gw_edit);
        let mut w = world(&base, crm.clone(), gw.clone(), false);
        let first = plan(&prof, now(), &w.input(1, Some(2)));
        w.apply(&first);
        let recorded = |key: &str, v: Option<&str>| {
            first.actions.iter().any(|a| {
                a.writes.iter().any(|x| x.key == key && x.old.as_deref() == v)
                    || a.conflicts.iter().any(|c| c.key == key && (c.crm.as_deref() == v || c.groupware.as_deref() == v))
            })
        };
        for key in KEYS {
            let b = base.get(key);
            for (changed, own_side) in [(crm.get(key), w.crm.get(key)), (gw.get(key), w.gw.get(key))] {
                if changed == b {
                    continue;
                }
                let on_both = w.crm.get(key) == changed && w.gw.get(key) == changed;
                let kept_where_made = own_side == changed;
                prop_assert!(on_both || kept_where_made || recorded(key, changed), "change of {} to {:?} lost:\n{}", key, changed, first);
                if direction == Direction::TwoWay && conflict != ConflictPolicy::Manual && key != "journal" {
                    prop_assert!(on_both || recorded(key, changed), "two-way change of {} neither synced nor recorded:\n{}", key, first);
                }
            }
        }
    }

    // R-PERF-5: a pair unchanged on both sides is passed over before any map
    // is looked at; reading both sides back as they were (the pair's version
    // and ETag, the base's values) plans the same nothing, whatever the
    // policy, limits, the user's rights on the record (owner, or allowed
    // only to read it) and whether the pair remembers the record's facts, so
    // passing over it loses no decision. This guards the shortcut, it does
    // not prove it exists: it holds as well without one.
    #[test]
    fn r_perf_5_an_untouched_pair_plans_like_both_sides_read_back_unchanged(
        base in map(), (conflict, direction, read_only, limited) in policy(), owner in any::<bool>(),
        facts_remembered in any::<bool>(),
    ) {
        let prof = profile_for(conflict, direction, read_only, limited);
        let w = world(&base, base.clone(), base.clone(), limited);
        let facts = contact_facts(owner);
        let mut read_back_input = w.input(0, None);
        for paired in &mut read_back_input.pairs {
            if let CrmSide::Present(record) = &mut paired.crm {
                record.facts = facts.clone();
            }
        }
        let read_back = plan(&prof, now(), &read_back_input);
        let mut untouched_pair = w.pair.clone();
        untouched_pair.last_facts = facts_remembered.then_some(facts);
        let untouched = plan(
            &prof,
            now(),
            &collection(EntityClass::Contacts, vec![paired(untouched_pair, CrmSide::Unchanged, GroupwareSide::Unchanged)]),
        );
        prop_assert!(untouched.actions.is_empty() && untouched.warnings.is_empty(), "{}", untouched);
        prop_assert_eq!(&read_back.actions, &untouched.actions, "read back:\n{}", read_back);
        prop_assert_eq!(&read_back.warnings, &untouched.warnings);
    }
}

// ---- (b) pairing ----

fn contact() -> impl Strategy<Value = FieldMap> {
    let email = prop_oneof![
        Just(""),
        Just("a@x.org"),
        Just("A@X.org "),
        Just("b@x.org"),
        Just("c@x.org")
    ];
    let name = prop_oneof![Just(""), Just("Ada"), Just("Bob")];
    let phone = prop_oneof![Just(""), Just("+1 555 0100"), Just("15550100"), Just("555 0199")];
    (email.clone(), email, name, phone).prop_map(|(e1, e2, n, p)| {
        fm(&[
            ("email1", e1),
            ("email2", e2),
            ("first_name", n),
            ("last_name", "X"),
            ("phone_mobile", p),
        ])
    })
}

fn event() -> impl Strategy<Value = FieldMap> {
    let uid = prop_oneof![Just(""), Just("u1"), Just("u2"), Just("u3")];
    let start = prop_oneof![Just("2026-06-02T09:00:00Z"), Just("2026-06-03T09:00:00Z")];
    let subject = prop_oneof![Just("Sync"), Just("sync "), Just("Review")];
    (uid, start, subject).prop_map(|(u, s, t)| fm(&[("ical_uid", u), ("start", s), ("subject", t)]))
}

fn check_pairing(input: &CollectionInput) -> Result<(), TestCaseError> {
    let plan = plan(&profile(), now(), input);
    let mut paired_crm = BTreeSet::new();
    let mut paired_gw = BTreeSet::new();
    // Matched pairs name both sides; pairs that follow a create name one.
    for a in plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::Pair && a.subject.crm_id.is_some() && a.subject.href.is_some())
    {
        prop_assert!(
            paired_crm.insert(a.subject.crm_id.clone().unwrap()),
            "crm record paired twice:\n{plan}"
        );
        prop_assert!(
            paired_gw.insert(a.subject.href.clone().unwrap()),
            "groupware item paired twice:\n{plan}"
        );
    }
    let created_in_gw: BTreeSet<_> = plan
        .actions
        .iter()
        .filter(|a| a.target == Target::Groupware && a.kind == ActionKind::Create)
        .filter_map(|a| a.subject.crm_id.clone())
        .collect();
    let created_in_crm: BTreeSet<_> = plan
        .actions
        .iter()
        .filter(|a| a.target == Target::Crm && a.kind == ActionKind::Create)
        .filter_map(|a| a.subject.href.clone())
        .collect();
    let dup_crm: BTreeSet<_> = plan.duplicates.iter().flat_map(|d| d.crm_ids.clone()).collect();
    let dup_gw: BTreeSet<_> = plan.duplicates.iter().flat_map(|d| d.hrefs.clone()).collect();
    prop_assert!(
        created_in_gw.is_disjoint(&paired_crm) && created_in_gw.is_disjoint(&dup_crm),
        "matched record created:\n{plan}"
    );
    prop_assert!(
        created_in_crm.is_disjoint(&paired_gw) && created_in_crm.is_disjoint(&dup_gw),
        "matched item created:\n{plan}"
    );
    prop_assert!(paired_crm.is_disjoint(&dup_crm) && paired_gw.is_disjoint(&dup_gw));
    // Every record and item is exactly one of paired, created or held.
    for r in &input.unpaired_crm {
        let n = [
            paired_crm.contains(&r.id),
            created_in_gw.contains(&r.id),
            dup_crm.contains(&r.id),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        prop_assert_eq!(n, 1, "{} is in {} outcomes:\n{}", r.id, n, plan);
    }
    for g in &input.unpaired_groupware {
        let n = [
            paired_gw.contains(&g.href),
            created_in_crm.contains(&g.href),
            dup_gw.contains(&g.href),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        prop_assert_eq!(n, 1, "{} is in {} outcomes:\n{}", g.href, n, plan);
    }
    Ok(())
}

fn input_of(class: EntityClass, crm: Vec<FieldMap>, gw: Vec<FieldMap>) -> CollectionInput {
    let mut input = CollectionInput::new(class, "c");
    let facts = if class == EntityClass::Contacts {
        contact_facts(true)
    } else {
        event_facts(true, true)
    };
    input.unpaired_crm = crm
        .into_iter()
        .enumerate()
        .map(|(i, f)| crm_record(&format!("r{i}"), f, facts.clone()))
        .collect();
    input.unpaired_groupware = gw
        .into_iter()
        .enumerate()
        .map(|(i, f)| gw_item(&format!("g{i}"), f))
        .collect();
    input
}

proptest! {
    #![proptest_config(config())]

    // R-PAIR-1/2, R-RESET-1.
    #[test]
    fn r_pair_1_contacts_never_paired_twice_nor_created_when_matched(
        crm in proptest::collection::vec(contact(), 0..6), gw in proptest::collection::vec(contact(), 0..6),
    ) {
        check_pairing(&input_of(EntityClass::Contacts, crm, gw))?;
    }

    #[test]
    fn r_pair_1_events_never_paired_twice_nor_created_when_matched(
        crm in proptest::collection::vec(event(), 0..6), gw in proptest::collection::vec(event(), 0..6),
    ) {
        check_pairing(&input_of(EntityClass::Events, crm, gw))?;
    }
}

#[test]
fn proptest_runs_at_least_a_thousand_cases() {
    assert!(config().cases >= 1000);
}
