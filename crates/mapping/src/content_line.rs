//! Content lines as they stand in the item, byte for byte.
//!
//! calcard parses values; this module only finds where each logical line
//! (a property with its folded continuations) begins and ends, so that the
//! renderer can copy every property crmsync does not map back unchanged
//! (R-MAP-6), folding, parameter case and escaping included.

use crate::error::{Format, MappingError};

/// Items larger than this are refused (see R-MAP-7 in docs/RULES.md): the
/// largest legitimate item is a contact with a 4 MiB photo (the model's limit),
/// which base64 and folding grow to about 5.6 MiB.
pub const MAX_ITEM_BYTES: usize = 6 * 1024 * 1024;

/// One logical line: `raw` is exactly what the item held (folds and line
/// ends included), `text` the unfolded line without its line end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawLine {
    pub raw: String,
    pub text: String,
    /// 1-based number of the line's first physical line, for error messages.
    pub line_no: usize,
    /// vCard group (`item1` in `item1.TEL`), as written.
    pub group: Option<String>,
    /// Property name, upper-cased (names are case-insensitive).
    pub name: String,
}

impl RawLine {
    /// The value after the first `:` outside quotes (escapes untouched).
    pub fn value_text(&self) -> &str {
        let idx = value_colon(&self.text).unwrap_or(self.text.len());
        self.text.get(idx + 1..).unwrap_or("")
    }

    pub fn is(&self, name: &str) -> bool {
        self.name == name
    }
}

/// Checks size and encoding of raw bytes before anything else looks at them.
pub(crate) fn check_bytes(format: Format, bytes: &[u8]) -> Result<&str, MappingError> {
    if bytes.len() > MAX_ITEM_BYTES {
        return Err(MappingError::TooLarge {
            format,
            size: bytes.len(),
            limit: MAX_ITEM_BYTES,
        });
    }
    std::str::from_utf8(bytes).map_err(|e| MappingError::NotText {
        format,
        offset: e.valid_up_to(),
    })
}

/// Refuses to hand out an item crmsync itself would refuse to read back
/// (R-MAP-18): written, it would sit quarantined on the server for good.
pub(crate) fn check_written(format: Format, item: String) -> Result<String, MappingError> {
    if item.len() > MAX_ITEM_BYTES {
        return Err(MappingError::TooLargeToWrite {
            format,
            size: item.len(),
            limit: MAX_ITEM_BYTES,
        });
    }
    Ok(item)
}

/// Splits text into logical lines, checking that each one is a content line.
pub(crate) fn split_lines(format: Format, input: &str) -> Result<Vec<RawLine>, MappingError> {
    check_bytes(format, input.as_bytes())?;
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut lines: Vec<RawLine> = Vec::new();
    let mut current: Option<RawLine> = None;
    for (idx, physical) in input.split_inclusive('\n').enumerate() {
        let line_no = idx + 1;
        let content = physical.trim_end_matches('\n').trim_end_matches('\r');
        if let Some(bad) = has_control(content)
            .then(|| content.chars().find(|c| c.is_control() && *c != '\t'))
            .flatten()
        {
            return Err(MappingError::malformed(
                format,
                line_no,
                format!(
                    "control character U+{:04X}: binary data is not a valid content line",
                    bad as u32
                ),
            ));
        }
        if let Some(rest) = content.strip_prefix([' ', '\t']) {
            // RFC 5545 §3.1 / RFC 6350 §3.2: a fold is a line end followed by one blank.
            let Some(cur) = current.as_mut() else {
                return Err(MappingError::malformed(
                    format,
                    line_no,
                    "continuation line with no property before it (broken folding)",
                ));
            };
            cur.raw.push_str(physical);
            cur.text.push_str(rest);
            continue;
        }
        if let Some(cur) = current.as_mut().filter(|c| is_qp_soft_break(c)) {
            // vCard 2.1 quoted-printable: a trailing `=` continues the value on
            // the next line, without a leading blank. calcard decodes it.
            cur.raw.push_str(physical);
            cur.text.push_str("\r\n");
            cur.text.push_str(content);
            continue;
        }
        if let Some(done) = current.take() {
            lines.push(finish(format, done)?);
        }
        if content.is_empty() {
            // Blank lines carry nothing; some exporters end files with one.
            continue;
        }
        current = Some(RawLine {
            raw: physical.to_string(),
            text: content.to_string(),
            line_no,
            group: None,
            name: String::new(),
        });
    }
    if let Some(done) = current.take() {
        lines.push(finish(format, done)?);
    }
    Ok(lines)
}

