//! What `crmsync sync` and the other commands leave behind in a SQLite
//! database when they exit (R-SYNC-PERF-10): the real binary on a `crmsync
//! demo` folder.

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

// R-SYNC-PERF-10 for every command that opens the store: they are closed
// where commands are dispatched. The demo's first run seeds a CRM and syncs
// it (megabytes of WAL, which a cut close left every time); then a command
// that writes a user and one that forgets pairs.
#[test]
fn r_sync_perf_10_the_demo_and_other_commands_leave_no_wal() {
    let demo = Demo::new();
    assert_eq!(wal_left(&demo), 0, "after the demo's first run");
    demo.ok(&["user", "add", "carol"]);
    assert_eq!(wal_left(&demo), 0, "after `user add`");
    demo.ok(&["reset", "--profile", "alice"]);
    assert_eq!(wal_left(&demo), 0, "after `reset`");
}
