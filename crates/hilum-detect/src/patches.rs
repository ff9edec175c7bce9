//! Patches around candidates, cut from the iso volume on the device.

use crate::model::PATCH;
use burn::tensor::Tensor;

/// The iso volume with `PATCH / 2` voxels of air on every side, so that a
/// patch around any voxel stays inside.
pub fn pad_for_patches(iso: &Tensor<3>) -> Tensor<3> {
    let [z, y, x] = iso.dims();
    let h = PATCH / 2;
    let padded: Tensor<3> = Tensor::zeros([z + PATCH, y + PATCH, x + PATCH], &iso.device());
    padded.slice_assign([h..h + z, h..h + y, h..h + x], iso.clone())
}

/// `[n, 1, PATCH, PATCH, PATCH]` patches centred on iso voxels `centres`
/// (z, y, x), cut from a volume padded by [`pad_for_patches`].
pub fn cut_patches(padded: &Tensor<3>, centres: &[[usize; 3]]) -> Tensor<5> {
    let patches: Vec<Tensor<5>> = centres
        .iter()
        .map(|c| {
            padded
                .clone()
                .slice([c[0]..c[0] + PATCH, c[1]..c[1] + PATCH, c[2]..c[2] + PATCH])
                .reshape([1, 1, PATCH, PATCH, PATCH])
        })
        .collect();
    Tensor::cat(patches, 0)
}

/// The classifier's logits on patches centred on `points` (LPS mm), cut from
/// `volume` resampled to `spacing_mm` voxels: at a finer spacing than the
/// detector's, a small nodule fills more of the patch.
pub fn logits_at(
    volume: &hilum_core::Volume,
    device: &burn::tensor::Device,
    net: &crate::model::NoduleNet,
    spacing_mm: f64,
    points: &[[f64; 3]],
) -> Vec<f32> {
    let iso = crate::iso::to_iso(volume, device, spacing_mm);
    let dims = iso.dims();
    let padded = pad_for_patches(&iso.tensor);
    let centres: Vec<[usize; 3]> = points
        .iter()
        .map(|&p| {
            let xyz = iso.affine.lps_to_voxel(p).unwrap_or([0.0; 3]);
            let zyx = [xyz[2], xyz[1], xyz[0]];
            std::array::from_fn(|a| (zyx[a].round().max(0.0) as usize).min(dims[a] - 1))
        })
        .collect();
    let mut logits = Vec::with_capacity(points.len());
    for chunk in centres.chunks(64) {
        let l = net.logits(cut_patches(&padded, chunk));
        logits.extend(l.into_data().try_to_vec::<f32>().expect("f32"));
    }
    logits
}
