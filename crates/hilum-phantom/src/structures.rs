//! Tubes (vessels, airways) and nodules: primitives with a bounding box, drawn
//! slice by slice on top of the analytic background.

use crate::anatomy::{hu, Anatomy, Lung, P3};
use crate::rng::Rng;
use hilum_core::{Lobe, NoduleKind};

fn add(a: P3, b: P3) -> P3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
fn sub(a: P3, b: P3) -> P3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn mul(a: P3, s: f32) -> P3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn dot(a: P3, b: P3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: P3, b: P3) -> P3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn unit(a: P3) -> P3 {
    let n = dot(a, a).sqrt().max(1e-6);
    mul(a, 1.0 / n)
}
pub fn dist(a: P3, b: P3) -> f32 {
    let d = sub(a, b);
    dot(d, d).sqrt()
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TubeKind {
    Vessel,
    Airway,
}

/// A tapered capsule from `a` (radius `ra`) to `b` (radius `rb`).
#[derive(Clone, Debug)]
pub struct Tube {
    pub a: P3,
    pub b: P3,
    pub ra: f32,
    pub rb: f32,
    pub kind: TubeKind,
}

impl Tube {
    /// Distance from `p` to the axis and the radius there.
    pub fn distance(&self, p: P3) -> (f32, f32) {
        let ab = sub(self.b, self.a);
        let t = (dot(sub(p, self.a), ab) / dot(ab, ab).max(1e-9)).clamp(0.0, 1.0);
        let q = add(self.a, mul(ab, t));
        (dist(p, q), self.ra + (self.rb - self.ra) * t)
    }
    pub fn bounds(&self) -> (P3, P3) {
        let r = self.ra.max(self.rb) + 2.0;
        let lo = [0, 1, 2].map(|i| self.a[i].min(self.b[i]) - r);
        let hi = [0, 1, 2].map(|i| self.a[i].max(self.b[i]) + r);
        (lo, hi)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attachment {
    Free,
    /// Astride the pleura of the ribs or the mediastinum (the heart's too).
    Pleura,
    /// Astride the pleura on the diaphragm.
    Diaphragm,
    Vessel,
}

#[derive(Clone, Debug)]
pub struct Nodule {
    pub center: P3,
    pub radius: f32,
    pub kind: NoduleKind,
    /// Radius of the solid core of a part-solid nodule.
    pub core_radius: f32,
    pub lobe: Lobe,
    pub attachment: Attachment,
    /// Peak attenuation of the (solid or ground-glass) tissue.
    pub hu: f32,
    /// Gentle lobulation: amplitude and phases.
    pub lobulation: [f32; 3],
}

impl Nodule {
    /// The nodule's outer radius in the direction of `p`.
    pub fn radius_towards(&self, p: P3) -> f32 {
        let d = sub(p, self.center);
        let n = dot(d, d).sqrt().max(1e-6);
        let [amp, ph1, ph2] = self.lobulation;
        let azimuth = d[1].atan2(d[0]);
        let elevation = d[2] / n;
        self.radius
            * (1.0
                + amp
                    * ((3.0 * azimuth + ph1).sin() * (1.0 - elevation * elevation)
                        + 0.5 * (2.0 * elevation + ph2).sin()))
    }
    pub fn bounds(&self) -> (P3, P3) {
        let r = self.radius * 1.2 + 2.0;
        (
            [0, 1, 2].map(|i| self.center[i] - r),
            [0, 1, 2].map(|i| self.center[i] + r),
        )
    }
}

/// Rotates `dir` by `angle` towards a direction perpendicular to it, chosen by `spin`.
fn branch(dir: P3, angle: f32, spin: f32) -> P3 {
    let helper = if dir[2].abs() < 0.9 {
        [0.0, 0.0, 1.0]
    } else {
        [1.0, 0.0, 0.0]
    };
    let u = unit(cross(dir, helper));
    let v = cross(dir, u);
    let perp = add(mul(u, spin.cos()), mul(v, spin.sin()));
    unit(add(mul(dir, angle.cos()), mul(perp, angle.sin())))
}

pub struct TreeGrower<'a> {
    pub anatomy: &'a Anatomy,
    pub kind: TubeKind,
    pub min_radius: f32,
    pub max_segments: usize,
    pub tubes: Vec<Tube>,
}

impl TreeGrower<'_> {
    /// Grows a dichotomous tree: unequal daughters, branching angles of 20–60°,
    /// steered away from `origin` so it fans out into the lung, stopping at the
    /// pleura or below `min_radius`. Radii shrink by ~0.75 a generation, so the
    /// tree thins towards the periphery as a real one does.
    pub fn grow(&mut self, rng: &mut Rng, origin: P3, start: P3, dir: P3, radius: f32) {
        let mut stack = vec![(start, dir, radius, 0u32)];
        while let Some((start, dir, r, depth)) = stack.pop() {
            if self.tubes.len() >= self.max_segments {
                return;
            }
            // Keep the branch in the lung: try the planned direction, then
            // deflected and shorter ones, before giving the branch up.
            let len = r * rng.range(4.0, 6.5) + 3.0;
            let mut chosen = None;
            for attempt in 0..8 {
                let d = if attempt == 0 {
                    dir
                } else {
                    branch(
                        dir,
                        0.25 * attempt as f32,
                        rng.range(0.0, std::f32::consts::TAU),
                    )
                };
                let l = if attempt >= 4 { 0.5 * len } else { len };
                let end = add(start, mul(d, l));
                if depth == 0 || self.anatomy.max_lung_depth(end) > 0.6 * r + 1.0 {
                    chosen = Some((d, end));
                    break;
                }
            }
            let Some((dir, end)) = chosen else { continue };
            let r_end = r * 0.95;
            self.tubes.push(Tube {
                a: start,
                b: end,
                ra: r,
                rb: r_end,
                kind: self.kind,
            });
            if r_end * 0.78 < self.min_radius || depth > 24 {
                continue;
            }
            let outward = unit(sub(end, origin));
            let spin = rng.range(0.0, std::f32::consts::TAU);
            let steer = |d: P3| unit(add(d, mul(outward, 0.25)));
            let major = branch(dir, rng.range(0.3, 0.55), spin);
            let minor = branch(dir, rng.range(0.6, 1.0), spin + std::f32::consts::PI);
            stack.push((end, steer(major), r_end * rng.range(0.8, 0.9), depth + 1));
            stack.push((end, steer(minor), r_end * rng.range(0.6, 0.78), depth + 1));
        }
    }
}

/// All tubes of the chest: great vessels, pulmonary arteries and veins, airways.
pub fn build_tubes(anatomy: &Anatomy, rng: &mut Rng) -> Vec<Tube> {
    let mut tubes = Vec::new();
    // Aorta, superior vena cava, trachea: the anatomy curves the lungs
    // around them.
    tubes.extend(anatomy.mediastinum.iter().cloned());

    for (i, lung) in anatomy.lungs.iter().enumerate() {
        let s = lung.side;
        let mut rng = Rng::stream(rng.next_u64(), i as u64);
        let hilum = [s * 46.0, 2.0, anatomy.hilum_z];
        // Pulmonary artery from the trunk to the hilum.
        tubes.push(Tube {
            a: [4.0, -30.0, anatomy.heart_top()],
            b: hilum,
            ra: 11.0,
            rb: 8.0,
            kind: TubeKind::Vessel,
        });
        let bronchus = [s * 38.0, 8.0, anatomy.hilum_z + 8.0];
        tubes.push(Tube {
            a: [0.0, -2.0, anatomy.carina_z],
            b: bronchus,
            ra: 6.5,
            rb: 5.5,
            kind: TubeKind::Airway,
        });

        let roots: [P3; 7] = [
            [0.25 * s, 0.1, 1.0],
            [0.5 * s, -0.4, 0.8],
            [s, 0.05, 0.15],
            [0.6 * s, 0.8, 0.1],
            [0.35 * s, 0.55, -1.0],
            [0.6 * s, -0.2, -1.0],
            [0.4 * s, -0.75, -0.55],
        ];
        let mut arteries = TreeGrower {
            anatomy,
            kind: TubeKind::Vessel,
            min_radius: 0.45,
            max_segments: 4500,
            tubes: Vec::new(),
        };
        let mut veins = TreeGrower {
            anatomy,
            kind: TubeKind::Vessel,
            min_radius: 0.45,
            max_segments: 3500,
            tubes: Vec::new(),
        };
        let mut airways = TreeGrower {
            anatomy,
            kind: TubeKind::Airway,
            min_radius: 1.1,
            max_segments: 400,
            tubes: Vec::new(),
        };
        let vein_origin = [s * 36.0, 16.0, anatomy.hilum_z - 26.0];
        for root in roots {
            let d = unit(root);
            arteries.grow(&mut rng, hilum, add(hilum, mul(d, 4.0)), d, 4.5);
            let dv = unit(add(root, [0.0, 0.2, -0.2]));
            veins.grow(
                &mut rng,
                vein_origin,
                add(vein_origin, mul(dv, 4.0)),
                dv,
                4.2,
            );
            airways.grow(
                &mut rng,
                bronchus,
                add(bronchus, mul(d, 3.0)),
                unit(add(d, [0.0, 0.15, 0.0])),
                3.8,
            );
        }
        tubes.extend(arteries.tubes);
        tubes.extend(veins.tubes);
        tubes.extend(airways.tubes);
    }
    tubes
}

/// The value of tube `tube` at `p` drawn over `under`; `edge` is the soft-edge
/// width, `blood` the vessels' attenuation.
pub fn draw_tube(tube: &Tube, p: P3, under: f32, edge: f32, blood: f32) -> f32 {
    let (d, r) = tube.distance(p);
    let alpha = |radius: f32| ((radius - d) / edge + 0.5).clamp(0.0, 1.0);
    match tube.kind {
        TubeKind::Vessel => {
            let a = alpha(r);
            under + (blood - under) * a
        }
        TubeKind::Airway => {
            let wall = (0.2 * r).max(0.6);
            let outer = alpha(r);
            let lumen = alpha(r - wall);
            let v = under + (hu::AIRWAY_WALL - under) * outer;
            v + (hu::AIR - v) * lumen
        }
    }
}

/// Kinds and diameters drawn for a phantom's nodules (mm).
fn draw_kind(rng: &mut Rng) -> (NoduleKind, f32) {
    let log_uniform = |rng: &mut Rng, lo: f32, hi: f32| (rng.range(lo.ln(), hi.ln())).exp();
    match rng.below(10) {
        0..=3 => (NoduleKind::Solid, log_uniform(rng, 3.0, 25.0)),
        4..=5 => (NoduleKind::GroundGlass, log_uniform(rng, 5.0, 30.0)),
        6..=7 => (NoduleKind::PartSolid, log_uniform(rng, 8.0, 30.0)),
        _ => (NoduleKind::Calcified, log_uniform(rng, 3.0, 10.0)),
    }
}

/// A vessel at least this share of a nodule's radius wide at the nodule's
/// centre hides it: a nodule and a vessel cannot fill the same voxels, and a
/// small one centred in a vessel is drawn as a widening of it (a ground-glass
/// one not at all), which no reader could call a nodule. A larger nodule with a
/// thin vessel through it is still seen, as in real scans.
pub const HIDING_VESSEL_RADIUS: f32 = 0.5;

/// Whether a nodule of `radius` at `center` lies inside a vessel wide enough to hide it.
pub fn hidden_in_vessel(tubes: &[Tube], center: P3, radius: f32) -> bool {
    tubes
        .iter()
        .filter(|t| t.kind == TubeKind::Vessel)
        .any(|t| {
            let (d, r) = t.distance(center);
            d < r && r >= HIDING_VESSEL_RADIUS * radius
        })
}

/// One pleural nodule in this many is marched straight down rather than
/// outwards: onto the diaphragm, or onto the heart's shoulder where the lung
/// runs over it (`HEART_SHOULDER` tells them apart). On slices of 2 mm or
/// more the dome's top is a faint disc of partial volume, much like ground
/// glass; a nodule sitting on it is what a detector that learns to ignore
/// that disc must still find.
const ON_DIAPHRAGM: usize = 4;

/// How far outside the heart (in `Anatomy::heart_depth`'s units) a nodule
/// marched down onto tissue still lies on the heart's shoulder, not the
/// diaphragm.
const HEART_SHOULDER: f32 = 6.0;

/// Places `count` nodules in the lungs: free in the parenchyma, touching the
/// pleura, or abutting a vessel. Nodules keep 5 mm apart and none is hidden in a
/// vessel.
///
/// All are drawn from `rng` first, without regard to hiding, as before that
/// rule; those hidden are then replaced by nodules drawn from
/// `replacements`. So a seed's scan (whose texture and noise draw from `rng`
/// next) and its other nodules stay what they were.
///
/// A `small_attached_share` above 0 (training phantoms only) redraws that
/// share of the nodules as small ones on a vessel or the pleura
/// ([`draw_small_attached`]); at 0 no draw is spent on it, so every seed's
/// scan is what it always was.
pub fn place_nodules(
    anatomy: &Anatomy,
    tubes: &[Tube],
    rng: &mut Rng,
    replacements: &mut Rng,
    count: usize,
    small_attached_share: f32,
) -> Vec<Nodule> {
    let mut nodules = Vec::new();
    let mix = (count, small_attached_share);
    add_nodules(anatomy, tubes, rng, mix, &mut nodules, false);
    nodules.retain(|n| !hidden_in_vessel(tubes, n.center, n.radius));
    add_nodules(anatomy, tubes, replacements, mix, &mut nodules, true);
    nodules
}

/// The nodules a detector on thick slices misses most: 4–6.5 mm, two in
/// three on a vessel, the others on the pleura. Part-solid ones are drawn as
/// ground glass, a solid part of a millimetre or two being no part a reader
/// could measure. Returns the kind, diameter and site.
fn draw_small_attached(rng: &mut Rng, kind: NoduleKind) -> (NoduleKind, f32, Site) {
    let kind = match kind {
        NoduleKind::PartSolid => NoduleKind::GroundGlass,
        other => other,
    };
    let diameter = rng.range(4.0, 6.5);
    let site = if rng.below(3) == 0 {
        Site::Pleura
    } else {
        Site::Vessel
    };
    (kind, diameter, site)
}

/// Where a nodule is first drawn to go; on the pleura it may end up on the
/// diaphragm ([`on_the_pleura`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Site {
    Free,
    Pleura,
    Vessel,
}

