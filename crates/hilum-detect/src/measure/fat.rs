//! Fat is no nodule: a region whose interior reads as fat is refused, and fat
//! that a region grew into beside a dense core is trimmed off.

use super::region::{grow, Region, MAX_REACH_MM};
use super::voxel_set::VoxelSet;
use super::SMALLEST_NODULE_MM3;
use hilum_core::Volume;

/// fat: soft tissue and solid nodules read 0–60 HU (more with contrast), fat
/// −150 to −50. Fat is no nodule to report (a nodule with fat in it is benign,
/// Lung-RADS category 1): on LIDC-IDRI-0001 the fat at the heart's anterior
/// border, its interior at a median of −74 HU, was a 14 mm "solid nodule" at
/// confidence 0.83, Lung-RADS 4A; the readers' nodule reads +92 inside. Not
/// −30: on 2.5 mm slices partial volume takes a small solid nodule's interior
/// below that (seed 9012: an 8.0 mm nodule on the pleura drawn at 25 HU read
/// −31 and −40 HU and had no finding).
pub(super) const FAT_HU: i16 = -50;

/// Depth inside a region's edge, mm, from which a voxel is its interior (in
/// its slice, and along z one slice at least): the partial-volumed rim, part
/// lung, would pull the median down.
const INTERIOR_MM: f64 = 2.0;

/// The median HU of the region's interior ([`INTERIOR_MM`]); `None` when
/// less than [`SMALLEST_NODULE_MM3`] lies that deep.
pub(super) fn interior_median_hu(v: &Volume, voxels: &[[usize; 3]]) -> Option<i16> {
    let sp = v.spacing();
    let set = VoxelSet::of(voxels);
    let reach: [i64; 3] = [
        (INTERIOR_MM / sp[0]).ceil() as i64,
        (INTERIOR_MM / sp[1]).ceil() as i64,
        ((INTERIOR_MM / sp[2]).round() as i64).max(1),
    ];
    // A disc in the voxel's slice and a column through it: a region a few
    // thick slices deep has no voxel whose whole ball lies inside.
    let disc = (-reach[1]..=reach[1])
        .flat_map(|j| (-reach[0]..=reach[0]).map(move |i| [i, j, 0]))
        .filter(|o| (o[0] as f64 * sp[0]).hypot(o[1] as f64 * sp[1]) <= INTERIOR_MM);
    let column = (-reach[2]..=reach[2]).map(|k| [0, 0, k]);
    let offsets: Vec<[i64; 3]> = disc.chain(column).collect();
    let mut hu: Vec<i16> = voxels
        .iter()
        .filter(|p| {
            offsets.iter().all(|o| {
                let q: [i64; 3] = std::array::from_fn(|a| p[a] as i64 + o[a]);
                set.contains_signed(q)
            })
        })
        .map(|p| v.get(p[0], p[1], p[2]))
        .collect();
    if (hu.len() as f64) * sp[0] * sp[1] * sp[2] < SMALLEST_NODULE_MM3 {
        return None;
    }
    let middle = hu.len() / 2;
    Some(*hu.select_nth_unstable(middle).1)
}

/// Attenuation, HU, above which a voxel is soft tissue rather than fat:
/// halfway between fat (about −100) and soft tissue or a solid nodule (0–60).
const TISSUE_CORE_HU: i16 = -30;

/// How far (mm) beyond a nodule's dense core its partial-volumed rim reaches:
/// at least a voxel along each axis.
pub(super) const RIM_MM: f64 = 1.5;

/// Share of the (squared, normalised) reach beyond which a dense core runs on.
const RUNS_ON: f64 = 0.8;

/// `region` without what lies farther than [`RIM_MM`] from its dense core:
/// the soft tissue above [`TISSUE_CORE_HU`] connected to `seed`. The fat of a
/// wall the region ran on into is left out, the nodule's rim in lung kept.
/// `None` unless that core is an island: it must end within the largest
/// reach (not run on along a vessel or into muscle, which with the fat around
/// them would pass for nodules) and hold at least [`SMALLEST_NODULE_MM3`] (not
/// a speck of noise in fat).
pub(super) fn without_fat(v: &Volume, seed: [usize; 3], region: Region) -> Option<Region> {
    let sp = v.spacing();
    let reach = sp.map(|s| MAX_REACH_MM / s);
    let dense = grow(v, seed, TISSUE_CORE_HU, reach);
    let runs_on = dense.voxels.iter().any(|p| {
        (0..3)
            .map(|a| ((p[a] as f64 - seed[a] as f64) / reach[a]).powi(2))
            .sum::<f64>()
            > RUNS_ON
    });
    let volume = dense.voxels.len() as f64 * sp[0] * sp[1] * sp[2];
    if runs_on || volume < SMALLEST_NODULE_MM3 {
        return None;
    }
    let dense = VoxelSet::of(&dense.voxels);
    let r: [i64; 3] = sp.map(|s| ((RIM_MM / s).round() as i64).max(1));
    let offsets: Vec<[i64; 3]> = (-r[2]..=r[2])
        .flat_map(|k| (-r[1]..=r[1]).flat_map(move |j| (-r[0]..=r[0]).map(move |i| [i, j, k])))
        .filter(|o| {
            (0..3)
                .map(|a| (o[a] as f64 / r[a] as f64).powi(2))
                .sum::<f64>()
                <= 1.0
        })
        .collect();
    let near_dense = |p: &[usize; 3]| {
        offsets.iter().any(|o| {
            let q: [i64; 3] = std::array::from_fn(|a| p[a] as i64 + o[a]);
            dense.contains_signed(q)
        })
    };
    let (voxels, own) = region
        .voxels
        .into_iter()
        .zip(region.own)
        .filter(|(p, _)| near_dense(p))
        .unzip();
    Some(Region { voxels, own })
}
