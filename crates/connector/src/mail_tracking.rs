//! The tracking triggers and limits of a mail connector's profile
//! (R-TRACK-4, R-TRACK-8), each with the SPEC's default. Kept beside the
//! connector settings (`tracking = { … }`) so every entry point (config file,
//! API, stored catalog) carries them unchanged.

use serde::{Deserialize, Serialize};

/// ```toml
/// # connector = { kind = "imap", …, tracking = { … } }
/// folder = "CRM"                 # every message in it is tracked; "" = off
/// keyword = "$CRM"               # messages with it (a Thunderbird tag) are tracked; "" = off
/// replies = true                 # replies to tracked messages are tracked
/// watch = ["INBOX"]              # where keyword and replies are looked for
/// attachment_cap_bytes = 1048576 # attachment content kept up to this size
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailTracking {
    /// The tracking folder, created when missing; empty: no folder trigger.
    pub folder: String,
    /// The tracking keyword; empty: no keyword trigger.
    pub keyword: String,
    /// Track replies (In-Reply-To / References) to tracked messages.
    pub replies: bool,
    /// Folders searched for the keyword and for replies.
    pub watch: Vec<String>,
    /// Attachments larger than this keep their metadata only (listed as skipped).
    pub attachment_cap_bytes: u64,
    /// The keyword crmsync sets on tracked messages (R-TRACK-9).
    pub tracked_keyword: String,
}

impl Default for MailTracking {
    fn default() -> Self {
        MailTracking {
            folder: "CRM".into(),
            keyword: "$CRM".into(),
            replies: true,
            watch: vec!["INBOX".into()],
            attachment_cap_bytes: 1024 * 1024,
            tracked_keyword: "$CRMTracked".into(),
        }
    }
}

impl MailTracking {
    /// Checks the options; the error names the key at fault.
    pub fn validate(&self) -> Result<(), String> {
        let is_atom = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_graphic() && !"(){%*\"\\]".contains(c));
        if !self.keyword.is_empty() && !is_atom(&self.keyword) {
            return Err("mail.keyword: an IMAP keyword has no blanks or ( ) { % * \" \\ ]".into());
        }
        if !is_atom(&self.tracked_keyword) {
            return Err("mail.tracked_keyword: must be an IMAP keyword such as $CRMTracked".into());
        }
        if self.folder.is_empty() && self.keyword.is_empty() {
            return Err("mail: set a tracking folder or a keyword, else nothing is ever tracked".into());
        }
        if self.watch.iter().any(|f| f.trim().is_empty()) {
            return Err("mail.watch: folder names must not be empty".into());
        }
        Ok(())
    }

    /// The folders one poll looks at: the tracking folder first, then the
    /// watched ones (when the keyword or reply trigger needs them), once each.
    pub fn folders(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.folder.is_empty() {
            out.push(self.folder.clone());
        }
        if !self.keyword.is_empty() || self.replies {
            for f in &self.watch {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-TRACK-4
    #[test]
    fn r_track_4_defaults_are_folder_crm_keyword_crm_and_replies_on() {
        let t = MailTracking::default();
        assert_eq!(
            (t.folder.as_str(), t.keyword.as_str(), t.replies),
            ("CRM", "$CRM", true)
        );
        assert_eq!(t.folders(), ["CRM", "INBOX"]);
        t.validate().unwrap();
        let bad = MailTracking {
            keyword: "my tag".into(),
            ..MailTracking::default()
        };
        assert!(bad.validate().unwrap_err().starts_with("mail.keyword"));
        let nothing = MailTracking {
            folder: String::new(),
            keyword: String::new(),
            ..MailTracking::default()
        };
        assert!(nothing.validate().is_err());
    }
}
