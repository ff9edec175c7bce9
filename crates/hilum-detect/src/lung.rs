//! The lung mask, on a coarse grid (a few mm): air inside the body, split into
//! connected components, the lungs kept, the trachea and main bronchi cut out,
//! the two lungs told apart, then each closed on its own so that nodules on
//! its pleura and the vessels inside it are inside the mask while the
//! mediastinum between the lungs is not.
//!
//! Thresholding and downsampling run on the device; connected components,
//! morphology and hole filling run on the host, on ~1 % of the voxels, where
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
    /// 1 and 2 inside the two lungs (in order along the iso x axis; 1 only
    /// where one lung was found), 0 outside.
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

/// Separable box dilation (`grow`) or erosion (`!grow`) of radius `r`; the
/// window is cut at the grid's edge. Each line's running count of set voxels
/// answers every window in one step, whatever `r`.
fn morph(mask: &[bool], dims: [usize; 3], r: usize, grow: bool) -> Vec<bool> {
    let [_, dy, dx] = dims;
    let strides = [dy * dx, dx, 1];
    let mut cur = mask.to_vec();
    let mut counts: Vec<usize> = Vec::new();
    for axis in 0..3 {
        let n = dims[axis];
        let stride = strides[axis];
        let mut next = vec![false; cur.len()];
        for base in (0..cur.len()).filter(|&i| (i / stride) % n == 0) {
            counts.clear();
            counts.push(0);
            for p in 0..n {
                counts.push(counts[p] + usize::from(cur[base + p * stride]));
            }
            for p in 0..n {
                let (lo, hi) = (p.saturating_sub(r), (p + r).min(n - 1));
                let set = counts[hi + 1] - counts[lo];
                next[base + p * stride] = if grow { set > 0 } else { set == hi + 1 - lo };
            }
        }
        cur = next;
    }
    cur
}

/// Dilation (`grow`) or erosion of reach `r` by a rounded window: cube and
/// cross steps of one voxel in turn, as [`crate::filters::dilate_round`].
fn morph_round(mask: &[bool], dims: [usize; 3], r: usize, grow: bool) -> Vec<bool> {
    (0..r).fold(mask.to_vec(), |cur, step| {
        if step % 2 == 0 {
            morph(&cur, dims, 1, grow)
        } else {
            (0..cur.len())
                .map(|i| {
                    let mut around = neighbours(i, dims).map(|n| cur[n]);
                    if grow {
                        cur[i] || around.any(|v| v)
                    } else {
                        cur[i] && around.all(|v| v)
                    }
                })
                .collect()
        }
    })
}

/// Closing of `mask` by a cube of half-width `r` and by the rounded window
/// of [`morph_round`], united (see `crate::filters::close_cube_and_round`).
fn close_cube_and_round(mask: &[bool], dims: [usize; 3], r: usize) -> Vec<bool> {
    let cube = morph(&morph(mask, dims, r, true), dims, r, false);
    let round = morph_round(&morph_round(mask, dims, r, true), dims, r, false);
    cube.iter().zip(&round).map(|(a, b)| *a || *b).collect()
}

/// How many closing radii (and voxels) beyond a lung's voxels its closing is
/// computed: the dilation reaches one radius out and the erosion looks one
/// more beyond that, so within two (and a voxel) the result is the whole
/// grid's, and beyond them nothing is set.
const CLOSING_MARGIN: usize = 2;

/// A box of grid voxels, `lo` to `hi` (z, y, x) both included.
struct GridBox {
    lo: [usize; 3],
    hi: [usize; 3],
}

impl GridBox {
    /// The box around the set voxels of `set`, `margin` voxels wider on each
    /// side within the grid; `None` when none is set.
    fn around(set: &[bool], dims: [usize; 3], margin: usize) -> Option<Self> {
        let [_, dy, dx] = dims;
        let mut lo = [usize::MAX; 3];
        let mut hi = [0; 3];
        for (i, _) in set.iter().enumerate().filter(|(_, &s)| s) {
            let at = [i / (dy * dx), (i / dx) % dy, i % dx];
            for a in 0..3 {
                lo[a] = lo[a].min(at[a]);
                hi[a] = hi[a].max(at[a]);
            }
        }
        (lo[0] != usize::MAX).then(|| Self {
            lo: lo.map(|l| l.saturating_sub(margin)),
            hi: std::array::from_fn(|a| (hi[a] + margin).min(dims[a] - 1)),
        })
    }

    fn dims(&self) -> [usize; 3] {
        std::array::from_fn(|a| self.hi[a] + 1 - self.lo[a])
    }

