//! Writing a volume as a DICOM CT series (used by the phantom, and by tests that
//! need real files). Every file is written under a temporary name and renamed,
//! so a reader never sees half a file.

use crate::uid;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use hilum_core::{geometry, Volume};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Who and what the series is about: the identifying attributes written to every file.
#[derive(Clone, Debug)]
pub struct SeriesMeta {
    pub patient_name: String,
    pub patient_id: String,
    pub patient_sex: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub study_date: String,
    pub study_time: String,
    pub study_id: String,
    pub accession_number: String,
    pub study_description: String,
    pub series_description: String,
    pub series_number: i32,
    pub manufacturer: String,
    pub model_name: String,
    pub kvp: f64,
    pub slice_thickness_mm: f64,
    /// Written to ImageComments on every image.
    pub comment: String,
    /// The intravenous contrast agent, if any: the Contrast/Bolus module of
    /// each CT Image Storage file (the Enhanced CT layout does not write its
    /// coded counterpart).
    pub contrast_agent: Option<String>,
}

/// How the series is laid out in files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileLayout {
    /// One CT Image Storage file per slice (the common case; validated by dciodvfy).
    SingleFrame,
    /// One Enhanced CT Image Storage file with a frame per slice.
    EnhancedMultiFrame,
}

/// Stored values are unsigned 12-bit with intercept −1024, as most scanners write.
const INTERCEPT: f64 = -1024.0;
const STORED_MAX: i32 = 4095;

fn hu_to_stored(hu: i16) -> u16 {
    (i32::from(hu) - INTERCEPT as i32).clamp(0, STORED_MAX) as u16
}

