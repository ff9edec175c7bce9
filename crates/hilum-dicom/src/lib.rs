//! DICOM for Hilum: find every image under a path by reading headers only, group
//! them into studies and series, turn a series into an HU [`Volume`], and write
//! CT series (the phantom's output).
//!
//! Architecture invariants:
//! - Input files are opened read-only; nothing here ever writes next to them.
//! - A bad file is an [`FileError`] naming the file and the reason, collected
//!   beside the good results; it never aborts indexing of the rest.
//! - Pixels become HU through RescaleSlope/Intercept applied here, never through
//!   dicom-pixeldata's modality LUT (which rejects some valid CT files).
//!
//! [`Volume`]: hilum_core::Volume

mod alloc;
mod error;
mod header;
mod index;
mod lengths;
mod load;
mod native;
mod pixels;
mod scan;
pub mod uid;
pub mod write;

pub use alloc::{recycle, zeroed_buffer};
pub use error::FileError;
pub use header::{read_header, read_header_bytes, FileHeader, FrameHeader, ImageHeader};
pub use index::{index_path, Index, Series, Study};
pub use load::{decode_all_frames, load_series, LoadError, LoadedSeries};
