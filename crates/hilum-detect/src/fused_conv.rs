//! The classifier's convolution layers as one hand-written kernel on wgpu
//! devices (`shaders/conv3x3x3_relu.wgsl`): 3×3×3, padding 1, bias and ReLU
//! in a single pass. burn's generic direct convolution runs at a fraction of
//! a GFLOP/s under lavapipe, where it made the classifier most of a scan's
//! time. burn's CPU backend and autodiff tensors (training) keep burn's own
//! `conv3d`; the tests hold the two to the same numbers.

use crate::wgsl::{empty_f32, f32_primitive, launch, Wgsl};
use burn::backend::wgpu::CubeBackend;
use burn::cubecl::server::KernelArguments;
use burn::tensor::{Shape, Tensor};

const SHADER: &str = include_str!("../../../shaders/conv3x3x3_relu.wgsl");
/// Output channels per invocation, as the shader fixes them.
const GROUP: u32 = 8;
/// Output voxels along x per invocation, the first that divides the output's
/// width: longer runs read each weight for more voxels.
const RUNS: [u32; 3] = [12, 6, 3];

/// One compiled variant: every size is a constant in the shader text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Layer {
    batch: u32,
    in_c: u32,
    in_dims: [u32; 3],
    out_c: u32,
    out_dims: [u32; 3],
    stride: u32,
    /// Output voxels along x per invocation.
    run: u32,
}

impl Wgsl for Layer {
    fn constants(&self) -> Vec<(&'static str, u32)> {
        vec![
            ("BATCH", self.batch),
            ("IN_C", self.in_c),
            ("IN_D", self.in_dims[0]),
            ("IN_H", self.in_dims[1]),
            ("IN_W", self.in_dims[2]),
            ("OUT_C", self.out_c),
            ("OUT_D", self.out_dims[0]),
            ("OUT_H", self.out_dims[1]),
            ("OUT_W", self.out_dims[2]),
            ("STRIDE", self.stride),
            ("RUN", self.run),
        ]
    }

    fn parts(&self) -> Vec<&'static str> {
        vec![SHADER]
    }

    /// An invocation per run of `run` output voxels along x, per group of
    /// `GROUP` output channels, per patch.
    fn invocations(&self) -> u32 {
        let runs = self.out_dims.iter().product::<u32>() / self.run;
        self.batch * (self.out_c / GROUP) * runs
    }
}

/// `relu(conv3d(x, weight, bias))` with a 3×3×3 kernel, padding 1 and the
/// given stride, for `x` `[batch, in_c, d, h, w]` and `weight`
/// `[out_c, in_c, 3, 3, 3]`. `None` when the tensors are not plain wgpu
/// tensors or the layer does not fit the kernel: the caller falls back to burn.
pub fn conv3x3x3_relu(
    x: &Tensor<5>,
    weight: &Tensor<5>,
    bias: &Tensor<1>,
    stride: usize,
) -> Option<Tensor<5>> {
    let [batch, in_c, d, h, w] = x.dims();
    let [out_c, weight_in, kd, kh, kw] = weight.dims();
    let shape_fits = weight_in == in_c
        && [kd, kh, kw] == [3, 3, 3]
        && (1..=2).contains(&stride)
        && batch * d * h * w > 0
        && out_c % GROUP as usize == 0;
    if !shape_fits {
        return None;
    }
    let out_dims = [d, h, w].map(|n| ((n - 1) / stride + 1) as u32);
    let run = RUNS.into_iter().find(|r| out_dims[2] % r == 0)?;
    let input = f32_primitive(x)?;
    // [out_c, in_c, 27] → [in_c, 27, out_c], so one vec4 load holds four output channels.
    let weight = f32_primitive(
        &weight
            .clone()
            .reshape([out_c, in_c * 27])
            .swap_dims(0, 1)
            .reshape([in_c * 27 * out_c]),
    )?;
    let bias = f32_primitive(bias)?;

    let layer = Layer {
        batch: batch as u32,
        in_c: in_c as u32,
        in_dims: [d as u32, h as u32, w as u32],
        out_c: out_c as u32,
        out_dims,
        stride: stride as u32,
        run,
    };
    let output = empty_f32(
        &input,
        Shape::from([
            batch,
            out_c,
            out_dims[0] as usize,
            out_dims[1] as usize,
            out_dims[2] as usize,
        ]),
    );
    launch(
        layer,
        &input,
        KernelArguments::new()
            .with_buffer(input.handle.clone().binding())
            .with_buffer(weight.handle.binding())
            .with_buffer(bias.handle.binding())
            .with_buffer(output.handle.clone().binding()),
    );
    Some(Tensor::from_primitive::<CubeBackend>(output))
}
