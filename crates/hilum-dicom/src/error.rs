use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// One file that could not be used, and why: always one line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileError {
    pub path: PathBuf,
    pub error: String,
}

impl FileError {
    pub fn new(path: impl Into<PathBuf>, error: impl fmt::Display) -> Self {
        // Library errors may carry newlines or nested causes; keep one line.
        let error = error
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            path: path.into(),
            error,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for FileError {}

/// Runs third-party parsing or decoding so that a panic on malformed input (a
/// bug in a codec, found by fuzzing) becomes an error naming the file instead
/// of taking the application or the batch down with it.
pub(crate) fn contain_panics<T>(
    path: &std::path::Path,
    what: &str,
    f: impl FnOnce() -> Result<T, FileError>,
) -> Result<T, FileError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("panic");
        Err(FileError::new(path, format!("corrupt {what} ({detail})")))
    })
}
