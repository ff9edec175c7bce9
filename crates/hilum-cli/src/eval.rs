//! `hilum eval`: FROC and CPM (LUNA16 rules) on held-out phantoms, and on an
//! LIDC-IDRI scan against its readers' consensus, with measurement errors.

use crate::Outcome;
use hilum_core::{categorize, LungRads, NoduleKind};
use hilum_detect::{detect, DetectOptions, DetectResult, Fate};
use hilum_eval::lidc::{luna_truth, parse_reader_marks};
use hilum_eval::{best_hits, froc, Detection, ScanTruth, TruthNodule};
use hilum_phantom::generate;
use serde::Serialize;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Number of held-out phantoms (seeds from --first-seed on).
    #[arg(long, default_value_t = 20)]
    phantoms: usize,
    #[arg(long, default_value_t = crate::train::HELD_OUT_SEEDS_FROM)]
    first_seed: u64,
    #[command(flatten)]
    phantom: crate::train::PhantomSet,
    /// Also score an LIDC-IDRI scan folder (slices and reader XML).
    #[arg(long)]
    lidc: Option<PathBuf>,
    /// Write the full report as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Candidates kept per scan (the detector's default unless given), to see
    /// how recall grows with the candidate budget. This and `--second-look`
    /// apply to the phantoms and LIDC alike.
    #[arg(long)]
    max_candidates: Option<usize>,
    /// Candidates scored a second time from all eight mirror images (the
    /// detector's default unless given), to weigh that against its time.
    #[arg(long)]
    second_look: Option<usize>,
}

#[derive(Serialize, Default)]
struct PhantomReport {
    scans: usize,
    nodules_4mm: usize,
    froc: Option<hilum_eval::Froc>,
    sensitivity_at_4fp: f64,
    candidate_recall_4mm: f64,
    candidates_per_scan: f64,
    diameter_abs_error_mm_6mm: Option<f64>,
    diameter_errors_6mm: Vec<f64>,
    /// Every found nodule ≥ 4 mm against its truth, to see where measurement errs.
    measured: Vec<MeasuredNodule>,
    /// Every truth nodule ≥ 4 mm: where the candidate stage ranked it and how
    /// confidently it was found, to see where recall and ranking are lost.
    nodules: Vec<NoduleOutcome>,
    /// Every finding at confidence ≥ 0.5 on no nodule (of any size), to see
    /// what the classifier mistakes for one.
    false_positives: Vec<FalsePositive>,
    kind_accuracy: Option<f64>,
    /// The found nodules' Lung-RADS categories against their truth's.
    lung_rads: Option<CategoryAgreement>,
    lobe_accuracy: Option<f64>,
    seconds_per_scan: f64,
}

/// How often the category a finding gives (from its measured kind and sizes)
/// is the one its nodule's truth gives, and how the others err. Kind errors
/// matter most here: ground glass called part-solid moves a nodule from 2 to
/// 3 or more, a part-solid one called ground glass the other way.
#[derive(Serialize, Debug, PartialEq, Default)]
struct CategoryAgreement {
    nodules: usize,
    same: usize,
    /// Categorised higher than the truth.
    higher: usize,
    /// Of those, raised into 4A or 4B (work-up) from 3 or below.
    raised_into_work_up: usize,
    /// Categorised lower than the truth.
    lower: usize,
    /// Of those, dropped out of 4A or 4B into 3 or below.
    dropped_out_of_work_up: usize,
    accuracy: f64,
}

impl CategoryAgreement {
    /// From (truth, measured) category pairs; none without pairs.
    fn of(pairs: impl IntoIterator<Item = (LungRads, LungRads)>) -> Option<Self> {
        let work_up = |c: LungRads| c >= LungRads::C4A;
        let mut a = Self::default();
        for (truth, measured) in pairs {
            a.nodules += 1;
            match measured.cmp(&truth) {
                std::cmp::Ordering::Equal => a.same += 1,
                std::cmp::Ordering::Greater => {
                    a.higher += 1;
                    a.raised_into_work_up += usize::from(work_up(measured) && !work_up(truth));
                }
                std::cmp::Ordering::Less => {
                    a.lower += 1;
                    a.dropped_out_of_work_up += usize::from(work_up(truth) && !work_up(measured));
                }
            }
        }
        (a.nodules > 0).then(|| Self {
            accuracy: a.same as f64 / a.nodules as f64,
            ..a
        })
    }
}

