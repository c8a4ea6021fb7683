//! Several field maps walked side by side, key by key: each key once, in
//! order, with its value in every map. A merge compares three or four maps on
//! every key; looking each key up in each map cost a dozen string comparisons
//! per key, walking the sorted maps together costs one (R-PERF-5).

use crmsync_model::FieldMap;

/// Every key of `maps` in ascending order with its value in each map
/// (`None` where the map has no such key).
pub(crate) fn aligned<const N: usize>(maps: [&FieldMap; N]) -> impl Iterator<Item = (&str, [Option<&str>; N])> {
    let mut walks = maps.map(|m| m.iter().peekable());
    std::iter::from_fn(move || {
        let key = walks.iter_mut().filter_map(|w| w.peek().map(|(k, _)| *k)).min()?;
        let values = walks.each_mut().map(|w| w.next_if(|(k, _)| *k == key).map(|(_, v)| v));
        Some((key, values))
    })
}

/// Does any key but `except` hold different values in `a` and `b`?
pub(crate) fn differ_besides(a: &FieldMap, b: &FieldMap, except: &str) -> bool {
    aligned([a, b]).any(|(key, [x, y])| key != except && x != y)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn map() -> impl Strategy<Value = FieldMap> {
        proptest::collection::btree_map("[a-e]{1,2}", "[xy]{0,2}", 0..6).prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        /// R-PERF-5: the walk yields exactly the union of the keys, in order,
        /// each with what `get` answers in every map.
        #[test]
        fn r_perf_5_aligned_walk_is_the_union_with_every_maps_value(a in map(), b in map(), c in map()) {
            let walked: Vec<(&str, [Option<&str>; 3])> = aligned([&a, &b, &c]).collect();
            let union: std::collections::BTreeSet<&str> = a.keys().chain(b.keys()).chain(c.keys()).collect();
            let looked_up: Vec<(&str, [Option<&str>; 3])> =
                union.into_iter().map(|k| (k, [a.get(k), b.get(k), c.get(k)])).collect();
            prop_assert_eq!(walked, looked_up);
            let changed = a.changed_keys(&b).into_iter().any(|k| k != "a");
            prop_assert_eq!(differ_besides(&a, &b, "a"), changed);
        }
    }
}