/// A decimal string (DS) of at most 16 characters.
fn ds(v: f64) -> String {
    for precision in (0..=6).rev() {
        let s = format!("{v:.precision$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        let s = if s == "-0" { "0".to_string() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{v:.0}")
}

fn strs(values: impl IntoIterator<Item = String>) -> PrimitiveValue {
    PrimitiveValue::Strs(values.into_iter().collect())
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

fn put_sequence(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn common_attributes(meta: &SeriesMeta, sop_class: &str) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put(&mut o, tags::STUDY_DATE, VR::DA, meta.study_date.as_str());
    put(&mut o, tags::SERIES_DATE, VR::DA, meta.study_date.as_str());
    put(&mut o, tags::CONTENT_DATE, VR::DA, meta.study_date.as_str());
    put(&mut o, tags::STUDY_TIME, VR::TM, meta.study_time.as_str());
    put(&mut o, tags::SERIES_TIME, VR::TM, meta.study_time.as_str());
    put(&mut o, tags::CONTENT_TIME, VR::TM, meta.study_time.as_str());
    put(
        &mut o,
        tags::ACCESSION_NUMBER,
        VR::SH,
        meta.accession_number.as_str(),
    );
    put(&mut o, tags::MODALITY, VR::CS, "CT");
    put(
        &mut o,
        tags::MANUFACTURER,
        VR::LO,
        meta.manufacturer.as_str(),
    );
    put(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put(
        &mut o,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        meta.study_description.as_str(),
    );
    put(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        meta.series_description.as_str(),
    );
    put(
        &mut o,
        tags::MANUFACTURER_MODEL_NAME,
        VR::LO,
        meta.model_name.as_str(),
    );
    put(
        &mut o,
        tags::PATIENT_NAME,
        VR::PN,
        meta.patient_name.as_str(),
    );
    put(&mut o, tags::PATIENT_ID, VR::LO, meta.patient_id.as_str());
    put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "");
    put(&mut o, tags::PATIENT_SEX, VR::CS, meta.patient_sex.as_str());
    put(&mut o, tags::BODY_PART_EXAMINED, VR::CS, "CHEST");
    put(&mut o, tags::KVP, VR::DS, ds(meta.kvp));
    put(&mut o, tags::PATIENT_POSITION, VR::CS, "FFS");
    put(
        &mut o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        meta.study_instance_uid.as_str(),
    );
    put(
        &mut o,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        meta.series_instance_uid.as_str(),
    );
    put(&mut o, tags::STUDY_ID, VR::SH, meta.study_id.as_str());
    put(
        &mut o,
        tags::SERIES_NUMBER,
        VR::IS,
        meta.series_number.to_string(),
    );
    put(&mut o, tags::ACQUISITION_NUMBER, VR::IS, "1");
    put(
        &mut o,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        meta.frame_of_reference_uid.as_str(),
    );
    put(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    put(&mut o, tags::IMAGE_COMMENTS, VR::LT, meta.comment.as_str());
    put(
        &mut o,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put(
        &mut o,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(
        &mut o,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(12u16),
    );
    put(&mut o, tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16));
    put(
        &mut o,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    o
}

fn orientation(volume: &Volume) -> PrimitiveValue {
    let r = geometry::normalize(volume.affine.col_step);
    let c = geometry::normalize(volume.affine.row_step);
    strs([r[0], r[1], r[2], c[0], c[1], c[2]].map(ds))
}

fn pixel_spacing(volume: &Volume) -> PrimitiveValue {
    let s = volume.spacing();
    strs([ds(s[1]), ds(s[0])])
}

fn position(volume: &Volume, k: usize) -> PrimitiveValue {
    let p = volume.affine.voxel_to_lps([0.0, 0.0, k as f64]);
    strs(p.map(ds))
}

fn pixel_data(
    volume: &Volume,
    planes: impl Iterator<Item = usize>,
) -> DataElement<InMemDicomObject> {
    let values: Vec<u16> = planes
        .flat_map(|k| volume.slice(k).iter().map(|&v| hu_to_stored(v)))
        .collect();
    DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(values.into()))
}

fn write_atomically(obj: InMemDicomObject, path: &Path) -> std::io::Result<()> {
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_version_name("HILUM_0_1"),
        )
        .map_err(std::io::Error::other)?;
    let tmp = path.with_extension("dcm.partial");
    file.write_to_file(&tmp).map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, path)
}

/// Writes `volume` to `dir` and returns the files written. Slices are written
/// head first (instance 1 is the most superior slice), as scanners do, so readers
/// must sort by position.
pub fn write_ct_series(
    dir: &Path,
    meta: &SeriesMeta,
    volume: &Volume,
    layout: FileLayout,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    match layout {
        FileLayout::SingleFrame => write_single_frame(dir, meta, volume),
        FileLayout::EnhancedMultiFrame => write_enhanced(dir, meta, volume).map(|p| vec![p]),
    }
}

fn write_single_frame(
    dir: &Path,
    meta: &SeriesMeta,
    volume: &Volume,
) -> std::io::Result<Vec<PathBuf>> {
    let n = volume.dims[2];
    let mut base = common_attributes(meta, uids::CT_IMAGE_STORAGE);
    if let Some(agent) = &meta.contrast_agent {
        put(
            &mut base,
            tags::CONTRAST_BOLUS_AGENT,
            VR::LO,
            agent.as_str(),
        );
        put(&mut base, tags::CONTRAST_BOLUS_ROUTE, VR::LO, "IV");
    }
    (0..n)
        .into_par_iter()
        .map(|instance| {
            let k = n - 1 - instance;
            let mut o = base.clone();
            let sop = format!("{}.{}", meta.series_instance_uid, instance + 1);
            put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop);
            put(
                &mut o,
                tags::IMAGE_TYPE,
                VR::CS,
                strs(["ORIGINAL", "PRIMARY", "AXIAL"].map(String::from)),
            );
            put(
                &mut o,
                tags::INSTANCE_NUMBER,
                VR::IS,
                (instance + 1).to_string(),
            );
            put(
                &mut o,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                position(volume, k),
            );
            put(
                &mut o,
                tags::IMAGE_ORIENTATION_PATIENT,
                VR::DS,
                orientation(volume),
            );
            put(
                &mut o,
                tags::SLICE_THICKNESS,
                VR::DS,
                ds(meta.slice_thickness_mm),
            );
            let z = volume.affine.voxel_to_lps([0.0, 0.0, k as f64])[2];
            put(&mut o, tags::SLICE_LOCATION, VR::DS, ds(z));
            put(
                &mut o,
                tags::ROWS,
                VR::US,
                PrimitiveValue::from(volume.dims[1] as u16),
            );
            put(
                &mut o,
                tags::COLUMNS,
                VR::US,
                PrimitiveValue::from(volume.dims[0] as u16),
            );
            put(&mut o, tags::PIXEL_SPACING, VR::DS, pixel_spacing(volume));
            put(&mut o, tags::WINDOW_CENTER, VR::DS, "-600");
            put(&mut o, tags::WINDOW_WIDTH, VR::DS, "1500");
            put(&mut o, tags::RESCALE_INTERCEPT, VR::DS, ds(INTERCEPT));
            put(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
            put(&mut o, tags::RESCALE_TYPE, VR::LO, "HU");
            o.put(pixel_data(volume, std::iter::once(k)));
            let path = dir.join(format!("CT{:04}.dcm", instance + 1));
            write_atomically(o, &path)?;
            Ok(path)
        })
        .collect()
}

fn item(elements: impl FnOnce(&mut InMemDicomObject)) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    elements(&mut o);
    o
}

fn write_enhanced(dir: &Path, meta: &SeriesMeta, volume: &Volume) -> std::io::Result<PathBuf> {
    let n = volume.dims[2];
    let mut o = common_attributes(meta, uids::ENHANCED_CT_IMAGE_STORAGE);
    put(
        &mut o,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        format!("{}.1", meta.series_instance_uid),
    );
    put(
        &mut o,
        tags::IMAGE_TYPE,
        VR::CS,
        strs(["ORIGINAL", "PRIMARY", "AXIAL", "NONE"].map(String::from)),
    );
    put(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, n.to_string());
    put(
        &mut o,
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(volume.dims[1] as u16),
    );
    put(
        &mut o,
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(volume.dims[0] as u16),
    );
    let shared = item(|s| {
        put_sequence(
            s,
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(|m| {
                put(m, tags::PIXEL_SPACING, VR::DS, pixel_spacing(volume));
                put(
                    m,
                    tags::SLICE_THICKNESS,
                    VR::DS,
                    ds(meta.slice_thickness_mm),
                );
            })],
        );
        put_sequence(
            s,
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(|m| {
                put(
                    m,
                    tags::IMAGE_ORIENTATION_PATIENT,
                    VR::DS,
                    orientation(volume),
                );
            })],
        );
        put_sequence(
            s,
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![item(|m| {
                put(m, tags::RESCALE_INTERCEPT, VR::DS, ds(INTERCEPT));
                put(m, tags::RESCALE_SLOPE, VR::DS, "1");
                put(m, tags::RESCALE_TYPE, VR::LO, "HU");
            })],
        );
    });
    put_sequence(
        &mut o,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    );
    // Frames head first, like the single-frame layout.
    let per_frame = (0..n)
        .map(|f| {
            item(|fr| {
                put_sequence(
                    fr,
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item(|m| {
                        put(
                            m,
                            tags::IMAGE_POSITION_PATIENT,
                            VR::DS,
                            position(volume, n - 1 - f),
                        );
                    })],
                );
            })
        })
        .collect();
    put_sequence(
        &mut o,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        per_frame,
    );
    o.put(pixel_data(volume, (0..n).rev()));
    let path = dir.join("ENHANCED_CT.dcm");
    write_atomically(o, &path)?;
    Ok(path)
}

