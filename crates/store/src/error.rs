//! The store's one error type. Each variant says whether retrying can help
//! ([`StoreError::is_transient`]) and its message says what to do next.

use crmsync_model::record::Id;
use crmsync_model::{EntityKind, ValidationError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} does not exist (it may have been deleted); reload the list")]
    NotFound { entity: EntityKind, id: Id },

    #[error(
        "{entity} {id} was changed meanwhile (you had version {expected}, it is now {current}); \
         reload it and apply your change again"
    )]
    VersionConflict {
        entity: EntityKind,
        id: Id,
        expected: i64,
        current: i64,
    },

    #[error("invalid {0}")]
    Validation(ValidationError),

    /// A uniqueness or reference rule of the database refused the write.
    #[error("conflict: {0}")]
    Conflict(String),

    /// The acting user may not do this to that record (R-PERM-2).
    #[error("not allowed: {0}")]
    Forbidden(String),

    /// Stored data could not be read back (e.g. JSON that no longer parses).
    #[error("stored {entity} {id} is unreadable: {reason}; restore it from a backup or delete it")]
    Corrupt { entity: EntityKind, id: Id, reason: String },

    /// A sync status row could not be read back (`what` names it).
    #[error("sync status for {what} is unreadable: {reason}; reset that profile or record (R-RESET-1)")]
    CorruptStatus { what: String, reason: String },

    // The driver's error is quoted in the message and deliberately not also
    // exposed as `source()`: `{:#}` (anyhow) would print it a second time.
    #[error("database error while {context}: {error}{}", retry_hint(error))]
    Database { context: &'static str, error: sqlx::Error },

    #[error("database migration failed: {0}; fix the database or restore a backup, then restart")]
    Migration(sqlx::migrate::MigrateError),

    /// R-SCHED-4: the run's lease went to another worker (its token moved
    /// on); nothing of this write was committed.
    #[error(
        "profile {profile}: this worker's lease ended and another worker took the profile over; nothing was \
         written (R-SCHED-4)"
    )]
    Fenced { profile: String },

    /// `url` has its password replaced by `***`.
    #[error("invalid database URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// A number above the largest the store's signed 64-bit columns hold
    /// (a mail UID or UIDVALIDITY beyond `i64::MAX`, R-GRAPH-42): refused,
    /// never wrapped to a negative one. Permanent: the source gave a value
    /// no source should.
    #[error("{what} {value} is larger than the store can hold (at most {max}); nothing was written", max = i64::MAX)]
    OutOfRange { what: &'static str, value: u64 },
}

// Hand-written instead of `#[from]`, which would also make the wrapped error
// the `source()` and repeat its text in an error chain.
impl From<ValidationError> for StoreError {
    fn from(e: ValidationError) -> Self {
        StoreError::Validation(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(e)
    }
}

impl StoreError {
    /// True when the same call may succeed later unchanged: pool timeouts,
    /// lost connections, lock timeouts, serialization failures, deadlocks.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database { error, .. } => sqlx_is_transient(error),
            _ => false,
        }
    }

    pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| classify(context, source)
    }
}

fn retry_hint(e: &sqlx::Error) -> &'static str {
    if sqlx_is_transient(e) {
        " (temporary: retry later)"
    } else {
        " (permanent: check the database and the crmsync logs)"
    }
}

/// Turns constraint violations into [`StoreError::Conflict`]; everything else
/// stays a database error.
fn classify(context: &'static str, source: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &source {
        use sqlx::error::ErrorKind;
        match db.kind() {
            ErrorKind::UniqueViolation => {
                return StoreError::Conflict(format!("{context}: a record with that key already exists"));
            }
            ErrorKind::ForeignKeyViolation => {
                return StoreError::Conflict(format!(
                    "{context}: the record is still referenced, or refers to one that does not exist"
                ));
            }
            _ => {}
        }
    }
    StoreError::Database { context, error: source }
}

fn sqlx_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            // PostgreSQL SQLSTATEs: connection exceptions (08…), serialization
            // failure, deadlock, too many connections, server shutting down.
            if code.starts_with("08") || matches!(&*code, "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03") {
                return true;
            }
            // SQLite result codes (possibly extended): BUSY (5) and LOCKED (6).
            code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
        }
        _ => false,
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeout_is_transient_and_says_retry() {
        let e = StoreError::Database {
            context: "listing records",
            error: sqlx::Error::PoolTimedOut,
        };
        assert!(e.is_transient());
        assert!(e.to_string().contains("retry later"), "{e}");
    }

    #[test]
    fn logic_errors_are_permanent() {
        let e = StoreError::Database {
            context: "reading a row",
            error: sqlx::Error::RowNotFound,
        };
        assert!(!e.is_transient());
        assert!(e.to_string().contains("permanent"), "{e}");
        let conflict = StoreError::VersionConflict {
            entity: EntityKind::Contact,
            id: "c1".into(),
            expected: 1,
            current: 3,
        };
        assert!(!conflict.is_transient());
        assert!(conflict.to_string().contains("reload it"), "{conflict}");
    }

    /// The chain as anyhow's `{:#}` prints it: each cause after a `: `.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(next) = cause {
            text.push_str(": ");
            text.push_str(&next.to_string());
            cause = next.source();
        }
        text
    }

    #[test]
    fn a_database_error_names_the_driver_error_once_in_its_chain() {
        let e = StoreError::Database {
            context: "reading a row",
            error: sqlx::Error::RowNotFound,
        };
        let driver = sqlx::Error::RowNotFound.to_string();
        let shown = chain(&e);
        assert_eq!(shown.matches(&driver).count(), 1, "{shown}");
    }

    #[test]
    fn a_validation_error_names_its_problem_once_in_its_chain() {
        let problem = ValidationError::new("name", "must not be empty");
        let text = problem.to_string();
        let shown = chain(&StoreError::from(problem));
        assert_eq!(shown.matches(&text).count(), 1, "{shown}");
    }
}
