//! SPEC §6 as one table: which side deleted × entity type × planned/completed
//! × organizer/attendee × owner × origin, with the expected outcome and rule.
//! Each row runs through the full planner, not the deletion module alone.

use crate::common;
use common::*;
use crmsync_engine::{ActionKind, CrmFacts, CrmSide, EntityClass, GroupwareSide, Origin, Plan, RuleId, Target};
use crmsync_model::ActivityKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleted {
    Groupware,
    Crm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    DeleteCrm,
    DeleteGroupware,
    MarkRemovedByUser,
    Unlink,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Contact,
    Appointment,
    Task,
    PhoneCall,
    Email,
}

/// (deleted side, kind, planned/open, user is organizer, user owns, origin, expected, rule)
type Row = (Deleted, Kind, bool, bool, bool, Origin, Expect, RuleId);

use Deleted::{Crm as C, Groupware as G};
use Expect::*;
use Kind::*;
use Origin::{Crm as OC, Groupware as OG};

const MATRIX: &[Row] = &[
    // Contacts (planned/organizer do not apply).
    (G, Contact, true, false, true, OC, MarkRemovedByUser, RuleId::Del1),
    (G, Contact, true, false, false, OC, MarkRemovedByUser, RuleId::Del1),
    (G, Contact, true, false, true, OG, MarkRemovedByUser, RuleId::Del1),
    (G, Contact, true, false, false, OG, MarkRemovedByUser, RuleId::Del1),
    (C, Contact, true, false, false, OC, DeleteGroupware, RuleId::Del3),
    (C, Contact, true, false, true, OC, Unlink, RuleId::Del3),
    (C, Contact, true, false, false, OG, Unlink, RuleId::Del3),
    (C, Contact, true, false, true, OG, Unlink, RuleId::Del3),
    // Appointments deleted in the groupware.
    (G, Appointment, true, true, true, OC, DeleteCrm, RuleId::Del6),
    (G, Appointment, true, true, true, OG, DeleteCrm, RuleId::Del6),
    (G, Appointment, true, false, false, OC, MarkRemovedByUser, RuleId::Del6),
    (G, Appointment, true, false, false, OG, MarkRemovedByUser, RuleId::Del6),
    (G, Appointment, false, true, true, OC, MarkRemovedByUser, RuleId::Del8),
    (G, Appointment, false, true, true, OG, MarkRemovedByUser, RuleId::Del8),
    (G, Appointment, false, false, false, OC, MarkRemovedByUser, RuleId::Del8),
    (G, Appointment, false, false, false, OG, MarkRemovedByUser, RuleId::Del8),
    // Appointments deleted in the CRM.
    (C, Appointment, true, true, true, OC, DeleteGroupware, RuleId::Del7),
    (C, Appointment, true, true, true, OG, DeleteGroupware, RuleId::Del7),
    (C, Appointment, true, false, false, OC, DeleteGroupware, RuleId::Del7),
    (C, Appointment, true, false, false, OG, DeleteGroupware, RuleId::Del7),
    (C, Appointment, false, true, true, OC, Unlink, RuleId::Del9),
    (C, Appointment, false, true, true, OG, Unlink, RuleId::Del9),
    (C, Appointment, false, false, false, OC, Unlink, RuleId::Del9),
    (C, Appointment, false, false, false, OG, Unlink, RuleId::Del9),
    // Tasks (and the other task-like kinds).
    (G, Task, true, true, true, OC, DeleteCrm, RuleId::Del10),
    (G, Task, false, true, true, OC, DeleteCrm, RuleId::Del10),
    (G, PhoneCall, true, true, true, OG, DeleteCrm, RuleId::Del10),
    (C, Task, true, true, true, OC, DeleteGroupware, RuleId::Del11),
    (C, Task, true, true, true, OG, DeleteGroupware, RuleId::Del11),
    (C, PhoneCall, true, true, true, OC, DeleteGroupware, RuleId::Del11),
    (C, Task, false, true, true, OC, Unlink, RuleId::Del11),
    (C, Task, false, true, true, OG, Unlink, RuleId::Del11),
    // E-mail: never.
    (G, Email, true, true, true, OG, MarkRemovedByUser, RuleId::Del12),
    (G, Email, false, false, false, OC, MarkRemovedByUser, RuleId::Del12),
    (C, Email, true, true, true, OG, Unlink, RuleId::Del12),
    (C, Email, false, false, false, OC, Unlink, RuleId::Del12),
];

