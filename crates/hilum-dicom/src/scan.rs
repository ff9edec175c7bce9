//! A fast scan of a plain CT header: the top-level elements of a little-endian
//! data set, read straight from the bytes, without building an object tree.
//!
//! dicom-rs takes ~40 µs to parse a typical CT header; this takes a few. It is
//! only a shortcut: it accepts nothing it is unsure of. Anything unusual — a
//! deflated or big-endian data set, enhanced multi-frame functional groups,
//! text outside ASCII, a value that does not parse, a header longer than the
//! bytes read — returns `None`, and the caller parses with dicom-rs, so errors
//! and odd files are always judged by the same full parser. Debug builds check
//! every scan against dicom-rs (see `header.rs`).

use crate::header::Attributes;
use crate::lengths::LONG_VRS;
use dicom_core::Tag;
use dicom_dictionary_std::tags;

/// How a wanted attribute's value is stored.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    /// Binary unsigned shorts (VR US).
    UnsignedShort,
    /// Integer strings (VR IS).
    IntegerString,
    /// Decimal strings (VR DS).
    DecimalString,
    /// Enhanced multi-frame functional groups: left to dicom-rs.
    FunctionalGroups,
}

/// The top-level attributes Hilum reads, and how each is stored.
const WANTED: [(Tag, Kind); 27] = [
    (tags::SOP_INSTANCE_UID, Kind::Text),
    (tags::STUDY_INSTANCE_UID, Kind::Text),
    (tags::SERIES_INSTANCE_UID, Kind::Text),
    (tags::PATIENT_NAME, Kind::Text),
    (tags::PATIENT_ID, Kind::Text),
    (tags::STUDY_DATE, Kind::Text),
    (tags::STUDY_DESCRIPTION, Kind::Text),
    (tags::SERIES_DESCRIPTION, Kind::Text),
    (tags::MODALITY, Kind::Text),
    (tags::PHOTOMETRIC_INTERPRETATION, Kind::Text),
    (tags::SERIES_NUMBER, Kind::IntegerString),
    (tags::INSTANCE_NUMBER, Kind::IntegerString),
    (tags::NUMBER_OF_FRAMES, Kind::IntegerString),
    (tags::ROWS, Kind::UnsignedShort),
    (tags::COLUMNS, Kind::UnsignedShort),
    (tags::BITS_ALLOCATED, Kind::UnsignedShort),
    (tags::BITS_STORED, Kind::UnsignedShort),
    (tags::SAMPLES_PER_PIXEL, Kind::UnsignedShort),
    (tags::PIXEL_REPRESENTATION, Kind::UnsignedShort),
    (tags::IMAGE_POSITION_PATIENT, Kind::DecimalString),
    (tags::IMAGE_ORIENTATION_PATIENT, Kind::DecimalString),
    (tags::PIXEL_SPACING, Kind::DecimalString),
    (tags::SLICE_THICKNESS, Kind::DecimalString),
    (tags::RESCALE_SLOPE, Kind::DecimalString),
    (tags::RESCALE_INTERCEPT, Kind::DecimalString),
    (
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        Kind::FunctionalGroups,
    ),
    (
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        Kind::FunctionalGroups,
    ),
];

/// VRs with a 2-byte length in explicit VR (`LONG_VRS` have a 4-byte one).
const SHORT_VRS: [&[u8; 2]; 21] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];
const UNDEFINED: u32 = u32::MAX;
const MAX_DEPTH: usize = 16;

/// A value that was converted with certainty.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Empty,
    Text(String),
    Numbers(Vec<f64>),
    Integer(i64),
}

/// The header of a plain (single-frame or non-enhanced) file, scanned.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub transfer_syntax: String,
    pub sop_class_uid: String,
    values: [Option<Value>; WANTED.len()],
}

impl Scanned {
    fn get(&self, tag: Tag) -> Option<&Value> {
        let i = WANTED.iter().position(|&(t, _)| t == tag)?;
        self.values[i].as_ref()
    }
}

