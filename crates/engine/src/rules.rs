//! The rule IDs the engine decides by, each with a one-line description.
//!
//! Every action in a plan names the rule that chose it, so status, history,
//! `explain` and dry-run all point at the same line of SPEC.md (or of
//! docs/RULES.md for the `R-ENG-*` decisions the SPEC left open).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! rule_ids {
    ($($variant:ident => $id:literal, $desc:literal;)*) => {
        /// A rule of SPEC §4–§13 (or docs/RULES.md) that the engine decides.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum RuleId {
            $($variant,)*
        }

        impl RuleId {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            /// The ID as written in the SPEC, e.g. `R-DEL-3`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $id,)*
                }
            }

            /// One line saying what the rule decides.
            pub fn description(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $desc,)*
                }
            }

            pub fn parse(s: &str) -> Option<RuleId> {
                RuleId::ALL.iter().copied().find(|r| r.as_str() == s)
            }
        }
    };
}

rule_ids! {
    Edit1 => "R-EDIT-1", "an edit on either side reaches the other side at the next sync";
    Edit2 => "R-EDIT-2", "both sides changed: merged field by field against the base, disjoint changes both kept";
    Edit3 => "R-EDIT-3", "same field changed on both sides: resolved by the conflict policy, overwritten values kept in history";
    Dir1 => "R-DIR-1", "direction per entity: two-way, crm-to-groupware or groupware-to-crm";
    Dir2 => "R-DIR-2", "a change on the read-only side of a one-way entity is reverted (default) or ignored";
    Del1 => "R-DEL-1", "contact deleted in groupware: CRM contact kept, pair marked removed by user";
    Del2 => "R-DEL-2", "a removed-by-user pair is not re-created and comes back only with a reset";
    Del3 => "R-DEL-3", "contact deleted in CRM: removed from groupware unless owned by the user or groupware-origin";
    Del4 => "R-DEL-4", "contact deactivated in CRM: stays in the groupware";
    Del5 => "R-DEL-5", "left the filter: CRM-origin removed from groupware, groupware-origin stays and syncs";
    Del6 => "R-DEL-6", "planned appointment deleted in groupware: organizer deletes the CRM record, attendee does not";
    Del7 => "R-DEL-7", "planned appointment deleted in CRM: removed from the calendar";
    Del8 => "R-DEL-8", "completed appointment deleted in groupware: removed for that user only, CRM unchanged";
    Del9 => "R-DEL-9", "completed appointment deleted in CRM: stays in the calendar";
    Del10 => "R-DEL-10", "task deleted in groupware: deleted in the CRM";
    Del11 => "R-DEL-11", "task deleted in CRM: removed from groupware while open, completed ones stay";
    Del12 => "R-DEL-12", "e-mail: deleting never propagates in either direction";
    Del13 => "R-DEL-13", "untracking may delete the CRM record only when the record's owner asks";
    Filter1 => "R-FILTER-1", "per-entity filter: owned or flagged contacts, owned or invited activities, plus field conditions";
    Filter2 => "R-FILTER-2", "whether a record syncs depends on the filter and on its origin";
    Perm1 => "R-PERM-1", "never plan a record the user may not read; two-way needs create and update rights";
    Cal1 => "R-CAL-1", "pulls cover current, future and past-days events; leaving the window deletes nothing";
    Cal2 => "R-CAL-2", "an event created in the groupware becomes a CRM appointment";
    Cal5 => "R-CAL-5", "first sync, reset and re-pairing write nothing to groupware when both sides agree";
    Cal7 => "R-CAL-7", "an attendee's own answer in their calendar flows into the CRM and is never reverted";
    Pair1 => "R-PAIR-1", "first sync pairs contacts by e-mail then phone and name, events and tasks by UID then start and subject";
    Pair2 => "R-PAIR-2", "ambiguous matches are neither merged nor created: listed as duplicates";
    Safe3 => "R-SAFE-3", "a plan deleting more than the configured share of a collection is held for confirmation";
    Safe4 => "R-SAFE-4", "a quarantined (malformed) item is skipped; the rest of the run goes on";
    Field5 => "R-FIELD-5", "the journal part of notes is outbound only: groupware edits of it never flow back";
    Field6 => "R-FIELD-6", "values over a connector's length limit are truncated outbound; a truncated value never overwrites the CRM";
    Explain1 => "R-EXPLAIN-1", "explain says whether a record syncs and which filter, rule and policy decided";
    Reset1 => "R-RESET-1", "a reset forgets pairs, not data: the next plan re-pairs instead of duplicating";
    Eng1 => "R-ENG-1", "an edit beats a delete: a deletion does not propagate onto a side that edited the item since the last sync";
    Eng2 => "R-ENG-2", "a pair found by first-sync matching counts as groupware-origin";
    Eng3 => "R-ENG-3", "a new item on the read-only side of a one-way entity is left alone, never copied or deleted";
    Eng4 => "R-ENG-4", "cancelled activities count as completed for deletion; a series counts as planned";
    Eng5 => "R-ENG-5", "a record the user may read but not write syncs crm-to-groupware only";
    Eng6 => "R-ENG-6", "newest-wins with equal or unknown last-modified times falls back to crm-wins";
    Eng7 => "R-ENG-7", "matched items that differ: base is what both agree on, one-sided fields are kept, differing ones are conflicts";
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// Serialized as the SPEC's text (`"R-DEL-3"`) so JSON plans read like the SPEC.
impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RuleId::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown rule id {text}")))
    }
}

/// Every rule the engine decides by, with its one-line description, for
/// `explain`, the CLI and the docs.
pub fn rule_catalog() -> Vec<(RuleId, &'static str)> {
    RuleId::ALL.iter().map(|r| (*r, r.description())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in RuleId::ALL {
            assert!(seen.insert(rule.as_str()), "duplicate id {rule}");
            assert_eq!(RuleId::parse(rule.as_str()), Some(*rule));
        }
        assert_eq!(RuleId::Del3.to_string(), "R-DEL-3");
        assert_eq!(rule_catalog().len(), RuleId::ALL.len());
    }
}
