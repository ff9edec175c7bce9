//! A load into recycled memory (the previous volume's voxels still there) gives
//! exactly what a load into fresh memory gives: the loader writes every voxel,
//! whatever the codec, layout or gap in the series.
//!
//! One test in its own binary, so no other test takes the poisoned buffer.

use hilum_core::{Affine, Volume};
use hilum_dicom::write::{write_ct_series, FileLayout, SeriesMeta};
use hilum_dicom::{index_path, load_series, recycle};
use std::path::Path;
mod common;

const POISON: i16 = 0x5A5A;

fn load(path: &Path) -> Volume {
    let index = index_path(path, &|_, _| {});
    assert!(
        index.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        index.errors
    );
    load_series(&index.studies[0].series[0])
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .volume
}

/// Loads `path` fresh, then into a poisoned recycled buffer; both must agree.
fn check(path: &Path) {
    let fresh = load(path);
    let poisoned = Volume {
        data: vec![POISON; fresh.data.len()],
        ..fresh.clone()
    };
    let buffer = poisoned.data.as_ptr();
    recycle(poisoned);
    let reused = load(path);
    assert_eq!(
        reused.data.as_ptr(),
        buffer,
        "{}: the recycled buffer was taken",
        path.display()
    );
    let differing = reused
        .data
        .iter()
        .zip(&fresh.data)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing,
        0,
        "{}: {differing} voxels differ from a fresh load",
        path.display()
    );
    recycle(reused);
}

#[test]
fn loads_into_recycled_memory_equal_fresh_loads() {
    for name in [
        "CT1_UNC", "CT1_RLE", "CT1_JPLL", "CT1_JLSL", "CT1_J2KR", "CT2_UNC",
    ] {
        check(&common::test_data("conformance").join(name));
    }

    let dims = [24, 20, 12];
    let volume = Volume {
        dims,
        affine: Affine {
            origin: [-10.0, -12.0, 40.0],
            col_step: [0.8, 0.0, 0.0],
            row_step: [0.0, 0.8, 0.0],
            slice_step: [0.0, 0.0, -2.0],
        },
        data: (0..dims.iter().product::<usize>())
            .map(|i| (i % 3001) as i16 - 1000)
            .collect(),
    };
    let tmp = tempfile::tempdir().unwrap();
    let enhanced = tmp.path().join("enhanced");
    write_ct_series(
        &enhanced,
        &SeriesMeta::for_test("recycled-memory"),
        &volume,
        FileLayout::EnhancedMultiFrame,
    )
    .unwrap();
    check(&enhanced);
    let single = tmp.path().join("single");
    let files = write_ct_series(
        &single,
        &SeriesMeta::for_test("recycled-memory"),
        &volume,
        FileLayout::SingleFrame,
    )
    .unwrap();
    check(&single);
    // A missing slice: its plane is interpolated, not read.
    std::fs::remove_file(&files[5]).unwrap();
    assert_eq!(load(&single).dims, dims, "the gap is filled");
    check(&single);
}