impl Attributes for Scanned {
    fn has(&self, tag: Tag) -> bool {
        self.get(tag).is_some()
    }
    fn text(&self, tag: Tag) -> Option<String> {
        match self.get(tag)? {
            Value::Text(s) => (!s.is_empty()).then(|| s.clone()),
            _ => None,
        }
    }
    fn floats(&self, tag: Tag) -> Option<Vec<f64>> {
        match self.get(tag)? {
            Value::Numbers(v) => Some(v.clone()),
            _ => None,
        }
    }
    fn float(&self, tag: Tag) -> Option<f64> {
        self.floats(tag)?.first().copied()
    }
    fn uint(&self, tag: Tag) -> Option<u32> {
        match self.get(tag)? {
            Value::Integer(i) => u32::try_from(*i).ok(),
            _ => None,
        }
    }
    fn int(&self, tag: Tag) -> Option<i32> {
        match self.get(tag)? {
            Value::Integer(i) => i32::try_from(*i).ok(),
            _ => None,
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

struct Element<'a> {
    tag: Tag,
    vr: Option<[u8; 2]>,
    len: u32,
    /// Where the value starts.
    value_at: usize,
    bytes: &'a [u8],
}

/// The element header at `pos`, `None` if unreadable or unusual.
fn element(b: &[u8], pos: usize, explicit: bool) -> Option<Element<'_>> {
    let tag = Tag(u16_at(b, pos)?, u16_at(b, pos + 2)?);
    if tag.0 == 0xFFFE || !explicit {
        return Some(Element {
            tag,
            vr: None,
            len: u32_at(b, pos + 4)?,
            value_at: pos + 8,
            bytes: b,
        });
    }
    let vr: [u8; 2] = b.get(pos + 4..pos + 6)?.try_into().ok()?;
    if LONG_VRS.contains(&&vr) {
        Some(Element {
            tag,
            vr: Some(vr),
            len: u32_at(b, pos + 8)?,
            value_at: pos + 12,
            bytes: b,
        })
    } else if SHORT_VRS.contains(&&vr) {
        Some(Element {
            tag,
            vr: Some(vr),
            len: u32::from(u16_at(b, pos + 6)?),
            value_at: pos + 8,
            bytes: b,
        })
    } else {
        None
    }
}

impl<'a> Element<'a> {
    fn value(&self) -> Option<&'a [u8]> {
        self.bytes
            .get(self.value_at..self.value_at.checked_add(self.len as usize)?)
    }
}

/// Skips the items of an undefined-length sequence starting at `pos`; returns
/// the position after its delimiter.
fn skip_sequence(b: &[u8], mut pos: usize, explicit: bool, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    loop {
        let e = element(b, pos, explicit)?;
        match (e.tag.0, e.tag.1) {
            (0xFFFE, 0xE0DD) => return Some(e.value_at),
            (0xFFFE, 0xE000) if e.len == UNDEFINED => {
                pos = skip_item(b, e.value_at, explicit, depth + 1)?;
            }
            (0xFFFE, 0xE000) => pos = e.value_at.checked_add(e.len as usize)?,
            _ => return None,
        }
    }
}

/// Skips the elements of an undefined-length item; returns the position after
/// its delimiter.
fn skip_item(b: &[u8], mut pos: usize, explicit: bool, depth: usize) -> Option<usize> {
    loop {
        let e = element(b, pos, explicit)?;
        if e.tag == Tag(0xFFFE, 0xE00D) {
            return Some(e.value_at);
        }
        pos = skip_element(b, &e, explicit, depth)?;
    }
}

/// The position after an element, its value skipped.
fn skip_element(b: &[u8], e: &Element, explicit: bool, depth: usize) -> Option<usize> {
    if e.len != UNDEFINED {
        return e.value_at.checked_add(e.len as usize);
    }
    // Undefined length: only a sequence (an SQ in explicit VR; any tag in
    // implicit VR, where only sequences may have one).
    if explicit && e.vr != Some(*b"SQ") {
        return None;
    }
    skip_sequence(b, e.value_at, explicit, depth + 1)
}

/// ASCII text without escape sequences or backslashes, trimmed as dicom-rs trims.
fn ascii_text(v: &[u8]) -> Option<String> {
    if v.iter().any(|&c| c >= 0x80 || c == 0x1B || c == b'\\') {
        return None;
    }
    let s = std::str::from_utf8(v).ok()?;
    Some(
        s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_string(),
    )
}

