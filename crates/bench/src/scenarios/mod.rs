//! One module per thing measured.

pub mod dav;
pub mod dav_events;
pub mod graph;
pub mod imap;
pub mod memory;
pub mod pages;
pub mod profiles_per_box;
pub mod push;
pub mod scale_out;
pub mod vdir;
pub mod vdirsyncer;
