//! Progress on stderr: a redrawn line on a terminal, a few plain lines otherwise.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct Progress {
    label: String,
    terminal: bool,
    last_reported: AtomicUsize,
    out: Mutex<()>,
}

impl Progress {
    pub fn new(label: &str) -> Self {
        Self {
            label: label.to_string(),
            terminal: std::io::stderr().is_terminal(),
            last_reported: AtomicUsize::new(0),
            out: Mutex::new(()),
        }
    }

    pub fn update(&self, done: usize, total: usize) {
        if total == 0 {
            return;
        }
        let percent = done * 100 / total;
        // Terminals get every percent; logs get every 25 %.
        let step = if self.terminal { 1 } else { 25 };
        let bucket = percent / step + 1;
        if self.last_reported.fetch_max(bucket, Ordering::Relaxed) >= bucket && done != total {
            return;
        }
        let _guard = self.out.lock();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let width = 30;
            let filled = width * done / total;
            let _ = write!(
                err,
                "\r{} [{}{}] {done}/{total}",
                self.label,
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                let _ = writeln!(err);
            }
        } else if done == total || percent % 25 == 0 {
            let _ = writeln!(err, "{}: {done}/{total} ({percent}%)", self.label);
        }
    }
}
