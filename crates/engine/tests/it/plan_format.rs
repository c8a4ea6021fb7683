//! Plans read the same everywhere: one line per action for people, JSON for
//! the API and logs (R-SAFE-5 dry-run, R-EXPLAIN-1), and profiles load with
//! the SPEC's defaults.

use crate::common;
use common::*;
use crmsync_engine::{
    ConflictPolicy, CrmSide, Direction, EntityClass, GroupwareSide, OnCrmDelete, OnGroupwareDelete, Origin, Plan,
    Profile, ReadOnlyPolicy, RuleId, rule_catalog,
};

fn sample_plan() -> Plan {
    let p = pair("abc", Origin::Crm, fm(&[("email1", "a@x.org"), ("last_name", "A")]));
    let crm = crm_present(
        &p,
        fm(&[("email1", "b@x.org"), ("last_name", "A")]),
        contact_facts(true),
    );
    plan_one(
        &profile(),
        EntityClass::Contacts,
        paired(p, crm, GroupwareSide::Unchanged),
    )
}

#[test]
fn r_explain_1_action_display_names_target_fields_and_rule() {
    let plan = sample_plan();
    assert_eq!(
        plan.actions[0].to_string(),
        "update groupware col/abc.item: email1 (R-EDIT-1)"
    );
    let text = plan.to_string();
    assert!(text.starts_with("plan for contacts contacts: 2 action(s)"), "{text}");
    assert!(
        text.contains("save-base status c-abc <-> col/abc.item (R-EDIT-1)"),
        "{text}"
    );
}

#[test]
fn r_explain_1_plans_round_trip_through_json() {
    let mut input = crmsync_engine::CollectionInput::new(EntityClass::Tasks, "tasks");
    for i in 0..6 {
        let p = pair(&i.to_string(), Origin::Crm, fm(&[("subject", "T")]));
        input.pairs.push(paired(
            p,
            CrmSide::Deleted {
                facts: task_facts(true),
            },
            GroupwareSide::Unchanged,
        ));
    }
    let plan = crmsync_engine::plan(&profile(), now(), &input);
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["actions"][0]["rule"], "R-DEL-11");
    assert_eq!(json["actions"][0]["precondition"]["kind"], "etag");
    assert_eq!(json["guard"]["deletes"], 6);
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back, plan);
    let sample = sample_plan();
    assert_eq!(
        serde_json::from_str::<Plan>(&serde_json::to_string(&sample).unwrap()).unwrap(),
        sample
    );
}

#[test]
fn profile_defaults_are_the_specs() {
    let profile: Profile = serde_json::from_str(r#"{"user_id": "u-1"}"#).unwrap();
    assert_eq!(profile, Profile::new("u-1"));
    assert_eq!(profile.contacts.direction, Direction::TwoWay); // R-DIR-1
    assert_eq!(profile.contacts.read_only, ReadOnlyPolicy::Revert); // R-DIR-2
    assert_eq!(profile.contacts.conflict, ConflictPolicy::CrmWins); // R-EDIT-3
    assert_eq!(profile.calendar_past_days, 30); // R-CAL-1
    assert_eq!(
        (profile.mass_delete.max_share, profile.mass_delete.min_records),
        (0.5, 5)
    ); // R-SAFE-3
    assert_eq!(profile.deletes.contacts.groupware_deleted, OnGroupwareDelete::KeepInCrm); // R-DEL-1
    assert_eq!(
        profile.deletes.events.planned_groupware_deleted,
        OnGroupwareDelete::DeleteInCrmIfOrganizer
    ); // R-DEL-6
    assert_eq!(
        profile.deletes.tasks.completed_crm_deleted,
        OnCrmDelete::KeepInGroupware
    ); // R-DEL-11
    let custom: Profile = serde_json::from_str(
        r#"{"user_id": "u-1", "events": {"direction": "crm-to-groupware", "conflict": "newest-wins"},
            "deletes": {"contacts": {"crm_deleted": "remove-from-groupware"}}}"#,
    )
    .unwrap();
    assert_eq!(custom.events.direction, Direction::CrmToGroupware);
    assert_eq!(custom.events.conflict, ConflictPolicy::NewestWins);
    assert_eq!(custom.deletes.contacts.crm_deleted, OnCrmDelete::RemoveFromGroupware);
    assert_eq!(custom.deletes.contacts.groupware_deleted, OnGroupwareDelete::KeepInCrm);
}

#[test]
fn rule_catalog_lists_every_rule_once_with_a_description() {
    let catalog = rule_catalog();
    assert_eq!(catalog.len(), RuleId::ALL.len());
    assert!(catalog.iter().all(|(_, d)| d.len() > 20));
    assert_eq!(
        catalog.iter().find(|(r, _)| *r == RuleId::Del6).unwrap().0.to_string(),
        "R-DEL-6"
    );
    assert_eq!(serde_json::to_string(&RuleId::Safe3).unwrap(), "\"R-SAFE-3\"");
    assert!(serde_json::from_str::<RuleId>("\"R-NOPE-1\"").is_err());
}
