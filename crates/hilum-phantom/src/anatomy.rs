//! The analytic chest: every organ is a function of the patient position (LPS
//! mm). The shapes vary with the seed within a normal adult range.

use crate::rng::Rng;
use crate::structures::{Tube, TubeKind};
use hilum_core::Lobe;

pub type P3 = [f32; 3];

/// Hounsfield values of the tissues drawn.
pub mod hu {
    pub const AIR: f32 = -1000.0;
    pub const LUNG: f32 = -850.0;
    pub const FAT: f32 = -95.0;
    pub const MUSCLE: f32 = 45.0;
    pub const BLOOD: f32 = 42.0;
    pub const LIVER: f32 = 58.0;
    pub const CSF: f32 = 12.0;
    pub const CORTICAL_BONE: f32 = 850.0;
    pub const CANCELLOUS_BONE: f32 = 230.0;
    pub const CARTILAGE: f32 = 140.0;
    pub const DISC: f32 = 85.0;
    pub const TABLE: f32 = 300.0;
    pub const FOAM: f32 = -780.0;
    pub const AIRWAY_WALL: f32 = 35.0;
    pub const FISSURE: f32 = -640.0;
}

#[derive(Clone, Copy, Debug)]
pub struct Lung {
    /// −1 for the right lung (patient right is −x), +1 for the left.
    pub side: f32,
    pub cx: f32,
    pub cy: f32,
    pub lateral: f32,
    pub medial: f32,
    /// Medial half-axis above the hilum, where the lung wraps around the
    /// great vessels (which then indent it) instead of stopping short of them.
    pub medial_above_hilum: f32,
    pub anterior: f32,
    pub posterior: f32,
    /// Height of the diaphragm dome's top.
    pub dome_z: f32,
}

#[derive(Clone, Debug)]
pub struct Anatomy {
    pub body_a: f32,
    pub body_b: f32,
    pub fat: f32,
    pub apex_z: f32,
    pub base_z: f32,
    pub lungs: [Lung; 2],
    pub heart_c: P3,
    pub heart_r: P3,
    pub hilum_z: f32,
    pub carina_z: f32,
    pub spine_y: f32,
    pub rib_top_z: f32,
    pub rib_pitch: f32,
    pub table_y: f32,
    /// Heart and vessels, HU: [`hu::BLOOD`] unless contrast raises it.
    pub blood_hu: f32,
    /// How far (mm) the heart's walls stand out in the slice plane beyond
    /// their resting place: 0 but while a slice of a beating heart is drawn.
    pub heart_beat: f32,
    /// The aorta, the superior vena cava and the trachea: drawn as tubes, and
    /// the lungs' medial surfaces curve around them.
    pub mediastinum: Vec<Tube>,
}

impl Anatomy {
    /// A chest whose lungs fill most of `z_extent` mm below z = 0.
    pub fn new(rng: &mut Rng, z_extent: f32) -> Self {
        let scale = rng.range(0.92, 1.08);
        let body_a = 158.0 * scale;
        let body_b = 112.0 * scale * rng.range(0.95, 1.05);
        let apex_z = -18.0;
        let height = (z_extent - 45.0).clamp(120.0, 255.0) * rng.range(0.93, 1.0);
        let base_z = apex_z - height;
        let lung = |side: f32, rng: &mut Rng| Lung {
            side,
            cx: side * 70.0 * scale,
            cy: 4.0,
            lateral: 66.0 * scale * rng.range(0.95, 1.05),
            medial: 40.0 * scale,
            medial_above_hilum: 62.0 * scale,
            anterior: 68.0 * scale,
            posterior: 80.0 * scale * rng.range(0.95, 1.05),
            // The right dome sits higher, over the liver.
            dome_z: base_z + if side < 0.0 { 14.0 } else { 0.0 },
        };
        let lungs = [lung(-1.0, rng), lung(1.0, rng)];
        let hilum_z = apex_z - 0.45 * height;
        let mut anatomy = Self {
            mediastinum: Vec::new(),
            body_a,
            body_b,
            fat: rng.range(8.0, 18.0),
            apex_z,
            base_z,
            lungs,
            heart_c: [18.0, -28.0, base_z + 0.2 * height],
            heart_r: [56.0 * scale, 46.0 * scale, 0.24 * height],
            hilum_z,
            carina_z: apex_z - 0.36 * height,
            spine_y: body_b - 44.0,
            rib_top_z: apex_z + 8.0,
            rib_pitch: height / 10.5,
            table_y: body_b + 1.5,
            blood_hu: hu::BLOOD,
            heart_beat: 0.0,
        };
        anatomy.mediastinum = anatomy.mediastinal_tubes();
        anatomy
    }

