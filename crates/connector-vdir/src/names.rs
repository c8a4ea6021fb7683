//! A folder's item file names, as a paged listing holds them between
//! reading the folder and reading the files (R-SCALE-10): one buffer of
//! text and two offsets a name, about 48 bytes an item for vdir's
//! 40-character names instead of 72 as a `String` each.

/// Names in sorted order (the order a listing's token digests them in).
#[derive(Debug, Default)]
pub struct ItemNames {
    text: String,
    /// Where each name ends in `text`, in the order they were added.
    ends: Vec<u32>,
    /// Indexes into `ends`, in name order.
    order: Vec<u32>,
}

impl ItemNames {
    /// Names in any order; `sorted` puts them in order.
    pub fn push(&mut self, name: &str) {
        self.text.push_str(name);
        let end = u32::try_from(self.text.len()).expect("a folder's names fit in 4 GiB");
        self.ends.push(end);
    }

    pub fn sorted(mut self) -> Self {
        self.order = (0..self.ends.len() as u32).collect();
        let mut order = std::mem::take(&mut self.order);
        order.sort_unstable_by(|a, b| self.name(*a).cmp(self.name(*b)));
        self.order = order;
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self
    }

    fn name(&self, at: u32) -> &str {
        let at = at as usize;
        let start = if at == 0 { 0 } else { self.ends[at - 1] as usize };
        &self.text[start..self.ends[at] as usize]
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// The names `from..to` in sorted order.
    pub fn page(&self, from: usize, to: usize) -> Vec<String> {
        self.order[from..to]
            .iter()
            .map(|at| self.name(*at).to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::ItemNames;

    #[test]
    fn names_come_back_sorted_in_pages() {
        let mut names = ItemNames::default();
        for n in ["b.vcf", "a.vcf", "c.ics", "ab.vcf"] {
            names.push(n);
        }
        let names = names.sorted();
        assert_eq!(names.len(), 4);
        assert_eq!(names.page(0, 3), ["a.vcf", "ab.vcf", "b.vcf"]);
        assert_eq!(names.page(3, 4), ["c.ics"]);
    }
}
