//! The candidate classifier: a small 3D CNN that scores a patch around each
//! candidate (nodule or not). Patches are `PATCH`³ iso voxels of normalised
//! intensity; every convolution is 3×3×3; three stride-2 steps take 24 → 3,
//! and the head reads that 3³ grid whole: where a structure sits matters (a
//! blob at the centre is a candidate nodule; one at the edge is a neighbour).
//! Few channels at full resolution: about 40 MFLOP a patch, so a few hundred
//! candidates take seconds even on the CPU backend.

use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig3d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};

/// Patch edge in iso voxels.
pub const PATCH: usize = 24;
/// Edge of the last feature grid (three stride-2 steps) and its channels.
const GRID: usize = PATCH / 8;
const FEATURES: usize = 64;

#[derive(Module, Debug)]
pub struct NoduleNet {
    c1: Conv3d,
    c2: Conv3d,
    c3: Conv3d,
    c4: Conv3d,
    c5: Conv3d,
    head: Linear,
}

fn conv(input: usize, output: usize, stride: usize, device: &Device) -> Conv3d {
    Conv3dConfig::new([input, output], [3, 3, 3])
        .with_stride([stride; 3])
        .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
        .init(device)
}

impl NoduleNet {
    pub fn new(device: &Device) -> Self {
        Self {
            c1: conv(1, 8, 1, device),
            c2: conv(8, 16, 2, device),
            c3: conv(16, 32, 1, device),
            c4: conv(32, 32, 2, device),
            c5: conv(32, FEATURES, 2, device),
            head: LinearConfig::new(FEATURES * GRID * GRID * GRID, 1).init(device),
        }
    }

    /// Logits, one per patch, for `[batch, 1, PATCH, PATCH, PATCH]` input.
    pub fn logits(&self, x: Tensor<5>) -> Tensor<1> {
        let x = relu(self.c1.forward(x));
        let x = relu(self.c2.forward(x));
        let x = relu(self.c3.forward(x));
        let x = relu(self.c4.forward(x));
        let x = relu(self.c5.forward(x));
        let [b, c, z, y, w] = x.dims();
        self.head
            .forward(x.reshape([b, c * z * y * w]))
            .reshape([b])
    }

    /// Probabilities that each patch holds a nodule.
    pub fn probabilities(&self, x: Tensor<5>) -> Tensor<1> {
        sigmoid(self.logits(x))
    }
}