#[derive(Serialize)]
struct NoduleOutcome {
    seed: u64,
    center_lps_mm: [f64; 3],
    diameter_mm: f64,
    kind: NoduleKind,
    attached: Option<&'static str>,
    /// Rank (0 = strongest) of the first candidate within the nodule's radius.
    candidate_rank: Option<usize>,
    /// Distance from the centre to the nearest candidate, mm.
    nearest_candidate_mm: Option<f64>,
    /// Highest confidence among findings within the nodule's radius.
    confidence: Option<f64>,
    /// That finding's classifier logit (before rescoring).
    cnn_logit: Option<f64>,
    /// Why the nodule is not among those found at 4 FP/scan; none: found.
    missed_at_4fp: Option<Miss>,
    /// What became of the candidate within its radius that the classifier was
    /// surest of (none without one).
    candidate_fate: Option<Fate>,
    /// That candidate's classifier probability.
    candidate_probability: Option<f64>,
    /// Where that candidate's measured nodule is centred, mm from the nodule's centre.
    candidate_measured_off_mm: Option<f64>,
}

/// What became of a nodule's candidate, in words for the table of misses.
fn fate_says(fate: Fate, probability: f64, measured_off_mm: Option<f64>) -> String {
    let off = measured_off_mm.map_or(String::new(), |d| format!(", measured {d:.1} mm off"));
    let what = match fate {
        Fate::NotMeasured => "not measured".into(),
        Fate::NothingMeasured => "measured as nothing in the lungs".into(),
        Fate::Suppressed => format!("suppressed by a surer candidate{off}"),
        Fate::TooSmall => format!("a finding under 3 mm, not reported{off}"),
        Fate::BelowMinimum => format!("below the minimum confidence{off}"),
        Fate::PartOfLarger => format!("taken into a larger finding{off}"),
        Fate::LeakedOffNodule => format!("taken, as leaked, into a nodule's finding{off}"),
        Fate::Finding => format!("a finding{off}"),
    };
    format!("{what} (classifier {probability:.3})")
}

/// Why a nodule is missed at an operating point: the stage that lost it.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum Miss {
    /// No candidate within its radius (and no finding on it).
    NoCandidate,
    /// A candidate within its radius, but no finding centred on it: the
    /// measurement moved or refused it, or suppression took it.
    NoFinding,
    /// A finding on it below the operating point's confidence cut.
    BelowCut,
}

impl Miss {
    fn of(has_candidate: bool, best_hit: Option<f64>, cut: f64, any_found: bool) -> Option<Self> {
        match best_hit {
            Some(c) if any_found && c >= cut => None,
            Some(_) => Some(Self::BelowCut),
            None if has_candidate => Some(Self::NoFinding),
            None => Some(Self::NoCandidate),
        }
    }

    fn says(self) -> &'static str {
        match self {
            Self::NoCandidate => "no candidate",
            Self::NoFinding => "no finding",
            Self::BelowCut => "below the cut",
        }
    }
}

#[derive(Serialize)]
struct FalsePositive {
    seed: u64,
    center_lps_mm: [f64; 3],
    confidence: f64,
    cnn_logit: f64,
    mean_diameter_mm: f64,
    kind: NoduleKind,
    /// Distance to the nearest truth nodule's surface, mm.
    nearest_nodule_surface_mm: Option<f64>,
}

/// Confidence from which a finding off every nodule is listed as a false positive.
const LISTED_FALSE_POSITIVE: f64 = 0.5;

#[derive(Serialize)]
struct MeasuredNodule {
    seed: u64,
    truth_diameter_mm: f64,
    measured_diameter_mm: f64,
    long_axis_mm: f64,
    short_axis_mm: f64,
    truth_kind: NoduleKind,
    measured_kind: NoduleKind,
    /// The solid part's mean diameter (the whole nodule's when solid), mm.
    truth_solid_diameter_mm: Option<f64>,
    measured_solid_diameter_mm: Option<f64>,
    /// Lung-RADS from the truth's kind and sizes, and from the finding's.
    truth_lung_rads: LungRads,
    measured_lung_rads: LungRads,
    attached: Option<&'static str>,
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    hilum_core::geometry::norm(hilum_core::geometry::sub(a, b))
}

/// Phantom nodules smaller than this neither count nor penalise (LUNA16's
/// rules for nodules ≥ 4 mm).
pub const COUNTED_MM: f64 = 4.0;