/// A nodule of `radius` astride the pleura, found from `p` inside `lung` by
/// marching outwards until the pleura and stepping back so that it straddles
/// it: in the axial plane to the ribs or the mediastinum, or (one in
/// [`ON_DIAPHRAGM`]) straight down onto the diaphragm, or onto the heart's
/// shoulder where the lung runs over it. Returns its centre and where it sits.
fn on_the_pleura(
    anatomy: &Anatomy,
    lung: &Lung,
    p: P3,
    radius: f32,
    rng: &mut Rng,
) -> (P3, Attachment) {
    let down = rng.below(ON_DIAPHRAGM) == 0;
    let dir = if down {
        [0.0, 0.0, -1.0]
    } else {
        unit([p[0] - lung.cx, p[1] - lung.cy, 0.0])
    };
    let mut q = p;
    while anatomy.lung_depth(lung, q) > 0.0 {
        q = add(q, mul(dir, 0.5));
    }
    // The lung ends 3 mm off the heart, where the heart's depth reads −2 to
    // −3; the diaphragm lies further off.
    let attachment = if down && anatomy.heart_depth(q) < -HEART_SHOULDER {
        Attachment::Diaphragm
    } else {
        Attachment::Pleura
    };
    (sub(q, mul(dir, 0.55 * radius)), attachment)
}

