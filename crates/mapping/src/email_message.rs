//! An RFC 5322 message → what the CRM e-mail holds (R-TRACK-5, R-TRACK-8),
//! parsed with `mail-parser` (MIME, encoded words, charsets). Lenient like a
//! mail client: a message with broken headers still yields what can be read,
//! since refusing it would lose a mail the user asked to track.

use base64::Engine;
use chrono::{DateTime, Utc};
use crmsync_model::{EmailAttachment, normalize_message_id};
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::error::{Format, MappingError};

/// One address of a From/To/Cc header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub email: String,
    pub name: Option<String>,
}

/// A parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
    /// The identity (R-TRACK-5): the normalised Message-ID, else
    /// `digest:` + SHA-256 of Date, From, To, Subject and the text body.
    pub message_key: String,
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub from: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub sent_at: Option<DateTime<Utc>>,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub attachments: Vec<EmailAttachment>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
}

/// Parses `raw`; attachment content is kept up to `attachment_cap` bytes per
/// attachment (larger ones keep their metadata and are marked skipped).
pub fn parse_email(raw: &[u8], attachment_cap: u64) -> Result<ParsedEmail, MappingError> {
    let message = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| MappingError::Malformed {
            format: Format::Email,
            line: 1,
            message: "no RFC 5322 header found".into(),
        })?;
    let message_id = message.message_id().and_then(normalize_message_id);
    let subject = message
        .subject()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let from = message.from().and_then(|a| addresses(a).into_iter().next());
    let to = message.to().map(addresses).unwrap_or_default();
    let cc = message.cc().map(addresses).unwrap_or_default();
    let sent_at = message
        .date()
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0));
    let text_body = message.body_text(0).map(|b| b.into_owned());
    let html_body = message
        .html_part(0)
        .map(|p| String::from_utf8_lossy(p.contents()).into_owned());
    let attachments = message
        .attachments()
        .map(|part| {
            let content = part.contents();
            let size = content.len() as u64;
            let keep = size <= attachment_cap;
            EmailAttachment {
                name: part.attachment_name().map(str::to_string),
                content_type: part
                    .content_type()
                    .map(|ct| match &ct.c_subtype {
                        Some(sub) => format!("{}/{}", ct.c_type, sub),
                        None => ct.c_type.to_string(),
                    })
                    .unwrap_or_else(|| "application/octet-stream".into())
                    .to_ascii_lowercase(),
                size,
                content_base64: keep.then(|| base64::engine::general_purpose::STANDARD.encode(content)),
                skipped: !keep,
            }
        })
        .collect();
    let in_reply_to = id_list(message.in_reply_to());
    let references = id_list(message.references());
    let message_key = match &message_id {
        Some(id) => id.clone(),
        None => digest_key(
            message.header_raw("Date").unwrap_or_default(),
            message.header_raw("From").unwrap_or_default(),
            message.header_raw("To").unwrap_or_default(),
            message.header_raw("Subject").unwrap_or_default(),
            text_body.as_deref().unwrap_or_default(),
        ),
    };
    Ok(ParsedEmail {
        message_key,
        message_id,
        subject,
        from,
        to,
        cc,
        sent_at,
        text_body,
        html_body,
        attachments,
        in_reply_to,
        references,
    })
}

/// The key of a message without Message-ID: the same message in two mailboxes
/// (or after a UIDVALIDITY reset) gives the same digest.
fn digest_key(date: &str, from: &str, to: &str, subject: &str, body: &str) -> String {
    let mut hash = Sha256::new();
    for part in [date, from, to, subject, body] {
        hash.update(part.trim().as_bytes());
        hash.update([0u8]);
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("digest:{hex}")
}

fn addresses(address: &Address<'_>) -> Vec<MailAddress> {
    address
        .iter()
        .filter_map(|a| {
            let email = a.address.as_deref()?.trim();
            (!email.is_empty()).then(|| MailAddress {
                email: email.to_string(),
                name: a
                    .name
                    .as_deref()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
            })
        })
        .collect()
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .filter_map(|id| normalize_message_id(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &[u8] = b"Message-ID: <m1@example.com>\r\nFrom: Anna <anna@example.com>\r\n\
To: bob@example.org, Carl <carl@example.net>\r\nCc: dora@example.com\r\n\
Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n\
In-Reply-To: <m0@example.com>\r\nReferences: <r1@example.com> <m0@example.com>\r\n\r\nHello\r\n";

    // R-TRACK-8
    #[test]
    fn r_track_8_headers_bodies_and_thread_are_read() {
        let m = parse_email(PLAIN, 1024).unwrap();
        assert_eq!(m.message_key, "m1@example.com");
        assert_eq!(m.subject.as_deref(), Some("Grüße"), "encoded word decoded");
        assert_eq!(m.from.as_ref().unwrap().email, "anna@example.com");
        assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("Anna"));
        let to: Vec<&str> = m.to.iter().map(|a| a.email.as_str()).collect();
        assert_eq!(to, ["bob@example.org", "carl@example.net"]);
        assert_eq!(m.cc[0].email, "dora@example.com");
        assert_eq!(m.sent_at.unwrap().to_rfc3339(), "2026-12-01T09:00:00+00:00");
        assert_eq!(m.text_body.as_deref().map(str::trim), Some("Hello"));
        assert_eq!(m.in_reply_to, ["m0@example.com"]);
        assert_eq!(m.references, ["r1@example.com", "m0@example.com"]);
    }

    // R-TRACK-5
    #[test]
    fn r_track_5_a_message_without_message_id_gets_a_stable_digest() {
        let raw = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nDate: Tue, 1 Dec 2026 10:00:00 +0100\r\n\r\nbody\r\n";
        let one = parse_email(raw, 0).unwrap();
        let two = parse_email(raw, 0).unwrap();
        assert!(one.message_key.starts_with("digest:"));
        assert_eq!(one.message_key, two.message_key);
        let other = parse_email(&raw.replace_all(b"body", b"other"), 0).unwrap();
        assert_ne!(one.message_key, other.message_key);
    }

    // R-TRACK-8
    #[test]
    fn r_track_8_attachments_over_the_cap_keep_metadata_only() {
        let raw = b"Message-ID: <a@x>\r\nFrom: a@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee files\r\n\
--b\r\nContent-Type: application/pdf; name=\"small.pdf\"\r\nContent-Disposition: attachment; filename=\"small.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n--b\r\nContent-Type: application/zip\r\n\
Content-Disposition: attachment; filename=\"big.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\nQUJDREVGR0g=\r\n--b--\r\n";
        let m = parse_email(raw, 4).unwrap();
        assert_eq!(m.attachments.len(), 2);
        let small = &m.attachments[0];
        assert_eq!(small.name.as_deref(), Some("small.pdf"));
        assert_eq!(small.content_type, "application/pdf");
        assert_eq!((small.size, small.skipped), (3, false));
        assert_eq!(small.content_base64.as_deref(), Some("QUJD"));
        let big = &m.attachments[1];
        assert_eq!((big.name.as_deref(), big.size, big.skipped), (Some("big.zip"), 8, true));
        assert_eq!(big.content_base64, None);
    }

    #[test]
    fn text_without_headers_is_refused_with_a_clear_error() {
        let err = parse_email(b"", 0).unwrap_err();
        assert!(err.to_string().contains("e-mail"), "{err}");
    }

    trait ReplaceAll {
        fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
    }
    impl ReplaceAll for [u8] {
        fn replace_all(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
            String::from_utf8_lossy(self)
                .replace(std::str::from_utf8(from).unwrap(), std::str::from_utf8(to).unwrap())
                .into_bytes()
        }
    }
}
