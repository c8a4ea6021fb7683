//! R-VDIR-12: `apply_status` writes a chunk's status in a few statements per
//! table, and must leave the tables as the single-op calls (`journal_mark`,
//! `add_history`, `save_pair`, `delete_pair`) applied in order would. Each
//! test runs the same op sequence both ways, on two profiles with a run
//! each in one fresh store (pairs, journal and history are keyed by profile
//! and run, so the two sides cannot see each other), and compares what the
//! tables hold.

use chrono::Duration;
use crmsync_engine::{Origin, PairState};
use crmsync_store::Store;
use crmsync_store::status::{HistoryEntry, JournalStep, PairRow, StatusOp, StepState};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::fixtures::at;

/// One side of a comparison: its profile and run.
struct Side {
    profile: String,
    run_id: String,
}

impl Side {
    /// A pair id unique to this side (pair ids are global keys).
    fn pair_id(&self, n: usize) -> String {
        format!("{}-p{n}", self.profile)
    }

    fn pair(&self, n: usize, crm_id: &str, href: &str, etag: &str) -> StatusOp {
        StatusOp::SavePair(PairRow {
            id: self.pair_id(n),
            profile: self.profile.clone(),
            collection: "contacts".into(),
            crm_id: crm_id.into(),
            href: href.into(),
            etag: etag.into(),
            uid: Some(format!("uid-{n}")),
            crm_version: 1,
            origin: Origin::Crm,
            state: PairState::Live,
            base: [("first_name", "Ada")].into_iter().collect(),
            facts: Some(format!("{{\"n\":{n}}}")),
            raw: None,
            updated_at: at(9, 0),
        })
    }

    fn delete(&self, n: usize) -> StatusOp {
        StatusOp::DeletePair(self.pair_id(n))
    }

    fn mark(&self, step: i64, state: StepState, detail: Option<&str>) -> StatusOp {
        StatusOp::Mark {
            run_id: self.run_id.clone(),
            step,
            state,
            detail: detail.map(str::to_string),
        }
    }

    fn history(&self, n: usize) -> StatusOp {
        StatusOp::History(HistoryEntry {
            profile: self.profile.clone(),
            collection: "contacts".into(),
            crm_id: Some(format!("c{n}")),
            href: n.is_multiple_of(3).then(|| format!("c{n}.vcf")),
            run_id: Some(self.run_id.clone()),
            at: at(9, 0) + Duration::seconds(n as i64),
            action: "groupware create".into(),
            rule: "R-EDIT-1".into(),
            message: format!("entry {n}"),
            detail: n.is_multiple_of(2).then(|| format!("{{\"n\":{n}}}")),
        })
    }
}

/// What one side's tables hold, with its profile, run and pair-id prefix
/// taken out so both sides compare equal when the effects are.
#[derive(Debug, PartialEq)]
struct Tables {
    journal: Vec<JournalStep>,
    history: Vec<HistoryEntry>,
    pairs: Vec<PairRow>,
}

async fn tables(store: &Store, side: &Side) -> Tables {
    let state = store.sync_state();
    let mut journal = state.journal(&side.run_id).await.unwrap();
    for s in &mut journal {
        s.run_id.clear();
        s.profile.clear();
    }
    let mut history = state.run_history(&side.run_id).await.unwrap();
    for h in &mut history {
        h.profile.clear();
        h.run_id = None;
    }
    let mut pairs = state.pairs(&side.profile, "contacts").await.unwrap();
    for p in &mut pairs {
        p.id = p.id.trim_start_matches(&format!("{}-", side.profile)).to_string();
        p.profile.clear();
    }
    pairs.sort_by(|a, b| a.id.cmp(&b.id));
    Tables {
        journal,
        history,
        pairs,
    }
}

/// The ops through the single-op calls, one by one.
async fn apply_one_by_one(store: &Store, ops: &[StatusOp]) {
    let state = store.sync_state();
    for op in ops {
        match op {
            StatusOp::Mark {
                run_id,
                step,
                state: s,
                detail,
            } => state.journal_mark(run_id, *step, *s, detail.as_deref()).await.unwrap(),
            StatusOp::History(e) => state.add_history(e).await.unwrap(),
            StatusOp::SavePair(p) => state.save_pair(p).await.unwrap(),
            StatusOp::DeletePair(id) => state.delete_pair(id).await.unwrap(),
            StatusOp::Conflict(c) => {
                state.add_conflict(c).await.unwrap();
            }
        }
    }
}

