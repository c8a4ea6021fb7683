//! R-SCALE-11: a first sync's peak RSS does not grow with the mailbox beyond
//! what R-SCALE-10 lets a pass hold per item. Two first syncs to vdir, each in
//! a fresh child process (`crmsync-bench memory-child`), one four times the
//! other's size; the peaks are compared, never a time.

use std::path::Path;

use chrono::Utc;
use crmsync_bench::scenarios::memory::{MAX_GROWTH_PER_ITEM, growth_per_item, measure};
use crmsync_bench::world::Template;

/// Contacts, and as many events, of the smaller and the larger first sync:
/// 2,000 and 40,000 items. A run's peak moves by up to about 1 MB from one
/// run to the next (R-SCALE-11), which over 38,000 added items is 28 bytes
/// an item; at 2,000 → 20,000 it was 58, too much of a bound of 200 when the
/// tree measures 130-180.
const SMALL: usize = 1_000;
const LARGE: usize = 20_000;

#[tokio::test]
async fn r_scale_11_first_sync_peak_rss_is_flat_in_the_mailbox() {
    let exe = Path::new(env!("CARGO_BIN_EXE_crmsync-bench"));
    // The meetings fall in the 60 days after this instant, inside the
    // calendar window the child's run takes from its own clock.
    let now = Utc::now();
    let mut peaks = Vec::new();
    for n in [SMALL, LARGE] {
        // Pinned: SQLite's bounded caches full and one malloc arena at both sizes.
        let template = Template::seed(n, n, now).await.unwrap();
        // The median of three runs: a run's peak moves by up to about 1 MB
        // with how its threads happen to be scheduled (one run beside the
        // whole test suite measured 204 bytes an item where the same tree
        // alone measured 74 and 110), and a check that fails by chance is a
        // defect.
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(measure(exe, &template, true).await.unwrap());
        }
        runs.sort_by_key(|p| p.bytes);
        peaks.push(runs.swap_remove(1));
    }
    let (small, large) = (&peaks[0], &peaks[1]);
    let growth = growth_per_item(small, large);
    let figures = format!(
        "{} items: {:.1} MB, {} items: {:.1} MB, {growth:.0} bytes per added item (bound {MAX_GROWTH_PER_ITEM})",
        small.items,
        small.mb(),
        large.items,
        large.mb()
    );
    // Shown by `--no-capture`, so a passing run still tells its figures.
    println!("R-SCALE-11: {figures}");
    assert!(
        growth <= MAX_GROWTH_PER_ITEM,
        "a first sync's peak RSS grows with the mailbox: {figures}"
    );
}
