//! What Hilum needs from a DICOM file's header, read without touching pixel data.

use crate::error::{contain_panics, FileError};
use crate::lengths::check_declared_lengths;
use crate::native::find_pixel_data_in_prefix;
use dicom_core::Tag;
use dicom_dictionary_std::{tags, uids};
use dicom_object::{InMemDicomObject, OpenFileOptions};
use hilum_core::SliceGeometry;
use std::path::{Path, PathBuf};

/// The parts of a file's header that indexing and loading need.
#[derive(Clone, Debug)]
pub struct FileHeader {
    pub path: PathBuf,
    pub file_len: u64,
    pub transfer_syntax: String,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub patient_name: String,
    pub patient_id: String,
    pub study_date: String,
    pub study_description: String,
    pub series_description: String,
    pub modality: String,
    pub series_number: Option<i32>,
    pub instance_number: Option<i32>,
    /// `None` for objects that are not images (SR, presentation states, …).
    pub image: Option<ImageHeader>,
    /// Where the uncompressed PixelData value starts, when it lay within the
    /// bytes read for the header: the loader then reads pixels straight away.
    pub pixel_data_offset: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct ImageHeader {
    pub rows: usize,
    pub cols: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub samples_per_pixel: u16,
    pub photometric: String,
    /// One per frame; a single-frame file has one.
    pub frames: Vec<FrameHeader>,
}

#[derive(Clone, Debug)]
pub struct FrameHeader {
    pub geometry: SliceGeometry,
    pub slope: f64,
    pub intercept: f64,
}

impl FileHeader {
    pub fn is_native(&self) -> bool {
        is_native_syntax(&self.transfer_syntax)
    }
}

pub(crate) fn is_native_syntax(ts: &str) -> bool {
    matches!(
        ts,
        uids::EXPLICIT_VR_LITTLE_ENDIAN | uids::IMPLICIT_VR_LITTLE_ENDIAN
    )
}

impl ImageHeader {
    pub fn bytes_per_sample(&self) -> usize {
        usize::from(self.bits_allocated).div_ceil(8)
    }
    pub fn frame_bytes(&self) -> usize {
        self.rows * self.cols * self.bytes_per_sample() * usize::from(self.samples_per_pixel)
    }
}

/// Read access to a header's top-level attributes, whichever parser read them:
/// dicom-rs's object tree, or the fast scan of plain files (`scan.rs`).
pub(crate) trait Attributes {
    fn has(&self, tag: Tag) -> bool;
    /// Trimmed text; `None` when absent or empty.
    fn text(&self, tag: Tag) -> Option<String>;
    fn floats(&self, tag: Tag) -> Option<Vec<f64>>;
    fn float(&self, tag: Tag) -> Option<f64>;
    fn uint(&self, tag: Tag) -> Option<u32>;
    fn int(&self, tag: Tag) -> Option<i32>;
    /// Enhanced multi-frame: the shared functional groups (if any) and one
    /// item per frame. Only dicom-rs's tree has them.
    fn functional_groups(&self) -> Option<(Option<&InMemDicomObject>, &[InMemDicomObject])> {
        None
    }
}

impl Attributes for InMemDicomObject {
    fn has(&self, tag: Tag) -> bool {
        self.get(tag).is_some()
    }
    fn text(&self, tag: Tag) -> Option<String> {
        let s = self.get(tag)?.to_str().ok()?;
        let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        (!s.is_empty()).then(|| s.to_string())
    }
    fn floats(&self, tag: Tag) -> Option<Vec<f64>> {
        self.get(tag)?.to_multi_float64().ok()
    }
    fn float(&self, tag: Tag) -> Option<f64> {
        self.get(tag)?.to_float64().ok()
    }
    fn uint(&self, tag: Tag) -> Option<u32> {
        self.get(tag)?.to_int::<u32>().ok()
    }
    fn int(&self, tag: Tag) -> Option<i32> {
        self.get(tag)?.to_int::<i32>().ok()
    }
    fn functional_groups(&self) -> Option<(Option<&InMemDicomObject>, &[InMemDicomObject])> {
        let per_frame = self
            .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)?
            .items()?;
        Some((
            first_item(self, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE),
            per_frame,
        ))
    }
}

/// The first item of a sequence attribute.
fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

