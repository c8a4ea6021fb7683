//! Reads the engine's criterion results (crates/engine/benches/per_record.rs,
//! run by bench/run before this binary) and turns them into µs per record.

use std::path::Path;

/// Criterion's group name in crates/engine/benches/per_record.rs.
pub const GROUP: &str = "engine_per_record";

/// Mean time per record in µs at `records`, from criterion's
/// `<dir>/engine_per_record/<records>/new/estimates.json`.
pub fn micros_per_record(criterion_dir: &Path, records: usize) -> Option<f64> {
    let path = criterion_dir
        .join(GROUP)
        .join(records.to_string())
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    mean_ns(&text).map(|ns| ns / 1000.0 / records as f64)
}

/// `mean.point_estimate` (nanoseconds per iteration) of an estimates.json.
pub fn mean_ns(estimates_json: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(estimates_json).ok()?;
    value.get("mean")?.get("point_estimate")?.as_f64()
}
