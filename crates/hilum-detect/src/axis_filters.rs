//! Filters along one axis of a volume as hand-written kernels on wgpu devices:
//! a 1D convolution, zero outside the volume (`shaders/convolve_axis.wgsl`,
//! the passes of the separable Gaussian), and a running maximum, the outside
//! ignored (`shaders/max_axis.wgsl`, the passes of the 3D max pooling). burn's
//! generic `conv3d` and pooling ran them at a fraction of their speed under
//! lavapipe, where they were most of the candidate stage. burn's CPU backend
//! keeps burn's ops; the tests hold the two to the same numbers.

use crate::wgsl::{empty_f32, f32_primitive, launch, RuntimeSizes, Wgsl};
use burn::backend::wgpu::{CubeBackend, CubeTensor};
use burn::cubecl::server::KernelArguments;
use burn::tensor::{Tensor, TensorData};

const CONVOLVE: &str = include_str!("../../../shaders/convolve_axis.wgsl");
const MAXIMUM: &str = include_str!("../../../shaders/max_axis.wgsl");
/// What both shaders share: the numbering of invocations over lines and runs.
const LINES: &str = include_str!("../../../shaders/axis_lines.wgsl");
/// Outputs per invocation, as `LINES` fixes them.
const RUN: u32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Convolve,
    Maximum,
}

/// One pass: its kind and radius are constants in the shader text, the
/// volume's sizes come at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Pass {
    kind: Kind,
    outer: u32,
    len: u32,
    inner: u32,
    radius: u32,
}

impl Pass {
    /// The pass along `axis` of a volume of `dims` over `radius` voxels either side.
    fn along(kind: Kind, dims: [usize; 3], axis: usize, radius: usize) -> Option<Self> {
        if dims.contains(&0) {
            return None;
        }
        let size = |range: &[usize]| u32::try_from(range.iter().product::<usize>()).ok();
        let pass = Self {
            kind,
            outer: size(&dims[..axis])?,
            len: u32::try_from(dims[axis]).ok()?,
            inner: size(&dims[axis + 1..])?,
            radius: u32::try_from(radius).ok()?,
        };
        pass.checked_invocations().map(|_| pass)
    }

    /// An invocation per run of `RUN` outputs on each line; `None` past u32.
    fn checked_invocations(&self) -> Option<u32> {
        self.outer
            .checked_mul(self.inner)?
            .checked_mul(self.len.div_ceil(RUN))
    }

    /// Runs the pass over `input` (with `extra` bound after it, if any).
    fn launch(self, input: &CubeTensor, extra: Option<CubeTensor>) -> Tensor<3> {
        let output = empty_f32(input, input.meta.shape().clone());
        let mut arguments = KernelArguments::new().with_buffer(input.handle.clone().binding());
        if let Some(extra) = extra {
            arguments = arguments.with_buffer(extra.handle.binding());
        }
        let arguments = arguments.with_buffer(output.handle.clone().binding());
        launch(self, input, arguments);
        Tensor::from_primitive::<CubeBackend>(output)
    }
}

impl Wgsl for Pass {
    fn constants(&self) -> Vec<(&'static str, u32)> {
        vec![
            ("RADIUS", self.radius),
            ("LINES_FIRST", u32::from(self.inner > 1)),
        ]
    }

    fn sizes(&self) -> Option<RuntimeSizes> {
        Some(RuntimeSizes {
            // After the input, the taps (a convolution's) and the output.
            binding: match self.kind {
                Kind::Convolve => 3,
                Kind::Maximum => 2,
            },
            values: vec![
                ("outer", self.outer),
                ("len", self.len),
                ("inner", self.inner),
            ],
        })
    }

    fn parts(&self) -> Vec<&'static str> {
        let body = match self.kind {
            Kind::Convolve => CONVOLVE,
            Kind::Maximum => MAXIMUM,
        };
        vec![LINES, body]
    }

    fn invocations(&self) -> u32 {
        self.checked_invocations().expect("checked in `along`")
    }
}

/// `v` convolved along `axis` with `taps` (odd length, centred), zero outside
/// the volume: burn's `conv3d` with a `taps.len()`-long kernel on that axis and
/// padding of half of it. `None` when `v` is not a wgpu tensor (burn's CPU
/// backend): the caller falls back to burn.
pub fn convolve_axis(v: &Tensor<3>, axis: usize, taps: &[f32]) -> Option<Tensor<3>> {
    if taps.len() % 2 == 0 {
        return None;
    }
    let pass = Pass::along(Kind::Convolve, v.dims(), axis, taps.len() / 2)?;
    let input = f32_primitive(v)?;
    let taps: Tensor<1> =
        Tensor::from_data(TensorData::new(taps.to_vec(), [taps.len()]), &v.device());
    Some(pass.launch(&input, Some(f32_primitive(&taps)?)))
}

/// The maximum of `v` along `axis` over `window` voxels (odd) centred on each,
/// what lies outside the volume ignored: one pass of burn's max pooling with
/// stride 1 and padding of half the window. `None` when `v` is not a wgpu
/// tensor (burn's CPU backend): the caller falls back to burn.
pub fn max_axis(v: &Tensor<3>, axis: usize, window: usize) -> Option<Tensor<3>> {
    if window % 2 == 0 {
        return None;
    }
    let pass = Pass::along(Kind::Maximum, v.dims(), axis, window / 2)?;
    Some(pass.launch(&f32_primitive(v)?, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wgsl::source;

    /// The volume's sizes come at run time: one compiled variant serves every
    /// scan (each scan's own sizes made new variants, kept for the process).
    #[test]
    fn volumes_of_any_size_share_one_variant() {
        let pass = |kind, dims, radius| Pass::along(kind, dims, 0, radius).unwrap();
        let first = source(&pass(Kind::Convolve, [90, 200, 210], 4));
        assert_eq!(first, source(&pass(Kind::Convolve, [120, 181, 222], 4)));
        assert_ne!(first, source(&pass(Kind::Convolve, [90, 200, 210], 5)));
        assert_ne!(first, source(&pass(Kind::Maximum, [90, 200, 210], 4)));
    }
}
