//! Hilum's one entry point for building, testing and measuring.
//!
//! `./x app` — set up and run the desktop app on the demo study (no display: the
//!   same pipeline on the demo study from the command line)
//! `./x test` — set up and run every check CI runs
//! `./x bench app [PATH]` — time to first image, frame latency and memory of the viewer
//! `./x bench load PATH` — load speed against pydicom and the I/O floor, peak memory
//! `./x fuzz [SECONDS]` — fuzz the DICOM reader (needs a nightly toolchain)
//! `./x setup` — install the system packages the tests need (Debian, as root)

mod bench;
mod setup;
mod ui;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["app"] | ["demo"] => app(),
        ["test"] => test(),
        ["setup"] => setup::system_packages(),
        ["bench", "load", path] => bench::load(Path::new(path)),
        ["bench", "detect"] => bench::detect(),
        ["bench", "app"] => bench::app(None),
        ["bench", "app", path] => bench::app(Some(Path::new(path))),
        ["train", "detector", rest @ ..] => train_detector(rest),
        ["eval", "detect", rest @ ..] => eval_detect(rest),
        ["fuzz"] => fuzz(300),
        ["fuzz", seconds] => fuzz(seconds.parse().context("fuzz SECONDS")?),
        _ => {
            eprintln!(
                "usage: ./x app | test | setup | bench load PATH | bench detect | bench app [PATH] | train detector [ARGS] | eval detect [ARGS] | fuzz [SECONDS]"
            );
            std::process::exit(2);
        }
    }
}

/// The checkout being worked on. `cargo run` names it at run time; the path
/// compiled in is only a fallback, because clones sharing one target directory
/// may run a binary another clone built.
pub fn root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/hilum"))
        .unwrap_or_else(|| root().join("target/hilum-cache"))
}

/// The demo study (phantom seed 1, 512×512×300), written by `hilum` unless
/// the cache already holds it from the same generator.
pub fn demo_study(hilum: &Path) -> Result<PathBuf> {
    let demo = cache_dir().join("demo/phantom-seed-1");
    run(
        "the demo study: a 512×512×300 synthetic chest CT with known nodules (written unless cached)",
        Command::new(hilum)
            .args(["phantom", "--seed", "1", "--reuse", "--out"])
            .arg(&demo),
    )?;
    Ok(demo)
}

