//! Activities of the six kinds (SPEC §1, R-MAP-1..3), their participants and
//! the journal entries that R-FIELD-5 puts under the notes separator.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::email::EmailDetails;
use crate::record::{Id, RecordRef, Validate, ValidationError, require_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Appointment,
    Task,
    PhoneCall,
    Fax,
    Letter,
    Email,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 6] = [
        ActivityKind::Appointment,
        ActivityKind::Task,
        ActivityKind::PhoneCall,
        ActivityKind::Fax,
        ActivityKind::Letter,
        ActivityKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Appointment => "appointment",
            ActivityKind::Task => "task",
            ActivityKind::PhoneCall => "phone_call",
            ActivityKind::Fax => "fax",
            ActivityKind::Letter => "letter",
            ActivityKind::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        ActivityKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Task, phone call, fax and letter all travel as VTODO (R-MAP-2).
    pub fn is_task_like(self) -> bool {
        matches!(
            self,
            ActivityKind::Task | ActivityKind::PhoneCall | ActivityKind::Fax | ActivityKind::Letter
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityState {
    #[default]
    Open,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Privacy {
    #[default]
    Public,
    Private,
    Confidential,
}

/// Who a participant is: a CRM user, contact or lead, or only an address that
/// matched none of them (R-CAL-2 keeps it rather than dropping the attendee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartyKind {
    User,
    Contact,
    /// A lead, by e-mail (R-TRACK-6).
    Lead,
    Email,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Party {
    pub kind: PartyKind,
    /// The user's or contact's id; `None` for a bare address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    Organizer,
    #[default]
    Required,
    Optional,
}

/// iCalendar PARTSTAT, the participant's own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    #[default]
    NeedsAction,
    Accepted,
    Declined,
    Tentative,
}

/// Where sync stands for this participant's calendar (R-CAL-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantSyncStatus {
    /// No profile of this participant has taken the activity yet.
    #[default]
    Pending,
    /// Written to the participant's calendar by this run of their profile,
    /// not yet confirmed by a later one.
    Sent,
    /// Found paired in the participant's calendar by a later run (or paired
    /// with a copy already there).
    Synchronized,
    /// The participant has no profile, or the invite flag is off.
    NotSynced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Participant {
    pub party: Party,
    #[serde(default)]
    pub role: ParticipantRole,
    /// Only invited participants get the activity in their calendar (R-CAL-3).
    #[serde(default)]
    pub invite: bool,
    #[serde(default)]
    pub response: ResponseStatus,
    /// Maintained by crmsync, not by clients (R-CAL-3-STATUS): a value sent
    /// is not kept, and its changes are no new version of the activity.
    #[serde(default)]
    pub sync_status: ParticipantSyncStatus,
}

impl Participant {
    pub fn is_organizer(&self) -> bool {
        self.role == ParticipantRole::Organizer
    }
    pub fn is_user(&self, user_id: &str) -> bool {
        self.party.kind == PartyKind::User && self.party.id.as_deref() == Some(user_id)
    }
}

/// One changed occurrence of a series (RECURRENCE-ID in iCalendar).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OccurrenceOverride {
    /// The original start of the occurrence this overrides.
    pub recurrence_id: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A series (R-CAL-4). `rule` is the RRULE value as text (`FREQ=WEEKLY;COUNT=10`),
/// kept verbatim so that no rule the CRM cannot model is lost.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Recurrence {
    pub rule: String,
    pub rdates: Vec<DateTime<Utc>>,
    pub exdates: Vec<DateTime<Utc>>,
    pub overrides: Vec<OccurrenceOverride>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ActivityFields {
    pub kind: ActivityKind,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub state: ActivityState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub all_day: bool,
    /// IANA time zone the activity was planned in (`Europe/Berlin`); times above
    /// are instants in UTC, this says how to show and expand them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
    /// 1 (highest) to 9 (lowest), as iCalendar PRIORITY; 0 or none = undefined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default)]
    pub privacy: Privacy,
    /// Minutes before start (or due) to remind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_minutes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regarding: Option<RecordRef>,
    /// The iCalendar UID this activity has in groupware. Set when the activity
    /// came from groupware or was first written there; pairing by UID (R-PAIR-1)
    /// and re-pairing after a reset use it, so an event is never duplicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ical_uid: Option<String>,
    /// For e-mail activities: the RFC 5322 Message-ID that identifies the mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<Participant>,
    /// For e-mail activities: headers, bodies, attachments (R-TRACK-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailDetails>,
}

impl ActivityFields {
    /// A bare activity of `kind`; the rest defaults.
    pub fn new(kind: ActivityKind, subject: impl Into<String>) -> Self {
        ActivityFields {
            kind,
            subject: subject.into(),
            description: None,
            state: ActivityState::Open,
            start: None,
            end: None,
            due: None,
            completed_at: None,
            all_day: false,
            time_zone: None,
            location: None,
            recurrence: None,
            priority: None,
            percent_complete: None,
            categories: Vec::new(),
            privacy: Privacy::Public,
            reminder_minutes: None,
            regarding: None,
            ical_uid: None,
            message_id: None,
            participants: Vec::new(),
            email: None,
        }
    }

    pub fn organizer(&self) -> Option<&Participant> {
        self.participants.iter().find(|p| p.is_organizer())
    }

    /// Is `user_id` a participant with the invite flag (R-FILTER-1, R-CAL-3)?
    pub fn invites(&self, user_id: &str) -> bool {
        self.participants.iter().any(|p| p.invite && p.is_user(user_id))
    }

    /// The last moment the activity covers, for "planned vs completed" (R-DEL-6..9).
    /// A series without an end never ends.
    pub fn last_moment(&self) -> Option<DateTime<Utc>> {
        // A series is treated as planned here: expanding it is the mapping's
        // job (`crmsync_mapping::activity_last_moment`, R-ENG-4), and
        // "unknown" must err towards keeping.
        if self.recurrence.is_some() {
            return None;
        }
        self.end.or(self.due).or(self.start)
    }
}

impl Validate for ActivityFields {
    fn validate(&self) -> Result<(), ValidationError> {
        require_text("subject", &self.subject)?;
        if let (Some(start), Some(end)) = (self.start, self.end)
            && end < start
        {
            return Err(ValidationError::new("end", "must not be before start"));
        }
        if self.kind == ActivityKind::Appointment && (self.start.is_none() || self.end.is_none()) {
            return Err(ValidationError::new("start", "an appointment needs start and end"));
        }
        if self.percent_complete.is_some_and(|p| p > 100) {
            return Err(ValidationError::new("percent_complete", "must be 0 to 100"));
        }
        if self.priority.is_some_and(|p| p > 9) {
            return Err(ValidationError::new("priority", "must be 0 to 9"));
        }
        if self.participants.iter().filter(|p| p.is_organizer()).count() > 1 {
            return Err(ValidationError::new("participants", "at most one organizer"));
        }
        for (i, p) in self.participants.iter().enumerate() {
            let ok = match p.party.kind {
                crate::PartyKind::Email => p.party.email.as_deref().is_some_and(crate::record::looks_like_email),
                _ => p.party.id.is_some(),
            };
            if !ok {
                return Err(ValidationError::new(
                    format!("participants[{i}].party"),
                    "a user or contact needs an id, an e-mail party an address",
                ));
            }
        }
        if let Some(r) = &self.recurrence {
            check_rule(&r.rule)?;
        }
        Ok(())
    }
}

/// The most instances a series may have (`COUNT`, R-CAL-6): a daily meeting
/// for more than thirteen years. Servers expand series to check and index
/// them; Radicale refuses `FREQ=SECONDLY;COUNT=999999999` outright.
pub const MAX_RECURRENCE_INSTANCES: u64 = 5000;

/// R-CAL-6: a rule must name a series a calendar can hold: not empty, at
/// most [`MAX_RECURRENCE_INSTANCES`] instances, repeating at most hourly
/// (`SECONDLY`/`MINUTELY` series are no appointments and explode on expansion).
fn check_rule(rule: &str) -> Result<(), ValidationError> {
    let bad = |message: String| Err(ValidationError::new("recurrence.rule", message));
    if rule.trim().is_empty() {
        return bad("must not be empty".into());
    }
    for part in rule.trim().trim_start_matches("RRULE:").split(';') {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let (name, value) = (name.trim().to_ascii_uppercase(), value.trim().to_ascii_uppercase());
        match name.as_str() {
            "FREQ" if matches!(value.as_str(), "SECONDLY" | "MINUTELY") => {
                return bad(format!("FREQ={value}: a series repeats at most hourly (R-CAL-6)"));
            }
            "COUNT" => match value.parse::<u64>() {
                Ok(n) if n <= MAX_RECURRENCE_INSTANCES => {}
                _ => {
                    return bad(format!(
                        "COUNT must be a number up to {MAX_RECURRENCE_INSTANCES} (R-CAL-6)"
                    ));
                }
            },
            _ => {}
        }
    }
    Ok(())
}

/// A note on a record. System entries (written by crmsync or the CRM itself)
/// never reach groupware; the others follow the notes separator (R-FIELD-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct JournalEntry {
    pub id: Id,
    pub record: RecordRef,
    pub text: String,
    pub system: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<Id>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewJournalEntry {
    pub text: String,
    #[serde(default)]
    pub system: bool,
}

impl Validate for NewJournalEntry {
    fn validate(&self) -> Result<(), ValidationError> {
        require_text("text", &self.text)
    }
}

#[cfg(test)]
mod recurrence_limits {
    use super::*;

    fn series(rule: &str) -> ActivityFields {
        let mut a = ActivityFields::new(ActivityKind::Appointment, "Stand-up");
        a.start = Some(Utc::now());
        a.end = a.start.map(|s| s + chrono::Duration::minutes(15));
        a.recurrence = Some(Recurrence {
            rule: rule.into(),
            ..Recurrence::default()
        });
        a
    }

    #[test]
    fn r_cal_6_runaway_series_are_refused_on_the_recurrence_rule() {
        for rule in [
            "FREQ=SECONDLY;COUNT=999999999",
            "FREQ=DAILY;COUNT=999999999",
            "FREQ=MINUTELY",
            "RRULE:FREQ=secondly",
            "FREQ=DAILY;COUNT=many",
            " ",
        ] {
            let err = series(rule).validate().expect_err(rule);
            assert_eq!(err.field, "recurrence.rule", "{rule}");
        }
        for rule in [
            "FREQ=WEEKLY;COUNT=10",
            "FREQ=DAILY;COUNT=5000",
            "FREQ=HOURLY;UNTIL=20270101T000000Z",
            "FREQ=YEARLY",
        ] {
            assert!(series(rule).validate().is_ok(), "{rule}");
        }
    }
}
