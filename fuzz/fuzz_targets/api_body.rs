//! What an API client sends in a body is decoded as the server decodes it
//! (JSON, then the entity's fields via serde_path_to_error, then the model's
//! validation; a profile's DAV settings, then their ranges): any bytes must
//! end in a value or an error, never a panic or a hang (issue 12).
#![no_main]

use crmsync_model::{AccountFields, ActivityFields, ContactFields, LeadFields, Validate};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn decode<T: DeserializeOwned + Validate>(value: &Value) {
    if let Ok(fields) = serde_path_to_error::deserialize::<_, T>(value.clone()) {
        let _ = fields.validate();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    decode::<ContactFields>(&value);
    decode::<ActivityFields>(&value);
    decode::<AccountFields>(&value);
    decode::<LeadFields>(&value);
    if let Ok(dav) = serde_path_to_error::deserialize::<_, crmsync_dav::DavConfig>(value) {
        let _ = dav.validate();
    }
});
