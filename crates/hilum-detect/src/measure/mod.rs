//! Measuring a nodule on the original voxels around it: segmentation by region
//! growing from the centre, long and short axis on the axial slice of largest
//! area (as Lung-RADS measures), mean diameter, volume, and kind from attenuation.

mod beside_tissue;
mod calcification;
mod fat;
mod rays;
mod region;
mod shape;
#[cfg(test)]
mod tests;
mod voxel_set;

pub use beside_tissue::measure_beside_tissue;
use calcification::{calcification_in_lung, dense_runs_on};
use fat::{interior_median_hu, without_fat, FAT_HU};
use region::{segment, Region, MAX_REACH_MM};
use shape::{elongation, largest_piece, largest_slice_axes, MAX_ROUND_ELONGATION};
use voxel_set::VoxelSet;

use hilum_core::geometry::norm;
use hilum_core::{NoduleKind, Volume};

#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    pub long_axis_mm: f64,
    pub short_axis_mm: f64,
    /// (long + short) / 2, as Lung-RADS defines it.
    pub mean_diameter_mm: f64,
    pub volume_mm3: f64,
    pub kind: NoduleKind,
    /// The kind attenuation alone gives, before a solid part's shape is asked
    /// for (part-solid wherever a tenth to four fifths of it is solid): what
    /// the rescorer was fitted on and reads.
    pub attenuation_kind: NoduleKind,
    /// Mean diameter of the solid part (the whole nodule when solid or calcified).
    pub solid_diameter_mm: Option<f64>,
    /// Slice (volume index) of the largest axial area.
    pub slice_index: usize,
    pub mean_hu: f64,
}

/// Attenuation of tissue counted as solid, HU.
const SOLID_HU: i16 = -300;
/// Attenuation of calcification, HU.
const CALCIFIED_HU: i16 = 200;
/// Edge of a ground-glass halo, HU: halfway between typical ground glass
/// (about −500) and aerated lung.
const GGO_EDGE_HU: i16 = -675;
/// Aerated lung, HU: the reference the segmentation threshold is set against.
const LUNG_HU: f64 = -850.0;
/// A 3 mm sphere, mm³: the smallest nodule that counts, and so the smallest
/// calcification measured on its own and the smallest solid part of a
/// part-solid nodule. A few noisy voxels above 200 HU in a vessel of a real
/// scan are not a calcified nodule (on LIDC-IDRI-0001 they became 3–4 mm
/// "calcified nodules" at confidence ≥ 0.9); the cross-section of a vessel
/// running through ground glass is not its solid part (1–6 voxels of 1.3 mm³
/// on tuning phantoms 3000–3007, against 19 or more for the solid parts).
const SMALLEST_NODULE_MM3: f64 = 14.1;
/// Share of a solid part's voxels that must lie where its own edge was seen.
/// A vessel running through ground glass, grown at the solid threshold, runs
/// on beyond the nodule and is cut there, so much of it lies towards a cut;
/// a solid part is seen all round. Measured at the cores of seeds 8175, 8176
/// and 8179: solid parts 0.79–1.00, vessels in ground glass 0.36–0.45 (with
/// a 3 mm sphere's volume, these made 8–15 mm ground-glass nodules
/// part-solid); a 3 mm vessel through ground glass on 0.5 mm voxels, 0.65
/// (rays within about 60° of its axis are cut, the rest end on its side).
const SOLID_PART_OWN_SHARE: f64 = 0.7;
/// Share of a ground-glass halo's voxels that must lie where its own edge was
/// seen for it to stand as measured: a halo refused with less is grown again
/// with a reach [`HALO_REACH_GROWTH`] times longer, and the regrown one is
/// kept only with at least this share (one that runs on into a vessel or
/// wall stays cut, and refused).
const HALO_OWN_SHARE: f64 = 0.5;
/// How much longer the reach of a halo grown again is.
const HALO_REACH_GROWTH: f64 = 1.6;
/// Thickest slices on which a solid part found by attenuation is judged by
/// the elongation of a round part ([`MAX_ROUND_ELONGATION`]), mm. On thicker
/// slices a small round part spans a slice or two and reads longer, and
/// only a piece elongated beyond [`MAX_THICK_SLICE_ELONGATION`] is a tube.
const MAX_SLICE_MM_FOR_SHAPE: f64 = 2.0;
/// Most elongation a solid part found by attenuation may have on slices
/// thicker than [`MAX_SLICE_MM_FOR_SHAPE`]: on 2.5 mm slices (tuning
/// 9000–9019 and held-out 9140–9179) 5 of 21 ground-glass nodules called
/// part-solid this way had pieces beyond it (lengths of vessel), and 2 of 52
/// part-solid nodules.
const MAX_THICK_SLICE_ELONGATION: f64 = 3.0;

