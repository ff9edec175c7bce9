//! The candidate classifier: a small 3D CNN that scores a patch around each
//! candidate (nodule or not). Patches are `PATCH`³ iso voxels of normalised
//! intensity; every convolution is 3×3×3; three stride-2 steps take 24 → 3,
//! and the head reads that 3³ grid whole: where a structure sits matters (a
//! blob at the centre is a candidate nodule; one at the edge is a neighbour).
//! Few channels at full resolution: about 40 MFLOP a patch, so a few hundred
//! candidates take seconds even on the CPU backend.

use crate::fused_conv::FusedConv;
use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig3d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};

/// Patch edge in iso voxels.
pub const PATCH: usize = 24;
/// Edge of the last feature grid (three stride-2 steps).
const GRID: usize = PATCH / 8;
/// Output channels of the five layers in the shipped networks. Others can be
/// trained (`hilum train --widths`); a network's widths are read back from
/// its weights' shapes when it is loaded ([`crate::weights`]).
pub const WIDTHS: [usize; 5] = [8, 16, 32, 32, 64];

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

/// One layer: the fused wgpu kernel where the layer was prepared for it
/// (inference on a wgpu device), burn's `conv3d` and `relu` otherwise (the
/// CPU backend; training).
fn conv_relu(layer: &Conv3d, fused: Option<&FusedConv>, x: Tensor<5>) -> Tensor<5> {
    fused
        .and_then(|f| f.forward(&x))
        .unwrap_or_else(|| relu(layer.forward(x)))
}

/// A network's five convolution layers prepared for the fused kernel.
#[derive(Clone, Debug)]
pub struct FusedLayers([FusedConv; 5]);

impl NoduleNet {
    pub fn new(device: &Device) -> Self {
        Self::with_widths(WIDTHS, device)
    }

    /// A network whose layers have `widths` output channels (strides as in
    /// [`NoduleNet::new`]), randomly initialised.
    pub fn with_widths(widths: [usize; 5], device: &Device) -> Self {
        let [w1, w2, w3, w4, w5] = widths;
        Self {
            c1: conv(1, w1, 1, device),
            c2: conv(w1, w2, 2, device),
            c3: conv(w2, w3, 1, device),
            c4: conv(w3, w4, 2, device),
            c5: conv(w4, w5, 2, device),
            head: LinearConfig::new(w5 * GRID * GRID * GRID, 1).init(device),
        }
    }

    /// Output channels of its five layers.
    pub fn widths(&self) -> [usize; 5] {
        [&self.c1, &self.c2, &self.c3, &self.c4, &self.c5].map(|c| c.weight.dims()[0])
    }

    /// Logits, one per patch, for `[batch, 1, PATCH, PATCH, PATCH]` input.
    pub fn logits(&self, x: Tensor<5>) -> Tensor<1> {
        self.logits_with(None, x)
    }

    /// Its layers prepared for the fused kernel: `None` unless its weights
    /// live on a wgpu device (and are not being trained) and every layer fits.
    pub fn fused_layers(&self) -> Option<FusedLayers> {
        let fused = |layer: &Conv3d| {
            let [stride, sy, sx] = layer.stride;
            let fits = [sy, sx] == [stride; 2]
                && layer.dilation == [1; 3]
                && layer.groups == 1
                && layer.padding == PaddingConfig3d::Explicit(1, 1, 1);
            let bias = layer.bias.as_ref().filter(|_| fits)?;
            FusedConv::prepare(&layer.weight.val(), &bias.val(), stride)
        };
        Some(FusedLayers([
            fused(&self.c1)?,
            fused(&self.c2)?,
            fused(&self.c3)?,
            fused(&self.c4)?,
            fused(&self.c5)?,
        ]))
    }

    /// [`NoduleNet::logits`], through the fused kernel where `fused` holds
    /// this network's layers (from [`NoduleNet::fused_layers`]).
    pub fn logits_with(&self, fused: Option<&FusedLayers>, x: Tensor<5>) -> Tensor<1> {
        let layer = |i: usize| fused.map(|f| &f.0[i]);
        let x = conv_relu(&self.c1, layer(0), x);
        let x = conv_relu(&self.c2, layer(1), x);
        let x = conv_relu(&self.c3, layer(2), x);
        let x = conv_relu(&self.c4, layer(3), x);
        let x = conv_relu(&self.c5, layer(4), x);
        let [b, c, z, y, w] = x.dims();
        self.head
            .forward(x.reshape([b, c * z * y * w]))
            .reshape([b])
    }

    /// The sum of the logits of each patch's seven other mirror images (every
    /// combination of flipping z, y and x, but not none).
    pub fn mirror_logit_sum(&self, x: Tensor<5>) -> Tensor<1> {
        self.mirror_logit_sum_with(None, x)
    }

