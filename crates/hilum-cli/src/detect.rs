//! `hilum detect PATH [--json FILE] [--min-confidence X]` (schema hilum.detections/1).

use crate::progress::{Progress, StageLine};
use crate::Outcome;
use hilum_core::{Lobe, LungRads, NoduleKind};
use hilum_detect::{detect_observed, weights, DetectOptions, DetectResult, StageTimes};
use hilum_dicom::{index_path, load_series, FileError};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

pub const NOTICE: &str =
    "Decision support, not diagnosis: every finding must be reviewed by a clinician.";

#[derive(clap::Args)]
pub struct Args {
    /// A file, a series folder or any folder tree; every CT series in it is read.
    path: PathBuf,
    /// Write JSON (schema hilum.detections/1) to FILE ("-" for stdout).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Keep findings at or above this confidence; 0 lists every scored candidate.
    #[arg(long, default_value_t = 0.5)]
    min_confidence: f64,
}

#[derive(Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub notice: &'static str,
    pub series: Vec<SeriesReport>,
    pub errors: Vec<FileError>,
}

#[derive(Serialize)]
pub struct Timing {
    pub load: f64,
    pub detect: f64,
    pub total: f64,
    pub stages: StageTimes,
}

#[derive(Serialize)]
pub struct SeriesReport {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub patient_id: String,
    pub device: String,
    /// Which trained detector: built in (with its fingerprint) or HILUM_MODEL's files.
    pub detector: String,
    pub timing_ms: Timing,
    pub lung_volume_ml: f64,
    pub candidates: usize,
    pub lung_rads: LungRads,
    pub management: &'static str,
    pub nodules: Vec<NoduleReport>,
}

#[derive(Serialize)]
pub struct NoduleReport {
    pub id: usize,
    pub center_lps_mm: [f64; 3],
    pub diameter_mm: f64,
    pub long_axis_mm: f64,
    pub short_axis_mm: f64,
    pub volume_mm3: f64,
    pub kind: NoduleKind,
    pub solid_diameter_mm: Option<f64>,
    pub lobe: Option<Lobe>,
    pub confidence: f64,
    pub lung_rads: LungRads,
    /// Index of the slice through the nodule's largest axial area, in the
    /// series ordered along the slice normal (0 = first, usually most inferior).
    pub slice_index: usize,
    pub mean_hu: f64,
}

fn r(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

pub fn nodule_reports(result: &DetectResult) -> Vec<NoduleReport> {
    result
        .findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let m = &f.measurement;
            NoduleReport {
                id: i + 1,
                center_lps_mm: f.center_lps_mm.map(|c| r(c, 1)),
                diameter_mm: r(m.mean_diameter_mm, 1),
                long_axis_mm: r(m.long_axis_mm, 1),
                short_axis_mm: r(m.short_axis_mm, 1),
                volume_mm3: r(m.volume_mm3, 0),
                kind: m.kind,
                solid_diameter_mm: m.solid_diameter_mm.map(|d| r(d, 1)),
                lobe: f.lobe,
                confidence: r(f.confidence, 3),
                lung_rads: f.lung_rads,
                slice_index: m.slice_index,
                mean_hu: r(m.mean_hu, 0),
            }
        })
        .collect()
}

