//! `hilum info PATH [--json] [--load]`.

use crate::progress::Progress;
use crate::Outcome;
use hilum_core::{GeometryProblem, Severity};
use hilum_dicom::{index_path, load_series, FileError, Index, Series};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// A DICOM file, a series folder, or any folder tree.
    path: PathBuf,
    /// Print JSON (schema hilum.info/1) instead of text.
    #[arg(long)]
    json: bool,
    /// Also decode every image series into its HU volume and report load time and HU range.
    #[arg(long)]
    load: bool,
}

#[derive(Serialize)]
struct InfoReport {
    schema: &'static str,
    path: PathBuf,
    files_seen: usize,
    studies: Vec<StudyReport>,
    errors: Vec<FileError>,
    skipped: Vec<FileError>,
}

#[derive(Serialize)]
struct StudyReport {
    study_instance_uid: String,
    patient_name: String,
    patient_id: String,
    study_date: String,
    description: String,
    series: Vec<SeriesReport>,
}

#[derive(Serialize)]
struct ProblemReport {
    severity: Severity,
    #[serde(flatten)]
    problem: GeometryProblem,
    message: String,
}

#[derive(Serialize)]
struct SeriesReport {
    series_instance_uid: String,
    modality: String,
    number: Option<i32>,
    description: String,
    sop_class_uid: String,
    files: usize,
    is_image: bool,
    /// Image slices (frames) found in the files.
    slices: usize,
    /// Columns, rows, planes of the voxel grid (planes include interpolated missing slices).
    dims: Option<[usize; 3]>,
    spacing_mm: Option<[f64; 3]>,
    slice_thickness_mm: Option<f64>,
    orientation: Option<[f64; 6]>,
    origin_lps_mm: Option<[f64; 3]>,
    problems: Vec<ProblemReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    load: Option<LoadReport>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LoadReport {
    Loaded {
        load_ms: f64,
        min: i16,
        max: i16,
        mean: f64,
    },
    Failed {
        error: String,
    },
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn series_report(series: &Series, load: bool, errors: &mut Vec<FileError>) -> SeriesReport {
    let geometries = series.frame_geometries();
    let mut report = SeriesReport {
        series_instance_uid: series.series_instance_uid.clone(),
        modality: series.modality.clone(),
        number: series.number,
        description: series.description.clone(),
        sop_class_uid: series.sop_class_uid.clone(),
        files: series.files.len(),
        is_image: series.is_image_series(),
        slices: geometries.len(),
        dims: None,
        spacing_mm: None,
        slice_thickness_mm: geometries.first().and_then(|g| g.slice_thickness),
        orientation: None,
        origin_lps_mm: None,
        problems: Vec::new(),
        note: None,
        load: None,
    };
    if !report.is_image {
        report.note = Some(format!(
            "no pixel data: not an image series (SOP class {})",
            series.sop_class_uid
        ));
        return report;
    }
    let layout = series.layout();
    report.dims = Some([layout.cols, layout.rows, layout.planes.len()]);
    report.spacing_mm = Some(layout.affine.spacing().map(|v| round(v, 4)));
    if let Some(g) = geometries.first() {
        let (r, c) = (g.row_dir, g.col_dir);
        report.orientation = Some([r[0], r[1], r[2], c[0], c[1], c[2]].map(|v| round(v, 6)));
    }
    report.origin_lps_mm = Some(layout.affine.origin.map(|v| round(v, 3)));
    report.problems = layout
        .problems
        .iter()
        .map(|p| ProblemReport {
            severity: p.severity(),
            problem: p.clone(),
            message: p.to_string(),
        })
        .collect();
    if load {
        let t0 = Instant::now();
        report.load = Some(match load_series(series) {
            Ok(loaded) => {
                let ms = t0.elapsed().as_secs_f64() * 1e3;
                let stats = loaded.volume.stats().expect("a loaded volume has voxels");
                // The next series' load reuses this memory.
                hilum_dicom::recycle(loaded.volume);
                LoadReport::Loaded {
                    load_ms: round(ms, 1),
                    min: stats.min,
                    max: stats.max,
                    mean: round(stats.mean, 2),
                }
            }
            Err(e) => {
                if let hilum_dicom::LoadError::File(f) = &e {
                    errors.push(f.clone());
                }
                LoadReport::Failed {
                    error: e.to_string(),
                }
            }
        });
    }
    report
}

fn build_report(path: PathBuf, index: Index, load: bool) -> InfoReport {
    let mut errors = index.errors;
    let skipped = index.skipped;
    let studies = index
        .studies
        .iter()
        .map(|s| StudyReport {
            study_instance_uid: s.study_instance_uid.clone(),
            patient_name: s.patient_name.clone(),
            patient_id: s.patient_id.clone(),
            study_date: s.study_date.clone(),
            description: s.description.clone(),
            series: s
                .series
                .iter()
                .map(|x| series_report(x, load, &mut errors))
                .collect(),
        })
        .collect();
    InfoReport {
        schema: "hilum.info/1",
        path,
        files_seen: index.files_seen,
        studies,
        errors,
        skipped,
    }
}

fn print_text(r: &InfoReport) {
    println!(
        "{}: {} file(s), {} study(ies)",
        r.path.display(),
        r.files_seen,
        r.studies.len()
    );
    for study in &r.studies {
        println!(
            "study {}  patient {} ({})  date {}  {}",
            study.study_instance_uid,
            study.patient_name,
            study.patient_id,
            study.study_date,
            study.description
        );
        for s in &study.series {
            let number = s.number.map(|n| format!("#{n} ")).unwrap_or_default();
            if !s.is_image {
                println!(
                    "  series {number}{} {}: {} file(s), {}",
                    s.modality,
                    s.series_instance_uid,
                    s.files,
                    s.note.as_deref().unwrap_or("not an image series")
                );
                continue;
            }
            let dims = s.dims.unwrap_or_default();
            let sp = s.spacing_mm.unwrap_or_default();
            println!(
                "  series {number}{} {} \"{}\": {} slice(s) in {} file(s), {}×{}×{} voxels, {:.3} × {:.3} × {:.3} mm{}",
                s.modality,
                s.series_instance_uid,
                s.description,
                s.slices,
                s.files,
                dims[0],
                dims[1],
                dims[2],
                sp[0],
                sp[1],
                sp[2],
                s.slice_thickness_mm.map(|t| format!(", thickness {t} mm")).unwrap_or_default()
            );
            if let Some(o) = s.orientation {
                println!(
                    "    orientation [{:.3} {:.3} {:.3} | {:.3} {:.3} {:.3}], origin {:?} mm",
                    o[0],
                    o[1],
                    o[2],
                    o[3],
                    o[4],
                    o[5],
                    s.origin_lps_mm.unwrap_or_default()
                );
            }
            for p in &s.problems {
                println!("    {:?}: {}", p.severity, p.message);
            }
            match &s.load {
                Some(LoadReport::Loaded {
                    load_ms,
                    min,
                    max,
                    mean,
                }) => {
                    println!("    loaded in {load_ms} ms, HU min {min} max {max} mean {mean}")
                }
                Some(LoadReport::Failed { error }) => println!("    load failed: {error}"),
                None => {}
            }
        }
    }
    for e in &r.skipped {
        println!("skipped: {e}");
    }
    for e in &r.errors {
        eprintln!("error: {e}");
    }
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let progress = Progress::new("indexing");
    let index = index_path(&args.path, &|done, total| progress.update(done, total));
    let nothing = index.studies.is_empty();
    let report = build_report(args.path, index, args.load);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        for e in &report.errors {
            eprintln!("error: {e}");
        }
    } else {
        print_text(&report);
    }
    let load_failed = report
        .studies
        .iter()
        .flat_map(|s| &s.series)
        .any(|s| matches!(s.load, Some(LoadReport::Failed { .. })));
    Ok(if nothing {
        Outcome::Failed
    } else if !report.errors.is_empty() || load_failed {
        Outcome::Partial
    } else {
        Outcome::Ok
    })
}
