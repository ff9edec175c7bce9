use crate::Outcome;
use hilum_dicom::write::FileLayout;
use hilum_phantom::{generate, write_phantom, write_unless_current, PhantomSpec};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write the series and truth.json into (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Columns×rows×slices, e.g. 128x128x96 for a quick test scan.
    #[arg(long, default_value = "512x512x300", value_parser = parse_dims)]
    size: [usize; 3],
    /// Slice spacing and thickness in mm.
    #[arg(long, default_value_t = 1.0)]
    slice_mm: f64,
    /// Image noise (standard deviation, HU); low-dose CT is about 30–40.
    #[arg(long, default_value_t = 25.0)]
    noise: f32,
    #[arg(long, default_value_t = 10)]
    nodules: usize,
    /// Intravenous contrast: heart and vessels at a level drawn for the seed
    /// (150–400 HU) instead of 42 HU.
    #[arg(long)]
    contrast: bool,
    /// The heart beats while the slices are taken: its border blurred and
    /// stepped from slice to slice, as on a scan not gated to the ECG.
    #[arg(long)]
    cardiac_motion: bool,
    /// Write one Enhanced CT multi-frame file instead of one file per slice.
    #[arg(long)]
    enhanced: bool,
    /// Keep --out when it already holds this phantom from this generator;
    /// otherwise replace it whole (the demo study and benchmarks use this).
    /// One file per slice only: truth.json does not record the layout.
    #[arg(long, conflicts_with = "enhanced")]
    reuse: bool,
}

/// `COLUMNSxROWSxSLICES` for every command that draws phantoms, bounded so that
/// a size the generator cannot draw (a zero) is refused here, not a panic there.
pub(crate) fn parse_dims(s: &str) -> Result<[usize; 3], String> {
    let parts: Vec<usize> = s
        .split(['x', 'X', ','])
        .map(|p| p.trim().parse::<usize>().map_err(|e| format!("{p:?}: {e}")))
        .collect::<Result<_, _>>()?;
    match parts.as_slice() {
        [c, r, n]
            if (16..=2048).contains(c) && (16..=2048).contains(r) && (1..=2000).contains(n) =>
        {
            Ok([*c, *r, *n])
        }
        _ => Err("expected COLUMNSxROWSxSLICES, 16–2048 × 16–2048 × 1–2000".into()),
    }
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if !(0.1..=10.0).contains(&args.slice_mm) {
        anyhow::bail!("--slice-mm {} is outside 0.1–10 mm", args.slice_mm);
    }
    let spec = PhantomSpec {
        seed: args.seed,
        dims: args.size,
        slice_mm: args.slice_mm,
        noise_hu: args.noise,
        nodules: args.nodules,
        contrast: args.contrast,
        cardiac_motion: args.cardiac_motion,
        ..PhantomSpec::standard(args.seed)
    };
    let layout = if args.enhanced {
        FileLayout::EnhancedMultiFrame
    } else {
        FileLayout::SingleFrame
    };
    if args.reuse {
        let t0 = Instant::now();
        let wrote = write_unless_current(&spec, &args.out, layout)
            .map_err(|e| anyhow::anyhow!("{}: cannot write phantom: {e}", args.out.display()))?;
        if wrote {
            eprintln!(
                "phantom seed {} written to {} in {:.2} s",
                args.seed,
                args.out.display(),
                t0.elapsed().as_secs_f64()
            );
        } else {
            eprintln!(
                "phantom seed {}: {} already holds it",
                args.seed,
                args.out.display()
            );
        }
        return Ok(Outcome::Ok);
    }
    let t0 = Instant::now();
    let phantom = generate(&spec);
    let generated = t0.elapsed();
    let files = write_phantom(&phantom, &args.out, layout)
        .map_err(|e| anyhow::anyhow!("{}: cannot write phantom: {e}", args.out.display()))?;
    eprintln!(
        "phantom seed {}: {}×{}×{} generated in {:.2} s, {} file(s) written in {:.2} s to {}",
        args.seed,
        spec.dims[0],
        spec.dims[1],
        spec.dims[2],
        generated.as_secs_f64(),
        files.len(),
        (t0.elapsed() - generated).as_secs_f64(),
        args.out.display()
    );
    for n in &phantom.truth.nodules {
        println!(
            "nodule {:>2}: {:>5.1} mm {:<12} {} at LPS ({:.1}, {:.1}, {:.1}) mm, slice {}{}",
            n.id,
            n.diameter_mm,
            n.kind.to_string(),
            n.lobe,
            n.center_lps_mm[0],
            n.center_lps_mm[1],
            n.center_lps_mm[2],
            n.slice_index,
            n.attached
                .map(|a| format!(", on the {a}"))
                .unwrap_or_default()
        );
    }
    Ok(Outcome::Ok)
}
