//! One module per thing measured.

pub mod dav;
pub mod memory;
pub mod vdir;
pub mod vdirsyncer;
