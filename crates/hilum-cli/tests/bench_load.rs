//! `hilum bench-load` (behind `./x bench load`) runs on a small phantom and
//! reports every method it compares: the benchmark itself must not rot. No
//! timing is asserted: speed lives in the benchmark, not in tests.

use hilum_dicom::write::FileLayout;
use hilum_phantom::{generate, write_phantom, PhantomSpec};
use serde_json::Value;
use std::process::Command;

#[test]
fn reports_every_method_on_a_small_series() {
    let dir = tempfile::tempdir().unwrap();
    let p = generate(&PhantomSpec {
        dims: [48, 40, 12],
        nodules: 1,
        ..PhantomSpec::small(7)
    });
    write_phantom(&p, dir.path(), FileLayout::SingleFrame).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .args(["bench-load", "--repeat", "2"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"], 12);
    assert_eq!(report["dims"], serde_json::json!([48, 40, 12]));
    assert_eq!(report["volume_bytes"], 48 * 40 * 12 * 2);
    for method in [
        "io_floor",
        "io_into_fresh_memory",
        "io_into_reused_memory",
        "hilum_load",
        "hilum_load_recycled",
        "index_only",
        "decode_only",
    ] {
        let best = report[method]["best_ms"].as_f64();
        let median = report[method]["median_ms"].as_f64();
        match (best, median) {
            (Some(b), Some(m)) => assert!(b > 0.0 && b <= m, "{method}: best {b}, median {m}"),
            _ => panic!("{method} missing: {report}"),
        }
    }
}
