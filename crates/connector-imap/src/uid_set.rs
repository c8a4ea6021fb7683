//! IMAP UID sets (`1:5,7,9:12`), in batches short enough for any server's
//! command-line limit, and the boundary where the runner's 64-bit UIDs
//! become IMAP's 32-bit ones.

use crmsync_connector::ConnectorError;

/// UIDs per FETCH command: keeps lines short and memory per answer bounded.
pub(crate) const BATCH: usize = 200;

/// The IMAP UID the runner's `uid` stands for. IMAP's UIDs are 32-bit
/// (RFC 9051 §2.3.1.1) and this connector hands out no other, so a larger
/// one was never ours: an error, never truncated to another message's UID.
pub(crate) fn imap_uid(uid: u64) -> Result<u32, ConnectorError> {
    u32::try_from(uid).map_err(|_| ConnectorError::InvalidHref {
        href: uid.to_string(),
        reason: "not an IMAP UID (IMAP's UIDs are 32-bit numbers)".into(),
    })
}

/// [`imap_uid`] of each of `uids`.
pub(crate) fn imap_uids(uids: &[u64]) -> Result<Vec<u32>, ConnectorError> {
    uids.iter().map(|&u| imap_uid(u)).collect()
}

/// `uids` (any order, duplicates allowed) as a compact UID set.
pub(crate) fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_become_ranges() {
        assert_eq!(uid_set(&[9, 1, 2, 3, 7, 10, 3]), "1:3,7,9:10");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn r_graph_42_a_uid_beyond_32_bits_is_refused_not_truncated() {
        assert_eq!(imap_uid(u64::from(u32::MAX)).unwrap(), u32::MAX);
        let err = imap_uid(u64::from(u32::MAX) + 8).unwrap_err();
        assert!(matches!(err, ConnectorError::InvalidHref { .. }), "{err:?}");
        assert!(err.to_string().contains("4294967303"), "{err}");
        assert!(imap_uids(&[1, 1 << 40]).is_err());
    }
}
