//! R-PERF-5: what planning allocates, counted, not timed. This test binary's
//! global allocator counts the calling thread's allocations, so tests that
//! run side by side do not count each other's work.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use crmsync_engine::{ActionKind, CollectionInput, EntityClass, Origin, Plan, Target, plan};
use crmsync_model::FieldMap;

use crate::common::*;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the allocator also serves a thread whose locals are gone.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is passed on unchanged to the system allocator; the
// count is a thread-local integer that allocates nothing itself.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// `f`'s result and how many allocations (and reallocations) it made.
fn counted<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

/// A contact as the mapping makes it, with a dozen fields.
fn contact(i: usize) -> FieldMap {
    let (first, email, street) = (
        format!("First{i}"),
        format!("p{i}@example.com"),
        format!("{i} Market St"),
    );
    fm(&[
        ("first_name", &first),
        ("last_name", "Lovelace"),
        ("company", "Analytical Engines"),
        ("job_title", "Engineer"),
        ("email1", &email),
        ("phone_business", "+44 20 7946 0000"),
        ("business_address.street", &street),
        ("business_address.city", "London"),
        ("business_address.postal_code", "12345"),
        ("business_address.country", "United Kingdom"),
        ("notes", "met at the fair"),
        ("journal", "2026-11-01 call: fine"),
    ])
}

/// `n` pairs unchanged on both sides: the runner compared ETags and the
/// change log and read neither side.
fn unchanged_pairs(n: usize) -> CollectionInput {
    let pairs = (0..n)
        .map(|i| {
            let mut p = pair(&i.to_string(), Origin::Crm, contact(i));
            p.last_facts = Some(contact_facts(true));
            paired(
                p,
                crmsync_engine::CrmSide::Unchanged,
                crmsync_engine::GroupwareSide::Unchanged,
            )
        })
        .collect();
    collection(EntityClass::Contacts, pairs)
}

/// `n` CRM records no pair knows, into an empty collection: a first sync.
fn first_sync(n: usize) -> CollectionInput {
    let mut input = collection(EntityClass::Contacts, Vec::new());
    input.unpaired_crm = (0..n)
        .map(|i| crm_record(&i.to_string(), contact(i), contact_facts(true)))
        .collect();
    input
}

fn planned(input: &CollectionInput) -> (Plan, usize) {
    let profile = profile();
    counted(|| plan(&profile, now(), input))
}

/// R-PERF-5: a pair unchanged on both sides costs the planner nothing:
/// planning 1,000 of them allocates exactly what planning 10 does.
#[test]
fn r_perf_5_a_no_change_pass_allocates_nothing_per_pair() {
    let (few, few_allocations) = planned(&unchanged_pairs(10));
    let (many, many_allocations) = planned(&unchanged_pairs(1_000));
    assert!(few.actions.is_empty() && many.actions.is_empty(), "nothing to do");
    assert_eq!(
        many_allocations,
        few_allocations,
        "990 more unchanged pairs allocated {} more times",
        many_allocations as i64 - few_allocations as i64
    );
}

/// R-PERF-5: planning the create of a new record allocates the two maps the
/// plan must own (the card's fields and the pair's base) and the record's
/// id in each action's subject; no key, reason or scope text is built.
#[test]
fn r_perf_5_a_first_sync_create_allocates_only_what_the_plan_owns() {
    let (small, small_allocations) = planned(&first_sync(100));
    let (large, large_allocations) = planned(&first_sync(200));
    for plan in [&small, &large] {
        let creates = plan
            .actions
            .iter()
            .filter(|a| a.target == Target::Groupware && a.kind == ActionKind::Create)
            .count();
        assert_eq!(creates * 2, plan.actions.len(), "a create and a pair per record");
    }
    assert_eq!(large.actions.len(), 400);
    let map = contact(0);
    let (_, map_clone) = counted(|| map.clone());
    let per_record = (large_allocations - small_allocations) / 100;
    let owned = 2 * map_clone + 2;
    assert!(
        per_record <= owned,
        "{per_record} allocations per created record; the plan owns {owned} (two maps of {map_clone}, two ids)"
    );
}

/// R-PERF-6: a merge of a pair changed on both sides copies each map once:
/// the groupware's map as it is read against the base (its cut values and
/// journal, R-FIELD-5/6) becomes the groupware's outcome, the CRM's and
/// the base's copies become theirs; the rest is the field writes and the
/// merged values.
#[test]
fn r_perf_6_a_merge_copies_each_map_once() {
    use std::collections::BTreeMap;

    use crmsync_engine::merge::{MergeInput, merge};
    use crmsync_engine::{ConflictPolicy, Direction, ReadOnlyPolicy};

    let base = contact(0);
    let mut crm = base.clone();
    crm.set("job_title", "Chief Engineer");
    let mut groupware = base.clone();
    groupware.set("business_address.street", "1 Market Square");
    let limits = BTreeMap::new();
    let input = MergeInput {
        base: &base,
        crm: &crm,
        groupware: &groupware,
        crm_modified: None,
        groupware_modified: None,
        direction: Direction::TwoWay,
        read_only_record: false,
        read_only: ReadOnlyPolicy::Revert,
        conflict: ConflictPolicy::CrmWins,
        limits: &limits,
    };
    let (outcome, allocations) = counted(|| merge(&input));
    assert_eq!((outcome.crm_writes.len(), outcome.groupware_writes.len()), (1, 1));
    assert_eq!(outcome.groupware.get("job_title"), Some("Chief Engineer"));
    assert_eq!(outcome.crm.get("business_address.street"), Some("1 Market Square"));
    let (_, map_clone) = counted(|| base.clone());
    // Each write: its vector, key, old and new value; each merged value set
    // into a map: its key and value, the groupware's through a list of one.
    let writes_and_sets = 2 * 4 + 2 * 2 + 2 * 2 + 3;
    let owned = 3 * map_clone + writes_and_sets;
    assert!(
        allocations <= owned,
        "{allocations} allocations for one merge; three maps of {map_clone} and the writes are {owned}"
    );
}
