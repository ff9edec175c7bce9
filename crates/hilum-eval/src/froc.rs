//! FROC and the competition performance metric (CPM) as LUNA16 defines them.
//!
//! - A detection hits a nodule when its centre lies within the nodule's radius.
//! - Several detections on one nodule count once (the most confident); the
//!   others are neither hits nor false positives.
//! - Detections inside an ignored finding (marked by fewer than 3 readers,
//!   under 3 mm, or a non-nodule) are neither hits nor false positives.
//! - CPM is the mean sensitivity at 1/8, 1/4, 1/2, 1, 2, 4 and 8 false
//!   positives per scan.

use serde::Serialize;

pub const FP_RATES: [f64; 7] = [0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0];

#[derive(Clone, Debug)]
pub struct TruthNodule {
    pub center_lps_mm: [f64; 3],
    pub diameter_mm: f64,
}

#[derive(Clone, Debug)]
pub struct Detection {
    pub center_lps_mm: [f64; 3],
    pub confidence: f64,
}

/// One scan's truth and detections.
#[derive(Clone, Debug, Default)]
pub struct ScanTruth {
    /// Nodules that count.
    pub nodules: Vec<TruthNodule>,
    /// Findings that neither count nor penalise (radius = diameter / 2, at least 1.5 mm).
    pub ignored: Vec<TruthNodule>,
    pub detections: Vec<Detection>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Froc {
    pub scans: usize,
    pub nodules: usize,
    /// Sensitivity at each of [`FP_RATES`].
    pub sensitivity_at: Vec<(f64, f64)>,
    /// The confidence cut of each of those operating points (each FP rate
    /// with the lowest confidence kept there; 1 where nothing is kept), to
    /// see how far a missed nodule's confidence lies below it.
    pub confidence_at: Vec<(f64, f64)>,
    pub cpm: f64,
    /// Highest sensitivity reached at any threshold, and the FP/scan it costs.
    pub max_sensitivity: f64,
    pub fp_per_scan_at_max: f64,
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    hilum_core::geometry::norm(hilum_core::geometry::sub(a, b))
}

/// What one detection is under these rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// On the nodule of this index (counting from `first_nodule`).
    Hit(usize),
    Ignored,
    FalsePositive,
}

/// Scores one detection against one scan's truth (its `detections` unused).
pub fn classify(scan: &ScanTruth, d: &Detection, first_nodule: usize) -> Outcome {
    let hit = scan
        .nodules
        .iter()
        .enumerate()
        .filter(|(_, n)| distance(n.center_lps_mm, d.center_lps_mm) <= n.diameter_mm / 2.0)
        .min_by(|a, b| {
            distance(a.1.center_lps_mm, d.center_lps_mm)
                .total_cmp(&distance(b.1.center_lps_mm, d.center_lps_mm))
        });
    if let Some((i, _)) = hit {
        return Outcome::Hit(first_nodule + i);
    }
    let ignored = scan
        .ignored
        .iter()
        .any(|n| distance(n.center_lps_mm, d.center_lps_mm) <= (n.diameter_mm / 2.0).max(1.5));
    if ignored {
        Outcome::Ignored
    } else {
        Outcome::FalsePositive
    }
}

/// Scores detections over several scans.
pub fn froc(scans: &[ScanTruth]) -> Froc {
    let mut events: Vec<(f64, Outcome)> = Vec::new();
    let mut first_nodule = 0;
    for scan in scans {
        for d in &scan.detections {
            events.push((d.confidence, classify(scan, d, first_nodule)));
        }
        first_nodule += scan.nodules.len();
    }
    let total_nodules = first_nodule;
    events.sort_by(|a, b| b.0.total_cmp(&a.0));

    // Sweep the threshold from the most confident detection down; an operating
    // point is taken after each run of equal confidences.
    let mut hit = vec![false; total_nodules];
    let (mut hits, mut false_positives) = (0usize, 0usize);
    // (FP/scan, sensitivity, confidence cut) after each run.
    let mut curve: Vec<(f64, f64, f64)> = vec![(0.0, 0.0, 1.0)];
    let n_scans = scans.len().max(1) as f64;
    let sens = |h: usize| {
        if total_nodules == 0 {
            0.0
        } else {
            h as f64 / total_nodules as f64
        }
    };
    for (i, (confidence, outcome)) in events.iter().enumerate() {
        match outcome {
            Outcome::Hit(n) if !hit[*n] => {
                hit[*n] = true;
                hits += 1;
            }
            Outcome::FalsePositive => false_positives += 1,
            _ => {}
        }
        let last_of_run = events.get(i + 1).is_none_or(|next| next.0 != *confidence);
        if last_of_run {
            curve.push((false_positives as f64 / n_scans, sens(hits), *confidence));
        }
    }
    // The most sensitive point within each rate; of equals, the first reached
    // (the highest cut).
    let best_within = |rate: f64| {
        curve
            .iter()
            .filter(|p| p.0 <= rate)
            .fold(
                (0.0, 0.0, 1.0),
                |best, p| if p.1 > best.1 { *p } else { best },
            )
    };
    let points: Vec<(f64, (f64, f64, f64))> = FP_RATES
        .iter()
        .map(|&rate| (rate, best_within(rate)))
        .collect();
    let sensitivity_at: Vec<(f64, f64)> = points.iter().map(|(r, p)| (*r, p.1)).collect();
    let confidence_at: Vec<(f64, f64)> = points.iter().map(|(r, p)| (*r, p.2)).collect();
    let cpm = sensitivity_at.iter().map(|(_, s)| s).sum::<f64>() / FP_RATES.len() as f64;
    let (fp_at_max, max_sensitivity, _) = best_within(f64::INFINITY);
    Froc {
        scans: scans.len(),
        nodules: total_nodules,
        sensitivity_at,
        confidence_at,
        cpm,
        max_sensitivity,
        fp_per_scan_at_max: fp_at_max,
    }
}

