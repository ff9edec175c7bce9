//! Hilum's core model: patient geometry, the HU volume, and the rules that turn a
//! set of slice positions into a regular voxel grid.
//!
//! Architecture invariant: this crate does no I/O and knows nothing of DICOM
//! files, GPUs or IPC. Everything here is plain data and arithmetic, so every
//! rule can be unit-tested with numbers alone.

pub mod findings;
pub mod geometry;
pub mod lung_rads;
pub mod slice_stack;
pub mod volume;

pub use findings::{Lobe, NoduleKind};
pub use geometry::{Affine, Vec3};
pub use lung_rads::{categorize, study_category, LungRads};
pub use slice_stack::{analyse_stack, GeometryProblem, Severity, SliceGeometry, StackLayout};
pub use volume::{HuStats, Volume};
