//! Normalisation of values before they enter a FieldMap, so that the same
//! content compares equal whichever side or client wrote it.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// One-line text: unified line ends, no control characters, trimmed.
pub(crate) fn norm_line(s: &str) -> String {
    clean(s).trim().to_string()
}

/// Multi-line text (notes, descriptions): unified line ends, trailing blanks
/// dropped (servers and clients add or strip a final newline at will).
pub(crate) fn norm_multiline(s: &str) -> String {
    let cleaned = clean(s);
    let lines: Vec<&str> = cleaned.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

fn clean(s: &str) -> String {
    s.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

pub(crate) fn opt_line(s: Option<&str>) -> Option<String> {
    s.map(norm_line).filter(|s| !s.is_empty())
}

/// RFC 3339 UTC, seconds precision: the FieldMap's time format.
pub(crate) fn fmt_utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_field_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Sorted, de-duplicated list joined by `\n` (the FieldMap's list form).
pub(crate) fn join_sorted<I: IntoIterator<Item = String>>(items: I) -> String {
    let mut v: Vec<String> = items
        .into_iter()
        .map(|s| norm_line(&s))
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v.join("\n")
}

pub(crate) fn split_list(s: Option<&str>) -> Vec<String> {
    s.map(|s| s.split('\n').map(str::to_string).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_and_trailing_blanks_do_not_count() {
        assert_eq!(norm_multiline("a \r\nb\r\n\r\n"), "a\nb");
        assert_eq!(norm_line("  x\u{7}y "), "xy");
    }
}