/// A lung nodule lies mostly in lung. One straddling the pleura where it
/// curves (the costophrenic recess around the dome, the heart's shoulder)
/// could otherwise end up mostly in the liver or the heart: seed 10899's
/// 17.8 mm "pleural" nodule had 38 % of itself in lung.
const MIN_SHARE_IN_LUNG: f32 = 0.5;

/// The share of the sphere of `radius` about `center` inside either lung,
/// sampled on a grid of a sixth of the radius.
pub fn share_in_lung(anatomy: &Anatomy, center: P3, radius: f32) -> f32 {
    let step = radius / 6.0;
    let (mut inside, mut all) = (0u32, 0u32);
    for i in -6..=6 {
        for j in -6..=6 {
            for k in -6..=6 {
                let offset = [i as f32 * step, j as f32 * step, k as f32 * step];
                if dist(offset, [0.0; 3]) > radius {
                    continue;
                }
                all += 1;
                inside += u32::from(anatomy.max_lung_depth(add(center, offset)) > 0.0);
            }
        }
    }
    inside as f32 / all as f32
}

/// Adds nodules to `nodules` until there are `count`, each 5 mm from the
/// others and, if `keep_clear`, none hidden in a vessel; `small_attached_share`
/// of them small and attached ([`place_nodules`]).
fn add_nodules(
    anatomy: &Anatomy,
    tubes: &[Tube],
    rng: &mut Rng,
    (count, small_attached_share): (usize, f32),
    nodules: &mut Vec<Nodule>,
    keep_clear: bool,
) {
    let lung_vessels: Vec<&Tube> = tubes
        .iter()
        .filter(|t| t.kind == TubeKind::Vessel && t.ra > 0.8 && t.ra < 3.0)
        .collect();
    let mut attempts = 0;
    while nodules.len() < count && attempts < 20_000 {
        attempts += 1;
        let (kind, diameter) = draw_kind(rng);
        let (kind, diameter, site) =
            if small_attached_share > 0.0 && rng.f32() < small_attached_share {
                draw_small_attached(rng, kind)
            } else {
                let site = match rng.below(4) {
                    0 => Site::Pleura,
                    1 => Site::Vessel,
                    _ => Site::Free,
                };
                (kind, diameter, site)
            };
        let radius = diameter / 2.0;
        let lung = anatomy.lungs[rng.below(2)];
        let placed = match site {
            Site::Free | Site::Pleura => {
                let p = [
                    lung.cx + rng.range(-70.0, 70.0),
                    lung.cy + rng.range(-75.0, 85.0),
                    rng.range(anatomy.base_z, anatomy.apex_z),
                ];
                let depth = anatomy.lung_depth(&lung, p);
                if site == Site::Free {
                    (depth > radius + 3.0).then_some((p, Attachment::Free))
                } else if depth > 0.0 {
                    Some(on_the_pleura(anatomy, &lung, p, radius, rng))
                } else {
                    None
                }
            }
            Site::Vessel if !lung_vessels.is_empty() => {
                let v = lung_vessels[rng.below(lung_vessels.len())];
                let axis = unit(sub(v.b, v.a));
                let on_axis = add(v.a, mul(sub(v.b, v.a), rng.range(0.2, 0.8)));
                let perp = branch(
                    axis,
                    std::f32::consts::FRAC_PI_2,
                    rng.range(0.0, std::f32::consts::TAU),
                );
                let c = add(on_axis, mul(perp, v.ra + 0.6 * radius));
                anatomy
                    .lung_at(c)
                    .filter(|l| anatomy.lung_depth(l, c) > 0.6 * radius)
                    .map(|_| (c, Attachment::Vessel))
            }
            Site::Vessel => None,
        };
        let Some((center, attachment)) = placed else {
            continue;
        };
        let Some(host) = anatomy
            .lung_at(center)
            .or(Some(&lung))
            .filter(|l| anatomy.lung_depth(l, center) > -radius)
        else {
            continue;
        };
        if share_in_lung(anatomy, center, radius) < MIN_SHARE_IN_LUNG {
            continue;
        }
        if nodules
            .iter()
            .any(|n| dist(n.center, center) < n.radius + radius + 5.0)
        {
            continue;
        }
        if keep_clear && hidden_in_vessel(tubes, center, radius) {
            continue;
        }
        let hu = match kind {
            NoduleKind::Solid => rng.range(20.0, 55.0),
            NoduleKind::PartSolid | NoduleKind::GroundGlass => rng.range(-560.0, -420.0),
            NoduleKind::Calcified => rng.range(350.0, 900.0),
        };
        let core_radius = if kind == NoduleKind::PartSolid {
            radius * rng.range(0.3, 0.65)
        } else {
            0.0
        };
        nodules.push(Nodule {
            center,
            radius,
            kind,
            core_radius,
            lobe: anatomy.lobe(host, center),
            attachment,
            hu,
            lobulation: [
                rng.range(0.0, 0.07),
                rng.range(0.0, std::f32::consts::TAU),
                rng.range(0.0, std::f32::consts::TAU),
            ],
        });
    }
}

