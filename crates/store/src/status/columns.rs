//! The enums the status tables hold, as the text they are stored as. This
//! is the one place that converts (R-STORE-10): rows hand callers the enum,
//! and a text no version of crmsync wrote is an error, never a guess.

use crmsync_engine::{Origin, PairState};
use crmsync_model::ParticipantSyncStatus;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};
use crate::sql::get_text;

use super::conflicts::ConflictResolution;
use super::runs::{RunState, StepState};

/// An enum stored as text in one status column.
pub trait TextColumn: Sized + Copy + 'static {
    /// What the column holds, for error messages ("a pair's state").
    const WHAT: &'static str;
    /// Every value, so the text form can be checked both ways.
    const ALL: &'static [Self];
    fn as_text(self) -> &'static str;

    /// The stored text back as the enum; an unknown text is
    /// [`StoreError::CorruptStatus`] naming the column and the text.
    fn from_text(text: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|value| value.as_text() == text)
            .ok_or_else(|| StoreError::CorruptStatus {
                what: Self::WHAT.to_string(),
                reason: format!("`{text}` is not a value this version knows"),
            })
    }
}

/// Reads column `col` of `row` as `T`.
pub(crate) fn get_enum<T: TextColumn>(row: &AnyRow, col: &str) -> Result<T> {
    T::from_text(&get_text(row, col)?)
}

// The engine's serde names, which the rows written before this type existed
// hold too (a test checks they agree).
impl TextColumn for Origin {
    const WHAT: &'static str = "a pair's origin";
    const ALL: &'static [Origin] = &[Origin::Crm, Origin::Groupware];
    fn as_text(self) -> &'static str {
        match self {
            Origin::Crm => "crm",
            Origin::Groupware => "groupware",
        }
    }
}

impl TextColumn for PairState {
    const WHAT: &'static str = "a pair's state";
    const ALL: &'static [PairState] = &[
        PairState::Live,
        PairState::RemovedByUser,
        PairState::Unlinked,
        PairState::Quarantined,
    ];
    fn as_text(self) -> &'static str {
        match self {
            PairState::Live => "live",
            PairState::RemovedByUser => "removed_by_user",
            PairState::Unlinked => "unlinked",
            PairState::Quarantined => "quarantined",
        }
    }
}

impl TextColumn for RunState {
    const WHAT: &'static str = "a sync run's outcome";
    const ALL: &'static [RunState] = &RunState::ALL;
    fn as_text(self) -> &'static str {
        self.as_str()
    }
}

impl TextColumn for StepState {
    const WHAT: &'static str = "a plan journal step's state";
    const ALL: &'static [StepState] = &[
        StepState::Planned,
        StepState::Started,
        StepState::Done,
        StepState::Failed,
        StepState::Replanned,
    ];
    fn as_text(self) -> &'static str {
        self.as_str()
    }
}

impl TextColumn for ConflictResolution {
    const WHAT: &'static str = "a conflict's resolution";
    const ALL: &'static [ConflictResolution] = &ConflictResolution::ALL;
    fn as_text(self) -> &'static str {
        self.as_str()
    }
}

// The model's serde names, as the API shows them.
impl TextColumn for ParticipantSyncStatus {
    const WHAT: &'static str = "a participant's sync status";
    const ALL: &'static [ParticipantSyncStatus] = &[
        ParticipantSyncStatus::Pending,
        ParticipantSyncStatus::Sent,
        ParticipantSyncStatus::Synchronized,
        ParticipantSyncStatus::NotSynced,
    ];
    fn as_text(self) -> &'static str {
        match self {
            ParticipantSyncStatus::Pending => "pending",
            ParticipantSyncStatus::Sent => "sent",
            ParticipantSyncStatus::Synchronized => "synchronized",
            ParticipantSyncStatus::NotSynced => "not_synced",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: TextColumn + PartialEq + std::fmt::Debug>() {
        for value in T::ALL {
            assert_eq!(T::from_text(value.as_text()).unwrap(), *value);
        }
    }

    fn serde_name<T: serde::Serialize>(value: &T) -> String {
        serde_json::to_value(value).unwrap().as_str().unwrap().to_string()
    }

    // R-STORE-10: the stored text is the engine's serde name, so rows written
    // before the store typed these columns read back unchanged.
    #[test]
    fn r_store_10_engine_enums_are_stored_as_their_serde_names() {
        round_trips::<Origin>();
        round_trips::<PairState>();
        round_trips::<RunState>();
        round_trips::<StepState>();
        round_trips::<ParticipantSyncStatus>();
        round_trips::<ConflictResolution>();
        for s in ParticipantSyncStatus::ALL {
            assert_eq!(s.as_text(), serde_name(s));
        }
        for o in Origin::ALL {
            assert_eq!(o.as_text(), serde_name(o));
        }
        for s in PairState::ALL {
            assert_eq!(s.as_text(), serde_name(s));
        }
    }
}
