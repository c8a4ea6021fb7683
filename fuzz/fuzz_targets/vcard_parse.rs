//! Any bytes a server or a vdir folder hands us must parse or be refused with
//! an error (quarantine, R-SAFE-4): never a panic, never a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = crmsync_mapping::parse_vcard_bytes(data);
});
