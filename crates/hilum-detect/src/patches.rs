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

/// `centres` filled up to `batch` with copies of the last, so that every
/// batch the classifier scores has one shape (scores past the first
/// `centres.len()` are to be dropped). A wgpu device compiles its kernels for
/// each batch size and keeps them for the life of the process: with the last
/// batch's size changing from series to series, a batch of series on the
/// software Vulkan device grew by about 33 MB a series.
pub fn filled_to(mut centres: Vec<[usize; 3]>, batch: usize) -> Vec<[usize; 3]> {
    if let Some(&last) = centres.last() {
        centres.resize(batch.max(centres.len()), last);
    }
    centres
}

#[cfg(test)]
mod tests {
    use super::filled_to;

    #[test]
    fn a_short_batch_is_filled_with_its_last_centre() {
        let centres = vec![[1, 2, 3], [4, 5, 6]];
        assert_eq!(
            filled_to(centres.clone(), 4),
            vec![[1, 2, 3], [4, 5, 6], [4, 5, 6], [4, 5, 6]]
        );
        assert_eq!(filled_to(centres.clone(), 2), centres);
        assert_eq!(filled_to(centres.clone(), 1), centres, "never cut");
        assert!(filled_to(Vec::new(), 4).is_empty());
    }
}
