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

/// Uploads `volume` once and resamples it on the device to `spacing_mm` voxels.
pub fn to_iso(volume: &Volume, device: &Device, spacing_mm: f64) -> IsoVolume {
    let [nx, ny, nz] = volume.dims;
    let data: Vec<f32> = volume.data.par_iter().map(|&h| normalise(h)).collect();
    let mut t: Tensor<3> = Tensor::from_data(TensorData::new(data, [nz, ny, nx]), device);
    let sp = volume.spacing();
    // (tensor axis, volume axis): z ↔ slices (2), y ↔ rows (1), x ↔ columns (0).
    let mut steps = [0f64; 3];
    for (axis, vol_axis) in [(2usize, 0usize), (1, 1), (0, 2)] {
        let n_in = volume.dims[vol_axis];
        let step = spacing_mm / sp[vol_axis];
        let n_out = (((n_in - 1) as f64 / step).floor() as usize + 1).max(1);
        t = resample_axis(t, axis, n_out, 0.0, step);
        steps[vol_axis] = step;
    }
    let a = volume.affine;
    IsoVolume {
        tensor: t,
        spacing_mm,
        affine: Affine {
            origin: a.origin,
            col_step: geometry::scale(a.col_step, steps[0]),
            row_step: geometry::scale(a.row_step, steps[1]),
            slice_step: geometry::scale(a.slice_step, steps[2]),
        },
    }
}