/// The compute device, the detector `HILUM_MODEL` names (the built-in one
/// unless set) loaded on it, and that detector's name for every output. Named
/// once: the built-in detector's name hashes its weights.
pub(crate) fn device_and_detector(
) -> anyhow::Result<(hilum_gpu::ComputeDevice, weights::Detector, String)> {
    let device = hilum_gpu::choose().map_err(|e| anyhow::anyhow!(e))?;
    let source = weights::Source::from_env();
    let model = source
        .load(&device.device)
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok((device, model, source.describe()))
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let progress = Progress::new("indexing");
    let index = index_path(&args.path, &|d, t| progress.update(d, t));
    let mut errors = index.errors.clone();
    let (device, model, detector) = device_and_detector()?;
    eprintln!("device: {}; detector: {detector}", device.label);
    let options = DetectOptions {
        min_confidence: args.min_confidence,
        ..DetectOptions::default()
    };
    let mut reports = Vec::new();
    let image_series = index
        .studies
        .iter()
        .flat_map(|s| &s.series)
        .filter(|s| s.is_image_series())
        .count();
    let stage_line = StageLine::new();
    let mut series_number = 0;
    for study in &index.studies {
        for series in &study.series {
            if !series.is_image_series() {
                continue;
            }
            series_number += 1;
            // In a batch, which series of how many.
            let of = if image_series > 1 {
                format!(" [{series_number}/{image_series}]")
            } else {
                String::new()
            };
            let first = series.files[0].path.clone();
            let label = first.parent().unwrap_or(&first).to_path_buf();
            if series.modality != "CT" {
                eprintln!(
                    "skipped: {}: {} series, not CT",
                    label.display(),
                    series.modality
                );
                continue;
            }
            let t0 = Instant::now();
            let loaded = match load_series(series) {
                Ok(l) => l,
                Err(e) => {
                    errors.push(FileError::new(&label, e));
                    continue;
                }
            };
            let load_ms = t0.elapsed().as_secs_f64() * 1e3;
            let t1 = Instant::now();
            eprintln!(
                "detecting{of}: {} ({} slices)",
                label.display(),
                loaded.volume.dims[2]
            );
            let detected = detect_observed(
                &loaded.volume,
                &device,
                &model,
                &options,
                &|stage, fraction| {
                    stage_line.show(&format!("detecting{of}: "), stage, fraction);
                    true
                },
            );
            stage_line.clear();
            let result = match detected {
                Ok(r) => r,
                Err(e) => {
                    errors.push(FileError::new(
                        &label,
                        format!("series {}: {e}", series.series_instance_uid),
                    ));
                    continue;
                }
            };
            let detect_ms = t1.elapsed().as_secs_f64() * 1e3;
            // The next series of the batch reuses this volume's memory.
            hilum_dicom::recycle(loaded.volume);
            reports.push(SeriesReport {
                study_instance_uid: study.study_instance_uid.clone(),
                series_instance_uid: series.series_instance_uid.clone(),
                patient_id: study.patient_id.clone(),
                device: device.label.clone(),
                detector: detector.clone(),
                timing_ms: Timing {
                    load: r(load_ms, 0),
                    detect: r(detect_ms, 0),
                    total: r(load_ms + detect_ms, 0),
                    stages: result.times.clone(),
                },
                lung_volume_ml: r(result.lung_volume_ml, 0),
                candidates: result.candidates,
                lung_rads: result.lung_rads,
                management: result.lung_rads.management(),
                nodules: nodule_reports(&result),
            });
        }
    }
    // With --json -, stdout carries the JSON alone; the summary goes to stderr.
    let json_on_stdout = args.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let say = |line: String| {
        if json_on_stdout {
            eprintln!("{line}")
        } else {
            println!("{line}")
        }
    };
    for rep in &reports {
        say(format!(
            "{} series {}: Lung-RADS {} ({}), {} finding(s), {:.1} s on {}",
            rep.patient_id,
            rep.series_instance_uid,
            rep.lung_rads,
            rep.management,
            rep.nodules.len(),
            rep.timing_ms.total / 1e3,
            rep.device
        ));
        for n in &rep.nodules {
            say(format!(
                "  #{:<2} {:>5.1} mm {:<12} {:<4} confidence {:.2}  LPS ({:.1}, {:.1}, {:.1})  slice {}  Lung-RADS {}",
                n.id,
                n.diameter_mm,
                n.kind.to_string(),
                n.lobe.map(|l| l.to_string()).unwrap_or_else(|| "?".into()),
                n.confidence,
                n.center_lps_mm[0],
                n.center_lps_mm[1],
                n.center_lps_mm[2],
                n.slice_index,
                n.lung_rads
            ));
        }
    }
    say(NOTICE.to_string());
    if reports.is_empty() && errors.is_empty() {
        // An empty folder, or one of other series only: say so, not just exit 2.
        errors.push(FileError::new(&args.path, "no CT image series found"));
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    let report = Report {
        schema: "hilum.detections/1",
        notice: NOTICE,
        series: reports,
        errors,
    };
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)? + "\n";
        if path.as_os_str() == "-" {
            print!("{text}");
        } else {
            let tmp = path.with_extension("json.partial");
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, path)?;
        }
    }
    Ok(if report.series.is_empty() {
        Outcome::Failed
    } else if !report.errors.is_empty() {
        Outcome::Partial
    } else {
        Outcome::Ok
    })
}
