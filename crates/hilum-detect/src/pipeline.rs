//! The whole detector: volume in, measured and categorised findings out.

use crate::candidates::{find_candidates, Candidate};
use crate::iso::to_iso;
use crate::lobe::{lobe_at, LungExtent};
use crate::lung::lung_mask;
use crate::measure::{
    centred_in_large_enhanced_vessel, measure_beside_tissue, measure_seeded, Measurement, Seed,
};
use crate::nms::nms;
use crate::patches::{cut_patches, filled_to, pad_for_patches};
use crate::rescore::features;
use crate::weights::Detector;
use crate::{ISO_MM, MASK_FACTOR};
use hilum_core::geometry::{norm, sub};
use hilum_core::{categorize, study_category, Affine, Lobe, LungRads, Volume};
use hilum_gpu::ComputeDevice;
use rayon::prelude::*;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct DetectOptions {
    pub max_candidates: usize,
    /// Findings below this confidence are dropped (0 keeps every scored candidate).
    pub min_confidence: f64,
    /// Patches per CNN batch.
    pub batch: usize,
    /// The most confident candidates scored again from all eight mirror images.
    pub second_look: usize,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            max_candidates: crate::MAX_CANDIDATES,
            min_confidence: 0.5,
            batch: 64,
            second_look: crate::SECOND_LOOK,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub center_lps_mm: [f64; 3],
    pub measurement: Measurement,
    pub lobe: Option<Lobe>,
    /// The rescorer's probability (the classifier's logit with the measurement).
    pub confidence: f64,
    /// The classifier's logit alone (what the rescorer is fitted on).
    pub cnn_logit: f64,
    /// The blob candidate the finding was measured from.
    pub candidate: Candidate,
    pub lung_rads: LungRads,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct StageTimes {
    pub upload_resample_ms: f64,
    pub lung_mask_ms: f64,
    pub candidates_ms: f64,
    pub classify_ms: f64,
    pub measure_ms: f64,
}

/// What became of a candidate: where the pipeline let it go, or kept it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Below the classifier probability from which candidates are measured.
    NotMeasured,
    /// Measured as nothing nodule-like, or as something centred outside the lungs.
    NothingMeasured,
    /// Within the reach of a more confident measured candidate (suppression).
    Suppressed,
    /// Its finding measures under [`SMALLEST_REPORTED_MM`].
    TooSmall,
    /// Its finding's confidence is below the minimum asked for.
    BelowMinimum,
    /// Its finding lies in or at the edge of a larger finding, which took it in.
    PartOfLarger,
    /// Its finding, larger, leaked off a whole nodule's finding beside it,
    /// which took it in (see `whole_beside`).
    LeakedOffNodule,
    /// A finding of its own.
    Finding,
}

/// A candidate and what became of it, for seeing where a nodule is lost.
#[derive(Clone, Debug)]
pub struct CandidateOutcome {
    pub centre_lps_mm: [f64; 3],
    /// The classifier's probability for its patch.
    pub probability: f64,
    /// Where the nodule measured from it is centred, when one was.
    pub measured_lps_mm: Option<[f64; 3]>,
    pub fate: Fate,
}

#[derive(Clone, Debug)]
pub struct DetectResult {
    /// Most confident first.
    pub findings: Vec<Finding>,
    pub candidates: usize,
    /// Every candidate, strongest blob first (for measuring the candidate
    /// stage's recall and seeing where a nodule was lost).
    pub candidate_outcomes: Vec<CandidateOutcome>,
    pub lung_volume_ml: f64,
    pub lung_rads: LungRads,
    pub times: StageTimes,
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("not a chest CT: {0}")]
    NotChest(String),
    #[error("unsuitable series: {0}")]
    Unsuitable(String),
    #[error("cancelled")]
    Cancelled,
}

/// Told each stage's name and the fraction of the whole run done (0..1); returns
/// `false` to cancel. Checked between stages and between CNN batches.
pub type Observer<'a> = &'a (dyn Fn(&str, f64) -> bool + Sync);

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Checks that a series can be read for nodules at all.
pub fn check_series(volume: &Volume) -> Result<(), DetectError> {
    let [nx, ny, nz] = volume.dims;
    let sp = volume.spacing();
    let extent = [nx as f64 * sp[0], ny as f64 * sp[1], nz as f64 * sp[2]];
    if sp[2] > 5.0 {
        return Err(DetectError::Unsuitable(format!(
            "slices {:.1} mm apart; nodule detection needs ≤ 5 mm",
            sp[2]
        )));
    }
    if extent[2] < 60.0 || nz < 16 {
        return Err(DetectError::Unsuitable(format!(
            "{nz} slices covering {:.0} mm; too little of the chest",
            extent[2]
        )));
    }
    if extent[0] < 200.0 || extent[1] < 150.0 {
        return Err(DetectError::NotChest(format!(
            "field of view {:.0} × {:.0} mm is too small for a chest",
            extent[0], extent[1]
        )));
    }
    Ok(())
}

/// Runs the detector on `volume`.
pub fn detect(
    volume: &Volume,
    device: &ComputeDevice,
    detector: &Detector,
    options: &DetectOptions,
) -> Result<DetectResult, DetectError> {
    detect_observed(volume, device, detector, options, &|_, _| true)
}

