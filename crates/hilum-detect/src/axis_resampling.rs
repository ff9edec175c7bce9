//! Linear resampling along one axis of a volume as one hand-written kernel on
//! wgpu devices (`shaders/resample_axis.wgsl`). burn's two gathers and lerp
//! made the resampling to isotropic voxels five times slower under lavapipe
//! than on burn's CPU backend, which keeps them; the tests hold the two to the
//! same numbers.

use crate::wgsl::{empty_f32, f32_primitive, launch, RuntimeSizes, Wgsl};
use burn::backend::wgpu::CubeBackend;
use burn::cubecl::server::KernelArguments;
use burn::tensor::{Shape, Tensor, TensorData};

const SHADER: &str = include_str!("../../../shaders/resample_axis.wgsl");

/// One launch: its sizes come at run time, so every volume shares one
/// compiled variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Resampling {
    outer: u32,
    n_in: u32,
    n_out: u32,
    inner: u32,
}

impl Resampling {
    /// An invocation per output voxel; `None` past u32.
    fn checked_invocations(&self) -> Option<u32> {
        self.outer.checked_mul(self.inner)?.checked_mul(self.n_out)
    }
}

impl Wgsl for Resampling {
    fn constants(&self) -> Vec<(&'static str, u32)> {
        Vec::new()
    }

    fn sizes(&self) -> Option<RuntimeSizes> {
        Some(RuntimeSizes {
            // After the input, the samples and the output.
            binding: 3,
            values: vec![
                ("outer", self.outer),
                ("n_in", self.n_in),
                ("n_out", self.n_out),
                ("inner", self.inner),
            ],
        })
    }

    fn parts(&self) -> Vec<&'static str> {
        vec![SHADER]
    }

    fn invocations(&self) -> u32 {
        self.checked_invocations()
            .expect("checked in `resample_axis_on_device`")
    }
}

/// `v` resampled along `axis`: output `i` is `v[lo[i]] + (v[hi[i]] − v[lo[i]])·w[i]`
/// along that axis. `None` when `v` is not a wgpu tensor (burn's CPU
/// backend): the caller falls back to burn.
pub fn resample_axis_on_device(
    v: &Tensor<3>,
    axis: usize,
    lo: &[usize],
    hi: &[usize],
    w: &[f32],
) -> Option<Tensor<3>> {
    let dims = v.dims();
    let n_out = w.len();
    if dims.contains(&0) || n_out == 0 || lo.len() != n_out || hi.len() != n_out {
        return None;
    }
    let size = |range: &[usize]| u32::try_from(range.iter().product::<usize>()).ok();
    let resampling = Resampling {
        outer: size(&dims[..axis])?,
        n_in: u32::try_from(dims[axis]).ok()?,
        n_out: u32::try_from(n_out).ok()?,
        inner: size(&dims[axis + 1..])?,
    };
    resampling.checked_invocations()?;
    let input = f32_primitive(v)?;
    // Indices below 2^24 are exact in f32.
    let samples: Vec<f32> = lo
        .iter()
        .chain(hi)
        .map(|&i| i as f32)
        .chain(w.iter().copied())
        .collect();
    let samples: Tensor<1> = Tensor::from_data(TensorData::new(samples, [3 * n_out]), &v.device());
    let samples = f32_primitive(&samples)?;
    let mut out_dims = dims;
    out_dims[axis] = n_out;
    let output = empty_f32(&input, Shape::from(out_dims));
    launch(
        resampling,
        &input,
        KernelArguments::new()
            .with_buffer(input.handle.clone().binding())
            .with_buffer(samples.handle.binding())
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
        let resampling = |outer, n_in, n_out, inner| {
            source(&Resampling {
                outer,
                n_in,
                n_out,
                inner,
            })
        };
        assert_eq!(
            resampling(1, 133, 222, 512 * 512),
            resampling(300, 512, 340, 512)
        );
    }
}
