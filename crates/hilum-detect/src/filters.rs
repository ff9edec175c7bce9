//! Volume filters on burn tensors. A volume is a `Tensor<3>` laid out
//! `[z, y, x]` (slices, rows, columns), the same order as `Volume::data`.

use crate::axis_filters::{convolve_axis, max_axis};
use crate::axis_resampling::resample_axis_on_device;
use crate::blob_strength::blob_strength;
use burn::tensor::module::{conv3d, max_pool1d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Int, Tensor, TensorData};

fn int_tensor(values: Vec<i32>, device: &Device) -> Tensor<1, Int> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

fn float_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Linear resampling along one axis to `n_out` samples at positions
/// `start + i·step` (in input voxels), clamped at the edges: one hand-written
/// kernel on wgpu devices, two gathers and a lerp otherwise.
pub fn resample_axis(v: Tensor<3>, axis: usize, n_out: usize, start: f64, step: f64) -> Tensor<3> {
    let (lo, hi, w) = linear_samples(v.dims()[axis], n_out, start, step);
    if let Some(out) = resample_axis_on_device(&v, axis, &lo, &hi, &w) {
        return out;
    }
    let device = v.device();
    let as_index = |i: Vec<usize>| int_tensor(i.into_iter().map(|i| i as i32).collect(), &device);
    let a = v.clone().select(axis, as_index(lo));
    let b = v.select(axis, as_index(hi));
    let mut shape = [1usize; 3];
    shape[axis] = n_out;
    let w = float_tensor(w, shape, &device);
    a.clone() + (b - a) * w
}

/// For `n_out` positions `start + i·step` along an axis of `n_in` voxels,
/// clamped to it: the voxel at or below each, the one above (the same at the
/// far end), and the weight of the one above.
pub fn linear_samples(
    n_in: usize,
    n_out: usize,
    start: f64,
    step: f64,
) -> (Vec<usize>, Vec<usize>, Vec<f32>) {
    let (mut lo, mut hi, mut w) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n_out {
        let p = (start + i as f64 * step).clamp(0.0, (n_in - 1) as f64);
        let l = p.floor() as usize;
        lo.push(l);
        hi.push((l + 1).min(n_in - 1));
        w.push((p - l as f64) as f32);
    }
    (lo, hi, w)
}