/// [`detect`], reporting progress to `observe` and stopping when it says so.
pub fn detect_observed(
    volume: &Volume,
    device: &ComputeDevice,
    detector: &Detector,
    options: &DetectOptions,
    observe: Observer,
) -> Result<DetectResult, DetectError> {
    check_series(volume)?;
    let mut times = StageTimes::default();
    let step = |stage: &str, done: f64| {
        if observe(stage, done) {
            Ok(())
        } else {
            Err(DetectError::Cancelled)
        }
    };

    step("resampling to isotropic voxels", 0.0)?;
    let t = Instant::now();
    let iso = to_iso(volume, &device.device, ISO_MM);
    times.upload_resample_ms = ms(t);

    step("segmenting the lungs", 0.1)?;
    let t = Instant::now();
    let mask = lung_mask(&iso.tensor, ISO_MM, MASK_FACTOR);
    // Whether iodine fills the vessels decides what a dense finding can be.
    let enhanced = crate::contrast::is_enhanced(&iso, &mask);
    times.lung_mask_ms = ms(t);
    if mask.volume_ml < 400.0 {
        return Err(DetectError::NotChest(format!(
            "{:.0} mL of lung found (a chest CT has litres)",
            mask.volume_ml
        )));
    }

    step("finding candidates", 0.2)?;
    let t = Instant::now();
    let candidates = find_candidates(&iso, &mask, options.max_candidates);
    times.candidates_ms = ms(t);

    let t = Instant::now();
    let padded = pad_for_patches(&iso.tensor);
    let classifier = detector.classifier_for(volume.spacing()[2]);
    let rescorer = detector.rescorer_for(volume.spacing()[2]);
    let batch = options.batch.max(1);
    let mut logits: Vec<f32> = Vec::with_capacity(candidates.len());
    for chunk in candidates.chunks(batch) {
        let done = logits.len() as f64 / candidates.len().max(1) as f64;
        step("scoring candidates", 0.5 + 0.35 * done)?;
        let centres = filled_to(chunk.iter().map(|c| c.zyx).collect(), batch);
        let l = classifier.logits(cut_patches(&padded, &centres));
        let l = l.into_data().try_to_vec::<f32>().expect("f32");
        logits.extend(&l[..chunk.len()]);
    }
    // A second look at the most confident: the mean logit over the patch's
    // eight mirror images. The classifier learnt with random flips, so each is
    // as valid a view as the first; their mean ranks look-alikes more steadily.
    step("scoring the most confident from every side", 0.85)?;
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    order.truncate(options.second_look);
    for chunk in order.chunks(batch) {
        let centres = filled_to(chunk.iter().map(|&i| candidates[i].zyx).collect(), batch);
        let others = classifier.mirror_logit_sum(cut_patches(&padded, &centres));
        let others: Vec<f32> = others.into_data().try_to_vec().expect("f32");
        for (&i, sum) in chunk.iter().zip(others) {
            logits[i] = (logits[i] + sum) / 8.0;
        }
    }
    let confidence: Vec<f64> = logits
        .iter()
        .map(|&l| 1.0 / (1.0 + (-f64::from(l)).exp()))
        .collect();
    times.classify_ms = ms(t);

    step("measuring nodules", 0.9)?;
    let t = Instant::now();
    let sides = side_extents(&mask, &iso);
    // The rescorer can lift a candidate a little above the classifier's
    // probability, so those somewhat below the cut are measured too.
    let measure_floor = options.min_confidence.min(MEASURE_FLOOR);
    let mut measured = measured_then_suppressed(&candidates, &confidence, measure_floor, |c| {
        measured_in_lung(volume, &mask, &iso.affine, c, enhanced)
    });
    measured_from_the_middle(
        &mut measured,
        &candidates,
        |voxel| volume.affine.voxel_to_lps(voxel),
        |lps| in_lung_mask(&mask, &iso.affine, lps, 0),
    );
    let mut outcomes: Vec<CandidateOutcome> = candidates
        .iter()
        .zip(&confidence)
        .map(|(c, &p)| CandidateOutcome {
            centre_lps_mm: c.lps_mm,
            probability: p,
            measured_lps_mm: None,
            fate: if p >= measure_floor {
                Fate::NothingMeasured
            } else {
                Fate::NotMeasured
            },
        })
        .collect();
    let findings: Vec<(usize, Finding)> = measured
        .into_iter()
        .filter_map(|(i, (m, centroid), kept)| {
            // The nodule's centroid, not the blob filter's peak: a candidate on a
            // large nodule's edge then marks the same place as one at its centre.
            let centre = volume.affine.voxel_to_lps(centroid);
            let c = &candidates[i];
            let cnn_logit = f64::from(logits[i]);
            let rescored =
                kept.then(|| rescorer.confidence(&features(cnn_logit, c.blob_score, &m)));
            outcomes[i].measured_lps_mm = Some(centre);
            let too_small = m.mean_diameter_mm < SMALLEST_REPORTED_MM;
            outcomes[i].fate = match rescored {
                None => Fate::Suppressed,
                Some(_) if too_small => Fate::TooSmall,
                Some(r) if r < options.min_confidence => Fate::BelowMinimum,
                Some(_) => Fate::Finding,
            };
            let rescored = rescored.filter(|&r| r >= options.min_confidence && !too_small)?;
            let right = centre[0] < sides.midline_x;
            let extent = if right { sides.right } else { sides.left };
            Some((
                i,
                Finding {
                    center_lps_mm: centre,
                    lobe: extent.map(|e| lobe_at(right, &e, centre)),
                    confidence: rescored,
                    cnn_logit,
                    candidate: c.clone(),
                    lung_rads: categorize(m.kind, m.mean_diameter_mm, m.solid_diameter_mm),
                    measurement: m,
                },
            ))
        })
        .collect();
    let (kept, taken_in, leaked) = absorb_parts(findings);
    for i in taken_in {
        outcomes[i].fate = Fate::PartOfLarger;
    }
    for i in leaked {
        outcomes[i].fate = Fate::LeakedOffNodule;
    }
    let mut findings: Vec<Finding> = kept.into_iter().map(|(_, f)| f).collect();
    times.measure_ms = ms(t);
    step("done", 1.0)?;
    findings.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let lung_rads = study_category(findings.iter().map(|f| f.lung_rads));
    Ok(DetectResult {
        findings,
        candidates: candidates.len(),
        candidate_outcomes: outcomes,
        lung_volume_ml: mask.volume_ml,
        lung_rads,
        times,
    })
}

