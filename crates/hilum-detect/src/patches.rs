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
