//! R-FIELD-6 and R-FIELD-5 on the way between the sides: values over a
//! connector's length limit are cut on the way out, and what comes back is
//! read so that a cut value, or an edit of the outbound-only journal, never
//! looks like a change to the CRM.

use std::collections::BTreeMap;

use crmsync_model::FieldMap;
use crmsync_model::fields::keys;

/// The first `limit` characters of `value` (characters, not bytes, so a cut
/// never splits a letter).
pub fn truncate(value: &str, limit: usize) -> &str {
    match value.char_indices().nth(limit) {
        Some((byte, _)) => &value[..byte],
        None => value,
    }
}

/// The map as the groupware may hold it, and the keys that were cut.
pub fn truncate_outbound(fields: &FieldMap, limits: &BTreeMap<String, usize>) -> (FieldMap, Vec<String>) {
    let mut out = fields.clone();
    let cut = cut_outbound(&mut out, limits);
    (out, cut)
}

/// [`truncate_outbound`] in place, for a map the planner owns already: a
/// merged map on its way out is cut, not copied first (R-PERF-5).
pub fn cut_outbound(fields: &mut FieldMap, limits: &BTreeMap<String, usize>) -> Vec<String> {
    let mut cut = Vec::new();
    for (key, limit) in limits {
        if let Some(value) = fields.get(key) {
            let short = truncate(value, *limit);
            if short.len() != value.len() {
                let short = short.to_string();
                fields.set(key.clone(), short);
                cut.push(key.clone());
            }
        }
    }
    cut
}

/// Reads a groupware map against what the CRM sent: a value equal to the cut
/// form of the base (or of the CRM's current value) stands for that full
/// value (R-FIELD-6), and the journal is whatever the CRM last sent, because
/// groupware edits of it never flow back (R-FIELD-5).
pub fn normalise_groupware(
    groupware: &FieldMap,
    base: &FieldMap,
    crm: &FieldMap,
    limits: &BTreeMap<String, usize>,
) -> FieldMap {
    let mut out = groupware.clone();
    out.set_opt(keys::JOURNAL, base.get(keys::JOURNAL));
    for (key, limit) in limits {
        let Some(value) = groupware.get(key) else { continue };
        for full in [base.get(key), crm.get(key)].into_iter().flatten() {
            if full != value && truncate(full, *limit) == value {
                out.set(key.clone(), full.to_string());
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("Grüße", 3), "Grü");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
