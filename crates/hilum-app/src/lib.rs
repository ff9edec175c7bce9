//! What the desktop app does, with no transport attached: open a study, render
//! its views on the compute device, run detection in the background with
//! progress and cancel, keep the clinician's review, and write the report text.
//!
//! The Tauri shell (`src-tauri`) and `hilum serve` (the browser build the UI
//! tests drive) are both thin adapters over [`App`]; neither holds logic.

pub mod api;
pub mod report;
pub mod review;
pub mod studies;

use hilum_detect::{detect_observed, weights, DetectError, DetectOptions};
use hilum_gpu::render::{Frame, Plane, ViewRequest, Viewer};
use hilum_gpu::ComputeDevice;
use review::{DetectionRun, Edit, Manual, Review, Status};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;
pub use studies::{SeriesInfo, StudyInfo};

/// Writes `bytes` to `path` through a temporary file and a rename, so readers
/// never see a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = path.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The open series: its geometry, the viewer holding its one copy of the
/// pixels (on the device, or on the host without one), the files to read them
/// again from, and its review.
struct Open {
    series: SeriesInfo,
    source: hilum_dicom::Series,
    dims: [usize; 3],
    affine: hilum_core::Affine,
    viewer: Viewer,
    review: Review,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DetectionStatus {
    pub running: bool,
    pub stage: String,
    /// 0..1
    pub fraction: f64,
    pub error: Option<String>,
    /// Set when a run finished and its findings were merged into the review.
    pub finished: bool,
    pub device: String,
}

/// What the UI shows after opening a study.
#[derive(Clone, Debug, Serialize)]
pub struct Opened {
    pub studies: Vec<StudyInfo>,
    pub study: StudyInfo,
    pub series: SeriesInfo,
    /// One line per file that could not be read, naming the file and the reason.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub load_ms: f64,
    pub renderer: String,
}

/// HU and patient position under the cursor.
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    pub voxel: [usize; 3],
    pub lps_mm: [f64; 3],
    pub hu: i16,
}

#[derive(Clone, Debug, Serialize)]
pub struct ReportView {
    pub text: String,
    /// True when `text` is the clinician's edit rather than the template.
    pub edited: bool,
    pub generated: String,
    pub lung_rads: hilum_core::LungRads,
    pub management: &'static str,
    pub accepted: usize,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Recent {
    pub path: PathBuf,
    pub patient_name: String,
    pub patient_id: String,
    pub study_date: String,
}

/// The review list's operating point: findings at or above the detector's
/// default confidence, the most confident first, at most this many. A reader
/// reviews a short list; the CLI's `--min-confidence 0` still lists them all.
pub const REVIEW_LIMIT: usize = 20;

pub struct App {
    data_dir: PathBuf,
    device: OnceLock<Result<ComputeDevice, String>>,
    index: Mutex<Option<studies::Indexed>>,
    open: Arc<Mutex<Option<Open>>>,
    detection: Arc<Mutex<DetectionStatus>>,
    cancel: Arc<AtomicBool>,
    demo: Mutex<hilum_phantom::PhantomSpec>,
    startup: Mutex<Option<PathBuf>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl App {
    /// `data_dir` holds reviews, recent studies and the demo study.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            device: OnceLock::new(),
            index: Mutex::new(None),
            open: Arc::default(),
            detection: Arc::default(),
            cancel: Arc::default(),
            demo: Mutex::new(hilum_phantom::PhantomSpec::standard(1)),
            startup: Mutex::new(None),
        }
    }

