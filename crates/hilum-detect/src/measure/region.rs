//! The region a nodule is measured on: grown from a seed above a threshold,
//! then cut back where it leaked along a vessel or into a wall, at a sphere
//! fitted to where rays from its centre found its own edge.

use super::rays::Rays;
use super::voxel_set::VoxelSet;
use hilum_core::geometry::{dot, norm};
use hilum_core::Volume;
use std::collections::VecDeque;

/// Voxels grown from a seed, each marked with whether the nodule's own edge
/// was seen in its direction.
pub(super) struct Region {
    /// Voxels (i, j, k) in the volume.
    pub(super) voxels: Vec<[usize; 3]>,
    /// For each voxel, whether it lies in a direction where the nodule's own
    /// edge was seen, rather than where it was cut from an attached vessel or
    /// wall: only these tell the nodule's attenuation.
    pub(super) own: Vec<bool>,
}

pub(super) fn grow(
    v: &Volume,
    seed: [usize; 3],
    threshold: i16,
    max_radius_vox: [f64; 3],
) -> Region {
    let [nx, ny, nz] = v.dims;
    let inside = |p: [usize; 3]| {
        let d = (0..3)
            .map(|a| ((p[a] as f64 - seed[a] as f64) / max_radius_vox[a]).powi(2))
            .sum::<f64>();
        d <= 1.0 && v.get(p[0], p[1], p[2]) >= threshold
    };
    // Only voxels within the reach are ever inside.
    let mut seen = VoxelSet::within(
        std::array::from_fn(|a| seed[a].saturating_sub(max_radius_vox[a].ceil() as usize)),
        std::array::from_fn(|a| {
            (seed[a] + max_radius_vox[a].ceil() as usize).min([nx, ny, nz][a].saturating_sub(1))
        }),
    );
    let mut queue = VecDeque::new();
    if inside(seed) {
        seen.insert(seed);
        queue.push_back(seed);
    }
    let mut voxels = Vec::new();
    while let Some(p) = queue.pop_front() {
        voxels.push(p);
        for (a, d) in [(0, -1i64), (0, 1), (1, -1), (1, 1), (2, -1), (2, 1)] {
            let mut q = p;
            let c = q[a] as i64 + d;
            if c < 0 || c >= [nx, ny, nz][a] as i64 {
                continue;
            }
            q[a] = c as usize;
            if !seen.contains(q) && inside(q) {
                seen.insert(q);
                queue.push_back(q);
            }
        }
    }
    let own = vec![true; voxels.len()];
    Region { voxels, own }
}

