//! Progress bars on a terminal (indicatif draws nothing when stderr is not one).

use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Bars {
    prefix: String,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub fn new(prefix: impl Into<String>) -> Self {
        Bars {
            prefix: prefix.into(),
            bar: Mutex::new(None),
        }
    }
}

impl crmsync_sync::Progress for Bars {
    fn start(&self, label: &str, total: u64) {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template("{prefix:>12} {msg:<9} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(self.prefix.clone());
        bar.set_message(label.to_string());
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = &*self.bar.lock().expect("progress lock") {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