    /// An app on a device chosen by the caller (tests, benchmarks).
    pub fn with_device(data_dir: PathBuf, device: ComputeDevice) -> Self {
        let app = Self::new(data_dir);
        let _ = app.device.set(Ok(device));
        app
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Brings the compute device up on a background thread, so the first study
    /// opens without waiting for the driver (lavapipe takes ~100 ms, a real GPU
    /// more). Calls that need the device meanwhile wait for the same bring-up.
    pub fn warm_up(self: &Arc<Self>) {
        let app = self.clone();
        std::thread::spawn(move || {
            if let Err(e) = app.device() {
                eprintln!("hilum: {e}");
            }
        });
    }

    /// The compute device, opened on first use (`HILUM_DEVICE` overrides).
    pub fn device(&self) -> Result<&ComputeDevice, String> {
        self.device
            .get_or_init(hilum_gpu::open)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A study to open at start (from the command line).
    pub fn set_startup_path(&self, path: Option<PathBuf>) {
        *lock(&self.startup) = path;
    }

    /// The start-up study, once: a reload of the UI then opens the recent one.
    pub fn take_startup_path(&self) -> Option<PathBuf> {
        lock(&self.startup).take()
    }

    /// The demo study's size and seed (standard 512×512×300, seed 1, unless set).
    pub fn set_demo_spec(&self, spec: hilum_phantom::PhantomSpec) {
        *lock(&self.demo) = spec;
    }

    pub fn demo_spec(&self) -> hilum_phantom::PhantomSpec {
        lock(&self.demo).clone()
    }

    /// The demo study (a synthetic chest CT with known nodules), written on first use.
    pub fn demo_path(&self, spec: &hilum_phantom::PhantomSpec) -> Result<PathBuf, String> {
        let [nx, ny, nz] = spec.dims;
        let dir = self
            .data_dir
            .join(format!("demo/phantom-seed-{}-{nx}x{ny}x{nz}", spec.seed));
        // Written again when the generator has changed since.
        hilum_phantom::write_unless_current(
            spec,
            &dir,
            hilum_dicom::write::FileLayout::SingleFrame,
        )
        .map_err(|e| format!("{}: cannot write the demo study: {e}", dir.display()))?;
        Ok(dir)
    }

    /// Indexes `path`, opens its chest CT series (or the largest image series)
    /// and restores that series' review.
    pub fn open_path(&self, path: &Path) -> Result<Opened, String> {
        let indexed = studies::Indexed::new(path);
        let errors = indexed.errors.clone();
        let (study_uid, series_uid) = indexed.default_series().ok_or_else(|| {
            format!(
                "{}: no CT image series found{}",
                path.display(),
                errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )
        })?;
        *lock(&self.index) = Some(indexed);
        let mut opened = self.open_series(&study_uid, &series_uid)?;
        opened.errors = errors;
        self.remember(path, &opened.study);
        Ok(opened)
    }

    /// Opens another series of the indexed studies.
    pub fn open_series(&self, study_uid: &str, series_uid: &str) -> Result<Opened, String> {
        self.cancel_detection();
        let t = Instant::now();
        let index = lock(&self.index);
        let indexed = index.as_ref().ok_or("no study is open")?;
        let (study, series, source, loaded) = indexed.load(study_uid, series_uid)?;
        let studies = indexed.studies.clone();
        drop(index);
        let (dims, affine) = (loaded.volume.dims, loaded.volume.affine);
        let device = self.device()?;
        let viewer = match Viewer::new(device, loaded.volume) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("hilum: rendering on the CPU: {e}");
                Viewer::host(studies::load(&source)?.volume)
            }
        };
        let renderer = if viewer.on_device() {
            device.label.clone()
        } else {
            "host (no wgpu device)".into()
        };
        let review = Review::load(&self.data_dir, &study.study_instance_uid, series_uid)?;
        let warnings = loaded.problems.iter().map(|p| p.to_string()).collect();
        let load_ms = t.elapsed().as_secs_f64() * 1e3;
        *lock(&self.detection) = DetectionStatus::default();
        *lock(&self.open) = Some(Open {
            series: series.clone(),
            source,
            dims,
            affine,
            viewer,
            review,
        });
        Ok(Opened {
            studies,
            study,
            series,
            errors: Vec::new(),
            warnings,
            load_ms,
            renderer,
        })
    }

    pub fn studies(&self) -> Vec<StudyInfo> {
        lock(&self.index)
            .as_ref()
            .map(|i| i.studies.clone())
            .unwrap_or_default()
    }

    /// A small picture of a series' middle slice (lung window).
    pub fn thumbnail(&self, series_uid: &str) -> Result<Frame, String> {
        let index = lock(&self.index);
        index
            .as_ref()
            .ok_or("no study is open")?
            .thumbnail(series_uid)
    }

    fn with_open<T>(&self, f: impl FnOnce(&mut Open) -> Result<T, String>) -> Result<T, String> {
        let mut open = lock(&self.open);
        f(open.as_mut().ok_or("no series is open")?)
    }

    pub fn render(&self, req: &ViewRequest) -> Result<Frame, String> {
        self.with_open(|o| o.viewer.render(req))
    }

    /// The voxel under output pixel (x, y) of a view.
    pub fn probe(&self, plane: Plane, slice: usize, x: usize, y: usize) -> Result<Probe, String> {
        self.with_open(|o| {
            let (w, h, depth) = hilum_gpu::render::plane_dims(o.dims, plane);
            if x >= w || y >= h || slice >= depth {
                return Err("outside the image".into());
            }
            let voxel = hilum_gpu::render::plane_voxel(o.dims, plane, x, y, slice);
            Ok(Probe {
                voxel,
                lps_mm: o.affine.voxel_to_lps(voxel.map(|c| c as f64)),
                hu: o.viewer.voxel(voxel)?,
            })
        })
    }

