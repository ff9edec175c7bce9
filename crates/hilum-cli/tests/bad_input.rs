//! A corpus of broken and awkward inputs, generated here, run through the real
//! `hilum info --load`: every bad file gets one line naming it and the reason,
//! nothing panics, and the good series are still indexed and loaded.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{open_file, FileMetaTableBuilder, InMemDicomObject};
use hilum_dicom::write::FileLayout;
use hilum_phantom::{generate, write_phantom, PhantomSpec};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn phantom_series(dir: &Path, seed: u64, slices: usize) -> Vec<PathBuf> {
    let p = generate(&PhantomSpec {
        dims: [48, 48, slices],
        nodules: 2,
        ..PhantomSpec::small(seed)
    });
    let files = write_phantom(&p, dir, FileLayout::SingleFrame).unwrap();
    std::fs::remove_file(dir.join("truth.json")).unwrap();
    files
}

struct Corpus {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn build_corpus() -> Corpus {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let mixed = root.join("mixed");
    phantom_series(&mixed, 1, 10);
    phantom_series(&mixed, 2, 8); // a second series in the same folder
    let missing = phantom_series(&root.join("missing"), 3, 12);
    std::fs::remove_file(&missing[5]).unwrap();
    phantom_series(&root.join("single"), 4, 1);

    let bad = root.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let scratch = phantom_series(&root.join("scratch"), 5, 3);
    let whole = std::fs::read(&scratch[0]).unwrap();
    std::fs::write(bad.join("truncated_half.dcm"), &whole[..whole.len() / 2]).unwrap();
    // Header intact, the last bytes of the pixel data gone: caught when loading.
    let tail = phantom_series(&root.join("tail"), 6, 2);
    let bytes = std::fs::read(&tail[0]).unwrap();
    std::fs::write(&tail[0], &bytes[..bytes.len() - 64]).unwrap();
    // Random bytes with a DICOM name, and an empty file.
    let noise: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(bad.join("random.dcm"), noise).unwrap();
    std::fs::write(bad.join("empty.dcm"), b"").unwrap();

    let mut obj = open_file(&scratch[1]).unwrap();
    obj.remove_element(tags::PIXEL_DATA);
    obj.write_to_file(bad.join("no_pixels.dcm")).unwrap();

    let mut obj = open_file(&scratch[2]).unwrap();
    obj.put(DataElement::new(
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(32u16),
    ));
    obj.write_to_file(bad.join("bits32.dcm")).unwrap();
    std::fs::remove_dir_all(root.join("scratch")).unwrap();

    // A structured report: not an image, listed but never loaded.
    let mut sr = InMemDicomObject::new_empty();
    for (tag, vr, value) in [
        (tags::SOP_CLASS_UID, VR::UI, uids::BASIC_TEXT_SR_STORAGE),
        (tags::SOP_INSTANCE_UID, VR::UI, "2.25.77.1"),
        (tags::STUDY_INSTANCE_UID, VR::UI, "2.25.77"),
        (tags::SERIES_INSTANCE_UID, VR::UI, "2.25.77.2"),
        (tags::MODALITY, VR::CS, "SR"),
        (tags::PATIENT_ID, VR::LO, "SR-1"),
    ] {
        sr.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
    sr.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(bad.join("report.dcm"))
        .unwrap();
    // Reader notes beside the images are passed over, not errors.
    std::fs::write(bad.join("notes.xml"), "<readingSession/>").unwrap();
    Corpus { _dir: dir, root }
}

fn hilum(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn all_series(report: &Value) -> Vec<&Value> {
    report["studies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["series"].as_array().unwrap())
        .collect()
}

#[test]
fn every_bad_file_is_named_and_the_rest_is_used() {
    let corpus = build_corpus();
    let root = corpus.root.to_str().unwrap();
    let (code, report, stderr) = hilum(&["info", root, "--json", "--load"]);
    assert_eq!(code, 1, "some inputs failed: exit code 1\n{stderr}");

    let errors = report["errors"].as_array().unwrap();
    let error_for = |name: &str| -> String {
        let hit: Vec<&Value> = errors
            .iter()
            .filter(|e| e["path"].as_str().unwrap().ends_with(name))
            .collect();
        assert_eq!(hit.len(), 1, "{name}: expected one error, got {hit:?}");
        let msg = hit[0]["error"].as_str().unwrap().to_string();
        assert!(!msg.contains('\n') && !msg.is_empty());
        msg
    };
    assert!(
        error_for("truncated_half.dcm").contains("truncated"),
        "{}",
        error_for("truncated_half.dcm")
    );
    assert!(error_for("random.dcm").contains("not a DICOM file"));
    assert!(error_for("empty.dcm").contains("not a DICOM file"));
    assert!(error_for("no_pixels.dcm").contains("missing pixel data"));
    assert!(error_for("bits32.dcm").contains("BitsAllocated 32"));
    // The tail-truncated file passes indexing and fails at load, still by name.
    assert!(error_for("tail/CT0001.dcm").contains("truncated"));
    assert_eq!(errors.len(), 6, "{errors:#?}");
    for line in stderr.lines().filter(|l| l.starts_with("error:")) {
        assert!(line.contains(root), "error line without its file: {line}");
    }
    assert!(report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["path"].as_str().unwrap().ends_with("notes.xml")));

    let series = all_series(&report);
    // mixed (2) + missing + single + tail + SR.
    assert_eq!(series.len(), 6, "{series:#?}");
    let sr = series.iter().find(|s| s["modality"] == "SR").unwrap();
    assert_eq!(sr["is_image"], false);
    assert!(sr["note"].as_str().unwrap().contains("not an image"));
    let loaded: Vec<&&Value> = series
        .iter()
        .filter(|s| s["load"]["load_ms"].is_number())
        .collect();
    assert_eq!(
        loaded.len(),
        4,
        "two mixed series, the one with a gap, the single slice"
    );
    let with_problem = |kind: &str| {
        series
            .iter()
            .find(|s| {
                s["problems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["kind"] == kind)
            })
            .unwrap_or_else(|| panic!("no series with {kind}"))
    };
    let gap = with_problem("missing_slices");
    assert_eq!(gap["slices"], 11);
    assert_eq!(gap["dims"][2], 12, "the missing plane is interpolated");
    assert_eq!(gap["problems"][0]["severity"], "warning");
    assert_eq!(with_problem("single_slice")["slices"], 1);
}

#[test]
fn nothing_usable_exits_2_and_a_missing_path_is_named() {
    let (code, report, stderr) = hilum(&["info", "/nonexistent/hilum-test", "--json"]);
    assert_eq!(code, 2);
    assert!(report["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("no such file"));
    assert!(stderr.contains("/nonexistent/hilum-test"));
    let (code, _, _) = hilum(&["info"]);
    assert_eq!(code, 2, "bad arguments exit 2");
}

#[test]
fn a_phantom_size_that_cannot_be_drawn_is_refused_by_every_command_that_draws_one() {
    for command in ["phantom", "eval", "train", "fit-rescorer"] {
        let (code, _, stderr) = hilum(&[command, "--size", "0x0x0"]);
        assert_eq!(code, 2, "{command}: bad arguments exit 2\n{stderr}");
        assert!(
            stderr.contains("COLUMNSxROWSxSLICES") && !stderr.contains("panic"),
            "{command}: {stderr}"
        );
    }
}
