//! crmsync's proof harness (issue 6): benchmarks that hold crmsync against
//! the physical limit (raw durable file writes, a raw DAV client PUTting the
//! same cards) and against vdirsyncer, measured side by side in one run so the
//! ratios survive a noisy shared machine; plus scale-out over PostgreSQL
//! workers and push latency through the API. `bench/run` is the one command.

pub mod abba;
pub mod counting;
pub mod data;
pub mod edits;
pub mod engine_figures;
pub mod error;
pub mod latency;
pub mod peers;
pub mod raw_dav;
pub mod raw_graph;
pub mod raw_replay;
pub mod raw_vdir;
pub mod report;
pub mod rss;
pub mod scenarios;
pub mod vdir_fs;
pub mod world;

pub use error::BenchError;
