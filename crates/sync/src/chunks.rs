//! Splits a plan into items (the consecutive actions of one subject) and the
//! items into chunks whose items touch nothing in common, so a chunk's items
//! may be applied concurrently and their status records committed together.

use std::collections::HashSet;
use std::ops::Range;

use crmsync_engine::{Action, Target};

use crate::collect::Lookups;

/// The actions of one item: a range into the plan's actions.
pub(crate) type Item = Range<usize>;

/// Consecutive actions with one subject form an item (the engine emits an
/// item's actions together, in the order they must run).
pub(crate) fn items(actions: &[Action]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=actions.len() {
        if i == actions.len() || actions[i].subject != actions[start].subject {
            out.push(start..i);
            start = i;
        }
    }
    out
}

/// One chunk: items that touch nothing in common, applied concurrently.
pub(crate) struct Chunk {
    pub items: Vec<Item>,
    /// Some item shares a pair, CRM record or groupware item with the chunk
    /// before: its writes wait until that chunk is flushed and recorded, as
    /// every chunk did before R-VDIR-14 (see `apply.rs`).
    pub follows_previous: bool,
}

/// Groups `items` in plan order into chunks of at most `max_items`. An item
/// that shares a pair, CRM record or groupware item with one already in the
/// current chunk starts a new chunk, so items that depend on each other still
/// run one after the other, in the plan's order.
pub(crate) fn chunks(actions: &[Action], items: Vec<Item>, lookups: &Lookups, max_items: usize) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut current: Vec<Item> = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    let mut previous: HashSet<String> = HashSet::new();
    let mut follows_previous = false;
    for item in items {
        let keys = keys_of(&actions[item.start], lookups);
        if current.len() >= max_items || keys.iter().any(|k| taken.contains(k)) {
            out.push(Chunk {
                items: std::mem::take(&mut current),
                follows_previous,
            });
            previous = std::mem::take(&mut taken);
            follows_previous = false;
        }
        follows_previous |= keys.iter().any(|k| previous.contains(k));
        taken.extend(keys);
        current.push(item);
    }
    if !current.is_empty() {
        out.push(Chunk {
            items: current,
            follows_previous,
        });
    }
    out
}

/// Whether any action of the item writes to the CRM or the groupware (and so
/// needs a `started` mark before it is sent).
pub(crate) fn write_actions(actions: &[Action], item: &Item) -> impl Iterator<Item = usize> {
    item.clone().filter(|&i| actions[i].target != Target::Status)
}

fn keys_of(action: &Action, lookups: &Lookups) -> Vec<String> {
    let s = &action.subject;
    let mut keys = Vec::with_capacity(5);
    if let Some(id) = &s.pair_id {
        keys.push(format!("p\n{id}"));
        if let Some(pair) = lookups.pairs.get(id) {
            keys.push(format!("c\n{}", pair.crm_id));
            keys.push(format!("h\n{}", pair.href));
        }
    }
    if let Some(id) = &s.crm_id {
        keys.push(format!("c\n{id}"));
    }
    if let Some(href) = &s.href {
        keys.push(format!("h\n{href}"));
    }
    keys
}
