//! Candidate nodules: a multi-scale bright-blob filter (scale-normalised
//! Hessian blobness) inside the lungs, local maxima, the strongest kept.

use crate::filters::{blobness, gaussian, hessian, max_pool3d};
use crate::iso::IsoVolume;
use crate::lung::LungMask;
use burn::tensor::module::adaptive_avg_pool3d;
use burn::tensor::{Int, Tensor, TensorData};

/// Blob scales, mm (σ), per pyramid level (iso voxels per level voxel). A
/// sphere of radius r responds most at σ ≈ r/√3, so these cover nodules of
/// about 4 to 30 mm in diameter. Coarser levels for larger scales keep every
/// Gaussian kernel short and the volume small: ⅛ and 1/64 of the voxels.
pub const LEVELS: [(usize, [f64; 2]); 3] = [(1, [1.2, 1.8]), (2, [2.7, 4.0]), (4, [6.0, 8.5])];

/// Margin around the lungs' bounding box searched for candidates, iso voxels.
const CROP_MARGIN: usize = 6;

#[derive(Clone, Debug)]
pub struct Candidate {
    /// Iso voxel (z, y, x).
    pub zyx: [usize; 3],
    pub lps_mm: [f64; 3],
    /// Scale-normalised blobness at the best scale.
    pub blob_score: f32,
    /// Radius suggested by the best scale, mm.
    pub radius_mm: f64,
}

/// The lung mask on a pyramid level's grid, as a 0/1 tensor on the device.
/// Level voxel `i` covers iso voxels from `origin + i·factor`.
fn mask_tensor(
    mask: &LungMask,
    dims: [usize; 3],
    origin: [usize; 3],
    factor: usize,
    device: &burn::tensor::Device,
) -> Tensor<3> {
    let [dz, dy, dx] = mask.dims;
    let coarse: Vec<f32> = mask.labels.iter().map(|&l| f32::from(l.min(1))).collect();
    let mut t: Tensor<3> = Tensor::from_data(TensorData::new(coarse, [dz, dy, dx]), device);
    for axis in 0..3 {
        let index: Vec<i32> = (0..dims[axis])
            .map(|i| {
                ((origin[axis] + i * factor + factor / 2) / mask.factor).min(mask.dims[axis] - 1)
                    as i32
            })
            .collect();
        let n = index.len();
        t = t.select(
            axis,
            Tensor::<1, Int>::from_data(TensorData::new(index, [n]), device),
        );
    }
    t
}

/// The iso voxel box `[start, end)` per axis holding the lungs, with a margin.
fn lung_box(mask: &LungMask, iso_dims: [usize; 3]) -> Option<[std::ops::Range<usize>; 3]> {
    let [_, dy, dx] = mask.dims;
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for (i, _) in mask.labels.iter().enumerate().filter(|(_, &l)| l != 0) {
        let c = [i / (dy * dx), (i / dx) % dy, i % dx];
        for a in 0..3 {
            lo[a] = lo[a].min(c[a]);
            hi[a] = hi[a].max(c[a] + 1);
        }
    }
    (lo[0] != usize::MAX).then(|| {
        std::array::from_fn(|a| {
            (lo[a] * mask.factor).saturating_sub(CROP_MARGIN)
                ..(hi[a] * mask.factor + CROP_MARGIN).min(iso_dims[a])
        })
    })
}

