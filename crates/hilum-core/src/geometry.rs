//! DICOM patient coordinates (LPS, millimetres) and the voxel ↔ patient affine.
//!
//! LPS: +x towards the patient's left, +y towards posterior, +z towards the head,
//! exactly as ImagePositionPatient / ImageOrientationPatient define them.

use serde::{Deserialize, Serialize};

pub type Vec3 = [f64; 3];

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}
pub fn normalize(a: Vec3) -> Vec3 {
    let n = norm(a);
    if n > 0.0 {
        scale(a, 1.0 / n)
    } else {
        a
    }
}

/// Maps a voxel index `(i, j, k)` = (column, row, slice) to patient LPS mm:
/// `p = origin + i·col_step + j·row_step + k·slice_step`.
///
/// `col_step` is the patient-space vector between horizontally adjacent pixels
/// (IOP row direction × column spacing), `row_step` the vector between rows,
/// `slice_step` the vector between consecutive slice origins. The slice step is
/// taken from the positions themselves, so a gantry tilt yields a sheared affine
/// rather than a wrong one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affine {
    pub origin: Vec3,
    pub col_step: Vec3,
    pub row_step: Vec3,
    pub slice_step: Vec3,
}

impl Affine {
    /// Voxels `spacing` mm apart along L, P and S, the first at the origin
    /// (synthetic volumes in tests and previews).
    pub fn axis_aligned(spacing: Vec3) -> Self {
        Self {
            origin: [0.0; 3],
            col_step: [spacing[0], 0.0, 0.0],
            row_step: [0.0, spacing[1], 0.0],
            slice_step: [0.0, 0.0, spacing[2]],
        }
    }

    pub fn voxel_to_lps(&self, v: Vec3) -> Vec3 {
        let (o, c, r, s) = (self.origin, self.col_step, self.row_step, self.slice_step);
        [0, 1, 2].map(|a| o[a] + v[0] * c[a] + v[1] * r[a] + v[2] * s[a])
    }

    /// The inverse map. Returns `None` for a degenerate (singular) affine.
    pub fn lps_to_voxel(&self, p: Vec3) -> Option<Vec3> {
        let d = sub(p, self.origin);
        let (a, b, c) = (self.col_step, self.row_step, self.slice_step);
        let det = dot(a, cross(b, c));
        if det.abs() < 1e-12 {
            return None;
        }
        // Cramer's rule: v_i = det(M with column i replaced by d) / det(M).
        Some([
            dot(d, cross(b, c)) / det,
            dot(a, cross(d, c)) / det,
            dot(a, cross(b, d)) / det,
        ])
    }

    /// Voxel spacing in mm along i, j, k.
    pub fn spacing(&self) -> Vec3 {
        [
            norm(self.col_step),
            norm(self.row_step),
            norm(self.slice_step),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Vec3, b: Vec3) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() < 1e-9)
    }

    #[test]
    fn axial_affine_matches_dicom_definition() {
        // Axial slice: rows run +x (patient left), columns run +y (posterior).
        let a = Affine {
            origin: [-170.0, -150.0, -300.0],
            col_step: [0.7, 0.0, 0.0],
            row_step: [0.0, 0.7, 0.0],
            slice_step: [0.0, 0.0, 2.5],
        };
        assert!(close(
            a.voxel_to_lps([10.0, 20.0, 4.0]),
            [-163.0, -136.0, -290.0]
        ));
        assert!(close(
            a.lps_to_voxel([-163.0, -136.0, -290.0]).unwrap(),
            [10.0, 20.0, 4.0]
        ));
        assert!(close(a.spacing(), [0.7, 0.7, 2.5]));
    }

    #[test]
    fn oblique_affine_round_trips() {
        // An oblique plane rotated 30° about z and 20° about x, with a tilted stack.
        let (s30, c30) = (30f64.to_radians().sin(), 30f64.to_radians().cos());
        let (s20, c20) = (20f64.to_radians().sin(), 20f64.to_radians().cos());
        let row_dir = [c30, s30, 0.0];
        let col_dir = [-s30 * c20, c30 * c20, s20];
        let normal = cross(row_dir, col_dir);
        let a = Affine {
            origin: [12.5, -40.0, 88.0],
            col_step: scale(row_dir, 0.8),
            row_step: scale(col_dir, 0.6),
            slice_step: add(scale(normal, 1.25), scale(col_dir, 0.1)),
        };
        for v in [[0.0, 0.0, 0.0], [511.0, 3.0, 7.0], [17.5, 400.25, 299.0]] {
            let p = a.voxel_to_lps(v);
            assert!(close(a.lps_to_voxel(p).unwrap(), v), "{v:?}");
        }
        // Moving one column moves 0.8 mm along the IOP row direction.
        let d = sub(
            a.voxel_to_lps([1.0, 0.0, 0.0]),
            a.voxel_to_lps([0.0, 0.0, 0.0]),
        );
        assert!((norm(d) - 0.8).abs() < 1e-12);
        assert!((dot(normalize(d), row_dir) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn singular_affine_has_no_inverse() {
        let a = Affine {
            origin: [0.0; 3],
            col_step: [1.0, 0.0, 0.0],
            row_step: [2.0, 0.0, 0.0],
            slice_step: [0.0, 0.0, 1.0],
        };
        assert!(a.lps_to_voxel([1.0, 1.0, 1.0]).is_none());
    }
}