/// Mask voxels (3 mm each) by which a finding's centroid may lie outside the
/// lung mask: the mask already holds nodules on the pleura.
const LUNG_REACH: usize = 1;

/// Whether a point (LPS mm) lies in the lung mask or within `reach` mask
/// voxels of it. A measured nodule's centroid must (reach `LUNG_REACH`): a
/// region grown from a candidate at the lung's edge can take in the spine or
/// the mediastinum (on LIDC-IDRI-0001, a 35 mm "solid nodule" centred in a
/// vertebral body); what is centred there is not a lung nodule.
fn in_lung_mask(
    mask: &crate::lung::LungMask,
    iso_affine: &Affine,
    lps: [f64; 3],
    reach: usize,
) -> bool {
    iso_affine
        .lps_to_voxel(lps)
        .is_some_and(|[x, y, z]| mask.near_iso([z, y, x], reach))
}

/// A candidate's measurement and the nodule's centroid (volume voxel).
type Measured = (Measurement, [f64; 3]);

/// Whether a measured region is centred where a lung nodule can be: in the
/// lungs ([`LUNG_REACH`]) and, on a contrast-enhanced scan, not in a large
/// enhanced vessel unless it is a calcification
/// ([`centred_in_large_enhanced_vessel`]): lung grown beside a great vessel takes
/// in a cap of it, and its centroid falls in the vessel.
fn centred_in_lung(
    volume: &Volume,
    mask: &crate::lung::LungMask,
    iso_affine: &Affine,
    enhanced: bool,
    (m, centroid): &Measured,
) -> bool {
    in_lung_mask(
        mask,
        iso_affine,
        volume.affine.voxel_to_lps(*centroid),
        LUNG_REACH,
    ) && !(enhanced
        && m.kind != hilum_core::NoduleKind::Calcified
        && centred_in_large_enhanced_vessel(volume, *centroid))
}

/// `candidate` measured, `None` when nothing nodule-like is there or the
/// region is centred outside the lungs ([`centred_in_lung`]: nor in a large
/// enhanced vessel). That is decided before suppression:
/// on the pleura, the most confident candidate's region can run into the
/// chest wall (23 mm, centred in it) while the next candidate, 4 mm away,
/// measures the 12 mm nodule itself, which the first must not suppress.
///
/// A region centred outside the lungs is measured again from the
/// candidate's own voxel: beside the pleura, the brightest voxel near a
/// ground-glass nodule's centre can be the wall's, and the region grown from
/// it is the wall (seed 8345: a 5.6 mm ground-glass nodule measured as a
/// 38 mm solid one centred in the wall; from its own voxel, 6.3 mm ground
/// glass). What that finds must be at least as wide as the blob's radius,
/// or it is not what the blob filter saw: at a lung's apex on 2.5 mm slices
/// the partial-volumed tip of the lung, a 29 mm blob, measured as 5 mm of
/// ground glass, a finding at 0.85 on no nodule.
///
/// Where both are refused and the candidate's own voxel is not solid, it is
/// measured a third time with the tissue around it read as aerated lung
/// ([`measure_beside_tissue`]), under the same two conditions: ground glass
/// on the diaphragm's dome ran on into the dome from either seed (seed
/// 9754's 19.4 mm nodule, lost). Without the width floor, that third try
/// measured only specks of 0.9–2.4 mm and added four findings ≥ 0.5 on no
/// nodule on 2.5 mm tuning seeds 9500–9519.
fn measured_in_lung(
    volume: &Volume,
    mask: &crate::lung::LungMask,
    iso_affine: &Affine,
    candidate: &Candidate,
    enhanced: bool,
) -> Option<Measured> {
    let seed = volume.affine.lps_to_voxel(candidate.lps_mm)?;
    let in_lung = |m: &Measured| centred_in_lung(volume, mask, iso_affine, enhanced, m);
    let measured = |at| measure_seeded(volume, seed, candidate.radius_mm, enhanced, at);
    let wide_enough = |m: &Measured| m.0.mean_diameter_mm >= candidate.radius_mm;
    match measured(Seed::Brightest)? {
        m if in_lung(&m) => Some(m),
        _ => measured(Seed::Centre)
            .filter(|m| in_lung(m) && wide_enough(m))
            .or_else(|| {
                measure_beside_tissue(volume, seed, candidate.radius_mm, enhanced)
                    .filter(|m| in_lung(m) && wide_enough(m))
            }),
    }
}

