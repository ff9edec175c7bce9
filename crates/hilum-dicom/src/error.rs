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
