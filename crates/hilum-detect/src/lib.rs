//! Lung nodule detection on burn tensors, on whatever device `hilum-gpu` chose:
//!
//! ```text
//! Volume ─► upload once, resample to iso voxels ─► lung mask ─► blob candidates
//!        ─► 3D CNN scores each candidate's patch (batched)
//!        ─► measurement (size, volume, kind, lobe) ─► 3D NMS ─► rescoring
//!           (CNN logit + shape and attenuation) ─► Lung-RADS
//! ```
//!
//! Architecture invariant: the volume is uploaded once; every stage up to the
//! candidate list and the CNN's scores runs on the device. The host sees the
//! coarse lung mask and the lungs' closed air on the same grid (for connected
//! components), the candidate list, and the voxels around each kept nodule
//! for measurement.

pub mod axis_filters;
pub mod axis_resampling;
pub mod blob_strength;
pub mod candidates;
pub mod contrast;
pub mod filters;
pub mod fused_conv;
pub mod iso;
pub mod lobe;
pub mod lung;
pub mod measure;
pub mod model;
pub mod nms;
pub mod patches;
pub mod pipeline;
pub mod rescore;
#[cfg(feature = "train")]
pub mod train;
pub mod weights;
mod wgsl;

pub use candidates::{find_candidates, Candidate};
pub use iso::{to_iso, IsoVolume};
pub use lung::{lung_mask, LungMask};
pub use pipeline::{
    check_series, detect, detect_observed, CandidateOutcome, DetectError, DetectOptions,
    DetectResult, Fate, Finding, Observer, StageTimes, MEASURE_FLOOR,
};
pub use weights::Detector;

/// Iso voxel size used by the detector, mm.
pub const ISO_MM: f64 = 1.5;
/// Lung mask grid: this many iso voxels per mask voxel.
pub const MASK_FACTOR: usize = 2;
/// Candidates kept from the blob filter. 400 rather than 300 since
/// 2026-12-02: on fresh seeds 8520–8539 (1.5 mm) the candidates' recall of
/// nodules ≥ 4 mm goes 0.991 → 0.995 and 206 rather than 205 of 212 are found
/// at 4 FP/scan; on 8540–8559 (2.5 mm) 0.958 → 0.967 and 194 rather than 191
/// of 215, CPM 0.870 → 0.882; no more false findings ≥ 0.5 there or on
/// LIDC-IDRI-0001. It costs 12–23 % on the software Vulkan device (54–56 s →
/// 60–69 s a 512×512×300 scan). 500 had added false findings at Lung-RADS 4A
/// on LIDC-IDRI-0001 with the networks, candidates and measurement of
/// 2026-12-01 (`models/detector/MODEL_CARD.md`, "400 candidates a scan").
pub const MAX_CANDIDATES: usize = 400;
/// The most confident candidates, scored again from all eight mirror images.
/// On tuning seeds 9000–9009 (weights and candidates of 2026-11-27) CPM goes
/// from 0.837 to 0.841 (32), 0.846 (48), 0.848 (all 300). 32 until the
/// software Vulkan device's kernels were rewritten (2026-12-01): 48 had taken
/// it over 90 s a 512×512×300 scan; 64 takes it to 71–74 s. On fresh seeds
/// 8320–8339, 64 against 32: one nodule more found at 4 FP/scan (194 of 209),
/// CPM 0.914 → 0.916 (`models/detector/MODEL_CARD.md`, "A second look at 64").
pub const SECOND_LOOK: usize = 64;
