//! The directions a region's edge is looked for in, and which of them a voxel
//! lies in. Asking every direction for every voxel of a region grown into a
//! wall was about half of the measuring time (perf, 512 × 512 × 300 phantom);
//! a table over the sphere names the few directions that can be nearest, and
//! only those are asked.

use hilum_core::geometry::{dot, norm};

/// Unit directions spread evenly over the sphere (a Fibonacci lattice).
fn directions(n: usize) -> Vec<[f64; 3]> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            let r = (1.0 - z * z).sqrt();
            let a = golden * i as f64;
            [r * a.cos(), r * a.sin(), z]
        })
        .collect()
}

/// Cells along each edge of a cube face: the sphere is split into six faces
/// of `CELLS` × `CELLS` cells, each about 6° across.
const CELLS: usize = 16;

/// Directions with, for each cell of the sphere, those that can be nearest
/// to a direction in the cell.
pub(super) struct Rays {
    pub(super) dirs: Vec<[f64; 3]>,
    nearest_in_cell: Vec<Vec<usize>>,
}

impl Rays {
    pub(super) fn new(n: usize) -> Self {
        let dirs = directions(n);
        let nearest_in_cell = (0..6 * CELLS * CELLS)
            .map(|cell| {
                let (centre, chord) = cell_cap(cell);
                let best = dirs
                    .iter()
                    .map(|d| dot(*d, centre))
                    .fold(f64::MIN, f64::max);
                // Within the cell a direction's dot product moves by at most the
                // cap's chord from its value at the centre; a margin covers rounding.
                let reach = 2.0 * chord * 1.01 + 1e-9;
                (0..dirs.len())
                    .filter(|&i| dot(dirs[i], centre) >= best - reach)
                    .collect()
            })
            .collect();
        Self {
            dirs,
            nearest_in_cell,
        }
    }

    /// Index of the direction with the largest dot product with `v` (the
    /// last such, as [`Iterator::max_by`] gives, when several tie).
    pub(super) fn nearest(&self, v: [f64; 3]) -> usize {
        let candidates: &[usize] = match cell_of(v) {
            Some(cell) => &self.nearest_in_cell[cell],
            None => return self.nearest_of(0..self.dirs.len(), v),
        };
        self.nearest_of(candidates.iter().copied(), v)
    }

    fn nearest_of(&self, candidates: impl Iterator<Item = usize>, v: [f64; 3]) -> usize {
        candidates
            .max_by(|&a, &b| dot(self.dirs[a], v).total_cmp(&dot(self.dirs[b], v)))
            .unwrap_or(0)
    }
}

/// The cube face (major axis and sign) and the two other axes, in order.
fn face_axes(face: usize) -> (usize, f64, usize, usize) {
    let axis = face / 2;
    let sign = if face % 2 == 0 { 1.0 } else { -1.0 };
    (axis, sign, (axis + 1) % 3, (axis + 2) % 3)
}

/// The cell holding direction `v` (any length); `None` for the zero vector.
fn cell_of(v: [f64; 3]) -> Option<usize> {
    let axis = (0..3).max_by(|&a, &b| v[a].abs().total_cmp(&v[b].abs()))?;
    let major = v[axis].abs();
    if major <= 0.0 || !major.is_finite() {
        return None;
    }
    let face = 2 * axis + usize::from(v[axis] < 0.0);
    let (_, _, b, c) = face_axes(face);
    let at = |x: f64| (((x / major + 1.0) / 2.0 * CELLS as f64) as usize).min(CELLS - 1);
    Some((face * CELLS + at(v[b])) * CELLS + at(v[c]))
}

/// A cell's centre direction (unit) and the chord from it to the cell's
/// farthest corner: the cell is a convex patch, so no point of it lies
/// farther from its centre than a corner.
fn cell_cap(cell: usize) -> ([f64; 3], f64) {
    let face = cell / (CELLS * CELLS);
    let (u, w) = ((cell / CELLS) % CELLS, cell % CELLS);
    let (axis, sign, b, c) = face_axes(face);
    let point = |u: f64, w: f64| {
        let mut p = [0.0; 3];
        p[axis] = sign;
        p[b] = 2.0 * u / CELLS as f64 - 1.0;
        p[c] = 2.0 * w / CELLS as f64 - 1.0;
        let length = norm(p);
        p.map(|x| x / length)
    };
    let centre = point(u as f64 + 0.5, w as f64 + 0.5);
    let chord = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
        .iter()
        .map(|&(du, dw)| {
            let corner = point(u as f64 + du, w as f64 + dw);
            norm(std::array::from_fn(|a| corner[a] - centre[a]))
        })
        .fold(0.0, f64::max);
    (centre, chord)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_direction_asked(rays: &Rays, v: [f64; 3]) -> usize {
        rays.nearest_of(0..rays.dirs.len(), v)
    }

    #[test]
    fn the_table_finds_the_nearest_direction_that_asking_every_one_finds() {
        let rays = Rays::new(160);
        // Voxel offsets as confining meets them, spacings of thin and thick slices.
        for sp in [[0.7, 0.7, 1.5], [0.6, 0.6, 2.5], [1.0, 1.0, 1.0]] {
            for k in -12i32..=12 {
                for j in -25i32..=25 {
                    for i in -25i32..=25 {
                        let v = [i as f64 * sp[0], j as f64 * sp[1], k as f64 * sp[2]];
                        assert_eq!(rays.nearest(v), every_direction_asked(&rays, v), "{v:?}");
                    }
                }
            }
        }
        // And directions off the grid.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            (crate::train::next_random(&mut state) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        };
        for _ in 0..200_000 {
            let v = [next(), next(), next()];
            assert_eq!(rays.nearest(v), every_direction_asked(&rays, v), "{v:?}");
        }
    }

    #[test]
    fn the_rays_themselves_are_their_own_nearest() {
        let rays = Rays::new(160);
        for (i, d) in rays.dirs.iter().enumerate() {
            assert_eq!(rays.nearest(*d), i);
        }
    }

    #[test]
    fn each_cell_asks_only_a_few_directions() {
        let rays = Rays::new(160);
        let most = rays.nearest_in_cell.iter().map(Vec::len).max().unwrap_or(0);
        assert!(
            (1..=24).contains(&most),
            "{most} directions in the fullest cell"
        );
    }
}