/// Prints what is about to run, then runs it; fails on a non-zero exit.
pub fn run(what: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("==> {what}");
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let status = cmd.status().with_context(|| format!("starting: {what}"))?;
    if !status.success() {
        bail!("{what}: failed ({status})");
    }
    Ok(())
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The release `hilum`, built together with the desktop app so both share one
/// set of dependency features (one release build of burn, not two).
pub fn build_hilum() -> Result<PathBuf> {
    Ok(build_release()?.0)
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

/// Builds the `hilum` CLI and the desktop app (release) with the UI embedded.
fn build_release() -> Result<(PathBuf, PathBuf)> {
    ui::build()?;
    run(
        "building hilum and the desktop app (release)",
        cargo().args([
            "build",
            "--release",
            "--package",
            "hilum-cli",
            "--package",
            "hilum-desktop",
        ]),
    )?;
    let dir = target_dir().join("release");
    Ok((dir.join("hilum"), dir.join("hilum-desktop")))
}

fn app() -> Result<()> {
    setup::system_packages()?;
    let (hilum, desktop) = build_release()?;
    if has_display() {
        eprintln!("==> starting the Hilum desktop app (first launch opens the demo study; the next, your most recent)");
        eprintln!("    Hilum is decision support, not diagnosis.");
        return run("hilum-desktop", &mut Command::new(desktop));
    }
    eprintln!("==> no display: running the app's pipeline on the demo study from the command line");
    let demo = demo_study(&hilum)?;
    run(
        "indexing and loading the demo study",
        Command::new(&hilum).arg("info").arg(&demo).arg("--load"),
    )?;
    let views = cache_dir().join("demo/views");
    run(
        "rendering axial, coronal and sagittal views (lung window)",
        Command::new(&hilum)
            .arg("snapshot")
            .arg(&demo)
            .arg("--out")
            .arg(&views),
    )?;
    run(
        "detecting nodules on the demo study (device chosen at run time; HILUM_DEVICE overrides)",
        Command::new(&hilum)
            .arg("detect")
            .arg(&demo)
            .arg("--json")
            .arg(cache_dir().join("demo/findings.json")),
    )?;
    eprintln!(
        "\nDemo study: {}\nViews:      {}\nFindings:   {}\n\
         With a display, `./x app` opens the desktop app; \
         `hilum serve` serves the same UI to a browser on 127.0.0.1.\n\
         Hilum is decision support, not diagnosis.",
        demo.display(),
        views.display(),
        cache_dir().join("demo/findings.json").display()
    );
    Ok(())
}

fn test() -> Result<()> {
    setup::system_packages()?;
    ui::lint_and_unit_tests()?;
    // The desktop crate embeds ui/dist, so the UI is built before Rust compiles.
    ui::build()?;
    run("rustfmt", cargo().args(["fmt", "--all", "--check"]))?;
    run(
        "clippy (warnings are errors)",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // One build of every target (features unified once), then the tests reuse it.
    run(
        "building every crate, binary and test",
        cargo().args(["build", "--workspace", "--all-targets"]),
    )?;
    run("tests", cargo().args(["test", "--workspace"]))?;
    let debug = target_dir().join("debug");
    ui::end_to_end(&debug.join("hilum"), &debug.join("hilum-desktop"))?;
    Ok(())
}

/// The classifier's networks, each with its phantom seeds and recipe: two
/// networks trained apart, whose mean logit averages out what each alone
/// gets wrong (models/detector/MODEL_CARD.md).
const CLASSIFIER_MEMBERS: [(&str, &[&str]); 2] = [
    ("nodule_net", &["--seeds", "1000..1032"]),
    ("nodule_net-2", &["--seeds", "1000..1048", "--truth-shifts"]),
];

/// Slice thicknesses each network is fine-tuned on after training, and
/// the rescorer fitted on: the seeds take them in turn. Trained on 1.5 mm
/// alone, the detector fell apart on 2.5 mm slices (CPM 0.79, 13 false
/// findings ≥ 0.5 a scan; models/detector/MODEL_CARD.md).
const SLICE_MIX: [&str; 2] = ["--slice-mm", "1.5,2.5"];
const FINE_TUNE: [&str; 4] = ["--steps", "500", "--lr", "3e-4"];

/// The networks that score scans of slices 2 mm apart or more: each of the
/// two above fine-tuned again on other phantoms, two in three at 2.5 mm, once
/// as drawn and once with half of each half-batch from the tenth it scores
/// worst. Their mean logit of four found more nodules on 2.5 mm slices, and
/// fewer on 1.5 mm, than the two (models/detector/MODEL_CARD.md). Each is
/// (name, fine-tuned from, seeds, its own flags).
const THICK_SLICE_MEMBERS: [(&str, &str, &str, &[&str]); 4] = [
    ("nodule_net-3", "nodule_net", "3300..3348", &[]),
    (
        "nodule_net-4",
        "nodule_net-2",
        "3300..3364",
        &["--truth-shifts"],
    ),
    (
        "nodule_net-5",
        "nodule_net",
        "3300..3348",
        &["--hard-share", "0.5"],
    ),
    (
        "nodule_net-6",
        "nodule_net-2",
        "3300..3364",
        &["--truth-shifts", "--hard-share", "0.5"],
    ),
];
const THICK_SLICE_FINE_TUNE: [&str; 6] = [
    "--slice-mm",
    "1.5,2.5,2.5",
    "--steps",
    "1200",
    "--lr",
    "2e-4",
];
/// Then each once more on 2.5 mm slices alone with the slice axis kept in
/// place (the patch is blurred along it alone), which ranked fresh 2.5 mm
/// phantoms better (models/detector/MODEL_CARD.md, "The slice axis kept").
const KEPT_SLICE_AXIS_FINE_TUNE: [&str; 11] = [
    "--seeds",
    "3500..3532",
    "--slice-mm",
    "2.5",
    "--size",
    "384x384x120",
    "--steps",
    "600",
    "--lr",
    "2e-4",
    "--keep-slice-axis",
];

/// Trains the classifier's networks on phantoms, fine-tunes each on a mix of
/// slice thicknesses, fine-tunes those again (twice) into the networks for
/// thicker slices, then fits the rescorer on the first two's mean logit (other
/// seeds), and writes all to models/detector/. Extra arguments go to each
/// first `hilum train` (not `--seeds`: each has its own).
fn train_detector(extra: &[&str]) -> Result<()> {
    setup::system_packages()?;
    let hilum = build_hilum()?;
    let out = root().join("models/detector");
    let mut fit = Command::new(&hilum);
    fit.arg("fit-rescorer");
    for (name, recipe) in CLASSIFIER_MEMBERS {
        run(
            &format!(
                "training the classifier's network {name} on phantoms ({})",
                recipe.join(" ")
            ),
            hilum_train(&hilum, &out, name).args(recipe).args(extra),
        )?;
        let weights = out.join(format!("{name}.safetensors"));
        run(
            &format!("fine-tuning {name} on slices of 1.5 and 2.5 mm"),
            hilum_train(&hilum, &out, name)
                .arg("--init")
                .arg(&weights)
                .args(recipe)
                .args(SLICE_MIX)
                .args(FINE_TUNE),
        )?;
        fit.arg("--weights").arg(weights);
    }
    for (name, from, seeds, flags) in THICK_SLICE_MEMBERS {
        run(
            &format!(
                "fine-tuning {from} into {name}, for slices 2 mm apart or more (seeds {seeds} {})",
                flags.join(" ")
            ),
            hilum_train(&hilum, &out, name)
                .arg("--init")
                .arg(out.join(format!("{from}.safetensors")))
                .args(["--seeds", seeds])
                .args(flags)
                .args(THICK_SLICE_FINE_TUNE),
        )?;
        let weights = out.join(format!("{name}.safetensors"));
        run(
            &format!("fine-tuning {name} on 2.5 mm slices with the slice axis kept"),
            hilum_train(&hilum, &out, name)
                .arg("--init")
                .arg(&weights)
                .args(flags)
                .args(KEPT_SLICE_AXIS_FINE_TUNE),
        )?;
        fit.arg("--thick-slice-weights").arg(weights);
    }
    run(
        "fitting the rescorer on the new classifier's findings (seeds 2000..2032, 1.5 and 2.5 mm)",
        fit.args(SLICE_MIX).args(["--thick-from-mm", "2"]),
    )
}

/// `hilum train --out OUT --name NAME`, to which a recipe is added.
fn hilum_train(hilum: &Path, out: &Path, name: &str) -> Command {
    let mut train = Command::new(hilum);
    train
        .args(["train", "--out"])
        .arg(out)
        .args(["--name", name]);
    train
}

/// FROC/CPM on held-out phantoms (and an LIDC scan with --lidc PATH).
fn eval_detect(extra: &[&str]) -> Result<()> {
    setup::system_packages()?;
    let hilum = build_hilum()?;
    run(
        "evaluating the detector",
        Command::new(&hilum).arg("eval").args(extra),
    )
}

fn fuzz(seconds: u64) -> Result<()> {
    run(
        &format!("fuzzing the DICOM reader for {seconds} s (nightly toolchain, cargo-fuzz)"),
        Command::new("cargo")
            .current_dir(root().join("fuzz"))
            .env("CARGO_TARGET_DIR", cache_dir().join("fuzz-target"))
            .args(["+nightly", "fuzz", "run", "read_file", "--"])
            .arg(format!("-max_total_time={seconds}"))
            // Small inputs keep it fast and its memory bounded (ASan plus a corpus
            // of 250 KB slices grows past 4 GB over a long run).
            .args(["-max_len=65536", "-rss_limit_mb=6144", "-timeout=10"]),
    )
}
