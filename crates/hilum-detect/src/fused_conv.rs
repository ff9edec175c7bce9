//! The classifier's convolution layers as one hand-written kernel on wgpu
//! devices (`shaders/conv3x3x3_relu.wgsl`): 3×3×3, padding 1, bias and ReLU
//! in a single pass. burn's generic direct convolution runs at a fraction of
//! a GFLOP/s under lavapipe, where it made the classifier most of a scan's
//! time. burn's CPU backend and autodiff tensors (training) keep burn's own
//! `conv3d`; the tests hold the two to the same numbers.
//!
//! A layer is prepared once ([`FusedConv::prepare`]): its weights read back
//! and laid out as the uniform buffers the kernel reads, one for each group of
//! 8, 16 or 32 output channels. A network being trained changes its weights, so
//! only a finished one is prepared ([`crate::model::Classifier`]).

use crate::wgsl::{empty_f32, f32_primitive, launch, uniform_words, Wgsl};
use burn::backend::wgpu::CubeBackend;
use burn::cubecl::server::{KernelArguments, MetadataBindingInfo};
use burn::tensor::{Shape, Tensor};

const SHADER: &str = include_str!("../../../shaders/conv3x3x3_relu.wgsl");
/// Output channels per dispatch, the first that divides the layer's output
/// channels and whose weights fit one uniform buffer: the more channels an
/// input read serves, the fewer reads.
const GROUPS: [usize; 3] = [32, 16, 8];
/// Output voxels along x per invocation, the first that divides the output's
/// width and keeps an invocation's sums within [`MAX_SUMS`]: longer runs
/// read each input for more voxels.
const RUNS: [u32; 3] = [12, 6, 3];
/// The most output values one invocation sums (run × group). On lavapipe
/// (2 cores, a batch of 64 patches) the classifier's five layers took 0.84 s
/// with at most 96 and 0.74 s with 192; 384 took 0.68 s but tripled the
/// largest layer's compilation (1.5 s to 2.9 s), which each batch size pays.
const MAX_SUMS: u32 = 192;
/// The largest uniform buffer every wgpu device binds (wgpu's default limit).
const MAX_UNIFORM_BYTES: usize = 64 << 10;

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
    /// Output channels per dispatch.
    group: u32,
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
            ("QUADS", self.group / 4),
            ("WEIGHT_QUADS", self.in_c * 27 * self.group / 4),
        ]
    }

    fn parts(&self) -> Vec<&'static str> {
        vec![SHADER]
    }

    /// An invocation per run of `run` output voxels along x, per patch (one
    /// group of output channels per dispatch).
    fn invocations(&self) -> u32 {
        let runs = self.out_dims.iter().product::<u32>() / self.run;
        self.batch * runs
    }
}

/// A layer `relu(conv3d(x, weight, bias))` with a 3×3×3 kernel, padding 1
/// and stride 1 or 2, ready for the fused kernel.
#[derive(Clone, Debug)]
pub struct FusedConv {
    in_c: usize,
    out_c: usize,
    stride: usize,
    /// Output channels per dispatch.
    group: usize,
    /// For each group of `group` output channels, the words of its uniform
    /// buffer (f32 and u32 bits, two to a word, as the shader's `Params`
    /// lays them out): the group's index and three words of padding, its
    /// bias, then its weights `[in_c][27][group]`.
    groups: Vec<Vec<u64>>,
}

impl FusedConv {
    /// The layer of `weight` `[out_c, in_c, 3, 3, 3]` and `bias` `[out_c]`.
    /// `None` when they are not plain wgpu tensors (burn's CPU backend,
    /// autodiff) or the layer does not fit the kernel: the caller keeps burn.
    pub fn prepare(weight: &Tensor<5>, bias: &Tensor<1>, stride: usize) -> Option<Self> {
        let [out_c, in_c, kd, kh, kw] = weight.dims();
        let params_bytes = |group: usize| 16 + 4 * group + 4 * in_c * 27 * group;
        let group = GROUPS
            .into_iter()
            .find(|&g| out_c % g == 0 && params_bytes(g) <= MAX_UNIFORM_BYTES)?;
        let fits = [kd, kh, kw] == [3, 3, 3] && (1..=2).contains(&stride) && bias.dims() == [out_c];
        if !fits || f32_primitive(weight).is_none() {
            return None;
        }
        let weights: Vec<f32> = weight.clone().into_data().try_to_vec().ok()?;
        let biases: Vec<f32> = bias.clone().into_data().try_to_vec().ok()?;
        let groups = (0..out_c / group)
            .map(|g| {
                let channels = g * group..(g + 1) * group;
                let mut bits: Vec<u32> = vec![g as u32, 0, 0, 0];
                bits.extend(channels.clone().map(|o| biases[o].to_bits()));
                for c in 0..in_c {
                    for tap in 0..27 {
                        bits.extend(
                            channels
                                .clone()
                                .map(|o| weights[(o * in_c + c) * 27 + tap].to_bits()),
                        );
                    }
                }
                uniform_words(&bits)
            })
            .collect();
        Some(Self {
            in_c,
            out_c,
            stride,
            group,
            groups,
        })
    }

    /// The layer on `x` `[batch, in_c, d, h, w]`. `None` when `x` is not a
    /// plain wgpu tensor or its width suits no run length.
    pub fn forward(&self, x: &Tensor<5>) -> Option<Tensor<5>> {
        let [batch, in_c, d, h, w] = x.dims();
        if in_c != self.in_c || batch * d * h * w == 0 {
            return None;
        }
        let out_dims = [d, h, w].map(|n| ((n - 1) / self.stride + 1) as u32);
        let run = RUNS
            .into_iter()
            .find(|r| out_dims[2] % r == 0 && r * self.group as u32 <= MAX_SUMS)?;
        let input = f32_primitive(x)?;
        let layer = Layer {
            batch: batch as u32,
            in_c: in_c as u32,
            in_dims: [d as u32, h as u32, w as u32],
            out_c: self.out_c as u32,
            out_dims,
            stride: self.stride as u32,
            run,
            group: self.group as u32,
        };
        let output = empty_f32(
            &input,
            Shape::from([
                batch,
                self.out_c,
                out_dims[0] as usize,
                out_dims[1] as usize,
                out_dims[2] as usize,
            ]),
        );
        for params in &self.groups {
            launch(
                layer,
                &input,
                KernelArguments::new()
                    .with_buffer(input.handle.clone().binding())
                    .with_buffer(output.handle.clone().binding())
                    .with_info(MetadataBindingInfo::custom(params.clone())),
            );
        }
        Some(Tensor::from_primitive::<CubeBackend>(output))
    }
}
