//! From a bag of slice positions to a regular voxel grid, with every geometry
//! problem named.
//!
//! Slices are ordered by their distance along the slice normal (IOP row ×
//! column direction), never by InstanceNumber or file name; the slice spacing
//! comes from the positions, never from SliceThickness.

use crate::geometry::{cross, dot, norm, normalize, scale, sub, Affine, Vec3};
use serde::Serialize;
use std::fmt;

/// What one image slice (a file or a frame of a multi-frame file) says about
/// where it lies.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceGeometry {
    /// ImagePositionPatient: the centre of the first transmitted pixel, LPS mm.
    pub position: Vec3,
    /// ImageOrientationPatient first triplet: direction of increasing column index.
    pub row_dir: Vec3,
    /// ImageOrientationPatient second triplet: direction of increasing row index.
    pub col_dir: Vec3,
    pub rows: usize,
    pub cols: usize,
    /// PixelSpacing: (between rows, between columns) in mm.
    pub pixel_spacing: [f64; 2],
    pub slice_thickness: Option<f64>,
}

/// Where each plane of the regular grid comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GridPlane {
    /// Input slice number `n`.
    Slice(usize),
    /// A missing slice, filled by linear interpolation between two input slices.
    Interpolated { below: usize, above: usize, t: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The volume is still usable; the user should know.
    Warning,
    /// No trustworthy volume can be built.
    Error,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeometryProblem {
    NoSlices,
    SingleSlice,
    DegenerateOrientation,
    MixedOrientation {
        ignored: usize,
    },
    MixedSize {
        ignored: usize,
    },
    DuplicatePositions {
        removed: usize,
        at_mm: f64,
    },
    MissingSlices {
        count: usize,
        after_mm: f64,
    },
    UnevenSpacing {
        max_deviation_mm: f64,
        spacing_mm: f64,
    },
    IrregularSpacing {
        max_deviation_mm: f64,
        spacing_mm: f64,
    },
    GantryTilt {
        degrees: f64,
    },
}

impl GeometryProblem {
    pub fn severity(&self) -> Severity {
        match self {
            Self::NoSlices | Self::DegenerateOrientation | Self::IrregularSpacing { .. } => {
                Severity::Error
            }
            _ => Severity::Warning,
        }
    }
}

impl fmt::Display for GeometryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSlices => write!(f, "no image slices"),
            Self::SingleSlice => write!(
                f,
                "single slice: no slice spacing, SliceThickness used for the third axis"
            ),
            Self::DegenerateOrientation => {
                write!(f, "ImageOrientationPatient is not two orthogonal unit vectors")
            }
            Self::MixedOrientation { ignored } => write!(
                f,
                "mixed orientations: {ignored} slice(s) in another orientation ignored"
            ),
            Self::MixedSize { ignored } => write!(
                f,
                "mixed image sizes or pixel spacing: {ignored} slice(s) ignored"
            ),
            Self::DuplicatePositions { removed, at_mm } => write!(
                f,
                "{removed} slice(s) duplicate a position (first at {at_mm:.2} mm along the normal); kept the first"
            ),
            Self::MissingSlices { count, after_mm } => write!(
                f,
                "{count} missing slice(s) after {after_mm:.2} mm along the normal; filled by interpolation"
            ),
            Self::UnevenSpacing {
                max_deviation_mm,
                spacing_mm,
            } => write!(
                f,
                "uneven slice spacing: up to {max_deviation_mm:.3} mm off the mean {spacing_mm:.3} mm"
            ),
            Self::IrregularSpacing {
                max_deviation_mm,
                spacing_mm,
            } => write!(
                f,
                "irregular slice spacing: up to {max_deviation_mm:.3} mm off the median {spacing_mm:.3} mm"
            ),
            Self::GantryTilt { degrees } => write!(
                f,
                "gantry tilt of {degrees:.2}°: slices are sheared; the affine accounts for it"
            ),
        }
    }
}

/// The regular grid built from a slice stack.
#[derive(Clone, Debug)]
pub struct StackLayout {
    pub rows: usize,
    pub cols: usize,
    /// One entry per grid plane, in increasing distance along the normal.
    pub planes: Vec<GridPlane>,
    pub affine: Affine,
    /// Input slices that are not part of the grid (other orientation, duplicates).
    pub excluded: Vec<usize>,
    pub problems: Vec<GeometryProblem>,
}

impl StackLayout {
    pub fn has_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.severity() == Severity::Error)
    }
}

