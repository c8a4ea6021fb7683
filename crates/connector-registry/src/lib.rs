//! The one registry of connector kinds. [`ConnectorSpec`] has one variant per
//! kind, each holding that connector's own typed config (defined in the
//! connector's crate); the config file, the stored profile catalog, the API,
//! `crmsync sync` and the scheduler all read and write this one type.
//!
//! Adding a kind is one line in the `kinds!` list below (see ARCHITECTURE.md,
//! "To add a connector"); nothing else in the workspace matches on kinds.

mod spec;

pub use spec::{ConnectorSpec, KINDS, SpecError, secret_keys};

#[cfg(test)]
mod tests;
