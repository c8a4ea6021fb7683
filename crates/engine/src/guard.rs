//! R-SAFE-3: a plan that would delete, remove or unlink more than a
//! configured share of a collection on either side is held until a user
//! confirms it. A sync that suddenly wants to drop half of an address book is
//! far more often a broken server, filter or mapping than a user's wish, and
//! it is as bad when the deletion policy only marks the records "removed by
//! the user" or unlinks them: the collection stays empty for good.

use crate::plan::{Action, ActionKind, MassDeleteHold, Side, Target};
use crate::policy::Profile;

/// How one action takes a record out of sync, and on which side
/// (R-SYNC-GUARD-2): the side is the one the change is carried to, as for a
/// delete, so its collection size is the measure.
fn loss(action: &Action) -> Option<(Side, Loss)> {
    match (action.kind, action.target) {
        (ActionKind::Delete, Target::Crm) => Some((Side::Crm, Loss::Deleted)),
        (ActionKind::Delete, Target::Groupware) => Some((Side::Groupware, Loss::Deleted)),
        // The groupware item is gone and the CRM record stops syncing.
        (ActionKind::MarkRemovedByUser, _) => Some((Side::Crm, Loss::Removed)),
        // The CRM record is gone or out of scope and the item stops syncing.
        (ActionKind::Unlink, _) => Some((Side::Groupware, Loss::Unlinked)),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Loss {
    Deleted,
    Removed,
    Unlinked,
}

#[derive(Default)]
struct Count {
    deleted: usize,
    removed: usize,
    unlinked: usize,
}

impl Count {
    fn all(&self) -> usize {
        self.deleted + self.removed + self.unlinked
    }
}

/// Would `actions` take too much out of sync? `crm_total` and
/// `groupware_total` are the collection's sizes before the run. Returns the
/// hold for the worse side.
pub fn check(
    profile: &Profile,
    actions: &[Action],
    crm_total: usize,
    groupware_total: usize,
) -> Option<MassDeleteHold> {
    let guard = profile.mass_delete;
    let (mut crm, mut groupware) = (Count::default(), Count::default());
    for (side, kind) in actions.iter().filter_map(loss) {
        let count = match side {
            Side::Crm => &mut crm,
            Side::Groupware => &mut groupware,
        };
        match kind {
            Loss::Deleted => count.deleted += 1,
            Loss::Removed => count.removed += 1,
            Loss::Unlinked => count.unlinked += 1,
        }
    }
    [
        (Side::Crm, crm, crm_total),
        (Side::Groupware, groupware, groupware_total),
    ]
    .into_iter()
    .filter(|(_, count, total)| {
        let n = count.all();
        n >= guard.min_records.max(1) && (n as f64) > guard.max_share * (*total as f64)
    })
    .max_by(|a, b| {
        let share = |(_, c, t): &(Side, Count, usize)| c.all() as f64 / (*t).max(1) as f64;
        share(a).total_cmp(&share(b))
    })
    .map(|(side, count, total)| MassDeleteHold {
        side,
        deletes: count.all(),
        deleted: count.deleted,
        removed_by_user: count.removed,
        unlinked: count.unlinked,
        total,
        max_share: guard.max_share,
        min_records: guard.min_records,
        confirmed: profile.mass_delete_confirmed,
    })
}
