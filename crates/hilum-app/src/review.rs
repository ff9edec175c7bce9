//! The clinician's review of one series' findings: what the detector proposed,
//! what was accepted, rejected, edited or added by hand. Saved per series in the
//! app's data folder and restored when the study is opened again. Only accepted
//! findings ever reach a report.

use hilum_core::{categorize, study_category, Lobe, LungRads, NoduleKind};
use hilum_detect::Finding;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Accepted,
    Rejected,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Detector,
    Clinician,
}

/// One finding under review. Sizes are mm, the centre is patient LPS mm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewedFinding {
    pub id: u32,
    pub source: Source,
    pub status: Status,
    /// True once a clinician changed size, kind or lobe.
    pub edited: bool,
    pub center_lps_mm: [f64; 3],
    pub diameter_mm: f64,
    pub long_axis_mm: f64,
    pub short_axis_mm: f64,
    pub volume_mm3: Option<f64>,
    pub kind: NoduleKind,
    pub solid_diameter_mm: Option<f64>,
    pub lobe: Option<Lobe>,
    /// The detector's confidence; `None` for a nodule a clinician added.
    pub confidence: Option<f64>,
    pub lung_rads: LungRads,
    /// The axial slice (0-based, along the slice normal) through its largest area.
    pub slice_index: usize,
    pub mean_hu: Option<f64>,
}

/// What a clinician may change on a finding.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Edit {
    pub long_axis_mm: Option<f64>,
    pub short_axis_mm: Option<f64>,
    pub kind: Option<NoduleKind>,
    pub solid_diameter_mm: Option<f64>,
    /// `Some(None)` clears the lobe.
    #[serde(default, with = "double_option")]
    pub lobe: Option<Option<Lobe>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A nodule a clinician measured that the detector missed.
#[derive(Clone, Debug, Deserialize)]
pub struct Manual {
    pub center_lps_mm: [f64; 3],
    pub long_axis_mm: f64,
    pub short_axis_mm: Option<f64>,
    pub kind: Option<NoduleKind>,
    pub lobe: Option<Lobe>,
    pub slice_index: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectionRun {
    pub device: String,
    /// Which trained detector found them (reviews saved before it was recorded have none).
    #[serde(default)]
    pub detector: String,
    pub seconds: f64,
    pub candidates: usize,
}

/// The review of one series.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub schema: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub findings: Vec<ReviewedFinding>,
    pub detection: Option<DetectionRun>,
    /// The report text as the clinician edited it; `None` while it follows the findings.
    pub report_text: Option<String>,
}

const SCHEMA: &str = "hilum.review/1";

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

impl Review {
    pub fn new(study: &str, series: &str) -> Self {
        Self {
            schema: SCHEMA.into(),
            study_instance_uid: study.into(),
            series_instance_uid: series.into(),
            findings: Vec::new(),
            detection: None,
            report_text: None,
        }
    }

    fn next_id(&self) -> u32 {
        self.findings.iter().map(|f| f.id).max().unwrap_or(0) + 1
    }

    /// Takes a detector run. Findings the clinician already decided on (or
    /// added) stay; pending ones are replaced; a new finding that lies within
    /// a kept one is not added twice.
    pub fn merge_detections(&mut self, findings: &[Finding], run: DetectionRun) {
        self.findings
            .retain(|f| f.status != Status::Pending || f.source == Source::Clinician);
        for f in findings {
            let m = &f.measurement;
            let duplicate = self.findings.iter().any(|k| {
                let d2: f64 = (0..3)
                    .map(|a| (k.center_lps_mm[a] - f.center_lps_mm[a]).powi(2))
                    .sum();
                d2.sqrt() < (k.diameter_mm.max(m.mean_diameter_mm) / 2.0).max(2.0)
            });
            if duplicate {
                continue;
            }
            let id = self.next_id();
            self.findings.push(ReviewedFinding {
                id,
                source: Source::Detector,
                status: Status::Pending,
                edited: false,
                center_lps_mm: f.center_lps_mm.map(|c| round(c, 1)),
                diameter_mm: round(m.mean_diameter_mm, 1),
                long_axis_mm: round(m.long_axis_mm, 1),
                short_axis_mm: round(m.short_axis_mm, 1),
                volume_mm3: Some(round(m.volume_mm3, 0)),
                kind: m.kind,
                solid_diameter_mm: m.solid_diameter_mm.map(|d| round(d, 1)),
                lobe: f.lobe,
                confidence: Some(round(f.confidence, 3)),
                lung_rads: f.lung_rads,
                slice_index: m.slice_index,
                mean_hu: Some(round(m.mean_hu, 0)),
            });
        }
        self.detection = Some(run);
    }

