//! The thread headers of a message (Message-ID, In-Reply-To, References),
//! read with `mail-parser` from the header block alone. The caller
//! normalises the ids (`crmsync_model::normalize_message_id`).

use crmsync_connector::ThreadHeaders;
use mail_parser::{HeaderValue, MessageParser};

pub(crate) fn thread_headers(uid: u32, header: &[u8]) -> ThreadHeaders {
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
    }
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
            b"Message-ID: <r@x>\r\nIn-Reply-To: <m@x>\r\nReferences: <a@x>\r\n <m@x>\r\nSubject: Re\r\n\r\n",
        );
        assert_eq!(h.uid, 7);
        assert_eq!(h.message_id.as_deref(), Some("r@x"));
        assert_eq!(h.in_reply_to, ["m@x"]);
        assert_eq!(h.references, ["a@x", "m@x"]);
    }
}
