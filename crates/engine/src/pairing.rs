//! R-PAIR-1/2: first-sync pairing of records and items that no pair knows.
//! Contacts match by normalised e-mail, then by phone plus name; events and
//! tasks by UID, then by start plus subject. A match counts only when it is
//! one-to-one; anything that matches more than one other item is reported as
//! a duplicate group and neither paired nor created.

use std::collections::{BTreeMap, BTreeSet};

use crmsync_model::FieldMap;
use crmsync_model::fields::keys;

use crate::class::EntityClass;

/// One CRM record (by index into the CRM list) matched to one groupware item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub crm: usize,
    pub groupware: usize,
    pub matched_by: &'static str,
}

/// Indices into the two lists that matched ambiguously.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguous {
    pub crm: Vec<usize>,
    pub groupware: Vec<usize>,
    pub matched_by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pairing {
    pub matches: Vec<Match>,
    pub ambiguous: Vec<Ambiguous>,
}

impl Pairing {
    /// Which CRM records and groupware items are matched or held as
    /// duplicates (so must not be created), indexed like the two lists.
    /// Built once per pairing: asking per index by scanning the matches
    /// made a first sync of many unpaired records quadratic.
    pub fn taken(&self, n_crm: usize, n_groupware: usize) -> Taken {
        let mut taken = Taken {
            crm: vec![false; n_crm],
            groupware: vec![false; n_groupware],
        };
        for m in &self.matches {
            taken.crm[m.crm] = true;
            taken.groupware[m.groupware] = true;
        }
        for a in &self.ambiguous {
            a.crm.iter().for_each(|&i| taken.crm[i] = true);
            a.groupware.iter().for_each(|&j| taken.groupware[j] = true);
        }
        taken
    }
}

/// The answer of [`Pairing::taken`]: `crm[i]` / `groupware[j]` is true when
/// that record or item is matched or in a duplicate group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub crm: Vec<bool>,
    pub groupware: Vec<bool>,
}

fn norm_text(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn norm_phone(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    // Fewer digits than this are extensions or typos, not phone numbers.
    (digits.len() >= 4).then_some(digits)
}

type KeyFn = fn(&FieldMap) -> Vec<String>;

fn emails(f: &FieldMap) -> Vec<String> {
    keys::EMAILS
        .iter()
        .filter_map(|k| f.get(k))
        .map(norm_text)
        .filter(|e| !e.is_empty())
        .collect()
}

fn phone_and_name(f: &FieldMap) -> Vec<String> {
    let name = norm_text(&format!(
        "{} {}",
        f.get(keys::FIRST_NAME).unwrap_or(""),
        f.get(keys::LAST_NAME).unwrap_or("")
    ));
    if name.is_empty() {
        return Vec::new();
    }
    keys::PHONES
        .iter()
        .filter_map(|k| f.get(k))
        .filter_map(norm_phone)
        .map(|p| format!("{name}|{p}"))
        .collect()
}

fn uid(f: &FieldMap) -> Vec<String> {
    f.get(keys::UID)
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .into_iter()
        .collect()
}

fn message_id(f: &FieldMap) -> Vec<String> {
    f.get("message_id")
        .map(norm_text)
        .filter(|u| !u.is_empty())
        .into_iter()
        .collect()
}

fn start_and_subject(f: &FieldMap) -> Vec<String> {
    match (
        f.get(keys::START).or(f.get(keys::DUE)),
        f.get(keys::SUBJECT).map(norm_text),
    ) {
        (Some(start), Some(subject)) if !subject.is_empty() => vec![format!("{start}|{subject}")],
        _ => Vec::new(),
    }
}

fn stages(class: EntityClass) -> &'static [(&'static str, KeyFn)] {
    match class {
        EntityClass::Contacts => &[("email", emails as KeyFn), ("phone and name", phone_and_name as KeyFn)],
        EntityClass::Events | EntityClass::Tasks => {
            &[("uid", uid as KeyFn), ("start and subject", start_and_subject as KeyFn)]
        }
        EntityClass::Mail => &[("message-id", message_id as KeyFn), ("uid", uid as KeyFn)],
    }
}