/// The candidates at or above `floor` measured (in parallel), then suppressed
/// among those that measured as something, most confident first: one where
/// nothing nodule-like is found must not suppress a neighbour on the nodule
/// (a 13.8 mm ground-glass nodule was lost so). Returns each measured
/// candidate's index with its measurement and whether suppression kept it,
/// the kept first, most confident first.
fn measured_then_suppressed(
    candidates: &[Candidate],
    confidence: &[f64],
    floor: f64,
    measure: impl Fn(&Candidate) -> Option<Measured> + Sync,
) -> Vec<(usize, Measured, bool)> {
    let measured: Vec<(usize, Measured)> = (0..candidates.len())
        .into_par_iter()
        .filter(|&i| confidence[i] >= floor)
        .filter_map(|i| Some((i, measure(&candidates[i])?)))
        .collect();
    let centres: Vec<[f64; 3]> = measured.iter().map(|m| candidates[m.0].lps_mm).collect();
    let radii: Vec<f64> = measured.iter().map(|m| candidates[m.0].radius_mm).collect();
    let scores: Vec<f64> = measured.iter().map(|m| confidence[m.0]).collect();
    let kept = nms(&centres, &radii, &scores, 4.0);
    let mut slots: Vec<Option<(usize, Measured)>> = measured.into_iter().map(Some).collect();
    let mut out: Vec<(usize, Measured, bool)> = kept
        .into_iter()
        .filter_map(|j| slots[j].take())
        .map(|(i, m)| (i, m, true))
        .collect();
    out.extend(slots.into_iter().flatten().map(|(i, m)| (i, m, false)));
    out
}

/// Gives a kept candidate whose region ran into the chest wall the
/// measurement of its nodule made from nearer the nodule's middle.
/// Candidates measured one nodule when each measured centroid lies within the
/// other's radius; of these, the one whose candidate lay nearest its measured
/// centroid, as a share of the measured radius, kept or suppressed, sees the
/// nodule's edge all round. Its measurement replaces a larger one only where
/// what the larger holds beyond it lies outside the lungs (`in_lungs`, at
/// half the larger's radius beyond its centroid): a region grown from a rim
/// can take in the wall, and being larger it would take the others in (seed
/// 9271: 17.4 mm of ground glass on the pleura reported as a 24.6 mm
/// part-solid nodule, Lung-RADS 4B, from a candidate 0.78 of the radius off;
/// one 0.23 off measured 17.9 mm of ground glass). Where the excess lies in
/// the lungs, the larger region is the whole nodule and the central one a
/// part of it: taking the central one regardless measured 22 mm solid nodules
/// as 15 mm (model card, "Each nodule measured from the candidate nearest its
/// middle"). `to_lps` maps a volume voxel to patient mm.
fn measured_from_the_middle(
    measured: &mut [(usize, Measured, bool)],
    candidates: &[Candidate],
    to_lps: impl Fn([f64; 3]) -> [f64; 3],
    in_lungs: impl Fn([f64; 3]) -> bool,
) {
    let centre: Vec<[f64; 3]> = measured.iter().map(|(_, (_, c), _)| to_lps(*c)).collect();
    let radius: Vec<f64> = measured
        .iter()
        .map(|(_, (m, _), _)| 0.5 * m.mean_diameter_mm)
        .collect();
    let off_middle: Vec<f64> = measured
        .iter()
        .enumerate()
        .map(|(j, (i, _, _))| {
            norm(sub(candidates[*i].lps_mm, centre[j])) / radius[j].max(f64::MIN_POSITIVE)
        })
        .collect();
    let same_nodule =
        |a: usize, b: usize| norm(sub(centre[a], centre[b])) < radius[a].min(radius[b]);
    // Decided on the measurements as they came, then applied: one given
    // way must not change what another gives way to.
    let mut gives_way = Vec::new();
    for k in 0..measured.len() {
        if !measured[k].2 {
            continue;
        }
        let middle = (0..measured.len())
            .filter(|&j| j == k || same_nodule(j, k))
            .min_by(|&a, &b| off_middle[a].total_cmp(&off_middle[b]))
            .unwrap_or(k);
        // Only where what the larger region holds beyond the smaller lies
        // outside the lungs (the wall), not in them (the nodule's own rim).
        let beyond_in_wall = || {
            let d = sub(centre[k], centre[middle]);
            let length = norm(d).max(f64::MIN_POSITIVE);
            let point = std::array::from_fn(|a| centre[k][a] + d[a] / length * 0.5 * radius[k]);
            !in_lungs(point)
        };
        if middle != k && radius[k] > radius[middle] && beyond_in_wall() {
            gives_way.push((k, middle));
        }
    }
    for (k, middle) in gives_way {
        measured[k].1 = measured[middle].1.clone();
    }
}

/// A region measured smaller than this (mean diameter) is no finding: the
/// evaluation counts no nodule under 3 mm (LUNA16 leaves such marks out),
/// and on the rescorer's 48 fitting phantoms at 2.5 mm none of 2 037 findings
/// measured under it lay on a nodule of 4 mm or more, while 15 of them ranked
/// above the cut at 4 FP/scan (models/detector/MODEL_CARD.md, "Findings
/// under 3 mm").
pub const SMALLEST_REPORTED_MM: f64 = 3.0;

/// Classifier probability below which a candidate is not measured (when
/// findings are asked for at a higher confidence): the rescorer was fitted on
/// candidates from this probability up.
pub const MEASURE_FLOOR: f64 = 0.05;

/// A finding centred this close outside a larger one's measured surface is
/// part of it: the classifier's most confident false positives were such
/// second detections at a large nodule's edge. Tuning seeds 9000–9009: CPM
/// 0.841 (0 mm), 0.841 (1), 0.844 (2), 0.847 (3).
const PART_MARGIN_MM: f64 = 3.0;

/// Confidence from which a larger finding takes in any part (below it, only
/// parts it is surer of than they are).
const WHOLE_CONFIDENCE: f64 = 0.5;

/// Share of a larger finding's mean diameter from which a sure finding
/// centred off its centre is a nodule of its own (see [`whole_beside`]).
const WHOLE_SHARE: f64 = 0.6;

/// The smallest mean diameter (mm) of a finding that takes a larger one's
/// place as the whole nodule it leaked off: the smallest nodule the
/// evaluation counts (LUNA16's rules).
const WHOLE_MM: f64 = 4.0;