impl SeriesMeta {
    /// A series written by a test: a placeholder patient and description,
    /// UIDs derived from `name` (see [`generated_uids`]).
    pub fn for_test(name: &str) -> Self {
        let (study, series, frame) = generated_uids(name);
        Self {
            patient_name: "TEST^SERIES".into(),
            patient_id: "TEST".into(),
            patient_sex: "O".into(),
            study_instance_uid: study,
            series_instance_uid: series,
            frame_of_reference_uid: frame,
            study_date: "20260101".into(),
            study_time: "120000".into(),
            study_id: "1".into(),
            accession_number: "A1".into(),
            study_description: name.into(),
            series_description: name.into(),
            series_number: 1,
            manufacturer: "Hilum".into(),
            model_name: "test".into(),
            kvp: 120.0,
            slice_thickness_mm: 2.0,
            comment: "test".into(),
            contrast_agent: None,
        }
    }
}

/// UIDs for a generated series, derived from a name so that output is reproducible.
pub fn generated_uids(name: &str) -> (String, String, String) {
    (
        uid::for_name(&format!("{name}/study")),
        uid::for_name(&format!("{name}/series")),
        uid::for_name(&format!("{name}/frame-of-reference")),
    )
}

#[cfg(test)]
mod tests {
    use super::ds;

    #[test]
    fn decimal_strings_fit_sixteen_characters() {
        assert_eq!(ds(2.5), "2.5");
        assert_eq!(ds(-0.0), "0");
        assert_eq!(ds(-175.123456789), "-175.123457");
        assert_eq!(ds(1.0), "1");
        assert!(ds(-123_456_789.123_457).len() <= 16);
        assert!(ds(0.000_000_1).len() <= 16);
    }
}