/// A normalised 1D Gaussian of standard deviation `sigma` voxels, ±3σ.
pub fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as i32;
    let k: Vec<f64> = (-radius..=radius)
        .map(|i| (-(f64::from(i) * f64::from(i)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    k.iter().map(|v| (v / sum) as f32).collect()
}

fn to5(v: Tensor<3>) -> Tensor<5> {
    v.unsqueeze_dim::<4>(0).unsqueeze_dim::<5>(0)
}

/// Separable Gaussian smoothing (zero padding outside the volume): each pass
/// the hand-written kernel on wgpu devices, burn's `conv3d` otherwise.
pub fn gaussian(v: Tensor<3>, sigma_voxels: f64) -> Tensor<3> {
    let k = gaussian_kernel(sigma_voxels);
    (0..3).fold(v, |x, axis| {
        convolve_axis(&x, axis, &k).unwrap_or_else(|| convolve_axis_with_burn(x, axis, &k))
    })
}

/// `v` convolved along `axis` with the centred `taps` by burn's `conv3d`
/// (what every device other than wgpu runs, and the tests' reference).
pub fn convolve_axis_with_burn(v: Tensor<3>, axis: usize, taps: &[f32]) -> Tensor<3> {
    let dims = v.dims();
    let mut shape = [1usize, 1, 1, 1, 1];
    shape[2 + axis] = taps.len();
    let mut padding = [0usize; 3];
    padding[axis] = taps.len() / 2;
    let weight = float_tensor(taps.to_vec(), shape, &v.device());
    let x = conv3d(
        to5(v),
        weight,
        None,
        ConvOptions::new([1, 1, 1], padding, [1, 1, 1], 1),
    );
    x.reshape(dims)
}

/// `inner` (the volume less one voxel at each end of `axis`) padded back
/// to full size with zeros.
fn pad_ends(inner: Tensor<3>, axis: usize) -> Tensor<3> {
    let mut shape = inner.dims();
    shape[axis] = 1;
    let zero = Tensor::<3>::zeros(shape, &inner.device());
    Tensor::cat(vec![zero.clone(), inner, zero], axis)
}

/// Central first difference along `axis`: ½ (f(+1) − f(−1)); zero at the ends.
fn first_difference(v: Tensor<3>, axis: usize) -> Tensor<3> {
    let n = v.dims()[axis];
    if n < 3 {
        return v.zeros_like();
    }
    let inner = (v.clone().narrow(axis, 2, n - 2) - v.narrow(axis, 0, n - 2)).mul_scalar(0.5);
    pad_ends(inner, axis)
}

/// Second difference along `axis`: f(+1) − 2 f(0) + f(−1); zero at the ends.
fn second_difference(v: Tensor<3>, axis: usize) -> Tensor<3> {
    let n = v.dims()[axis];
    if n < 3 {
        return v.zeros_like();
    }
    let inner = v.clone().narrow(axis, 2, n - 2) + v.clone().narrow(axis, 0, n - 2)
        - v.narrow(axis, 1, n - 2).mul_scalar(2.0);
    pad_ends(inner, axis)
}

/// The six second derivatives (zz, yy, xx, zy, zx, yx) by central differences.
/// Shifted slices rather than 3×3×3 convolutions: on every device tried they
/// are an order of magnitude faster, and each output stays one channel (a
/// six-channel tensor of a full chest CT exceeds the 128 MiB a device binds).
pub fn hessian(v: Tensor<3>) -> [Tensor<3>; 6] {
    let dz = first_difference(v.clone(), 0);
    let dy = first_difference(v.clone(), 1);
    [
        second_difference(v.clone(), 0),
        second_difference(v.clone(), 1),
        second_difference(v, 2),
        first_difference(dz.clone(), 1),
        first_difference(dz, 2),
        first_difference(dy, 2),
    ]
}

/// `blobness(hessian(v))`: one hand-written kernel on wgpu devices, burn's
/// tensor operations otherwise.
pub fn blob_response(v: Tensor<3>) -> Tensor<3> {
    blob_strength(&v).unwrap_or_else(|| blobness(hessian(v)))
}

/// Bright-blob strength from the Hessian: where all three eigenvalues are
/// negative (Sylvester's criterion on −H), from the cube root of −det H (the
/// geometric mean of the eigenvalue magnitudes) and a shape factor; zero
/// elsewhere. Tubes (one eigenvalue near zero) and plates score low.
pub fn blobness(h: [Tensor<3>; 6]) -> Tensor<3> {
    let [hzz, hyy, hxx, hzy, hzx, hyx] = h;
    let trace = hzz.clone() + hyy.clone() + hxx.clone();
    let minor2 = hzz.clone() * hyy.clone() - hzy.clone() * hzy.clone();
    let det = hzz.clone() * (hyy.clone() * hxx.clone() - hyx.clone() * hyx.clone())
        - hzy.clone() * (hzy.clone() * hxx.clone() - hyx.clone() * hzx.clone())
        + hzx.clone() * (hzy * hyx - hyy * hzx);
    let negative_definite = hzz
        .clone()
        .lower_elem(0.0)
        .bool_and(minor2.greater_elem(0.0))
        .bool_and(det.clone().lower_elem(0.0));
    let magnitude = det.neg().clamp_min(0.0).powf_scalar(1.0 / 3.0);
    // Geometric over arithmetic mean of the eigenvalue magnitudes: 1 for a
    // sphere, near 0 for a tube or a plate. Squared, it pushes vessels down;
    // the square root of the magnitude lets faint ground glass compete with
    // bright vessel crossings (tuned on phantom seeds 9000–9005).
    let shape = magnitude.clone().mul_scalar(-3.0) / trace.clamp_max(-1e-6);
    (magnitude.sqrt() * shape.powf_scalar(2.0)).mask_fill(negative_definite.bool_not(), 0.0)
}

/// 3D max pooling with a cubic window of `k` (odd), stride 1, same size out:
/// on wgpu devices a running maximum along each axis in turn (the hand-written
/// kernel), otherwise burn's 2D pooling over (y, x), then 1D pooling along z.
pub fn max_pool3d(v: Tensor<3>, k: usize) -> Tensor<3> {
    let on_device = max_axis(&v, 0, k)
        .and_then(|t| max_axis(&t, 1, k))
        .and_then(|t| max_axis(&t, 2, k));
    if let Some(pooled) = on_device {
        return pooled;
    }
    let [z, y, x] = v.dims();
    let p = k / 2;
    let plane = max_pool2d(
        v.reshape([1, z, y, x]),
        MaxPoolOptions::new([k, k])
            .with_stride([1, 1])
            .with_padding([p, p]),
    );
    let along_z = plane
        .reshape([z, y * x])
        .swap_dims(0, 1)
        .reshape([1, y * x, z]);
    let pooled = max_pool1d(
        along_z,
        MaxPoolOptions::new([k]).with_stride([1]).with_padding([p]),
    );
    pooled
        .reshape([y * x, z])
        .swap_dims(0, 1)
        .reshape([z, y, x])
}

/// Maximum over a window of `k` (odd) voxels along `axis` alone, stride 1,
/// same size out: the hand-written kernel on wgpu devices, burn's 1D pooling
/// otherwise.
pub fn max_along(v: Tensor<3>, axis: usize, k: usize) -> Tensor<3> {
    if let Some(pooled) = max_axis(&v, axis, k) {
        return pooled;
    }
    let last = v.swap_dims(axis, 2);
    let dims = last.dims();
    let pooled = max_pool1d(
        last.reshape([1, dims[0] * dims[1], dims[2]]),
        MaxPoolOptions::new([k])
            .with_stride([1])
            .with_padding([k / 2]),
    );
    pooled.reshape(dims).swap_dims(axis, 2)
}

/// Dilation by a rounded window that reaches `radius` voxels along each
/// axis: one-voxel steps, a cube and a cross (the six face neighbours) in
/// turn. Along a diagonal it reaches at most 1.16 times as far, where a cube
/// reaches 1.73 times.
pub fn dilate_round(v: Tensor<3>, radius: usize) -> Tensor<3> {
    (0..radius).fold(v, |x, step| {
        if step % 2 == 0 {
            max_pool3d(x, 3)
        } else {
            (0..3)
                .map(|axis| max_along(x.clone(), axis, 3))
                .reduce(|a, b| a.max_pair(b))
                .expect("three axes")
        }
    })
}

/// Closing (dilation, then erosion) of a 0/1 volume by a cube of half-width
/// `radius` and by [`dilate_round`]'s window, united: what either calls air
/// is air. The rounded window's closing also takes in the corners and edges
/// of tissue that juts into the air, which a cube fits into and the rounded
/// window does not, so more of a small nodule against the wall counts as
/// air's side; the cube's fills the crevices where a large nodule meets the
/// wall, which keeps it as tissue that air surrounds.
pub fn close_cube_and_round(v: Tensor<3>, radius: usize) -> Tensor<3> {
    let k = 2 * radius + 1;
    let cube = max_pool3d(max_pool3d(v.clone(), k).neg(), k).neg();
    let round = dilate_round(dilate_round(v, radius).neg(), radius).neg();
    cube.max_pair(round)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device::flex()
    }

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn resampling_interpolates_linearly() {
        let v = float_tensor((0..8).map(|i| i as f32).collect(), [1, 1, 8], &device());
        let r = resample_axis(v, 2, 4, 0.5, 2.0);
        assert_eq!(values(r), vec![0.5, 2.5, 4.5, 6.5]);
    }

    #[test]
    fn the_rounded_window_reaches_as_far_as_a_cube_along_the_axes_and_less_along_diagonals() {
        let n = 11;
        let mut data = vec![0f32; n * n * n];
        data[(5 * n + 5) * n + 5] = 1.0;
        let grown = values(dilate_round(float_tensor(data, [n, n, n], &device()), 4));
        let at = |z: usize, y: usize, x: usize| grown[(z * n + y) * n + x];
        assert_eq!(at(5, 5, 9), 1.0, "4 along x");
        assert_eq!(at(1, 5, 5), 1.0, "4 along z");
        assert_eq!(at(5, 5, 10), 0.0, "not 5");
        assert_eq!(at(7, 7, 7), 1.0, "(2, 2, 2): the cube steps");
        assert_eq!(at(8, 8, 7), 1.0, "(3, 3, 2)");
        assert_eq!(
            at(8, 8, 8),
            0.0,
            "not (3, 3, 3), which a cube of reach 4 holds"
        );
        let count = grown.iter().filter(|&&v| v > 0.0).count();
        assert_eq!(count, 485, "a cube of reach 4 holds 729 voxels");
    }

    #[test]
    fn gaussian_preserves_a_constant_interior() {
        let v = Tensor::<3>::ones([9, 9, 9], &device()).mul_scalar(5.0);
        let g = values(gaussian(v, 1.0));
        assert!((g[4 * 81 + 4 * 9 + 4] - 5.0).abs() < 1e-4);
    }

    #[test]
    fn a_ball_is_a_blob_and_its_centre_is_the_local_maximum() {
        let n = 21;
        let mut data = vec![0f32; n * n * n];
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    let d2 = [z, y, x]
                        .iter()
                        .map(|&c| (c as f32 - 10.0).powi(2))
                        .sum::<f32>();
                    data[(z * n + y) * n + x] = if d2 <= 9.0 { 1.0 } else { 0.0 };
                }
            }
        }
        let v = float_tensor(data, [n, n, n], &device());
        let b = blobness(hessian(gaussian(v, 1.7)));
        let pooled = values(max_pool3d(b.clone(), 5));
        let b = values(b);
        let centre = (10 * n + 10) * n + 10;
        assert!(b[centre] > 0.0);
        assert_eq!(b[centre], pooled[centre], "the centre is a local maximum");
        let corner = (2 * n + 2) * n + 2;
        assert_eq!(b[corner], 0.0);
    }

    #[test]
    fn a_tube_scores_far_below_a_ball_of_the_same_radius() {
        let n = 21;
        let make = |tube: bool| {
            let mut data = vec![0f32; n * n * n];
            for z in 0..n {
                for y in 0..n {
                    for x in 0..n {
                        let dz = if tube { 0.0 } else { (z as f32 - 10.0).powi(2) };
                        let d2 = dz + (y as f32 - 10.0).powi(2) + (x as f32 - 10.0).powi(2);
                        data[(z * n + y) * n + x] = if d2 <= 9.0 { 1.0 } else { 0.0 };
                    }
                }
            }
            let v = float_tensor(data, [n, n, n], &device());
            values(blobness(hessian(gaussian(v, 1.7))))[(10 * n + 10) * n + 10]
        };
        let (ball, tube) = (make(false), make(true));
        assert!(tube < 0.2 * ball, "tube {tube} vs ball {ball}");
    }
}