/// Share of a region's voxels that lie where its own edge was seen.
fn own_share(region: &Region) -> f64 {
    let own = region.own.iter().filter(|&&o| o).count();
    own as f64 / region.own.len().max(1) as f64
}

/// The solid part of a part-solid nodule within its `core`: the core's voxels
/// at least halfway between its own attenuation and the ground glass around
/// it, as one piece. The core is outlined halfway to aerated lung so that it
/// can be found at all; measured there it takes in the blur into the ground
/// glass (solid parts came out 0.46–0.58 mm larger than drawn on average on
/// four sets, the main cause of category 3 raised to 4A). Never wider than
/// `core_threshold`'s outline.
fn solid_part_within(
    v: &Volume,
    core: &Region,
    halo: &Region,
    core_threshold: i16,
) -> Vec<[usize; 3]> {
    let hu_at = |p: &[usize; 3]| v.get(p[0], p[1], p[2]);
    let solid_hu = f64::from(core_attenuation(v, core)).min(100.0);
    let in_core = VoxelSet::of(&core.voxels);
    let mut glass_hu: Vec<i16> = halo
        .voxels
        .iter()
        .zip(&halo.own)
        .filter(|(p, &own)| own && !in_core.contains(**p))
        .map(|(p, _)| hu_at(p))
        .collect();
    if glass_hu.is_empty() {
        return core.voxels.clone();
    }
    glass_hu.sort_unstable();
    let glass_hu = f64::from(glass_hu[glass_hu.len() / 2]);
    let threshold = (((solid_hu + glass_hu) / 2.0).round() as i16).max(core_threshold);
    let solid: Vec<[usize; 3]> = core
        .voxels
        .iter()
        .copied()
        .filter(|p| hu_at(p) >= threshold)
        .collect();
    let piece = largest_piece(&solid);
    if piece.is_empty() {
        core.voxels.clone()
    } else {
        piece
    }
}

/// A core's attenuation: an upper quantile of its voxels, not the mean, since
/// the core's own rim is half blur.
fn core_attenuation(v: &Volume, core: &Region) -> i16 {
    let mut hu: Vec<i16> = core
        .voxels
        .iter()
        .map(|p| v.get(p[0], p[1], p[2]))
        .collect();
    hu.sort_unstable();
    hu[hu.len() * 3 / 4]
}

/// Measures the nodule around `centre` (volume voxel, fractional) whose radius
/// is about `radius_mm`, and finds its centroid (volume voxel): seeds anywhere
/// on one nodule give about the same centroid, so duplicate detections of a
/// large nodule meet there. `None` when nothing nodule-like is there, when
/// it is fat ([`FAT_HU`]), and, when the scan is `enhanced` (contrast in the
/// blood), when it is a dense tube: an enhanced vessel or contrast in a vein.
///
/// A blob filter's centre for a large nodule can lie on its rim, from where
/// the region may run on into the chest wall the nodule touches. When the
/// centroid lies well away from where the measurement started, the nodule is
/// measured again from the centroid, and that is kept if it is no larger and
/// of the same kind: what leaked is then left out (a 22.9 mm nodule on the
/// chest wall of the demo study, seeded 1.4 mm outside its edge: 30.6 mm,
/// then 24.1 mm). A measurement that still does not hold `centre` within its
/// radius is retried with larger reaches.
pub fn measure(
    v: &Volume,
    centre: [f64; 3],
    radius_mm: f64,
    enhanced: bool,
) -> Option<(Measurement, [f64; 3])> {
    measure_seeded(v, centre, radius_mm, enhanced, Seed::Brightest)
}