    /// Starts detection on the open series in the background. Poll
    /// [`App::detection_status`]; [`App::cancel_detection`] stops it. When it
    /// finishes, its findings are merged into the series' review and saved.
    pub fn start_detection(&self) -> Result<(), String> {
        let device = self.device()?.clone();
        // The host copy when the viewer keeps one; otherwise the files, read
        // again on the detection thread (tens of milliseconds from the page
        // cache), so viewing never holds the study twice.
        let (volume, series_uid) = self.with_open(|o| {
            let volume = match o.viewer.host_volume() {
                Some(v) => Ok(v.clone()),
                None => Err(o.source.clone()),
            };
            Ok((volume, o.series.series_instance_uid.clone()))
        })?;
        {
            let mut status = lock(&self.detection);
            if status.running {
                return Err("detection is already running".into());
            }
            *status = DetectionStatus {
                running: true,
                stage: "loading the model".into(),
                device: device.label.clone(),
                ..DetectionStatus::default()
            };
        }
        self.cancel.store(false, Ordering::SeqCst);
        let status = self.detection.clone();
        let cancel = self.cancel.clone();
        let open = self.open.clone();
        let data_dir = self.data_dir.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let detector = weights::Source::from_env();
            let volume = volume.or_else(|source| {
                lock(&status).stage = "reading the series".into();
                studies::load(&source).map(|l| Arc::new(l.volume))
            });
            let outcome = volume.and_then(|volume| {
                detector.load(&device.device).and_then(|model| {
                    detect_observed(
                        &volume,
                        &device,
                        &model,
                        &DetectOptions::default(),
                        &|stage, fraction| {
                            let mut s = lock(&status);
                            s.stage = stage.into();
                            s.fraction = fraction;
                            !cancel.load(Ordering::SeqCst)
                        },
                    )
                    .map_err(|e| match e {
                        DetectError::Cancelled => "cancelled".to_string(),
                        e => e.to_string(),
                    })
                })
            });
            let merged = outcome.and_then(|result| {
                let mut open = lock(&open);
                let o = open
                    .as_mut()
                    .filter(|o| o.series.series_instance_uid == series_uid)
                    .ok_or("the series was closed before detection finished")?;
                o.review.merge_detections(
                    &result.findings[..result.findings.len().min(REVIEW_LIMIT)],
                    DetectionRun {
                        device: device.label.clone(),
                        detector: detector.describe(),
                        seconds: (t.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                        candidates: result.candidates,
                    },
                );
                o.review.save(&data_dir)
            });
            let mut s = lock(&status);
            s.running = false;
            match merged {
                Ok(()) => {
                    s.finished = true;
                    s.fraction = 1.0;
                    s.stage = "done".into();
                }
                Err(e) if e == "cancelled" => s.stage = "cancelled".into(),
                Err(e) => s.error = Some(e),
            }
        });
        Ok(())
    }

    pub fn detection_status(&self) -> DetectionStatus {
        lock(&self.detection).clone()
    }

    pub fn cancel_detection(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Waits for a running detection to end (for the command line and tests).
    pub fn wait_for_detection(&self) -> DetectionStatus {
        loop {
            let s = self.detection_status();
            if !s.running {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn review(&self) -> Result<Review, String> {
        self.with_open(|o| Ok(o.review.clone()))
    }

    /// Changes the review and saves it before answering.
    fn change<T>(
        &self,
        f: impl FnOnce(&mut Review) -> Result<T, String>,
    ) -> Result<Review, String> {
        self.with_open(|o| {
            f(&mut o.review)?;
            o.review.save(&self.data_dir)?;
            Ok(o.review.clone())
        })
    }

    pub fn set_status(&self, id: u32, status: Status) -> Result<Review, String> {
        self.change(|r| r.set_status(id, status))
    }

    pub fn accept_all_over(&self, confidence: f64) -> Result<Review, String> {
        self.change(|r| Ok(r.accept_all_over(confidence)))
    }

    pub fn edit_finding(&self, id: u32, edit: &Edit) -> Result<Review, String> {
        self.change(|r| r.edit(id, edit))
    }

    pub fn add_finding(&self, manual: &Manual) -> Result<Review, String> {
        self.change(|r| r.add(manual))
    }

    /// The report: the clinician's edited text if there is one, otherwise the
    /// template over accepted findings.
    pub fn report(&self) -> Result<ReportView, String> {
        self.with_open(|o| {
            let generated = report::findings_text(&o.review, o.dims[2]);
            let category = o.review.lung_rads();
            Ok(ReportView {
                text: o
                    .review
                    .report_text
                    .clone()
                    .unwrap_or_else(|| generated.clone()),
                edited: o.review.report_text.is_some(),
                generated,
                lung_rads: category,
                management: category.management(),
                accepted: o.review.accepted().count(),
            })
        })
    }

    /// Stores the clinician's text; `None` goes back to the generated text.
    pub fn set_report_text(&self, text: Option<String>) -> Result<ReportView, String> {
        self.change(|r| {
            r.report_text = text;
            Ok(())
        })?;
        self.report()
    }

    fn recent_path(&self) -> PathBuf {
        self.data_dir.join("recent.json")
    }

    /// Recently opened studies, newest first.
    pub fn recent(&self) -> Vec<Recent> {
        std::fs::read(self.recent_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn remember(&self, path: &Path, study: &StudyInfo) {
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut recent = self.recent();
        recent.retain(|r| r.path != path);
        recent.insert(
            0,
            Recent {
                path,
                patient_name: study.patient_name.clone(),
                patient_id: study.patient_id.clone(),
                study_date: study.study_date.clone(),
            },
        );
        recent.truncate(10);
        let bytes = serde_json::to_vec_pretty(&recent).expect("serialisable");
        if let Err(e) = write_atomic(&self.recent_path(), &bytes) {
            eprintln!("hilum: recent studies not saved: {e}");
        }
    }
}