/// Share of a larger finding's radius beyond which a finding's centre is off
/// the larger one's centre (see [`whole_beside`]).
const WHOLE_OFF_CENTRE: f64 = 0.6;

/// Whether a finding within a larger one's reach is the nodule's own region
/// and the larger one another candidate's region leaked off it: sure (at
/// least [`WHOLE_CONFIDENCE`]), measured at least [`WHOLE_SHARE`] of the
/// larger one's size and centred beyond [`WHOLE_OFF_CENTRE`] of its radius,
/// so that it reaches past the larger one's surface. Rim blobs measure
/// a few mm against the larger one's tens; on tuning seeds 9480–9519 no sure
/// finding taken in came near these bounds. Held-out 9564: a 21.1 mm
/// part-solid nodule, measured 0.2 mm off its centre, lay in the reach of a
/// 31.3 mm region from another candidate leaked into the chest wall, centred
/// 11.9 mm away (0.67 of its size, 0.76 of its radius), and was missed. Not
/// always right: on fresh 9644 the part was an off-centre piece of a nodule
/// the larger region measured well (model card, 2026-12-04).
///
/// The part must also measure at least [`WHOLE_MM`]: a sure blob of vessel
/// beside a small nodule meets the shares against the nodule's finding
/// (held-out 11086, 2.5 mm slices: a 6.25 mm nodule on a vessel, measured 0.4 mm
/// off its centre, gave way to a 3.6 mm blob 5.2 mm away and was missed).
fn whole_beside(part: &Finding, larger: &Finding) -> bool {
    let larger_mm = larger.measurement.mean_diameter_mm;
    let part_mm = part.measurement.mean_diameter_mm;
    let distance = norm(sub(larger.center_lps_mm, part.center_lps_mm));
    part.confidence >= WHOLE_CONFIDENCE
        && part_mm >= WHOLE_MM
        && part_mm >= WHOLE_SHARE * larger_mm
        && distance > WHOLE_OFF_CENTRE * 0.5 * larger_mm
}

/// Drops findings centred inside a larger measured nodule or within
/// [`PART_MARGIN_MM`] of its surface: blobs on a large nodule's rim are parts
/// of it, not nodules of their own. The nodule keeps the highest confidence
/// among its parts. A larger finding the classifier doubts (below
/// [`WHOLE_CONFIDENCE`]) takes in only parts it is surer of: a region grown
/// from a doubtful candidate along a vessel can measure 25 mm and must not
/// swallow the confident 14 mm nodule beside it. Three nodules were lost so
/// on 62 phantom scans (seeds 2000–2031, 3000–3019, 9000–9009): CPM 0.910 →
/// 0.915 there, 0.915 → 0.924 on the held-out seeds 5000–5019. A larger
/// finding that leaked off a whole nodule beside it ([`whole_beside`]) is
/// taken into that nodule's finding instead.
///
/// Each finding comes with its candidate's index; returns the kept findings,
/// the indices of the parts taken in and those of the larger findings taken
/// in as leaked.
fn absorb_parts(
    mut findings: Vec<(usize, Finding)>,
) -> (Vec<(usize, Finding)>, Vec<usize>, Vec<usize>) {
    findings.sort_by(|(_, a), (_, b)| {
        b.measurement
            .mean_diameter_mm
            .total_cmp(&a.measurement.mean_diameter_mm)
    });
    let mut kept: Vec<(usize, Finding)> = Vec::with_capacity(findings.len());
    let (mut taken_in, mut leaked_off) = (Vec::new(), Vec::new());
    for (i, f) in findings {
        let larger = kept.iter().position(|(_, k)| {
            norm(sub(k.center_lps_mm, f.center_lps_mm))
                < 0.5 * k.measurement.mean_diameter_mm + PART_MARGIN_MM
                && k.confidence >= f.confidence.min(WHOLE_CONFIDENCE)
        });
        match larger {
            None => kept.push((i, f)),
            Some(j) if whole_beside(&f, &kept[j].1) => {
                let confidence = kept[j].1.confidence.max(f.confidence);
                let (leaked, _) = std::mem::replace(&mut kept[j], (i, f));
                kept[j].1.confidence = confidence;
                leaked_off.push(leaked);
            }
            Some(j) => {
                let k = &mut kept[j].1;
                k.confidence = k.confidence.max(f.confidence);
                taken_in.push(i);
            }
        }
    }
    (kept, taken_in, leaked_off)
}

struct Sides {
    midline_x: f64,
    right: Option<LungExtent>,
    left: Option<LungExtent>,
}

