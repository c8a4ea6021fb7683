//! What a watching session knows of its folder's flags, so that crmsync's
//! own `$CRMTracked` STORE does not wake the profile (R-TRACK-MAIL-13).
//!
//! A run marks every message it tracks; the server reports that STORE to
//! every session on the folder, the watcher's IDLE included, and without
//! this each tracked message made one more run that found nothing to do.
//! The report alone cannot tell "`$CRMTracked` was added" from "`$CRM` was
//! removed from a marked message" (it carries the flags after, not the
//! change), so the view keeps each message's flags, by sequence number as
//! IMAP numbers them, and a report counts as a change when anything other
//! than the tracked keyword (and `\Recent`, which is per session) differs.

use async_imap::imap_proto::{AttributeValue, MailboxDatum, Response, Status};
use async_imap::types::UnsolicitedResponse;

/// A server report, as far as the view needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// The folder now holds this many messages.
    Exists(u32),
    /// The message with this sequence number is gone; those after move down.
    Expunge(u32),
    /// A message's flags are now these.
    Flags { seq: u32, flags: Vec<String> },
    /// Says nothing about the messages (RECENT count, the folder's list of
    /// flags, an OK with a response code).
    Informational,
    /// Anything else: treated as a change.
    Other,
}

impl Report {
    pub(crate) fn of_response(response: &Response<'_>) -> Report {
        match response {
            Response::MailboxData(MailboxDatum::Exists(n)) => Report::Exists(*n),
            Response::MailboxData(MailboxDatum::Recent(_) | MailboxDatum::Flags(_)) => Report::Informational,
            Response::Expunge(n) => Report::Expunge(*n),
            Response::Fetch(seq, attributes) => attributes
                .iter()
                .find_map(|a| match a {
                    AttributeValue::Flags(flags) => Some(Report::Flags {
                        seq: *seq,
                        flags: flags.iter().map(|f| f.to_string()).collect(),
                    }),
                    _ => None,
                })
                // A FETCH without FLAGS (a MODSEQ alone) changed nothing we read.
                .unwrap_or(Report::Informational),
            Response::Data { status: Status::Ok, .. } => Report::Informational,
            _ => Report::Other,
        }
    }

    pub(crate) fn of_unsolicited(response: &UnsolicitedResponse) -> Report {
        match response {
            UnsolicitedResponse::Exists(n) => Report::Exists(*n),
            UnsolicitedResponse::Expunge(n) => Report::Expunge(*n),
            UnsolicitedResponse::Recent(_) | UnsolicitedResponse::Status { .. } => Report::Informational,
            UnsolicitedResponse::Other(data) => Report::of_response(data.parsed()),
        }
    }
}

/// Each message's flags by sequence number; `None` until read.
#[derive(Debug)]
pub(crate) struct FlagView {
    tracked_keyword: String,
    flags: Vec<Option<Vec<String>>>,
}

impl FlagView {
    pub(crate) fn new(tracked_keyword: &str) -> FlagView {
        FlagView {
            tracked_keyword: tracked_keyword.to_string(),
            flags: Vec::new(),
        }
    }

    /// A freshly selected folder of `exists` messages, flags not read yet.
    pub(crate) fn reset(&mut self, exists: u32) {
        self.flags = vec![None; exists as usize];
    }

    /// The flags read for message `seq` (our own FETCH).
    pub(crate) fn read(&mut self, seq: u32, flags: Vec<String>) {
        if let Some(slot) = index(seq).and_then(|i| self.flags.get_mut(i)) {
            *slot = Some(flags);
        }
    }

    /// The first sequence number whose flags are not known, if any.
    pub(crate) fn first_unread(&self) -> Option<u32> {
        self.flags.iter().position(Option::is_none).map(|i| i as u32 + 1)
    }

    /// Takes a report in; true when it is a change a run must look at.
    pub(crate) fn note(&mut self, report: Report) -> bool {
        match report {
            Report::Exists(n) => {
                // New messages, or (never without EXPUNGE) fewer: a change.
                let before = self.flags.len();
                self.flags.resize(n as usize, None);
                n as usize != before
            }
            Report::Expunge(seq) => {
                if let Some(i) = index(seq).filter(|i| *i < self.flags.len()) {
                    self.flags.remove(i);
                }
                true
            }
            Report::Flags { seq, flags } => {
                let Some(slot) = index(seq).and_then(|i| self.flags.get_mut(i)) else {
                    return true;
                };
                let keyword = &self.tracked_keyword;
                let changed = match slot {
                    Some(before) => meaningful(keyword, before) != meaningful(keyword, &flags),
                    None => true,
                };
                *slot = Some(flags);
                changed
            }
            Report::Informational => false,
            Report::Other => true,
        }
    }
}

/// The flags a run reacts to: all but the tracked keyword (crmsync's own)
/// and `\Recent` (per session), sorted, without case.
fn meaningful(tracked_keyword: &str, flags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = flags
        .iter()
        .filter(|f| !f.eq_ignore_ascii_case(tracked_keyword) && !f.eq_ignore_ascii_case("\\Recent"))
        .map(|f| f.to_ascii_lowercase())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn index(seq: u32) -> Option<usize> {
    (seq as usize).checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(seq: u32, f: &[&str]) -> Report {
        Report::Flags {
            seq,
            flags: f.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn view() -> FlagView {
        let mut v = FlagView::new("$CRMTracked");
        v.reset(2);
        v.read(1, vec!["\\Seen".into(), "$CRM".into()]);
        v.read(2, vec![]);
        v
    }

    #[test]
    fn r_track_mail_13_adding_the_tracked_keyword_is_no_change() {
        let mut v = view();
        assert!(!v.note(flags(1, &["\\Seen", "$CRM", "$CRMTracked"])));
        assert!(!v.note(flags(2, &["$crmtracked", "\\Recent"])));
        // Reported twice (the STORE's and a later sync's): still none.
        assert!(!v.note(flags(2, &["$CRMTracked"])));
        assert!(!v.note(Report::Informational));
    }

    #[test]
    fn r_track_mail_13_every_other_flag_change_is_one() {
        let mut v = view();
        // The tracking keyword removed from a marked message (R-TRACK-10).
        assert!(!v.note(flags(1, &["\\Seen", "$CRM", "$CRMTracked"])));
        assert!(v.note(flags(1, &["\\Seen", "$CRMTracked"])));
        // The keyword added to another message.
        assert!(v.note(flags(2, &["$CRM"])));
        // A message whose flags were never read.
        assert!(v.note(Report::Exists(3)));
        assert_eq!(v.first_unread(), Some(3));
        assert!(v.note(flags(3, &["$CRMTracked"])));
        assert_eq!(v.first_unread(), None);
        assert!(v.note(Report::Other));
    }

    #[test]
    fn r_track_mail_13_expunge_moves_the_later_messages_down() {
        let mut v = view();
        assert!(v.note(Report::Expunge(1)));
        // The old second message is now the first: its flags moved with it.
        assert!(!v.note(flags(1, &["$CRMTracked"])));
        assert!(v.note(flags(2, &["$CRMTracked"])), "no second message any more");
        assert!(!v.note(Report::Exists(1)), "the count after the expunge is no news");
    }
}
