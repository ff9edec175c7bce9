//! `./x bench load PATH`: Hilum against a pydicom + numpy reference and the I/O
//! floor, in one run on a warm page cache, plus peak memory of a real load.

use crate::{build_hilum, root, setup};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn python_has_pydicom() -> bool {
    Command::new("python3")
        .args(["-c", "import pydicom, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_pydicom() -> Result<()> {
    if python_has_pydicom() {
        return Ok(());
    }
    eprintln!("==> installing pydicom and numpy for the reference loader");
    let pip = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "pydicom", "numpy"])
        .status();
    if !pip.is_ok_and(|s| s.success()) {
        setup::apt_install(
            &["python3-pydicom", "python3-numpy"],
            "the pydicom reference loader",
        )?;
    }
    Ok(())
}

/// Runs a command to completion and returns (stdout, peak resident set in bytes).
fn run_measured(cmd: &mut Command) -> Result<(String, u64)> {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.context("stdout")?;
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out)?;
    let mut status = 0;
    // SAFETY: plain zeroed C struct, filled in by wait4 for our own child.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::wait4(pid, &mut status, 0, &mut usage) < 0 {
            bail!("wait4 failed");
        }
        usage
    };
    Ok((out, usage.ru_maxrss as u64 * 1024))
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

pub fn load(path: &Path) -> Result<()> {
    let hilum = build_hilum()?;
    ensure_pydicom()?;
    let path = std::fs::canonicalize(path).with_context(|| format!("{}", path.display()))?;

    eprintln!("==> timing Hilum and the I/O floor (in one process)");
    let out = Command::new(&hilum).arg("bench-load").arg(&path).output()?;
    if !out.status.success() {
        bail!("hilum bench-load: {}", String::from_utf8_lossy(&out.stderr));
    }
    let h: Value = serde_json::from_slice(&out.stdout)?;
    eprintln!("==> timing the pydicom + numpy reference");
    let out = Command::new("python3")
        .arg(root().join("xtask/bench/pydicom_load.py"))
        .arg(&path)
        .arg("5")
        .output()?;
    if !out.status.success() {
        bail!(
            "pydicom reference: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let py: Value = serde_json::from_slice(&out.stdout)?;

    eprintln!("==> measuring peak memory of `hilum info` with and without --load");
    let (_, index_rss) = run_measured(Command::new(&hilum).arg("info").arg(&path))?;
    let (_, load_rss) = run_measured(Command::new(&hilum).arg("info").arg(&path).arg("--load"))?;

    let ms = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let hilum_best = ms(&h["hilum_load"], "best_ms");
    let floor_best = ms(&h["io_floor"], "best_ms");
    let py_best = ms(&py, "best_ms");
    let dims = &h["dims"];
    let volume = h["volume_bytes"].as_f64().unwrap_or(f64::NAN);
    println!(
        "\nLoad benchmark: {}\n{} files, {}, volume {}×{}×{} ({} as i16), {} threads, warm page cache\n",
        path.display(),
        h["files"],
        mb(h["bytes"].as_f64().unwrap_or(0.0)),
        dims[0],
        dims[1],
        dims[2],
        mb(volume),
        h["threads"]
    );
    println!("| method | best ms | median ms | time ÷ Hilum |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, v: &Value| {
        println!(
            "| {name} | {:.1} | {:.1} | {:.2}× |",
            ms(v, "best_ms"),
            ms(v, "median_ms"),
            ms(v, "best_ms") / hilum_best
        )
    };
    row(
        "I/O floor: read every file's bytes into a reused buffer (same threads)",
        &h["io_floor"],
    );
    row(
        "I/O into fresh memory: read every file's bytes into one new buffer",
        &h["io_into_fresh_memory"],
    );
    row(
        "I/O into reused memory: the same, into one buffer earlier repeats wrote",
        &h["io_into_reused_memory"],
    );
    row(
        "Hilum: index headers + load to HU volume (fresh memory: a first load)",
        &h["hilum_load"],
    );
    row(
        "Hilum, volume memory recycled (each later series of a batch)",
        &h["hilum_load_recycled"],
    );
    row("  of which: index headers", &h["index_only"]);
    row("  of which: decode into the volume", &h["decode_only"]);
    row("pydicom + numpy: read, sort, stack, rescale", &py);
    let speedup = py_best / hilum_best;
    let over_floor = hilum_best / floor_best;
    let over_fresh = hilum_best / ms(&h["io_into_fresh_memory"], "best_ms");
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "\nHilum vs pydicom: {speedup:.1}× faster (target ≥ 3×): {}",
        verdict(speedup >= 3.0)
    );
    let recycled_best = ms(&h["hilum_load_recycled"], "best_ms");
    let recycled_over_floor = recycled_best / floor_best;
    println!(
        "Hilum vs I/O floor: first load {over_floor:.2}× the floor, later loads of a batch {recycled_over_floor:.2}× (target ≤ 2×): {} / {}",
        verdict(over_floor <= 2.0),
        verdict(recycled_over_floor <= 2.0)
    );
    println!(
        "Hilum vs reading into fresh memory: {over_fresh:.2}× (the page zeroing every new volume pays is in both)"
    );
    println!(
        "Hilum (recycled) vs reading into reused memory: {:.2}× (writing the volume's bytes is in both)",
        recycled_best / ms(&h["io_into_reused_memory"], "best_ms")
    );
    let extra = load_rss.saturating_sub(index_rss) as f64;
    println!(
        "Peak memory: `hilum info` {} (the constant), `hilum info --load` {}; the load adds {} = {:.2}× the volume (target ≤ 1.3×): {}",
        mb(index_rss as f64),
        mb(load_rss as f64),
        mb(extra),
        extra / volume,
        verdict(extra / volume <= 1.3)
    );
    Ok(())
}

/// `./x bench detect`: load → findings on a 512×512×300 phantom, on every
/// device present (GPU, software Vulkan, burn's CPU backend), one table each.
pub fn detect() -> Result<()> {
    let hilum = build_hilum()?;
    let phantom = crate::cache_dir().join("bench/phantom-512x512x300");
    crate::run(
        "timing load → findings on every device present",
        Command::new(&hilum)
            .arg("bench-detect")
            .arg("--phantom")
            .arg(&phantom),
    )
}

/// `./x bench app [PATH]`: the viewer in the running UI on every device —
/// time from choosing the study to its first image, input-to-pixels latency of
/// scrolling and of window/level dragging, and the host memory of the process.
pub fn app(path: Option<&Path>) -> Result<()> {
    let hilum = build_hilum()?;
    let study = match path {
        // Absolute: the server runs in ui/.
        Some(p) => std::fs::canonicalize(p).with_context(|| format!("{}", p.display()))?,
        None => crate::demo_study(&hilum)?,
    };
    println!(
        "Viewer benchmark on {}, in Chromium against `hilum serve` (release)",
        study.display()
    );
    println!("| device | series | first image ms | scroll ms (median / p95) | window drag ms (median / p95, 3 views) | host MB: baseline → peak | (peak − baseline) ÷ volume |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for device in ["gpu", "software", "cpu"] {
        let out = Command::new("node")
            .current_dir(root().join("ui"))
            .env("HILUM_DEVICE", device)
            .arg("e2e/bench.mjs")
            .arg(&hilum)
            .arg(&study)
            .arg(device)
            .output()
            .context("node e2e/bench.mjs")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let Some(v) = text
            .lines()
            .last()
            .and_then(|l| serde_json::from_str::<Value>(l).ok())
        else {
            println!(
                "| {device} | failed: {} | | | | | |",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            continue;
        };
        if let Some(e) = v["error"].as_str() {
            println!("| {device} | not available: {e} | | | | | |");
            continue;
        }
        let dims = v["dims"].as_str().unwrap_or("");
        let voxels: f64 = dims
            .split(" · ")
            .find(|p| p.matches('×').count() == 2 && !p.contains("mm"))
            .map(|p| {
                p.split('×')
                    .filter_map(|n| n.trim().parse::<f64>().ok())
                    .product()
            })
            .unwrap_or(f64::NAN);
        let volume_mb = voxels * 2.0 / (1024.0 * 1024.0);
        let (base, peak) = (
            v["baselineMb"].as_f64().unwrap_or(0.0),
            v["peakMb"].as_f64().unwrap_or(0.0),
        );
        let f = |x: &Value| x.as_f64().map_or("?".into(), |v| format!("{v:.1}"));
        println!(
            "| {device} ({}) | {} | {} | {} / {} | {} / {} | {base:.0} → {peak:.0} | {:.2} |",
            v["deviceName"].as_str().unwrap_or("?"),
            dims.split(" · ").nth(1).unwrap_or(dims),
            f(&v["firstImageMs"]),
            f(&v["scroll"]["median"]),
            f(&v["scroll"]["p95"]),
            f(&v["windowing"]["median"]),
            f(&v["windowing"]["p95"]),
            (peak - base) / volume_mb
        );
    }
    println!("Baseline: the app with its UI served and the compute device up, no study open. On the software Vulkan device, device memory (the volume's texture) is host memory and counts here.");
    println!("Targets: first image ≤ 500 ms; ≤ 16 ms a frame on a GPU; host memory ≤ 1.5 × the volume + the baseline.");
    Ok(())
}
