//! 3D non-maximum suppression: a detection whose centre lies within the radius
//! (at least `min_mm`) of a more confident one is dropped; among equally
//! confident ones the larger wins. A small blob on a large nodule's rim does
//! not suppress the nodule itself (its centre is outside the blob); the
//! pipeline later folds such rim blobs into the nodule they lie in.

use hilum_core::geometry::{norm, sub};

/// Indices of the kept detections, most confident first.
pub fn nms(centres: &[[f64; 3]], radii: &[f64], scores: &[f64], min_mm: f64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..centres.len()).collect();
    order.sort_by(|&a, &b| {
        scores[b]
            .total_cmp(&scores[a])
            .then(radii[b].total_cmp(&radii[a]))
    });
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let clear = kept
            .iter()
            .all(|&k| norm(sub(centres[i], centres[k])) >= radii[k].max(min_mm));
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

    #[test]
    fn equal_confidence_keeps_the_larger() {
        // A 12 mm-radius blob and a rim blob 8 mm from its centre, both certain.
        let centres = [[8.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
        let kept = super::nms(&centres, &[2.0, 12.0], &[1.0, 1.0], 4.0);
        assert_eq!(kept, vec![1]);
    }
}