/// The most confident hit on each counted nodule, numbered over `scans` in
/// order as [`froc`] numbers them; `None` where no detection hits it. A
/// nodule counts as found at an operating point whose sensitivity is above 0
/// when this is at least the point's confidence cut.
pub fn best_hits(scans: &[ScanTruth]) -> Vec<Option<f64>> {
    let mut best = Vec::new();
    for scan in scans {
        let first = best.len();
        best.resize(first + scan.nodules.len(), None);
        for d in &scan.detections {
            if let Outcome::Hit(i) = classify(scan, d, first) {
                let b: &mut Option<f64> = &mut best[i];
                *b = Some(b.map_or(d.confidence, |c| c.max(d.confidence)));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodule(x: f64, d: f64) -> TruthNodule {
        TruthNodule {
            center_lps_mm: [x, 0.0, 0.0],
            diameter_mm: d,
        }
    }
    fn det(x: f64, c: f64) -> Detection {
        Detection {
            center_lps_mm: [x, 0.0, 0.0],
            confidence: c,
        }
    }

    #[test]
    fn perfect_detector_has_cpm_one() {
        let scan = ScanTruth {
            nodules: vec![nodule(0.0, 10.0), nodule(50.0, 6.0)],
            ignored: vec![],
            detections: vec![det(1.0, 0.9), det(51.0, 0.8)],
        };
        let f = froc(&[scan]);
        assert_eq!(f.nodules, 2);
        assert!((f.cpm - 1.0).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn radius_duplicates_ignored_regions_and_false_positives() {
        let scan = ScanTruth {
            nodules: vec![nodule(0.0, 10.0), nodule(100.0, 4.0)],
            ignored: vec![nodule(200.0, 2.0)],
            detections: vec![
                det(0.0, 0.99),   // hit
                det(2.0, 0.98),   // second hit on the same nodule: neither
                det(200.5, 0.97), // inside an ignored finding: neither
                det(300.0, 0.5),  // false positive
                det(103.0, 0.4),  // 3 mm from a 4 mm nodule: outside its radius, FP
            ],
        };
        let f = froc(&[scan]);
        // Before the FP at 0.5: 1 of 2 nodules at 0 FP; the rest are FPs.
        assert_eq!(f.sensitivity_at[0], (0.125, 0.5));
        assert_eq!(f.max_sensitivity, 0.5);
        assert!((f.cpm - 0.5).abs() < 1e-12);
    }

    #[test]
    fn best_hits_at_the_cut_are_the_nodules_the_froc_counts() {
        let scans = [
            ScanTruth {
                nodules: vec![nodule(0.0, 10.0), nodule(100.0, 4.0), nodule(6.0, 6.0)],
                ignored: vec![nodule(200.0, 2.0)],
                detections: vec![
                    det(0.5, 0.4),    // on the first nodule
                    det(5.0, 0.9),    // within both radii, nearer the third (1 mm): the third's
                    det(300.0, 0.8),  // false positive
                    det(200.5, 0.95), // ignored
                    det(103.0, 0.7),  // outside the 4 mm nodule: false positive
                ],
            },
            ScanTruth {
                nodules: vec![nodule(0.0, 8.0)],
                ignored: vec![],
                detections: vec![det(40.0, 0.6), det(0.0, 0.3), det(1.0, 0.2)],
            },
        ];
        let best = best_hits(&scans);
        assert_eq!(best, [Some(0.4), None, Some(0.9), Some(0.3)]);
        let f = froc(&scans);
        for (rate, cut) in &f.confidence_at {
            let sensitivity = f.sensitivity_at.iter().find(|(r, _)| r == rate).unwrap().1;
            let found = best
                .iter()
                .filter(|b| sensitivity > 0.0 && b.is_some_and(|c| c >= *cut))
                .count();
            assert_eq!(
                found as f64 / 4.0,
                sensitivity,
                "at {rate} FP/scan, cut {cut}"
            );
        }
    }

    #[test]
    fn fp_rate_is_per_scan() {
        // Two scans, each with one nodule found after one FP.
        let scan = |x: f64| ScanTruth {
            nodules: vec![nodule(x, 8.0)],
            ignored: vec![],
            detections: vec![det(x + 40.0, 0.9), det(x, 0.5)],
        };
        let f = froc(&[scan(0.0), scan(10.0)]);
        // Both nodules need both FPs: 1 FP per scan.
        assert_eq!(f.sensitivity_at[2], (0.5, 0.0));
        assert_eq!(f.sensitivity_at[3], (1.0, 1.0));
        // The cut that reaches it keeps the nodules' 0.5; below 1 FP per
        // scan nothing is found, and no cut is needed.
        assert_eq!(f.confidence_at[3], (1.0, 0.5));
        assert_eq!(f.confidence_at[2], (0.5, 1.0));
    }
}
