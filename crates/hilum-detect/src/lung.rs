//! The lung mask, on a coarse grid (a few mm): air inside the body, split into
//! connected components, the lungs kept, then closed so that nodules on the
//! pleura and vessels inside the lungs are inside the mask.
//!
//! Thresholding and downsampling run on the device; connected components,
//! closing and hole filling run on the host, on ~1 % of the voxels, where
//! burn's tensor operations do not fit.

use burn::tensor::module::adaptive_avg_pool3d;
use burn::tensor::Tensor;
use std::collections::VecDeque;

/// A lung mask on a coarse grid; voxel `(z, y, x)` covers iso voxels
/// `[z·f, (z+1)·f)` etc., with `f = factor`.
#[derive(Clone, Debug)]
pub struct LungMask {
    pub dims: [usize; 3],
    pub factor: usize,
    /// 1 inside the lungs, 0 outside.
    pub labels: Vec<u8>,
    /// Centroid of the lungs in iso voxel coordinates (z, y, x): the midline
    /// that separates right from left, decided in patient space by the caller.
    pub centroid_iso: [f64; 3],
    /// Volume of the lungs found, mL.
    pub volume_ml: f64,
}

impl LungMask {
    pub fn at_iso(&self, z: usize, y: usize, x: usize) -> u8 {
        let [dz, dy, dx] = self.dims;
        let (cz, cy, cx) = (
            (z / self.factor).min(dz - 1),
            (y / self.factor).min(dy - 1),
            (x / self.factor).min(dx - 1),
        );
        self.labels[(cz * dy + cy) * dx + cx]
    }

    /// Whether the mask holds a voxel within `reach` mask voxels (along each
    /// axis) of iso voxel `zyx` (fractional, voxel centres at whole numbers;
    /// outside the grid is not lung).
    pub fn near_iso(&self, zyx: [f64; 3], reach: usize) -> bool {
        let f = self.factor as f64;
        let cell: [isize; 3] = std::array::from_fn(|a| ((zyx[a] + 0.5) / f).floor() as isize);
        let r = reach as isize;
        let [dz, dy, dx] = self.dims.map(|d| d as isize);
        (cell[0] - r..=cell[0] + r).any(|z| {
            (cell[1] - r..=cell[1] + r).any(|y| {
                (cell[2] - r..=cell[2] + r).any(|x| {
                    (0..dz).contains(&z)
                        && (0..dy).contains(&y)
                        && (0..dx).contains(&x)
                        && self.labels[((z * dy + y) * dx + x) as usize] != 0
                })
            })
        })
    }
}

/// Normalised intensity below which a voxel is air-like (−500 HU).
const AIR: f32 = 0.5;
/// Smallest air component kept as lung, mL.
const MIN_LUNG_ML: f64 = 80.0;

fn neighbours(i: usize, dims: [usize; 3]) -> impl Iterator<Item = usize> {
    let [dz, dy, dx] = dims;
    let (z, y, x) = (i / (dy * dx), (i / dx) % dy, i % dx);
    let mut out = [usize::MAX; 6];
    if z > 0 {
        out[0] = i - dy * dx
    }
    if z + 1 < dz {
        out[1] = i + dy * dx
    }
    if y > 0 {
        out[2] = i - dx
    }
    if y + 1 < dy {
        out[3] = i + dx
    }
    if x > 0 {
        out[4] = i - 1
    }
    if x + 1 < dx {
        out[5] = i + 1
    }
    out.into_iter().filter(|&n| n != usize::MAX)
}

/// Flood fill from `seeds` over voxels where `pass` holds; returns the visited set.
pub(crate) fn flood(
    dims: [usize; 3],
    seeds: impl Iterator<Item = usize>,
    pass: impl Fn(usize) -> bool,
) -> Vec<bool> {
    let mut seen = vec![false; dims.iter().product()];
    let mut queue: VecDeque<usize> = seeds.filter(|&s| pass(s)).collect();
    for &s in &queue {
        seen[s] = true;
    }
    while let Some(i) = queue.pop_front() {
        for n in neighbours(i, dims) {
            if !seen[n] && pass(n) {
                seen[n] = true;
                queue.push_back(n);
            }
        }
    }
    seen
}

/// The in-plane edges of every slice. Not the first and last slices: the lungs
/// usually reach them, and air there is not outside the body.
fn border(dims: [usize; 3]) -> impl Iterator<Item = usize> {
    let [dz, dy, dx] = dims;
    (0..dz * dy * dx).filter(move |&i| {
        let (y, x) = ((i / dx) % dy, i % dx);
        y == 0 || x == 0 || y == dy - 1 || x == dx - 1
    })
}