    /// Each voxel's index in the grid of `dims` with its index in the box.
    fn indices(&self, dims: [usize; 3]) -> impl Iterator<Item = (usize, usize)> + '_ {
        let [_, dy, dx] = dims;
        let [_, by, bx] = self.dims();
        (self.lo[0]..=self.hi[0]).flat_map(move |z| {
            (self.lo[1]..=self.hi[1]).flat_map(move |y| {
                (self.lo[2]..=self.hi[2]).map(move |x| {
                    let in_box = ((z - self.lo[0]) * by + (y - self.lo[1])) * bx + (x - self.lo[2]);
                    ((z * dy + y) * dx + x, in_box)
                })
            })
        })
    }

    /// The part of `set` (over the grid of `dims`) inside the box.
    fn cut(&self, set: &[bool], dims: [usize; 3]) -> Vec<bool> {
        let mut part = vec![false; self.dims().iter().product()];
        for (i, j) in self.indices(dims) {
            part[j] = set[i];
        }
        part
    }
}

/// Radius (mm) of the erosion that leaves each lung a core and the airways
/// none (no 21 mm cube of air fits in a trachea at most about 25 mm across).
const CORE_EROSION_MM: f64 = 9.0;
/// An air region of an axial slice this small (mm²; a trachea of 25 mm is
/// about 500) centred this near the midline (mm) is an airway (the trachea, a
/// main bronchus outside the lung, air in the oesophagus), not lung.
const AIRWAY_AREA_MM2: f64 = 700.0;
const AIRWAY_MIDLINE_MM: f64 = 35.0;

/// Connected components of `set`: each voxel's component (`u32::MAX` outside)
/// and each component's size.
fn components(set: &[bool], dims: [usize; 3]) -> (Vec<u32>, Vec<usize>) {
    let mut component = vec![u32::MAX; set.len()];
    let mut sizes: Vec<usize> = Vec::new();
    for start in 0..set.len() {
        if !set[start] || component[start] != u32::MAX {
            continue;
        }
        let id = sizes.len() as u32;
        let mut queue = VecDeque::from([start]);
        component[start] = id;
        let mut size = 0;
        while let Some(i) = queue.pop_front() {
            size += 1;
            for n in neighbours(i, dims) {
                if set[n] && component[n] == u32::MAX {
                    component[n] = id;
                    queue.push_back(n);
                }
            }
        }
        sizes.push(size);
    }
    (component, sizes)
}

/// Spreads the non-zero labels of `labels` into the zero voxels where `pass`
/// holds, breadth first (each such voxel takes the label that reaches it first).
fn grow_labels(labels: &mut [u8], dims: [usize; 3], pass: impl Fn(usize) -> bool) {
    let mut queue: VecDeque<usize> = (0..labels.len()).filter(|&i| labels[i] != 0).collect();
    while let Some(i) = queue.pop_front() {
        for n in neighbours(i, dims) {
            if labels[n] == 0 && pass(n) {
                labels[n] = labels[i];
                queue.push_back(n);
            }
        }
    }
}

/// The lungs (at most two, ordered along x), each without the trachea and main
/// bronchi. The air's two largest lung-sized components hold the lungs (joined
/// through the airways in many scans). The airways are cut out slice by slice
/// ([`airways_by_slice`]). Eroded by [`CORE_EROSION_MM`], each lung keeps one
/// or more cores, each given to the side of the midline its centre lies on;
/// the rest of the air goes to the nearer side's cores, through air. Where
/// erosion leaves no core (lungs too small for it) the components are kept whole.
fn lungs_without_airways(
    air: &[bool],
    dims: [usize; 3],
    cell_mm: f64,
    cell_ml: f64,
) -> Vec<Vec<bool>> {
    let lung_sized = |cells: usize| cells as f64 * cell_ml >= MIN_LUNG_ML;
    let whole = air_components(air, dims, lung_sized);
    let mut lung_air: Vec<bool> = (0..air.len()).map(|i| whole.iter().any(|l| l[i])).collect();
    let midline = mean_x(&lung_air, dims);
    for (i, airway) in airways_by_slice(&lung_air, dims, cell_mm, midline)
        .into_iter()
        .enumerate()
    {
        lung_air[i] &= !airway;
    }
    let r = ((CORE_EROSION_MM / cell_mm).round() as usize).max(1);
    let (core_of, core_sizes) = components(&morph(&lung_air, dims, r, false), dims);
    let mut x_sum = vec![0.0; core_sizes.len()];
    for (i, &c) in core_of.iter().enumerate().filter(|(_, &c)| c != u32::MAX) {
        x_sum[c as usize] += (i % dims[2]) as f64;
    }
    let mut owner: Vec<u8> = core_of
        .iter()
        .map(|&c| match c {
            u32::MAX => 0,
            c => 1 + u8::from(x_sum[c as usize] / core_sizes[c as usize] as f64 >= midline),
        })
        .collect();
    grow_labels(&mut owner, dims, |i| lung_air[i]);
    let lungs: Vec<Vec<bool>> = (1..=2u8)
        .map(|k| owner.iter().map(|&o| o == k).collect::<Vec<bool>>())
        .filter(|l| lung_sized(l.iter().filter(|&&v| v).count()))
        .collect();
    if lungs.is_empty() {
        whole
    } else {
        lungs
    }
}