/// A sphere through boundary points by least squares (|p|² = 2p·c + R² − |c|²,
/// linear in c and R² − |c|²): `None` when the points do not pin one down.
fn fit_sphere(points: &[[f64; 3]]) -> Option<([f64; 3], f64)> {
    if points.len() < 8 {
        return None;
    }
    // Normal equations of the 4-unknown linear problem, solved by elimination.
    let mut m = [[0.0f64; 5]; 4];
    for p in points {
        let row = [2.0 * p[0], 2.0 * p[1], 2.0 * p[2], 1.0];
        let rhs = dot(*p, *p);
        for i in 0..4 {
            for j in 0..4 {
                m[i][j] += row[i] * row[j];
            }
            m[i][4] += row[i] * rhs;
        }
    }
    for col in 0..4 {
        let pivot = (col..4).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        m.swap(col, pivot);
        if m[col][col].abs() < 1e-9 {
            return None;
        }
        let pivot_row = m[col];
        for (row, values) in m.iter_mut().enumerate() {
            if row != col {
                let f = values[col] / pivot_row[col];
                for (x, p) in values.iter_mut().zip(pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    let x: [f64; 4] = std::array::from_fn(|i| m[i][4] / m[i][i]);
    let c = [x[0], x[1], x[2]];
    let r2 = x[3] + dot(c, c);
    (r2 > 0.0).then(|| (c, r2.sqrt()))
}

/// [`fit_sphere`] refitted without the points far off the last fit (a
/// vessel's end, the near edge seen from a seed off the centre).
fn fit_robust(points: &[[f64; 3]]) -> Option<([f64; 3], f64)> {
    let mut sphere = fit_sphere(points)?;
    for _ in 0..4 {
        let (c, r) = sphere;
        // Lobulation and voxel steps put a nodule's own edge within this of the fit.
        let tolerance = (0.15 * r).max(1.0);
        let near: Vec<[f64; 3]> = points
            .iter()
            .copied()
            .filter(|p| (norm(std::array::from_fn(|a| p[a] - c[a])) - r).abs() <= tolerance)
            .collect();
        if near.len() == points.len() {
            break;
        }
        sphere = fit_sphere(&near)?;
    }
    Some(sphere)
}

/// Distance from `from`, inside the sphere, along unit `dir` to its surface;
/// `None` when `from` lies outside.
fn to_sphere(from: [f64; 3], dir: [f64; 3], (centre, radius): ([f64; 3], f64)) -> Option<f64> {
    let o: [f64; 3] = std::array::from_fn(|a| from[a] - centre[a]);
    let b = dot(o, dir);
    let c = dot(o, o) - radius * radius;
    (c <= 0.0).then(|| -b + (b * b - c).sqrt())
}

/// Cuts a grown region back to the nodule where it leaked along a vessel or
/// into the chest wall or mediastinum, which share the nodule's attenuation.
///
/// Rays from a centre find the region's edge in each direction. A nodule's
/// edge lies at a similar distance all round; a ray that runs on much further
/// has left the nodule along something attached to it. A sphere robustly
/// fitted to where the rays ended stands for the nodule: in directions that
/// ran on well past it the region is cut at that sphere, elsewhere it keeps
/// its own edge, lobulation included. The sphere's centre is the next pass's
/// centre, so neither a seed off the nodule's centre nor the bulk of an
/// attached wall or vessel (which would pull a centroid) biases the cut.
/// Returns the cut region, whether the nodule filled the reach (three rays in
/// four ran out: it is larger than the candidate's scale suggested), and the sphere
/// (centre in mm from the first voxel, radius) when most rays ended on it.
fn confine(
    region: &Region,
    origin: [usize; 3],
    sp: [f64; 3],
    reach_mm: f64,
) -> (Region, bool, Option<([f64; 3], f64)>) {
    const RAYS: usize = 160;
    /// Passes of ray casting from the last fitted centre.
    const PASSES: usize = 4;
    /// A ray longer than this many times its way to the fitted sphere left the nodule.
    const LEAK: f64 = 1.15;
    let set = VoxelSet::of(&region.voxels);
    static TABLE: std::sync::OnceLock<Rays> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| Rays::new(RAYS));
    let dirs = &table.dirs;
    let step = 0.25 * sp.iter().cloned().fold(f64::MAX, f64::min);
    // Positions in mm from the volume's first voxel (axis-aligned spacing).
    let mut centre: [f64; 3] = std::array::from_fn(|a| origin[a] as f64 * sp[a]);
    let mut filled = false;
    let mut last = None;
    // The last pass's centre and each direction's limit from it, and whether
    // the nodule's own edge ends it.
    let mut cut: ([f64; 3], Vec<(f64, bool)>) = (centre, Vec::new());
    for _ in 0..PASSES {
        // A fitted centre can fall outside the region (on a hole in mottled
        // ground glass), where no ray would see it: keep the last pass's cut.
        let at: [i64; 3] = std::array::from_fn(|a| (centre[a] / sp[a]).round() as i64);
        if !set.contains_signed(at) {
            break;
        }
        let rays: Vec<f64> = dirs
            .iter()
            .map(|d| {
                let mut t = 0.0;
                while t < reach_mm {
                    let q = t + step;
                    let p: [i64; 3] =
                        std::array::from_fn(|a| ((centre[a] + d[a] * q) / sp[a]).round() as i64);
                    // The region holds only voxels inside the volume.
                    if !set.contains_signed(p) {
                        break;
                    }
                    t = q;
                }
                t
            })
            .collect();
        let mut sorted = rays.clone();
        sorted.sort_by(f64::total_cmp);
        // Three rays in four ran out: the nodule is larger than the reach allowed.
        filled = sorted[RAYS / 4] >= RAN_OUT * reach_mm;
        // Rays that ended inside the reach ended on the region's edge: the
        // nodule's, or a vessel's end. Ran-out rays went into a wall or along a
        // vessel. A sphere through the ended rays' edge points, refitted without
        // the points far off it, is the nodule.
        let ended: Vec<[f64; 3]> = dirs
            .iter()
            .zip(&rays)
            .filter(|(_, &r)| r < RAN_OUT * reach_mm)
            .map(|(d, &r)| std::array::from_fn(|a| centre[a] + d[a] * r))
            .collect();
        // A sphere that leaves out the centre it was seen from, or outruns the
        // reach, fits something other than the nodule.
        let fitted = fit_robust(&ended)
            .filter(|&(c, r)| norm(std::array::from_fn(|a| centre[a] - c[a])) <= r && r < reach_mm);
        let sphere = fitted.unwrap_or((centre, sorted[RAYS / 2]));
        let limits = dirs
            .iter()
            .zip(&rays)
            .map(|(d, &r)| {
                let to_edge = to_sphere(centre, *d, sphere).unwrap_or(r);
                if r > LEAK * to_edge + step {
                    (to_edge, false)
                } else {
                    (r, true)
                }
            })
            .collect();
        cut = (centre, limits);
        centre = sphere.0;
        // Only a sphere seen all round (most rays ended on it) says the nodule is larger.
        last = fitted.filter(|_| 2 * ended.len() >= RAYS);
    }
    let (from, limits) = cut;
    let slack = 0.25 * sp.iter().cloned().fold(0.0, f64::max);
    let mut kept = Region {
        voxels: Vec::new(),
        own: Vec::new(),
    };
    // Voxels farther than every limit are dropped without looking for their
    // direction (most of a region grown into a wall), and when no direction
    // was cut, those nearer than every limit are kept likewise.
    let farthest_limit = limits.iter().map(|l| l.0).fold(0.0, f64::max);
    let nearest_limit = if limits.iter().all(|l| l.1) {
        limits.iter().map(|l| l.0).fold(f64::MAX, f64::min)
    } else {
        0.0
    };
    for p in &region.voxels {
        let v: [f64; 3] = std::array::from_fn(|a| p[a] as f64 * sp[a] - from[a]);
        let d = norm(v);
        if d > farthest_limit + slack {
            continue;
        }
        let (limit, own) = if d <= (2.0 * slack).max(nearest_limit) {
            (f64::MAX, true)
        } else {
            limits[table.nearest(v)]
        };
        if d <= limit + slack {
            kept.voxels.push(*p);
            kept.own.push(own);
        }
    }
    (kept, filled, last)
}

/// A ray this far into the reach ran out (voxel steps end rays short of it).
pub(super) const RAN_OUT: f64 = 0.75;

/// The largest radius measured, mm: beyond Lung-RADS' largest nodules.
pub(super) const MAX_REACH_MM: f64 = 30.0;

/// Grows from `seed` above `threshold` and confines the result, widening the
/// reach while the nodule fills it.
pub(super) fn segment(v: &Volume, seed: [usize; 3], threshold: i16, mut reach_mm: f64) -> Region {
    let sp = v.spacing();
    loop {
        let grown = grow(v, seed, threshold, sp.map(|s| reach_mm / s));
        let (region, filled, sphere) = confine(&grown, seed, sp, reach_mm);
        // A seed near the edge of a large nodule sees only part of it within
        // the reach: widen the reach until the nodule's sphere fits inside.
        let outgrown = sphere.is_some_and(|(centre, radius)| {
            let from_seed = norm(std::array::from_fn(|a| centre[a] - seed[a] as f64 * sp[a]));
            from_seed + radius > RAN_OUT * reach_mm
        });
        if !(filled || outgrown) || reach_mm >= MAX_REACH_MM || region.voxels.is_empty() {
            return region;
        }
        reach_mm = (reach_mm * 1.6).min(MAX_REACH_MM);
    }
}