/// Does `line` hold a control character other than a tab (Unicode `Cc`:
/// U+0000–U+001F, U+007F–U+009F)? Read as bytes: decoding every character
/// of every line cost a tenth of reading a card (R-PERF-6). U+0080–U+009F
/// are the only `Cc` characters beyond ASCII, encoded 0xC2 0x80–0x9F.
fn has_control(line: &str) -> bool {
    let bytes = line.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\t' => false,
        0x00..=0x1F | 0x7F => true,
        0xC2 => bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)),
        _ => false,
    })
}

fn finish(format: Format, mut line: RawLine) -> Result<RawLine, MappingError> {
    let name_end = line.text.find([';', ':']).unwrap_or(line.text.len());
    let full_name = &line.text[..name_end];
    let valid_name = !full_name.is_empty()
        && full_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
    if !valid_name || value_colon(&line.text).is_none() {
        let shown: String = line.text.chars().take(40).collect();
        return Err(MappingError::malformed(
            format,
            line.line_no,
            format!("{shown:?} is not a content line (NAME:value); broken folding or a stray line break"),
        ));
    }
    let (group, name) = match full_name.rsplit_once('.') {
        Some((g, n)) => (Some(g.to_string()), n),
        None => (None, full_name),
    };
    line.group = group;
    line.name = name.to_ascii_uppercase();
    if !line.raw.ends_with('\n') {
        // The last line of a file may lack its line end; the renderer writes whole lines.
        line.raw.push_str("\r\n");
    }
    Ok(line)
}

fn is_qp_soft_break(line: &RawLine) -> bool {
    line.text.ends_with('=')
        && value_colon(&line.text).is_some_and(|i| line.text[..i].to_ascii_uppercase().contains("QUOTED-PRINTABLE"))
}

/// Index of the `:` that separates name and parameters from the value.
fn value_colon(text: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// A component with its lines and sub-components, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawComponent {
    /// Upper-cased component name (`VEVENT`).
    pub name: String,
    pub begin: RawLine,
    pub end: RawLine,
    pub children: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Prop(RawLine),
    Comp(RawComponent),
}

impl RawComponent {
    pub fn props(&self) -> impl Iterator<Item = &RawLine> {
        self.children.iter().filter_map(|n| match n {
            Node::Prop(p) => Some(p),
            Node::Comp(_) => None,
        })
    }

    /// Moves the property lines out (sub-components are dropped), leaving
    /// BEGIN and END: for a reader that owns its lines (R-PERF-5).
    pub fn take_props(&mut self) -> Vec<RawLine> {
        std::mem::take(&mut self.children)
            .into_iter()
            .filter_map(|node| match node {
                Node::Prop(line) => Some(line),
                Node::Comp(_) => None,
            })
            .collect()
    }

    pub fn components(&self) -> impl Iterator<Item = &RawComponent> {
        self.children.iter().filter_map(|n| match n {
            Node::Comp(c) => Some(c),
            Node::Prop(_) => None,
        })
    }

    pub fn prop(&self, name: &str) -> Option<&RawLine> {
        self.props().find(|p| p.is(name))
    }

