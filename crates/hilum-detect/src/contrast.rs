//! Whether a scan is contrast-enhanced, from its lungs: with iodine in the
//! blood, the pulmonary vessels inside the lung mask (the hilum's among them)
//! read above calcium's 200 HU; without it only calcified nodules and the
//! edges of ribs at the mask's border do.

use crate::candidates::{lung_box, mask_tensor};
use crate::iso::{normalise, IsoVolume};
use crate::lung::LungMask;

/// Share of the lung mask's voxels at 200 HU or more from which the scan is
/// taken as contrast-enhanced. Measured: unenhanced phantoms 0.0001–0.0003,
/// enhanced ones (blood at 286 and 336 HU) 0.022 and 0.027, LIDC-IDRI-0001
/// (enhanced) 0.0075. Unenhanced real lungs hold only calcified nodules and
/// lymph nodes, a few mL of some 4 L (0.001).
pub const ENHANCED_DENSE_SHARE: f64 = 0.003;

/// Share of the lung mask's iso voxels at 200 HU or more, on the device,
/// over the lungs' box only (the mask is empty outside it).
pub fn dense_share(iso: &IsoVolume, mask: &LungMask) -> f64 {
    let Some(region) = lung_box(mask, iso.dims()) else {
        return 0.0;
    };
    let origin = region.clone().map(|r| r.start);
    let lungs = iso.tensor.clone().slice(region);
    let in_lung = mask_tensor(mask, lungs.dims(), origin, 1, &lungs.device());
    let dense = lungs.greater_equal_elem(normalise(200)).float() * in_lung.clone();
    let dense: f32 = dense.sum().into_scalar();
    let lung: f32 = in_lung.sum().into_scalar();
    f64::from(dense) / f64::from(lung).max(1.0)
}

/// Whether the scan is contrast-enhanced ([`ENHANCED_DENSE_SHARE`]).
pub fn is_enhanced(iso: &IsoVolume, mask: &LungMask) -> bool {
    dense_share(iso, mask) >= ENHANCED_DENSE_SHARE
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Tensor, TensorData};
    use hilum_core::Affine;

    #[test]
    fn lungs_with_dense_vessels_are_enhanced_and_with_a_calcified_nodule_not() {
        let device = hilum_gpu::cpu_backend().device;
        // A 32³ box of lung (the left half inside the mask) holding dense
        // voxels (300 HU): `dense` of them inside the mask, as many outside.
        let n = 32;
        let scan = |dense: usize| {
            let mut data = vec![normalise(-850); n * n * n];
            for i in 0..dense {
                data[i * n] = normalise(300); // x = 0: inside
                data[i * n + n - 1] = normalise(300); // x = 31: outside
            }
            IsoVolume {
                tensor: Tensor::from_data(TensorData::new(data, [n, n, n]), &device),
                spacing_mm: 1.5,
                affine: Affine::axis_aligned([1.5; 3]),
            }
        };
        let left_half = LungMask {
            dims: [n / 2; 3],
            factor: 2,
            labels: (0..(n / 2).pow(3))
                .map(|i| u8::from(i % (n / 2) < n / 4))
                .collect(),
            centroid_iso: [n as f64 / 2.0; 3],
            volume_ml: 0.0,
        };
        let lung_voxels = (n * n * n / 2) as f64;
        // 2 % of the lungs dense, as enhanced vessels make them.
        let vessels = scan((0.02 * lung_voxels) as usize);
        assert!((dense_share(&vessels, &left_half) - 0.02).abs() < 0.001);
        assert!(is_enhanced(&vessels, &left_half));
        // A calcified nodule: 0.05 %.
        let nodule = scan((0.0005 * lung_voxels) as usize);
        assert!(!is_enhanced(&nodule, &left_half));
    }
}
