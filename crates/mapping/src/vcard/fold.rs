//! Writes the text properties crmsync maps as folded content lines (RFC 6350
//! §3.2: a line over 75 octets continues after CRLF and one space), byte for
//! byte as calcard's `VCardEntry::write_to` writes them in vCard 4.0 syntax.
//!
//! Why not calcard's writer: it needs an owned `VCardEntry` (every value and
//! parameter copied into it first) and folds through a generic `fmt::Write`
//! one character at a time; together about a fifth of a merge's cost per
//! record (R-PERF-6). No crate writes vCard lines from borrowed parts, and
//! the rules are small: escape `\`, CR, LF, and `;`/`,` where the property's
//! value type asks; fold at 75 octets without splitting a character or an
//! escape. What this writer does not know (a parameter or value of another
//! kind) is left to calcard: `write_line` answers `false` and writes nothing.
//! A proptest holds it to calcard's output on generated entries.

use calcard::common::IanaString;
use calcard::vcard::{
    VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty, VCardValue, VCardValueType,
};

/// calcard's fold width: octets per physical line, the leading space of a
/// continuation included.
const MAX_LINE: usize = 75;

/// One value of a property line.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Str(&'a str),
    /// A value kept from the previous card (a PO box, a sub-unit).
    Kept(&'a VCardValue),
}

impl Value<'_> {
    /// An empty text value: a trailing one is dropped from ORG.
    pub(crate) fn is_empty_text(&self) -> bool {
        self.text().is_some_and(str::is_empty)
    }

    fn text(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Kept(VCardValue::Text(s)) => Some(s),
            Value::Kept(_) => None,
        }
    }
}

/// A property line's parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Params<'a> {
    /// The previous card's, kept as they were.
    Kept(&'a [VCardParameter]),
    /// `TYPE=` these types, joined by commas.
    Types(&'a [calcard::vcard::VCardType]),
    /// `TYPE=INTERNET` (an e-mail in vCard 3.0).
    Internet,
}

/// Writes one property line to `out`, or nothing and `false` when a
/// parameter or value is of a kind only calcard writes.
pub(crate) fn write_line(
    out: &mut String,
    group: Option<&str>,
    name: &VCardProperty,
    params: Params<'_>,
    values: &[Value<'_>],
) -> bool {
    if !writable(name, params, values) {
        return false;
    }
    let mut line = Folder { out, len: 0 };
    if let Some(group) = group {
        line.atomic(group);
        line.atomic(".");
    }
    line.atomic(name.as_str());
    let mut value_type = None;
    match params {
        Params::Kept(params) => {
            let mut last: Option<&VCardParameterName> = None;
            for param in params {
                if last == Some(&param.name) {
                    line.atomic(",");
                } else {
                    line.atomic(";");
                    line.atomic(param.name.as_str());
                    if !matches!(param.value, VCardParameterValue::Null) {
                        line.atomic("=");
                    }
                    last = Some(&param.name);
                }
                match &param.value {
                    VCardParameterValue::Text(v) => line.param_value(v),
                    VCardParameterValue::Type(t) => line.param_value(t.as_str()),
                    VCardParameterValue::ValueType(t) => {
                        value_type.get_or_insert(t);
                        line.param_value(t.as_str());
                    }
                    _ => last = None,
                }
            }
        }
        Params::Types(types) => {
            for (i, t) in types.iter().enumerate() {
                line.atomic(if i == 0 { ";TYPE=" } else { "," });
                line.param_value(t.as_str());
            }
        }
        Params::Internet => line.atomic(";TYPE=INTERNET"),
    }
    line.atomic(":");
    let (escape_semicolon, escape_comma) = escapes(name, value_type);
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            line.atomic(";");
        }
        match value {
            Value::Str(s) => line.text(s, escape_semicolon, escape_comma),
            Value::Kept(VCardValue::Text(s)) => line.text(s, escape_semicolon, escape_comma),
            Value::Kept(VCardValue::Component(items)) => {
                for (j, item) in items.iter().enumerate() {
                    if j > 0 {
                        line.atomic(",");
                    }
                    line.text(item, true, true);
                }
            }
            // Refused by `writable`.
            Value::Kept(_) => {}
        }
    }
    line.out.push_str("\r\n");
    true
}

fn writable(name: &VCardProperty, params: Params<'_>, values: &[Value<'_>]) -> bool {
    // The properties `escapes` knows.
    let known = matches!(
        name,
        VCardProperty::Uid
            | VCardProperty::Fn
            | VCardProperty::N
            | VCardProperty::Org
            | VCardProperty::Title
            | VCardProperty::Url
            | VCardProperty::Email
            | VCardProperty::Tel
            | VCardProperty::Adr
            | VCardProperty::Note
    );
    let simple_params = match params {
        Params::Kept(params) => params.iter().all(|p| {
            matches!(
                p.value,
                VCardParameterValue::Text(_)
                    | VCardParameterValue::Type(_)
                    | VCardParameterValue::ValueType(_)
                    | VCardParameterValue::Null
            )
        }),
        Params::Types(_) | Params::Internet => true,
    };
    known
        && simple_params
        && values.iter().all(|v| {
            matches!(
                v,
                Value::Str(_) | Value::Kept(VCardValue::Text(_) | VCardValue::Component(_))
            )
        })
}