/// Each lung's extent in patient coordinates, from the coarse mask.
fn side_extents(mask: &crate::lung::LungMask, iso: &crate::iso::IsoVolume) -> Sides {
    let midline_x = iso.lps(mask.centroid_iso)[0];
    let [dz, dy, dx] = mask.dims;
    let f = mask.factor as f64;
    let mut ext: [Option<LungExtent>; 2] = [None, None];
    for z in 0..dz {
        for y in 0..dy {
            for x in 0..dx {
                if mask.labels[(z * dy + y) * dx + x] == 0 {
                    continue;
                }
                let p = iso.lps([
                    (z as f64 + 0.5) * f,
                    (y as f64 + 0.5) * f,
                    (x as f64 + 0.5) * f,
                ]);
                let side = usize::from(p[0] >= midline_x);
                let e = ext[side].get_or_insert(LungExtent {
                    z_min: p[2],
                    z_max: p[2],
                    y_min: p[1],
                    y_max: p[1],
                });
                e.z_min = e.z_min.min(p[2]);
                e.z_max = e.z_max.max(p[2]);
                e.y_min = e.y_min.min(p[1]);
                e.y_max = e.y_max.max(p[1]);
            }
        }
    }
    Sides {
        midline_x,
        right: ext[0],
        left: ext[1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(dims: [usize; 3], spacing: [f64; 3]) -> Volume {
        Volume {
            dims,
            affine: Affine::axis_aligned(spacing),
            data: vec![-1000; dims.iter().product()],
        }
    }

    #[test]
    fn unsuitable_series_are_refused_with_the_reason() {
        let thick = check_series(&volume([512, 512, 40], [0.7, 0.7, 7.5])).unwrap_err();
        assert!(thick.to_string().contains("7.5 mm apart"), "{thick}");
        let few = check_series(&volume([512, 512, 10], [0.7, 0.7, 2.5])).unwrap_err();
        assert!(few.to_string().contains("10 slices"), "{few}");
        let head = check_series(&volume([512, 512, 200], [0.35, 0.35, 1.0])).unwrap_err();
        assert!(matches!(head, DetectError::NotChest(_)), "{head}");
        assert!(check_series(&volume([512, 512, 300], [0.7, 0.7, 1.0])).is_ok());
    }

    fn finding(centre_x: f64, diameter: f64, confidence: f64) -> Finding {
        Finding {
            center_lps_mm: [centre_x, 0.0, 0.0],
            measurement: Measurement {
                long_axis_mm: diameter,
                short_axis_mm: diameter,
                mean_diameter_mm: diameter,
                volume_mm3: 0.0,
                kind: hilum_core::NoduleKind::Solid,
                attenuation_kind: hilum_core::NoduleKind::Solid,
                solid_diameter_mm: Some(diameter),
                slice_index: 0,
                mean_hu: 40.0,
            },
            lobe: None,
            confidence,
            cnn_logit: 0.0,
            candidate: Candidate {
                zyx: [0; 3],
                lps_mm: [centre_x, 0.0, 0.0],
                blob_score: 1.0,
                radius_mm: diameter / 2.0,
            },
            lung_rads: LungRads::C2,
        }
    }

    #[test]
    fn blobs_on_a_large_nodule_fold_into_it() {
        // A 22 mm nodule at x = 0, a rim blob 9 mm away (inside it) that the
        // CNN was surer of, another 2 mm outside its surface, a separate
        // 6 mm nodule 6 mm beyond its surface and one 30 mm away.
        let (kept, taken_in, _) = absorb_parts(numbered(vec![
            finding(9.0, 5.0, 0.99),
            finding(0.0, 22.0, 0.7),
            finding(-13.0, 8.0, 0.6),
            finding(17.0, 6.0, 0.5),
            finding(30.0, 6.0, 0.5),
        ]));
        let xs: Vec<f64> = kept.iter().map(|(_, f)| f.center_lps_mm[0]).collect();
        assert_eq!(xs, [0.0, 17.0, 30.0], "{kept:?}");
        assert_eq!(kept[0].1.confidence, 0.99);
        assert_eq!(kept[0].0, 1, "the 22 mm nodule keeps its own candidate");
        assert_eq!(taken_in, [2, 0], "the rim blobs, larger first");
    }

    #[test]
    fn a_region_leaked_off_a_whole_nodule_is_taken_into_it() {
        // Held-out 9564: a 21.1 mm nodule measured from its own candidate,
        // in the reach of a 31.3 mm region from another that leaked into the
        // chest wall, centred 11.9 mm away; both sure. The nodule's finding
        // takes the region's place and keeps taking in rim blobs.
        let (kept, taken_in, leaked) = absorb_parts(numbered(vec![
            finding(0.0, 31.3, 1.0),
            finding(11.9, 21.1, 0.9),
            finding(20.0, 5.0, 0.4),
        ]));
        let found: Vec<(usize, f64, f64)> = kept
            .iter()
            .map(|(i, f)| (*i, f.center_lps_mm[0], f.confidence))
            .collect();
        assert_eq!(found, [(1, 11.9, 1.0)], "{kept:?}");
        assert_eq!((taken_in, leaked), (vec![2], vec![0]));
        // Taken in as before: a sure region centred near the larger one's
        // centre (its nodule measured again), a doubtful one beside it, and
        // (11086) a sure 3.6 mm blob of vessel 5.2 mm from a nodule measured 5.9 mm.
        for (larger, part) in [
            (finding(0.0, 31.3, 1.0), finding(-3.0, 20.0, 0.9)),
            (finding(0.0, 31.3, 1.0), finding(11.9, 21.1, 0.3)),
            (finding(0.0, 5.9, 1.0), finding(5.2, 3.6, 1.0)),
        ] {
            let (kept, _, _) = absorb_parts(numbered(vec![larger, part]));
            let found: Vec<usize> = kept.iter().map(|(i, _)| *i).collect();
            assert_eq!(found, [0], "{kept:?}");
        }
    }

    /// Findings numbered as the candidates they came from.
    fn numbered(findings: Vec<Finding>) -> Vec<(usize, Finding)> {
        findings.into_iter().enumerate().collect()
    }

    #[test]
    fn a_doubtful_large_region_does_not_swallow_a_confident_nodule() {
        // A region grown from a doubtful candidate into a vessel measures
        // 25 mm; a confident 14 mm nodule lies inside its reach, a doubtful
        // blob too. The nodule stays with its own confidence; the blob, less
        // sure than the region, is taken in.
        let (kept, _, _) = absorb_parts(numbered(vec![
            finding(0.0, 25.0, 0.03),
            finding(12.0, 14.0, 0.99),
            finding(-8.0, 5.0, 0.01),
        ]));
        let found: Vec<(f64, f64)> = kept
            .iter()
            .map(|(_, f)| (f.center_lps_mm[0], f.confidence))
            .collect();
        assert_eq!(found, [(0.0, 0.03), (12.0, 0.99)], "{kept:?}");
    }

    #[test]
    fn a_candidate_that_measures_as_nothing_suppresses_no_neighbour() {
        // Two candidates 2 mm apart on one nodule: the more confident one's
        // measurement finds nothing there, its neighbour's finds the nodule.
        // A third, below the floor, is not measured at all.
        let candidates = [0.0, 2.0, 40.0].map(|x| finding(x, 6.0, 0.0).candidate);
        let measured = measured_then_suppressed(&candidates, &[0.9, 0.6, 0.01], 0.05, |c| {
            (c.lps_mm[0] != 0.0).then(|| (finding(2.0, 6.0, 0.6).measurement, [0.0; 3]))
        });
        let kept: Vec<(usize, bool)> = measured.iter().map(|m| (m.0, m.2)).collect();
        assert_eq!(kept, [(1, true)]);
    }

    #[test]
    fn a_suppressed_candidate_is_returned_as_not_kept() {
        // Two candidates 2 mm apart that both measure as the nodule: the less
        // confident one is suppressed, and said to be.
        let candidates = [0.0, 2.0].map(|x| finding(x, 6.0, 0.0).candidate);
        let measured = measured_then_suppressed(&candidates, &[0.6, 0.9], 0.05, |_| {
            Some((finding(1.0, 6.0, 0.6).measurement, [0.0; 3]))
        });
        let kept: Vec<(usize, bool)> = measured.iter().map(|m| (m.0, m.2)).collect();
        assert_eq!(kept, [(1, true), (0, false)]);
    }

    #[test]
    fn a_region_grown_into_the_wall_gives_way_to_one_from_nearer_the_middle() {
        // Lung where x < 8 mm, chest wall beyond. A 17 mm nodule at x = 0 on the
        // wall: the kept candidate lay on its rim (x = 10) and its region ran
        // into the wall, 25 mm centred at x = 4; a suppressed candidate at
        // x = 1 measured the nodule itself. A 24 mm nodule at x = -40 in the
        // lung, measured whole from its rim (x = -50), keeps its measurement,
        // though a candidate at x = -41 measured 14 mm of it: what the larger
        // region holds beyond that lies in the lung. A separate 6 mm nodule at
        // x = 30 keeps its own.
        let candidates = [10.0, 1.0, 32.0, -50.0, -41.0].map(|x| finding(x, 6.0, 0.0).candidate);
        let measurement =
            |x: f64, diameter: f64| (finding(0.0, diameter, 0.0).measurement, [x, 0.0, 0.0]);
        let mut measured = vec![
            (0, measurement(4.0, 25.0), true),
            (2, measurement(30.0, 6.0), true),
            (3, measurement(-40.0, 24.0), true),
            (1, measurement(0.0, 17.0), false),
            (4, measurement(-42.0, 14.0), false),
        ];
        measured_from_the_middle(&mut measured, &candidates, |voxel| voxel, |p| p[0] < 8.0);
        let found: Vec<(usize, f64, f64, bool)> = measured
            .iter()
            .map(|(i, (m, c), kept)| (*i, c[0], m.mean_diameter_mm, *kept))
            .collect();
        assert_eq!(
            found,
            [
                (0, 0.0, 17.0, true),
                (2, 30.0, 6.0, true),
                (3, -40.0, 24.0, true),
                (1, 0.0, 17.0, false),
                (4, -42.0, 14.0, false)
            ]
        );
    }

    #[test]
    fn a_scan_without_lungs_is_not_a_chest_ct() {
        // A large field of view of soft tissue only (an abdomen, say).
        let mut v = volume([128, 128, 64], [3.0, 3.0, 3.0]);
        v.data.iter_mut().for_each(|h| *h = 40);
        let device = hilum_gpu::cpu_backend();
        let detector = Detector::untrained(&device.device);
        let err = detect(&v, &device, &detector, &DetectOptions::default()).unwrap_err();
        assert!(matches!(err, DetectError::NotChest(_)), "{err}");
    }

    /// 1.5 mm iso voxels from the origin, 40 a side; lung in the mask voxels
    /// x < 10 (iso x < 20, patient x < 29.25 mm), 2 iso voxels a mask voxel.
    fn lung_on_the_left_half() -> (Affine, crate::lung::LungMask) {
        let labels = (0..8000).map(|i| u8::from(i % 20 < 10)).collect();
        let mask = crate::lung::LungMask {
            dims: [20; 3],
            factor: 2,
            labels,
            centroid_iso: [20.0; 3],
            volume_ml: 0.0,
        };
        (Affine::axis_aligned([1.5; 3]), mask)
    }

    #[test]
    fn a_finding_centred_outside_the_lungs_is_not_a_lung_nodule() {
        let (iso_affine, mask) = lung_on_the_left_half();
        let at_x = |x: f64| in_lung_mask(&mask, &iso_affine, [x, 30.0, 30.0], LUNG_REACH);
        assert!(at_x(21.0), "in the lung");
        assert!(at_x(31.5), "on the pleura, within a mask voxel of the lung");
        assert!(!at_x(37.5), "in the chest wall");
    }

    /// A CT volume on the box of [`lung_on_the_left_half`]: lung (−850 HU)
    /// at x < 29.25 mm, chest wall (40 HU) beyond, and in the lung what
    /// `nodule` puts at a position (mm).
    fn lung_and_wall(nodule: impl Fn([f64; 3]) -> Option<i16>) -> Volume {
        let mut v = volume([40, 40, 40], [1.5; 3]);
        for k in 0..40 {
            for j in 0..40 {
                for i in 0..40 {
                    let p = [i, j, k].map(|c| c as f64 * 1.5);
                    v.data[i + 40 * (j + 40 * k)] = if p[0] >= 29.25 {
                        40
                    } else {
                        nodule(p).unwrap_or(-850)
                    };
                }
            }
        }
        v
    }

    /// A candidate at `x` (mm) on the line y = z = 30 mm of [`lung_and_wall`],
    /// its blob 4.5 mm in radius, and the volume voxel it seeds.
    fn candidate_at(v: &Volume, x: f64) -> (Candidate, [f64; 3]) {
        let candidate = Candidate {
            zyx: [0; 3],
            lps_mm: [x, 30.0, 30.0],
            blob_score: 1.0,
            radius_mm: 4.5,
        };
        let seed = v.affine.lps_to_voxel(candidate.lps_mm).unwrap();
        (candidate, seed)
    }

    #[test]
    fn a_region_grown_into_the_chest_wall_measures_as_nothing() {
        let (iso_affine, mask) = lung_on_the_left_half();
        // A 9 mm solid nodule in the lung.
        let v = lung_and_wall(|p| (norm(sub(p, [15.0, 30.0, 30.0])) <= 4.5).then_some(40));
        let measured =
            |x: f64| measured_in_lung(&v, &mask, &iso_affine, &candidate_at(&v, x).0, false);
        let (nodule, _) = measured(15.0).expect("the nodule");
        assert!((nodule.mean_diameter_mm - 9.0).abs() < 1.5, "{nodule:?}");
        // Seeded in the wall, a region is measured, centred in the wall.
        let (_, in_wall) = candidate_at(&v, 40.0);
        assert!(crate::measure::measure(&v, in_wall, 4.5, false).is_some());
        assert_eq!(measured(40.0), None);
    }

    #[test]
    fn ground_glass_on_the_pleura_is_measured_though_the_wall_beside_it_is_brighter() {
        let (iso_affine, mask) = lung_on_the_left_half();
        // A 9 mm ground-glass nodule touching the wall, and a candidate on
        // it one voxel from the wall.
        let centre = [24.75, 30.0, 30.0];
        let v = lung_and_wall(|p| (norm(sub(p, centre)) <= 4.5).then_some(-500));
        let (candidate, seed) = candidate_at(&v, 28.5);
        // From the brightest voxel near it, the wall's, the wall is measured.
        let (wall, centroid) = crate::measure::measure(&v, seed, 4.5, false).unwrap();
        let at = v.affine.voxel_to_lps(centroid);
        assert!(
            !in_lung_mask(&mask, &iso_affine, at, LUNG_REACH),
            "{wall:?} at {at:?}"
        );
        // Measured again from the candidate's own voxel: the nodule.
        let (nodule, centroid) =
            measured_in_lung(&v, &mask, &iso_affine, &candidate, false).expect("the nodule");
        assert_eq!(
            nodule.kind,
            hilum_core::NoduleKind::GroundGlass,
            "{nodule:?}"
        );
        assert!((nodule.mean_diameter_mm - 9.0).abs() < 1.5, "{nodule:?}");
        let off = norm(sub(v.affine.voxel_to_lps(centroid), centre));
        assert!(off < 1.0, "centred {off:.2} mm off");
    }

    #[test]
    fn on_an_enhanced_scan_a_region_centred_in_a_large_vessel_is_not_a_lung_nodule() {
        let (iso_affine, mask) = lung_on_the_left_half();
        // A contrast-filled vessel (300 HU, 12 mm across) along y through the lung.
        let on_axis = |p: [f64; 3]| norm([p[0] - 15.0, 0.0, p[2] - 30.0]);
        let v = lung_and_wall(|p| (on_axis(p) <= 6.0).then_some(300));
        let region = |kind, x: f64| {
            let mut m = finding(x, 15.0, 0.5).measurement;
            m.kind = kind;
            (m, v.affine.lps_to_voxel([x, 30.0, 30.0]).unwrap())
        };
        let centred_in_lung =
            |enhanced, m: &Measured| centred_in_lung(&v, &mask, &iso_affine, enhanced, m);
        let part_solid_in_vessel = region(hilum_core::NoduleKind::PartSolid, 15.0);
        assert!(!centred_in_lung(true, &part_solid_in_vessel));
        // Without contrast only calcium is that dense: measured as before.
        assert!(centred_in_lung(false, &part_solid_in_vessel));
        // A calcification stays; so does a region centred in the lung beside it.
        assert!(centred_in_lung(
            true,
            &region(hilum_core::NoduleKind::Calcified, 15.0)
        ));
        assert!(centred_in_lung(
            true,
            &region(hilum_core::NoduleKind::PartSolid, 24.0)
        ));
    }

    #[test]
    fn a_speck_beside_the_wall_is_not_what_a_large_blob_saw() {
        let (iso_affine, mask) = lung_on_the_left_half();
        // A 3 mm speck of ground glass touching the wall, and a candidate on
        // it whose blob filter saw something 9 mm across.
        let v = lung_and_wall(|p| (norm(sub(p, [27.75, 30.0, 30.0])) <= 1.5).then_some(-500));
        let (candidate, seed) = candidate_at(&v, 28.5);
        let speck = crate::measure::measure_seeded(&v, seed, 4.5, false, Seed::Centre);
        assert!(
            speck
                .as_ref()
                .is_some_and(|(m, _)| m.mean_diameter_mm < 4.5),
            "{speck:?}"
        );
        assert_eq!(
            measured_in_lung(&v, &mask, &iso_affine, &candidate, false),
            None
        );
    }
}
