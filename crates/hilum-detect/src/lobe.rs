//! Lobe by position within the lung, since Hilum does not segment fissures.
//!
//! Side: patient right or left of the lungs' midline. Within a lung, relative
//! height h (0 at the base, 1 at the apex) and depth d (0 anterior, 1
//! posterior): the oblique fissure is taken as the plane h = 0.25 + 0.6·d
//! (it runs from the lower quarter in front up to the upper sixth at the
//! back); below it is the lower lobe. On the right, the middle lobe is what
//! lies above the oblique fissure, below h = 0.55 and in the front 35 %. The
//! constants were fitted (a grid search) to the phantoms' lobes on seeds
//! 2000–2019, with the extents of the lung mask that excludes the airways
//! and mediastinum.
//! This is an approximation: its accuracy on phantoms is reported by
//! `hilum eval`, and a nodule near a fissure can be assigned to the wrong lobe.

use hilum_core::Lobe;

/// The extent of one lung in patient coordinates.
#[derive(Clone, Copy, Debug)]
pub struct LungExtent {
    pub z_min: f64,
    pub z_max: f64,
    pub y_min: f64,
    pub y_max: f64,
}

pub fn lobe_at(right_side: bool, extent: &LungExtent, lps: [f64; 3]) -> Lobe {
    let h = ((lps[2] - extent.z_min) / (extent.z_max - extent.z_min).max(1.0)).clamp(0.0, 1.0);
    let d = ((lps[1] - extent.y_min) / (extent.y_max - extent.y_min).max(1.0)).clamp(0.0, 1.0);
    let lower = h < 0.25 + 0.6 * d;
    match (right_side, lower) {
        (true, true) => Lobe::RLL,
        (true, false) if h < 0.55 && d < 0.35 => Lobe::RML,
        (true, false) => Lobe::RUL,
        (false, true) => Lobe::LLL,
        (false, false) => Lobe::LUL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_lobes() {
        let e = LungExtent {
            z_min: -250.0,
            z_max: -20.0,
            y_min: -80.0,
            y_max: 90.0,
        };
        // Apex: upper lobes; posterior base: lower lobes; anterior mid: middle lobe.
        assert_eq!(lobe_at(true, &e, [-70.0, 0.0, -40.0]), Lobe::RUL);
        assert_eq!(lobe_at(false, &e, [70.0, 0.0, -40.0]), Lobe::LUL);
        assert_eq!(lobe_at(true, &e, [-70.0, 80.0, -200.0]), Lobe::RLL);
        assert_eq!(lobe_at(false, &e, [70.0, 80.0, -200.0]), Lobe::LLL);
        assert_eq!(lobe_at(true, &e, [-70.0, -60.0, -160.0]), Lobe::RML);
    }
}