/// Where region growing starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seed {
    /// The brightest voxel within one voxel of the centre: a small nodule's
    /// centre can fall between voxels.
    Brightest,
    /// The centre's own voxel: beside the chest wall, the brightest voxel
    /// near a ground-glass nodule's centre can be the wall's.
    Centre,
}

/// [`measure`], region growing started as `seed` says.
pub fn measure_seeded(
    v: &Volume,
    centre: [f64; 3],
    radius_mm: f64,
    enhanced: bool,
    seed: Seed,
) -> Option<(Measurement, [f64; 3])> {
    let chosen = measure_recentred(v, centre, radius_mm, enhanced, seed)?;
    if holds_seed(v, centre, &chosen) {
        return Some(chosen);
    }
    // The region ran off the candidate: the nodule it measured lies beside the
    // seed, not around it. How far a region grows depends on the reach, and a
    // reach short of the nodule's size can let it leak into an attached vessel
    // or wall that the cut does not take back (an 8 mm solid nodule seeded
    // with a 3.1 mm reach measured as a 10.8 mm part-solid one centred 6.2 mm
    // off the candidate; from 4.7 mm, 8.8 mm and centred). The next larger
    // reaches the candidates can suggest, until one holds the seed; two at
    // most, as each costs a measurement (all of them tripled the measuring
    // stage's time on a 512 × 512 × 300 scan).
    candidate_radii()
        .filter(|&r| r > radius_mm)
        .take(RETRIED_REACHES)
        .filter_map(|r| measure_recentred(v, centre, r, enhanced, seed))
        .find(|m| holds_seed(v, centre, m))
        .or(Some(chosen))
}

/// Radius of the ball around a region's centroid whose dense share tells a
/// large vessel from a thin one through a nodule, mm.
const VESSEL_BALL_MM: f64 = 5.0;
/// Share of that ball at [`CALCIFIED_HU`] or more in a vessel at least about
/// 10 mm across (the great vessels, the hilar arteries). Measured: 0.65–0.98
/// at three regions centred in them on LIDC-IDRI-0001; 0.06–0.31 at regions
/// centred on its smaller vessels; 0.11–0.12 at two phantom nodules with an
/// enhanced vessel through their middle, correctly measured.
const LARGE_VESSEL_SHARE: f64 = 0.5;

/// Whether a region centred at `centroid` (volume voxel) is centred in a
/// large enhanced vessel: a voxel of at least [`CALCIFIED_HU`] in a ball
/// mostly as dense ([`LARGE_VESSEL_SHARE`]) whose dense voxels run on beyond
/// any calcified nodule. Only a contrast-enhanced scan has such vessels in
/// the lungs' reach, and a lung nodule's middle is not a great vessel's
/// lumen: lung grown beside the enhanced superior vena cava on
/// LIDC-IDRI-0001, centred in it at 474 HU, was a 15.5 mm "part-solid
/// nodule" (Lung-RADS 4A) that every change lifting small nodules pushed
/// over 0.5. A thin vessel through a nodule's middle leaves most of the
/// ball nodule.
pub fn centred_in_large_enhanced_vessel(v: &Volume, centroid: [f64; 3]) -> bool {
    let voxel: [usize; 3] =
        std::array::from_fn(|a| (centroid[a].round().max(0.0) as usize).min(v.dims[a] - 1));
    if v.get(voxel[0], voxel[1], voxel[2]) < CALCIFIED_HU {
        return false;
    }
    let sp = v.spacing();
    let reach: [usize; 3] = std::array::from_fn(|a| (VESSEL_BALL_MM / sp[a]) as usize);
    let (mut ball, mut dense) = (0usize, 0usize);
    for k in voxel[2].saturating_sub(reach[2])..=(voxel[2] + reach[2]).min(v.dims[2] - 1) {
        for j in voxel[1].saturating_sub(reach[1])..=(voxel[1] + reach[1]).min(v.dims[1] - 1) {
            for i in voxel[0].saturating_sub(reach[0])..=(voxel[0] + reach[0]).min(v.dims[0] - 1) {
                let p = [i, j, k];
                let mm = norm(std::array::from_fn(|a| {
                    (p[a] as f64 - voxel[a] as f64) * sp[a]
                }));
                if mm <= VESSEL_BALL_MM {
                    ball += 1;
                    dense += usize::from(v.get(i, j, k) >= CALCIFIED_HU);
                }
            }
        }
    }
    dense as f64 >= LARGE_VESSEL_SHARE * ball as f64 && dense_runs_on(v, voxel)
}

