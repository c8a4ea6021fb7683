//! R-CAL-1: scheduled pulls cover current and future events plus a number of
//! past days. Anything that ended before the window is out of scope: it is
//! not created on either side, and it is never deleted for having left it.

use chrono::{DateTime, Duration, Utc};

use crmsync_model::FieldMap;
use crmsync_model::fields::keys;

use crate::class::EntityClass;
use crate::policy::Profile;

/// The first moment inside the window.
pub fn window_start(profile: &Profile, now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(i64::from(profile.calendar_past_days))
}

/// The last moment an item covers, read from its canonical fields: end, else
/// due, else start. A series (or an unreadable time) has none: unknown errs
/// towards "in the window", so nothing is skipped by mistake.
pub fn last_moment_of(fields: &FieldMap) -> Option<DateTime<Utc>> {
    if fields.get("recurrence").is_some() {
        return None;
    }
    [keys::END, keys::DUE, keys::START]
        .iter()
        .find_map(|k| fields.get(k))
        .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Is an item of `class` that lasts until `last_moment` outside the window?
/// Only events have a window; tasks and contacts are always in scope.
pub fn before_window(
    profile: &Profile,
    now: DateTime<Utc>,
    class: EntityClass,
    last_moment: Option<DateTime<Utc>>,
) -> bool {
    class == EntityClass::Events && last_moment.is_some_and(|end| end < window_start(profile, now))
}