    fn find(&mut self, id: u32) -> Result<&mut ReviewedFinding, String> {
        self.findings
            .iter_mut()
            .find(|f| f.id == id)
            .ok_or_else(|| format!("no finding {id}"))
    }

    pub fn set_status(&mut self, id: u32, status: Status) -> Result<(), String> {
        self.find(id)?.status = status;
        Ok(())
    }

    /// Accepts every pending detector finding at or above `confidence`.
    pub fn accept_all_over(&mut self, confidence: f64) -> usize {
        let mut n = 0;
        for f in &mut self.findings {
            if f.status == Status::Pending && f.confidence.is_some_and(|c| c >= confidence) {
                f.status = Status::Accepted;
                n += 1;
            }
        }
        n
    }

    /// Applies a clinician's edit; the category follows the edited size and kind.
    pub fn edit(&mut self, id: u32, e: &Edit) -> Result<(), String> {
        for v in [e.long_axis_mm, e.short_axis_mm, e.solid_diameter_mm]
            .into_iter()
            .flatten()
        {
            if !(0.5..=300.0).contains(&v) {
                return Err(format!("{v} mm is not a plausible nodule size"));
            }
        }
        let f = self.find(id)?;
        if let Some(l) = e.long_axis_mm {
            f.long_axis_mm = round(l, 1);
        }
        if let Some(s) = e.short_axis_mm {
            f.short_axis_mm = round(s, 1);
        }
        if f.short_axis_mm > f.long_axis_mm {
            std::mem::swap(&mut f.short_axis_mm, &mut f.long_axis_mm);
        }
        if let Some(k) = e.kind {
            f.kind = k;
        }
        if let Some(s) = e.solid_diameter_mm {
            f.solid_diameter_mm = Some(round(s, 1));
        }
        if f.kind != NoduleKind::PartSolid {
            f.solid_diameter_mm = (f.kind == NoduleKind::Solid).then_some(f.diameter_mm);
        }
        if let Some(l) = e.lobe {
            f.lobe = l;
        }
        if e.long_axis_mm.is_some() || e.short_axis_mm.is_some() {
            f.diameter_mm = round((f.long_axis_mm + f.short_axis_mm) / 2.0, 1);
            f.volume_mm3 = None;
            if f.kind == NoduleKind::Solid {
                f.solid_diameter_mm = Some(f.diameter_mm);
            }
        }
        f.lung_rads = categorize(f.kind, f.diameter_mm, f.solid_diameter_mm);
        f.edited = true;
        Ok(())
    }

    /// Adds a nodule a clinician measured; it is accepted by the act of adding it.
    pub fn add(&mut self, m: &Manual) -> Result<u32, String> {
        let long = m.long_axis_mm;
        let short = m.short_axis_mm.unwrap_or(long).min(long);
        if !(1.0..=300.0).contains(&long) {
            return Err(format!("{long:.1} mm is not a plausible nodule size"));
        }
        let kind = m.kind.unwrap_or(NoduleKind::Solid);
        let diameter = round((long + short) / 2.0, 1);
        let solid = (kind == NoduleKind::Solid).then_some(diameter);
        let id = self.next_id();
        self.findings.push(ReviewedFinding {
            id,
            source: Source::Clinician,
            status: Status::Accepted,
            edited: false,
            center_lps_mm: m.center_lps_mm.map(|c| round(c, 1)),
            diameter_mm: diameter,
            long_axis_mm: round(long, 1),
            short_axis_mm: round(short, 1),
            volume_mm3: None,
            kind,
            solid_diameter_mm: solid,
            lobe: m.lobe,
            confidence: None,
            lung_rads: categorize(kind, diameter, solid),
            slice_index: m.slice_index,
            mean_hu: None,
        });
        Ok(id)
    }

    pub fn accepted(&self) -> impl Iterator<Item = &ReviewedFinding> {
        self.findings
            .iter()
            .filter(|f| f.status == Status::Accepted)
    }

    /// The study's category from accepted findings alone.
    pub fn lung_rads(&self) -> LungRads {
        study_category(self.accepted().map(|f| f.lung_rads))
    }

    /// Where this series' review lives under `data_dir`.
    pub fn path(data_dir: &Path, series_uid: &str) -> PathBuf {
        let safe: String = series_uid
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        data_dir.join("reviews").join(format!("{safe}.json"))
    }

