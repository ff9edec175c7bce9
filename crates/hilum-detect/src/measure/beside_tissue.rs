//! A ground-glass seed measured with the soft tissue around it read as
//! aerated lung: the last try for a candidate whose region ran on into a wall.

use super::{measure_seeded, Seed, LUNG_HU, MAX_REACH_MM, SOLID_HU};
use hilum_core::{Affine, Volume};

/// Half the side (voxels) of the cube measured in, at least: on the scans
/// evaluated (0.70–0.94 mm pixels) more than the largest reach in-plane. Finer
/// pixels get more voxels, to hold that reach ([`MAX_REACH_MM`]).
const HALF_SIDE: usize = 48;

/// [`measure_seeded`] from the candidate's own voxel, in a cube around it
/// where every voxel of solid attenuation reads as aerated lung, so a
/// ground-glass region cannot run on into the tissue it lies against (seed
/// 9754: a 19.4 mm part-solid nodule on the diaphragm's dome, 63 % of it
/// in the dome's tissue; seeded in the ground-glass cap that shows, both
/// regions ran on into the diaphragm and centred outside the lungs). `None` where the seed
/// voxel is itself solid: a part-solid nodule's solid part must never be
/// cut away. The centroid is returned in `v`'s voxels.
pub fn measure_beside_tissue(
    v: &Volume,
    centre: [f64; 3],
    radius_mm: f64,
    enhanced: bool,
) -> Option<(super::Measurement, [f64; 3])> {
    let at = centre.map(f64::round);
    if (0..3).any(|a| at[a] < 0.0 || at[a] >= v.dims[a] as f64) {
        return None;
    }
    let at = at.map(|c| c as usize);
    if v.get(at[0], at[1], at[2]) >= SOLID_HU {
        return None;
    }
    let spacing = v.spacing();
    let half: [usize; 3] =
        std::array::from_fn(|a| HALF_SIDE.max((MAX_REACH_MM / spacing[a]).ceil() as usize + 1));
    let lo: [usize; 3] = std::array::from_fn(|a| at[a].saturating_sub(half[a]));
    let hi: [usize; 3] = std::array::from_fn(|a| (at[a] + half[a] + 1).min(v.dims[a]));
    let dims: [usize; 3] = std::array::from_fn(|a| hi[a] - lo[a]);
    let mut data = Vec::with_capacity(dims.iter().product());
    for k in lo[2]..hi[2] {
        for j in lo[1]..hi[1] {
            let row = v.index(lo[0], j, k);
            data.extend(v.data[row..row + dims[0]].iter().map(|&hu| {
                if hu >= SOLID_HU {
                    LUNG_HU as i16
                } else {
                    hu
                }
            }));
        }
    }
    let offset = lo.map(|c| c as f64);
    let cube = Volume {
        dims,
        affine: Affine {
            origin: v.affine.voxel_to_lps(offset),
            ..v.affine
        },
        data,
    };
    let local = std::array::from_fn(|a| centre[a] - offset[a]);
    let (m, centroid) = measure_seeded(&cube, local, radius_mm, enhanced, Seed::Centre)?;
    Some((m, std::array::from_fn(|a| centroid[a] + offset[a])))
}
