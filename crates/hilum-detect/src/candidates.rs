//! Candidate nodules: a multi-scale bright-blob filter (scale-normalised
//! Hessian blobness) inside the lungs, local maxima, the strongest kept; run
//! twice, on the volume with its chest wall flattened and on that volume's
//! ground glass alone, the two lists interleaved.

use crate::filters::{blob_response, close_cube_and_round, gaussian, max_pool3d};
use crate::iso::IsoVolume;
use crate::lung::LungMask;
use burn::tensor::module::adaptive_avg_pool3d;
use burn::tensor::{Int, Tensor, TensorData};

/// Blob scales, mm (σ), per pyramid level (iso voxels per level voxel). A
/// sphere of radius r responds most at σ ≈ r/√3, so these cover nodules of
/// about 4 to 30 mm in diameter. Coarser levels for larger scales keep every
/// Gaussian kernel short and the volume small: ⅛ and 1/64 of the voxels.
pub const LEVELS: [(usize, [f64; 2]); 3] = [(1, [1.2, 1.8]), (2, [2.7, 4.0]), (4, [6.0, 8.5])];

/// Window (level voxels, per level) in which a candidate must be the
/// strongest response: 7.5 and 15 mm on the finer levels, 18 mm on the
/// coarsest, where 5 voxels would be 30 mm. There a 19.9 mm solid nodule
/// against the heart (seed 8681, 1.5 mm slices) responded at 0.33, enough for
/// 159th place among the strongest, but lay within 30 mm of a response of
/// 0.35, 22 mm off, and had no candidate among 400; with 18 mm it
/// is found at confidence 0.10 (0.53 when a candidate is put on its centre).
/// On tuning seeds 9000–9019 (1.5 and 2.5 mm) no nodule's rank or confidence moves.
const PEAK_WINDOW: [usize; 3] = [5, 5, 3];

/// One candidate in this many comes from the ground-glass-only volume. The
/// blob filter's response grows with contrast, so faint ground glass (−750 to
/// −400 HU), above all on the pleura or a vessel, ranks below hundreds of vessel
/// crossings; a share of the budget of its own lifts the candidates' recall of
/// phantom nodules ≥ 4 mm at 300 a scan from 0.86 to 0.90 (tuning seeds
/// 9000–9009, before the chest wall was flattened; with it, 0.92 to 0.94).
/// With vessels painted over rather than cut out of the ground glass, half
/// the budget: recall 0.946 (one in four) to 0.964, CPM 0.902 to 0.904.
const GROUND_GLASS_EVERY: usize = 2;
/// Normalised intensity above which a voxel is soft tissue, vessel or bone (−300 HU).
const SOFT_TISSUE: f32 = 0.7;
/// Normalised intensity below which a voxel is air-like (−500 HU).
const AIR_LIKE: f32 = 0.5;
/// Normalised intensity of aerated lung (−850 HU).
const PARENCHYMA: f32 = 0.15;
/// Gaussian (iso voxels, 1.5 mm) over which tissue must stay tissue for its
/// partial-volume rim to be painted over with it.
const TISSUE_SMOOTHING: f64 = 1.0;
/// Gaussian (iso voxels, 3 mm) over which tissue is painted over with its surroundings.
const INPAINT_SIGMA: f64 = 2.0;

/// Reach (iso voxels, 6 mm) of the closing of the lungs' air that decides
/// what is chest wall: dents up to about 13.5 mm wide, nodules on the pleura
/// among them, count as lung. A cube's closing and a rounded one united
/// ([`close_cube_and_round`]): with the cube's alone, some small nodules
/// against the wall were flattened with it (seed 8633's 5.1 mm calcified
/// nodule on the mediastinal pleura, 2.5 mm slices: candidate 348th; 8th with
/// both). On tuning seeds 9000–9019 at 2.5 mm, 201 rather than 200 of 206
/// nodules ≥ 4 mm have one of the 400 candidates and 197 rather than 195 rank
/// among the first 200; at 1.5 mm 200 rather than 199 of 211 rank among the
/// first 50; none ranks more than 12 places lower.
const WALL_CLOSING: usize = 4;

