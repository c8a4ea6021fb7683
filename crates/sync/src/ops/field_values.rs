//! The values a history entry replaced, per field, as `explain` shows them
//! (R-EDIT-3, R-EXPLAIN-1): the value kept and the value lost, the side each
//! came from and the rule. The history's `detail` column holds them; this
//! turns it into something a person (or a program) can read.

use std::fmt;

use crmsync_engine::{Action, FieldConflict, Target, WriteReason};
use serde::{Deserialize, Serialize};

/// A side of a pair, as history names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Crm,
    Groupware,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Crm => Side::Groupware,
            Side::Groupware => Side::Crm,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Crm => "CRM",
            Side::Groupware => "groupware",
        })
    }
}

/// Why a field's value was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplacedBecause {
    /// The other side changed it (R-EDIT-1/2).
    Propagated,
    /// Both sides changed it and the conflict policy chose (R-EDIT-3).
    ConflictLost,
    /// The side was read-only and its change was undone (R-DIR-2, R-ENG-5).
    Reverted,
    /// Someone resolved a held conflict (`conflicts resolve`, R-EDIT-3).
    ChosenByUser,
    /// Someone resolved a held conflict with a value of their own, written
    /// into the CRM record (R-EDIT-3-THIRD).
    EditedByUser,
}

impl ReplacedBecause {
    fn words(self) -> &'static str {
        match self {
            ReplacedBecause::Propagated => "changed on the other side",
            ReplacedBecause::ConflictLost => "conflict: both sides changed it",
            ReplacedBecause::Reverted => "reverted: that side may not change it",
            ReplacedBecause::ChosenByUser => "conflict resolved by choice",
            ReplacedBecause::EditedByUser => "conflict resolved with a value of one's own",
        }
    }
}

/// One field an entry replaced: the value kept, the value lost, where each
/// came from and the rule that decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValues {
    pub field: String,
    pub kept: Option<String>,
    pub kept_from: Side,
    pub lost: Option<String>,
    pub lost_from: Side,
    pub because: ReplacedBecause,
    pub rule: String,
}

impl fmt::Display for FieldValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: kept {} ({}), lost {} ({}); {}, {}",
            self.field,
            quoted(self.kept.as_deref()),
            self.kept_from,
            quoted(self.lost.as_deref()),
            self.lost_from,
            self.because.words(),
            self.rule
        )
    }
}

fn quoted(v: Option<&str>) -> String {
    v.map_or_else(|| "(empty)".to_string(), |v| format!("{v:?}"))
}

/// What a resolved conflict's history entry keeps as detail.
#[derive(Debug, Serialize, Deserialize)]
struct Resolution {
    resolved: Vec<FieldValues>,
}

/// The replaced values a history entry's `detail` holds: an applied action's
/// writes, or a resolution's choices. Anything else (a status-only action,
/// an older entry) has none.
pub fn from_detail(detail: Option<&str>) -> Vec<FieldValues> {
    let Some(detail) = detail else { return Vec::new() };
    if let Ok(action) = serde_json::from_str::<Action>(detail) {
        return from_action(&action);
    }
    serde_json::from_str::<Resolution>(detail)
        .map(|r| r.resolved)
        .unwrap_or_default()
}

fn from_action(action: &Action) -> Vec<FieldValues> {
    let lost_from = match action.target {
        Target::Crm => Side::Crm,
        Target::Groupware => Side::Groupware,
        Target::Status => return Vec::new(),
    };
    action
        .writes
        .iter()
        .filter(|w| w.old != w.new)
        .map(|w| FieldValues {
            field: w.key.clone(),
            kept: w.new.clone(),
            kept_from: lost_from.other(),
            lost: w.old.clone(),
            lost_from,
            because: match w.reason {
                WriteReason::Propagated => ReplacedBecause::Propagated,
                WriteReason::ConflictLost => ReplacedBecause::ConflictLost,
                WriteReason::Reverted => ReplacedBecause::Reverted,
            },
            rule: action.rule.as_str().to_string(),
        })
        .collect()
}

/// What a resolved conflict keeps of one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kept {
    /// One side's value.
    Side(Side),
    /// A value of the resolver's own, written into the CRM (R-EDIT-3-THIRD).
    Own(Option<String>),
}

/// The detail of a resolved conflict's history entry: per field, the value
/// chosen (`kept`) and the one(s) it overwrites: the other side's, or with
/// a value of one's own, both sides'.
pub(crate) fn resolution_detail(fields: &[FieldConflict], kept: &[Kept]) -> String {
    let rule = || crmsync_engine::RuleId::Edit3.as_str().to_string();
    let resolved = fields
        .iter()
        .zip(kept)
        .flat_map(|(f, k)| {
            let lost: Vec<FieldValues> = match k {
                Kept::Side(kept_from) => {
                    let (kept, lost) = match kept_from {
                        Side::Crm => (f.crm.clone(), f.groupware.clone()),
                        Side::Groupware => (f.groupware.clone(), f.crm.clone()),
                    };
                    vec![FieldValues {
                        field: f.key.clone(),
                        kept,
                        kept_from: *kept_from,
                        lost,
                        lost_from: kept_from.other(),
                        because: ReplacedBecause::ChosenByUser,
                        rule: rule(),
                    }]
                }
                Kept::Own(value) => [(Side::Crm, &f.crm), (Side::Groupware, &f.groupware)]
                    .into_iter()
                    .map(|(side, lost)| FieldValues {
                        field: f.key.clone(),
                        kept: value.clone(),
                        kept_from: Side::Crm,
                        lost: lost.clone(),
                        lost_from: side,
                        because: ReplacedBecause::EditedByUser,
                        rule: rule(),
                    })
                    .collect(),
            };
            lost.into_iter().filter(|v| v.kept != v.lost)
        })
        .collect();
    serde_json::to_string(&Resolution { resolved }).expect("field values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_engine::{ActionKind, FieldWrite, RuleId, Subject};

    #[test]
    fn a_lost_conflict_names_both_values_and_sides() {
        let mut action = Action::new(
            Target::Groupware,
            ActionKind::Update,
            Subject::default(),
            RuleId::Edit3,
            "crm wins",
        );
        action.writes.push(FieldWrite {
            key: "job_title".into(),
            old: Some("Phone".into()),
            new: Some("Crm".into()),
            reason: WriteReason::ConflictLost,
        });
        let values = from_detail(Some(&serde_json::to_string(&action).unwrap()));
        assert_eq!(values.len(), 1);
        assert_eq!(
            values[0].to_string(),
            "job_title: kept \"Crm\" (CRM), lost \"Phone\" (groupware); conflict: both sides changed it, R-EDIT-3"
        );
    }

    #[test]
    fn a_resolution_round_trips_through_the_detail() {
        let fields = [FieldConflict {
            key: "last_name".into(),
            base: Some("Old".into()),
            crm: Some("Crm".into()),
            groupware: None,
        }];
        let detail = resolution_detail(&fields, &[Kept::Side(Side::Groupware)]);
        let values = from_detail(Some(&detail));
        assert_eq!(values[0].kept, None);
        assert_eq!(values[0].lost.as_deref(), Some("Crm"));
        assert_eq!(values[0].lost_from, Side::Crm);
        assert_eq!(values[0].because, ReplacedBecause::ChosenByUser);
    }
}