/// Finds up to `max` candidates inside the lung mask, strongest first.
pub fn find_candidates(iso: &IsoVolume, mask: &LungMask, max: usize) -> Vec<Candidate> {
    let device = iso.tensor.device();
    let Some(region) = lung_box(mask, iso.dims()) else {
        return Vec::new();
    };
    let origin = region.clone().map(|r| r.start);
    // Outside the lungs stays as it is: masking the chest wall to air was
    // tried and cut nodules on the pleura in half (fewer found, not more).
    let mut level = iso.tensor.clone().slice(region);
    // Variance (mm²) of the blur that 2×2×2 averaging has already applied.
    let mut pre_blur_mm2 = 0.0;
    let mut found: Vec<Candidate> = Vec::new();
    for (l, (factor, scales)) in LEVELS.iter().enumerate() {
        if l > 0 {
            let finer_mm = iso.spacing_mm * (factor / 2) as f64;
            pre_blur_mm2 += finer_mm * finer_mm / 4.0;
            level = downsample2(level);
        }
        let voxel_mm = iso.spacing_mm * *factor as f64;
        let dims = level.dims();
        let mut best: Tensor<3> = Tensor::zeros(dims, &device);
        let mut best_scale: Tensor<3> = Tensor::zeros(dims, &device);
        for (s, sigma_mm) in scales.iter().enumerate() {
            let extra_mm = (sigma_mm * sigma_mm - pre_blur_mm2).max(0.0).sqrt();
            let sigma = sigma_mm / voxel_mm;
            // σ² normalises the Hessian, so responses compare across scales.
            let b = blobness(hessian(gaussian(level.clone(), extra_mm / voxel_mm)))
                .mul_scalar(sigma * sigma);
            best_scale = best_scale.mask_fill(b.clone().greater(best.clone()), s as f32);
            best = best.max_pair(b);
        }
        let score = best * mask_tensor(mask, dims, origin, *factor, &device);
        for (zyx, value, s) in peaks(score, best_scale, max) {
            let zyx: [usize; 3] = std::array::from_fn(|a| origin[a] + zyx[a] * factor + factor / 2);
            found.push(Candidate {
                zyx,
                lps_mm: iso.lps(zyx.map(|c| c as f64)),
                blob_score: value,
                radius_mm: scales[s] * 3f64.sqrt(),
            });
        }
    }
    merge(found, max)
}

/// 2×2×2 averaging (the last voxel of an odd axis is dropped).
fn downsample2(v: Tensor<3>) -> Tensor<3> {
    let [z, y, x] = v.dims();
    let out = [(z / 2).max(1), (y / 2).max(1), (x / 2).max(1)];
    let pooled = adaptive_avg_pool3d(v.reshape([1, 1, z, y, x]), out);
    pooled.reshape(out)
}

/// The `max` strongest local maxima (5×5×5) of `score`: (voxel, value, scale index).
/// Maxima are marked on the device; the sparse peak map is read back and
/// ranked on the host, because burn 0.22.1's `topk` on wgpu returns wrong
/// values for millions of elements (and is slow there).
fn peaks(score: Tensor<3>, best_scale: Tensor<3>, max: usize) -> Vec<([usize; 3], f32, usize)> {
    let dims = score.dims();
    let is_peak = score.clone().equal(max_pool3d(score.clone(), 5));
    let score = score.mask_fill(is_peak.bool_not(), 0.0);
    let values: Vec<f32> = score.into_data().try_to_vec().expect("f32");
    let mut ranked: Vec<(usize, f32)> = values
        .into_iter()
        .enumerate()
        .filter(|(_, v)| *v > 1e-4)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(max);
    if ranked.is_empty() {
        return Vec::new();
    }
    let n = ranked.len();
    let index: Vec<i32> = ranked.iter().map(|(i, _)| *i as i32).collect();
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [n]), &best_scale.device());
    let total: usize = dims.iter().product();
    let scales: Vec<f32> = best_scale
        .reshape([total])
        .select(0, index)
        .into_data()
        .try_to_vec()
        .expect("f32");
    let [_, dy, dx] = dims;
    ranked
        .into_iter()
        .zip(scales)
        .map(|((i, v), s)| ([i / (dy * dx), (i / dx) % dy, i % dx], v, s as usize))
        .collect()
}

/// One candidate per blob across levels: strongest first, dropping any whose
/// centre lies within ¾ of the smaller radius of a stronger one.
fn merge(mut found: Vec<Candidate>, max: usize) -> Vec<Candidate> {
    found.sort_by(|a, b| b.blob_score.total_cmp(&a.blob_score));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in found {
        let near = kept.iter().any(|k| {
            let d2: f64 = (0..3).map(|a| (k.lps_mm[a] - c.lps_mm[a]).powi(2)).sum();
            d2.sqrt() < 0.75 * k.radius_mm.min(c.radius_mm)
        });
        if !near {
            kept.push(c);
            if kept.len() == max {
                break;
            }
        }
    }
    kept
}
