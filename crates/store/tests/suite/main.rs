//! The store's one test suite. Every test in it runs twice: on SQLite (a temp
//! file) and on PostgreSQL (a fresh database per test), through
//! [`store_test!`]. See `harness.rs` for how PostgreSQL is found.

#[macro_use]
mod harness;
mod fixtures;

mod changes;

mod concurrency;
mod connect;
mod email_tracking;
mod handles;
mod journal_and_flags;
mod journal_batch;
mod list;
mod lookup_rows;
mod lookups;
mod overview;
mod participant_status;
mod per_run_plans;
mod records;
mod statement_log;
mod status;
mod status_batch;
mod status_batch_same_effect;
mod streamed_reads;
mod tokens;
mod user_names;