/// A side with a run whose plan has `plan_len` steps, action `a{step}`.
async fn side(store: &Store, profile: &str, plan_len: usize) -> Side {
    let run = store.sync_state().begin_run(profile).await.unwrap();
    let actions: Vec<String> = (1..=plan_len).map(|s| format!("a{s}")).collect();
    let first = store
        .sync_state()
        .journal_plan(&run.id, profile, "contacts", &actions)
        .await
        .unwrap();
    assert_eq!(first, 1);
    Side {
        profile: profile.into(),
        run_id: run.id,
    }
}

/// Runs `ops` (built for each side) one by one on one side and as one
/// `apply_status` on the other, and asserts both sides' tables are equal.
/// Returns the batched side's tables for further checks.
async fn assert_same_effect(store: &Store, plan_len: usize, ops: impl Fn(&Side) -> Vec<StatusOp>) -> Tables {
    assert_same_effect_in(store, "", plan_len, ops).await
}

/// [`assert_same_effect`] on profiles named after `case`, so many cases can
/// share one store.
async fn assert_same_effect_in(
    store: &Store,
    case: &str,
    plan_len: usize,
    ops: impl Fn(&Side) -> Vec<StatusOp>,
) -> Tables {
    let single = side(store, &format!("single{case}"), plan_len).await;
    let batched = side(store, &format!("batched{case}"), plan_len).await;
    apply_one_by_one(store, &ops(&single)).await;
    store.sync_state().apply_status(&ops(&batched)).await.unwrap();
    let expected = tables(store, &single).await;
    let got = tables(store, &batched).await;
    assert_eq!(got, expected, "a batch leaves what the ops one by one leave");
    got
}

store_test!(r_vdir_12_a_step_marked_twice_keeps_its_last_mark, |store| {
    let t = assert_same_effect(&store, 4, |s| {
        vec![
            s.mark(1, StepState::Started, None),
            s.mark(2, StepState::Failed, Some("gone")),
            s.mark(1, StepState::Failed, Some("refused")),
            s.mark(2, StepState::Done, None),
            s.mark(3, StepState::Done, None),
            s.mark(3, StepState::Done, Some("again")),
            // The last mark's group (Started) was seen before the first's:
            // grouping must not reorder a step's marks.
            s.mark(4, StepState::Replanned, None),
            s.mark(4, StepState::Started, None),
        ]
    })
    .await;
    let marks: Vec<_> = t.journal.iter().map(|s| (s.state, s.detail.as_deref())).collect();
    assert_eq!(
        marks,
        vec![
            (StepState::Failed, Some("refused")),
            (StepState::Done, None),
            (StepState::Done, Some("again")),
            (StepState::Started, None),
        ]
    );
});

store_test!(r_vdir_12_a_pair_saved_twice_keeps_its_moved_href, |store| {
    let t = assert_same_effect(&store, 0, |s| {
        vec![
            s.pair(1, "c1", "old.vcf", "e1"),
            s.pair(2, "c2", "two.vcf", "e1"),
            s.pair(1, "c1", "new.vcf", "e2"),
            // The href p1 left is free for another pair in the same batch.
            s.pair(3, "c3", "old.vcf", "e1"),
        ]
    })
    .await;
    let hrefs: Vec<_> = t
        .pairs
        .iter()
        .map(|p| (p.id.as_str(), p.href.as_str(), p.etag.as_str()))
        .collect();
    assert_eq!(
        hrefs,
        vec![
            ("p1", "new.vcf", "e2"),
            ("p2", "two.vcf", "e1"),
            ("p3", "old.vcf", "e1")
        ]
    );
});

store_test!(r_vdir_12_delete_then_save_of_one_pair_keeps_the_save, |store| {
    let t = assert_same_effect(&store, 0, |s| {
        vec![
            s.pair(1, "c1", "c1.vcf", "e1"),
            s.pair(2, "c2", "c2.vcf", "e1"),
            s.delete(1),
            s.pair(1, "c1", "c1-again.vcf", "e3"),
            // Save then delete: the pair is gone.
            s.delete(2),
            // Deleting a pair that never existed is a no-op either way.
            s.delete(9),
        ]
    })
    .await;
    let hrefs: Vec<_> = t.pairs.iter().map(|p| (p.id.as_str(), p.href.as_str())).collect();
    assert_eq!(hrefs, vec![("p1", "c1-again.vcf")]);
});

store_test!(r_vdir_12_history_past_200_rows_keeps_its_order, |store| {
    let t = assert_same_effect(&store, 0, |s| (0..450).map(|n| s.history(n)).collect()).await;
    let messages: Vec<_> = t.history.iter().map(|h| h.message.clone()).collect();
    assert_eq!(messages, (0..450).map(|n| format!("entry {n}")).collect::<Vec<_>>());
});