/// Which of `;` and `,` a text value escapes: by the value type (a VALUE
/// parameter, else the property's default) and by what separates the
/// property's values, as calcard decides, for the properties `writable`
/// lets through (UID and URL are URIs, the others text).
fn escapes(name: &VCardProperty, value_type: Option<&VCardValueType>) -> (bool, bool) {
    let is_text = match value_type {
        Some(t) => *t == VCardValueType::Text,
        None => !matches!(name, VCardProperty::Uid | VCardProperty::Url),
    };
    match name {
        VCardProperty::N | VCardProperty::Adr => (true, true),
        VCardProperty::Org => (true, is_text),
        _ => (is_text, is_text),
    }
}

/// A line being written: `len` octets on the current physical line.
struct Folder<'a> {
    out: &'a mut String,
    len: usize,
}

impl Folder<'_> {
    fn fold(&mut self) {
        self.out.push_str("\r\n ");
        self.len = 1;
    }

    /// A piece never split by a fold (a name, a separator, an escape);
    /// longer than a line, it is split like text.
    fn atomic(&mut self, piece: &str) {
        if piece.len() >= MAX_LINE {
            return self.split(piece);
        }
        if self.len + piece.len() > MAX_LINE {
            self.fold();
        }
        self.out.push_str(piece);
        self.len += piece.len();
    }

    /// Text folded wherever a line fills, at character boundaries.
    fn split(&mut self, mut rest: &str) {
        loop {
            let room = MAX_LINE.saturating_sub(self.len);
            if rest.len() <= room {
                self.out.push_str(rest);
                self.len += rest.len();
                return;
            }
            let mut at = room;
            while at > 0 && !rest.is_char_boundary(at) {
                at -= 1;
            }
            if at == 0 {
                self.fold();
                continue;
            }
            self.out.push_str(&rest[..at]);
            self.len += at;
            rest = &rest[at..];
        }
    }

    /// Unescaped characters run to the next character that needs an escape,
    /// then fold as one piece of text: the same places a character-by-
    /// character writer folds at.
    fn text(&mut self, value: &str, escape_semicolon: bool, escape_comma: bool) {
        let mut start = 0;
        for (i, c) in value.char_indices() {
            let escape = match c {
                '\r' => "\\r",
                '\n' => "\\n",
                '\\' => "\\\\",
                ';' if escape_semicolon => "\\;",
                ',' if escape_comma => "\\,",
                _ => continue,
            };
            self.split(&value[start..i]);
            self.atomic(escape);
            start = i + c.len_utf8();
        }
        self.split(&value[start..]);
    }

    /// A parameter value, quoted when it holds a separator; characters a
    /// parameter cannot carry are dropped, as calcard drops them.
    fn param_value(&mut self, value: &str) {
        let quoted = value
            .bytes()
            .any(|b| matches!(b, b',' | b':' | b'=' | b' ' | b';' | b'"'));
        if quoted {
            self.atomic("\"");
        }
        let mut buf = [0u8; 4];
        for c in value.chars() {
            match c as u32 {
                0x0A => self.atomic("\\n"),
                0x0D => self.atomic("\\r"),
                0x5C => self.atomic("\\\\"),
                0x22 => self.atomic("\\\""),
                0x20 | 0x09 | 0x21 | 0x23..=0x7E | 0x80.. => self.split(c.encode_utf8(&mut buf)),
                _ => {}
            }
        }
        if quoted {
            self.atomic("\"");
        }
    }
}

#[cfg(test)]
mod tests {
    use calcard::vcard::{VCardEntry, VCardType};
    use proptest::prelude::*;

    use super::*;

    fn property() -> impl Strategy<Value = VCardProperty> {
        prop::sample::select(vec![
            VCardProperty::Uid,
            VCardProperty::Fn,
            VCardProperty::N,
            VCardProperty::Org,
            VCardProperty::Title,
            VCardProperty::Url,
            VCardProperty::Email,
            VCardProperty::Tel,
            VCardProperty::Adr,
            VCardProperty::Note,
        ])
    }

    /// Text with everything that is escaped, quoted, dropped or folded:
    /// separators, quotes, backslashes, line breaks, controls, multi-byte
    /// characters, up to twice a line's width.
    fn text() -> impl Strategy<Value = String> {
        "[ a-zA-Z0-9é€😀,;:=\"\\\\\r\n\t\x01.@-]{0,150}"
    }

