//! A stable hash of a FieldMap for the status store: equal maps give equal
//! fingerprints on every machine and version (no HashMap order, no Debug).

use crmsync_model::FieldMap;
use sha2::{Digest, Sha256};

/// Hex SHA-256 over `key \0 value \0` pairs in key order.
pub fn fingerprint(fields: &FieldMap) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in fields.iter() {
        hasher.update(k.as_bytes());
        hasher.update([0u8]);
        hasher.update(v.as_bytes());
        hasher.update([0u8]);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}
