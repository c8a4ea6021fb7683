//! What `crmsync sync` leaves behind in a SQLite database when it exits
//! (R-SYNC-PERF-10): the real binary on a `crmsync demo` folder.

use std::path::Path;

use crate::support::demo::Demo;

/// The WAL a command left for the next one: its length, 0 when it is gone.
fn wal_left(demo: &Demo) -> u64 {
    std::fs::metadata(demo.dir.join("crm.db-wal")).map_or(0, |m| m.len())
}

/// `n` new cards in a folder of the profile, for a sync that writes a lot.
fn new_cards(folder: &Path, n: usize) {
    for i in 0..n {
        std::fs::write(
            folder.join(format!("exit-{i}.vcf")),
            format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:exit-{i}\r\nFN:Exit Person {i}\r\nN:Person;Exit {i};;;\r\nEND:VCARD\r\n"),
        )
        .unwrap();
    }
}

// R-SYNC-PERF-10: the command closes its store before it exits, so SQLite,
// closing the last connection, checkpoints the WAL and deletes it; the next
// command finds nothing to read back. Dropped at exit instead, the close ran
// on the connection's own thread and the exit cut it short, leaving the WAL
// of every page the run wrote.
#[test]
fn r_sync_perf_10_a_sync_leaves_no_wal_for_the_next_command() {
    let demo = Demo::new();
    new_cards(&demo.mailbox("alice", "contacts"), 300);
    demo.ok(&["sync", "--profile", "alice"]);
    assert_eq!(wal_left(&demo), 0, "after a sync that imported 300 cards");
    // A run that changes nothing still writes its run's rows.
    demo.ok(&["sync", "--profile", "alice"]);
    assert_eq!(wal_left(&demo), 0, "after a no-change sync");
}
