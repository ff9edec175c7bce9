//! Inputs the fuzzer (fuzz/, `cargo xtask fuzz`) once crashed on. Each must now
//! give an error naming the file, never a panic.

mod common;

use hilum_dicom::{decode_all_frames, read_header_bytes};

#[test]
fn former_crashes_are_clean_errors() {
    let dir = common::test_data("fuzz");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(header) = read_header_bytes(&bytes, &path) {
            if header.image.is_some() {
                if let Err(e) = decode_all_frames(&header, &bytes) {
                    assert!(e.to_string().starts_with(&path.display().to_string()));
                    assert!(!e.to_string().contains('\n'));
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 1);
}