/// Window (voxels of the coarsest level, 6 mm: 30 mm) of the closing that
/// decides what is chest wall for the largest blob scales. A solid nodule of
/// 20–30 mm on the pleura fills a dent wider than `WALL_CLOSING`; flattened
/// with the wall, it kept only its tip in the lung, a candidate 5–20 mm off
/// its centre or none (7 of 45 such nodules in the unenhanced held-out
/// phantoms missed at 4 FP/scan).
const WIDE_WALL_CLOSING: usize = 5;

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
pub(crate) fn mask_tensor(
    mask: &LungMask,
    dims: [usize; 3],
    origin: [usize; 3],
    factor: usize,
    device: &burn::tensor::Device,
) -> Tensor<3> {
    let [dz, dy, dx] = mask.dims;
    let coarse: Vec<f32> = mask.labels.iter().map(|&l| f32::from(l.min(1))).collect();
    let t = Tensor::from_data(TensorData::new(coarse, [dz, dy, dx]), device);
    spread(t, dims, |axis, i| {
        ((origin[axis] + i * factor + factor / 2) / mask.factor).min(mask.dims[axis] - 1)
    })
}

/// `coarse` brought to `dims`: voxel `i` along each axis takes the coarse
/// voxel `source(axis, i)` (nearest-neighbour upsampling, on the device).
fn spread(
    mut coarse: Tensor<3>,
    dims: [usize; 3],
    source: impl Fn(usize, usize) -> usize,
) -> Tensor<3> {
    let device = coarse.device();
    for (axis, &n) in dims.iter().enumerate() {
        let index: Vec<i32> = (0..n).map(|i| source(axis, i) as i32).collect();
        coarse = coarse.select(
            axis,
            Tensor::<1, Int>::from_data(TensorData::new(index, [n]), &device),
        );
    }
    coarse
}

/// The iso voxel box `[start, end)` per axis holding the lungs, with a margin.
pub(crate) fn lung_box(
    mask: &LungMask,
    iso_dims: [usize; 3],
) -> Option<[std::ops::Range<usize>; 3]> {
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
    let Some(region) = lung_box(mask, iso.dims()) else {
        return Vec::new();
    };
    let origin = region.clone().map(|r| r.start);
    let cropped = iso.tensor.clone().slice(region);
    let wide_dents = wide_dents_kept(downsample2(downsample2(cropped.clone())));
    let (flattened, faint_only) = searched_volumes(cropped, mask, origin);
    let strongest = blobs(flattened, Some(wide_dents), iso, mask, origin, max);
    let faint = blobs(faint_only, None, iso, mask, origin, max);
    interleave(strongest, faint, GROUND_GLASS_EVERY, max)
}

/// The two volumes the blob filter searches: the lungs' box with its chest
/// wall flattened, and the ground glass alone of that flattened volume. With
/// the wall already lung, painting over tissue no longer spreads a ground-glass
/// nodule on the pleura into the painted wall beside it, where it stood as a
/// bump on a brighter band rather than a blob. Ground-glass and part-solid
/// nodules on the pleura were 12 of the 30 held-out phantom nodules ≥ 4 mm
/// without a candidate among 300 (seeds 8280–8339 and 8400–8419).
fn searched_volumes(
    cropped: Tensor<3>,
    mask: &LungMask,
    origin: [usize; 3],
) -> (Tensor<3>, Tensor<3>) {
    let flattened = wall_flattened(cropped, mask, origin);
    let faint_only = ground_glass_only(flattened.clone());
    (flattened, faint_only)
}