    /// The aorta (ascending, arch, descending beside the spine), the superior
    /// vena cava into the heart and the trachea.
    fn mediastinal_tubes(&self) -> Vec<Tube> {
        let t = |a: P3, b: P3, ra: f32, rb: f32, kind| Tube { a, b, ra, rb, kind };
        let heart_top = self.heart_top();
        let arch_z = self.carina_z + 22.0;
        let aorta_y = self.spine_y - 26.0;
        vec![
            t(
                [8.0, -22.0, heart_top - 20.0],
                [8.0, -22.0, arch_z],
                15.0,
                14.0,
                TubeKind::Vessel,
            ),
            t(
                [8.0, -22.0, arch_z],
                [20.0, 12.0, arch_z + 10.0],
                14.0,
                13.0,
                TubeKind::Vessel,
            ),
            t(
                [20.0, 12.0, arch_z + 10.0],
                [24.0, aorta_y, arch_z],
                13.0,
                12.5,
                TubeKind::Vessel,
            ),
            t(
                [24.0, aorta_y, arch_z],
                [20.0, aorta_y - 4.0, self.base_z - 60.0],
                12.5,
                11.0,
                TubeKind::Vessel,
            ),
            t(
                [-22.0, -18.0, self.apex_z + 10.0],
                [-22.0, -16.0, heart_top - 25.0],
                10.0,
                10.0,
                TubeKind::Vessel,
            ),
            t(
                [0.0, -14.0, self.apex_z + 40.0],
                [0.0, -2.0, self.carina_z],
                9.5,
                9.0,
                TubeKind::Airway,
            ),
        ]
    }

    /// Top of the heart (mm), where the great vessels leave it.
    pub fn heart_top(&self) -> f32 {
        self.heart_c[2] + self.heart_r[2] * 0.7
    }

    /// 0 up to 5 mm above the hilum, 1 from 25 mm above it: how far the lungs'
    /// medial surfaces reach towards the vena cava and the aorta. Lower down,
    /// where the pulmonary arteries and the bronchi run, they stop short of the
    /// mediastinum, as before.
    fn above_hilum(&self, z: f32) -> f32 {
        let t = ((z - (self.hilum_z + 5.0)) / 20.0).clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    }

    /// Relative height in the lung: 0 at the dome, 1 at the apex.
    fn lung_height(&self, z: f32) -> f32 {
        ((z - self.base_z) / (self.apex_z - self.base_z)).clamp(0.0, 1.0)
    }

    /// How far inside lung `l` the point is: > 0 inside, roughly in mm near the
    /// boundary. Organs that push into the lungs are subtracted here.
    pub fn lung_depth(&self, l: &Lung, p: P3) -> f32 {
        let [x, y, z] = p;
        let t = self.lung_height(z);
        let s = (1.0 - t.powf(2.2)).max(0.0).sqrt();
        if s <= 0.02 {
            return -10.0;
        }
        let dx = (x - l.cx) * l.side;
        let dy = y - l.cy;
        let a = if dx > 0.0 {
            l.lateral * s
        } else {
            // Above the hilum the medial surface narrows less towards the
            // apex, so it reaches the vena cava and the aorta.
            let w = self.above_hilum(z);
            l.medial * s * (1.0 - w) + l.medial_above_hilum * s.sqrt() * w
        };
        let b = if dy > 0.0 { l.posterior } else { l.anterior } * s;
        let e = ((dx / a).powi(2) + (dy / b).powi(2)).sqrt();
        let mut depth = (1.0 - e) * a.min(b);
        // Diaphragm: a dome, lower at the periphery (the costophrenic recesses).
        let r2 = (dx / 70.0).powi(2) + (dy / 85.0).powi(2);
        let floor = l.dome_z + 30.0 * (1.0 - r2) - 12.0 * (dy / 80.0).max(0.0);
        depth = depth.min(z - floor);
        // The heart and the spine indent the lungs.
        depth = depth.min(self.heart_depth(p).mul_add(-1.0, -3.0));
        let spine_d = ((x).powi(2) + (y - self.spine_y).powi(2)).sqrt() - 32.0;
        depth = depth.min(spine_d);
        // The great vessels bulge into the lungs' medial surfaces, the lung
        // directly on the vessel (its pleura too thin to draw); the trachea
        // keeps its wall and a little fat. Only near the medial surfaces:
        // further out the depth is already too low to draw or place anything.
        if depth > -4.0 && x.abs() < 60.0 {
            for tube in &self.mediastinum {
                let (d, r) = tube.distance(p);
                let margin = if tube.kind == TubeKind::Airway {
                    4.0
                } else {
                    0.5
                };
                depth = depth.min(d - r - margin);
            }
        }
        depth
    }

