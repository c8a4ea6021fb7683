//! R-EDIT-1/2/3 and R-DIR-2: the three-way, field-by-field merge of a pair
//! against its base. It only compares canonical text values; which field means
//! what is the mapping's business.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crmsync_model::FieldMap;
use crmsync_model::fields::keys;

use crate::aligned::{aligned, differ_besides};
use crate::limits::normalise_groupware;
use crate::plan::{FieldConflict, FieldWrite, WriteReason};
use crate::policy::{ConflictPolicy, Direction, ReadOnlyPolicy};
use crate::rules::RuleId;

/// Everything one merge looks at.
#[derive(Debug, Clone)]
pub struct MergeInput<'a> {
    pub base: &'a FieldMap,
    /// The CRM's fields now (the base when unchanged).
    pub crm: &'a FieldMap,
    /// The groupware's fields now, as read (normalised here).
    pub groupware: &'a FieldMap,
    pub crm_modified: Option<DateTime<Utc>>,
    pub groupware_modified: Option<DateTime<Utc>>,
    pub direction: Direction,
    /// The record is read-only for the profile's user (R-ENG-5): `direction`
    /// was narrowed to crm-to-groupware for it.
    pub read_only_record: bool,
    pub read_only: ReadOnlyPolicy,
    pub conflict: ConflictPolicy,
    pub limits: &'a BTreeMap<String, usize>,
}

/// What both sides and the base should hold after the merge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeOutcome {
    pub crm: FieldMap,
    /// Full values; the planner cuts them to the connector's limits.
    pub groupware: FieldMap,
    pub base: FieldMap,
    pub crm_writes: Vec<FieldWrite>,
    pub groupware_writes: Vec<FieldWrite>,
    /// Manual-policy conflicts left for someone to choose.
    pub conflicts: Vec<FieldConflict>,
    /// The rule behind the CRM writes and the groupware writes.
    pub crm_rule: Option<RuleId>,
    pub groupware_rule: Option<RuleId>,
    /// Read-only-side changes left alone (R-DIR-2 `ignore`).
    pub ignored: Vec<String>,
}

/// The more specific of two rules for the same action: conflicts beat
/// reverts beat merges beat plain propagation.
fn stronger(current: Option<RuleId>, new: RuleId) -> Option<RuleId> {
    let rank = |r: RuleId| match r {
        RuleId::Edit3 | RuleId::Eng6 | RuleId::Dir1 | RuleId::Cal7 => 4,
        RuleId::Dir2 => 3,
        RuleId::Edit2 => 2,
        _ => 1,
    };
    match current {
        Some(c) if rank(c) >= rank(new) => Some(c),
        _ => Some(new),
    }
}