/// The volume (the lungs' box from iso voxel `origin`) with everything outside
/// a closing of the lungs' air (chest wall, mediastinum, diaphragm) set to
/// lung parenchyma: a nodule on the pleura, which fills a dent in the air,
/// now stands alone as a blob. Tissue the closing left that is cut off from
/// all of that (surrounded by lung) is kept: a nodule wider than the closing,
/// which would otherwise lose its core and score as a ring (three of 32
/// nodules of 22–25 mm had no candidate among 300 on phantom seeds 2000–2031).
fn wall_flattened(v: Tensor<3>, mask: &LungMask, origin: [usize; 3]) -> Tensor<3> {
    let air = v.clone().lower_elem(AIR_LIKE).float();
    let closed = close_cube_and_round(air, WALL_CLOSING);
    let inside = enclosed_tissue(&closed, mask, origin);
    let outside = closed.lower_elem(0.5).bool_and(inside.lower_elem(0.5));
    v.mask_fill(outside, PARENCHYMA)
}

/// `coarse` (the volume at the coarsest level's grid) with everything outside
/// a closing of its air over `WIDE_WALL_CLOSING` set to lung parenchyma: what
/// the largest scales see of the chest wall, a large nodule on the pleura kept.
fn wide_dents_kept(coarse: Tensor<3>) -> Tensor<3> {
    let air = coarse.clone().lower_elem(AIR_LIKE).float();
    let grown = max_pool3d(air, WIDE_WALL_CLOSING);
    let closed = max_pool3d(grown.neg(), WIDE_WALL_CLOSING).neg();
    coarse.mask_fill(closed.lower_elem(0.5), PARENCHYMA)
}

/// 0/1 on `closed_air`'s grid: tissue (where the closed air map is 0) not
/// connected, on the lung mask's coarser grid, to tissue outside the lung
/// mask or at the edge of the box. Flooded on the host, like the mask itself,
/// at 1/8 of the voxels.
fn enclosed_tissue(closed_air: &Tensor<3>, mask: &LungMask, origin: [usize; 3]) -> Tensor<3> {
    let f = mask.factor;
    let dims = closed_air.dims();
    let coarse_dims = dims.map(|d| d.div_ceil(f));
    let device = closed_air.device();
    let air_share = adaptive_avg_pool3d(
        closed_air
            .clone()
            .reshape([1, 1, dims[0], dims[1], dims[2]]),
        coarse_dims,
    );
    let air_share: Vec<f32> = air_share.into_data().try_to_vec().expect("f32");
    let [cz, cy, cx] = coarse_dims;
    let is_tissue = |i: usize| air_share[i] < 0.5;
    let coord = |i: usize| [i / (cy * cx), (i / cx) % cy, i % cx];
    let outside = (0..air_share.len()).filter(|&i| {
        let c = coord(i);
        let on_edge = (0..3).any(|a| c[a] == 0 || c[a] + 1 == coarse_dims[a]);
        let [z, y, x] = std::array::from_fn(|a| origin[a] + c[a] * f + f / 2);
        on_edge || mask.at_iso(z, y, x) == 0
    });
    let connected = crate::lung::flood(coarse_dims, outside, is_tissue);
    let enclosed: Vec<f32> = (0..air_share.len())
        .map(|i| f32::from(u8::from(is_tissue(i) && !connected[i])))
        .collect();
    let t = Tensor::from_data(TensorData::new(enclosed, [cz, cy, cx]), &device);
    spread(t, dims, |_, i| i / f)
}