/// The value of nodule `n` at `p` drawn over `under`. `texture` in [−1, 1] adds
/// the mottled look of ground glass.
pub fn draw_nodule(n: &Nodule, p: P3, under: f32, edge: f32, texture: f32) -> f32 {
    let d = dist(p, n.center);
    let r = n.radius_towards(p);
    let alpha = ((r - d) / edge + 0.5).clamp(0.0, 1.0);
    if alpha <= 0.0 {
        return under;
    }
    let tissue = match n.kind {
        NoduleKind::GroundGlass | NoduleKind::PartSolid => n.hu + 45.0 * texture,
        _ => n.hu,
    };
    let mut v = under + (tissue.max(under) - under) * alpha;
    if n.kind == NoduleKind::PartSolid {
        let core = ((n.core_radius - d) / edge + 0.5).clamp(0.0, 1.0);
        v += (35.0 - v) * core;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vessel_tree_fills_the_lungs_and_thins_towards_the_periphery() {
        let mut rng = Rng::new(1);
        let anatomy = Anatomy::new(&mut rng, 299.0);
        let tubes = build_tubes(&anatomy, &mut rng);
        let vessels: Vec<&Tube> = tubes
            .iter()
            .filter(|t| t.kind == TubeKind::Vessel)
            .collect();
        assert!(vessels.len() > 3000, "{} vessel segments", vessels.len());
        let inside = vessels
            .iter()
            .filter(|t| anatomy.max_lung_depth(t.b) > 0.0)
            .count();
        assert!(inside as f64 > 0.95 * vessels.len() as f64);
        let mean_radius = |near: f32, far: f32| {
            let picked: Vec<f32> = vessels
                .iter()
                .filter(|t| {
                    let hilum = [46.0 * t.a[0].signum(), 2.0, anatomy.hilum_z];
                    let d = dist(t.a, hilum);
                    d >= near && d < far
                })
                .map(|t| t.ra)
                .collect();
            picked.iter().sum::<f32>() / picked.len().max(1) as f32
        };
        let (central, peripheral) = (mean_radius(0.0, 40.0), mean_radius(90.0, 400.0));
        assert!(
            central > 2.0 * peripheral,
            "central {central} mm, peripheral {peripheral} mm"
        );
        assert!(tubes
            .iter()
            .any(|t| t.kind == TubeKind::Airway && t.ra < 2.0));
    }

    /// The anatomy, vessel trees and 12 nodules `generate` draws for a 300 mm scan.
    fn placed(seed: u64) -> (Anatomy, Vec<Tube>, Vec<Nodule>) {
        placed_with(seed, 12, 0.0)
    }

    /// The same with `count` nodules, `small_attached_share` of them small and attached.
    fn placed_with(
        seed: u64,
        count: usize,
        small_attached_share: f32,
    ) -> (Anatomy, Vec<Tube>, Vec<Nodule>) {
        let mut rng = Rng::new(seed);
        let anatomy = Anatomy::new(&mut rng, 299.0);
        let tubes = build_tubes(&anatomy, &mut rng);
        let mut replacements = Rng::stream(seed, crate::REPLACEMENT_NODULE_STREAM);
        let nodules = place_nodules(
            &anatomy,
            &tubes,
            &mut rng,
            &mut replacements,
            count,
            small_attached_share,
        );
        (anatomy, tubes, nodules)
    }

    #[test]
    fn no_nodule_is_hidden_in_a_vessel() {
        let mut on_vessel = 0;
        for seed in 0..6 {
            let (_, tubes, nodules) = placed(seed);
            for n in nodules {
                assert!(
                    !hidden_in_vessel(&tubes, n.center, n.radius),
                    "seed {seed}: a {:.1} mm nodule hidden in a vessel",
                    2.0 * n.radius
                );
                on_vessel += usize::from(n.attachment == Attachment::Vessel);
            }
        }
        assert!(on_vessel >= 12, "{on_vessel} nodules on vessels");
    }

    #[test]
    fn a_small_attached_share_draws_small_nodules_on_vessels_and_the_pleura() {
        let (mut small_attached, mut all) = (0, 0);
        for seed in 0..4 {
            let (_, tubes, nodules) = placed_with(seed, 30, 0.5);
            assert_eq!(nodules.len(), 30, "seed {seed}");
            for n in &nodules {
                let small = (2.0..3.25).contains(&n.radius);
                small_attached += usize::from(small && n.attachment != Attachment::Free);
                assert!(!hidden_in_vessel(&tubes, n.center, n.radius));
                assert_ne!(
                    (small, n.kind),
                    (true, NoduleKind::PartSolid),
                    "seed {seed}: a small part-solid nodule"
                );
            }
            all += nodules.len();
        }
        // Half redrawn, and a few of the usual mix are small and attached too.
        assert!(
            small_attached * 100 >= all * 45,
            "{small_attached} of {all} small and attached"
        );
        // At 0 the draw is the one every held-out set was made with (seed
        // 7's diameters as generator 7 drew them before the share existed).
        let (_, _, unchanged) = placed(7);
        let diameters: Vec<String> = unchanged
            .iter()
            .map(|n| format!("{:.1}", 2.0 * n.radius))
            .collect();
        assert_eq!(
            diameters.join(" "),
            "3.3 8.0 19.9 4.2 5.9 14.3 13.1 5.5 18.2 4.8 3.2 8.4"
        );
    }

    #[test]
    fn every_nodule_lies_mostly_in_lung() {
        // Seed 201 drew a 17.7 mm ground-glass nodule 37 % in lung before
        // the rule; seeds 122 and 173 others.
        for seed in [122, 173, 201, 0, 1, 2, 3] {
            let (anatomy, _, nodules) = placed(seed);
            assert_eq!(nodules.len(), 12, "seed {seed}");
            for n in nodules {
                let share = share_in_lung(&anatomy, n.center, n.radius);
                assert!(share >= 0.5, "seed {seed}: {share} of {n:?}");
            }
        }
    }

    #[test]
    fn some_pleural_nodules_sit_on_the_diaphragm() {
        let (mut on_diaphragm, mut pleural) = (0, 0);
        for seed in 0..6 {
            let (anatomy, _, nodules) = placed(seed);
            for n in nodules {
                if !matches!(n.attachment, Attachment::Pleura | Attachment::Diaphragm) {
                    continue;
                }
                pleural += 1;
                if n.attachment == Attachment::Diaphragm {
                    on_diaphragm += 1;
                    // Lung above it, the pleura just below its centre, and no
                    // heart beneath (the heart's shoulder is mediastinal pleura).
                    let at = |dz: f32| add(n.center, [0.0, 0.0, dz]);
                    assert!(anatomy.max_lung_depth(at(n.radius)) > 0.0, "{n:?}");
                    assert!(anatomy.max_lung_depth(at(-0.6 * n.radius)) <= 0.0, "{n:?}");
                    assert!(anatomy.heart_depth(at(-n.radius - 5.0)) < 0.0, "{n:?}");
                }
            }
        }
        assert!(
            on_diaphragm >= 3 && on_diaphragm * 2 < pleural,
            "{on_diaphragm} of {pleural} pleural nodules on the diaphragm"
        );
    }
}
