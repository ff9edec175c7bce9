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

/// The stage a long task is in, as one redrawn line on a terminal: detection
/// of one series takes from seconds on a GPU to minutes on the software
/// Vulkan device. Logs get nothing from it (each series has its own line).
pub struct StageLine {
    terminal: bool,
    shown: Mutex<String>,
}

impl StageLine {
    pub fn new() -> Self {
        Self {
            terminal: std::io::stderr().is_terminal(),
            shown: Mutex::new(String::new()),
        }
    }

    /// Shows `prefix`, `stage` and how far along (0–1) the task is.
    pub fn show(&self, prefix: &str, stage: &str, fraction: f64) {
        if !self.terminal {
            return;
        }
        let line = format!("{prefix}{stage} ({:.0}%)", 100.0 * fraction.clamp(0.0, 1.0));
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if *shown != line {
            // Carriage return, then erase the line: a shorter stage leaves no tail.
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{line}");
            *shown = line;
        }
    }

    /// Erases the line, so what follows starts on a clean one.
    pub fn clear(&self) {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if self.terminal && !shown.is_empty() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            shown.clear();
        }
    }
}
