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

    /// The whole report as Markdown.
    pub fn markdown(&self, header: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# crmsync benchmark results\n\n{header}\n");
        let _ = writeln!(out, "| section | figure | measured | target | standing |");
        let _ = writeln!(out, "| --- | --- | --- | --- | --- |");
        for f in &self.figures {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                f.section,
                f.name.replace('|', "/"),
                f.measured,
                f.target,
                f.standing.label()
            );
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

/// Seconds with millisecond precision, for context columns.
pub fn secs(d: std::time::Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// A ratio such as crmsync time / raw time.
pub fn ratio(a: std::time::Duration, b: std::time::Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
