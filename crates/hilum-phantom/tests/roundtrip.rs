//! The phantom written as real DICOM files and read back by the loader: every
//! voxel and the patient geometry must survive.

use hilum_core::{Affine, GeometryProblem, NoduleKind, Volume};
use hilum_dicom::write::{write_ct_series, FileLayout, SeriesMeta};
use hilum_dicom::{index_path, load_series, LoadedSeries};
use hilum_phantom::{
    generate, is_current, write_phantom, write_unless_current, Phantom, PhantomSpec,
};
use std::path::Path;

fn small(seed: u64) -> Phantom {
    generate(&PhantomSpec {
        dims: [96, 96, 40],
        slice_mm: 2.5,
        ..PhantomSpec::small(seed)
    })
}

fn load_only_series(dir: &Path) -> LoadedSeries {
    let index = index_path(dir, &|_, _| {});
    assert!(index.errors.is_empty(), "{:?}", index.errors);
    assert_eq!(index.studies.len(), 1);
    assert_eq!(index.studies[0].series.len(), 1);
    load_series(&index.studies[0].series[0]).expect("loads")
}

fn assert_affine_close(a: &Affine, b: &Affine) {
    for (x, y) in [
        (a.origin, b.origin),
        (a.col_step, b.col_step),
        (a.row_step, b.row_step),
        (a.slice_step, b.slice_step),
    ] {
        for i in 0..3 {
            assert!((x[i] - y[i]).abs() < 1e-4, "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn single_frame_series_round_trips_exactly() {
    let phantom = small(3);
    let dir = tempfile::tempdir().unwrap();
    let files = write_phantom(&phantom, dir.path(), FileLayout::SingleFrame).unwrap();
    assert_eq!(files.len(), 40);
    assert!(dir.path().join("truth.json").is_file());
    let loaded = load_only_series(dir.path());
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    assert_eq!(loaded.volume.dims, phantom.volume.dims);
    assert_eq!(loaded.volume.data, phantom.volume.data);
    assert_affine_close(&loaded.volume.affine, &phantom.volume.affine);
}

#[test]
fn enhanced_multiframe_loads_like_single_frame() {
    let phantom = small(4);
    let dir = tempfile::tempdir().unwrap();
    let files = write_phantom(&phantom, dir.path(), FileLayout::EnhancedMultiFrame).unwrap();
    assert_eq!(files.len(), 1);
    let loaded = load_only_series(dir.path());
    assert_eq!(loaded.volume.data, phantom.volume.data);
    assert_affine_close(&loaded.volume.affine, &phantom.volume.affine);
}

#[test]
fn slices_are_ordered_by_position_not_by_name() {
    let phantom = small(5);
    let dir = tempfile::tempdir().unwrap();
    let files = write_phantom(&phantom, dir.path(), FileLayout::SingleFrame).unwrap();
    // Scramble the names: the file order says nothing about the slice order now.
    for (i, f) in files.iter().enumerate() {
        let scrambled = dir.path().join(format!(
            "{:08x}",
            (i as u64 * 2_654_435_761) % 4_294_967_291
        ));
        std::fs::rename(f, scrambled).unwrap();
    }
    let loaded = load_only_series(dir.path());
    assert_eq!(loaded.volume.data, phantom.volume.data);
}

#[test]
fn oblique_tilted_stack_keeps_its_affine() {
    // Rotated 25° about z and 10° about x, with a 12° gantry tilt shear.
    let (s, c) = (25f64.to_radians().sin(), 25f64.to_radians().cos());
    let (s2, c2) = (10f64.to_radians().sin(), 10f64.to_radians().cos());
    let row_dir = [c, s, 0.0];
    let col_dir = [-s * c2, c * c2, s2];
    let normal = hilum_core::geometry::cross(row_dir, col_dir);
    let tilt = 12f64.to_radians().tan() * 2.0;
    let affine = Affine {
        origin: [-40.25, 12.5, -101.0],
        col_step: hilum_core::geometry::scale(row_dir, 0.8),
        row_step: hilum_core::geometry::scale(col_dir, 0.8),
        slice_step: hilum_core::geometry::add(
            hilum_core::geometry::scale(normal, 2.0),
            hilum_core::geometry::scale(col_dir, tilt),
        ),
    };
    let dims = [32, 24, 9];
    let data = (0..dims[0] * dims[1] * dims[2])
        .map(|i| ((i * 37) % 3000) as i16 - 1000)
        .collect();
    let volume = Volume { dims, affine, data };
    let meta = SeriesMeta {
        patient_name: "OBLIQUE^TEST".into(),
        patient_id: "OBL-1".into(),
        ..SeriesMeta::for_test("oblique")
    };
    let dir = tempfile::tempdir().unwrap();
    write_ct_series(dir.path(), &meta, &volume, FileLayout::SingleFrame).unwrap();
    let loaded = load_only_series(dir.path());
    assert_eq!(loaded.volume.data, volume.data);
    assert_affine_close(&loaded.volume.affine, &volume.affine);
    match loaded.problems.as_slice() {
        [GeometryProblem::GantryTilt { degrees }] => assert!((degrees - 12.0).abs() < 0.01),
        other => panic!("expected only a gantry tilt, got {other:?}"),
    }
    // A voxel's patient position maps back to the same voxel.
    let p = loaded.volume.affine.voxel_to_lps([7.0, 11.0, 5.0]);
    let v = volume.affine.lps_to_voxel(p).unwrap();
    assert!((v[0] - 7.0).abs() < 1e-3 && (v[1] - 11.0).abs() < 1e-3 && (v[2] - 5.0).abs() < 1e-3);
}

/// Median HU of the 3×3 in-plane neighbourhood of the voxel nearest `lps`.
fn hu_at(v: &Volume, lps: [f64; 3]) -> i16 {
    let ijk = v
        .affine
        .lps_to_voxel(lps)
        .unwrap()
        .map(|x| x.round() as isize);
    let mut values = Vec::new();
    for dj in -1..=1 {
        for di in -1..=1 {
            let (i, j, k) = (ijk[0] + di, ijk[1] + dj, ijk[2]);
            values.push(v.get(i as usize, j as usize, k as usize));
        }
    }
    values.sort();
    values[4]
}

#[test]
fn truth_centres_land_on_nodule_tissue_after_reloading() {
    let phantom = generate(&PhantomSpec {
        dims: [256, 256, 120],
        slice_mm: 2.5,
        nodules: 12,
        ..PhantomSpec::small(11)
    });
    let dir = tempfile::tempdir().unwrap();
    write_phantom(&phantom, dir.path(), FileLayout::SingleFrame).unwrap();
    let loaded = load_only_series(dir.path());
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("truth.json")).unwrap())
            .unwrap();
    let nodules = truth["nodules"].as_array().unwrap();
    assert_eq!(nodules.len(), 12);
    let mut checked = 0;
    for (n, t) in nodules.iter().zip(&phantom.truth.nodules) {
        let c: Vec<f64> = n["center_lps_mm"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let d = n["diameter_mm"].as_f64().unwrap();
        if d < 8.0 {
            continue;
        }
        let hu = hu_at(&loaded.volume, [c[0], c[1], c[2]]);
        match t.kind {
            NoduleKind::Solid | NoduleKind::PartSolid if d >= 8.0 => {
                // Part-solid nodules have their solid core at the centre.
                assert!(hu > -250, "nodule {}: {hu} HU at its centre", t.id)
            }
            NoduleKind::Calcified => assert!(hu > 150, "nodule {}: {hu} HU", t.id),
            NoduleKind::GroundGlass => {
                assert!((-800..-200).contains(&hu), "nodule {}: {hu} HU", t.id)
            }
            _ => continue,
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} nodules large enough to check");
}

#[test]
fn a_cached_phantom_is_kept_only_when_the_same_generator_drew_the_same_spec() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("demo");
    let spec = PhantomSpec {
        dims: [64, 64, 16],
        slice_mm: 2.5,
        ..PhantomSpec::small(3)
    };
    assert!(write_unless_current(&spec, &dir, FileLayout::SingleFrame).unwrap());
    assert!(is_current(&dir, &spec));
    assert!(!write_unless_current(&spec, &dir, FileLayout::SingleFrame).unwrap());
    // Another spec (seed) is not this phantom.
    assert!(!is_current(
        &dir,
        &PhantomSpec {
            seed: 4,
            ..spec.clone()
        }
    ));
    // A copy from an earlier generator is replaced whole.
    let truth = dir.join("truth.json");
    let text = std::fs::read_to_string(&truth).unwrap();
    let older = text.replace(
        &format!("\"generation\": {}", hilum_phantom::GENERATION),
        "\"generation\": 1",
    );
    assert_ne!(older, text);
    std::fs::write(&truth, older).unwrap();
    std::fs::write(dir.join("stale.dcm"), b"left by the old copy").unwrap();
    assert!(!is_current(&dir, &spec));
    assert!(write_unless_current(&spec, &dir, FileLayout::SingleFrame).unwrap());
    assert!(is_current(&dir, &spec));
    assert!(!dir.join("stale.dcm").exists());
    assert!(!root.path().join("demo.partial").exists());
}
