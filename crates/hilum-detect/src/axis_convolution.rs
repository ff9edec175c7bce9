//! A 1D convolution along one axis of a volume, zero outside it, as one
//! hand-written kernel on wgpu devices (`shaders/convolve_axis.wgsl`): the
//! passes of the separable Gaussian. burn's generic `conv3d` ran them at under
//! 0.1 GFLOP/s under lavapipe, where they were most of the candidate stage.
//! burn's CPU backend keeps `conv3d`; the tests hold the two to the same numbers.

use crate::wgsl::{constants, dispatch, empty_f32, f32_primitive, WORKGROUP};
use burn::backend::wgpu::{CubeBackend, KernelSource, SourceKernel, SourceTemplate};
use burn::cubecl::prelude::KernelId;
use burn::cubecl::server::KernelArguments;
use burn::cubecl::CubeDim;
use burn::tensor::{Tensor, TensorData};

const SHADER: &str = include_str!("../../../shaders/convolve_axis.wgsl");
/// Outputs per invocation, as the shader fixes them.
const RUN: u32 = 4;

/// One compiled variant: every size is a constant in the shader text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Pass {
    outer: u32,
    len: u32,
    inner: u32,
    radius: u32,
}

impl Pass {
    fn invocations(&self) -> u32 {
        self.outer * self.inner * self.len.div_ceil(RUN)
    }
}

impl KernelSource for Pass {
    fn source(&self) -> SourceTemplate {
        let header = constants(&[
            ("OUTER", self.outer),
            ("LEN", self.len),
            ("INNER", self.inner),
            ("RADIUS", self.radius),
            ("LINES_FIRST", u32::from(self.inner > 1)),
        ]);
        SourceTemplate::new(header + SHADER)
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(*self)
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// `v` convolved along `axis` with `taps` (odd length, centred), zero outside
/// the volume: burn's `conv3d` with a `taps.len()`-long kernel on that axis and
/// padding of half of it. `None` when `v` is not a wgpu tensor (burn's CPU
/// backend): the caller falls back to burn.
pub fn convolve_axis(v: &Tensor<3>, axis: usize, taps: &[f32]) -> Option<Tensor<3>> {
    let dims = v.dims();
    if taps.len() % 2 == 0 || dims.contains(&0) {
        return None;
    }
    let size = |range: &[usize]| u32::try_from(range.iter().product::<usize>()).ok();
    let pass = Pass {
        outer: size(&dims[..axis])?,
        len: u32::try_from(dims[axis]).ok()?,
        inner: size(&dims[axis + 1..])?,
        radius: (taps.len() / 2) as u32,
    };
    let input = f32_primitive(v)?;
    let taps: Tensor<1> =
        Tensor::from_data(TensorData::new(taps.to_vec(), [taps.len()]), &v.device());
    let taps = f32_primitive(&taps)?;
    let output = empty_f32(&input, input.meta.shape().clone());
    input.client.launch(
        Box::new(SourceKernel::new(pass, CubeDim::new_1d(WORKGROUP))),
        dispatch(pass.invocations()),
        KernelArguments::new()
            .with_buffer(input.handle.clone().binding())
            .with_buffer(taps.handle.binding())
            .with_buffer(output.handle.clone().binding()),
    );
    Some(Tensor::from_primitive::<CubeBackend>(output))
}