/// The airways among `air`: in each axial slice, the regions (4-connected)
/// under [`AIRWAY_AREA_MM2`] centred within [`AIRWAY_MIDLINE_MM`] of x =
/// `midline` (grid voxels). Found on the slice's air eroded by a voxel, so a
/// trachea that the grid's coarse voxels join to the lung through its thin wall
/// stands apart; each region then takes back the voxel of air around it. A main
/// bronchus is cut where it runs through the mediastinum, apart from the lung
/// in its slice; what lies inside the hilum stays with the lung.
fn airways_by_slice(air: &[bool], dims: [usize; 3], cell_mm: f64, midline: f64) -> Vec<bool> {
    let [dz, dy, dx] = dims;
    let plane = dy * dx;
    let mut airway = vec![false; air.len()];
    for z in 0..dz {
        let slice = &air[z * plane..(z + 1) * plane];
        let ring = |i: usize| {
            let (y, x) = ((i / dx) as isize, (i % dx) as isize);
            (-1..=1)
                .flat_map(move |ky| (-1..=1).map(move |kx| (y + ky, x + kx)))
                .filter(|&(y, x)| (0..dy as isize).contains(&y) && (0..dx as isize).contains(&x))
                .map(|(y, x)| y as usize * dx + x as usize)
        };
        // Air whose whole 3×3 neighbourhood, inside the slice, is air.
        let inner: Vec<bool> = (0..plane)
            .map(|i| ring(i).filter(|&n| slice[n]).count() == 9)
            .collect();
        let (region_of, sizes) = components(&inner, [1, dy, dx]);
        let mut x_sum = vec![0.0; sizes.len()];
        for (i, &r) in region_of.iter().enumerate().filter(|(_, &r)| r != u32::MAX) {
            x_sum[r as usize] += (i % dx) as f64;
        }
        let is_airway: Vec<bool> = (0..sizes.len())
            .map(|r| {
                let area_mm2 = sizes[r] as f64 * cell_mm * cell_mm;
                let off_midline_mm = (x_sum[r] / sizes[r] as f64 - midline).abs() * cell_mm;
                area_mm2 <= AIRWAY_AREA_MM2 && off_midline_mm <= AIRWAY_MIDLINE_MM
            })
            .collect();
        for (i, &r) in region_of.iter().enumerate() {
            if r != u32::MAX && is_airway[r as usize] {
                for n in ring(i).filter(|&n| slice[n]) {
                    airway[z * plane + n] = true;
                }
            }
        }
    }
    airway
}

/// The ids of the `n` largest of `sizes`, largest first.
fn largest(sizes: &[usize], n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
    order.truncate(n);
    order
}

/// The air's two largest components that are lung-sized (the lungs, with the
/// airways where they join them), ordered along x.
fn air_components(
    air: &[bool],
    dims: [usize; 3],
    lung_sized: impl Fn(usize) -> bool,
) -> Vec<Vec<bool>> {
    let (of, sizes) = components(air, dims);
    let mut lungs: Vec<(f64, Vec<bool>)> = largest(&sizes, 2)
        .into_iter()
        .filter(|&c| lung_sized(sizes[c]))
        .map(|c| {
            let lung: Vec<bool> = of.iter().map(|&o| o == c as u32).collect();
            (mean_x(&lung, dims), lung)
        })
        .collect();
    lungs.sort_by(|a, b| a.0.total_cmp(&b.0));
    lungs.into_iter().map(|(_, l)| l).collect()
}