fn owned(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

/// Who wins a conflict under a two-way policy; `None` under manual.
enum Winner {
    Crm(RuleId),
    Groupware(RuleId),
    Nobody,
}

fn conflict_winner(input: &MergeInput<'_>) -> Winner {
    match input.direction {
        Direction::CrmToGroupware => return Winner::Crm(RuleId::Dir1),
        Direction::GroupwareToCrm => return Winner::Groupware(RuleId::Dir1),
        Direction::TwoWay => {}
    }
    match input.conflict {
        ConflictPolicy::CrmWins => Winner::Crm(RuleId::Edit3),
        ConflictPolicy::GroupwareWins => Winner::Groupware(RuleId::Edit3),
        ConflictPolicy::Manual => Winner::Nobody,
        // Only consulted here, for fields that really differ from the base on
        // both sides: a server that bumps LAST-MODIFIED on open cannot win a
        // field it did not change (R-EDIT-3).
        ConflictPolicy::NewestWins => match (input.crm_modified, input.groupware_modified) {
            (Some(c), Some(g)) if g > c => Winner::Groupware(RuleId::Edit3),
            (Some(c), Some(g)) if c > g => Winner::Crm(RuleId::Edit3),
            _ => Winner::Crm(RuleId::Eng6),
        },
    }
}

pub fn merge(input: &MergeInput<'_>) -> MergeOutcome {
    let gw = normalise_groupware(input.groupware, input.base, input.crm, input.limits);
    // The groupware's map is built by moving `gw` in after the walk, which
    // borrows it, and applying the few changes the walk found: a second
    // copy of every field was a tenth of a merge (R-PERF-6).
    let mut gw_changes: Vec<(String, Option<String>)> = Vec::new();
    let mut out = MergeOutcome {
        crm: input.crm.clone(),
        base: input.base.clone(),
        ..Default::default()
    };
    // The UID is identity, not content: each side keeps its own, and a
    // difference is never an edit (an item crmsync wrote carries the CRM id
    // as UID while the CRM record has none; R-CAL-5, R-SYNC-UID-1).
    let crm_changed_any = differ_besides(input.crm, input.base, keys::UID);
    let gw_changed_any = differ_besides(&gw, input.base, keys::UID);
    let propagate_rule = if crm_changed_any && gw_changed_any {
        RuleId::Edit2
    } else {
        RuleId::Edit1
    };
    // One walk over the four maps; a key only the raw groupware map holds
    // (its journal, R-FIELD-5) is no field of the merge.
    for (key, [b, c, g, raw_g]) in aligned([input.base, input.crm, &gw, input.groupware]) {
        if key == keys::UID || (b.is_none() && c.is_none() && g.is_none()) {
            continue;
        }
        // R-CAL-7: an attendee's own answer is theirs, also on a meeting they
        // may not change: it flows into the CRM and wins over a CRM change.
        if key == keys::OWN_RESPONSE && input.read_only_record && g != b {
            if c != g {
                out.crm.set_opt(key, g);
                out.crm_writes.push(write(key, c, g, WriteReason::Propagated));
                out.crm_rule = stronger(out.crm_rule, RuleId::Cal7);
            }
            out.base.set_opt(key, g);
            continue;
        }
        match (c != b, g != b) {
            (false, false) => {}
            (true, false) => {
                if input.direction.crm_to_groupware() {
                    gw_changes.push((key.to_string(), owned(c)));
                    out.base.set_opt(key, c);
                    out.groupware_writes.push(write(key, raw_g, c, WriteReason::Propagated));
                    out.groupware_rule = stronger(out.groupware_rule, propagate_rule);
                } else {
                    read_only_change(&mut out, &mut gw_changes, key, b, c, Side::Crm, input.read_only);
                }
            }
            (false, true) => {
                if input.direction.groupware_to_crm() {
                    out.crm.set_opt(key, g);
                    out.base.set_opt(key, g);
                    out.crm_writes.push(write(key, c, g, WriteReason::Propagated));
                    out.crm_rule = stronger(out.crm_rule, propagate_rule);
                } else {
                    read_only_change(
                        &mut out,
                        &mut gw_changes,
                        key,
                        b,
                        raw_g,
                        Side::Groupware,
                        input.read_only,
                    );
                }
            }
            (true, true) if c == g => out.base.set_opt(key, c),
            (true, true) => match conflict_winner(input) {
                Winner::Crm(rule) => {
                    gw_changes.push((key.to_string(), owned(c)));
                    out.base.set_opt(key, c);
                    out.groupware_writes
                        .push(write(key, raw_g, c, WriteReason::ConflictLost));
                    out.groupware_rule = stronger(out.groupware_rule, rule);
                }
                Winner::Groupware(rule) => {
                    out.crm.set_opt(key, g);
                    out.base.set_opt(key, g);
                    out.crm_writes.push(write(key, c, g, WriteReason::ConflictLost));
                    out.crm_rule = stronger(out.crm_rule, rule);
                }
                // Neither side is touched and the base keeps the old value,
                // so the conflict is raised again until someone chooses.
                Winner::Nobody => out.conflicts.push(FieldConflict {
                    key: key.to_string(),
                    base: owned(b),
                    crm: owned(c),
                    groupware: owned(raw_g),
                }),
            },
        }
    }
    out.groupware = gw;
    for (key, value) in gw_changes {
        out.groupware.set_opt(key, value);
    }
    // Rewriting the item puts the CRM's journal back over a groupware edit
    // of it (R-FIELD-5); that overwritten text goes into history too.
    let raw_journal = input.groupware.get(keys::JOURNAL);
    let journal_written = out.groupware_writes.iter().any(|w| w.key == keys::JOURNAL);
    if !out.groupware_writes.is_empty() && !journal_written && raw_journal != out.groupware.get(keys::JOURNAL) {
        let new = out.groupware.get(keys::JOURNAL);
        out.groupware_writes
            .push(write(keys::JOURNAL, raw_journal, new, WriteReason::Reverted));
    }
    out
}

#[derive(Clone, Copy)]
enum Side {
    Crm,
    Groupware,
}

/// R-DIR-2: the read-only side changed `key` from `b` to `now`.
fn read_only_change(
    out: &mut MergeOutcome,
    gw_changes: &mut Vec<(String, Option<String>)>,
    key: &str,
    b: Option<&str>,
    now: Option<&str>,
    side: Side,
    policy: ReadOnlyPolicy,
) {
    match policy {
        ReadOnlyPolicy::Revert => {
            let (writes, rule) = match side {
                Side::Crm => {
                    out.crm.set_opt(key, b);
                    (&mut out.crm_writes, &mut out.crm_rule)
                }
                Side::Groupware => {
                    gw_changes.push((key.to_string(), owned(b)));
                    (&mut out.groupware_writes, &mut out.groupware_rule)
                }
            };
            writes.push(write(key, now, b, WriteReason::Reverted));
            *rule = stronger(*rule, RuleId::Dir2);
        }
        // The base keeps the old value, so the change stays "ignored" on every
        // later run instead of turning into an edit of the leading side.
        ReadOnlyPolicy::Ignore => out.ignored.push(key.to_string()),
    }
}

fn write(key: &str, old: Option<&str>, new: Option<&str>, reason: WriteReason) -> FieldWrite {
    FieldWrite {
        key: key.to_string(),
        old: owned(old),
        new: owned(new),
        reason,
    }
}

/// The base for two items matched at first sync (R-ENG-7): the values both
/// already agree on. One-sided values then count as additions and are kept;
/// values that differ are conflicts for the profile's policy.
pub fn agreed_base(crm: &FieldMap, groupware: &FieldMap, limits: &BTreeMap<String, usize>) -> FieldMap {
    // Read the groupware as if the CRM's values were the base: cut values and
    // the outbound-only journal then agree with the CRM's.
    let gw = normalise_groupware(groupware, crm, crm, limits);
    let mut base: FieldMap = crm.iter().filter(|(k, v)| gw.get(k) == Some(*v)).collect();
    // A journal the groupware shows differently is still the CRM's to send.
    if groupware.get(keys::JOURNAL) != crm.get(keys::JOURNAL) {
        base.remove(keys::JOURNAL);
    }
    base
}
