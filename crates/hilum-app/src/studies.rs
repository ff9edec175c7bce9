//! The study browser's view of an indexed path: studies and series with what a
//! reader wants to see before opening one, the series opened by default, and
//! thumbnails.

use hilum_core::{Affine, Volume};
use hilum_dicom::{decode_all_frames, index_path, load_series, Index, LoadedSeries, Series};
use hilum_gpu::render::{render_cpu, Frame, Plane, Projection, ViewRequest};
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct StudyInfo {
    pub study_instance_uid: String,
    /// As people read it: "FAMILY, Given".
    pub patient_name: String,
    pub patient_id: String,
    /// YYYY-MM-DD when the header has a valid date.
    pub study_date: String,
    pub description: String,
    pub series: Vec<SeriesInfo>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SeriesInfo {
    pub series_instance_uid: String,
    pub number: Option<i32>,
    pub description: String,
    pub modality: String,
    pub slices: usize,
    /// Columns, rows, slices.
    pub dims: [usize; 3],
    /// Column, row and slice spacing in mm (slice spacing from positions).
    pub spacing_mm: [f64; 3],
    pub affine: Affine,
    /// Screen edges of each plane as patient directions, [left, right, top, bottom].
    pub orientation: Orientation,
    /// Geometry problems, one line each.
    pub problems: Vec<String>,
    /// Whether Hilum can read it for nodules (CT, ≤ 5 mm slices, enough of them).
    pub chest_ct: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Orientation {
    pub axial: [String; 4],
    pub coronal: [String; 4],
    pub sagittal: [String; 4],
}

/// The patient direction a vector points to, as DICOM letters (dominant axis
/// first, e.g. "L", "LP" for an oblique).
pub fn direction_letters(v: [f64; 3]) -> String {
    let names = [('L', 'R'), ('P', 'A'), ('H', 'F')];
    let mut axes: Vec<usize> = (0..3).collect();
    axes.sort_by(|&a, &b| v[b].abs().total_cmp(&v[a].abs()));
    let norm = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt().max(1e-12);
    axes.iter()
        .filter(|&&a| v[a].abs() / norm > 0.25)
        .map(|&a| if v[a] >= 0.0 { names[a].0 } else { names[a].1 })
        .collect()
}

fn neg(v: [f64; 3]) -> [f64; 3] {
    v.map(|c| -c)
}

/// Edge letters of the three planes as [`hilum_gpu::render::plane_voxel`] lays them out.
pub fn orientation(a: &Affine) -> Orientation {
    let (i, j, k) = (a.col_step, a.row_step, a.slice_step);
    let edges = |right: [f64; 3], down: [f64; 3]| {
        [
            direction_letters(neg(right)),
            direction_letters(right),
            direction_letters(neg(down)),
            direction_letters(down),
        ]
    };
    Orientation {
        axial: edges(i, j),
        coronal: edges(i, neg(k)),
        sagittal: edges(j, neg(k)),
    }
}

fn person_name(pn: &str) -> String {
    let parts: Vec<&str> = pn.split('^').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => "(no name)".into(),
        [family] => family.to_string(),
        [family, rest @ ..] => format!("{family}, {}", rest.join(" ")),
    }
}

fn date(d: &str) -> String {
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
    } else {
        d.to_string()
    }
}

fn series_info(s: &Series) -> SeriesInfo {
    let layout = s.layout();
    let dims = [layout.cols, layout.rows, layout.planes.len()];
    let spacing = layout.affine.spacing();
    let chest_ct = s.modality == "CT"
        && !layout.has_errors()
        && dims[2] >= 16
        && spacing[2] <= 5.0
        && spacing[2] > 0.0;
    SeriesInfo {
        series_instance_uid: s.series_instance_uid.clone(),
        number: s.number,
        description: s.description.clone(),
        modality: s.modality.clone(),
        slices: dims[2],
        dims,
        spacing_mm: spacing.map(|v| (v * 1000.0).round() / 1000.0),
        orientation: orientation(&layout.affine),
        affine: layout.affine,
        problems: layout.problems.iter().map(|p| p.to_string()).collect(),
        chest_ct,
    }
}

/// An indexed path, kept while its studies are open.
pub struct Indexed {
    pub index: Index,
    pub studies: Vec<StudyInfo>,
    pub errors: Vec<String>,
}

/// Reads a series' pixels into a volume; errors name the series' folder.
pub fn load(series: &Series) -> Result<LoadedSeries, String> {
    load_series(series).map_err(|e| {
        let first = &series.files[0].path;
        format!("{}: {e}", first.parent().unwrap_or(first).display())
    })
}

