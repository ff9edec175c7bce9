//! Every lossless codec decodes the NEMA CT1 slice to exactly the uncompressed pixels.

use hilum_dicom::{index_path, load_series};
mod common;

fn data(name: &str) -> std::path::PathBuf {
    common::test_data("conformance").join(name)
}

fn load(name: &str) -> hilum_core::Volume {
    let index = index_path(&data(name), &|_, _| {});
    assert!(index.errors.is_empty(), "{name}: {:?}", index.errors);
    let series = &index.studies[0].series[0];
    load_series(series)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .volume
}

#[test]
fn all_transfer_syntaxes_decode_identically() {
    let reference = load("CT1_UNC");
    assert_eq!(reference.dims, [512, 512, 1]);
    let stats = reference.stats().unwrap();
    assert_eq!((stats.min, stats.max), (-3024, 1254));
    for name in ["CT1_RLE", "CT1_JPLL", "CT1_JLSL", "CT1_J2KR"] {
        let v = load(name);
        assert_eq!(v.dims, reference.dims, "{name}");
        let differing = v
            .data
            .iter()
            .zip(&reference.data)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differing, 0,
            "{name}: {differing} voxels differ from CT1_UNC"
        );
        assert_eq!(v.affine, reference.affine, "{name}");
    }
}

#[test]
fn second_ct_loads_with_its_own_values() {
    let v = load("CT2_UNC");
    let s = v.stats().unwrap();
    assert_eq!((s.min, s.max), (-2048, 1433));
}