    /// The larger of the two lungs' depths at `p`.
    pub fn max_lung_depth(&self, p: P3) -> f32 {
        self.lungs
            .iter()
            .map(|l| self.lung_depth(l, p))
            .fold(f32::MIN, f32::max)
    }

    /// Which lung contains `p`, if any.
    pub fn lung_at(&self, p: P3) -> Option<&Lung> {
        self.lungs.iter().find(|l| self.lung_depth(l, p) > 0.0)
    }

    /// > 0 inside the heart (mm-ish).
    pub fn heart_depth(&self, p: P3) -> f32 {
        let radii = [
            self.heart_r[0] + self.heart_beat,
            self.heart_r[1] + self.heart_beat,
            self.heart_r[2],
        ];
        let e: f32 = (0..3)
            .map(|i| ((p[i] - self.heart_c[i]) / radii[i]).powi(2))
            .sum::<f32>()
            .sqrt();
        (1.0 - e) * radii[0].min(radii[1])
    }

    /// Lobe by the fissures: the oblique fissure rises towards the back; on the
    /// right, the horizontal fissure sets the middle lobe apart anteriorly.
    pub fn lobe(&self, l: &Lung, p: P3) -> Lobe {
        let lower = self.oblique_fissure(p) < 0.0;
        match (l.side < 0.0, lower) {
            (true, true) => Lobe::RLL,
            (true, false) if self.horizontal_fissure(p) < 0.0 => Lobe::RML,
            (true, false) => Lobe::RUL,
            (false, true) => Lobe::LLL,
            (false, false) => Lobe::LUL,
        }
    }

    /// Signed distance (mm) to the oblique fissure; < 0 in the lower lobe.
    pub fn oblique_fissure(&self, p: P3) -> f32 {
        // Plane z = hilum_z − 10 + 0.9·y, normalised.
        (p[2] - (self.hilum_z - 10.0 + 0.9 * p[1])) / 1.345
    }

    /// Signed distance to the horizontal fissure; < 0 below it. Only meaningful
    /// anterior to the oblique fissure in the right lung.
    pub fn horizontal_fissure(&self, p: P3) -> f32 {
        p[2] - (self.hilum_z + 4.0)
    }

    /// The tissue everywhere except lungs, vessels, airways and nodules.
    pub fn background(&self, p: P3) -> f32 {
        let [x, y, z] = p;
        let e = ((x / self.body_a).powi(2) + (y / self.body_b).powi(2)).sqrt();
        let inside = (1.0 - e) * self.body_b;
        if inside < 0.0 {
            return self.table(x, y);
        }
        if inside < self.fat {
            return hu::FAT;
        }
        if let Some(bone) = self.bone(p, inside) {
            return bone;
        }
        let below_diaphragm = self
            .lungs
            .iter()
            .all(|l| z < l.dome_z + 30.0 - 0.004 * (x - l.cx).powi(2));
        if self.heart_depth(p) > 0.0 {
            return self.blood_hu;
        }
        if inside < self.fat + 22.0 {
            return hu::MUSCLE;
        }
        if below_diaphragm {
            return if x < 15.0 { hu::LIVER } else { 38.0 };
        }
        // Paraspinal muscles, then mediastinal fat.
        if y > self.spine_y - 20.0 {
            hu::MUSCLE
        } else {
            -85.0
        }
    }