impl Indexed {
    pub fn new(path: &Path) -> Self {
        let index = index_path(path, &|_, _| {});
        let studies = index
            .studies
            .iter()
            .map(|st| StudyInfo {
                study_instance_uid: st.study_instance_uid.clone(),
                patient_name: person_name(&st.patient_name),
                patient_id: st.patient_id.clone(),
                study_date: date(&st.study_date),
                description: st.description.clone(),
                series: st
                    .series
                    .iter()
                    .filter(|s| s.is_image_series())
                    .map(series_info)
                    .collect(),
            })
            .filter(|st| !st.series.is_empty())
            .collect();
        let errors = index.errors.iter().map(|e| e.to_string()).collect();
        Self {
            index,
            studies,
            errors,
        }
    }

    /// The chest CT series with the most slices; else the largest image series.
    pub fn default_series(&self) -> Option<(String, String)> {
        self.studies
            .iter()
            .flat_map(|st| st.series.iter().map(move |s| (st, s)))
            .max_by_key(|(_, s)| (s.chest_ct, s.modality == "CT", s.slices))
            .map(|(st, s)| (st.study_instance_uid.clone(), s.series_instance_uid.clone()))
    }

    fn series(&self, series_uid: &str) -> Result<&Series, String> {
        self.index
            .studies
            .iter()
            .flat_map(|st| &st.series)
            .find(|s| s.series_instance_uid == series_uid)
            .ok_or_else(|| format!("no series {series_uid}"))
    }

    pub fn load(
        &self,
        study_uid: &str,
        series_uid: &str,
    ) -> Result<(StudyInfo, SeriesInfo, Series, LoadedSeries), String> {
        let study = self
            .studies
            .iter()
            .find(|s| s.study_instance_uid == study_uid)
            .ok_or_else(|| format!("no study {study_uid}"))?;
        let info = study
            .series
            .iter()
            .find(|s| s.series_instance_uid == series_uid)
            .ok_or_else(|| format!("no series {series_uid} in study {study_uid}"))?;
        let series = self.series(series_uid)?;
        let loaded = load(series)?;
        Ok((study.clone(), info.clone(), series.clone(), loaded))
    }

    /// The middle image of a series in the lung window, at most 96 pixels wide.
    pub fn thumbnail(&self, series_uid: &str) -> Result<Frame, String> {
        let series = self.series(series_uid)?;
        let files: Vec<_> = series.image_files().collect();
        let h = files[files.len() / 2];
        let bytes = std::fs::read(&h.path).map_err(|e| format!("{}: {e}", h.path.display()))?;
        let pixels = decode_all_frames(h, &bytes).map_err(|e| e.to_string())?;
        let img = h.image.as_ref().expect("image files have an image header");
        let (cols, rows) = (img.cols, img.rows);
        let frame_len = cols * rows;
        let mid = pixels.len() / frame_len / 2;
        let step = cols.div_ceil(96).max(rows.div_ceil(96)).max(1);
        let (w, hgt) = (cols / step, rows / step);
        let mut data = Vec::with_capacity(w * hgt);
        for y in 0..hgt {
            for x in 0..w {
                data.push(pixels[mid * frame_len + y * step * cols + x * step]);
            }
        }
        let small = Volume {
            dims: [w, hgt, 1],
            affine: Affine::axis_aligned([1.0, 1.0, 1.0]),
            data,
        };
        Ok(render_cpu(
            &small,
            &ViewRequest {
                plane: Plane::Axial,
                slice: 0,
                projection: Projection::Thin,
                slab: 1,
                level: -600.0,
                width: 1500.0,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_axial_orientation_reads_radiologically() {
        let a = Affine::axis_aligned([0.7, 0.7, 2.5]);
        let o = orientation(&a);
        // Patient's right on the viewer's left, anterior at the top, head up.
        assert_eq!(o.axial, ["R", "L", "A", "P"].map(String::from));
        assert_eq!(o.coronal, ["R", "L", "H", "F"].map(String::from));
        assert_eq!(o.sagittal, ["A", "P", "H", "F"].map(String::from));
        assert_eq!(direction_letters([0.7, 0.7, 0.1]), "LP");
    }

    #[test]
    fn names_and_dates_read_as_people_write_them() {
        assert_eq!(person_name("PHANTOM^SEED 1"), "PHANTOM, SEED 1");
        assert_eq!(person_name(""), "(no name)");
        assert_eq!(date("20260101"), "2026-01-01");
    }
}
