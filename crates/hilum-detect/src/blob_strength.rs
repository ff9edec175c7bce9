//! Bright-blob strength of a smoothed volume in one hand-written kernel on
//! wgpu devices (`shaders/blob_strength.wgsl`): the Hessian by central
//! differences and its blobness, as `filters::blobness(filters::hessian(v))`
//! computes them with a dozen of burn's kernels and six full-size tensors,
//! which under lavapipe took seconds a call. burn's CPU backend keeps the
//! burn version; the tests hold the two to the same numbers.

use crate::wgsl::{empty_f32, f32_primitive, launch, RuntimeSizes, Wgsl};
use burn::backend::wgpu::CubeBackend;
use burn::cubecl::server::KernelArguments;
use burn::tensor::Tensor;

const SHADER: &str = include_str!("../../../shaders/blob_strength.wgsl");

/// One launch: the volume's dimensions come at run time, so every volume
/// shares one compiled variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Volume {
    dims: [u32; 3],
}

impl Wgsl for Volume {
    fn constants(&self) -> Vec<(&'static str, u32)> {
        Vec::new()
    }

    fn sizes(&self) -> Option<RuntimeSizes> {
        let [d, h, w] = self.dims;
        Some(RuntimeSizes {
            // After the input and the output.
            binding: 2,
            values: vec![("d", d), ("h", h), ("w", w)],
        })
    }

    fn parts(&self) -> Vec<&'static str> {
        vec![SHADER]
    }

    /// One a voxel (checked in [`blob_strength`] to fit u32).
    fn invocations(&self) -> u32 {
        self.dims.iter().product()
    }
}

/// `blobness(hessian(v))` for `v` `[z, y, x]`, or `None` when `v` is not a
/// wgpu tensor (burn's CPU backend): the caller falls back to burn.
pub fn blob_strength(v: &Tensor<3>) -> Option<Tensor<3>> {
    let dims = v.dims();
    let voxels = u32::try_from(dims.iter().product::<usize>()).ok()?;
    if voxels == 0 {
        return None;
    }
    let input = f32_primitive(v)?;
    let output = empty_f32(&input, input.meta.shape().clone());
    let volume = Volume {
        dims: dims.map(|n| n as u32),
    };
    launch(
        volume,
        &input,
        KernelArguments::new()
            .with_buffer(input.handle.clone().binding())
            .with_buffer(output.handle.clone().binding()),
    );
    Some(Tensor::from_primitive::<CubeBackend>(output))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wgsl::source;

    #[test]
    fn volumes_of_any_size_share_one_variant() {
        let volume = |dims| source(&Volume { dims });
        assert_eq!(volume([90, 200, 210]), volume([120, 181, 222]));
    }
}