    fn table(&self, x: f32, y: f32) -> f32 {
        let top = self.table_y + 0.0003 * x * x;
        if x.abs() > 190.0 || y < top {
            hu::AIR
        } else if y < top + 4.0 {
            hu::TABLE
        } else if y < top + 34.0 {
            hu::FOAM
        } else if y < top + 37.0 {
            hu::TABLE
        } else {
            hu::AIR
        }
    }

    /// Spine, ribs and sternum.
    fn bone(&self, p: P3, inside: f32) -> Option<f32> {
        let [x, y, z] = p;
        // Vertebral body with intervertebral discs.
        let r = (x * x + (y - self.spine_y).powi(2)).sqrt();
        if r < 17.0 {
            let level = (z - self.rib_top_z) / self.rib_pitch;
            let disc = (level - level.round()).abs() * self.rib_pitch < 3.0;
            return Some(if disc {
                hu::DISC
            } else if r > 15.0 {
                hu::CORTICAL_BONE
            } else {
                hu::CANCELLOUS_BONE
            });
        }
        // Spinal canal and the posterior arch with its spinous process.
        let canal_y = self.spine_y + 27.0;
        let rc = (x * x + (y - canal_y).powi(2)).sqrt();
        if rc < 8.0 {
            return Some(hu::CSF);
        }
        if (rc < 14.0 && y > canal_y - 4.0) || (x.abs() < 4.0 && y > canal_y && y < canal_y + 34.0)
        {
            return Some(500.0);
        }
        // Sternum, in the upper two thirds of the chest.
        let sternum_y = -self.body_b + self.fat + 24.0;
        if x.abs() < 14.0 && (y - sternum_y).abs() < 5.0 && z > self.hilum_z - 70.0 {
            return Some(if x.abs() > 12.0 || (y - sternum_y).abs() > 3.5 {
                hu::CORTICAL_BONE
            } else {
                hu::CANCELLOUS_BONE
            });
        }
        // Ribs: twelve bands around the cage, each descending ~45 mm from the
        // spine to the front, ending in cartilage.
        let cage_inside = inside - (self.fat + 10.0);
        if cage_inside.abs() < 4.0 {
            let theta = x.atan2(y).abs(); // 0 at the back, π at the front
            if theta > 0.25 && theta < 2.75 {
                let z_on_rib = z + 45.0 * theta / std::f32::consts::PI - self.rib_top_z;
                let k = -z_on_rib / self.rib_pitch;
                if k > -0.5 && k < 11.5 {
                    let dz = (k - k.round()) * self.rib_pitch;
                    let q = (dz / 5.5).powi(2) + (cage_inside / 4.0).powi(2);
                    if q < 1.0 {
                        return Some(if theta > 2.35 {
                            hu::CARTILAGE
                        } else if q > 0.45 {
                            hu::CORTICAL_BONE
                        } else {
                            hu::CANCELLOUS_BONE + 60.0
                        });
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Above the hilum the right lung reaches the superior vena cava and curves
    /// around it, as on a real scan; no lung is drawn inside the vessel.
    #[test]
    fn the_right_lung_wraps_the_vena_cava_above_the_hilum() {
        for seed in 0..6 {
            let a = Anatomy::new(&mut Rng::new(seed), 299.0);
            let right = &a.lungs[0];
            let svc = a
                .mediastinum
                .iter()
                .find(|t| t.kind == TubeKind::Vessel && t.a[0] < 0.0)
                .expect("the vena cava, the one vessel right of the midline");
            let mut closest = f32::MAX;
            for step in 0..8 {
                let z = a.hilum_z + 25.0 + 5.0 * step as f32;
                let (axis_x, axis_y) = (svc.a[0], svc.a[1]);
                let (_, r) = svc.distance([axis_x, axis_y, z]);
                let inside = (0..20).map(|i| axis_x - r * i as f32 / 20.0);
                assert!(
                    inside
                        .clone()
                        .all(|x| a.lung_depth(right, [x, axis_y, z]) <= 0.0),
                    "seed {seed}: lung inside the vena cava at z {z}"
                );
                let gap = (0..400)
                    .map(|i| 0.1 * i as f32)
                    .find(|g| a.lung_depth(right, [axis_x - r - g, axis_y, z]) > 0.0);
                if let Some(g) = gap {
                    closest = closest.min(g);
                }
            }
            assert!(
                closest <= 1.5,
                "seed {seed}: lung {closest} mm from the vena cava"
            );
        }
    }
}