/// Separable box dilation (`grow`) or erosion (`!grow`) of radius `r`.
fn morph(mask: &[bool], dims: [usize; 3], r: usize, grow: bool) -> Vec<bool> {
    let [_, dy, dx] = dims;
    let strides = [dy * dx, dx, 1];
    let mut cur = mask.to_vec();
    for axis in 0..3 {
        let n = dims[axis];
        let stride = strides[axis];
        let mut next = cur.clone();
        for (i, out) in next.iter_mut().enumerate() {
            let pos = (i / stride) % n;
            let lo = pos.saturating_sub(r);
            let hi = (pos + r).min(n - 1);
            let base = i - pos * stride;
            let mut any = !grow;
            for p in lo..=hi {
                let v = cur[base + p * stride];
                if grow && v {
                    any = true;
                    break;
                }
                if !grow && !v {
                    any = false;
                    break;
                }
            }
            *out = any;
        }
        cur = next;
    }
    cur
}

/// Builds the lung mask from the normalised iso volume `[z, y, x]`
/// (`voxel_mm` apart) on a grid `factor` iso voxels coarse.
pub fn lung_mask(iso: &Tensor<3>, voxel_mm: f64, factor: usize) -> LungMask {
    let [z, y, x] = iso.dims();
    let dims = [z.div_ceil(factor), y.div_ceil(factor), x.div_ceil(factor)];
    let air = iso.clone().lower_elem(AIR).float();
    let coarse = adaptive_avg_pool3d(air.reshape([1, 1, z, y, x]), dims);
    let frac: Vec<f32> = coarse.into_data().try_to_vec().expect("f32 data");
    let is_air: Vec<bool> = frac.iter().map(|&f| f > 0.5).collect();

    // Air connected to the edge of the field of view is outside the body.
    let outside = flood(dims, border(dims), |i| is_air[i]);
    let inside_air: Vec<bool> = is_air.iter().zip(&outside).map(|(a, o)| *a && !o).collect();

    // Connected components of the air inside the body.
    let mut component = vec![u32::MAX; inside_air.len()];
    let mut sizes: Vec<usize> = Vec::new();
    for start in 0..inside_air.len() {
        if !inside_air[start] || component[start] != u32::MAX {
            continue;
        }
        let id = sizes.len() as u32;
        let mut queue = VecDeque::from([start]);
        component[start] = id;
        let mut size = 0;
        while let Some(i) = queue.pop_front() {
            size += 1;
            for n in neighbours(i, dims) {
                if inside_air[n] && component[n] == u32::MAX {
                    component[n] = id;
                    queue.push_back(n);
                }
            }
        }
        sizes.push(size);
    }
    let cell_ml = (voxel_mm * factor as f64).powi(3) / 1000.0;
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
    // The lungs: the largest component, and the second if it is lung-sized
    // (they merge through the trachea in many scans).
    let kept: Vec<usize> = order
        .iter()
        .take(2)
        .copied()
        .filter(|&c| sizes[c] as f64 * cell_ml >= MIN_LUNG_ML)
        .collect();
    let lungs: Vec<bool> = component
        .iter()
        .map(|&c| c != u32::MAX && kept.contains(&(c as usize)))
        .collect();

    // Closing (~12 mm) takes in nodules on the pleura and the vessels of the
    // hilum; then fill holes left inside.
    let r = ((12.0 / (voxel_mm * factor as f64)).round() as usize).max(1);
    let closed = morph(&morph(&lungs, dims, r, true), dims, r, false);
    let closed: Vec<bool> = closed.iter().zip(&lungs).map(|(c, l)| *c || *l).collect();
    let background = flood(dims, border(dims), |i| !closed[i]);

    let mut labels = vec![0u8; closed.len()];
    let mut count = 0usize;
    let mut sum = [0f64; 3];
    let [_, dy, dx] = dims;
    for (i, label) in labels.iter_mut().enumerate() {
        if !background[i] {
            *label = 1;
            count += 1;
            let f = factor as f64;
            sum[0] += ((i / (dy * dx)) as f64 + 0.5) * f;
            sum[1] += (((i / dx) % dy) as f64 + 0.5) * f;
            sum[2] += ((i % dx) as f64 + 0.5) * f;
        }
    }
    LungMask {
        dims,
        factor,
        labels,
        centroid_iso: sum.map(|s| s / count.max(1) as f64),
        volume_ml: count as f64 * cell_ml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_iso_reaches_one_mask_voxel_beyond_the_lung_and_no_further() {
        // 6³ mask voxels of 2 iso voxels; lung in mask voxel (3, 3, 3) only,
        // which covers iso voxels 6 and 7 along each axis.
        let mut labels = vec![0u8; 216];
        labels[(3 * 6 + 3) * 6 + 3] = 1;
        let mask = LungMask {
            dims: [6; 3],
            factor: 2,
            labels,
            centroid_iso: [7.0; 3],
            volume_ml: 0.0,
        };
        assert!(mask.near_iso([6.0, 7.0, 7.4], 0), "inside");
        assert!(
            !mask.near_iso([5.0, 7.0, 7.0], 0),
            "a voxel outside, no reach"
        );
        assert!(mask.near_iso([4.0, 9.0, 6.0], 1), "one mask voxel away");
        assert!(!mask.near_iso([3.0, 7.0, 7.0], 1), "two mask voxels away");
        assert!(!mask.near_iso([-40.0, 7.0, 7.0], 1), "off the grid");
    }
}