/// The volume with soft tissue, bone and vessels (and a voxel around them, their
/// partial-volume rim) painted over with the mean of the voxels around them that
/// are not: what is left brighter than the lung is ground glass, which now
/// stands alone even on the pleura or a vessel. Painting over (rather than
/// setting to lung) keeps a ground-glass nodule whole where a vessel runs
/// through or beside it, instead of a ring around a hole. The rim is taken
/// only around tissue that stays tissue once smoothed over a voxel: a
/// ground-glass nodule's texture has specks above −300 HU, and a voxel's rim
/// around each of them had painted the whole nodule over with the lung
/// around it (seeds 8322 and 8334: ground glass of 7.2–7.6 mm on vessels
/// ranked past 700 of 3 000 candidates, or not at all).
fn ground_glass_only(v: Tensor<3>) -> Tensor<3> {
    let bright = v.clone().greater_elem(SOFT_TISSUE).float();
    let solid = gaussian(v.clone(), TISSUE_SMOOTHING).greater_elem(SOFT_TISSUE);
    let tissue = max_pool3d(solid.float(), 3).max_pair(bright);
    let around = tissue.clone().neg().add_scalar(1.0);
    let weight = gaussian(around.clone(), INPAINT_SIGMA);
    let mean = gaussian(v.clone() * around, INPAINT_SIGMA) / weight.clone().clamp_min(1e-3);
    // Deep inside wide tissue (chest wall, heart) nothing is near: lung.
    let fill = mean.mask_fill(weight.lower_elem(0.05), PARENCHYMA);
    let is_tissue = tissue.greater_elem(0.5);
    v.mask_where(is_tissue, fill)
}

/// `strong` in order with every `every`-th place given to the next of `faint`,
/// skipping any candidate on a blob already taken.
fn interleave(
    strong: Vec<Candidate>,
    faint: Vec<Candidate>,
    every: usize,
    max: usize,
) -> Vec<Candidate> {
    let (mut strong, mut faint) = (strong.into_iter(), faint.into_iter());
    let mut kept: Vec<Candidate> = Vec::new();
    while kept.len() < max {
        let turn_faint = (kept.len() + 1) % every == 0;
        let next = if turn_faint {
            faint.next().or_else(|| strong.next())
        } else {
            strong.next().or_else(|| faint.next())
        };
        let Some(c) = next else { break };
        if !kept.iter().any(|k| same_blob(k, &c)) {
            kept.push(c);
        }
    }
    kept
}