fn trimmed_parts(v: &[u8]) -> Option<Vec<&str>> {
    if v.iter().any(|&c| c >= 0x80) {
        return None;
    }
    let s = std::str::from_utf8(v).ok()?;
    Some(
        s.split('\\')
            .map(|p| p.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
            .collect(),
    )
}

/// Converts one wanted value, or `None` when unsure (the caller falls back).
fn convert(kind: Kind, vr: Option<[u8; 2]>, v: &[u8]) -> Option<Value> {
    // Implicit VR has no VR to check: the dictionary's is assumed, as dicom-rs does.
    let vr_is = |want: &[&[u8; 2]]| vr.is_none_or(|vr| want.contains(&&vr));
    if kind == Kind::FunctionalGroups {
        return None;
    }
    if v.is_empty() {
        return Some(Value::Empty);
    }
    match kind {
        Kind::UnsignedShort if vr_is(&[b"US"]) && v.len() % 2 == 0 => {
            Some(Value::Integer(i64::from(u16_at(v, 0)?)))
        }
        Kind::IntegerString if vr_is(&[b"IS"]) => {
            let first = *trimmed_parts(v)?.first()?;
            first.parse::<i32>().ok().map(|i| Value::Integer(i.into()))
        }
        Kind::DecimalString if vr_is(&[b"DS"]) => trimmed_parts(v)?
            .iter()
            .map(|p| p.parse::<f64>().ok())
            .collect::<Option<Vec<f64>>>()
            .map(Value::Numbers),
        // A binary VR on a text attribute would need dicom-rs's conversions.
        Kind::Text if vr_is(&[b"UI", b"PN", b"LO", b"SH", b"CS", b"DA"]) => {
            ascii_text(v).map(Value::Text)
        }
        _ => None,
    }
}

/// Scans `prefix`, the first bytes of a Part 10 file of `file_len` bytes.
/// `None`: not a file this shortcut is sure of; parse it with dicom-rs.
pub(crate) fn scan(prefix: &[u8], file_len: u64) -> Option<Scanned> {
    let mut pos = if prefix.get(128..132) == Some(b"DICM") {
        132
    } else if prefix.get(..4) == Some(b"DICM") {
        4
    } else {
        return None;
    };
    // File meta information: explicit VR little endian, group 0002.
    let (mut transfer_syntax, mut sop_class_uid, mut sop_instance_in_meta) = (None, None, false);
    let mut group_length = false;
    while let Some(e) = element(prefix, pos, true).filter(|e| e.tag.0 == 0x0002) {
        if e.len == UNDEFINED {
            return None;
        }
        let value = e.value()?;
        match e.tag.1 {
            0x0000 => group_length = true,
            0x0002 => sop_class_uid = Some(meta_uid(value)?),
            0x0003 => sop_instance_in_meta = true,
            0x0010 => transfer_syntax = Some(meta_uid(value)?),
            _ => {}
        }
        pos = e.value_at + e.len as usize;
    }
    let (transfer_syntax, sop_class_uid) = (transfer_syntax?, sop_class_uid?);
    if !group_length || !sop_instance_in_meta {
        return None;
    }
    let explicit = match transfer_syntax.as_str() {
        "1.2.840.10008.1.2" => false,
        // Deflated and big-endian data sets: dicom-rs.
        "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.2" => return None,
        _ => true,
    };
    let mut values: [Option<Value>; WANTED.len()] = Default::default();
    let mut last_tag = Tag(0x0002, 0xFFFF);
    loop {
        if pos == prefix.len() && pos as u64 == file_len {
            break; // a whole data set without pixel data (SR, …)
        }
        let e = element(prefix, pos, explicit)?;
        if e.tag <= last_tag || e.tag.0 == 0xFFFE || e.tag.0 == 0x0002 {
            return None; // out of order or stray delimiters: dicom-rs judges
        }
        last_tag = e.tag;
        if e.tag == tags::PIXEL_DATA {
            break;
        }
        if let Some(i) = WANTED.iter().position(|&(t, _)| t == e.tag) {
            if e.len == UNDEFINED {
                return None;
            }
            values[i] = Some(convert(WANTED[i].1, e.vr, e.value()?)?);
        }
        pos = skip_element(prefix, &e, explicit, 0)?;
        if pos > prefix.len() {
            return None;
        }
    }
    Some(Scanned {
        transfer_syntax,
        sop_class_uid,
        values,
    })
}

/// A UID from the file meta information, as dicom-rs hands it back.
fn meta_uid(value: &[u8]) -> Option<String> {
    if value.iter().any(|&c| c >= 0x80) {
        return None;
    }
    Some(
        std::str::from_utf8(value)
            .ok()?
            .trim_end_matches('\0')
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::read_header_bytes;
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::uids;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    use std::path::Path;

    fn put(o: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
        o.put(DataElement::new(tag, vr, value.into()));
    }

    /// A 2×2 CT slice with a nested sequence before the image attributes.
    fn ct_slice(patient_name: &str) -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
        put(&mut o, tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE);
        put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5");
        put(&mut o, tags::STUDY_DATE, VR::DA, "20261124");
        put(&mut o, tags::MODALITY, VR::CS, "CT");
        let mut item = InMemDicomObject::new_empty();
        put(
            &mut item,
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            "9.9.9",
        );
        o.put(DataElement::new(
            tags::REFERENCED_IMAGE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        ));
        put(&mut o, tags::PATIENT_NAME, VR::PN, patient_name);
        put(&mut o, tags::PATIENT_ID, VR::LO, "P-1 ");
        put(&mut o, tags::SLICE_THICKNESS, VR::DS, "1.25");
        put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3");
        put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4");
        put(&mut o, tags::SERIES_NUMBER, VR::IS, "3");
        put(&mut o, tags::INSTANCE_NUMBER, VR::IS, " 17");
        let position =
            PrimitiveValue::Strs(["-10.5", "20", "-300.25"].map(String::from).to_vec().into());
        put(&mut o, tags::IMAGE_POSITION_PATIENT, VR::DS, position);
        let orientation = PrimitiveValue::Strs(
            ["1", "0", "0", "0", "1", "0"]
                .map(String::from)
                .to_vec()
                .into(),
        );
        put(&mut o, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, orientation);
        put(
            &mut o,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2",
        );
        let spacing = PrimitiveValue::Strs(["0.7", "0.7"].map(String::from).to_vec().into());
        put(&mut o, tags::PIXEL_SPACING, VR::DS, spacing);
        for (tag, value) in [
            (tags::SAMPLES_PER_PIXEL, 1u16),
            (tags::ROWS, 2),
            (tags::COLUMNS, 2),
            (tags::BITS_ALLOCATED, 16),
            (tags::BITS_STORED, 12),
            (tags::PIXEL_REPRESENTATION, 0),
        ] {
            put(&mut o, tag, VR::US, PrimitiveValue::from(value));
        }
        put(&mut o, tags::RESCALE_INTERCEPT, VR::DS, "-1024");
        put(&mut o, tags::RESCALE_SLOPE, VR::DS, "1");
        put(
            &mut o,
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(vec![1, 2, 3, 4].into()),
        );
        o
    }

    fn file_bytes(o: InMemDicomObject, ts: &str) -> Vec<u8> {
        let file = o
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(ts)
                    .implementation_version_name("HILUM_TEST"),
            )
            .unwrap();
        let mut bytes = Vec::new();
        file.write_all(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn reads_a_plain_slice_in_both_little_endian_syntaxes_as_dicom_rs_does() {
        for ts in [
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ] {
            let bytes = file_bytes(ct_slice("Doe^Jane"), ts);
            let s = scan(&bytes, bytes.len() as u64).expect("a plain slice is scanned");
            assert_eq!(s.transfer_syntax, ts);
            assert_eq!(s.text(tags::PATIENT_ID).as_deref(), Some("P-1"));
            assert_eq!(s.int(tags::INSTANCE_NUMBER), Some(17));
            assert_eq!(s.uint(tags::BITS_STORED), Some(12));
            assert_eq!(
                s.floats(tags::IMAGE_POSITION_PATIENT),
                Some(vec![-10.5, 20.0, -300.25])
            );
            assert_eq!(s.float(tags::RESCALE_INTERCEPT), Some(-1024.0));
            // The same header as the full parser gives (read_header_bytes also
            // asserts this itself in debug builds).
            let h = read_header_bytes(&bytes, Path::new("slice.dcm")).unwrap();
            assert_eq!(h.patient_name, "Doe^Jane");
            assert_eq!(
                h.image.unwrap().frames[0].geometry.pixel_spacing,
                [0.7, 0.7]
            );
        }
    }

    #[test]
    fn leaves_anything_unusual_to_dicom_rs() {
        // Text outside ASCII: its character set decides, dicom-rs decodes it.
        let bytes = file_bytes(
            ct_slice("M\u{fc}ller^Hans"),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        );
        assert!(scan(&bytes, bytes.len() as u64).is_none());
        assert_eq!(
            read_header_bytes(&bytes, Path::new("x.dcm"))
                .unwrap()
                .patient_name,
            "M\u{fc}ller^Hans"
        );
        // Enhanced multi-frame functional groups.
        let mut enhanced = ct_slice("Doe^Jane");
        enhanced.put(DataElement::new(
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![InMemDicomObject::new_empty()]),
        ));
        let bytes = file_bytes(enhanced, uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert!(scan(&bytes, bytes.len() as u64).is_none());
        // A header cut short of the pixel data, and a value that is not a number.
        let bytes = file_bytes(ct_slice("Doe^Jane"), uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert!(scan(&bytes[..bytes.len() - 20], bytes.len() as u64).is_none());
        let mut bad = ct_slice("Doe^Jane");
        put(&mut bad, tags::RESCALE_SLOPE, VR::DS, "one");
        let bytes = file_bytes(bad, uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert!(scan(&bytes, bytes.len() as u64).is_none());
    }
}
