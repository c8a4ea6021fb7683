//! The `crmsync` binary's tests, one test binary (one link on two cores
//! instead of one per file); each module was a test file of its own and keeps
//! its name. The binary under test is named in one place:
//! `support::crmsync_exe`.

mod support;
mod workers_support;

mod abuse;
mod api_contract;
mod collections;
mod dashboard_browser;
mod dashboard_lists;
mod dashboard_settings;
mod demo;
mod failure_messages;
mod graph_profile;
mod graph_sign_in;
mod imap_kill;
mod imap_profile;
mod kill_radicale;
mod ops;
mod sync_exit;
mod user_view;
mod workers;
