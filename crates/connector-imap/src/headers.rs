//! The thread headers of a message (Message-ID, In-Reply-To, References)
//! and its From/To/Cc addresses, read with `mail-parser` from the header
//! block alone. The caller normalises the ids
//! (`crmsync_model::normalize_message_id`).

use crmsync_connector::ThreadHeaders;
use mail_parser::{Address, HeaderValue, MessageParser};

pub(crate) fn thread_headers(uid: u64, header: &[u8]) -> ThreadHeaders {
    let Some(message) = MessageParser::default().parse_headers(header) else {
        return ThreadHeaders {
            uid,
            ..ThreadHeaders::default()
        };
    };
    ThreadHeaders {
        uid,
        message_id: message.message_id().map(str::to_string),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        addresses: [message.from(), message.to(), message.cc()]
            .into_iter()
            .flatten()
            .flat_map(emails)
            .collect(),
    }
}

fn emails(address: &Address<'_>) -> Vec<String> {
    address
        .iter()
        .filter_map(|a| a.address.as_deref().map(str::trim))
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_thread_of_a_reply() {
        let h = thread_headers(
            7,
            b"Message-ID: <r@x>\r\nIn-Reply-To: <m@x>\r\nReferences: <a@x>\r\n <m@x>\r\nSubject: Re\r\n\
From: A <a@x.example>\r\nTo: b@x.example, C <c@x.example>\r\nCc: d@x.example\r\n\r\n",
        );
        assert_eq!(h.uid, 7);
        assert_eq!(h.message_id.as_deref(), Some("r@x"));
        assert_eq!(h.in_reply_to, ["m@x"]);
        assert_eq!(h.references, ["a@x", "m@x"]);
        assert_eq!(
            h.addresses,
            ["a@x.example", "b@x.example", "c@x.example", "d@x.example"]
        );
    }
}
