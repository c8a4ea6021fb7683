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
/// watch = ["INBOX"]              # where keyword, replies and known contacts are looked for
/// known_contacts = false         # all new mail to/from CRM contacts and leads the user may read
/// never_track = []               # addresses ("ceo@example.com") and domains ("example.com")
/// unknown_sender = "off"         # "contact" or "lead": a tracked mail's unknown sender becomes one
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
    /// Folders searched for the keyword, for replies and for known contacts.
    pub watch: Vec<String>,
    /// Track new mail in `watch` whose sender or a To/Cc address is a CRM
    /// contact or lead the tracking user may read (R-TRACK-4, default off).
    pub known_contacts: bool,
    /// Addresses and domains whose mail is never tracked, whatever the
    /// trigger (R-TRACK-4): `ceo@example.com`, `example.com` (and its
    /// subdomains); `@example.com` is read as the domain.
    pub never_track: Vec<String>,
    /// What a tracked incoming e-mail's unknown sender becomes (R-TRACK-2).
    pub unknown_sender: UnknownSender,
    /// Attachments larger than this keep their metadata only (listed as skipped).
    pub attachment_cap_bytes: u64,
    /// The keyword crmsync sets on tracked messages (R-TRACK-9).
    pub tracked_keyword: String,
}

/// R-TRACK-2: an incoming tracked e-mail whose sender resolves to no CRM
/// user, contact or lead may create one, owned by the tracking user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownSender {
    /// The sender stays a plain e-mail party.
    #[default]
    Off,
    Contact,
    Lead,
}

impl Default for MailTracking {
    fn default() -> Self {
        MailTracking {
            folder: "CRM".into(),
            keyword: "$CRM".into(),
            replies: true,
            watch: vec!["INBOX".into()],
            known_contacts: false,
            never_track: Vec::new(),
            unknown_sender: UnknownSender::Off,
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
        if self.folder.is_empty() && self.keyword.is_empty() && !self.known_contacts {
            return Err(
                "mail: set a tracking folder, a keyword or known_contacts, else nothing is ever tracked".into(),
            );
        }
        if self.watch.iter().any(|f| f.trim().is_empty()) {
            return Err("mail.watch: folder names must not be empty".into());
        }
        for entry in &self.never_track {
            if never_track_entry(entry).is_none() {
                return Err(format!(
                    "mail.never_track: {:?} is neither an address (name@example.com) nor a domain (example.com)",
                    entry.escape_debug().to_string()
                ));
            }
        }
        Ok(())
    }

    /// Whether mail involving `address` is never tracked (R-TRACK-4).
    pub fn never_tracks(&self, address: &str) -> bool {
        let address = address.trim().to_ascii_lowercase();
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        self.never_track
            .iter()
            .filter_map(|e| never_track_entry(e))
            .any(|entry| match entry {
                NeverTrack::Address(a) => a == address,
                NeverTrack::Domain(d) => {
                    domain == d || domain.strip_suffix(d.as_str()).is_some_and(|s| s.ends_with('.'))
                }
            })
    }

    /// The folders one poll looks at: the tracking folder first, then the
    /// watched ones (when the keyword or reply trigger needs them), once each.
    pub fn folders(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.folder.is_empty() {
            out.push(self.folder.clone());
        }
        if !self.keyword.is_empty() || self.replies || self.known_contacts {
            for f in &self.watch {
                if !out.contains(f) {
                    out.push(f.clone());
                }
            }
        }
        out
    }
}

enum NeverTrack {
    Address(String),
    Domain(String),
}

/// A never-track entry, lower-cased; `None` when it is malformed.
fn never_track_entry(entry: &str) -> Option<NeverTrack> {
    let e = entry.trim().to_ascii_lowercase();
    let plain = |s: &str| !s.is_empty() && !s.contains('@') && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    match e.split_once('@') {
        None if plain(&e) => Some(NeverTrack::Domain(e)),
        Some(("", domain)) if plain(domain) => Some(NeverTrack::Domain(domain.to_string())),
        Some((local, domain)) if plain(local) && plain(domain) => Some(NeverTrack::Address(e.clone())),
        _ => None,
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

    // R-TRACK-4
    #[test]
    fn r_track_4_never_track_matches_addresses_domains_and_subdomains() {
        let t = MailTracking {
            never_track: vec!["CEO@Example.com".into(), "private.example".into(), "@hr.example".into()],
            ..MailTracking::default()
        };
        t.validate().unwrap();
        assert!(t.never_tracks("ceo@example.com"));
        assert!(
            !t.never_tracks("sales@example.com"),
            "an address entry is that address only"
        );
        assert!(t.never_tracks("Anna@PRIVATE.example"));
        assert!(t.never_tracks("anna@mail.private.example"), "subdomains are covered");
        assert!(
            !t.never_tracks("anna@notprivate.example"),
            "not a suffix match on the name"
        );
        assert!(t.never_tracks("boss@hr.example"));
        for bad in ["", "two words.example", "a@b@c", "name@"] {
            let t = MailTracking {
                never_track: vec![bad.into()],
                ..MailTracking::default()
            };
            assert!(t.validate().unwrap_err().starts_with("mail.never_track"), "{bad:?}");
        }
    }

    // R-TRACK-4, R-TRACK-2
    #[test]
    fn r_track_4_known_contacts_and_unknown_sender_default_off_and_unknown_keys_are_refused() {
        let t = MailTracking::default();
        assert!(!t.known_contacts);
        assert_eq!(t.unknown_sender, UnknownSender::Off);
        let read: MailTracking =
            toml::from_str("known_contacts = true\nunknown_sender = \"lead\"\nnever_track = [\"x.example\"]").unwrap();
        assert!(read.known_contacts);
        assert_eq!(read.unknown_sender, UnknownSender::Lead);
        assert!(toml::from_str::<MailTracking>("known_contact = true").is_err());
        assert!(toml::from_str::<MailTracking>("unknown_sender = \"account\"").is_err());
        // Known contacts alone is a trigger.
        let only_contacts = MailTracking {
            folder: String::new(),
            keyword: String::new(),
            known_contacts: true,
            ..MailTracking::default()
        };
        only_contacts.validate().unwrap();
        assert_eq!(only_contacts.folders(), ["INBOX"]);
    }
}
