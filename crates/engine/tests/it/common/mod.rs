//! Builders shared by the engine's tests: fixed clock, facts, pairs, sides.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};

use crmsync_engine::{
    Action, ActionKind, ActivityFacts, CollectionInput, CrmFacts, CrmRecord, CrmSide, EntityClass, GroupwareItem,
    GroupwareSide, Origin, PairState, PairStatus, PairedItem, Plan, Profile, Target,
};
use crmsync_model::{ActivityKind, ActivityState, FieldMap};

pub const USER: &str = "u-1";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

pub fn fm(pairs: &[(&str, &str)]) -> FieldMap {
    pairs.iter().map(|(k, v)| (*k, *v)).collect()
}

pub fn profile() -> Profile {
    Profile::new(USER)
}

pub fn contact_facts(owner: bool) -> CrmFacts {
    CrmFacts {
        owner_is_user: owner,
        readable: true,
        writable: owner,
        active: true,
        sync_flagged: !owner,
        activity: None,
    }
}

pub fn activity_facts(kind: ActivityKind, planned: bool, organizer: bool) -> CrmFacts {
    let (state, last_moment) = if planned {
        (ActivityState::Open, Some(now() + Duration::days(2)))
    } else {
        (ActivityState::Completed, Some(now() - Duration::days(2)))
    };
    CrmFacts {
        owner_is_user: organizer,
        readable: true,
        writable: organizer,
        active: true,
        sync_flagged: false,
        activity: Some(ActivityFacts {
            kind,
            state,
            last_moment,
            user_is_organizer: organizer,
            user_is_invited: !organizer,
        }),
    }
}

pub fn event_facts(planned: bool, organizer: bool) -> CrmFacts {
    activity_facts(ActivityKind::Appointment, planned, organizer)
}

pub fn task_facts(open: bool) -> CrmFacts {
    activity_facts(ActivityKind::Task, open, true)
}

pub fn pair(id: &str, origin: Origin, base: FieldMap) -> PairStatus {
    PairStatus {
        id: format!("p-{id}"),
        crm_id: format!("c-{id}"),
        href: format!("col/{id}.item"),
        origin,
        state: PairState::Live,
        base,
        crm_version: 1,
        etag: format!("e-{id}-1"),
        last_facts: None,
    }
}

pub fn crm_record(id: &str, fields: FieldMap, facts: CrmFacts) -> CrmRecord {
    CrmRecord {
        id: format!("c-{id}"),
        fields,
        version: 2,
        modified_at: now() - Duration::hours(1),
        facts,
    }
}

pub fn gw_item(id: &str, fields: FieldMap) -> GroupwareItem {
    GroupwareItem {
        href: format!("col/{id}.item"),
        etag: format!("e-{id}-2"),
        fields,
        last_modified: None,
    }
}

pub fn crm_present(p: &PairStatus, fields: FieldMap, facts: CrmFacts) -> CrmSide {
    CrmSide::Present(CrmRecord {
        id: p.crm_id.clone(),
        fields,
        version: p.crm_version + 1,
        modified_at: now() - Duration::hours(1),
        facts,
    })
}

pub fn gw_present(p: &PairStatus, fields: FieldMap) -> GroupwareSide {
    GroupwareSide::Present(GroupwareItem {
        href: p.href.clone(),
        etag: format!("{}-next", p.etag),
        fields,
        last_modified: None,
    })
}

pub fn paired(pair: PairStatus, crm: CrmSide, groupware: GroupwareSide) -> PairedItem {
    PairedItem { pair, crm, groupware }
}

pub fn collection(class: EntityClass, pairs: Vec<PairedItem>) -> CollectionInput {
    let mut c = CollectionInput::new(class, class.as_str());
    c.pairs = pairs;
    c
}

pub fn plan_one(profile: &Profile, class: EntityClass, item: PairedItem) -> Plan {
    crmsync_engine::plan(profile, now(), &collection(class, vec![item]))
}

pub fn find(plan: &Plan, target: Target, kind: ActionKind) -> Option<&Action> {
    plan.actions.iter().find(|a| a.target == target && a.kind == kind)
}

pub fn has(plan: &Plan, target: Target, kind: ActionKind) -> bool {
    find(plan, target, kind).is_some()
}

pub fn no_writes(plan: &Plan) -> bool {
    plan.writes().next().is_none()
}
