//! Whatever a DAV server answers to PROPFIND or REPORT must parse or be
//! refused with an error, never panic or hang (issue 12).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crmsync_dav::fuzz_multistatus(data);
});