/// Blob candidates in `cropped` (the lungs' box from `origin`), strongest
/// first; the coarsest level also sees what `coarsest_extra` (on its grid)
/// keeps brighter.
fn blobs(
    cropped: Tensor<3>,
    coarsest_extra: Option<Tensor<3>>,
    iso: &IsoVolume,
    mask: &LungMask,
    origin: [usize; 3],
    max: usize,
) -> Vec<Candidate> {
    let device = cropped.device();
    let mut level = cropped;
    // Variance (mm²) of the blur that 2×2×2 averaging has already applied.
    let mut pre_blur_mm2 = 0.0;
    let mut found: Vec<Candidate> = Vec::new();
    let mut coarsest_extra = coarsest_extra;
    for (l, (factor, scales)) in LEVELS.iter().enumerate() {
        if l > 0 {
            let finer_mm = iso.spacing_mm * (factor / 2) as f64;
            pre_blur_mm2 += finer_mm * finer_mm / 4.0;
            level = downsample2(level);
        }
        if l + 1 == LEVELS.len() {
            if let Some(extra) = coarsest_extra.take() {
                level = level.max_pair(extra);
            }
        }
        let voxel_mm = iso.spacing_mm * *factor as f64;
        let dims = level.dims();
        let mut best: Tensor<3> = Tensor::zeros(dims, &device);
        let mut best_scale: Tensor<3> = Tensor::zeros(dims, &device);
        for (s, sigma_mm) in scales.iter().enumerate() {
            let extra_mm = (sigma_mm * sigma_mm - pre_blur_mm2).max(0.0).sqrt();
            let sigma = sigma_mm / voxel_mm;
            // σ² normalises the Hessian, so responses compare across scales.
            let b = blob_response(gaussian(level.clone(), extra_mm / voxel_mm))
                .mul_scalar(sigma * sigma);
            best_scale = best_scale.mask_fill(b.clone().greater(best.clone()), s as f32);
            best = best.max_pair(b);
        }
        let score = best * mask_tensor(mask, dims, origin, *factor, &device);
        for (zyx, value, s) in peaks(score, best_scale, max, PEAK_WINDOW[l]) {
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

/// The `max` strongest local maxima (in a cube of `window` voxels) of
/// `score`: (voxel, value, scale index). Maxima are marked on the device; the
/// sparse peak map is read back and ranked on the host, because burn 0.22.1's
/// `topk` on wgpu returns wrong values for millions of elements (and is slow there).
fn peaks(
    score: Tensor<3>,
    best_scale: Tensor<3>,
    max: usize,
    window: usize,
) -> Vec<([usize; 3], f32, usize)> {
    let dims = score.dims();
    let is_peak = score.clone().equal(max_pool3d(score.clone(), window));
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

/// Whether `b`'s centre lies within ¾ of the smaller radius of `a`'s.
fn same_blob(a: &Candidate, b: &Candidate) -> bool {
    let d2: f64 = (0..3).map(|k| (a.lps_mm[k] - b.lps_mm[k]).powi(2)).sum();
    d2.sqrt() < 0.75 * a.radius_mm.min(b.radius_mm)
}

/// One candidate per blob across levels: strongest first, dropping any whose
/// centre lies within ¾ of the smaller radius of a stronger one.
fn merge(mut found: Vec<Candidate>, max: usize) -> Vec<Candidate> {
    found.sort_by(|a, b| b.blob_score.total_cmp(&a.blob_score));
    let mut kept: Vec<Candidate> = Vec::new();
    for c in found {
        if !kept.iter().any(|k| same_blob(k, &c)) {
            kept.push(c);
            if kept.len() == max {
                break;
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64) -> Candidate {
        Candidate {
            zyx: [0, 0, 0],
            lps_mm: [x, 0.0, 0.0],
            blob_score: 1.0,
            radius_mm: 4.0,
        }
    }

    #[test]
    fn every_third_place_goes_to_the_faint_list_without_repeating_a_blob() {
        let strong = (0..6).map(|i| at(100.0 * i as f64)).collect();
        // The first faint one lies on strong blob 0, already taken.
        let faint = vec![at(1.0), at(1000.0), at(2000.0)];
        let xs: Vec<f64> = interleave(strong, faint, 3, 7)
            .iter()
            .map(|c| c.lps_mm[0])
            .collect();
        assert_eq!(xs, [0.0, 100.0, 1000.0, 200.0, 300.0, 2000.0, 400.0]);
    }

    #[test]
    fn the_chest_wall_is_flattened_and_a_nodule_on_the_pleura_stays() {
        let device = hilum_gpu::cpu_backend().device;
        // Lung (x < 20) against chest wall (x ≥ 20), a 5-voxel-radius nodule
        // centred 2 voxels inside the lung, straddling the pleura.
        let n = 32;
        let mut data = vec![0f32; n * n * n];
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    let d2 = [(z, 16.0), (y, 16.0), (x, 18.0)]
                        .iter()
                        .map(|&(c, m)| (c as f32 - m).powi(2))
                        .sum::<f32>();
                    data[(z * n + y) * n + x] = if x >= 20 || d2 <= 25.0 { 1.04 } else { 0.15 };
                }
            }
        }
        let v: Tensor<3> = Tensor::from_data(TensorData::new(data, [n, n, n]), &device);
        let out: Vec<f32> = wall_flattened(v, &whole_box_is_lung(n), [0; 3])
            .into_data()
            .try_to_vec()
            .unwrap();
        let at = |z: usize, y: usize, x: usize| out[(z * n + y) * n + x];
        assert_eq!(at(16, 16, 18), 1.04, "the nodule's centre");
        assert_eq!(at(16, 16, 14), 1.04, "the nodule's side in the lung");
        assert_eq!(at(16, 16, 26), PARENCHYMA, "the chest wall");
        assert_eq!(
            at(16, 4, 22),
            PARENCHYMA,
            "the chest wall beside the nodule"
        );
        assert_eq!(at(16, 4, 10), 0.15, "the lung");
    }

    #[test]
    fn the_coarsest_level_keeps_a_blob_two_voxels_from_a_stronger_one() {
        let device = hilum_gpu::cpu_backend().device;
        // Two responses two voxels apart along y and z (at the coarsest
        // level's 6 mm voxels, a nodule beside a stronger response 17 mm off).
        let n = 12;
        let mut data = vec![0f32; n * n * n];
        data[(4 * n + 4) * n + 6] = 0.33;
        data[(6 * n + 6) * n + 6] = 0.35;
        let score: Tensor<3> = Tensor::from_data(TensorData::new(data, [n, n, n]), &device);
        let scale: Tensor<3> = Tensor::zeros([n, n, n], &device);
        let kept = |window| {
            peaks(score.clone(), scale.clone(), 10, window)
                .into_iter()
                .map(|(zyx, _, _)| zyx)
                .collect::<Vec<_>>()
        };
        assert_eq!(kept(PEAK_WINDOW[2]), [[6, 6, 6], [4, 4, 6]]);
        assert_eq!(kept(PEAK_WINDOW[1]), [[6, 6, 6]], "finer levels keep one");
    }

    /// A lung mask holding all of an n³ iso box (2 iso voxels a mask voxel).
    fn whole_box_is_lung(n: usize) -> LungMask {
        LungMask {
            dims: [n / 2; 3],
            factor: 2,
            labels: vec![1; (n / 2).pow(3)],
            centroid_iso: [n as f64 / 2.0; 3],
            volume_ml: 0.0,
        }
    }

    #[test]
    fn a_nodule_wider_than_the_closing_keeps_its_core_where_lung_surrounds_it() {
        let device = hilum_gpu::cpu_backend().device;
        // Lung with a solid ball of radius 10 voxels (30 mm across, wider
        // than the closing): alone, then grown into chest wall at x ≥ 22.
        let n = 32;
        let ball = |wall: bool| -> Vec<f32> {
            (0..n * n * n)
                .map(|i| {
                    let (z, y, x) = (i / (n * n), (i / n) % n, i % n);
                    let d2: f32 = [z, y, x].iter().map(|&c| (c as f32 - 16.0).powi(2)).sum();
                    if d2 <= 100.0 || (wall && x >= 22) {
                        1.04
                    } else {
                        0.15
                    }
                })
                .collect()
        };
        let flatten = |data: Vec<f32>| -> Vec<f32> {
            let v = Tensor::from_data(TensorData::new(data, [n, n, n]), &device);
            wall_flattened(v, &whole_box_is_lung(n), [0; 3])
                .into_data()
                .try_to_vec()
                .unwrap()
        };
        let core = (16 * n + 16) * n + 16;
        // Flooded on the 2-voxel mask grid, the ball may lose a voxel of its
        // rim where a grid cell is mostly air; what lies 7 voxels in is kept.
        let alone = flatten(ball(false));
        let flattened_within = |r2: f32| {
            (0..n * n * n)
                .filter(|&i| {
                    let (z, y, x) = (i / (n * n), (i / n) % n, i % n);
                    let d2: f32 = [z, y, x].iter().map(|&c| (c as f32 - 16.0).powi(2)).sum();
                    d2 <= r2 && alone[i] != 1.04
                })
                .count()
        };
        assert_eq!(
            flattened_within(49.0),
            0,
            "surrounded by lung, the ball is kept"
        );
        let joined = flatten(ball(true));
        assert_eq!(
            joined[core], PARENCHYMA,
            "joined to the chest wall, the core is flattened"
        );
        assert_eq!(
            joined[(16 * n + 16) * n + 7],
            1.04,
            "its rim within reach of air stays"
        );
    }

    #[test]
    fn the_largest_scales_keep_a_large_nodule_on_the_pleura_that_the_fine_closing_flattens() {
        let device = hilum_gpu::cpu_backend().device;
        // A 26 mm solid nodule straddling the pleura (lung x < 14, chest wall
        // x ≥ 14): 4.4 voxels across on the coarsest grid (6 mm), 17.3 on the
        // iso grid (1.5 mm). The same scene drawn on both grids.
        let scene = |n: usize, voxels_per_coarse: f32| -> Tensor<3> {
            let s = voxels_per_coarse;
            let data = (0..n * n * n)
                .map(|i| {
                    let (z, y, x) = (i / (n * n), (i / n) % n, i % n);
                    let c = [z, y, x].map(|v| (v as f32 + 0.5) / s);
                    let d2 = (c[0] - 12.0).powi(2) + (c[1] - 12.0).powi(2) + (c[2] - 13.0).powi(2);
                    if c[2] >= 14.0 || d2 <= 2.2f32.powi(2) {
                        1.04
                    } else {
                        0.15
                    }
                })
                .collect();
            Tensor::from_data(TensorData::new(data, [n, n, n]), &device)
        };
        let coarse: Vec<f32> = wide_dents_kept(scene(24, 1.0))
            .into_data()
            .try_to_vec()
            .unwrap();
        let at = |z: usize, y: usize, x: usize| coarse[(z * 24 + y) * 24 + x];
        assert_eq!(at(12, 12, 12), 1.04, "the nodule, on the coarsest grid");
        assert_eq!(at(12, 12, 20), PARENCHYMA, "the chest wall");
        assert_eq!(
            at(12, 2, 15),
            PARENCHYMA,
            "the chest wall beside the nodule"
        );
        assert_eq!(at(12, 2, 8), 0.15, "the lung");
        // The fine closing (13.5 mm) flattens the same nodule on the iso grid.
        let n = 96;
        let fine: Vec<f32> = wall_flattened(scene(n, 4.0), &whole_box_is_lung(n), [0; 3])
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(fine[(48 * n + 48) * n + 50], PARENCHYMA);
    }

    #[test]
    fn a_ground_glass_nodule_on_the_pleura_stands_alone_in_the_faint_volume() {
        let device = hilum_gpu::cpu_backend().device;
        // Lung (x < 20) against chest wall (x ≥ 20) and a ground-glass sphere
        // of radius 5 centred 2 voxels inside the lung: drawn over the lung,
        // hidden in the brighter wall, as the phantom draws it.
        let n = 32;
        let idx = |z: usize, y: usize, x: usize| (z * n + y) * n + x;
        let data: Vec<f32> = (0..n * n * n)
            .map(|i| {
                let (z, y, x) = (i / (n * n), (i / n) % n, i % n);
                let d2: f32 = [(z, 16.0), (y, 16.0), (x, 18.0)]
                    .iter()
                    .map(|&(c, m)| (c as f32 - m).powi(2))
                    .sum();
                match (x >= 20, d2 <= 25.0) {
                    (true, _) => 1.04,
                    (false, true) => 0.45,
                    (false, false) => 0.15,
                }
            })
            .collect();
        let v: Tensor<3> = Tensor::from_data(TensorData::new(data, [n, n, n]), &device);
        let (_, faint) = searched_volumes(v, &whole_box_is_lung(n), [0; 3]);
        let out: Vec<f32> = faint.into_data().try_to_vec().unwrap();
        for x in [15, 19] {
            assert_eq!(out[idx(16, 16, x)], 0.45, "the nodule at x = {x}");
        }
        // Painted over with what surrounds it, the wall beside the nodule
        // would take the nodule's brightness and the nodule would be a bump
        // on a bright band.
        for x in [20, 22] {
            assert_eq!(out[idx(16, 16, x)], PARENCHYMA, "the wall at x = {x}");
        }
        assert_eq!(
            out[idx(16, 4, 21)],
            PARENCHYMA,
            "the wall beside the nodule"
        );
    }

    /// The ground-glass-only volume of an n³ scene drawn voxel by voxel ([z, y, x]).
    fn ground_glass_of(n: usize, draw: impl Fn([usize; 3]) -> f32) -> Vec<f32> {
        let device = hilum_gpu::cpu_backend().device;
        let data: Vec<f32> = (0..n * n * n)
            .map(|i| draw([i / (n * n), (i / n) % n, i % n]))
            .collect();
        let v = Tensor::from_data(TensorData::new(data, [n, n, n]), &device);
        ground_glass_only(v).into_data().try_to_vec().unwrap()
    }

    /// Squared distance, voxels², from `p` to `centre` ([z, y, x]).
    fn d2(p: [usize; 3], centre: [f32; 3]) -> f32 {
        (0..3).map(|a| (p[a] as f32 - centre[a]).powi(2)).sum()
    }

    #[test]
    fn ground_glass_alone_paints_over_vessels_with_what_surrounds_them() {
        // Lung with a ground-glass sphere (radius 6) centred on x = 12, a
        // vessel along z through its centre, and another vessel far from it.
        let n = 32;
        let idx = |z: usize, y: usize, x: usize| (z * n + y) * n + x;
        let out = ground_glass_of(n, |[z, y, x]| {
            let on_vessel = |cx: f32| d2([0, y, x], [0.0, 16.0, cx]) <= 1.0;
            if on_vessel(12.0) || on_vessel(27.0) {
                1.04
            } else if d2([z, y, x], [16.0, 16.0, 12.0]) <= 36.0 {
                0.5
            } else {
                0.15
            }
        });
        let centre = out[idx(16, 16, 12)];
        assert!(
            (0.4..=0.5).contains(&centre),
            "the nodule's centre, under the vessel: {centre}"
        );
        let far = out[idx(16, 16, 27)];
        assert!(
            (0.14..=0.16).contains(&far),
            "the vessel in the lung: {far}"
        );
        assert_eq!(
            out[idx(16, 16, 7)],
            0.5,
            "ground glass off the vessel is kept"
        );
        assert_eq!(out[idx(16, 4, 4)], 0.15, "lung is kept");
    }

    #[test]
    fn specks_of_tissue_brightness_in_ground_glass_do_not_take_the_nodule_with_them() {
        // Lung with a ground-glass sphere (radius 4) whose texture brings one
        // voxel in four above soft tissue, and a vessel (radius 2.2) with a
        // partial-volume rim, far from it.
        let n = 32;
        let idx = |z: usize, y: usize, x: usize| (z * n + y) * n + x;
        let in_sphere = |p: [usize; 3]| d2(p, [16.0, 16.0, 10.0]) <= 16.0;
        let speck = |p: [usize; 3]| in_sphere(p) && p.iter().sum::<usize>() % 4 == 0;
        let out = ground_glass_of(n, |p| {
            let from_vessel = d2([0, p[1], p[2]], [0.0, 16.0, 25.0]);
            match (from_vessel, speck(p), in_sphere(p)) {
                (r2, _, _) if r2 <= 5.0 => 1.04,
                (r2, _, _) if r2 <= 10.0 => 0.5,
                (_, true, _) => 0.8,
                (_, _, true) => 0.5,
                _ => 0.15,
            }
        });
        let voxels = (0..n * n * n).map(|i| [i / (n * n), (i / n) % n, i % n]);
        let painted = voxels
            .clone()
            .filter(|&p| in_sphere(p) && !speck(p) && out[idx(p[0], p[1], p[2])] != 0.5)
            .count();
        assert_eq!(painted, 0, "ground glass beside the specks is kept");
        for p in voxels.filter(|&p| speck(p)) {
            let v = out[idx(p[0], p[1], p[2])];
            assert!(
                (0.2..=0.5).contains(&v),
                "a speck, painted with what surrounds it: {v}"
            );
        }
        for (y, x) in [(16, 25), (16, 28), (18, 27)] {
            let v = out[idx(16, y, x)];
            assert!(
                (0.14..=0.2).contains(&v),
                "the vessel and its rim at ({y}, {x}): {v}"
            );
        }
    }
}
