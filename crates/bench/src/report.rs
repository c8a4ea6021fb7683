//! The figures of one run, printed as a table and written as RESULTS.md,
//! each beside its target from issue 6 and whether we meet it.

use std::fmt::Write as _;

/// Where a figure stands against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Met,
    Missed,
    /// Context only (absolute times, counts) or no target at this size.
    Info,
    /// Not measured in this run; the measured column says why.
    NotMeasured,
    /// Missed, and even the server's own time for crmsync's requests (sent
    /// raw, R-BENCH-11) misses the target: crmsync's part cannot reach it.
    MissedBelowFloor,
}

impl Standing {
    pub fn of(met: bool) -> Standing {
        if met { Standing::Met } else { Standing::Missed }
    }

    fn label(self) -> &'static str {
        match self {
            Standing::Met => "met",
            Standing::Missed => "MISSED",
            Standing::Info => "-",
            Standing::NotMeasured => "not measured",
            Standing::MissedBelowFloor => "MISSED (below the server's floor)",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Figure {
    pub section: String,
    pub name: String,
    pub measured: String,
    pub target: String,
    pub standing: Standing,
}

#[derive(Default)]
pub struct Report {
    pub figures: Vec<Figure>,
    /// Things the reader must know to read the figures (sizes, skips).
    pub notes: Vec<String>,
}

impl Report {
    pub fn add(
        &mut self,
        section: &str,
        name: impl Into<String>,
        measured: impl Into<String>,
        target: &str,
        standing: Standing,
    ) {
        let figure = Figure {
            section: section.to_owned(),
            name: name.into(),
            measured: measured.into(),
            target: target.to_owned(),
            standing,
        };
        // Printed as it comes, so a long run shows progress.
        println!(
            "  {:<11} {:<52} {:>22}  target {:<26} {}",
            figure.section,
            figure.name,
            figure.measured,
            figure.target,
            figure.standing.label()
        );
        self.figures.push(figure);
    }

    /// A figure of issue 6 this run did not measure, with the reason, so
    /// every figure keeps its row and its target.
    pub fn not_measured(&mut self, section: &str, name: impl Into<String>, target: &str, why: impl Into<String>) {
        self.add(section, name, why, target, Standing::NotMeasured);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        println!("  note: {note}");
        self.notes.push(note);
    }

    /// The whole report as Markdown. With `previous` (the results file this
    /// run replaces) each row also shows the figure the same row held there
    /// and its standing, so a reader sees the change without a diff (issue
    /// 17 item 7); a row new in this run shows "-".
    pub fn markdown(&self, header: &str, previous: Option<&str>) -> String {
        let earlier = previous.map(previous_figures).unwrap_or_default();
        let mut out = String::new();
        let _ = writeln!(out, "# crmsync benchmark results\n\n{header}\n");
        if previous.is_some() {
            let _ = writeln!(
                out,
                "| section | figure | measured | target | standing | previous (its standing) |"
            );
            let _ = writeln!(out, "| --- | --- | --- | --- | --- | --- |");
        } else {
            let _ = writeln!(out, "| section | figure | measured | target | standing |");
            let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
        }
        for f in &self.figures {
            let name = f.name.replace('|', "/");
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.section,
                name,
                f.measured,
                f.target,
                f.standing.label()
            );
            if previous.is_some() {
                let cell = match earlier.get(&(f.section.clone(), name)) {
                    Some((measured, standing)) => format!(" {measured} ({standing}) |"),
                    None => " - |".to_owned(),
                };
                out.push_str(&cell);
            }
            out.push('\n');
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out
    }
}

/// The rows of an earlier results file, keyed by section and figure:
/// (measured, standing). Lines that are not a table row of at least five
/// cells (the header, prose, notes) are skipped.
pub fn previous_figures(markdown: &str) -> std::collections::HashMap<(String, String), (String, String)> {
    markdown
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.strip_prefix('|')?.split('|').map(str::trim).collect();
            // "| a | b | c | d | e |" splits into the five cells and a last empty one.
            if cells.len() < 6 || cells[0] == "section" || cells[0].starts_with("---") {
                return None;
            }
            Some((
                (cells[0].to_owned(), cells[1].to_owned()),
                (cells[2].to_owned(), cells[4].to_owned()),
            ))
        })
        .collect()
}

/// Seconds with millisecond precision, for context columns.
pub fn secs(d: std::time::Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// A ratio such as crmsync time / raw time.
pub fn ratio(a: std::time::Duration, b: std::time::Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(measured: &str, standing: Standing) -> Report {
        let mut report = Report::default();
        report.add("vdir", "first sync 3000 contacts", measured, "<= 1.2x", standing);
        report
    }

    #[test]
    fn r_bench_8_each_row_shows_what_the_same_row_held_in_the_file_it_replaces() {
        let before = one("4.12x", Standing::Missed).markdown("before", None);
        let mut after = one("1.10x", Standing::Met);
        after.add("vdir", "a row new in this run", "1", "(context)", Standing::Info);
        let after = after.markdown("after", Some(&before));
        assert!(
            after.contains("| vdir | first sync 3000 contacts | 1.10x | <= 1.2x | met | 4.12x (MISSED) |"),
            "{after}"
        );
        assert!(
            after.contains("| vdir | a row new in this run | 1 | (context) | - | - |"),
            "{after}"
        );
    }

    #[test]
    fn r_bench_8_a_file_with_the_previous_column_is_read_as_well() {
        let first = one("4.12x", Standing::Missed).markdown("first", None);
        let second = one("2.00x", Standing::Missed).markdown("second", Some(&first));
        let third = one("1.10x", Standing::Met).markdown("third", Some(&second));
        assert!(third.contains("| 1.10x | <= 1.2x | met | 2.00x (MISSED) |"), "{third}");
    }
}