fn mean_x(set: &[bool], dims: [usize; 3]) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for (i, _) in set.iter().enumerate().filter(|(_, &s)| s) {
        sum += (i % dims[2]) as f64;
        n += 1;
    }
    sum / n.max(1) as f64
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

    let cell_mm = voxel_mm * factor as f64;
    let cell_ml = cell_mm.powi(3) / 1000.0;
    let lungs = lungs_without_airways(&inside_air, dims, cell_mm, cell_ml);

    // Each lung closed on its own (~12 mm; a cube's closing and a rounded
    // window's united, which takes in more of a small nodule against the
    // wall) takes in its nodules on the pleura and the vessels of its hilum
    // without bridging the mediastinum between the two; then fill holes left
    // inside.
    let r = ((12.0 / cell_mm).round() as usize).max(1);
    let mut owner = vec![0u8; inside_air.len()];
    for (k, lung) in lungs.iter().enumerate() {
        let Some(part) = GridBox::around(lung, dims, CLOSING_MARGIN * r + CLOSING_MARGIN) else {
            continue;
        };
        let closed = close_cube_and_round(&part.cut(lung, dims), part.dims(), r);
        for (i, j) in part.indices(dims) {
            let o = &mut owner[i];
            if lung[i] || (closed[j] && *o == 0) {
                *o = k as u8 + 1;
            }
        }
    }
    let background = flood(dims, border(dims), |i| owner[i] == 0);
    grow_labels(&mut owner, dims, |i| !background[i]);

    let labels = owner;
    let mut count = 0usize;
    let mut sum = [0f64; 3];
    let [_, dy, dx] = dims;
    for (i, &label) in labels.iter().enumerate() {
        if label != 0 {
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

    #[test]
    fn the_closing_rounds_off_the_corners_of_tissue_that_juts_into_the_lung() {
        // A box lung of 24³ mask voxels, 6 of wall beyond it; from its far
        // wall along x, a block of tissue 9 voxels a side (as wide as the
        // cube's window) juts into it.
        let n = 36;
        let dims = [n; 3];
        let at = |z: usize, y: usize, x: usize| (z * n + y) * n + x;
        let block = 14..23;
        let mut lung = vec![false; n * n * n];
        for z in 6..30 {
            for y in 6..30 {
                for x in 6..30 {
                    let jutting = block.contains(&z) && block.contains(&y) && x >= 21;
                    lung[at(z, y, x)] = !jutting;
                }
            }
        }
        let cube = morph(&morph(&lung, dims, 4, true), dims, 4, false);
        let closed = close_cube_and_round(&lung, dims, 4);
        for (what, z, y, x) in [
            ("the block's outer corner", 14, 14, 21),
            ("the block's outer edge", 18, 14, 21),
        ] {
            assert!(!cube[at(z, y, x)], "a cube fits {what}");
            assert!(closed[at(z, y, x)], "{what} is rounded off");
        }
        assert!(!closed[at(18, 18, 21)], "the middle of the block's face");
        assert!(!closed[at(18, 18, 26)], "the block's core");
        assert!(!closed[at(18, 18, 31)], "the wall");
    }

    /// A speckled blob (seeded xorshift) on a grid of `dims`, touching the grid's low corner.
    fn speckled_blob(dims: [usize; 3], mut state: u64) -> Vec<bool> {
        let [dz, dy, dx] = dims;
        (0..dz * dy * dx)
            .map(|i| {
                let speck = crate::train::next_random(&mut state) % 5 == 0;
                let (z, y, x) = (i / (dy * dx), (i / dx) % dy, i % dx);
                z * z + y * y + x * x < 14 * 14 && !speck
            })
            .collect()
    }

    #[test]
    fn the_box_window_is_any_or_all_of_the_cube_within_the_grid() {
        let dims = [9, 17, 21];
        let [dz, dy, dx] = dims;
        let mask = speckled_blob(dims, 0x9e37_79b9_7f4a_7c15);
        for r in [1, 2, 4] {
            for grow in [true, false] {
                let fast = morph(&mask, dims, r, grow);
                for z in 0..dz {
                    for y in 0..dy {
                        for x in 0..dx {
                            let mut window =
                                (z.saturating_sub(r)..=(z + r).min(dz - 1)).flat_map(|k| {
                                    (y.saturating_sub(r)..=(y + r).min(dy - 1)).flat_map(move |j| {
                                        (x.saturating_sub(r)..=(x + r).min(dx - 1))
                                            .map(move |i| (k * dy + j) * dx + i)
                                    })
                                });
                            let expected = if grow {
                                window.any(|i| mask[i])
                            } else {
                                window.all(|i| mask[i])
                            };
                            assert_eq!(
                                fast[(z * dy + y) * dx + x],
                                expected,
                                "r {r} grow {grow} at {z} {y} {x}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_lung_closed_within_its_box_is_closed_as_over_the_whole_grid() {
        let dims = [30, 34, 40];
        let [_, dy, dx] = dims;
        let r = 3;
        // One blob at the grid's corner, one moved off every edge.
        let corner = speckled_blob(dims, 0x2545_f491_4f6c_dd1d);
        let mut inner = vec![false; corner.len()];
        for (i, _) in corner.iter().enumerate().filter(|(_, &c)| c) {
            let (z, y, x) = (i / (dy * dx), (i / dx) % dy, i % dx);
            if z + 12 < dims[0] && y + 12 < dims[1] && x + 14 < dims[2] {
                inner[((z + 12) * dy + y + 12) * dx + x + 14] = true;
            }
        }
        for lung in [corner, inner] {
            let whole = close_cube_and_round(&lung, dims, r);
            let part =
                GridBox::around(&lung, dims, CLOSING_MARGIN * r + CLOSING_MARGIN).expect("a lung");
            let closed = close_cube_and_round(&part.cut(&lung, dims), part.dims(), r);
            let mut in_box = vec![false; lung.len()];
            for (i, j) in part.indices(dims) {
                in_box[i] = true;
                assert_eq!(closed[j], whole[i], "voxel {i}");
            }
            assert!(
                (0..lung.len()).all(|i| in_box[i] || !whole[i]),
                "closed beyond the box"
            );
        }
    }

    /// Two box lungs (1.5 mm iso voxels, 3 mm mask voxels) 15 mm apart below
    /// z = 25 and 30 mm above, where main bronchi 12 mm across run down and
    /// out from a trachea 18 mm across through the mediastinum, entering the
    /// lungs in their lowest slices (z = 30–31); a 6 mm nodule half in the
    /// right lung's lateral wall; air around the body.
    /// Returns the volume and the mL of lung air drawn.
    fn chest_with_trachea() -> (Tensor<3>, f64) {
        let [nz, ny, nx] = [80usize, 70, 110];
        let mut lung_voxels = 0usize;
        let data: Vec<f32> = (0..nz * ny * nx)
            .map(|i| {
                let (z, y, x) = (i / (ny * nx), (i / nx) % ny, i % nx);
                let outside = y < 2 || x < 2 || y >= ny - 2 || x >= nx - 2;
                let gap = if z < 25 { 50..60 } else { 45..65 };
                let lung = (5..65).contains(&z)
                    && (15..55).contains(&y)
                    && (10..100).contains(&x)
                    && !gap.contains(&x);
                let trachea = z >= 44 && (25..37).contains(&y) && (49..61).contains(&x);
                let bronchi = (30..44).contains(&z) && (27..35).contains(&y) && {
                    let off = 0.5 * (44 - z) as f32;
                    [55.0 - off, 55.0 + off]
                        .iter()
                        .any(|c| (x as f32 - c).abs() < 4.0)
                };
                let d2 = [(z, 35.0), (y, 35.0), (x, 10.0)]
                    .iter()
                    .map(|&(c, m)| (c as f32 - m).powi(2))
                    .sum::<f32>();
                if d2 <= 16.0 {
                    1.04
                } else if lung {
                    lung_voxels += 1;
                    0.0
                } else if outside || trachea || bronchi {
                    0.0
                } else {
                    1.04
                }
            })
            .collect();
        let device = hilum_gpu::cpu_backend().device;
        let volume = Tensor::from_data(burn::tensor::TensorData::new(data, [nz, ny, nx]), &device);
        (volume, lung_voxels as f64 * 1.5f64.powi(3) / 1000.0)
    }

    #[test]
    fn the_lungs_are_told_apart_without_the_trachea_or_the_mediastinum_between_them() {
        let (volume, lung_ml) = chest_with_trachea();
        let mask = lung_mask(&volume, 1.5, 2);
        let at = |z: usize, y: usize, x: usize| mask.at_iso(z, y, x);
        assert_eq!(at(30, 35, 30), 1, "the right lung (lower x)");
        assert_eq!(at(30, 35, 80), 2, "the left lung");
        assert_eq!(at(70, 31, 55), 0, "the trachea above the lungs");
        assert_eq!(at(40, 31, 55), 0, "the main bronchi in the mediastinum");
        assert_eq!(at(15, 45, 55), 0, "the mediastinum, 15 mm across");
        assert_eq!(at(35, 35, 10), 1, "a nodule on the pleura");
        assert_eq!(at(35, 35, 4), 0, "the chest wall");
        assert!(
            (mask.volume_ml - lung_ml).abs() < 0.25 * lung_ml,
            "{} mL against {lung_ml} mL of lung",
            mask.volume_ml
        );
    }
}