const ORIENTATION_TOLERANCE: f64 = 1e-3;
/// Positions closer than this along the normal are the same plane.
const DUPLICATE_TOLERANCE_MM: f64 = 1e-3;
/// Relative deviation from the median gap tolerated silently (rounding in headers).
const EVEN_TOLERANCE: f64 = 0.01;
/// Relative deviation beyond which the grid would misplace anatomy.
const IRREGULAR_TOLERANCE: f64 = 0.10;
const TILT_REPORT_DEGREES: f64 = 0.05;

fn same_orientation(a: &SliceGeometry, b: &SliceGeometry) -> bool {
    (0..3).all(|i| {
        (a.row_dir[i] - b.row_dir[i]).abs() < ORIENTATION_TOLERANCE
            && (a.col_dir[i] - b.col_dir[i]).abs() < ORIENTATION_TOLERANCE
    })
}

fn same_size(a: &SliceGeometry, b: &SliceGeometry) -> bool {
    a.rows == b.rows
        && a.cols == b.cols
        && (a.pixel_spacing[0] - b.pixel_spacing[0]).abs() < 1e-4
        && (a.pixel_spacing[1] - b.pixel_spacing[1]).abs() < 1e-4
}

/// Keeps the largest group of slices that satisfy `same`; returns it and the rest.
fn largest_group(
    candidates: &[usize],
    slices: &[SliceGeometry],
    same: fn(&SliceGeometry, &SliceGeometry) -> bool,
) -> (Vec<usize>, Vec<usize>) {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &i in candidates {
        match groups.iter_mut().find(|g| same(&slices[g[0]], &slices[i])) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    // Largest first; ties go to the group seen first, which keeps this deterministic.
    let best = (0..groups.len())
        .max_by_key(|&g| (groups[g].len(), std::cmp::Reverse(g)))
        .unwrap_or(0);
    let mut kept = Vec::new();
    let mut rest = Vec::new();
    for (g, members) in groups.into_iter().enumerate() {
        if g == best {
            kept = members;
        } else {
            rest.extend(members);
        }
    }
    (kept, rest)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        0.5 * (values[n / 2 - 1] + values[n / 2])
    }
}