    /// [`NoduleNet::mirror_logit_sum`] as [`NoduleNet::logits_with`] scores.
    pub fn mirror_logit_sum_with(&self, fused: Option<&FusedLayers>, x: Tensor<5>) -> Tensor<1> {
        let [z, y, w] = [2, 3, 4];
        let mirrors = [
            x.clone().flip([w]),
            x.clone().flip([y]),
            x.clone().flip([z]),
            x.clone().flip([y, w]),
            x.clone().flip([z, w]),
            x.clone().flip([z, y]),
            x.flip([z, y, w]),
        ];
        mirrors
            .into_iter()
            .map(|m| self.logits_with(fused, m))
            .reduce(|a, b| a + b)
            .expect("seven mirror images")
    }

    /// Probabilities that each patch holds a nodule.
    pub fn probabilities(&self, x: Tensor<5>) -> Tensor<1> {
        sigmoid(self.logits(x))
    }
}

/// The candidate classifier: one or more [`NoduleNet`]s trained apart (on
/// other phantoms, from other initialisations), scored by their mean logit.
/// Each network alone ranks some look-alikes above small nodules in its own
/// way; the mean ranks them more steadily (`models/detector/MODEL_CARD.md`).
pub struct Classifier {
    /// Each network, with its layers prepared for the fused kernel on a
    /// wgpu device.
    members: Vec<(NoduleNet, Option<FusedLayers>)>,
}

impl Classifier {
    /// Panics without a member: a classifier of none scores nothing.
    pub fn new(members: Vec<NoduleNet>) -> Self {
        assert!(!members.is_empty(), "a classifier needs a network");
        let members = members
            .into_iter()
            .map(|net| {
                let fused = net.fused_layers();
                (net, fused)
            })
            .collect();
        Self { members }
    }

    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// The members' mean logit, one per patch.
    pub fn logits(&self, x: Tensor<5>) -> Tensor<1> {
        self.mean(|net, fused| net.logits_with(fused, x.clone()))
    }

    /// The members' mean of [`NoduleNet::mirror_logit_sum`].
    pub fn mirror_logit_sum(&self, x: Tensor<5>) -> Tensor<1> {
        self.mean(|net, fused| net.mirror_logit_sum_with(fused, x.clone()))
    }

    fn mean(&self, score: impl Fn(&NoduleNet, Option<&FusedLayers>) -> Tensor<1>) -> Tensor<1> {
        let sum = self
            .members
            .iter()
            .map(|(net, fused)| score(net, fused.as_ref()))
            .reduce(|a, b| a + b)
            .expect("at least one member");
        sum.div_scalar(self.members.len() as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn the_mean_over_mirror_images_is_the_same_for_every_mirror_image() {
        let device = hilum_gpu::cpu_backend().device;
        let net = NoduleNet::new(&device);
        let x: Tensor<5> = Tensor::random(
            [2, 1, PATCH, PATCH, PATCH],
            Distribution::Uniform(0.0, 1.3),
            &device,
        );
        let mean = |t: Tensor<5>| -> Vec<f32> {
            let all = net.logits(t.clone()) + net.mirror_logit_sum(t);
            all.div_scalar(8.0).into_data().try_to_vec().unwrap()
        };
        let reference = mean(x.clone());
        for flipped in [
            x.clone().flip([2]),
            x.clone().flip([3, 4]),
            x.clone().flip([2, 3, 4]),
        ] {
            for (a, b) in mean(flipped).iter().zip(&reference) {
                assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
        // A single view is not invariant: the mean is not a trivial constant.
        let one: Vec<f32> = net.logits(x.clone()).into_data().try_to_vec().unwrap();
        let other: Vec<f32> = net.logits(x.flip([2])).into_data().try_to_vec().unwrap();
        assert_ne!(one, other);
    }

    #[test]
    fn a_classifier_scores_the_mean_of_its_members_logits() {
        let device = hilum_gpu::cpu_backend().device;
        let (a, b) = (NoduleNet::new(&device), NoduleNet::new(&device));
        let x: Tensor<5> = Tensor::random(
            [3, 1, PATCH, PATCH, PATCH],
            Distribution::Uniform(0.0, 1.3),
            &device,
        );
        let logits = |t: Tensor<1>| -> Vec<f32> { t.into_data().try_to_vec().unwrap() };
        let (la, lb) = (logits(a.logits(x.clone())), logits(b.logits(x.clone())));
        assert_ne!(la, lb, "two initialisations differ");
        let alone = Classifier::new(vec![a.clone()]);
        assert_eq!(logits(alone.logits(x.clone())), la);
        let both = Classifier::new(vec![a, b]);
        for ((m, a), b) in logits(both.logits(x)).iter().zip(&la).zip(&lb) {
            assert!(
                (m - (a + b) / 2.0).abs() < 1e-5 * (1.0 + m.abs()),
                "{m} vs {a}, {b}"
            );
        }
    }
}
