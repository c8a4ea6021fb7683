//! Helpers the binary tests share.

#![allow(dead_code)] // each test binary uses a different part

use std::path::Path;
use std::process::Command;

pub use crmsync_testkit::free_port;

pub mod demo;
pub mod serve;
pub mod web;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `crmsync` executable under test: the one place that names the crate
/// that builds it.
pub fn crmsync_exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_crmsync"))
}

/// A command for the `crmsync` executable, with no config or log level
/// inherited from the environment the tests run in.
pub fn crmsync_command() -> Command {
    let mut command = Command::new(crmsync_exe());
    command.env_remove("CRMSYNC_CONFIG").env_remove("CRMSYNC_LOG");
    command
}
