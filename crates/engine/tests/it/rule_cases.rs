//! One named case per rule the engine decides, arm by arm. The table at the
//! bottom is built from the same macro that makes each case a test, and
//! `every_rule_id_has_a_case` fails when a RuleId has none, so the table
//! cannot silently shrink.

use crate::common;
use chrono::Duration;

use common::*;
use crmsync_engine::{
    ActionKind, CollectionInput, ConflictPolicy, CrmSide, Direction, EngineError, EntityClass, GroupwareSide, Hidden,
    ItemRef, OnGroupwareDelete, OnLeavingScope, Origin, PairState, ReadOnlyPolicy, RuleId, Target, WriteReason,
    explain, plan, untrack, validate_profile,
};
use crmsync_model::ActivityKind;

macro_rules! rule_cases {
    ($($rule:ident : $name:ident => $body:block)*) => {
        $( #[test] fn $name() $body )*
        const CASES: &[(RuleId, &str)] = &[$((RuleId::$rule, stringify!($name)),)*];
    };
}

fn base_contact() -> crmsync_model::FieldMap {
    fm(&[
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email1", "ada@example.org"),
        ("phone_mobile", "+44 1"),
    ])
}

fn with(mut map: crmsync_model::FieldMap, key: &str, value: &str) -> crmsync_model::FieldMap {
    map.set(key, value);
    map
}

/// Both sides changed `email1`; returns the plan under `policy`.
fn conflict_plan(policy: ConflictPolicy, crm_age_h: i64, gw_age_h: Option<i64>) -> crmsync_engine::Plan {
    let mut prof = profile();
    prof.contacts.conflict = policy;
    let p = pair("a", Origin::Crm, base_contact());
    let mut crm = crm_present(
        &p,
        with(base_contact(), "email1", "crm@example.org"),
        contact_facts(true),
    );
    if let CrmSide::Present(rec) = &mut crm {
        rec.modified_at = now() - Duration::hours(crm_age_h);
    }
    let mut gw = gw_present(&p, with(base_contact(), "email1", "gw@example.org"));
    if let GroupwareSide::Present(item) = &mut gw {
        item.last_modified = gw_age_h.map(|h| now() - Duration::hours(h));
    }
    plan_one(&prof, EntityClass::Contacts, paired(p, crm, gw))
}

fn unpaired(class: EntityClass) -> CollectionInput {
    CollectionInput::new(class, class.as_str())
}

rule_cases! {
    Edit1: r_edit_1_crm_edit_reaches_groupware => {
        let p = pair("a", Origin::Crm, base_contact());
        let crm = crm_present(&p, with(base_contact(), "email1", "new@example.org"), contact_facts(true));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        let update = find(&plan, Target::Groupware, ActionKind::Update).expect("groupware update");
        assert_eq!(update.rule, RuleId::Edit1);
        assert_eq!(update.fields.as_ref().unwrap().get("email1"), Some("new@example.org"));
        assert_eq!(update.writes[0].old.as_deref(), Some("ada@example.org"));
        assert!(!has(&plan, Target::Crm, ActionKind::Update));
        assert_eq!(find(&plan, Target::Status, ActionKind::SaveBase).unwrap().fields.as_ref().unwrap().get("email1"), Some("new@example.org"));
    }
    Edit1: r_edit_1_groupware_edit_reaches_crm => {
        let p = pair("a", Origin::Crm, base_contact());
        let gw = gw_present(&p, with(base_contact(), "phone_mobile", "+44 2"));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, CrmSide::Unchanged, gw));
        let update = find(&plan, Target::Crm, ActionKind::Update).expect("crm update");
        assert_eq!(update.precondition, crmsync_engine::Precondition::CrmVersion(1));
        assert_eq!(update.fields.as_ref().unwrap().get("phone_mobile"), Some("+44 2"));
    }
    Edit2: r_edit_2_disjoint_edits_both_kept => {
        let p = pair("a", Origin::Crm, base_contact());
        let crm = crm_present(&p, with(base_contact(), "phone_mobile", "+44 9"), contact_facts(true));
        let gw = gw_present(&p, with(base_contact(), "email1", "ada@new.org"));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, gw));
        let to_crm = find(&plan, Target::Crm, ActionKind::Update).unwrap();
        let to_gw = find(&plan, Target::Groupware, ActionKind::Update).unwrap();
        assert_eq!((to_crm.rule, to_gw.rule), (RuleId::Edit2, RuleId::Edit2));
        for fields in [to_crm.fields.as_ref().unwrap(), to_gw.fields.as_ref().unwrap()] {
            assert_eq!(fields.get("phone_mobile"), Some("+44 9"));
            assert_eq!(fields.get("email1"), Some("ada@new.org"));
        }
    }
    Edit3: r_edit_3_crm_wins_by_default_and_keeps_overwritten_value => {
        let plan = conflict_plan(ConflictPolicy::default(), 1, Some(0));
        let to_gw = find(&plan, Target::Groupware, ActionKind::Update).unwrap();
        assert_eq!(to_gw.rule, RuleId::Edit3);
        let w = &to_gw.writes[0];
        assert_eq!((w.old.as_deref(), w.new.as_deref(), w.reason), (Some("gw@example.org"), Some("crm@example.org"), WriteReason::ConflictLost));
        assert!(!has(&plan, Target::Crm, ActionKind::Update));
    }
    Edit3: r_edit_3_groupware_wins => {
        let plan = conflict_plan(ConflictPolicy::GroupwareWins, 0, Some(5));
        let to_crm = find(&plan, Target::Crm, ActionKind::Update).unwrap();
        assert_eq!(to_crm.fields.as_ref().unwrap().get("email1"), Some("gw@example.org"));
        assert_eq!(to_crm.writes[0].old.as_deref(), Some("crm@example.org"));
        assert!(!has(&plan, Target::Groupware, ActionKind::Update));
    }
    Edit3: r_edit_3_newest_wins_takes_newer_groupware => {
        let plan = conflict_plan(ConflictPolicy::NewestWins, 3, Some(1));
        assert_eq!(find(&plan, Target::Crm, ActionKind::Update).unwrap().fields.as_ref().unwrap().get("email1"), Some("gw@example.org"));
        let plan = conflict_plan(ConflictPolicy::NewestWins, 1, Some(3));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Update).unwrap().fields.as_ref().unwrap().get("email1"), Some("crm@example.org"));
    }
    Edit3: r_edit_3_newest_wins_ignores_bumped_last_modified => {
        // The server bumped LAST-MODIFIED (item merely opened): its fields
        // equal the base, so the CRM's older edit still flows.
        let mut prof = profile();
        prof.contacts.conflict = ConflictPolicy::NewestWins;
        let p = pair("a", Origin::Crm, base_contact());
        let crm = crm_present(&p, with(base_contact(), "email1", "crm@example.org"), contact_facts(true));
        let mut gw = gw_present(&p, base_contact());
        if let GroupwareSide::Present(item) = &mut gw {
            item.last_modified = Some(now());
        }
        let plan = plan_one(&prof, EntityClass::Contacts, paired(p, crm, gw));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Update).unwrap().fields.as_ref().unwrap().get("email1"), Some("crm@example.org"));
        assert!(!has(&plan, Target::Crm, ActionKind::Update));
    }
    Edit3: r_edit_3_manual_overwrites_neither_side => {
        let plan = conflict_plan(ConflictPolicy::Manual, 1, Some(0));
        assert!(no_writes(&plan), "{plan}");
        let conflict = find(&plan, Target::Status, ActionKind::Conflict).unwrap();
        assert_eq!(conflict.conflicts[0].crm.as_deref(), Some("crm@example.org"));
        assert_eq!(conflict.conflicts[0].groupware.as_deref(), Some("gw@example.org"));
        assert_eq!(conflict.rule, RuleId::Edit3);
    }
    Dir1: r_dir_1_one_way_leading_side_wins_conflicts => {
        let mut prof = profile();
        prof.contacts.direction = Direction::CrmToGroupware;
        prof.contacts.conflict = ConflictPolicy::GroupwareWins;
        let p = pair("a", Origin::Crm, base_contact());
        let crm = crm_present(&p, with(base_contact(), "email1", "crm@example.org"), contact_facts(true));
        let gw = gw_present(&p, with(base_contact(), "email1", "gw@example.org"));
        let plan = plan_one(&prof, EntityClass::Contacts, paired(p, crm, gw));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Update).unwrap().rule, RuleId::Dir1);
        assert!(!has(&plan, Target::Crm, ActionKind::Update));
    }
    Dir2: r_dir_2_read_only_change_is_reverted => {
        let mut prof = profile();
        prof.contacts.direction = Direction::CrmToGroupware;
        let p = pair("a", Origin::Crm, base_contact());
        let gw = gw_present(&p, with(base_contact(), "email1", "gw@example.org"));
        let plan = plan_one(&prof, EntityClass::Contacts, paired(p, CrmSide::Unchanged, gw));
        let revert = find(&plan, Target::Groupware, ActionKind::Revert).unwrap();
        assert_eq!(revert.rule, RuleId::Dir2);
        assert_eq!(revert.fields.as_ref().unwrap().get("email1"), Some("ada@example.org"));
        assert_eq!(revert.writes[0].reason, WriteReason::Reverted);
        assert!(!has(&plan, Target::Crm, ActionKind::Update));
    }
    Dir2: r_dir_2_read_only_change_is_ignored => {
        let mut prof = profile();
        prof.contacts.direction = Direction::GroupwareToCrm;
        prof.contacts.read_only = ReadOnlyPolicy::Ignore;
        let p = pair("a", Origin::Crm, base_contact());
        let crm = crm_present(&p, with(base_contact(), "email1", "crm@example.org"), contact_facts(true));
        let plan = plan_one(&prof, EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        assert!(no_writes(&plan), "{plan}");
        assert!(plan.warnings.iter().any(|w| w.rule == RuleId::Dir2));
    }
    Del1: r_del_1_contact_deleted_in_groupware_stays_in_crm => {
        let p = pair("a", Origin::Crm, base_contact());
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        assert!(no_writes(&plan));
        assert_eq!(find(&plan, Target::Status, ActionKind::MarkRemovedByUser).unwrap().rule, RuleId::Del1);
    }
    Del2: r_del_2_removed_by_user_is_not_recreated => {
        let mut p = pair("a", Origin::Crm, base_contact());
        p.state = PairState::RemovedByUser;
        let crm = crm_present(&p, with(base_contact(), "email1", "x@example.org"), contact_facts(true));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        assert!(no_writes(&plan));
        assert_eq!(find(&plan, Target::Status, ActionKind::Skip).unwrap().rule, RuleId::Del2);
    }
    Del2: r_del_2_comes_back_with_reset_without_touching_crm => {
        // After a reset the pair is gone: the CRM record is unpaired and the
        // groupware no longer has it, so only the groupware gets a create.
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("a", base_contact(), contact_facts(true)));
        let plan = plan(&profile(), now(), &input);
        assert!(has(&plan, Target::Groupware, ActionKind::Create));
        assert!(!plan.actions.iter().any(|a| a.target == Target::Crm), "{plan}");
    }
    Del3: r_del_3_crm_delete_removes_unowned_crm_origin_contact => {
        let p = pair("a", Origin::Crm, base_contact());
        let crm = CrmSide::Deleted { facts: contact_facts(false) };
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        let delete = find(&plan, Target::Groupware, ActionKind::Delete).unwrap();
        assert_eq!(delete.rule, RuleId::Del3);
        assert_eq!(delete.precondition, crmsync_engine::Precondition::Etag("e-a-1".into()));
    }
    Del3: r_del_3_owned_or_groupware_origin_contact_stays_unlinked => {
        for (owner, origin) in [(true, Origin::Crm), (false, Origin::Groupware)] {
            let p = pair("a", origin, base_contact());
            let crm = CrmSide::Deleted { facts: contact_facts(owner) };
            let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
            assert!(no_writes(&plan));
            assert_eq!(find(&plan, Target::Status, ActionKind::Unlink).unwrap().rule, RuleId::Del3);
        }
    }
    Del4: r_del_4_deactivated_contact_stays_in_groupware => {
        let p = pair("a", Origin::Crm, base_contact());
        let mut facts = contact_facts(true);
        facts.active = false;
        let item = paired(p, crm_present(&pair("a", Origin::Crm, base_contact()), base_contact(), facts), GroupwareSide::Unchanged);
        let plan = plan_one(&profile(), EntityClass::Contacts, item.clone());
        assert!(!has(&plan, Target::Groupware, ActionKind::Delete));
        assert!(!has(&plan, Target::Status, ActionKind::Unlink));
        // The policy is configurable: removing inactive contacts is a choice.
        let mut prof = profile();
        prof.deletes.contacts.deactivated = OnLeavingScope::RemoveFromGroupware;
        let plan = plan_one(&prof, EntityClass::Contacts, item);
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Delete).unwrap().rule, RuleId::Del4);
    }
    Del5: r_del_5_crm_origin_leaving_filter_is_removed => {
        let p = pair("a", Origin::Crm, base_contact());
        let mut facts = contact_facts(false);
        facts.sync_flagged = false;
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p.clone(), crm_present(&p, base_contact(), facts), GroupwareSide::Unchanged));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Delete).unwrap().rule, RuleId::Del5);
    }
    Del5: r_del_5_groupware_origin_leaving_filter_keeps_syncing => {
        let p = pair("a", Origin::Groupware, base_contact());
        let crm = CrmSide::NotVisible { reason: Hidden::FilteredOut };
        let gw = gw_present(&p, with(base_contact(), "email1", "gw@example.org"));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, gw));
        assert!(!has(&plan, Target::Groupware, ActionKind::Delete));
        assert_eq!(find(&plan, Target::Crm, ActionKind::Update).unwrap().fields.as_ref().unwrap().get("email1"), Some("gw@example.org"));
    }
    Del6: r_del_6_attendee_delete_keeps_crm => {
        let mut p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        p.last_facts = Some(event_facts(true, false));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        assert!(!has(&plan, Target::Crm, ActionKind::Delete));
        assert_eq!(find(&plan, Target::Status, ActionKind::MarkRemovedByUser).unwrap().rule, RuleId::Del6);
    }
    Del6: r_del_6_organizer_delete_deletes_crm => {
        let mut p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        p.last_facts = Some(event_facts(true, true));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        let delete = find(&plan, Target::Crm, ActionKind::Delete).unwrap();
        assert_eq!((delete.rule, delete.precondition.clone()), (RuleId::Del6, crmsync_engine::Precondition::CrmVersion(1)));
    }
    Del7: r_del_7_planned_crm_delete_removes_event => {
        let p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, CrmSide::Deleted { facts: event_facts(true, false) }, GroupwareSide::Unchanged));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Delete).unwrap().rule, RuleId::Del7);
    }
    Del8: r_del_8_completed_groupware_delete_keeps_crm => {
        let mut p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        p.last_facts = Some(event_facts(false, true));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        assert!(no_writes(&plan));
        assert_eq!(find(&plan, Target::Status, ActionKind::MarkRemovedByUser).unwrap().rule, RuleId::Del8);
    }
    Del9: r_del_9_completed_crm_delete_stays_in_calendar => {
        let p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, CrmSide::Deleted { facts: event_facts(false, true) }, GroupwareSide::Unchanged));
        assert!(no_writes(&plan));
        assert_eq!(find(&plan, Target::Status, ActionKind::Unlink).unwrap().rule, RuleId::Del9);
    }
    Del10: r_del_10_task_deleted_in_groupware_deleted_in_crm => {
        let mut p = pair("a", Origin::Crm, fm(&[("subject", "Call back")]));
        p.last_facts = Some(task_facts(true));
        let plan = plan_one(&profile(), EntityClass::Tasks, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        assert_eq!(find(&plan, Target::Crm, ActionKind::Delete).unwrap().rule, RuleId::Del10);
    }
    Del11: r_del_11_open_task_removed_completed_stays => {
        let p = pair("a", Origin::Crm, fm(&[("subject", "Call back")]));
        let open = plan_one(&profile(), EntityClass::Tasks, paired(p.clone(), CrmSide::Deleted { facts: task_facts(true) }, GroupwareSide::Unchanged));
        assert_eq!(find(&open, Target::Groupware, ActionKind::Delete).unwrap().rule, RuleId::Del11);
        let done = plan_one(&profile(), EntityClass::Tasks, paired(p, CrmSide::Deleted { facts: task_facts(false) }, GroupwareSide::Unchanged));
        assert!(no_writes(&done));
        assert_eq!(find(&done, Target::Status, ActionKind::Unlink).unwrap().rule, RuleId::Del11);
    }
    Del12: r_del_12_mail_deletes_never_propagate => {
        let mut p = pair("a", Origin::Groupware, fm(&[("subject", "Offer")]));
        p.last_facts = Some(activity_facts(ActivityKind::Email, true, true));
        let gw_gone = plan_one(&profile(), EntityClass::Mail, paired(p.clone(), CrmSide::Unchanged, GroupwareSide::Deleted));
        let crm_gone = plan_one(&profile(), EntityClass::Mail, paired(p, CrmSide::Deleted { facts: activity_facts(ActivityKind::Email, true, true) }, GroupwareSide::Unchanged));
        for plan in [&gw_gone, &crm_gone] {
            assert!(no_writes(plan), "{plan}");
            assert!(plan.actions.iter().all(|a| a.rule == RuleId::Del12));
        }
    }
    Del13: r_del_13_only_owner_may_delete_when_untracking => {
        let p = pair("a", Origin::Groupware, base_contact());
        let owner = untrack(&p, &contact_facts(true), 3, true).unwrap();
        assert_eq!((owner[0].target, owner[0].kind, owner[0].rule), (Target::Crm, ActionKind::Delete, RuleId::Del13));
        assert_eq!(owner[0].precondition, crmsync_engine::Precondition::CrmVersion(3));
        let refused = untrack(&p, &contact_facts(false), 3, true).unwrap_err();
        assert!(matches!(refused, EngineError::NotOwner { .. }) && !refused.is_transient());
        let keep = untrack(&p, &contact_facts(false), 3, false).unwrap();
        assert_eq!(keep.iter().map(|a| a.kind).collect::<Vec<_>>(), vec![ActionKind::Forget]);
    }
    Filter1: r_filter_1_default_takes_owned_or_flagged_contacts => {
        let mut input = unpaired(EntityClass::Contacts);
        let mut stranger = contact_facts(false);
        stranger.sync_flagged = false;
        input.unpaired_crm.push(crm_record("own", fm(&[("last_name", "Own")]), contact_facts(true)));
        input.unpaired_crm.push(crm_record("flag", fm(&[("last_name", "Flag")]), contact_facts(false)));
        input.unpaired_crm.push(crm_record("other", fm(&[("last_name", "Other")]), stranger));
        let plan = plan(&profile(), now(), &input);
        let created: Vec<_> = plan.actions.iter().filter(|a| a.kind == ActionKind::Create).filter_map(|a| a.subject.crm_id.as_deref()).collect();
        assert_eq!(created, vec!["c-own", "c-flag"]);
    }
    Filter1: r_filter_1_field_condition_and_activity_default => {
        let mut prof = profile();
        prof.contacts.filter.conditions.push(crmsync_engine::Condition::Equals { field: "company".into(), value: "acme".into() });
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("in", fm(&[("company", "ACME ")]), contact_facts(true)));
        input.unpaired_crm.push(crm_record("out", fm(&[("company", "Globex")]), contact_facts(true)));
        let by_company = plan(&prof, now(), &input);
        assert_eq!(by_company.actions.iter().filter(|a| a.kind == ActionKind::Create).count(), 1);
        assert!(find(&by_company, Target::Groupware, ActionKind::Create).unwrap().subject.crm_id.as_deref() == Some("c-in"));
        // Activities: owner or invited participant.
        let mut events = unpaired(EntityClass::Events);
        let mut uninvited = event_facts(true, false);
        uninvited.activity.as_mut().unwrap().user_is_invited = false;
        events.unpaired_crm.push(crm_record("inv", fm(&[("subject", "A")]), event_facts(true, false)));
        events.unpaired_crm.push(crm_record("no", fm(&[("subject", "B")]), uninvited));
        let by_invite = plan(&profile(), now(), &events);
        assert_eq!(by_invite.actions.iter().filter(|a| a.kind == ActionKind::Create).count(), 1);
    }
    Filter2: r_filter_2_explain_names_filter_and_origin => {
        let mut stranger = contact_facts(false);
        stranger.sync_flagged = false;
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("x", base_contact(), stranger.clone()));
        let p = pair("g", Origin::Groupware, base_contact());
        input.pairs.push(paired(p.clone(), crm_present(&p, base_contact(), stranger), GroupwareSide::Unchanged));
        let not_taken = explain(&profile(), now(), &input, &ItemRef::Crm("c-x".into()));
        assert!(!not_taken.syncs);
        assert_eq!(not_taken.decided_by, RuleId::Filter1);
        let by_origin = explain(&profile(), now(), &input, &ItemRef::Crm("c-g".into()));
        assert!(by_origin.syncs, "{by_origin}");
        assert_eq!(by_origin.decided_by, RuleId::Del5);
    }
    Perm1: r_perm_1_unreadable_records_never_reach_groupware => {
        let mut hidden = contact_facts(true);
        hidden.readable = false;
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("h", base_contact(), hidden));
        assert!(plan(&profile(), now(), &input).actions.is_empty());
        let p = pair("a", Origin::Crm, base_contact());
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, CrmSide::NotVisible { reason: Hidden::Unreadable }, GroupwareSide::Unchanged));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Delete).unwrap().rule, RuleId::Perm1);
    }
    Perm1: r_perm_1_two_way_refused_without_rights => {
        let mut prof = profile();
        assert_eq!(validate_profile(&prof), Ok(()));
        prof.tasks.rights.update = false;
        let err = validate_profile(&prof).unwrap_err();
        assert!(matches!(err, EngineError::DirectionNeedsRights { class: EntityClass::Tasks, missing: "update", .. }));
        prof.tasks.direction = Direction::CrmToGroupware;
        assert_eq!(validate_profile(&prof), Ok(()));
    }
    Cal1: r_cal_1_events_before_window_are_not_pulled_nor_deleted => {
        let old = fm(&[("subject", "Old"), ("start", "2026-04-01T09:00:00Z"), ("end", "2026-04-01T10:00:00Z")]);
        let mut input = unpaired(EntityClass::Events);
        input.unpaired_groupware.push(gw_item("old", old.clone()));
        assert!(plan(&profile(), now(), &input).actions.is_empty());
        // Even with a policy that would delete completed events in the CRM,
        // an event that merely left the window is not deleted.
        let mut prof = profile();
        prof.deletes.events.completed_groupware_deleted = OnGroupwareDelete::DeleteInCrm;
        let mut facts = event_facts(false, true);
        facts.activity.as_mut().unwrap().last_moment = Some(now() - Duration::days(40));
        let mut p = pair("a", Origin::Crm, old);
        p.last_facts = Some(facts.clone());
        let plan_old = plan_one(&prof, EntityClass::Events, paired(p.clone(), CrmSide::Unchanged, GroupwareSide::Deleted));
        assert!(no_writes(&plan_old));
        assert_eq!(find(&plan_old, Target::Status, ActionKind::Skip).unwrap().rule, RuleId::Cal1);
        facts.activity.as_mut().unwrap().last_moment = Some(now() - Duration::days(3));
        p.last_facts = Some(facts);
        let plan_recent = plan_one(&prof, EntityClass::Events, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        assert!(has(&plan_recent, Target::Crm, ActionKind::Delete));
    }
    Cal2: r_cal_2_groupware_event_becomes_crm_appointment => {
        let mut input = unpaired(EntityClass::Events);
        input.unpaired_groupware.push(gw_item("n", fm(&[("subject", "New"), ("ical_uid", "uid-n"), ("journal", "x")])));
        let plan = plan(&profile(), now(), &input);
        let create = find(&plan, Target::Crm, ActionKind::Create).unwrap();
        assert_eq!((create.rule, create.origin, create.precondition.clone()), (RuleId::Cal2, Some(Origin::Groupware), crmsync_engine::Precondition::MustNotExist));
        assert_eq!(create.fields.as_ref().unwrap().get("ical_uid"), Some("uid-n"));
        assert_eq!(create.fields.as_ref().unwrap().get("journal"), None);
    }
    Cal5: r_cal_5_repairing_equal_event_writes_nothing => {
        let fields = fm(&[("subject", "Weekly"), ("ical_uid", "u-1"), ("start", "2026-06-03T09:00:00Z")]);
        let mut input = unpaired(EntityClass::Events);
        input.unpaired_crm.push(crm_record("w", fields.clone(), event_facts(true, true)));
        input.unpaired_groupware.push(gw_item("w", fields));
        let plan = plan(&profile(), now(), &input);
        assert!(no_writes(&plan), "{plan}");
        assert!(find(&plan, Target::Status, ActionKind::Pair).unwrap().reason.contains("R-CAL-5"));
    }
    Pair1: r_pair_1_contacts_by_email_then_phone_and_name => {
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("e", fm(&[("last_name", "E"), ("email1", "Ada@Example.org")]), contact_facts(true)));
        input.unpaired_crm.push(crm_record("p", fm(&[("first_name", "Bob"), ("last_name", "Byrne"), ("phone_mobile", "+49 171 555")]), contact_facts(true)));
        input.unpaired_groupware.push(gw_item("e", fm(&[("last_name", "E"), ("email2", " ada@example.org")])));
        input.unpaired_groupware.push(gw_item("p", fm(&[("first_name", "bob"), ("last_name", "byrne"), ("phone_business", "+49-171-555")])));
        let plan = plan(&profile(), now(), &input);
        let pairs: Vec<_> = plan.actions.iter().filter(|a| a.kind == ActionKind::Pair).map(|a| (a.subject.crm_id.clone().unwrap(), a.subject.href.clone().unwrap())).collect();
        assert_eq!(pairs, vec![("c-e".into(), "col/e.item".into()), ("c-p".into(), "col/p.item".into())]);
        assert!(!plan.actions.iter().any(|a| a.kind == ActionKind::Create));
    }
    Pair1: r_pair_1_events_by_uid_then_start_and_subject => {
        let mut input = unpaired(EntityClass::Events);
        input.unpaired_crm.push(crm_record("u", fm(&[("subject", "A"), ("ical_uid", "x-1")]), event_facts(true, true)));
        input.unpaired_crm.push(crm_record("s", fm(&[("subject", "Board  Meeting"), ("start", "2026-06-02T09:00:00Z")]), event_facts(true, true)));
        input.unpaired_groupware.push(gw_item("u", fm(&[("subject", "A renamed"), ("ical_uid", "x-1")])));
        input.unpaired_groupware.push(gw_item("s", fm(&[("subject", "board meeting"), ("start", "2026-06-02T09:00:00Z"), ("ical_uid", "other")])));
        let plan = plan(&profile(), now(), &input);
        assert_eq!(plan.actions.iter().filter(|a| a.kind == ActionKind::Pair).count(), 2, "{plan}");
        assert!(!plan.actions.iter().any(|a| a.kind == ActionKind::Create));
    }
    Pair2: r_pair_2_ambiguous_match_is_reported_not_merged_or_created => {
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("1", fm(&[("last_name", "A"), ("email1", "x@example.org")]), contact_facts(true)));
        input.unpaired_crm.push(crm_record("2", fm(&[("last_name", "B"), ("email1", "x@example.org")]), contact_facts(true)));
        input.unpaired_groupware.push(gw_item("g", fm(&[("last_name", "C"), ("email1", "x@example.org")])));
        let plan = plan(&profile(), now(), &input);
        assert!(plan.actions.is_empty(), "{plan}");
        assert_eq!(plan.duplicates.len(), 1);
        assert_eq!(plan.duplicates[0].crm_ids, vec!["c-1", "c-2"]);
        assert_eq!(plan.duplicates[0].hrefs, vec!["col/g.item"]);
    }
    Safe3: r_safe_3_mass_delete_is_held_until_confirmed => {
        let mut input = unpaired(EntityClass::Tasks);
        for i in 0..6 {
            let p = pair(&i.to_string(), Origin::Crm, fm(&[("subject", "T")]));
            input.pairs.push(paired(p, CrmSide::Deleted { facts: task_facts(true) }, GroupwareSide::Unchanged));
        }
        input.groupware_total = Some(10);
        let held = plan(&profile(), now(), &input);
        let guard = held.guard.as_ref().unwrap();
        assert_eq!((guard.deletes, guard.total, guard.side), (6, 10, crmsync_engine::Side::Groupware));
        assert!(held.is_refused());
        let mut confirmed = profile();
        confirmed.mass_delete_confirmed = true;
        assert!(!plan(&confirmed, now(), &input).is_refused());
        // 6 of 20 is under half: no hold. 4 of 5 is under the 5-record floor.
        input.groupware_total = Some(20);
        assert!(plan(&profile(), now(), &input).guard.is_none());
        input.pairs.truncate(4);
        input.groupware_total = Some(5);
        assert!(plan(&profile(), now(), &input).guard.is_none());
    }
    Safe4: r_safe_4_quarantined_pair_is_skipped => {
        let mut p = pair("q", Origin::Crm, base_contact());
        p.state = PairState::Quarantined;
        let crm = crm_present(&p, with(base_contact(), "email1", "n@example.org"), contact_facts(true));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        assert!(no_writes(&plan));
        assert_eq!(find(&plan, Target::Status, ActionKind::Skip).unwrap().rule, RuleId::Safe4);
    }
    Field5: r_field_5_groupware_journal_edit_never_flows_back => {
        let base = with(base_contact(), "journal", "2026-05-01 called");
        let p = pair("a", Origin::Crm, base.clone());
        let gw = gw_present(&p, with(base.clone(), "journal", "edited by user"));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p.clone(), CrmSide::Unchanged, gw));
        assert!(no_writes(&plan), "{plan}");
        assert!(plan.warnings.iter().any(|w| w.rule == RuleId::Field5));
        // The CRM's journal still flows out.
        let crm = crm_present(&p, with(base, "journal", "2026-05-02 met\n2026-05-01 called"), contact_facts(true));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Update).unwrap().keys(), vec!["journal"]);
    }
    Field6: r_field_6_truncated_outbound_never_overwrites_crm => {
        let mut prof = profile();
        prof.contacts.field_limits.insert("notes".into(), 10);
        let long = "0123456789 and much more";
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("n", with(base_contact(), "notes", long), contact_facts(true)));
        let created = plan(&prof, now(), &input);
        assert_eq!(find(&created, Target::Groupware, ActionKind::Create).unwrap().fields.as_ref().unwrap().get("notes"), Some("0123456789"));
        assert_eq!(find(&created, Target::Status, ActionKind::Pair).unwrap().fields.as_ref().unwrap().get("notes"), Some(long));
        assert!(created.warnings.iter().any(|w| w.rule == RuleId::Field6));
        // The cut value coming back is not an edit.
        let p = pair("n", Origin::Crm, with(base_contact(), "notes", long));
        let gw = gw_present(&p, with(base_contact(), "notes", "0123456789"));
        let back = plan_one(&prof, EntityClass::Contacts, paired(p.clone(), CrmSide::Unchanged, gw));
        assert!(no_writes(&back), "{back}");
        // A real edit of it does flow.
        let gw = gw_present(&p, with(base_contact(), "notes", "rewritten"));
        let edited = plan_one(&prof, EntityClass::Contacts, paired(p, CrmSide::Unchanged, gw));
        assert_eq!(find(&edited, Target::Crm, ActionKind::Update).unwrap().fields.as_ref().unwrap().get("notes"), Some("rewritten"));
    }
    Field6: r_field_6_connector_limits_are_inherited_and_an_update_is_cut_not_lost => {
        // The rules allow 50 characters of notes, the connector's server 10
        // (and 5 of company): the lower of each counts.
        let mut prof = profile();
        prof.contacts.field_limits.insert("notes".into(), 50);
        prof.inherit_field_limits(EntityClass::Contacts, &[("notes".to_string(), 10), ("company".to_string(), 5)].into());
        assert_eq!(prof.contacts.field_limits.get("notes"), Some(&10));
        assert_eq!(prof.contacts.field_limits.get("company"), Some(&5));
        // A CRM edit over the limit reaches the groupware cut, with a warning;
        // the pair's base keeps the whole value, so nothing is lost.
        let p = pair("c", Origin::Crm, base_contact());
        let crm = crm_present(&p, with(base_contact(), "company", "Analytical Engines"), contact_facts(true));
        let plan = plan_one(&prof, EntityClass::Contacts, paired(p, crm, GroupwareSide::Unchanged));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Update).unwrap().fields.as_ref().unwrap().get("company"), Some("Analy"));
        assert_eq!(find(&plan, Target::Status, ActionKind::SaveBase).unwrap().fields.as_ref().unwrap().get("company"), Some("Analytical Engines"));
        assert!(!has(&plan, Target::Crm, ActionKind::Update), "{plan}");
        let warning = plan.warnings.iter().find(|w| w.rule == RuleId::Field6).expect("a warning");
        assert!(warning.message.contains("company"), "{}", warning.message);
    }
    Explain1: r_explain_1_uses_the_planner_decisions => {
        let mut p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        p.last_facts = Some(event_facts(true, true));
        let input = collection(EntityClass::Events, vec![paired(p, CrmSide::Unchanged, GroupwareSide::Deleted)]);
        let why = explain(&profile(), now(), &input, &ItemRef::Groupware("col/a.item".into()));
        assert!(!why.syncs);
        assert_eq!(why.decided_by, RuleId::Del6);
        assert_eq!(why.actions, plan(&profile(), now(), &input).actions);
        assert!(why.to_string().contains("delete crm c-a"), "{why}");
    }
    Reset1: r_reset_1_forgotten_pairs_are_repaired_not_duplicated => {
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("a", base_contact(), contact_facts(true)));
        input.unpaired_groupware.push(gw_item("a", base_contact()));
        let plan = plan(&profile(), now(), &input);
        assert!(no_writes(&plan), "{plan}");
        assert_eq!(plan.actions.len(), 1);
        assert_eq!(plan.actions[0].kind, ActionKind::Pair);
    }
    Eng1: r_eng_1_edit_beats_delete => {
        let p = pair("a", Origin::Crm, base_contact());
        let gw = gw_present(&p, with(base_contact(), "email1", "kept@example.org"));
        let plan = plan_one(&profile(), EntityClass::Contacts, paired(p, CrmSide::Deleted { facts: contact_facts(false) }, gw));
        assert!(!has(&plan, Target::Groupware, ActionKind::Delete));
        assert_eq!(find(&plan, Target::Status, ActionKind::Unlink).unwrap().rule, RuleId::Eng1);
        let mut t = pair("t", Origin::Crm, fm(&[("subject", "Call")]));
        t.last_facts = Some(task_facts(true));
        let crm = crm_present(&t, fm(&[("subject", "Call Ada")]), task_facts(true));
        let plan = plan_one(&profile(), EntityClass::Tasks, paired(t, crm, GroupwareSide::Deleted));
        assert!(!has(&plan, Target::Crm, ActionKind::Delete));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Create).unwrap().rule, RuleId::Eng1);
    }
    Eng2: r_eng_2_matched_pair_is_groupware_origin => {
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("a", base_contact(), contact_facts(false)));
        input.unpaired_groupware.push(gw_item("a", base_contact()));
        let plan = plan(&profile(), now(), &input);
        assert_eq!(find(&plan, Target::Status, ActionKind::Pair).unwrap().origin, Some(Origin::Groupware));
    }
    Eng3: r_eng_3_new_item_on_read_only_side_left_alone => {
        let mut prof = profile();
        prof.contacts.direction = Direction::CrmToGroupware;
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_groupware.push(gw_item("mine", base_contact()));
        let plan = plan(&prof, now(), &input);
        assert!(no_writes(&plan));
        assert_eq!(find(&plan, Target::Status, ActionKind::Skip).unwrap().rule, RuleId::Eng3);
    }
    Eng4: r_eng_4_cancelled_counts_completed_series_counts_planned => {
        let p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        let mut cancelled = event_facts(true, true);
        cancelled.activity.as_mut().unwrap().state = crmsync_model::ActivityState::Cancelled;
        let plan_c = plan_one(&profile(), EntityClass::Events, paired(p.clone(), CrmSide::Deleted { facts: cancelled }, GroupwareSide::Unchanged));
        assert_eq!(find(&plan_c, Target::Status, ActionKind::Unlink).unwrap().rule, RuleId::Del9);
        let mut series = event_facts(false, true);
        series.activity.as_mut().unwrap().state = crmsync_model::ActivityState::Open;
        series.activity.as_mut().unwrap().last_moment = None;
        let plan_s = plan_one(&profile(), EntityClass::Events, paired(p.clone(), CrmSide::Deleted { facts: series }, GroupwareSide::Unchanged));
        assert_eq!(find(&plan_s, Target::Groupware, ActionKind::Delete).unwrap().rule, RuleId::Del7);
        // Unknown facts keep the CRM record.
        let plan_u = plan_one(&profile(), EntityClass::Tasks, paired(p, CrmSide::Unchanged, GroupwareSide::Deleted));
        assert_eq!(find(&plan_u, Target::Status, ActionKind::MarkRemovedByUser).unwrap().rule, RuleId::Eng4);
    }
    Eng5: r_eng_5_read_only_record_flows_from_crm_only => {
        let p = pair("a", Origin::Crm, fm(&[("subject", "Review")]));
        let attendee = event_facts(true, false);
        let crm = crm_present(&p, fm(&[("subject", "Review")]), attendee);
        let gw = gw_present(&p, fm(&[("subject", "My title")]));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, crm, gw));
        assert!(!has(&plan, Target::Crm, ActionKind::Update));
        assert_eq!(find(&plan, Target::Groupware, ActionKind::Revert).unwrap().rule, RuleId::Eng5);
    }
    Cal7: r_cal_7_the_attendees_own_answer_flows_from_their_read_only_copy => {
        let p = pair("a", Origin::Crm, fm(&[("subject", "Review"), ("own_response", "needs_action")]));
        let attendee = event_facts(true, false);
        let crm = crm_present(&p, fm(&[("subject", "Review"), ("own_response", "needs_action")]), attendee);
        let gw = gw_present(&p, fm(&[("subject", "Review"), ("own_response", "accepted")]));
        let plan = plan_one(&profile(), EntityClass::Events, paired(p, crm, gw));
        let to_crm = find(&plan, Target::Crm, ActionKind::Update).unwrap();
        assert_eq!(to_crm.rule, RuleId::Cal7);
        assert_eq!(to_crm.fields.as_ref().unwrap().get("own_response"), Some("accepted"));
        assert!(!has(&plan, Target::Groupware, ActionKind::Revert), "never reverted");
    }
    Eng6: r_eng_6_newest_wins_tie_falls_back_to_crm => {
        let plan = conflict_plan(ConflictPolicy::NewestWins, 1, None);
        let to_gw = find(&plan, Target::Groupware, ActionKind::Update).unwrap();
        assert_eq!(to_gw.rule, RuleId::Eng6);
        assert_eq!(to_gw.fields.as_ref().unwrap().get("email1"), Some("crm@example.org"));
    }
    Eng7: r_eng_7_matched_items_merge_against_agreed_base => {
        let mut input = unpaired(EntityClass::Contacts);
        input.unpaired_crm.push(crm_record("a", with(base_contact(), "company", "Analytical Engines"), contact_facts(true)));
        input.unpaired_groupware.push(gw_item("a", with(with(base_contact(), "job_title", "Countess"), "phone_mobile", "+44 7")));
        let plan = plan(&profile(), now(), &input);
        let to_crm = find(&plan, Target::Crm, ActionKind::Update).unwrap();
        let to_gw = find(&plan, Target::Groupware, ActionKind::Update).unwrap();
        assert_eq!(to_crm.fields.as_ref().unwrap().get("job_title"), Some("Countess"));
        assert_eq!(to_gw.fields.as_ref().unwrap().get("company"), Some("Analytical Engines"));
        // The differing phone is a conflict: crm-wins by default.
        assert_eq!(to_gw.fields.as_ref().unwrap().get("phone_mobile"), Some("+44 1"));
        assert!(to_gw.writes.iter().any(|w| w.key == "phone_mobile" && w.old.as_deref() == Some("+44 7")));
    }
}

#[test]
fn every_rule_id_has_a_case() {
    let missing: Vec<_> = RuleId::ALL
        .iter()
        .filter(|r| !CASES.iter().any(|(c, _)| c == *r))
        .collect();
    assert!(missing.is_empty(), "rules without a case: {missing:?}");
    for (rule, name) in CASES {
        let prefix = rule.as_str().to_lowercase().replace('-', "_");
        assert!(name.starts_with(&prefix), "case {name} is filed under {rule}");
    }
}