/// How much of a file is read to parse its header; larger headers fall back
/// to the streaming reader.
const HEADER_PREFIX: usize = 16 * 1024;

/// Reads the header of one file, stopping before the pixel data.
pub fn read_header(path: &Path) -> Result<FileHeader, FileError> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).map_err(|e| FileError::new(path, format!("cannot read: {e}")))?;
    let file_len = file
        .metadata()
        .map_err(|e| FileError::new(path, format!("cannot read: {e}")))?
        .len();
    let mut prefix = Vec::with_capacity(HEADER_PREFIX);
    file.by_ref()
        .take(HEADER_PREFIX as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| FileError::new(path, format!("cannot read: {e}")))?;
    let not_dicom = || FileError::new(path, "not a DICOM file (no DICM marker)");
    let marked = (prefix.len() >= 132 && &prefix[128..132] == b"DICM")
        || (prefix.len() >= 4 && &prefix[..4] == b"DICM");
    if !marked {
        return Err(not_dicom());
    }
    check_declared_lengths(&prefix, file_len as usize).map_err(|e| FileError::new(path, e))?;
    match parse_header(&prefix, path, file_len) {
        Ok(mut h) => {
            if let Some(img) = h.image.as_ref().filter(|_| h.is_native()) {
                let total = img.frame_bytes() * img.frames.len();
                h.pixel_data_offset =
                    find_pixel_data_in_prefix(&prefix, total, file_len as usize).map(|o| o as u64);
            }
            Ok(h)
        }
        // The header did not fit in the prefix: stream the whole header.
        Err(_) if (prefix.len() as u64) < file_len => contain_panics(path, "DICOM header", || {
            let obj = OpenFileOptions::new()
                .read_until(tags::PIXEL_DATA)
                .open_file(path)
                .map_err(|e| FileError::new(path, describe_read_error(&e.to_string())))?;
            header_from_object(&obj, path, file_len)
        }),
        Err(e) => Err(e),
    }
}

/// Reads a header from a whole file held in memory (`name` labels errors).
pub fn read_header_bytes(bytes: &[u8], name: &Path) -> Result<FileHeader, FileError> {
    check_declared_lengths(bytes, bytes.len()).map_err(|e| FileError::new(name, e))?;
    parse_header(bytes, name, bytes.len() as u64)
}

/// Parses a header from `bytes` (the whole file or its first bytes): the fast
/// scan where it is sure of the file, dicom-rs otherwise.
fn parse_header(bytes: &[u8], path: &Path, file_len: u64) -> Result<FileHeader, FileError> {
    let Some(scanned) = crate::scan::scan(bytes, file_len) else {
        return parse_with_dicom_rs(bytes, path, file_len);
    };
    // Contained like the dicom-rs path: a header never panics the caller.
    let fast = contain_panics(path, "DICOM header", || {
        header_from(
            &scanned,
            scanned.transfer_syntax.clone(),
            scanned.sop_class_uid.clone(),
            path,
            file_len,
        )
    });
    // The scan is a shortcut and must never change a result: every debug
    // build (all tests) checks it against the full parser.
    #[cfg(debug_assertions)]
    {
        let full = parse_with_dicom_rs(bytes, path, file_len);
        assert_eq!(
            format!("{fast:?}"),
            format!("{full:?}"),
            "{}: the fast header scan disagrees with dicom-rs",
            path.display()
        );
    }
    fast
}

fn parse_with_dicom_rs(bytes: &[u8], path: &Path, file_len: u64) -> Result<FileHeader, FileError> {
    contain_panics(path, "DICOM header", || {
        let obj = OpenFileOptions::new()
            .read_until(tags::PIXEL_DATA)
            .from_reader(bytes)
            .map_err(|e| FileError::new(path, describe_read_error(&e.to_string())))?;
        header_from_object(&obj, path, file_len)
    })
}

fn header_from_object(
    obj: &dicom_object::FileDicomObject<InMemDicomObject>,
    path: &Path,
    file_len: u64,
) -> Result<FileHeader, FileError> {
    let meta = obj.meta();
    let transfer_syntax = meta.transfer_syntax().trim_end_matches('\0').to_string();
    let sop_class_uid = meta
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string();
    header_from(&**obj, transfer_syntax, sop_class_uid, path, file_len)
}

