//! What an operator should do when a run or an explain fails: the same words
//! on the command line and in API errors.

use crmsync_store::StoreError;
use crmsync_sync::SyncError;
use crmsync_sync::ops::RecordExplanation;

/// One sentence saying what to do about `err`, when there is something to do.
pub fn what_to_do(err: &SyncError) -> &'static str {
    match err {
        // The connector knows its failures best: wrong password, server
        // unreachable, folder missing, …
        SyncError::Connector(e) => e.hint(),
        SyncError::Store(StoreError::Fenced { .. }) => {
            "nothing to repair: another worker runs the profile now and finishes what this run started"
        }
        SyncError::Store(e) if e.is_transient() => "the database is busy or unreachable: run the sync again shortly",
        SyncError::Store(_) => "check the database (`crmsync migrate`) and the server log",
        SyncError::Mapping(_) => "the item is left as it is; report it with the item attached",
        SyncError::Profile { .. } => "fix the profile's settings in the configuration and run again",
        SyncError::InjectedCrash { .. } => "run again: the next run resumes where this one stopped",
    }
}

/// True when an explanation knows nothing: no such CRM record (now or
/// deleted), never paired and no history. Callers answer "unknown record"
/// instead of printing an empty explanation.
pub fn explains_nothing(e: &RecordExplanation) -> bool {
    e.crm == "unknown" && e.href.is_none() && e.history.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_connector::ConnectorError;

    // The common failures tell the operator what to do, in the connector's words.
    #[test]
    fn wrong_password_and_unreachable_server_say_what_to_do() {
        let wrong_password = SyncError::Connector(ConnectorError::Unauthorized {
            detail: "401 from dav.example.org".into(),
        });
        assert!(what_to_do(&wrong_password).contains("password"));
        let unreachable = SyncError::Connector(ConnectorError::Unreachable {
            detail: "connection refused".into(),
        });
        assert!(what_to_do(&unreachable).contains("server address"));
        assert!(!unreachable.to_string().is_empty() && unreachable.is_transient());
    }

    // R-SCHED-4: a run whose lease another worker took says so, and that
    // nothing needs repair, instead of pointing at the database.
    #[test]
    fn r_sched_4_a_fenced_run_says_another_worker_has_the_profile() {
        let fenced = SyncError::Store(StoreError::Fenced { profile: "anna".into() });
        assert!(what_to_do(&fenced).contains("another worker"));
        assert!(fenced.to_string().contains("R-SCHED-4"));
    }
}