/// Pairs `crm` records with `groupware` items of one collection.
pub fn pair(class: EntityClass, crm: &[&FieldMap], groupware: &[&FieldMap]) -> Pairing {
    let mut result = Pairing::default();
    for (matched_by, key_fn) in stages(class) {
        let taken = result.taken(crm.len(), groupware.len());
        let free_crm: Vec<usize> = (0..crm.len()).filter(|&i| !taken.crm[i]).collect();
        let free_gw: Vec<usize> = (0..groupware.len()).filter(|&j| !taken.groupware[j]).collect();
        // A match or a duplicate group needs a member on each side: with one
        // side empty (a first sync into an empty collection) no key is built
        // for the other (R-PERF-5).
        if free_crm.is_empty() || free_gw.is_empty() {
            continue;
        }
        let mut by_key: BTreeMap<String, (BTreeSet<usize>, BTreeSet<usize>)> = BTreeMap::new();
        for &i in &free_crm {
            for k in key_fn(crm[i]) {
                by_key.entry(k).or_default().0.insert(i);
            }
        }
        for &j in &free_gw {
            for k in key_fn(groupware[j]) {
                by_key.entry(k).or_default().1.insert(j);
            }
        }
        for component in components(crm.len(), by_key.values()) {
            let (cs, gs) = component;
            if cs.len() == 1 && gs.len() == 1 {
                result.matches.push(Match {
                    crm: cs[0],
                    groupware: gs[0],
                    matched_by,
                });
            } else {
                result.ambiguous.push(Ambiguous {
                    crm: cs,
                    groupware: gs,
                    matched_by,
                });
            }
        }
    }
    result
}

/// Connected components of the bipartite "shares a key" graph, keeping only
/// components that join at least one record to at least one item. Nodes are
/// CRM indices `0..n_crm` and groupware indices offset by `n_crm`.
fn components<'a>(
    n_crm: usize,
    groups: impl Iterator<Item = &'a (BTreeSet<usize>, BTreeSet<usize>)>,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
    fn find(parent: &mut BTreeMap<usize, usize>, x: usize) -> usize {
        let p = *parent.entry(x).or_insert(x);
        if p == x {
            return x;
        }
        let root = find(parent, p);
        parent.insert(x, root);
        root
    }
    for (cs, gs) in groups {
        if cs.is_empty() || gs.is_empty() {
            continue;
        }
        let nodes: Vec<usize> = cs.iter().copied().chain(gs.iter().map(|g| g + n_crm)).collect();
        let first = find(&mut parent, nodes[0]);
        for &n in &nodes[1..] {
            let root = find(&mut parent, n);
            parent.insert(root, first);
        }
    }
    let mut grouped: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    let nodes: Vec<usize> = parent.keys().copied().collect();
    for n in nodes {
        let root = find(&mut parent, n);
        let entry = grouped.entry(root).or_default();
        if n < n_crm {
            entry.0.push(n);
        } else {
            entry.1.push(n - n_crm);
        }
    }
    grouped.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(email: &str) -> FieldMap {
        let mut f = FieldMap::new();
        f.set(keys::EMAILS[0], email);
        f
    }

    /// R-PAIR-1/2: `taken` marks exactly the matched records and items and
    /// every member of a duplicate group; the rest stay free to be created.
    #[test]
    fn r_pair_1_r_pair_2_taken_marks_matches_and_duplicate_groups_only() {
        let crm = [contact("a@x.org"), contact("dup@x.org"), contact("only-crm@x.org")];
        let gw = [
            contact("dup@x.org"),
            contact("A@x.org"),
            contact("only-gw@x.org"),
            contact("dup@x.org"),
        ];
        let crm_refs: Vec<&FieldMap> = crm.iter().collect();
        let gw_refs: Vec<&FieldMap> = gw.iter().collect();
        let pairing = pair(EntityClass::Contacts, &crm_refs, &gw_refs);
        assert_eq!(pairing.matches.len(), 1);
        assert_eq!(pairing.ambiguous.len(), 1);
        let taken = pairing.taken(crm.len(), gw.len());
        assert_eq!(taken.crm, vec![true, true, false]);
        assert_eq!(taken.groupware, vec![true, true, false, true]);
    }
}
