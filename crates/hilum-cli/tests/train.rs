//! `hilum train` end to end on one small phantom: weights and a training record
//! are written, a fine-tune from them keeps their record, and a wrong `--init`
//! is refused by name before any phantom is generated, and phantoms without
//! nodules are refused with the reason.

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

fn record(weights: &Path) -> Value {
    let path = hilum_detect::weights::training_record_path(weights);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn trains_then_fine_tunes_from_its_own_weights_under_another_name() {
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
    let r = record(&weights);
    assert_eq!(r["report"]["steps"], 2);
    assert!(r["report"]["positives"].as_u64().unwrap() > 0);
    assert!(r["report"]["negatives"].as_u64().unwrap() > 0);
    assert!(r["init"].is_null());
    assert_eq!(r["hyper_parameters"]["axes_permuted"], "all three");

    // A second network beside the first, under its own name, with each
    // truth nodule cut at its six neighbours too and the slice axis kept.
    let out = train(
        &first,
        &[
            "--init",
            weights.to_str().unwrap(),
            "--name",
            "tuned",
            "--truth-shifts",
            "--keep-slice-axis",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tuned = first.join("tuned.safetensors");
    assert!(tuned.is_file());
    let r = record(&tuned);
    let positives = |r: &Value| r["report"]["positives"].as_u64().unwrap();
    assert!(positives(&r) > positives(&record(&weights)), "{r}");
    assert_eq!(
        r["hyper_parameters"]["truth_positives_at_voxel_shifts"]
            .as_array()
            .map(Vec::len),
        Some(7)
    );
    assert_eq!(
        r["hyper_parameters"]["axes_permuted"],
        "within the slice plane (the slice axis kept)"
    );
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
    assert!(!dir.path().join("nodule_net.training.json").exists());
}

fn fit_rescorer(weights: &[&Path], thick_slice_weights: &[&Path], seeds: &str) -> Output {
    fit_rescorer_with(weights, thick_slice_weights, seeds, &[])
}

fn fit_rescorer_with(
    weights: &[&Path],
    thick_slice_weights: &[&Path],
    seeds: &str,
    extra: &[&str],
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hilum"));
    command
        .env("HILUM_DEVICE", "cpu")
        .arg("fit-rescorer")
        .args(extra);
    for w in weights {
        command.arg("--weights").arg(w);
    }
    for w in thick_slice_weights {
        command.arg("--thick-slice-weights").arg(w);
    }
    command
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
fn fits_a_rescorer_beside_the_networks_it_rescores() {
    let dir = tempfile::tempdir().unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/detector");
    let weights = dir.path().join("nodule_net.safetensors");
    let second = dir.path().join("nodule_net-2.safetensors");
    std::fs::copy(committed.join("nodule_net.safetensors"), &weights).unwrap();
    std::fs::copy(committed.join("nodule_net-2.safetensors"), &second).unwrap();
    // The second also stands alone for thick slices (a copy, named as such).
    let thick = dir.path().join("nodule_net-3.safetensors");
    std::fs::copy(&second, &thick).unwrap();
    let out = fit_rescorer(&[&weights, &second], &[&thick], "2000..2003");
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
    assert_eq!(
        r.members,
        ["nodule_net.safetensors", "nodule_net-2.safetensors"]
    );
    // The networks with the new rescorer load as a detector, both of them.
    let device = hilum_gpu::cpu_backend();
    assert_eq!(
        r.thick_slices,
        Some(hilum_detect::rescore::ThickSlices {
            from_mm: 2.0,
            members: vec!["nodule_net-3.safetensors".into()],
            rescorer: None,
        })
    );
    let detector = hilum_detect::weights::load(&weights, &device.device).expect("loads together");
    assert_eq!(detector.classifier.member_count(), 2);
    assert_eq!(detector.classifier_for(1.5).member_count(), 2);
    assert_eq!(detector.classifier_for(2.5).member_count(), 1);
    assert_eq!(
        detector.rescorer_for(2.5),
        &r,
        "no rescorer of their own yet"
    );

    // Then one fitted on the thick slices' network alone goes into that file,
    // which keeps the rest: the thick slices are rescored by it, the thin ones
    // as before.
    let thick_fit = |weights: &[&Path], extra: &[&str]| {
        fit_rescorer_with(
            weights,
            &[],
            "2000..2003",
            &[&["--thick-slices"], extra].concat(),
        )
    };
    let out = thick_fit(&[&thick], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let (both, own) = rescorer_with_thick_slices(dir.path());
    assert_eq!(
        own.fit["weights"],
        serde_json::json!(["nodule_net-3.safetensors"])
    );
    assert_ne!(own.weights, r.weights);
    assert!(
        own.members.is_empty() && own.thick_slices.is_none(),
        "{own:?}"
    );
    assert_eq!(
        hilum_detect::rescore::Rescorer {
            thick_slices: r.thick_slices.clone(),
            ..both.clone()
        },
        r,
        "the rest of the file as it was"
    );
    let detector = hilum_detect::weights::load(&weights, &device.device).expect("loads");
    assert_eq!(detector.rescorer_for(1.5), &both);
    assert_eq!(detector.rescorer_for(2.5), &own);
    // Boosted trees on the residual of the thin slices' logistic regression,
    // kept as it is: the thick slices' rescorer is that one plus the trees,
    // which may only lower a logit.
    let out = thick_fit(
        &[&thick],
        &["--boost", "--keep-linear", "--boost-lowers-only"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (boosted, thick_own) = rescorer_with_thick_slices(dir.path());
    assert_eq!(
        (&thick_own.weights, &thick_own.mean, thick_own.bias),
        (&r.weights, &r.mean, r.bias),
        "the linear part kept"
    );
    let boost = thick_own.boost.as_ref().expect("trees");
    assert_eq!((boost.trees.len(), boost.lowers_only), (200, true));
    assert_eq!(thick_own.fit["boost"]["trees"], 200);
    assert_eq!(thick_own.fit["boost"]["lowers_only"], true);
    assert!(
        boosted.boost.is_none(),
        "the thin slices' rescorer as it was"
    );
    // Refused before any phantom: networks the file does not name for thick
    // slices, slices thinner than theirs, and trees on a feature there is not.
    for (network, extra, reason) in [
        (second.as_path(), &[][..], "not the --weights"),
        (
            thick.as_path(),
            &["--slice-mm", "1.5"][..],
            "2 mm apart or more",
        ),
        (
            thick.as_path(),
            &["--boost", "--boost-features", "nodule_size"][..],
            "no feature \"nodule_size\"",
        ),
    ] {
        let out = thick_fit(&[network], extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(reason), "{stderr}");
        assert!(!stderr.contains("seed 2000"), "{stderr}");
    }
    let r = both;
    // A rescorer naming no network reads the one it lies beside.
    let alone = hilum_detect::rescore::Rescorer {
        members: Vec::new(),
        ..r
    };
    hilum_detect::weights::save_rescorer(&alone, &weights).unwrap();
    let detector = hilum_detect::weights::load(&weights, &device.device).expect("loads alone");
    assert_eq!(detector.classifier.member_count(), 1);
    // A named network that is missing is named.
    std::fs::remove_file(&second).unwrap();
    let named = hilum_detect::rescore::Rescorer {
        members: vec!["nodule_net-2.safetensors".into()],
        ..alone
    };
    hilum_detect::weights::save_rescorer(&named, &weights).unwrap();
    let error = hilum_detect::weights::load(&weights, &device.device)
        .err()
        .expect("refused");
    assert!(error.contains("nodule_net-2.safetensors"), "{error}");
}

/// The `rescore.json` in `dir` and the rescorer it holds for thick slices.
fn rescorer_with_thick_slices(
    dir: &Path,
) -> (
    hilum_detect::rescore::Rescorer,
    hilum_detect::rescore::Rescorer,
) {
    let text = std::fs::read_to_string(dir.join("rescore.json")).unwrap();
    let outer = hilum_detect::rescore::Rescorer::from_json(&text).expect("reads back");
    let thick = outer
        .thick_slices
        .as_ref()
        .and_then(|t| t.rescorer.as_deref())
        .expect("a rescorer for thick slices")
        .clone();
    (outer, thick)
}

#[test]
fn the_rescorer_refuses_held_out_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = fit_rescorer(
        &[&dir.path().join("nodule_net.safetensors")],
        &[],
        "4990..5001",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("held out"), "{stderr}");
}

#[test]
fn phantoms_without_nodules_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hilum"))
        .env("HILUM_DEVICE", "cpu")
        .args(["train", "--out"])
        .arg(dir.path())
        .args(["--seeds", "1000..1001", "--size", "128x128x96"])
        .args(["--slice-mm", "2.5", "--nodules", "0", "--steps", "2"])
        .args(["--batch", "4", "--candidates", "60"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("0 positive"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.path().join("nodule_net.safetensors").exists());
}