    fn param() -> impl Strategy<Value = VCardParameter> {
        let name = prop::sample::select(vec![
            VCardParameterName::Type,
            VCardParameterName::Value,
            VCardParameterName::Pref,
            VCardParameterName::Language,
            VCardParameterName::Other("X-LABEL".into()),
        ]);
        let value = prop_oneof![
            text().prop_map(VCardParameterValue::Text),
            prop::sample::select(vec![
                VCardType::Work,
                VCardType::Home,
                VCardType::Cell,
                VCardType::MainNumber
            ])
            .prop_map(VCardParameterValue::Type),
            prop::sample::select(vec![VCardValueType::Text, VCardValueType::Uri, VCardValueType::Date])
                .prop_map(VCardParameterValue::ValueType),
            Just(VCardParameterValue::Null),
        ];
        (name, value).prop_map(|(name, value)| VCardParameter { name, value })
    }

    fn value() -> impl Strategy<Value = VCardValue> {
        prop_oneof![
            4 => text().prop_map(VCardValue::Text),
            1 => prop::collection::vec(text(), 0..3).prop_map(VCardValue::Component),
        ]
    }

    proptest! {
        /// R-PERF-6: a line written from borrowed parts is byte for byte
        /// the line calcard writes for the same entry (vCard 4.0 syntax, as
        /// the renderer asks of calcard), folds, escapes and quoting alike.
        #[test]
        fn r_perf_6_written_line_is_calcards(
            name in property(),
            group in proptest::option::of("[a-z]{1,70}"),
            params in prop::collection::vec(param(), 0..4),
            values in prop::collection::vec(value(), 1..8),
        ) {
            let entry = VCardEntry { group: group.clone(), name: name.clone(), params: params.clone(), values: values.clone() };
            let mut calcards = String::new();
            entry.write_to(&mut calcards, true).unwrap();
            let borrowed: Vec<Value<'_>> = values.iter().map(Value::Kept).collect();
            let mut ours = String::new();
            prop_assert!(write_line(&mut ours, group.as_deref(), &name, Params::Kept(&params), &borrowed));
            prop_assert_eq!(&ours, &calcards);
            // The same values given as text, where they are text.
            let as_str: Vec<Value<'_>> = values
                .iter()
                .map(|v| match v { VCardValue::Text(s) => Value::Str(s), v => Value::Kept(v) })
                .collect();
            let mut ours = String::new();
            prop_assert!(write_line(&mut ours, group.as_deref(), &name, Params::Kept(&params), &as_str));
            prop_assert_eq!(ours, calcards);
        }

        /// R-PERF-6: the parameters a fresh card writes (TYPE lists, TYPE=INTERNET)
        /// are calcard's too.
        #[test]
        fn r_perf_6_fresh_parameters_are_calcards(
            name in property(),
            types in prop::collection::vec(
                prop::sample::select(vec![VCardType::Work, VCardType::Home, VCardType::Voice, VCardType::Fax, VCardType::Cell]),
                0..3,
            ),
            internet in any::<bool>(),
            value in text(),
        ) {
            let (params, fresh) = if internet {
                (vec![VCardParameter { name: VCardParameterName::Type, value: VCardParameterValue::Text("INTERNET".into()) }], Params::Internet)
            } else {
                (
                    types.iter().map(|t| VCardParameter { name: VCardParameterName::Type, value: VCardParameterValue::Type(t.clone()) }).collect(),
                    Params::Types(&types),
                )
            };
            let entry = VCardEntry { group: None, name: name.clone(), params, values: vec![VCardValue::Text(value.clone())] };
            let mut calcards = String::new();
            entry.write_to(&mut calcards, true).unwrap();
            let mut ours = String::new();
            prop_assert!(write_line(&mut ours, None, &name, fresh, &[Value::Str(&value)]));
            prop_assert_eq!(ours, calcards);
        }
    }

    /// What this writer does not know is left to calcard: nothing written.
    #[test]
    fn r_perf_6_other_kinds_are_left_to_calcard() {
        let mut out = String::new();
        let number = VCardValue::Integer(1);
        assert!(!write_line(
            &mut out,
            None,
            &VCardProperty::Note,
            Params::Types(&[]),
            &[Value::Kept(&number)]
        ));
        let pref = [VCardParameter {
            name: VCardParameterName::Pref,
            value: VCardParameterValue::Integer(1),
        }];
        assert!(!write_line(
            &mut out,
            None,
            &VCardProperty::Tel,
            Params::Kept(&pref),
            &[Value::Str("1")]
        ));
        assert!(!write_line(
            &mut out,
            None,
            &VCardProperty::Photo,
            Params::Types(&[]),
            &[Value::Str("x")]
        ));
        assert!(out.is_empty());
    }
}
