//! The CT volume in Hounsfield units on a regular voxel grid.

use crate::geometry::{Affine, Vec3};
use serde::{Deserialize, Serialize};

/// A CT volume in HU, stored as i16 (the native range of CT; 2 bytes a voxel).
///
/// Layout: `data[i + nx·(j + ny·k)]`, with `i` the column, `j` the row and `k` the
/// slice, slices ordered along the slice normal (IOP row × column direction).
#[derive(Clone, Debug)]
pub struct Volume {
    pub dims: [usize; 3],
    pub affine: Affine,
    pub data: Vec<i16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct HuStats {
    pub min: i16,
    pub max: i16,
    pub mean: f64,
}

impl Volume {
    pub fn voxel_count(&self) -> usize {
        self.dims[0] * self.dims[1] * self.dims[2]
    }
    pub fn slice_len(&self) -> usize {
        self.dims[0] * self.dims[1]
    }
    pub fn spacing(&self) -> Vec3 {
        self.affine.spacing()
    }
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        i + self.dims[0] * (j + self.dims[1] * k)
    }
    pub fn get(&self, i: usize, j: usize, k: usize) -> i16 {
        self.data[self.index(i, j, k)]
    }
    pub fn slice(&self, k: usize) -> &[i16] {
        let n = self.slice_len();
        &self.data[k * n..(k + 1) * n]
    }
    /// Size of the voxel data in bytes.
    pub fn byte_size(&self) -> usize {
        self.data.len() * std::mem::size_of::<i16>()
    }

    pub fn stats(&self) -> Option<HuStats> {
        if self.data.is_empty() {
            return None;
        }
        let (mut min, mut max, mut sum) = (i16::MAX, i16::MIN, 0i64);
        for &v in &self.data {
            min = min.min(v);
            max = max.max(v);
            sum += i64::from(v);
        }
        Some(HuStats {
            min,
            max,
            mean: sum as f64 / self.data.len() as f64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexing_and_stats() {
        let affine = Affine::axis_aligned([1.0, 1.0, 2.0]);
        let data: Vec<i16> = (0..24).map(|v| v as i16 - 10).collect();
        let v = Volume {
            dims: [4, 3, 2],
            affine,
            data,
        };
        assert_eq!(v.get(1, 2, 1), 1 + 4 * (2 + 3) - 10);
        assert_eq!(v.slice(1)[0], 2);
        let s = v.stats().unwrap();
        assert_eq!((s.min, s.max), (-10, 13));
        assert!((s.mean - 1.5).abs() < 1e-12);
        assert_eq!(v.byte_size(), 48);
    }
}