    /// Writes the component back exactly as it was read.
    pub fn write_raw(&self, out: &mut String) {
        out.push_str(&self.begin.raw);
        for child in &self.children {
            match child {
                Node::Prop(p) => out.push_str(&p.raw),
                Node::Comp(c) => c.write_raw(out),
            }
        }
        out.push_str(&self.end.raw);
    }
}

/// Builds the component tree; the input must be exactly one top-level component.
pub(crate) fn parse_tree(format: Format, lines: Vec<RawLine>) -> Result<RawComponent, MappingError> {
    let mut stack: Vec<(RawLine, String, Vec<Node>)> = Vec::new();
    let mut root: Option<RawComponent> = None;
    for line in lines {
        if line.is("BEGIN") {
            if root.is_some() {
                return Err(MappingError::WrongComponent {
                    format,
                    expected: "one item per file".into(),
                    found: format!("a second BEGIN on line {}", line.line_no),
                });
            }
            let name = line.value_text().trim().to_ascii_uppercase();
            stack.push((line, name, Vec::new()));
        } else if line.is("END") {
            let name = line.value_text().trim().to_ascii_uppercase();
            let Some((begin, open, children)) = stack.pop() else {
                return Err(MappingError::malformed(
                    format,
                    line.line_no,
                    format!("END:{name} without BEGIN"),
                ));
            };
            if open != name {
                return Err(MappingError::malformed(
                    format,
                    line.line_no,
                    format!("END:{name} closes BEGIN:{open} of line {}", begin.line_no),
                ));
            }
            let comp = RawComponent {
                name,
                begin,
                end: line,
                children,
            };
            match stack.last_mut() {
                Some((_, _, parent)) => parent.push(Node::Comp(comp)),
                None => root = Some(comp),
            }
        } else {
            match stack.last_mut() {
                Some((_, _, children)) => children.push(Node::Prop(line)),
                None => {
                    let line_no = line.line_no;
                    return Err(MappingError::malformed(
                        format,
                        line_no,
                        format!("property {} outside BEGIN/END", line.name),
                    ));
                }
            }
        }
    }
    if let Some((begin, open, _)) = stack.pop() {
        return Err(MappingError::malformed(
            format,
            begin.line_no,
            format!("BEGIN:{open} is never closed"),
        ));
    }
    root.ok_or_else(|| MappingError::malformed(format, 1, "empty item: no BEGIN line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_folds_and_line_ends_verbatim() {
        let text = "BEGIN:VCARD\r\nNOTE:abc\r\n  def\r\nX-A;x-p=\"a:b\":v\nEND:VCARD";
        let lines = split_lines(Format::VCard, text).unwrap();
        assert_eq!(lines[1].raw, "NOTE:abc\r\n  def\r\n");
        assert_eq!(lines[1].text, "NOTE:abc def");
        assert_eq!(lines[2].value_text(), "v");
        assert_eq!(lines[3].raw, "END:VCARD\r\n");
    }

    #[test]
    fn group_is_split_from_name() {
        let lines = split_lines(Format::VCard, "item1.tel;type=CELL:1\r\n").unwrap();
        assert_eq!(lines[0].group.as_deref(), Some("item1"));
        assert_eq!(lines[0].name, "TEL");
    }

    #[test]
    fn broken_folding_names_the_line() {
        let err = split_lines(
            Format::VCard,
            "BEGIN:VCARD\r\nNOTE:first\r\nsecond half\r\nEND:VCARD\r\n",
        )
        .unwrap_err();
        assert_eq!(err.line(), Some(3));
    }

    proptest::proptest! {
        /// R-PERF-6: the byte scan finds a control character exactly where
        /// `char::is_control` does (tabs allowed), for any text, C1 controls
        /// and their neighbours in UTF-8 included.
        #[test]
        fn r_perf_6_byte_scan_finds_the_control_characters_chars_find(
            text in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{a0}\\u{100}\\u{2028}])*",
        ) {
            let by_char = text.chars().any(|c| c.is_control() && c != '\t');
            proptest::prop_assert_eq!(has_control(&text), by_char);
        }
    }
}