/// Orders the slices along their normal and builds the regular grid.
pub fn analyse_stack(slices: &[SliceGeometry]) -> StackLayout {
    let mut problems = Vec::new();
    let mut excluded = Vec::new();
    let all: Vec<usize> = (0..slices.len()).collect();

    let (oriented, other) = largest_group(&all, slices, same_orientation);
    if !other.is_empty() {
        problems.push(GeometryProblem::MixedOrientation {
            ignored: other.len(),
        });
        excluded.extend(other);
    }
    let (mut kept, other) = largest_group(&oriented, slices, same_size);
    if !other.is_empty() {
        problems.push(GeometryProblem::MixedSize {
            ignored: other.len(),
        });
        excluded.extend(other);
    }

    let Some(&first) = kept.first() else {
        return StackLayout {
            rows: 0,
            cols: 0,
            planes: Vec::new(),
            affine: Affine {
                origin: [0.0; 3],
                col_step: [0.0; 3],
                row_step: [0.0; 3],
                slice_step: [0.0; 3],
            },
            excluded,
            problems: vec![GeometryProblem::NoSlices],
        };
    };
    let reference = &slices[first];
    let (row_dir, col_dir) = (reference.row_dir, reference.col_dir);
    let orthonormal = (norm(row_dir) - 1.0).abs() < 1e-3
        && (norm(col_dir) - 1.0).abs() < 1e-3
        && dot(row_dir, col_dir).abs() < 1e-3;
    if !orthonormal {
        problems.push(GeometryProblem::DegenerateOrientation);
    }
    let normal = normalize(cross(row_dir, col_dir));
    let distance = |i: usize| dot(slices[i].position, normal);

    // Stable sort: among equal positions the earlier input slice wins.
    kept.sort_by(|&a, &b| distance(a).total_cmp(&distance(b)));
    let mut unique: Vec<usize> = Vec::with_capacity(kept.len());
    let mut duplicates = 0;
    let mut first_duplicate_at = None;
    for &i in &kept {
        match unique.last() {
            Some(&last) if (distance(i) - distance(last)).abs() < DUPLICATE_TOLERANCE_MM => {
                duplicates += 1;
                first_duplicate_at.get_or_insert(distance(i));
                excluded.push(i);
            }
            _ => unique.push(i),
        }
    }
    if duplicates > 0 {
        problems.push(GeometryProblem::DuplicatePositions {
            removed: duplicates,
            at_mm: first_duplicate_at.unwrap_or_default(),
        });
    }

    let col_step = scale(row_dir, reference.pixel_spacing[1]);
    let row_step = scale(col_dir, reference.pixel_spacing[0]);
    let origin = slices[unique[0]].position;

    if unique.len() == 1 {
        problems.push(GeometryProblem::SingleSlice);
        let thickness = reference
            .slice_thickness
            .filter(|t| *t > 0.0)
            .unwrap_or(1.0);
        return StackLayout {
            rows: reference.rows,
            cols: reference.cols,
            planes: vec![GridPlane::Slice(unique[0])],
            affine: Affine {
                origin,
                col_step,
                row_step,
                slice_step: scale(normal, thickness),
            },
            excluded,
            problems,
        };
    }

    let gaps: Vec<f64> = unique
        .windows(2)
        .map(|w| distance(w[1]) - distance(w[0]))
        .collect();
    let spacing = median(&mut gaps.clone());

    // Walk the gaps: whole multiples of the spacing are missing slices; anything
    // else is uneven (tolerated up to IRREGULAR_TOLERANCE) or irregular.
    let mut planes = vec![GridPlane::Slice(unique[0])];
    let mut max_deviation: f64 = 0.0;
    for (w, &gap) in unique.windows(2).zip(&gaps) {
        let steps = (gap / spacing).round().max(1.0) as usize;
        let deviation = (gap - steps as f64 * spacing).abs();
        if steps >= 2 && deviation < IRREGULAR_TOLERANCE * spacing {
            problems.push(GeometryProblem::MissingSlices {
                count: steps - 1,
                after_mm: distance(w[0]),
            });
            for s in 1..steps {
                planes.push(GridPlane::Interpolated {
                    below: w[0],
                    above: w[1],
                    t: s as f64 / steps as f64,
                });
            }
        }
        max_deviation = max_deviation.max(deviation);
        planes.push(GridPlane::Slice(w[1]));
    }
    if max_deviation > IRREGULAR_TOLERANCE * spacing {
        problems.push(GeometryProblem::IrregularSpacing {
            max_deviation_mm: max_deviation,
            spacing_mm: spacing,
        });
    } else if max_deviation > EVEN_TOLERANCE * spacing && max_deviation > 1e-3 {
        problems.push(GeometryProblem::UnevenSpacing {
            max_deviation_mm: max_deviation,
            spacing_mm: spacing,
        });
    }

    let last = slices[*unique.last().unwrap_or(&unique[0])].position;
    let slice_step = scale(sub(last, origin), 1.0 / (planes.len() - 1) as f64);
    let cos_tilt = (dot(slice_step, normal) / norm(slice_step)).clamp(-1.0, 1.0);
    let degrees = cos_tilt.acos().to_degrees();
    if degrees > TILT_REPORT_DEGREES {
        problems.push(GeometryProblem::GantryTilt { degrees });
    }

    StackLayout {
        rows: reference.rows,
        cols: reference.cols,
        planes,
        affine: Affine {
            origin,
            col_step,
            row_step,
            slice_step,
        },
        excluded,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axial(z: f64) -> SliceGeometry {
        SliceGeometry {
            position: [-175.0, -175.0, z],
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 1.0, 0.0],
            rows: 512,
            cols: 512,
            pixel_spacing: [0.7, 0.7],
            slice_thickness: Some(2.5),
        }
    }

    fn kinds(l: &StackLayout) -> Vec<String> {
        l.problems
            .iter()
            .map(|p| {
                format!("{p:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn sorts_by_position_not_input_order() {
        // Written head-first with descending z, shuffled.
        let zs = [-10.0, -5.0, -12.5, -7.5, -2.5, 0.0];
        let slices: Vec<_> = zs.iter().map(|&z| axial(z)).collect();
        let l = analyse_stack(&slices);
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        let order: Vec<usize> = l
            .planes
            .iter()
            .map(|p| match p {
                GridPlane::Slice(i) => *i,
                _ => panic!("unexpected interpolation"),
            })
            .collect();
        assert_eq!(order, vec![2, 0, 3, 1, 4, 5]);
        assert_eq!(l.affine.origin, [-175.0, -175.0, -12.5]);
        assert!((l.affine.spacing()[2] - 2.5).abs() < 1e-12);
    }

    #[test]
    fn spacing_comes_from_positions_not_thickness() {
        // Overlapping reconstruction: 2.5 mm thick slices every 1.25 mm.
        let slices: Vec<_> = (0..10).map(|k| axial(k as f64 * 1.25)).collect();
        let l = analyse_stack(&slices);
        assert!((l.affine.spacing()[2] - 1.25).abs() < 1e-12);
    }

    #[test]
    fn missing_slice_is_reported_and_filled() {
        let slices: Vec<_> = [0.0, 2.5, 5.0, 10.0, 12.5]
            .iter()
            .map(|&z| axial(z))
            .collect();
        let l = analyse_stack(&slices);
        assert_eq!(kinds(&l), vec!["MissingSlices"]);
        assert_eq!(l.planes.len(), 6);
        assert_eq!(
            l.planes[3],
            GridPlane::Interpolated {
                below: 2,
                above: 3,
                t: 0.5
            }
        );
        assert!(!l.has_errors());
    }

    #[test]
    fn duplicates_are_dropped() {
        let slices: Vec<_> = [0.0, 2.5, 2.5, 5.0].iter().map(|&z| axial(z)).collect();
        let l = analyse_stack(&slices);
        assert_eq!(kinds(&l), vec!["DuplicatePositions"]);
        assert_eq!(l.planes.len(), 3);
        assert_eq!(l.excluded, vec![2]);
    }

    #[test]
    fn uneven_and_irregular_spacing() {
        let uneven: Vec<_> = [0.0, 2.5, 5.05, 7.5, 10.0]
            .iter()
            .map(|&z| axial(z))
            .collect();
        assert_eq!(kinds(&analyse_stack(&uneven)), vec!["UnevenSpacing"]);
        let irregular: Vec<_> = [0.0, 2.5, 5.0, 8.9, 11.4]
            .iter()
            .map(|&z| axial(z))
            .collect();
        let l = analyse_stack(&irregular);
        assert_eq!(kinds(&l), vec!["IrregularSpacing"]);
        assert!(l.has_errors());
    }

    #[test]
    fn mixed_orientation_and_size_keep_the_majority() {
        let mut slices: Vec<_> = (0..5).map(|k| axial(k as f64)).collect();
        let mut localizer = axial(0.0);
        localizer.row_dir = [0.0, 1.0, 0.0];
        localizer.col_dir = [0.0, 0.0, -1.0];
        slices.push(localizer);
        let mut small = axial(10.0);
        small.rows = 256;
        slices.push(small);
        let l = analyse_stack(&slices);
        assert_eq!(kinds(&l), vec!["MixedOrientation", "MixedSize"]);
        assert_eq!(l.planes.len(), 5);
        assert_eq!(l.excluded, vec![5, 6]);
    }

    #[test]
    fn gantry_tilt_gives_a_sheared_affine() {
        // 15° tilt: each slice origin moves 2.5 mm along z and 2.5·tan15° along y.
        let shift = 2.5 * 15f64.to_radians().tan();
        let slices: Vec<_> = (0..8)
            .map(|k| {
                let mut s = axial(k as f64 * 2.5);
                s.position[1] += k as f64 * shift;
                s
            })
            .collect();
        let l = analyse_stack(&slices);
        match l.problems.as_slice() {
            [GeometryProblem::GantryTilt { degrees }] => assert!((degrees - 15.0).abs() < 1e-6),
            other => panic!("{other:?}"),
        }
        let p = l.affine.voxel_to_lps([0.0, 0.0, 7.0]);
        assert!((p[1] - (-175.0 + 7.0 * shift)).abs() < 1e-9);
    }

    #[test]
    fn oblique_stack_is_sorted_along_its_normal() {
        let row_dir = normalize([1.0, 1.0, 0.0]);
        let col_dir = normalize([0.0, 0.0, -1.0]);
        let normal = cross(row_dir, col_dir);
        let slices: Vec<_> = [3usize, 0, 2, 1]
            .iter()
            .map(|&k| SliceGeometry {
                position: crate::geometry::add([5.0, 6.0, 7.0], scale(normal, k as f64 * 1.5)),
                row_dir,
                col_dir,
                rows: 64,
                cols: 64,
                pixel_spacing: [1.0, 1.0],
                slice_thickness: None,
            })
            .collect();
        let l = analyse_stack(&slices);
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        assert_eq!(l.planes[0], GridPlane::Slice(1));
        assert!((l.affine.spacing()[2] - 1.5).abs() < 1e-9);
        let back = l.affine.lps_to_voxel(slices[0].position).unwrap();
        assert!((back[2] - 3.0).abs() < 1e-9);
    }

    #[test]
    fn single_and_empty_stacks() {
        let l = analyse_stack(&[axial(0.0)]);
        assert_eq!(kinds(&l), vec!["SingleSlice"]);
        assert!((l.affine.spacing()[2] - 2.5).abs() < 1e-12);
        let l = analyse_stack(&[]);
        assert!(l.has_errors());
    }
}