fn facts(kind: Kind, planned: bool, organizer: bool, owner: bool) -> (EntityClass, CrmFacts) {
    let (class, activity) = match kind {
        Contact => {
            return (
                EntityClass::Contacts,
                CrmFacts {
                    writable: owner,
                    ..contact_facts(owner)
                },
            );
        }
        Appointment => (EntityClass::Events, ActivityKind::Appointment),
        Task => (EntityClass::Tasks, ActivityKind::Task),
        PhoneCall => (EntityClass::Tasks, ActivityKind::PhoneCall),
        Email => (EntityClass::Mail, ActivityKind::Email),
    };
    let mut f = activity_facts(activity, planned, organizer);
    f.owner_is_user = owner;
    f.writable = owner || organizer;
    (class, f)
}

fn outcome(plan: &Plan) -> Option<(Expect, RuleId)> {
    let pick = |target, kind| {
        plan.actions
            .iter()
            .find(|a| a.target == target && a.kind == kind)
            .map(|a| a.rule)
    };
    if let Some(r) = pick(Target::Crm, ActionKind::Delete) {
        return Some((DeleteCrm, r));
    }
    if let Some(r) = pick(Target::Groupware, ActionKind::Delete) {
        return Some((DeleteGroupware, r));
    }
    if let Some(r) = pick(Target::Status, ActionKind::MarkRemovedByUser) {
        return Some((MarkRemovedByUser, r));
    }
    pick(Target::Status, ActionKind::Unlink).map(|r| (Unlink, r))
}

#[test]
fn r_del_matrix_every_row_as_specified() {
    let mut failures = Vec::new();
    for (i, &(deleted, kind, planned, organizer, owner, origin, expect, rule)) in MATRIX.iter().enumerate() {
        let (class, facts) = facts(kind, planned, organizer, owner);
        let mut p = pair(&i.to_string(), origin, fm(&[("subject", "S")]));
        p.last_facts = Some(facts.clone());
        let item = match deleted {
            G => paired(p, CrmSide::Unchanged, GroupwareSide::Deleted),
            C => paired(p, CrmSide::Deleted { facts }, GroupwareSide::Unchanged),
        };
        let plan = plan_one(&profile(), class, item);
        let got = outcome(&plan);
        if got != Some((expect, rule)) {
            failures.push(format!(
                "row {i} {:?}: expected {:?} {rule}, got {got:?}\n{plan}",
                MATRIX[i], expect
            ));
        }
        // Whatever the row, at most one side is deleted and never both.
        assert!(plan.writes().filter(|a| a.kind == ActionKind::Delete).count() <= 1);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn r_del_matrix_covers_every_deletion_rule() {
    for rule in [
        RuleId::Del1,
        RuleId::Del3,
        RuleId::Del6,
        RuleId::Del7,
        RuleId::Del8,
        RuleId::Del9,
        RuleId::Del10,
        RuleId::Del11,
        RuleId::Del12,
    ] {
        assert!(MATRIX.iter().any(|row| row.7 == rule), "no matrix row for {rule}");
    }
}

#[test]
fn r_del_matrix_deleted_on_both_sides_forgets_the_pair() {
    let p = pair("x", Origin::Crm, fm(&[("subject", "S")]));
    let plan = plan_one(
        &profile(),
        EntityClass::Tasks,
        paired(
            p,
            CrmSide::Deleted {
                facts: task_facts(true),
            },
            GroupwareSide::Deleted,
        ),
    );
    assert!(no_writes(&plan));
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.actions[0].kind, ActionKind::Forget);
}