fn detections(r: &DetectResult) -> Vec<Detection> {
    r.findings
        .iter()
        .map(|f| Detection {
            center_lps_mm: f.center_lps_mm,
            confidence: f.confidence,
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (device, model, detector) = crate::detect::device_and_detector()?;
    eprintln!("evaluating on {}; detector: {detector}", device.label);
    let mut every = DetectOptions {
        min_confidence: 0.0,
        ..DetectOptions::default()
    };
    if let Some(max) = args.max_candidates {
        every.max_candidates = max;
    }
    if let Some(n) = args.second_look {
        every.second_look = n;
    }
    let mut scans = Vec::new();
    let mut rep = PhantomReport::default();
    let (mut recalled, mut kinds, mut kinds_right, mut lobes, mut lobes_right) = (0, 0, 0, 0, 0);
    let mut candidates = 0usize;
    let started = std::time::Instant::now();
    for seed in args.first_seed..args.first_seed + args.phantoms as u64 {
        let p = generate(&args.phantom.spec(seed));
        let result = detect(&p.volume, &device, &model, &every)
            .map_err(|e| anyhow::anyhow!("seed {seed}: {e}"))?;
        candidates += result.candidates;
        let mut truth = ScanTruth {
            detections: detections(&result),
            ..ScanTruth::default()
        };
        for n in &p.truth.nodules {
            let t = TruthNodule {
                center_lps_mm: n.center_lps_mm,
                diameter_mm: n.diameter_mm,
            };
            if n.diameter_mm < COUNTED_MM {
                truth.ignored.push(t);
                continue;
            }
            truth.nodules.push(t);
            let r = n.diameter_mm / 2.0;
            let within =
                |c: &hilum_detect::CandidateOutcome| dist(c.centre_lps_mm, n.center_lps_mm) <= r;
            let candidate_rank = result.candidate_outcomes.iter().position(within);
            let surest = result
                .candidate_outcomes
                .iter()
                .filter(|c| within(c))
                .max_by(|a, b| a.probability.total_cmp(&b.probability));
            if candidate_rank.is_some() {
                recalled += 1;
            }
            // The most confident finding on this nodule, if any, for measurement checks.
            let hit = result
                .findings
                .iter()
                .filter(|f| dist(f.center_lps_mm, n.center_lps_mm) <= r)
                .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
            rep.nodules.push(NoduleOutcome {
                seed,
                center_lps_mm: n.center_lps_mm,
                diameter_mm: n.diameter_mm,
                kind: n.kind,
                attached: n.attached,
                candidate_rank,
                nearest_candidate_mm: result
                    .candidate_outcomes
                    .iter()
                    .map(|c| dist(c.centre_lps_mm, n.center_lps_mm))
                    .min_by(f64::total_cmp),
                confidence: hit.map(|f| f.confidence),
                cnn_logit: hit.map(|f| f.cnn_logit),
                missed_at_4fp: None,
                candidate_fate: surest.map(|c| c.fate),
                candidate_probability: surest.map(|c| c.probability),
                candidate_measured_off_mm: surest
                    .and_then(|c| c.measured_lps_mm)
                    .map(|m| dist(m, n.center_lps_mm)),
            });
            if let Some(f) = hit {
                rep.measured.push(MeasuredNodule {
                    seed,
                    truth_diameter_mm: n.diameter_mm,
                    measured_diameter_mm: f.measurement.mean_diameter_mm,
                    long_axis_mm: f.measurement.long_axis_mm,
                    short_axis_mm: f.measurement.short_axis_mm,
                    truth_kind: n.kind,
                    measured_kind: f.measurement.kind,
                    truth_solid_diameter_mm: n.solid_diameter_mm,
                    measured_solid_diameter_mm: f.measurement.solid_diameter_mm,
                    truth_lung_rads: categorize(n.kind, n.diameter_mm, n.solid_diameter_mm),
                    measured_lung_rads: f.lung_rads,
                    attached: n.attached,
                });
                kinds += 1;
                if f.measurement.kind == n.kind {
                    kinds_right += 1;
                }
                if let Some(l) = f.lobe {
                    lobes += 1;
                    if l == n.lobe {
                        lobes_right += 1;
                    }
                }
            }
        }
        for f in &result.findings {
            let surface = |n: &hilum_phantom::TruthNodule| {
                dist(f.center_lps_mm, n.center_lps_mm) - n.diameter_mm / 2.0
            };
            let nearest = p.truth.nodules.iter().map(surface).min_by(f64::total_cmp);
            if f.confidence >= LISTED_FALSE_POSITIVE && nearest.is_none_or(|d| d > 0.0) {
                rep.false_positives.push(FalsePositive {
                    seed,
                    center_lps_mm: f.center_lps_mm,
                    confidence: f.confidence,
                    cnn_logit: f.cnn_logit,
                    mean_diameter_mm: f.measurement.mean_diameter_mm,
                    kind: f.measurement.kind,
                    nearest_nodule_surface_mm: nearest,
                });
            }
        }
        eprintln!(
            "seed {seed}: {} candidates, {} findings scored, {:.1} s",
            result.candidates,
            result.findings.len(),
            started.elapsed().as_secs_f64()
        );
        scans.push(truth);
    }
    rep.scans = scans.len();
    rep.nodules_4mm = scans.iter().map(|s| s.nodules.len()).sum();
    let f = froc(&scans);
    let at_4fp = |points: &[(f64, f64)], none: f64| {
        points.iter().find(|(r, _)| *r == 4.0).map_or(none, |x| x.1)
    };
    rep.sensitivity_at_4fp = at_4fp(&f.sensitivity_at, 0.0);
    let cut_4fp = at_4fp(&f.confidence_at, 1.0);
    let any_found = rep.sensitivity_at_4fp > 0.0;
    for (n, best) in rep.nodules.iter_mut().zip(best_hits(&scans)) {
        n.missed_at_4fp = Miss::of(n.candidate_rank.is_some(), best, cut_4fp, any_found);
    }
    rep.froc = Some(f);
    rep.candidate_recall_4mm = recalled as f64 / rep.nodules_4mm.max(1) as f64;
    rep.candidates_per_scan = candidates as f64 / rep.scans.max(1) as f64;
    rep.diameter_errors_6mm = rep
        .measured
        .iter()
        .filter(|m| m.truth_diameter_mm >= 6.0)
        .map(|m| m.measured_diameter_mm - m.truth_diameter_mm)
        .collect();
    let e = &rep.diameter_errors_6mm;
    rep.diameter_abs_error_mm_6mm =
        (!e.is_empty()).then(|| e.iter().map(|x| x.abs()).sum::<f64>() / e.len() as f64);
    rep.kind_accuracy = (kinds > 0).then(|| kinds_right as f64 / kinds as f64);
    rep.lung_rads = CategoryAgreement::of(
        rep.measured
            .iter()
            .map(|m| (m.truth_lung_rads, m.measured_lung_rads)),
    );
    rep.lobe_accuracy = (lobes > 0).then(|| lobes_right as f64 / lobes as f64);
    rep.seconds_per_scan = started.elapsed().as_secs_f64() / rep.scans.max(1) as f64;

    // No title claims the seeds are held out: tuning seeds (9000 on) are also
    // refused by training; the seeds say which set this is.
    println!(
        "Phantoms: {} scans (seeds {}..{}, {} with contrast), {} nodules ≥ 4 mm",
        rep.scans,
        args.first_seed,
        args.first_seed + args.phantoms as u64,
        (args.first_seed..args.first_seed + args.phantoms as u64)
            .filter(|&s| args.phantom.spec(s).contrast)
            .count(),
        rep.nodules_4mm
    );
    if let Some(f) = &rep.froc {
        let row = |label: &str, cells: Vec<String>| println!("| {label} | {} |", cells.join(" | "));
        let rates = &f.sensitivity_at;
        row(
            "FP/scan",
            rates.iter().map(|(r, _)| format!("{r}")).collect(),
        );
        println!("|---|{}", "---|".repeat(rates.len()));
        row(
            "sensitivity",
            rates.iter().map(|(_, s)| format!("{s:.3}")).collect(),
        );
        let cuts = &f.confidence_at;
        row(
            "confidence cut",
            cuts.iter().map(|(_, c)| format!("{c:.3}")).collect(),
        );
        println!("CPM {:.3}; sensitivity at 4 FP/scan {:.3}; candidate recall {:.3} with {:.0} candidates/scan", f.cpm, rep.sensitivity_at_4fp, rep.candidate_recall_4mm, rep.candidates_per_scan);
    }
    if let Some(d) = rep.diameter_abs_error_mm_6mm {
        println!(
            "mean |diameter error| for nodules ≥ 6 mm: {d:.2} mm over {} nodules",
            rep.diameter_errors_6mm.len()
        );
    }
    println!(
        "kind accuracy {}, lobe accuracy {} (found nodules); {:.1} s per scan",
        rep.kind_accuracy
            .map_or("n/a".into(), |a| format!("{a:.3}")),
        rep.lobe_accuracy
            .map_or("n/a".into(), |a| format!("{a:.3}")),
        rep.seconds_per_scan
    );

    if let Some(a) = &rep.lung_rads {
        println!(
            "Lung-RADS category of found nodules the truth's: {:.3} ({} of {}); {} higher ({} raised into 4A/4B), {} lower ({} dropped out of 4A/4B)",
            a.accuracy, a.same, a.nodules, a.higher, a.raised_into_work_up, a.lower, a.dropped_out_of_work_up
        );
    }
    print_found_by_site(&rep.nodules);
    print_misses(&rep.nodules, cut_4fp);

    let mut lidc_report = serde_json::Value::Null;
    if let Some(path) = &args.lidc {
        lidc_report = lidc(path, &device, &model, &every)?;
    }
    if let Some(out) = &args.json {
        let all = serde_json::json!({ "schema": "hilum.eval/1", "device": device.label, "detector": detector, "phantom_set": args.phantom.record(), "phantoms": rep, "lidc": lidc_report });
        std::fs::write(out, serde_json::to_string_pretty(&all)? + "\n")?;
    }
    Ok(Outcome::Ok)
}

/// The nodules found at 4 FP/scan by where they sit, as the phantom's truth
/// names it: where a detector is weak hides in the overall figure.
fn print_found_by_site(nodules: &[NoduleOutcome]) {
    let sites = [
        (None, "free in the lung"),
        (Some("vessel"), "on a vessel"),
        (Some("pleura"), "on the pleura"),
        (Some("diaphragm"), "on the diaphragm"),
    ];
    let cells: Vec<String> = sites
        .iter()
        .map(|&(site, label)| {
            let at = nodules.iter().filter(|n| n.attached == site);
            let found = at.clone().filter(|n| n.missed_at_4fp.is_none()).count();
            format!("{label} {found} of {}", at.count())
        })
        .collect();
    println!("found at 4 FP/scan: {}", cells.join(", "));
}

/// The nodules missed at 4 FP/scan, by the stage that lost them, and each
/// with what the detector made of it.
fn print_misses(nodules: &[NoduleOutcome], cut: f64) {
    let missed: Vec<(&NoduleOutcome, Miss)> = nodules
        .iter()
        .filter_map(|n| n.missed_at_4fp.map(|m| (n, m)))
        .collect();
    let count = |m: Miss| missed.iter().filter(|x| x.1 == m).count();
    println!(
        "missed at 4 FP/scan (confidence cut {cut:.3}): {} of {}: {} with no candidate within their radius, {} with a candidate but no finding on them, {} found below the cut",
        missed.len(),
        nodules.len(),
        count(Miss::NoCandidate),
        count(Miss::NoFinding),
        count(Miss::BelowCut)
    );
    if missed.is_empty() {
        return;
    }
    println!("| seed | diameter mm | kind | on | missed | candidate rank | nearest candidate mm | confidence | CNN logit | the surest candidate on it |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    for (n, m) in missed {
        println!(
            "| {} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} |",
            n.seed,
            n.diameter_mm,
            n.kind,
            n.attached.unwrap_or("–"),
            m.says(),
            or_dash(n.candidate_rank.map(|r| r.to_string())),
            or_dash(n.nearest_candidate_mm.map(|d| format!("{d:.1}"))),
            or_dash(n.confidence.map(|c| format!("{c:.3}"))),
            or_dash(n.cnn_logit.map(|l| format!("{l:.2}"))),
            or_dash(
                n.candidate_fate
                    .zip(n.candidate_probability)
                    .map(|(f, p)| fate_says(f, p, n.candidate_measured_off_mm))
            ),
        );
    }
}

fn lidc(
    path: &std::path::Path,
    device: &hilum_gpu::ComputeDevice,
    model: &hilum_detect::Detector,
    every: &DetectOptions,
) -> anyhow::Result<serde_json::Value> {
    let xml_path = crate::lidc::find_xml(path)
        .ok_or_else(|| anyhow::anyhow!("{}: no LIDC reader XML", path.display()))?;
    let index = hilum_dicom::index_path(path, &|_, _| {});
    let series = index
        .first_image_series()
        .ok_or_else(|| anyhow::anyhow!("{}: no image series", path.display()))?;
    let volume = hilum_dicom::load_series(series)?.volume;
    let sp = volume.spacing();
    let marks = parse_reader_marks(&std::fs::read_to_string(&xml_path)?, [sp[0], sp[1]])
        .map_err(|e| anyhow::anyhow!(e))?;
    let (consensus, ignored) = luna_truth(&marks, &volume.affine);
    let result = detect(&volume, device, model, every)?;
    let scan = ScanTruth {
        nodules: consensus
            .iter()
            .map(|c| TruthNodule {
                center_lps_mm: c.center_lps_mm,
                diameter_mm: c.diameter_mm,
            })
            .collect(),
        ignored,
        detections: detections(&result),
    };
    let f = froc(std::slice::from_ref(&scan));
    // For each reader nodule: how many false positives rank above its first hit.
    let mut per_nodule = Vec::new();
    for c in &consensus {
        let mut fps_before = 0;
        let mut found = None;
        for d in &result.findings {
            if dist(d.center_lps_mm, c.center_lps_mm) <= c.diameter_mm / 2.0 {
                found = Some(d);
                break;
            }
            let ignored = scan
                .ignored
                .iter()
                .any(|i| dist(i.center_lps_mm, d.center_lps_mm) <= (i.diameter_mm / 2.0).max(1.5));
            if !ignored {
                fps_before += 1;
            }
        }
        let line = match found {
            Some(d) => {
                println!(
                    "LIDC nodule ({:.1} mm by {} readers): found with confidence {:.3} after {fps_before} false positive(s); measured {:.1} mm ({:+.0} % of the readers' mean), {}",
                    c.diameter_mm, c.readers, d.confidence, d.measurement.mean_diameter_mm,
                    100.0 * (d.measurement.mean_diameter_mm / c.diameter_mm - 1.0), d.measurement.kind
                );
                serde_json::json!({
                    "readers_diameter_mm": c.diameter_mm,
                    "found": true,
                    "confidence": d.confidence,
                    "false_positives_before": fps_before,
                    "measured_diameter_mm": d.measurement.mean_diameter_mm,
                    "long_axis_mm": d.measurement.long_axis_mm,
                })
            }
            None => {
                println!(
                    "LIDC nodule ({:.1} mm by {} readers): not found",
                    c.diameter_mm, c.readers
                );
                serde_json::json!({ "readers_diameter_mm": c.diameter_mm, "found": false })
            }
        };
        per_nodule.push(line);
    }
    println!(
        "LIDC: CPM {:.3} over {} consensus nodule(s), {} candidates",
        f.cpm,
        consensus.len(),
        result.candidates
    );
    Ok(
        serde_json::json!({ "froc": f, "nodules": per_nodule, "candidates": result.candidates, "times": result.times }),
    )
}

#[cfg(test)]
mod tests {
    use super::{CategoryAgreement, Miss};
    use hilum_core::LungRads::*;

    #[test]
    fn category_agreement_counts_work_up_gained_and_lost() {
        assert_eq!(CategoryAgreement::of([]), None);
        let a = CategoryAgreement::of([
            (C2, C2),
            (C2, C3),
            (C2, C4A),
            (C3, C4B),
            (C4A, C4B),
            (C4B, C4A),
            (C4A, C3),
            (C3, C1),
        ])
        .unwrap();
        assert_eq!(
            (a.nodules, a.same, a.higher, a.raised_into_work_up),
            (8, 1, 4, 2)
        );
        assert_eq!((a.lower, a.dropped_out_of_work_up), (3, 1));
        assert_eq!(a.accuracy, 1.0 / 8.0);
    }

    #[test]
    fn a_miss_names_the_stage_that_lost_the_nodule() {
        assert_eq!(Miss::of(true, Some(0.3), 0.2, true), None);
        assert_eq!(
            Miss::of(false, Some(0.2), 0.2, true),
            None,
            "a finding at the cut counts"
        );
        assert_eq!(Miss::of(true, Some(0.1), 0.2, true), Some(Miss::BelowCut));
        assert_eq!(
            Miss::of(true, Some(0.9), 1.0, false),
            Some(Miss::BelowCut),
            "nothing kept"
        );
        assert_eq!(Miss::of(true, None, 0.2, true), Some(Miss::NoFinding));
        assert_eq!(Miss::of(false, None, 0.2, true), Some(Miss::NoCandidate));
    }
}
