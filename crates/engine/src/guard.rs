//! R-SAFE-3: a plan that would delete more than a configured share of a
//! collection on either side is held until a user confirms it. A sync that
//! suddenly wants to delete half of an address book is far more often a
//! broken server, filter or mapping than a user's wish.

use crate::plan::{Action, ActionKind, MassDeleteHold, Side, Target};
use crate::policy::Profile;

/// Would `actions` delete too much? `crm_total` and `groupware_total` are the
/// collection's sizes before the run. Returns the hold for the worse side.
pub fn check(
    profile: &Profile,
    actions: &[Action],
    crm_total: usize,
    groupware_total: usize,
) -> Option<MassDeleteHold> {
    let guard = profile.mass_delete;
    let count = |target: Target| {
        actions
            .iter()
            .filter(|a| a.kind == ActionKind::Delete && a.target == target)
            .count()
    };
    [
        (Side::Crm, count(Target::Crm), crm_total),
        (Side::Groupware, count(Target::Groupware), groupware_total),
    ]
    .into_iter()
    .filter(|(_, deletes, total)| {
        *deletes >= guard.min_records.max(1) && (*deletes as f64) > guard.max_share * (*total as f64)
    })
    .max_by(|a, b| {
        let share = |(_, d, t): &(Side, usize, usize)| *d as f64 / (*t).max(1) as f64;
        share(a).total_cmp(&share(b))
    })
    .map(|(side, deletes, total)| MassDeleteHold {
        side,
        deletes,
        total,
        max_share: guard.max_share,
        min_records: guard.min_records,
        confirmed: profile.mass_delete_confirmed,
    })
}
