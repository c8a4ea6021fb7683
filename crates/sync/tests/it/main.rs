//! The sync runner's tests (memory, vdir, real DAV and IMAP peers, Graph test
//! server), one test binary (one link on two cores instead of one per file);
//! each module was a test file of its own and keeps its name.

mod common;
mod dav_world;
mod mail_world;
mod memory_world;

mod bad_input_e2e;
mod calendar_fields_dav;
mod collection_choice_dav;
mod concurrent_edits;
mod conflict_third_value;
mod dav_e2e;
mod dav_remembered_kind;
mod dead_runs;
mod directory_by_need;
mod fault_proxy;
mod faults;
mod graph_deletions;
mod graph_e2e;
mod identity_pairing;
mod journal_notes;
mod listings_at_once;
mod listings_first;
mod mail_contacts_imap;
mod mail_push_imap;
mod mail_tracking_graph;
mod mail_tracking_imap;
mod mapping_work;
mod model_based;
mod overlapped_chunks;
mod participants_dav;
mod power_cut;
mod quarantine_retry;
mod refused_item;
mod reset_radicale;
mod runner_fixes;
mod stream_overlap_failure;
mod streaming;
mod sync_calls;
mod vdir_roundtrip;
mod write_window_xandikos;