store_test!(r_vdir_12_more_than_100_pairs_and_500_marks, |store| {
    let t = assert_same_effect(&store, 1300, |s| {
        let mut ops = Vec::new();
        for n in 0..250 {
            ops.push(s.pair(n, &format!("c{n}"), &format!("c{n}.vcf"), "e1"));
        }
        // Every tenth pair is moved to another href later in the batch.
        for n in (0..250).step_by(10) {
            ops.push(s.pair(n, &format!("c{n}"), &format!("moved-{n}.vcf"), "e2"));
        }
        for step in 1..=1300 {
            let (state, detail) = match step % 7 {
                0 => (StepState::Failed, Some("refused")),
                1 => (StepState::Replanned, None),
                _ => (StepState::Done, None),
            };
            ops.push(s.mark(step, state, detail));
        }
        ops
    })
    .await;
    assert_eq!(t.pairs.len(), 250);
    assert_eq!(t.journal.len(), 1300);
    assert!(
        t.journal.iter().all(|s| s.state != StepState::Planned),
        "every mark landed"
    );
});

store_test!(r_vdir_12_a_plan_past_1000_rows_numbers_its_steps_in_order, |store| {
    // Marks on both sides of the plan's 1,000-row statement boundary.
    let t = assert_same_effect(&store, 2105, |s| {
        [1, 999, 1000, 1001, 2000, 2001, 2105]
            .into_iter()
            .map(|step| s.mark(step, StepState::Done, None))
            .collect()
    })
    .await;
    let steps: Vec<_> = t.journal.iter().map(|s| (s.step, s.action.clone())).collect();
    assert_eq!(steps, (1..=2105).map(|s| (s, format!("a{s}"))).collect::<Vec<_>>());
    let done: Vec<i64> = t
        .journal
        .iter()
        .filter(|s| s.state == StepState::Done)
        .map(|s| s.step)
        .collect();
    assert_eq!(done, vec![1, 999, 1000, 1001, 2000, 2001, 2105]);
});

/// One op of a random sequence, before it is given a side.
#[derive(Debug, Clone)]
enum RandomOp {
    /// Pair `n` saved at one of its own hrefs (so no two pairs ever share
    /// one and the ops one by one always succeed) with an etag.
    Save(usize, u8, u8),
    Delete(usize),
    Mark(i64, u8, bool),
    History(usize),
}

/// Steps in each random case's plan.
const RANDOM_PLAN_STEPS: i64 = 6;

fn random_op() -> impl Strategy<Value = RandomOp> {
    prop_oneof![
        (0..5usize, 0..3u8, 0..3u8).prop_map(|(n, h, e)| RandomOp::Save(n, h, e)),
        (0..6usize).prop_map(RandomOp::Delete),
        (1..=RANDOM_PLAN_STEPS, 0..5u8, any::<bool>()).prop_map(|(s, st, d)| RandomOp::Mark(s, st, d)),
        (0..1000usize).prop_map(RandomOp::History),
    ]
}

fn to_status_op(side: &Side, op: &RandomOp) -> StatusOp {
    const STATES: [StepState; 5] = [
        StepState::Planned,
        StepState::Started,
        StepState::Done,
        StepState::Failed,
        StepState::Replanned,
    ];
    match op {
        RandomOp::Save(n, h, e) => side.pair(*n, &format!("c{n}"), &format!("c{n}-{h}.vcf"), &format!("e{e}")),
        RandomOp::Delete(n) => side.delete(*n),
        RandomOp::Mark(step, state, detail) => side.mark(*step, STATES[*state as usize], detail.then_some("why")),
        RandomOp::History(n) => side.history(*n),
    }
}

/// Random cases per backend. Fixed rather than PROPTEST_CASES: each case
/// commits every op on its own, and the deterministic seed makes the cases
/// the same on every run.
const RANDOM_CASES: usize = 128;

store_test!(r_vdir_12_random_op_sequences_batched_and_one_by_one_agree, |store| {
    let mut runner = TestRunner::deterministic();
    let sequences = vec(random_op(), 0..40);
    for case in 0..RANDOM_CASES {
        let ops = sequences.new_tree(&mut runner).unwrap().current();
        let _ = assert_same_effect_in(&store, &format!("-{case}"), RANDOM_PLAN_STEPS as usize, |side| {
            ops.iter().map(|op| to_status_op(side, op)).collect()
        })
        .await;
    }
});
