//! The HTTP API's tests, one test binary (one link on two cores instead of
//! one per file); each module was a test file of its own and keeps its name.

#[macro_use]
mod common;

mod behaviour;
mod convert;
mod dashboard;
mod dashboard_admin;
mod dashboard_emails;
mod dashboard_live;
mod dashboard_profiles;
mod dashboard_quarantine;
mod graph_mail_push;
mod graph_push;
mod hardening;
mod logging;
mod manual_run_lease;
mod matrix;
mod openapi;
mod ops_metrics;
mod participant_status;
mod profile_secrets;
mod profiles;
mod push;
mod sync_routes;
mod tcp;