/// Larger reaches tried when a measurement runs off its candidate.
const RETRIED_REACHES: usize = 2;

/// The radii (mm) the candidate stage suggests, one for each blob scale, smallest first.
fn candidate_radii() -> impl Iterator<Item = f64> {
    crate::candidates::LEVELS
        .iter()
        .flat_map(|(_, scales)| scales.iter().map(|sigma| sigma * 3f64.sqrt()))
}

/// Distance in mm between two (fractional) volume voxels.
fn voxel_distance_mm(v: &Volume, p: [f64; 3], q: [f64; 3]) -> f64 {
    let sp = v.spacing();
    norm(std::array::from_fn(|a| (p[a] - q[a]) * sp[a]))
}

/// Distance from `seed` (volume voxel) to a measurement's centroid, as a share
/// of its radius.
fn off_centre(v: &Volume, seed: [f64; 3], (m, centroid): &(Measurement, [f64; 3])) -> f64 {
    voxel_distance_mm(v, *centroid, seed) / (m.mean_diameter_mm / 2.0).max(f64::MIN_POSITIVE)
}

/// Whether the seed lies within the measured nodule's radius of its centroid.
fn holds_seed(v: &Volume, seed: [f64; 3], measured: &(Measurement, [f64; 3])) -> bool {
    off_centre(v, seed, measured) <= 1.0
}

/// [`measure_from`] the candidate; when the region's centroid lies well off
/// it, measured again from the centroid (a candidate on a large nodule's rim).
fn measure_recentred(
    v: &Volume,
    centre: [f64; 3],
    radius_mm: f64,
    enhanced: bool,
    seed: Seed,
) -> Option<(Measurement, [f64; 3])> {
    let first = measure_from(v, centre, radius_mm, enhanced, seed)?;
    let (m, centroid) = &first;
    let moved_mm = voxel_distance_mm(v, *centroid, centre);
    let radius = m.mean_diameter_mm / 2.0;
    if moved_mm <= (RECENTRE_SHARE * radius).max(RECENTRE_MIN_MM) {
        return Some(first);
    }
    match measure_from(v, *centroid, radius, enhanced, seed) {
        Some(again)
            if again.0.attenuation_kind == m.attenuation_kind
                && again.0.mean_diameter_mm <= m.mean_diameter_mm =>
        {
            Some(again)
        }
        _ => Some(first),
    }
}

/// A measurement whose centroid lies more than this share of its radius (and
/// more than [`RECENTRE_MIN_MM`]) from where it started is measured again
/// from the centroid.
const RECENTRE_SHARE: f64 = 0.5;
const RECENTRE_MIN_MM: f64 = 2.0;