    pub fn load(data_dir: &Path, study: &str, series: &str) -> Result<Self, String> {
        let path = Self::path(data_dir, series);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Self>(&bytes)
                .map_err(|e| format!("{}: unreadable review ({e})", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::new(study, series)),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Saves atomically: a temporary file renamed over the old one.
    pub fn save(&self, data_dir: &Path) -> Result<(), String> {
        let path = Self::path(data_dir, &self.series_instance_uid);
        crate::write_atomic(
            &path,
            &serde_json::to_vec_pretty(self).expect("serialisable"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hilum_detect::measure::Measurement;

    fn finding(x: f64, d: f64, confidence: f64) -> Finding {
        Finding {
            center_lps_mm: [x, 10.0, -100.0],
            measurement: Measurement {
                long_axis_mm: d + 1.0,
                short_axis_mm: d - 1.0,
                mean_diameter_mm: d,
                volume_mm3: 100.0,
                kind: NoduleKind::Solid,
                attenuation_kind: NoduleKind::Solid,
                solid_diameter_mm: Some(d),
                slice_index: 40,
                mean_hu: 20.0,
            },
            lobe: Some(Lobe::RUL),
            confidence,
            cnn_logit: 0.0,
            candidate: hilum_detect::Candidate {
                zyx: [0; 3],
                lps_mm: [x, 10.0, -100.0],
                blob_score: 1.0,
                radius_mm: d / 2.0,
            },
            lung_rads: categorize(NoduleKind::Solid, d, Some(d)),
        }
    }

    #[test]
    fn decisions_survive_a_new_detection_run_and_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Review::new("1.2.3", "1.2.3.4");
        r.merge_detections(
            &[finding(-50.0, 9.0, 0.95), finding(60.0, 5.0, 0.4)],
            DetectionRun::default(),
        );
        assert_eq!(r.findings.len(), 2);
        assert_eq!(r.lung_rads(), LungRads::C1, "nothing accepted yet");
        r.set_status(1, Status::Accepted).unwrap();
        r.set_status(2, Status::Rejected).unwrap();
        assert_eq!(r.lung_rads(), LungRads::C4A);
        // A second run finds the same two and a third: decisions stay, no duplicates.
        r.merge_detections(
            &[
                finding(-50.5, 9.0, 0.9),
                finding(60.0, 5.0, 0.4),
                finding(0.0, 7.0, 0.8),
            ],
            DetectionRun::default(),
        );
        assert_eq!(r.findings.len(), 3);
        assert_eq!(r.findings[2].status, Status::Pending);
        r.save(dir.path()).unwrap();
        let back = Review::load(dir.path(), "1.2.3", "1.2.3.4").unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn a_review_saved_before_the_detector_was_recorded_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Review::new("1.2.3", "1.2.3.4");
        let run = DetectionRun {
            device: "burn flex (CPU)".into(),
            detector: "built in".into(),
            seconds: 1.0,
            candidates: 5,
        };
        r.merge_detections(&[finding(-50.0, 9.0, 0.95)], run);
        r.save(dir.path()).unwrap();
        let path = Review::path(dir.path(), "1.2.3.4");
        let mut saved: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(saved["detection"]["detector"], "built in");
        saved["detection"]
            .as_object_mut()
            .unwrap()
            .remove("detector");
        std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
        let back = Review::load(dir.path(), "1.2.3", "1.2.3.4").unwrap();
        assert_eq!(back.detection.unwrap().detector, "");
        assert_eq!(back.findings, r.findings);
    }

    #[test]
    fn edits_recategorise_and_manual_nodules_are_accepted() {
        let mut r = Review::new("s", "t");
        r.merge_detections(&[finding(0.0, 7.0, 0.7)], DetectionRun::default());
        assert_eq!(r.findings[0].lung_rads, LungRads::C3);
        r.edit(
            1,
            &Edit {
                long_axis_mm: Some(17.0),
                short_axis_mm: Some(15.0),
                lobe: Some(None),
                ..Edit::default()
            },
        )
        .unwrap();
        let f = &r.findings[0];
        assert_eq!(
            (f.diameter_mm, f.lung_rads, f.lobe),
            (16.0, LungRads::C4B, None)
        );
        assert!(f.edited);
        assert!(r
            .edit(
                1,
                &Edit {
                    long_axis_mm: Some(-3.0),
                    ..Edit::default()
                }
            )
            .is_err());
        let id = r
            .add(&Manual {
                center_lps_mm: [1.0, 2.0, 3.0],
                long_axis_mm: 6.4,
                short_axis_mm: None,
                kind: Some(NoduleKind::GroundGlass),
                lobe: Some(Lobe::LLL),
                slice_index: 3,
            })
            .unwrap();
        let added = r.findings.iter().find(|f| f.id == id).unwrap();
        assert_eq!(
            (added.status, added.lung_rads),
            (Status::Accepted, LungRads::C2)
        );
        assert_eq!(r.accept_all_over(0.5), 1);
    }
}
