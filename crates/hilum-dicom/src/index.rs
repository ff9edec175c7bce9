//! Indexing: every DICOM file under a path, grouped into studies and series,
//! from headers alone.

use crate::error::FileError;
use crate::header::{read_header, FileHeader};
use dicom_dictionary_std::uids;
use hilum_core::{analyse_stack, SliceGeometry, StackLayout};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Default)]
pub struct Index {
    pub studies: Vec<Study>,
    /// Files that are not usable, each with its reason.
    pub errors: Vec<FileError>,
    /// Files that are evidently not DICOM (reader XML, notes, …), passed over.
    pub skipped: Vec<FileError>,
    pub files_seen: usize,
}

#[derive(Debug)]
pub struct Study {
    pub study_instance_uid: String,
    pub patient_name: String,
    pub patient_id: String,
    pub study_date: String,
    pub description: String,
    pub series: Vec<Series>,
}

#[derive(Clone, Debug)]
pub struct Series {
    pub series_instance_uid: String,
    pub study_instance_uid: String,
    pub modality: String,
    pub number: Option<i32>,
    pub description: String,
    pub sop_class_uid: String,
    /// Every file of the series, images or not, in path order.
    pub files: Vec<FileHeader>,
}

impl Series {
    pub fn image_files(&self) -> impl Iterator<Item = &FileHeader> {
        self.files.iter().filter(|f| f.image.is_some())
    }
    pub fn is_image_series(&self) -> bool {
        self.image_files().next().is_some()
    }
    /// Every image frame's geometry, in file order then frame order.
    pub fn frame_geometries(&self) -> Vec<SliceGeometry> {
        self.image_files()
            .flat_map(|f| f.image.iter().flat_map(|i| i.frames.iter()))
            .map(|fr| fr.geometry.clone())
            .collect()
    }
    /// The voxel grid these slices form, with every geometry problem.
    pub fn layout(&self) -> StackLayout {
        analyse_stack(&self.frame_geometries())
    }
}

impl Index {
    /// The first series with images, in study date and series number order.
    pub fn first_image_series(&self) -> Option<&Series> {
        self.studies
            .iter()
            .flat_map(|s| &s.series)
            .find(|s| s.is_image_series())
    }
}

/// Lists the candidate files under `path` (or `path` itself), sorted.
fn candidate_files(path: &Path, errors: &mut Vec<FileError>) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(path).follow_links(true) {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let name = e.file_name().to_string_lossy();
                // Hidden files and the media directory are not images.
                if !name.starts_with('.') && name != "DICOMDIR" {
                    files.push(e.into_path());
                }
            }
            Ok(_) => {}
            Err(e) => {
                let p = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| path.into());
                errors.push(FileError::new(p, e));
            }
        }
    }
    files.sort();
    files
}

/// Indexes a file, a series folder or a whole tree, reading headers only and in
/// parallel. `progress(done, total)` is called as files are read.
pub fn index_path(path: &Path, progress: &(dyn Fn(usize, usize) + Sync)) -> Index {
    let mut errors = Vec::new();
    if !path.exists() {
        errors.push(FileError::new(path, "no such file or folder"));
        return Index {
            errors,
            ..Index::default()
        };
    }
    let files = candidate_files(path, &mut errors);
    let total = files.len();
    let done = AtomicUsize::new(0);
    let results: Vec<Result<FileHeader, FileError>> = files
        .par_iter()
        .map(|f| {
            let r = read_header(f);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            r
        })
        .collect();

    let mut skipped = Vec::new();
    let mut studies: BTreeMap<String, Study> = BTreeMap::new();
    let mut series_of: BTreeMap<(String, String), Series> = BTreeMap::new();
    for r in results {
        let h = match r {
            Ok(h) if h.sop_class_uid == uids::MEDIA_STORAGE_DIRECTORY_STORAGE => continue,
            Ok(h) => h,
            Err(e) if is_other_format(&e.path) => {
                skipped.push(FileError::new(&e.path, "not a DICOM file"));
                continue;
            }
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        studies
            .entry(h.study_instance_uid.clone())
            .or_insert_with(|| Study {
                study_instance_uid: h.study_instance_uid.clone(),
                patient_name: h.patient_name.clone(),
                patient_id: h.patient_id.clone(),
                study_date: h.study_date.clone(),
                description: h.study_description.clone(),
                series: Vec::new(),
            });
        series_of
            .entry((h.study_instance_uid.clone(), h.series_instance_uid.clone()))
            .or_insert_with(|| Series {
                series_instance_uid: h.series_instance_uid.clone(),
                study_instance_uid: h.study_instance_uid.clone(),
                modality: h.modality.clone(),
                number: h.series_number,
                description: h.series_description.clone(),
                sop_class_uid: h.sop_class_uid.clone(),
                files: Vec::new(),
            })
            .files
            .push(h);
    }
    for ((study_uid, _), series) in series_of {
        if let Some(study) = studies.get_mut(&study_uid) {
            study.series.push(series);
        }
    }
    let mut studies: Vec<Study> = studies.into_values().collect();
    for s in &mut studies {
        s.series
            .sort_by_key(|x| (x.number.unwrap_or(i32::MAX), x.series_instance_uid.clone()));
    }
    studies.sort_by(|a, b| {
        (&a.study_date, &a.study_instance_uid).cmp(&(&b.study_date, &b.study_instance_uid))
    });
    Index {
        studies,
        errors,
        skipped,
        files_seen: total,
    }
}

/// A file that failed to parse and is plainly another format by its name and
/// first bytes. Anything else (a `.dcm`, or no extension) stays an error.
fn is_other_format(path: &Path) -> bool {
    const OTHER: &[&str] = &[
        "xml", "txt", "json", "csv", "tsv", "md", "html", "htm", "pdf", "png", "jpg", "jpeg",
        "gif", "bmp", "tif", "tiff", "zip", "gz", "nii", "mhd", "raw", "ini", "log", "db",
    ];
    let known_other = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| OTHER.contains(&e.to_ascii_lowercase().as_str()));
    known_other && !crate::header::has_dicom_marker(path)
}
