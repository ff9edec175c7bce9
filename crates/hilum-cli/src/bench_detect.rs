//! `hilum bench-detect` (hidden; driven by `cargo xtask bench detect`): load →
//! findings on a 512×512×300 phantom on every device present, each run in its
//! own process so its peak memory is its own. A `hilum` subcommand rather than
//! xtask code, so the same table can be taken on a GPU machine without cargo.

use crate::Outcome;
use serde_json::Value;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// Where the benchmark phantom is (written there first if missing).
    #[arg(long)]
    phantom: PathBuf,
    /// Runs per device: the first pays shader compilation, later ones show a warm process.
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// Devices to time, in order; on a machine lent for a few minutes, `gpu`
    /// alone spares the CPU backend's minute a run.
    #[arg(long, value_delimiter = ',', default_value = "gpu,software,cpu",
          value_parser = ["gpu", "software", "cpu"])]
    devices: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let hilum = std::env::current_exe()?;
    eprintln!(
        "==> the 512×512×300 benchmark phantom in {} (written unless already there)",
        args.phantom.display()
    );
    let status = Command::new(&hilum)
        .args(["phantom", "--seed", "4242", "--reuse", "--out"])
        .arg(&args.phantom)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "writing the phantom failed ({status})");
    // The software device's speed follows the host's CPU (llvmpipe ran 2–3×
    // slower on one 2-core VM than on another), so every table names it.
    println!("host: {}", host_description());
    println!("| device | run | load ms | iso ms | lung mask ms | candidates ms | CNN ms | measure ms | total ms | process s | peak host MB | peak GPU MB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for device in args.devices.iter().map(String::as_str) {
        for run in 1..=args.runs.max(1) {
            let json = std::env::temp_dir().join(format!("hilum-bench-{device}-{run}.json"));
            let _ = std::fs::remove_file(&json);
            let gpu_memory = GpuMemory::start();
            let started = std::time::Instant::now();
            let peak_rss = run_measured(
                Command::new(&hilum)
                    .env("HILUM_DEVICE", device)
                    .arg("detect")
                    .arg(&args.phantom)
                    .arg("--json")
                    .arg(&json),
            )?;
            let seconds = started.elapsed().as_secs_f64();
            let gpu_mb = gpu_memory.peak_mb();
            let Ok(text) = std::fs::read_to_string(&json) else {
                println!("| {device} | not available on this machine | | | | | | | | | | |");
                break;
            };
            let _ = std::fs::remove_file(&json);
            let v: Value = serde_json::from_str(&text)?;
            let Some(s) = v["series"].get(0) else {
                println!("| {device} | failed: {} | | | | | | | | | | |", v["errors"]);
                break;
            };
            let t = &s["timing_ms"];
            let st = &t["stages"];
            let f = |x: &Value| x.as_f64().map_or("?".into(), |v| format!("{v:.0}"));
            println!(
                "| {} | {run} | {} | {} | {} | {} | {} | {} | {} | {seconds:.1} | {:.0} | {} |",
                s["device"].as_str().unwrap_or(device),
                f(&t["load"]),
                f(&st["upload_resample_ms"]),
                f(&st["lung_mask_ms"]),
                f(&st["candidates_ms"]),
                f(&st["classify_ms"]),
                f(&st["measure_ms"]),
                f(&t["total"]),
                peak_rss as f64 / 1e6,
                gpu_mb.map_or("—".into(), |mb| format!("{mb}")),
            );
        }
    }
    println!(
        "(process s: the whole command, start-up and adapter discovery included; \
         peak GPU MB: device memory in use by the whole GPU above its level before the run, \
         sampled every 50 ms by nvidia-smi, NVIDIA only — wgpu has no portable query; \
         on the software device GPU memory is host memory and is in peak host MB)"
    );
    Ok(Outcome::Ok)
}

/// The CPU's model name and the cores this process may use, e.g. "AMD EPYC,
/// 2 cores" ("unknown CPU" where /proc/cpuinfo does not say).
fn host_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| cpu_model(&info))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} cores")
}

/// The first `model name` in /proc/cpuinfo's text.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, name)| name.trim().to_string())
}

/// Runs a command to completion; its peak resident set in bytes.
fn run_measured(cmd: &mut Command) -> anyhow::Result<u64> {
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a plain zeroed C struct, filled in by wait4 for our own child,
    // which is reaped here (the `Child` handle is never waited on again).
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        anyhow::ensure!(
            libc::wait4(pid, &mut status, 0, &mut usage) >= 0,
            "wait4 failed"
        );
        usage
    };
    Ok(usage.ru_maxrss as u64 * 1024)
}

/// Samples the GPU's memory in use through nvidia-smi while a run goes on.
struct GpuMemory {
    sampler: Option<std::process::Child>,
    baseline_mb: Option<u64>,
    peak_mb: Arc<AtomicU64>,
}

fn nvidia_smi() -> Command {
    let mut cmd = Command::new("nvidia-smi");
    cmd.args(["--query-gpu=memory.used", "--format=csv,noheader,nounits"]);
    cmd
}

fn first_number(text: &str) -> Option<u64> {
    text.lines().next()?.trim().parse().ok()
}

impl GpuMemory {
    fn start() -> Self {
        let baseline_mb = nvidia_smi()
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| first_number(&String::from_utf8_lossy(&o.stdout)));
        let peak_mb = Arc::new(AtomicU64::new(0));
        let sampler = baseline_mb.and_then(|_| {
            let mut child = nvidia_smi()
                .arg("-lms")
                .arg("50")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .ok()?;
            let out = child.stdout.take()?;
            let peak = Arc::clone(&peak_mb);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(mb) = first_number(&line) {
                        peak.fetch_max(mb, Ordering::Relaxed);
                    }
                }
            });
            Some(child)
        });
        Self {
            sampler,
            baseline_mb,
            peak_mb,
        }
    }

    /// Peak above the baseline, in MB; `None` without nvidia-smi.
    fn peak_mb(mut self) -> Option<u64> {
        let mut sampler = self.sampler.take()?;
        let _ = sampler.kill();
        let _ = sampler.wait();
        Some(
            self.peak_mb
                .load(Ordering::Relaxed)
                .saturating_sub(self.baseline_mb?),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_model_is_read_from_cpuinfo() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(info).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model("processor\t: 0\n"), None);
    }
}
