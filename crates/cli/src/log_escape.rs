//! The text log's writer: one event, one line (R-API-14).
//!
//! A value that reaches a log field verbatim (a profile name from an old
//! configuration, a groupware's error text) could hold a newline and forge
//! a line that looks like crmsync's own, or a text-direction override that
//! makes a line read as another. tracing-subscriber already neutralises
//! ANSI escapes in field values; this writer escapes the rest as `\u{…}`
//! before the bytes reach stderr. The JSON log needs none of this: JSON
//! strings escape control characters themselves.

use std::io::{self, Write};

/// Writes through to `inner`, escaping every control character but the
/// line end of each event (and ESC, which the formatter's colours use).
pub struct EscapingWriter<W>(pub W);

/// `text` with its forging characters escaped; the one trailing newline
/// (the end of the event) stays.
pub fn escape_line(text: &str) -> String {
    let (body, end) = match text.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (text, ""),
    };
    let mut out = String::with_capacity(text.len() + 8);
    for c in body.chars() {
        let forging = (c.is_control() && c != '\u{1b}' && c != '\t')
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if forging {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out.push_str(end);
    out
}

impl<W: Write> Write for EscapingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The formatter hands over one whole event per call.
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(escape_line(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_api_14_a_value_cannot_forge_a_log_line() {
        let event = "INFO crmsync: run failed profile=evil\nERROR forged\r \u{202E}x\n";
        let line = escape_line(event);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert!(line.ends_with('\n'));
        assert!(line.contains("evil\\u{a}ERROR forged\\u{d}"), "{line}");
        assert!(line.contains("\\u{202e}x"), "{line}");
        assert_eq!(escape_line("plain\tline\n"), "plain\tline\n");
    }
}