fn measure_from(
    v: &Volume,
    centre: [f64; 3],
    radius_mm: f64,
    enhanced: bool,
    seed_at: Seed,
) -> Option<(Measurement, [f64; 3])> {
    // A region refused as fat is measured once more without the fat beside
    // its dense core: a solid nodule on the pleura can run on into the fat of
    // the chest wall (seed 9018, 2.5 mm slices: an 11.8 mm nodule drawn at
    // 46 HU grew to 17.4 mm with the wall, its interior at −51 HU).
    match measure_at(v, centre, radius_mm, enhanced, seed_at, Fat::Kept)? {
        Measured::Nodule(m) => Some(m),
        Measured::Fat => match measure_at(v, centre, radius_mm, enhanced, seed_at, Fat::Trimmed)? {
            Measured::Nodule(m) => Some(m),
            Measured::Fat => None,
        },
    }
}

/// Whether a region keeps the fat it grew into beside its dense core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fat {
    Kept,
    Trimmed,
}

/// A region measured, or refused because it reads as fat.
enum Measured {
    Nodule((Measurement, [f64; 3])),
    Fat,
}

/// The measurement from `centre`, with the fat beside the region's dense core
/// kept or trimmed off as `fat` says.
fn measure_at(
    v: &Volume,
    centre: [f64; 3],
    radius_mm: f64,
    enhanced: bool,
    seed_at: Seed,
    fat: Fat,
) -> Option<Measured> {
    let [nx, ny, nz] = v.dims;
    let sp = v.spacing();
    let seed_f = centre.map(|c| c.round());
    if (0..3).any(|a| seed_f[a] < 0.0 || seed_f[a] >= [nx, ny, nz][a] as f64) {
        return None;
    }
    // The brightest voxel near the centre seeds the region (the centre of a
    // small nodule can fall between voxels), or the centre's own (`Seed`).
    let mut seed = seed_f.map(|c| c as usize);
    let mut best = v.get(seed[0], seed[1], seed[2]);
    let reach = i64::from(seed_at == Seed::Brightest);
    for dk in -reach..=reach {
        for dj in -reach..=reach {
            for di in -reach..=reach {
                let q = [
                    seed_f[0] as i64 + di,
                    seed_f[1] as i64 + dj,
                    seed_f[2] as i64 + dk,
                ];
                if (0..3).all(|a| q[a] >= 0 && q[a] < [nx, ny, nz][a] as i64) {
                    let h = v.get(q[0] as usize, q[1] as usize, q[2] as usize);
                    if h > best {
                        best = h;
                        seed = q.map(|c| c as usize);
                    }
                }
            }
        }
    }
    if f64::from(best) < -750.0 {
        return None;
    }
    // Threshold halfway between the nodule's peak and aerated lung, so solid and
    // ground-glass nodules are both outlined at their half-contrast edge.
    let peak = f64::from(best).min(100.0);
    let threshold = ((peak + LUNG_HU) / 2.0).round() as i16;
    let reach_mm = (1.6 * radius_mm).max(6.0);
    let core = segment(v, seed, threshold, reach_mm);
    let core = match fat {
        Fat::Kept => core,
        Fat::Trimmed => without_fat(v, seed, core)?,
    };
    if core.voxels.is_empty() {
        return None;
    }
    let voxel_mm3 = sp[0] * sp[1] * sp[2];
    // A round calcification in lung is the nodule, without what it touches.
    let calcification = (best >= CALCIFIED_HU)
        .then(|| calcification_in_lung(v, seed, threshold, reach_mm))
        .flatten();
    // A solid core inside a much larger ground-glass halo is a part-solid
    // nodule: the half-contrast edge of the core alone would miss the halo.
    // A calcified nodule has none to look for: around it the halo's edge
    // traces the vessel or pleura it touches.
    let eq = |r: &Region| (6.0 * r.voxels.len() as f64 * voxel_mm3 / std::f64::consts::PI).cbrt();
    let surrounds_core = |halo: &Region| {
        halo.voxels.len() as f64 >= 2.5 * core.voxels.len() as f64 && eq(halo) >= eq(&core) + 2.0
    };
    // The reach suits the core the candidate saw, and can be short of a halo
    // much larger than it: rays that run to the reach are then taken for
    // leaks and the halo is cut at the core's size. A halo refused with most
    // of it cut is grown once more with a longer reach, and kept if its own
    // edge is then seen (a 12.0 mm part-solid nodule with a 6.6 mm solid part,
    // held-out 9517 on 2.5 mm slices: reach 6.0 mm, halo 184 voxels of which
    // 37 % own edge against the core's 131, measured as a 7.7 mm solid nodule;
    // regrown, 507 voxels, 56 % own, 13.4 mm part-solid).
    let halo = (fat == Fat::Kept && peak >= f64::from(SOLID_HU) && best < CALCIFIED_HU)
        .then(|| {
            let first = segment(v, seed, GGO_EDGE_HU, reach_mm);
            if surrounds_core(&first) || own_share(&first) >= HALO_OWN_SHARE {
                return first;
            }
            let longer = (HALO_REACH_GROWTH * reach_mm).min(MAX_REACH_MM);
            let again = segment(v, seed, GGO_EDGE_HU, longer);
            if surrounds_core(&again) && own_share(&again) >= HALO_OWN_SHARE {
                again
            } else {
                first
            }
        })
        .filter(surrounds_core);
    // The halo is the nodule; the core is its solid part only if one could be.
    let solid_part = halo.is_some()
        && core.voxels.len() as f64 * voxel_mm3 >= SMALLEST_NODULE_MM3
        && own_share(&core) >= SOLID_PART_OWN_SHARE;
    let region = calcification.as_ref().or(halo.as_ref()).unwrap_or(&core);
    // Attenuation where the nodule's own edge was seen: a wall or vessel it
    // was cut from would make ground glass look part-solid.
    let own: Vec<[usize; 3]> = {
        let own: Vec<[usize; 3]> = region
            .voxels
            .iter()
            .zip(&region.own)
            .filter(|(_, &own)| own)
            .map(|(p, _)| *p)
            .collect();
        if own.is_empty() {
            region.voxels.clone()
        } else {
            own
        }
    };
    let hu: Vec<i16> = own.iter().map(|p| v.get(p[0], p[1], p[2])).collect();
    let n = hu.len() as f64;
    let mean_hu = hu.iter().map(|&h| f64::from(h)).sum::<f64>() / n;
    let solid_fraction = hu.iter().filter(|&&h| h >= SOLID_HU).count() as f64 / n;
    let calcified_fraction = hu.iter().filter(|&&h| h >= CALCIFIED_HU).count() as f64 / n;
    // In a contrast-enhanced scan, a region mostly denser than calcium's
    // threshold that is not a round calcification in lung and runs on beyond
    // any calcified nodule is an enhanced vessel or contrast in a vein, not a
    // nodule (on LIDC-IDRI-0001 hilar vessels of 156–280 HU were "calcified
    // nodules" of 9–34 mm at confidence ≥ 0.8). Without contrast the only such
    // tubes are ribs, which a calcified nodule on the pleura may touch.
    if enhanced && calcification.is_none() && calcified_fraction >= 0.5 && dense_runs_on(v, seed) {
        return None;
    }
    let (long, short, k) = largest_slice_axes(&region.voxels, sp);
    let mean = 0.5 * (long + short);
    let share_kind = if calcification.is_some() || calcified_fraction >= 0.5 {
        NoduleKind::Calcified
    } else if solid_fraction >= 0.8 {
        NoduleKind::Solid
    } else if solid_fraction <= 0.1 {
        NoduleKind::GroundGlass
    } else {
        NoduleKind::PartSolid
    };
    let attenuation_kind = if solid_part {
        NoduleKind::PartSolid
    } else {
        share_kind
    };
    // A core is a solid part only if it is solid tissue. One that reads as
    // ground glass is the denser middle of ground glass (on held-out 9140–9159,
    // 2.5 mm slices, cores of −425 and −330 HU made ground-glass nodules
    // part-solid, one 4A; the cores of 69 part-solid nodules read −117 to
    // +57 HU): the nodule is then judged by its share of solid voxels.
    let solid_core = solid_part && core_attenuation(v, &core) >= SOLID_HU;
    // Without a solid core of its own, the solid part is the largest piece of
    // its solid voxels (where its own edge was seen): measured all together,
    // scattered lengths of vessel through ground glass made a "solid part"
    // that spanned the nodule (a 15.4 mm ground-glass nodule with a 10.7 mm
    // solid part, Lung-RADS 4B; model card, "Lung-RADS categories against the
    // truth").
    let share_piece = (share_kind == NoduleKind::PartSolid && !solid_core).then(|| {
        let solid: Vec<[usize; 3]> = own
            .iter()
            .copied()
            .filter(|p| v.get(p[0], p[1], p[2]) >= SOLID_HU)
            .collect();
        largest_piece(&solid)
    });
    // And it is a solid part only if it could be one: at least a 3 mm sphere,
    // and round. A length of vessel through ground glass is a tube (on tuning
    // seeds 9000–9019, 1.5 mm slices: the nine ground-glass nodules called
    // part-solid this way had pieces of elongation 2.04–3.33; 15 of 18
    // part-solid ones 1.04–1.92). On thicker slices a solid part of 3.5–6 mm
    // spans a slice or two and reads longer, so only a clear tube is one
    // (model card, "A solid part found by attenuation is round, on slices of
    // 2 mm or less" and "A solid part found by attenuation is no tube, on
    // thicker slices").
    let most_elongation = if sp[2] <= MAX_SLICE_MM_FOR_SHAPE {
        MAX_ROUND_ELONGATION
    } else {
        MAX_THICK_SLICE_ELONGATION
    };
    let kind = match &share_piece {
        Some(piece)
            if piece.len() as f64 * voxel_mm3 < SMALLEST_NODULE_MM3
                || elongation(piece, sp) > most_elongation =>
        {
            NoduleKind::GroundGlass
        }
        _ if solid_core => NoduleKind::PartSolid,
        _ => share_kind,
    };
    // Fat reads "solid" at these thresholds; its interior tells it apart.
    if kind == NoduleKind::Solid
        && interior_median_hu(v, &region.voxels).is_some_and(|h| h < FAT_HU)
    {
        return Some(Measured::Fat);
    }
    // Trimmed, a piece of fat can be too small to have an interior; its mean
    // tells (on LIDC-IDRI-0001 the fat at the heart's border came back as
    // 5.8 and 6.5 mm "solid" regions of −92 and −93 HU).
    if fat == Fat::Trimmed && mean_hu < f64::from(FAT_HU) {
        return Some(Measured::Fat);
    }
    let solid_diameter_mm = match kind {
        NoduleKind::GroundGlass => None,
        NoduleKind::PartSolid => {
            // Otherwise the nodule has a solid core of its own, found inside
            // its ground-glass halo.
            let solid: Vec<[usize; 3]> = match (share_piece, &halo) {
                (Some(piece), _) => piece,
                (None, Some(halo)) => solid_part_within(v, &core, halo, threshold),
                (None, None) => core.voxels.clone(),
            };
            let (l, s, _) = largest_slice_axes(&solid, sp);
            Some(0.5 * (l + s))
        }
        _ => Some(mean),
    };
    let count = region.voxels.len() as f64;
    let centroid: [f64; 3] =
        std::array::from_fn(|a| region.voxels.iter().map(|p| p[a] as f64).sum::<f64>() / count);
    let measurement = Measurement {
        long_axis_mm: long,
        short_axis_mm: short,
        mean_diameter_mm: mean,
        volume_mm3: count * voxel_mm3,
        kind,
        attenuation_kind,
        solid_diameter_mm,
        slice_index: k,
        mean_hu,
    };
    Some(Measured::Nodule((measurement, centroid)))
}