fn header_from<A: Attributes>(
    obj: &A,
    transfer_syntax: String,
    sop_class_uid: String,
    path: &Path,
    file_len: u64,
) -> Result<FileHeader, FileError> {
    let required = |tag, name: &str| {
        obj.text(tag)
            .ok_or_else(|| FileError::new(path, format!("missing {name}")))
    };
    let image = if obj.has(tags::ROWS) {
        Some(read_image_header(obj).map_err(|reason| FileError::new(path, reason))?)
    } else {
        None
    };
    let header = FileHeader {
        path: path.to_path_buf(),
        file_len,
        transfer_syntax,
        sop_instance_uid: obj.text(tags::SOP_INSTANCE_UID).unwrap_or_default(),
        study_instance_uid: required(tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?,
        series_instance_uid: required(tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?,
        patient_name: obj.text(tags::PATIENT_NAME).unwrap_or_default(),
        patient_id: obj.text(tags::PATIENT_ID).unwrap_or_default(),
        study_date: obj.text(tags::STUDY_DATE).unwrap_or_default(),
        study_description: obj.text(tags::STUDY_DESCRIPTION).unwrap_or_default(),
        series_description: obj.text(tags::SERIES_DESCRIPTION).unwrap_or_default(),
        modality: obj.text(tags::MODALITY).unwrap_or_default(),
        series_number: obj.int(tags::SERIES_NUMBER),
        instance_number: obj.int(tags::INSTANCE_NUMBER),
        sop_class_uid,
        image,
        pixel_data_offset: None,
    };
    check_pixel_data_fits(&header)?;
    Ok(header)
}

/// Whether the file starts like DICOM Part 10: "DICM" after the 128-byte
/// preamble, or at the very start (no preamble).
pub(crate) fn has_dicom_marker(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 132];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    (n >= 132 && &head[128..132] == b"DICM") || (n >= 4 && &head[..4] == b"DICM")
}

/// dicom-rs errors are accurate but long; say what a user can act on.
fn describe_read_error(raw: &str) -> String {
    if raw.contains("end of file") || raw.contains("UnexpectedEof") {
        format!("truncated DICOM header ({raw})")
    } else {
        format!("unreadable DICOM: {raw}")
    }
}

/// For uncompressed syntaxes the header tells the exact pixel data size: a file
/// shorter than that is truncated or has no pixel data. Cheap to check at index time.
fn check_pixel_data_fits(h: &FileHeader) -> Result<(), FileError> {
    let Some(image) = &h.image else { return Ok(()) };
    if !h.is_native() {
        return Ok(());
    }
    let needed = (image.frame_bytes() * image.frames.len()) as u64;
    if h.file_len < needed {
        return Err(FileError::new(
            &h.path,
            format!(
                "truncated or missing pixel data: {} frame(s) of {}×{} need {needed} bytes, file has {}",
                image.frames.len(),
                image.cols,
                image.rows,
                h.file_len
            ),
        ));
    }
    Ok(())
}

/// The largest image matrix accepted; CT is 512 or 1024, micro-CT rarely 2048.
const MAX_MATRIX: usize = 4096;

fn read_image_header<A: Attributes>(obj: &A) -> Result<ImageHeader, String> {
    let rows = obj.uint(tags::ROWS).ok_or("Rows unreadable")? as usize;
    let cols = obj.uint(tags::COLUMNS).ok_or("missing Columns")? as usize;
    if rows == 0 || cols == 0 {
        return Err(format!("empty image ({cols}×{rows})"));
    }
    if rows > MAX_MATRIX || cols > MAX_MATRIX {
        return Err(format!(
            "image matrix {cols}×{rows} exceeds {MAX_MATRIX}×{MAX_MATRIX}"
        ));
    }
    let bits_allocated = obj
        .uint(tags::BITS_ALLOCATED)
        .ok_or("missing BitsAllocated")? as u16;
    let bits_stored = obj
        .uint(tags::BITS_STORED)
        .unwrap_or(u32::from(bits_allocated)) as u16;
    if !matches!(bits_allocated, 8 | 16) {
        return Err(format!(
            "unsupported BitsAllocated {bits_allocated} (CT uses 16)"
        ));
    }
    if bits_stored == 0 || bits_stored > bits_allocated {
        return Err(format!(
            "inconsistent bit depth: BitsStored {bits_stored} > BitsAllocated {bits_allocated}"
        ));
    }
    let samples_per_pixel = obj.uint(tags::SAMPLES_PER_PIXEL).unwrap_or(1) as u16;
    let photometric = obj
        .text(tags::PHOTOMETRIC_INTERPRETATION)
        .unwrap_or_default();
    let signed = obj.uint(tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let n_frames = obj.int(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;

    let frames = match obj.functional_groups() {
        Some((shared, items)) => {
            if items.len() != n_frames {
                return Err(format!(
                    "NumberOfFrames is {n_frames} but {} per-frame functional groups",
                    items.len()
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(f, item)| {
                    enhanced_frame(item, shared, rows, cols)
                        .map_err(|e| format!("frame {}: {e}", f + 1))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
        None if n_frames == 1 => vec![classic_frame(obj, rows, cols)?],
        None => {
            return Err(format!(
                "{n_frames} frames without per-frame positions (unsupported multi-frame)"
            ))
        }
    };
    Ok(ImageHeader {
        rows,
        cols,
        bits_allocated,
        bits_stored,
        signed,
        samples_per_pixel,
        photometric,
        frames,
    })
}

fn vec3(values: &[f64]) -> [f64; 3] {
    [values[0], values[1], values[2]]
}

fn geometry(
    position: Option<Vec<f64>>,
    orientation: Option<Vec<f64>>,
    spacing: Option<Vec<f64>>,
    thickness: Option<f64>,
    rows: usize,
    cols: usize,
) -> Result<SliceGeometry, String> {
    let position = position
        .filter(|p| p.len() >= 3)
        .ok_or("missing ImagePositionPatient")?;
    let orientation = orientation
        .filter(|o| o.len() >= 6)
        .ok_or("missing ImageOrientationPatient")?;
    let spacing = spacing
        .filter(|s| s.len() >= 2 && s[0] > 0.0 && s[1] > 0.0)
        .ok_or("missing or non-positive PixelSpacing")?;
    Ok(SliceGeometry {
        position: vec3(&position),
        row_dir: vec3(&orientation[0..3]),
        col_dir: vec3(&orientation[3..6]),
        rows,
        cols,
        pixel_spacing: [spacing[0], spacing[1]],
        slice_thickness: thickness,
    })
}

fn classic_frame<A: Attributes>(obj: &A, rows: usize, cols: usize) -> Result<FrameHeader, String> {
    Ok(FrameHeader {
        geometry: geometry(
            obj.floats(tags::IMAGE_POSITION_PATIENT),
            obj.floats(tags::IMAGE_ORIENTATION_PATIENT),
            obj.floats(tags::PIXEL_SPACING),
            obj.float(tags::SLICE_THICKNESS),
            rows,
            cols,
        )?,
        slope: obj.float(tags::RESCALE_SLOPE).unwrap_or(1.0),
        intercept: obj.float(tags::RESCALE_INTERCEPT).unwrap_or(0.0),
    })
}

/// Enhanced (multi-frame) CT: each attribute lives in a functional group
/// macro, per frame or shared by all frames.
fn enhanced_frame(
    frame: &InMemDicomObject,
    shared: Option<&InMemDicomObject>,
    rows: usize,
    cols: usize,
) -> Result<FrameHeader, String> {
    let group = |sequence| {
        first_item(frame, sequence).or_else(|| shared.and_then(|s| first_item(s, sequence)))
    };
    let position = group(tags::PLANE_POSITION_SEQUENCE);
    let orientation = group(tags::PLANE_ORIENTATION_SEQUENCE);
    let measures = group(tags::PIXEL_MEASURES_SEQUENCE);
    let transform = group(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE);
    Ok(FrameHeader {
        geometry: geometry(
            position.and_then(|o| o.floats(tags::IMAGE_POSITION_PATIENT)),
            orientation.and_then(|o| o.floats(tags::IMAGE_ORIENTATION_PATIENT)),
            measures.and_then(|o| o.floats(tags::PIXEL_SPACING)),
            measures.and_then(|o| o.float(tags::SLICE_THICKNESS)),
            rows,
            cols,
        )?,
        slope: transform
            .and_then(|o| o.float(tags::RESCALE_SLOPE))
            .unwrap_or(1.0),
        intercept: transform
            .and_then(|o| o.float(tags::RESCALE_INTERCEPT))
            .unwrap_or(0.0),
    })
}
