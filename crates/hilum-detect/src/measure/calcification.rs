//! Calcifications: a round calcification in lung is measured on its own,
//! without the vessel or pleura it touches; dense tubes that run on are
//! enhanced vessels, not nodules.

use super::region::{grow, Region, RAN_OUT};
use super::shape::{elongation, MAX_ROUND_ELONGATION};
use super::voxel_set::VoxelSet;
use super::{CALCIFIED_HU, SMALLEST_NODULE_MM3};
use hilum_core::geometry::norm;
use hilum_core::Volume;

/// Below this, HU, a voxel around a calcification counts as aerated lung.
const AERATED_HU: i16 = -500;
/// Shell around a calcification that tells what it lies in, mm.
const CALCIFICATION_SHELL_MM: f64 = 3.0;
/// Share of that shell that must be aerated lung for a calcification to be
/// measured on its own: a calcified nodule lies in lung (a vessel or the
/// pleura may touch it), a rib or a calcified vessel wall in soft tissue.
const CALCIFICATION_IN_LUNG: f64 = 0.5;

/// A calcified nodule alone: the voxels of its calcification connected to
/// `seed` and those within one voxel of it above `threshold` (its blurred
/// edge). A calcification is small and dense, so the vessel or soft tissue it
/// touches is left out where a cut at a fitted sphere, seeing the two as one,
/// would keep it (a 5 mm calcified nodule on a vessel was measured as a
/// 7 mm solid one centred beside it). `None` unless it lies in lung
/// ([`CALCIFICATION_IN_LUNG`]), ends within the reach and is at least
/// [`SMALLEST_NODULE_MM3`]: bone, calcified vessel walls and noise are
/// measured as before.
pub(super) fn calcification_in_lung(
    v: &Volume,
    seed: [usize; 3],
    threshold: i16,
    reach_mm: f64,
) -> Option<Region> {
    let sp = v.spacing();
    let calcified = grow(v, seed, CALCIFIED_HU, sp.map(|s| reach_mm / s)).voxels;
    let mm_between = |p: [usize; 3], q: [usize; 3]| {
        norm(std::array::from_fn(|a| (p[a] as f64 - q[a] as f64) * sp[a]))
    };
    let voxel_mm3 = sp[0] * sp[1] * sp[2];
    if (calcified.len() as f64) * voxel_mm3 < SMALLEST_NODULE_MM3
        || calcified
            .iter()
            .any(|&p| mm_between(p, seed) > RAN_OUT * reach_mm)
    {
        return None;
    }
    // A calcified nodule is round; a contrast-filled vessel, above 200 HU in
    // an enhanced scan, is a tube.
    if elongation(&calcified, sp) > MAX_ROUND_ELONGATION {
        return None;
    }
    let inside = VoxelSet::of(&calcified);
    let margin: [usize; 3] = sp.map(|s| (CALCIFICATION_SHELL_MM / s).ceil() as usize);
    let lo: [usize; 3] = std::array::from_fn(|a| {
        calcified
            .iter()
            .map(|p| p[a])
            .min()
            .unwrap_or(0)
            .saturating_sub(margin[a])
    });
    let hi: [usize; 3] = std::array::from_fn(|a| {
        let top = calcified.iter().map(|p| p[a]).max().unwrap_or(0) + margin[a];
        top.min(v.dims[a] - 1)
    });
    let mut voxels = calcified.clone();
    let (mut shell, mut aerated) = (0usize, 0usize);
    for k in lo[2]..=hi[2] {
        for j in lo[1]..=hi[1] {
            for i in lo[0]..=hi[0] {
                let p = [i, j, k];
                if inside.contains(p) {
                    continue;
                }
                let nearest = calcified
                    .iter()
                    .map(|&q| mm_between(p, q))
                    .fold(f64::MAX, f64::min);
                if nearest > CALCIFICATION_SHELL_MM {
                    continue;
                }
                let hu = v.get(i, j, k);
                shell += 1;
                aerated += usize::from(hu < AERATED_HU);
                let touches = calcified
                    .iter()
                    .any(|q| (0..3).all(|a| p[a].abs_diff(q[a]) <= 1));
                if touches && hu >= threshold {
                    voxels.push(p);
                }
            }
        }
    }
    if (aerated as f64) < CALCIFICATION_IN_LUNG * shell as f64 {
        return None;
    }
    let own = vec![true; voxels.len()];
    Some(Region { voxels, own })
}

/// Distance from the seed, mm, that the voxels of at least [`CALCIFIED_HU`]
/// connected to it reach when they run on beyond any calcified nodule (the
/// largest are about 10 mm across): an enhanced vessel, contrast in a vein,
/// a rib.
const DENSE_RUNS_ON_MM: f64 = 12.0;

/// Whether the dense voxels connected to `seed` reach [`DENSE_RUNS_ON_MM`] from it.
pub(super) fn dense_runs_on(v: &Volume, seed: [usize; 3]) -> bool {
    let sp = v.spacing();
    let reach = DENSE_RUNS_ON_MM + 2.0 * sp.iter().copied().fold(0.0, f64::max);
    grow(v, seed, CALCIFIED_HU, sp.map(|s| reach / s))
        .voxels
        .iter()
        .any(|p| {
            norm(std::array::from_fn(|a| {
                (p[a] as f64 - seed[a] as f64) * sp[a]
            })) >= DENSE_RUNS_ON_MM
        })
}
