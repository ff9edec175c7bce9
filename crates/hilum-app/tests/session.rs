//! The app's whole session on real files and the real device path (lavapipe on
//! CI): open a phantom written as DICOM, render every plane on the device, probe
//! HU, run detection with progress, review, and see the review restored.

use hilum_app::review::{Edit, Status};
use hilum_app::App;
use hilum_gpu::render::{Plane, Projection, ViewRequest};
use hilum_phantom::PhantomSpec;

#[test]
fn open_render_detect_review_and_reopen() {
    let data = tempfile::tempdir().unwrap();
    let device = hilum_gpu::open_named("software").expect("lavapipe (`./x setup` installs it)");
    let app = App::with_device(data.path().to_path_buf(), device);
    let demo = app.demo_path(&PhantomSpec::small(3)).unwrap();
    let opened = app.open_path(&demo).unwrap();
    assert_eq!(opened.series.dims, [128, 128, 96]);
    assert!(opened.series.chest_ct);
    assert_eq!(opened.study.patient_name, "PHANTOM, SEED 3");
    assert!(opened.renderer.contains("llvmpipe"), "{}", opened.renderer);
    assert_eq!(opened.series.orientation.axial[0], "R");

    let frame = app
        .render(&ViewRequest {
            plane: Plane::Coronal,
            slice: 64,
            projection: Projection::Mip,
            slab: 5,
            level: -600.0,
            width: 1500.0,
        })
        .unwrap();
    assert_eq!((frame.width, frame.height), (128, 96));
    // Centre of the body at mid height: soft tissue or lung, never outside air.
    let probe = app.probe(Plane::Axial, 48, 64, 100).unwrap();
    assert!(
        probe.hu > -200,
        "posterior midline is spine/soft tissue: {probe:?}"
    );
    assert!(app.probe(Plane::Axial, 48, 500, 1).is_err());
    let thumb = app.thumbnail(&opened.series.series_instance_uid).unwrap();
    assert!(thumb.width <= 96 && thumb.width >= 64);

    app.start_detection().unwrap();
    assert!(app.start_detection().is_err(), "one run at a time");
    let status = app.wait_for_detection();
    assert!(status.finished, "{status:?}");
    let review = app.review().unwrap();
    assert!(!review.findings.is_empty());
    assert!(review.findings.iter().all(|f| f.status == Status::Pending));
    let report = app.report().unwrap();
    assert_eq!(report.accepted, 0, "nothing reaches the report unreviewed");

    let first = review.findings[0].id;
    app.set_status(first, Status::Accepted).unwrap();
    app.edit_finding(
        first,
        &Edit {
            long_axis_mm: Some(12.0),
            short_axis_mm: Some(10.0),
            ..Edit::default()
        },
    )
    .unwrap();
    if let Some(second) = review.findings.get(1) {
        app.set_status(second.id, Status::Rejected).unwrap();
    }
    let report = app.report().unwrap();
    assert_eq!(report.accepted, 1);
    assert!(
        report
            .text
            .contains("mean diameter 11.0 mm (12.0 × 10.0 mm)"),
        "{}",
        report.text
    );

    // A second app on the same data folder (the next launch) restores it all.
    let again = App::with_device(
        data.path().to_path_buf(),
        hilum_gpu::open_named("cpu").unwrap(),
    );
    again.open_path(&demo).unwrap();
    assert_eq!(again.review().unwrap(), app.review().unwrap());
    assert_eq!(again.recent()[0].patient_id, "PHANTOM-000003");
}

#[test]
fn a_folder_without_ct_is_refused_in_one_line() {
    let data = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("notes.txt"), "not DICOM").unwrap();
    let app = App::with_device(data.path().into(), hilum_gpu::open_named("cpu").unwrap());
    let e = app.open_path(empty.path()).unwrap_err();
    assert!(e.contains("no CT image series"), "{e}");
    assert!(!e.contains('\n'));
}
