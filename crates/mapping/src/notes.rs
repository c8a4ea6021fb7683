//! R-FIELD-5: groupware notes carry the CRM description, then a fixed
//! separator line, then the record's non-system journal entries, newest first.
//! Only the text above the separator flows back into the CRM.

use crmsync_model::JournalEntry;

use crate::text::norm_multiline;

/// The separator line, exactly as written (R-MAP-9 in docs/RULES.md).
pub const NOTES_SEPARATOR: &str = "----- CRM journal (read-only, not synced back) -----";

/// Renders the journal part: non-system entries, newest first, each as
/// `[YYYY-MM-DD HH:MM UTC] text`, separated by blank lines.
pub fn journal_text(journal: &[JournalEntry]) -> String {
    let mut entries: Vec<&JournalEntry> = journal.iter().filter(|e| !e.system).collect();
    // Newest first; ties by id so the order is stable across runs.
    entries.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
    let blocks: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "[{}] {}",
                e.created_at.format("%Y-%m-%d %H:%M UTC"),
                norm_multiline(&e.text)
            )
        })
        .collect();
    blocks.join("\n\n")
}

/// Description, then the separator and the journal when there is one.
pub fn compose_notes(description: &str, journal: &[JournalEntry]) -> String {
    join_notes(description, &journal_text(journal))
}

/// Joins an already rendered journal text (the FieldMap's `journal` key).
pub fn join_notes(description: &str, journal: &str) -> String {
    let description = norm_multiline(description);
    let journal = norm_multiline(journal);
    match (description.is_empty(), journal.is_empty()) {
        (_, true) => description,
        (true, false) => format!("{NOTES_SEPARATOR}\n{journal}"),
        (false, false) => format!("{description}\n\n{NOTES_SEPARATOR}\n{journal}"),
    }
}

/// Splits groupware notes into (description, journal). Text without the
/// separator is all description. Matching ignores blanks around the line,
/// because clients re-wrap and trim.
pub fn split_notes(text: &str) -> (String, String) {
    let text = norm_multiline(text);
    let mut offset = 0;
    for line in text.split('\n') {
        if line.trim() == NOTES_SEPARATOR {
            let above = norm_multiline(&text[..offset]);
            let below = norm_multiline(text[offset + line.len()..].trim_start_matches('\n'));
            return (above, below);
        }
        offset += line.len() + 1;
    }
    (text, String::new())
}
