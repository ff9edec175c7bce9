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
pub mod boost;
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
    DetectResult, Fate, Finding, Observer, StageTimes, MEASURE_FLOOR, SMALLEST_REPORTED_MM,
};
pub use weights::Detector;

/// Iso voxel size used by the detector, mm.
pub const ISO_MM: f64 = 1.5;
/// Lung mask grid: this many iso voxels per mask voxel.
pub const MASK_FACTOR: usize = 2;
/// Candidates kept from the blob filter. 500 since 2026-12-04: on fresh
/// seeds 9940–9959 (2.5 mm) 195 rather than 194 of 213 nodules ≥ 4 mm are
/// found at 4 FP/scan, CPM unchanged (0.872), one more finding ≥ 0.5 on no
/// nodule; on 9920–9939 (1.5 mm) the same figures; on LIDC-IDRI-0001 one more
/// finding ≥ 0.5 (ground glass, 2), none more at 4A or above. The classifier
/// takes about a quarter longer (software Vulkan 18–19 s → 22–25 s a
/// 512×512×300 scan on a 2-core Intel machine). 400 since 2026-12-02, 300 before;
/// 500 had added findings at 4A on LIDC-IDRI-0001 with the networks,
/// candidates and measurement of 2026-12-01 (`models/detector/MODEL_CARD.md`,
/// "400 candidates a scan", "500 candidates a scan, asked again").
pub const MAX_CANDIDATES: usize = 500;
/// The most confident candidates, scored again from all eight mirror images.
/// On tuning seeds 9000–9009 (weights and candidates of 2026-11-27) CPM goes
/// from 0.837 to 0.841 (32), 0.846 (48), 0.848 (all 300). 32 until the
/// software Vulkan device's kernels were rewritten (2026-12-01): 48 had taken
/// it over 90 s a 512×512×300 scan; 64 takes it to 71–74 s. On fresh seeds
/// 8320–8339, 64 against 32: one nodule more found at 4 FP/scan (194 of 209),
/// CPM 0.914 → 0.916 (`models/detector/MODEL_CARD.md`, "A second look at 64").
pub const SECOND_LOOK: usize = 64;
