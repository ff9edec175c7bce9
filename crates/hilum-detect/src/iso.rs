//! The volume on the device, resampled to isotropic voxels.

use crate::filters::resample_axis;
use burn::tensor::{Device, Tensor, TensorData};
use hilum_core::{geometry, Affine, Volume};
use rayon::prelude::*;

/// Normalised intensity: (HU + 1000) / 1000, clamped to [0, 1.3] so that air
/// is 0 (zero padding in filters then means air) and dense bone does not dominate.
pub fn normalise(hu: i16) -> f32 {
    ((f32::from(hu) + 1000.0) / 1000.0).clamp(0.0, 1.3)
}

pub fn hu_of(normalised: f32) -> f32 {
    normalised * 1000.0 - 1000.0
}

/// An isotropic volume on the device and the affine of its voxels.
pub struct IsoVolume {
    /// `[z, y, x]`, normalised intensity.
    pub tensor: Tensor<3>,
    pub spacing_mm: f64,
    pub affine: Affine,
}

impl IsoVolume {
    pub fn dims(&self) -> [usize; 3] {
        self.tensor.dims()
    }
    /// Patient position of iso voxel (z, y, x).
    pub fn lps(&self, zyx: [f64; 3]) -> [f64; 3] {
        self.affine.voxel_to_lps([zyx[2], zyx[1], zyx[0]])
    }
}

/// Largest upload in one buffer, bytes: devices may bind no more than 128 MiB
/// in one buffer (lavapipe refuses larger), and a 512×512×300 volume is 300 MiB in f32.
const MAX_SLAB_BYTES: usize = 64 << 20;

/// Output size and step (input voxels per output voxel) for resampling an
/// axis of `n_in` voxels `spacing` apart to `target` mm.
fn iso_axis(n_in: usize, spacing: f64, target: f64) -> (usize, f64) {
    let step = target / spacing;
    (
        (((n_in - 1) as f64 / step).floor() as usize + 1).max(1),
        step,
    )
}

/// Uploads `volume` once, in slabs of slices each resampled in-plane on the
/// device, then joined and resampled along the slices to `spacing_mm` voxels.
pub fn to_iso(volume: &Volume, device: &Device, spacing_mm: f64) -> IsoVolume {
    let [nx, ny, nz] = volume.dims;
    let sp = volume.spacing();
    let (out_x, step_x) = iso_axis(nx, sp[0], spacing_mm);
    let (out_y, step_y) = iso_axis(ny, sp[1], spacing_mm);
    let (out_z, step_z) = iso_axis(nz, sp[2], spacing_mm);
    let plane = nx * ny;
    let slab = (MAX_SLAB_BYTES / (plane * 4)).clamp(1, nz);
    let slabs: Vec<Tensor<3>> = (0..nz)
        .step_by(slab)
        .map(|k0| {
            let k1 = (k0 + slab).min(nz);
            let data: Vec<f32> = volume.data[k0 * plane..k1 * plane]
                .par_iter()
                .map(|&h| normalise(h))
                .collect();
            let t: Tensor<3> = Tensor::from_data(TensorData::new(data, [k1 - k0, ny, nx]), device);
            // Tensor axes (z, y, x) are (slices, rows, columns).
            let t = resample_axis(t, 2, out_x, 0.0, step_x);
            resample_axis(t, 1, out_y, 0.0, step_y)
        })
        .collect();
    let t = resample_axis(Tensor::cat(slabs, 0), 0, out_z, 0.0, step_z);
    let a = volume.affine;
    IsoVolume {
        tensor: t,
        spacing_mm,
        affine: Affine {
            origin: a.origin,
            col_step: geometry::scale(a.col_step, step_x),
            row_step: geometry::scale(a.row_step, step_y),
            slice_step: geometry::scale(a.slice_step, step_z),
        },
    }
}
