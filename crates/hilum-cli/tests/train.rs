//! `hilum train` end to end on one small phantom: weights and a training record
//! are written, a fine-tune from them keeps their record, and a wrong `--init`
//! is refused by name before any phantom is generated.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn train(out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hilum"))
        .env("HILUM_DEVICE", "cpu")
        .args(["train", "--out"])
        .arg(out)
        .args([
            "--seeds",
            "1000..1001",
            "--size",
            "128x128x96",
            "--slice-mm",
            "2.5",
        ])
        .args([
            "--nodules",
            "6",
            "--steps",
            "2",
            "--batch",
            "4",
            "--candidates",
            "60",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn record(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("training.json")).unwrap()).unwrap()
}

#[test]
fn trains_then_fine_tunes_from_its_own_weights() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let out = train(&first, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weights = first.join("nodule_net.safetensors");
    assert!(weights.is_file());
    let r = record(&first);
    assert_eq!(r["report"]["steps"], 2);
    assert!(r["report"]["positives"].as_u64().unwrap() > 0);
    assert!(r["report"]["negatives"].as_u64().unwrap() > 0);
    assert!(r["init"].is_null());

    let second = dir.path().join("second");
    let out = train(&second, &["--init", weights.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = record(&second);
    assert_eq!(r["init"]["weights"], weights.display().to_string());
    // The record of the weights it started from travels with it.
    assert_eq!(r["init"]["training"]["report"]["steps"], 2);
}

#[test]
fn a_missing_init_is_named_before_any_phantom_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-weights.safetensors");
    let out = train(dir.path(), &["--init", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no-such-weights.safetensors"), "{stderr}");
    assert!(!stderr.contains("phantom 1/1"), "{stderr}");
    assert!(!dir.path().join("training.json").exists());
}

fn fit_rescorer(weights: &Path, seeds: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hilum"))
        .env("HILUM_DEVICE", "cpu")
        .args(["fit-rescorer", "--weights"])
        .arg(weights)
        .args([
            "--seeds",
            seeds,
            "--size",
            "128x128x96",
            "--slice-mm",
            "2.5",
        ])
        .args(["--nodules", "6"])
        .output()
        .unwrap()
}

#[test]
fn fits_a_rescorer_beside_the_weights_it_rescores() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("nodule_net.safetensors");
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/detector/nodule_net.safetensors");
    std::fs::copy(committed, &weights).unwrap();
    let out = fit_rescorer(&weights, "2000..2003");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = std::fs::read_to_string(dir.path().join("rescore.json")).unwrap();
    let r = hilum_detect::rescore::Rescorer::from_json(&text).expect("a rescorer this build reads");
    assert!(r.weights.iter().all(|w| w.is_finite()), "{r:?}");
    assert_eq!(r.fit["seeds"], "2000..2003");
    assert!(r.fit["positives"].as_u64().unwrap() > 0, "{stderr}");
    assert!(
        r.fit["examples"].as_u64() > r.fit["positives"].as_u64(),
        "{stderr}"
    );
    // The classifier with the new rescorer loads as a detector.
    let device = hilum_gpu::cpu_backend();
    hilum_detect::weights::load(&weights, &device.device).expect("loads together");
}

#[test]
fn the_rescorer_refuses_held_out_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = fit_rescorer(&dir.path().join("nodule_net.safetensors"), "4990..5001");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("held out"), "{stderr}");
}
