//! What an e-mail activity holds beyond the shared activity fields
//! (R-TRACK-8): the parties by header, direction, times, both bodies, the
//! attachments and the thread references. The HTML body is kept as received
//! and never rendered here: whoever shows it must sanitise it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::activity::Party;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailDirection {
    /// Sent to the tracking user by someone else.
    Incoming,
    /// Sent by the tracking user (its From is a CRM user).
    Outgoing,
}

/// One attachment: metadata always, the content only up to the profile's cap
/// (`skipped` says it was left out, so nothing is lost silently).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmailAttachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub content_type: String,
    pub size: u64,
    /// The decoded content in base64; `None` when skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
    /// The content was larger than the cap and was not kept.
    #[serde(default)]
    pub skipped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EmailDetails {
    pub direction: EmailDirection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<Party>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<Party>,
    /// The message's Date header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
    /// When the first tracking mailbox received it (IMAP INTERNALDATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_body: Option<String>,
    /// Kept verbatim, never rendered unsanitised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_body: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<EmailAttachment>,
    /// In-Reply-To, normalised Message-IDs (without angle brackets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<String>,
    /// References, normalised, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// The identity form of a Message-ID (R-TRACK-5): without angle brackets and
/// surrounding blanks. `None` for an empty one.
pub fn normalize_message_id(raw: &str) -> Option<String> {
    let id = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    (!id.is_empty()).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-TRACK-5
    #[test]
    fn r_track_5_message_ids_compare_without_brackets_and_blanks() {
        assert_eq!(
            normalize_message_id(" <a.b@example.com> ").as_deref(),
            Some("a.b@example.com")
        );
        assert_eq!(
            normalize_message_id("a.b@example.com").as_deref(),
            Some("a.b@example.com")
        );
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id("  "), None);
    }
}
