//! Normalisation of values before they enter a FieldMap, so that the same
//! content compares equal whichever side or client wrote it.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// One-line text: unified line ends, no control characters, trimmed.
pub(crate) fn norm_line(s: &str) -> String {
    clean(s).trim().to_string()
}

/// Multi-line text (notes, descriptions): unified line ends, trailing blanks
/// dropped (servers and clients add or strip a final newline at will).
pub(crate) fn norm_multiline(s: &str) -> String {
    let cleaned = clean(s);
    if !cleaned.contains('\n') {
        return cleaned.trim_end().to_string();
    }
    let lines: Vec<&str> = cleaned.split('\n').map(str::trim_end).collect();
    lines.join("\n").trim_end().to_string()
}

/// Text with `\r\n` and `\r` as `\n` and no control characters but `\n`
/// and `\t`. Clean text (nearly every value) is borrowed, not rebuilt
/// character by character: mapping a record normalises every field
/// (R-PERF-4).
fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Cow::Borrowed(s);
    }
    Cow::Owned(clean_slowly(s))
}

fn clean_slowly(s: &str) -> String {
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

    proptest::proptest! {
        /// R-PERF-4: borrowing clean text changes no result.
        #[test]
        fn r_perf_4_clean_text_is_borrowed_and_equal(s in "[a-z \t\r\n\u{0}\u{7}\u{85}é]{0,12}") {
            let (fast, slow) = (clean(&s), clean_slowly(&s));
            proptest::prop_assert_eq!(fast.as_ref(), slow.as_str());
            let multiline_slowly = {
                let c = clean_slowly(&s);
                let lines: Vec<&str> = c.split('\n').map(str::trim_end).collect();
                lines.join("\n").trim_end().to_string()
            };
            proptest::prop_assert_eq!(norm_multiline(&s), multiline_slowly);
        }
    }
}
