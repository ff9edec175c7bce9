//! 3D non-maximum suppression: of detections closer than the larger of their
//! radii (at least `min_mm`), only the most confident is kept.

/// Indices of the kept detections, most confident first.
pub fn nms(centres: &[[f64; 3]], radii: &[f64], scores: &[f64], min_mm: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..centres.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let clear = kept.iter().all(|&k| {
            let d = (0..3)
                .map(|a| (centres[i][a] - centres[k][a]).powi(2))
                .sum::<f64>()
                .sqrt();
            d >= radii[i].max(radii[k]).max(min_mm)
        });
        if clear {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_best_of_overlapping_detections() {
        let centres = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [20.0, 0.0, 0.0]];
        let kept = super::nms(&centres, &[5.0, 5.0, 3.0], &[0.5, 0.9, 0.7], 4.0);
        assert_eq!(kept, vec![1, 2]);
    }
}
