//! Progress bars on stderr (indicatif), shown only on a terminal, without `--quiet`, and
//! only once the work has lasted about a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use qam::solvers::Progress;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Work shorter than this shows no bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// A progress bar for one long job.
pub struct Bar {
    bar: ProgressBar,
    start: Instant,
    /// True while the bar may still appear (visible output allowed, not shown yet).
    pending: AtomicBool,
}

impl Bar {
    /// A bar labelled `label`; never drawn when `quiet` or when stderr is not a terminal.
    pub fn new(label: &str, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {percent:>3}% eta {eta} {msg}")
                .expect("valid template"),
        );
        bar.set_prefix(label.to_string());
        Bar {
            bar,
            start: Instant::now(),
            pending: AtomicBool::new(!quiet && std::io::stderr().is_terminal()),
        }
    }

    fn maybe_show(&self) {
        if self.pending.load(Ordering::Relaxed)
            && self.start.elapsed() >= SHOW_AFTER
            && self.pending.swap(false, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
        }
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn set_total(&self, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(0);
    }

    fn advance(&self, delta: u64) {
        self.bar.inc(delta);
        self.maybe_show();
    }

    fn message(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }
}
